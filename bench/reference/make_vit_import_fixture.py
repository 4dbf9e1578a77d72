"""Import fixture of the ViT: a narrow ViT-tiny trained a few PARQ steps by the reference on
Fashion-MNIST, saved as safetensors, with inputs and PyTorch's predictions on them.

Run (from the repository root):
    PYTHONPATH=/work/ref/parq /usr/bin/python3 bench/reference/make_vit_import_fixture.py

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) or $PARQ_FASHION_MNIST.

Writes test/fixtures/import/:
    vit-parq2.safetensors      the ViT of bench/reference/cnn_fashion.py (the module that mirrors
                               src/models/vit.ts) at width 32, depth 2, 2 heads, MLP ratio 2,
                               7x7 patches of 28x28x1 images, 10 classes; PARQ 2 bits
                               (UnifQuantizer) per output channel on every Linear weight (the
                               kernels parq-ts quantizes), float32
    vit-parq2-io.safetensors   x (16 test images, NHWC) and probs (PyTorch's softmax)

The module's attribute names are the PyTorch keys docs/import.md maps to parq-ts's layers
(patch_embed, cls_token, pos_embed, blocks.{i}.norm1, blocks.{i}.attn_q, ..., norm, logits).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from parq.optim import ProxPARQ, QuantOptimizer
from parq.quant import UnifQuantizer

from cnn_fashion import DEBIAN_DIR, ViT, load_fashion, quantized_params
from make_import_fixtures import predict_and_save

CONFIG = dict(classes=10, image=28, channels=1, patch=7, width=32, depth=2, heads=2, mlp_ratio=2)


def main():
    (xtr, ytr), (xte, _) = load_fashion(os.environ.get("PARQ_FASHION_MNIST") or DEBIAN_DIR)
    torch.manual_seed(4)
    model = ViT(**CONFIG)
    for m in model.modules():  # parq-ts's init: Glorot-uniform kernels, zero biases
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    weights, others = quantized_params(model)
    base = torch.optim.AdamW(
        [{"params": weights, "quant_bits": 2}, {"params": others}], lr=1e-3, weight_decay=0
    )
    opt = QuantOptimizer(base, UnifQuantizer(), ProxPARQ(0, 6), quant_period=1, quant_per_channel=True)
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(0))
    model.train()
    for s in range(10):  # annealed to hard quantization by step 6
        idx = perm[s * 64:(s + 1) * 64]
        opt.zero_grad()
        F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
        opt.step()
    model.eval()
    for p in weights:  # hard-quantized: at most 4 distinct values per output row
        assert max(len(torch.unique(r)) for r in p.detach()) <= 4, "not quantized"
    for p in others:  # the float tensors (biases, LayerNorm, class token, positions) stay float
        assert p.dim() < 2 or len(torch.unique(p.detach())) > 4
    x = xte[::500][:16]  # [16, 1, 28, 28]
    predict_and_save("vit-parq2", model, x, x.permute(0, 2, 3, 1).contiguous(), metadata={"format": "pt"})


if __name__ == "__main__":
    main()
