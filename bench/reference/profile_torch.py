"""Where PyTorch's training step goes, by operator: the PyTorch side of
bench/profile-step.mjs (issue 14). The same model, batch, data and optimizer as
bench/reference/vs_torch.py (plain momentum SGD, one thread), 3 warm-up steps,
then the CPU time of 5 steps and torch.profiler's table over 3 more.

Usage: python3 bench/reference/profile_torch.py [resnet20|lenet5|mlp]
(Debian's /usr/bin/python3 with python3-torch)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vs_torch  # noqa: E402  (sets one thread)
from torch.profiler import ProfilerActivity, profile  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else "resnet20"
runner = vs_torch.Runner(name, "plain", 64)
for _ in range(3):
    runner.step()
c0 = time.process_time()
for _ in range(5):
    runner.step()
print(f"{name}, batch 64, plain: step {(time.process_time() - c0) / 5 * 1000:.1f} ms CPU (mean of 5)")
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(3):
        runner.step()
print("self CPU time below is over 3 steps")
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
