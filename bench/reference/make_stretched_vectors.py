"""Vectors for parq-ts's StretchedUnifQuantizer from torchao's Stretched formula, in torch.

torchao (torchao/prototype/parq/quant/quant_api.py, choose_qparams_stretched_affine and
quantize_stretched_affine; dequantize_affine) computes, per group of weights w at b bits:

    m     = clamp(min(b * mean|w|, max|w|), min=eps)      eps = torch.finfo(float32).eps
    s     = m / (2^(b-1) - 0.5)
    code  = round(clamp(w, -m, m) / s + zero_point)      zero_point = -0.5, torch.round (half to even)
    q     = (code - zero_point) * s

torchao is not installed here, so this script restates that arithmetic in torch float32 ops in the
same order. Run:  /usr/bin/python3 bench/reference/make_stretched_vectors.py
Writes test/fixtures/quant/stretched-torchao.json.
"""
import json
import os

import torch


def stretched(w: torch.Tensor, b: int, dim: int):
    eps = torch.finfo(torch.float32).eps
    a = w.abs()
    m = torch.minimum(b * a.mean(dim=dim, keepdim=True), a.amax(dim=dim, keepdim=True)).clamp_(min=eps)
    s = m / (2 ** (b - 1) - 0.5)
    zp = torch.full_like(s, -0.5)
    code = torch.round(w.clamp(min=-m, max=m) / s + zp)
    q = (code - zp) * s
    levels = (torch.arange(-(2 ** (b - 1)), 2 ** (b - 1), dtype=torch.float32) + 0.5) * s
    return code, s, q, levels


def main():
    torch.manual_seed(0)
    cases = []
    for b in (1, 2, 3, 4):
        for name, w in (
            ("normal", torch.randn(4, 32)),
            ("heavy-tail", torch.randn(4, 32) ** 3),
            ("tiny", torch.randn(2, 16) * 1e-9),
            ("zeros", torch.zeros(2, 8)),
        ):
            code, s, q, levels = stretched(w, b, dim=1)
            cases.append(
                {
                    "name": f"{name}-b{b}",
                    "bits": b,
                    # groups are rows: parq-ts's view [A, M, 1] with A = rows
                    "shape": list(w.shape),
                    "w": w.flatten().tolist(),
                    "codes": code.flatten().tolist(),
                    "scale": s.flatten().tolist(),
                    "q": q.flatten().tolist(),
                    "levels": levels.tolist(),
                }
            )
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "quant", "stretched-torchao.json")
    with open(out, "w") as f:
        json.dump({"source": "bench/reference/make_stretched_vectors.py", "torch": torch.__version__, "cases": cases}, f)
    print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
