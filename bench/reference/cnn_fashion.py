#!/usr/bin/env python3
"""Protocol cnn-fashion (docs/protocol-cnn-fashion.md), the PyTorch side.

Builds the same LeNet-5 and ViT-tiny as parq-ts (src/models/lenet5.ts, src/models/vit.ts) in
PyTorch and trains them on full Fashion-MNIST with the PARQ reference implementation
(facebookresearch/parq, not part of this repo: put it on PYTHONPATH), same split and recipe.
One run per call, or a grid (--methods/--bits/--seeds, run one after another); each finished
run prints one JSON line:

  {"side": "reference", "model": "lenet5", "method": "parq", "bits": 2, "seed": 0,
   "accuracy": 88.1, "maxDistinct": 4, "seconds": 91.2, "cpuSeconds": 90.8, ...}

  PYTHONPATH=/path/to/parq python3 bench/reference/cnn_fashion.py --model lenet5 \
      --methods ste,parq --bits 2,1 --seeds 0 [--epochs 10] [--threads 1] [--out runs.jsonl]

Data: the IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
or --data DIR, or $PARQ_FASHION_MNIST.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from parq.optim import ProxBinaryRelax, ProxHardQuant, ProxPARQ, QuantOptimizer
from parq.quant import LSBQuantizer

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

# The protocol's fixed recipe (docs/protocol-cnn-fashion.md); --epochs only for reduced grids.
RECIPE = {
    "lenet5": dict(epochs=10, batch=128, lr=1e-3),
    "vit-tiny": dict(epochs=5, batch=128, lr=1e-3),
}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(magic & 0xFF)]
    offset = 4 + 4 * len(dims)
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_fashion(folder):
    def find(name):
        for p in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
            if os.path.exists(p):
                return p
        sys.exit(
            f"cnn_fashion.py: no {name}[.gz] in {folder}; "
            "install it with `apt-get install dataset-fashion-mnist` or give --data DIR"
        )

    def images(name):  # NCHW float32 in [0, 1], as parq-ts's pixels / 255
        return torch.from_numpy(read_idx(find(name)).astype(np.float32) / 255.0).unsqueeze(1)

    def labels(name):
        return torch.from_numpy(read_idx(find(name)).astype(np.int64))

    return (
        (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")),
        (images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")),
    )


class LeNet5(nn.Module):
    """parq-ts's lenet5: conv1 6@5x5 same + ReLU, pool 2, conv2 16@5x5 valid + ReLU, pool 2,
    fc1 120, fc2 84, logits."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.logits = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.logits(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Block(nn.Module):
    """Pre-norm transformer block with separate q/k/v projections, as src/models/vit.ts."""

    def __init__(self, width, heads, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn_q = nn.Linear(width, width)
        self.attn_k = nn.Linear(width, width)
        self.attn_v = nn.Linear(width, width)
        self.attn_out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp_fc1 = nn.Linear(width, mlp_ratio * width)
        self.mlp_fc2 = nn.Linear(mlp_ratio * width, width)

    def forward(self, x):
        b, t, d = x.shape
        h = self.norm1(x)
        split = lambda y: y.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.attn_q(h)), split(self.attn_k(h)), split(self.attn_v(h))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        mixed = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.attn_out(mixed)
        return x + self.mlp_fc2(F.gelu(self.mlp_fc1(self.norm2(x))))


class ViT(nn.Module):
    """ViT-tiny as src/models/vit.ts: 7x7 patches embedded by a Linear on (row, col, channel)
    flattened patches (= Conv2d of kernel and stride 7), class token, position embedding,
    4 pre-norm blocks of width 64, 4 heads, MLP ratio 2, final LayerNorm, head on the class token."""

    def __init__(self, classes=10, image=28, channels=1, patch=7, width=64, depth=4, heads=4, mlp_ratio=2):
        super().__init__()
        self.patch = patch
        tokens = (image // patch) ** 2
        self.patch_embed = nn.Linear(patch * patch * channels, width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, width))
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.logits = nn.Linear(width, classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02, a=-0.04, b=0.04)
        nn.init.trunc_normal_(self.pos_embed, std=0.02, a=-0.04, b=0.04)

    def forward(self, x):
        b, c, hgt, wid = x.shape
        p = self.patch
        # NCHW -> [b, H/p, W/p, p, p, C] -> [b, T, p*p*C]: parq-ts's (row, col, channel) order
        x = x.permute(0, 2, 3, 1).reshape(b, hgt // p, p, wid // p, p, c)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, (hgt // p) * (wid // p), p * p * c)
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], 1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.logits(self.norm(x)[:, 0])


