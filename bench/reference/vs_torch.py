"""PyTorch side of bench/vs-torch.mjs (issue 14): the same three networks as
src/models (MLP 784-256-256-10, LeNet-5, ResNet-20), trained one step at a time
with momentum SGD on one thread, plain or QAT (the reference PARQ
QuantOptimizer: ProxPARQ, 2-bit LSBQ on the conv and linear weights).

A server: reads one JSON request a line on stdin and answers one JSON line on
stdout. Requests: {"model": "lenet5", "modes": ["plain", "qat"], "steps": 20,
"block": 10, "batch": 64}: `steps` steps of each mode, run in blocks of `block`
steps that alternate between the modes (ABBA: plain qat qat plain ...); it
answers {"cpu_s": {"plain": [...], "qat": [...]}, "samples": ...}: the CPU time
of this process for each block of each mode, in order (time.process_time), and
the samples a block. The first line it prints says
whether QAT is available ({"ready": true, "qat": bool, "torch": version}).
QAT needs the reference package `parq` importable (PYTHONPATH).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
try:
    from parq.optim import ProxPARQ, QuantOptimizer
    from parq.quant import LSBQuantizer

    HAVE_PARQ = True
except ImportError:
    HAVE_PARQ = False


def mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )


def lenet5():
    # src/models/lenet5.ts: conv1 6@5x5 same + ReLU, pool 2, conv2 16@5x5 valid + ReLU,
    # pool 2, fc 120, 84, 10.
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


class Block(nn.Module):
    """src/models/resnet20.ts: conv-BN-ReLU-conv-BN + shortcut (1x1 conv + BN where the
    shape changes), ReLU. BN as there: momentum 0.1, eps 1e-5."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU())
        blocks, cin = [], 16
        for stage, cout in enumerate([16, 32, 64]):
            for b in range(3):
                blocks.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {"mlp": (mlp, (1, 28, 28)), "lenet5": (lenet5, (1, 28, 28)),
          "resnet20": (ResNet20, (3, 32, 32))}


def optimizer_for(model, mode):
    if mode == "plain":
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    weights = [p for p in model.parameters() if p.dim() > 1]
    others = [p for p in model.parameters() if p.dim() <= 1]
    base = torch.optim.SGD([{"params": weights, "quant_bits": 2}, {"params": others}],
                           lr=0.01, momentum=0.9)
    return QuantOptimizer(base, LSBQuantizer(), ProxPARQ(anneal_start=0, anneal_end=1000),
                          quant_period=10)


class Runner:
    """One model and optimizer per (model, mode), kept across requests."""

    def __init__(self, name, mode, batch):
        torch.manual_seed(0)
        make, shape = MODELS[name]
        self.model = make()
        self.model.train()
        self.opt = optimizer_for(self.model, mode)
        g = torch.Generator().manual_seed(7)
        self.x = torch.randn((batch,) + shape, generator=g)
        self.y = torch.randint(0, 10, (batch,), generator=g)

    def step(self):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss


def main():
    runners = {}
    print(json.dumps({"ready": True, "qat": HAVE_PARQ, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        modes = req["modes"]
        if "qat" in modes and not HAVE_PARQ:
            print(json.dumps({"error": "the reference parq package is not importable"}),
                  flush=True)
            continue
        rs = {}
        for mode in modes:
            key = (req["model"], mode, req["batch"])
            if key not in runners:
                runners[key] = Runner(*key)
                for _ in range(3):
                    runners[key].step()  # warm-up
            rs[mode] = runners[key]
        for mode in modes:  # untimed: the other side ran last, the first block would start cold
            rs[mode].step()
        cpu = {mode: [] for mode in modes}
        for b in range(req["steps"] // req["block"]):
            for mode in (modes if b % 2 == 0 else modes[::-1]):
                r = rs[mode]
                t0 = time.process_time()
                for _ in range(req["block"]):
                    loss = r.step()
                loss.item()
                cpu[mode].append(time.process_time() - t0)
        print(json.dumps({"cpu_s": cpu, "samples": req["block"] * req["batch"]}), flush=True)

if __name__ == "__main__":
    main()