def build(name, seed):
    torch.manual_seed(seed)
    model = LeNet5() if name == "lenet5" else ViT()
    # parq-ts: Dense/Conv kernels Glorot (Xavier) uniform, biases zero
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def same_start_target(model, name, t):
    """The PyTorch parameter for parq-ts weight `name` and the tensor in its layout: conv
    [kh, kw, ci, co] -> [co, ci, kh, kw]; dense [in, out] -> [out, in]; LeNet-5's fc1 inputs
    from channels-last (h, w, c) to PyTorch's flatten order (c, h, w); ViT's `blockK_x` ->
    `blocks.K.x`, LayerNorm gamma/beta -> weight/bias, the class token and position embedding
    with their leading 1."""
    layer, kind = name.split("/")
    if kind == "token":
        return model.cls_token, t
    if kind == "embedding":
        return model.pos_embed, t.unsqueeze(0)
    if layer.startswith("block"):
        k, rest = layer[len("block") :].split("_", 1)
        layer = f"blocks.{k}.{rest}"
    if kind == "kernel" and t.dim() == 4:
        t = t.permute(3, 2, 0, 1)
    elif kind == "kernel" and isinstance(model, LeNet5) and layer == "fc1":
        c = model.conv2.out_channels
        side = int(round(math.sqrt(t.shape[0] // c)))
        t = t.reshape(side, side, c, -1).permute(3, 2, 0, 1).reshape(t.shape[1], -1)
    elif kind == "kernel":
        t = t.t()
    field = {"kernel": "weight", "gamma": "weight", "bias": "bias", "beta": "bias"}[kind]
    return dict(model.named_parameters())[f"{layer}.{field}"], t


def load_same_start(model, folder):
    """parq-ts's initial weights (bench/same-start.mjs) into the PyTorch model, every
    parameter exactly once."""
    start = json.load(open(os.path.join(folder, "start.json")))
    flat = np.fromfile(os.path.join(folder, "weights.f32"), dtype="<f4")
    seen = set()
    for w in start["weights"]:
        size = int(np.prod(w["shape"]))
        t = torch.from_numpy(flat[w["offset"] : w["offset"] + size].copy()).reshape(w["shape"])
        try:
            target, t = same_start_target(model, w["name"], t)
        except (KeyError, ValueError, AttributeError):
            sys.exit(f"cnn_fashion.py: parq-ts weight {w['name']} has no place in the {type(model).__name__}")
        if tuple(target.shape) != tuple(t.shape):
            sys.exit(f"cnn_fashion.py: {w['name']} {list(t.shape)} does not fit {list(target.shape)}")
        with torch.no_grad():
            target.copy_(t.contiguous())
        seen.add(id(target))
    missing = [n for n, p in model.named_parameters() if id(p) not in seen]
    if missing:
        sys.exit(f"cnn_fashion.py: the start in {folder} has no values for {', '.join(missing)}")
    return start


def quantized_params(model):
    """Every Linear / Conv2d weight (parq-ts's `*/kernel`); the rest stays float."""
    quant = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    ids = {id(p) for p in quant}
    return quant, [p for p in model.parameters() if id(p) not in ids]


def run(args, data, model_name, method, bits, seed):
    (xtr, ytr), (xte, yte) = data
    recipe = dict(RECIPE[model_name])
    if args.epochs:
        recipe["epochs"] = args.epochs
    if args.limit_train:
        xtr, ytr = xtr[: args.limit_train], ytr[: args.limit_train]
    model = build(model_name, seed)
    orders, first_loss = None, None
    if args.same_start:  # parq-ts's start (bench/same-start.mjs): weights, batch order or both
        start = json.load(open(os.path.join(args.same_start, "start.json")))
        if start["config"]["model"] != model_name:
            sys.exit(f"cnn_fashion.py: the start in {args.same_start} is a {start['config']['model']}, the run a {model_name}")
        if args.same_start_part != "order":
            load_same_start(model, args.same_start)
        n = start["trainSamples"]
        xtr, ytr = xtr[:n], ytr[:n]
        orders = torch.from_numpy(
            np.fromfile(os.path.join(args.same_start, "order.i32"), dtype="<i4").astype(np.int64)
        ).reshape(-1, n)
        if orders.shape[0] < recipe["epochs"]:
            sys.exit(f"cnn_fashion.py: the start in {args.same_start} has {orders.shape[0]} epochs of batch order, the run {recipe['epochs']}")
        with torch.no_grad():  # the start's loss on its first batch, to compare with parq-ts's
            idx = orders[0][: recipe["batch"]]
            first_loss = F.cross_entropy(model(xtr[idx]), ytr[idx]).item()
        if args.same_start_part == "weights":
            orders = None
    steps_per_epoch = math.ceil(len(xtr) / recipe["batch"])
    total = steps_per_epoch * recipe["epochs"]
    quant, rest = quantized_params(model)
    if method == "fp":
        opt = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
        stepper = opt
    else:
        groups = [{"params": quant, "quant_bits": bits}, {"params": rest}]
        opt = torch.optim.Adam(groups, lr=recipe["lr"])
        end = int(0.9 * total)
        prox = {
            "ste": lambda: ProxHardQuant(),
            "parq": lambda: ProxPARQ(0, end, steepness=10.0),
            "binaryrelax": lambda: ProxBinaryRelax(0, end),
        }[method]()
        stepper = QuantOptimizer(opt, LSBQuantizer(), prox, warmup_steps=0, quant_period=10)
    gen = torch.Generator().manual_seed(seed)
    epoch_loss = []
    t0, c0 = time.time(), time.process_time()
    step = 0
    for epoch in range(recipe["epochs"]):
        model.train()
        loss_sum, batches = 0.0, 0
        order = torch.randperm(len(xtr), generator=gen) if orders is None else orders[epoch]
        for i in range(0, len(xtr), recipe["batch"]):
            idx = order[i : i + recipe["batch"]]
            lr = 0.5 * recipe["lr"] * (1 + math.cos(math.pi * step / total))  # per-step cosine to 0
            for g in opt.param_groups:
                g["lr"] = lr
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            stepper.zero_grad()
            loss.backward()
            stepper.step()
            step += 1
            loss_sum += loss.item()
            batches += 1
        epoch_loss.append(loss_sum / batches)
    model.eval()
    with torch.no_grad():
        correct = sum(
            (model(xte[i : i + 1000]).argmax(1) == yte[i : i + 1000]).sum().item()
            for i in range(0, len(xte), 1000)
        )
    distinct = [torch.unique(p.detach()).numel() for p in quant]
    return {
        "side": "reference",
        "model": model_name,
        "method": method,
        "bits": "float" if method == "fp" else bits,
        "seed": seed,
        "epochs": recipe["epochs"],
        "trainSamples": len(xtr),
        "accuracy": 100.0 * correct / len(xte),
        "maxDistinct": max(distinct),
        "seconds": time.time() - t0,
        "cpuSeconds": time.process_time() - c0,
        "epochLoss": epoch_loss,
        **(
            {"sameStart": args.same_start, "sameStartPart": args.same_start_part, "firstLoss": first_loss}
            if args.same_start
            else {}
        ),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="lenet5", choices=sorted(RECIPE))
    ap.add_argument("--methods", default="ste,binaryrelax,parq")
    ap.add_argument("--bits", default="1,ternary,2,4")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=0, help="override the recipe (reduced grids)")
    ap.add_argument("--limit-train", type=int, default=0, help="first n training images only")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("PARQ_FASHION_MNIST") or DEBIAN_DIR)
    ap.add_argument("--out", help="append the JSON lines to this file too")
    ap.add_argument(
        "--same-start-part",
        default="both",
        choices=["both", "weights", "order"],
        help="with --same-start: take only parq-ts's weights (own batch order) or only its order",
    )
    ap.add_argument(
        "--same-start",
        help="start from parq-ts's initial weights and batch order (bench/same-start.mjs DIR)",
    )
    args = ap.parse_args()
    if args.same_start_part != "both" and not args.same_start:
        ap.error("--same-start-part needs --same-start DIR")
    torch.set_num_threads(args.threads)
    data = load_fashion(args.data)
    bits_list = [0 if b == "ternary" else int(b) for b in args.bits.split(",")]
    for seed in [int(s) for s in args.seeds.split(",")]:
        for method in args.methods.split(","):
            for bits in [None] if method == "fp" else bits_list:
                result = run(args, data, args.model, method, bits, seed)
                line = json.dumps(result)
                print(line, flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(line + "\n")


if __name__ == "__main__":
    main()
