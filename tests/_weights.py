"""Deterministic fill-rule weights of the golden fixtures (tests/fixtures/README)."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import torch
from safetensors.torch import load_file

FIXTURES = Path(__file__).parent / "fixtures"


def fill_tensor(key: str, shape) -> torch.Tensor:
    """Rebuild the fixture weight of state_dict entry ``key`` with ``shape``."""
    shape = tuple(int(s) for s in shape)
    gen = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    t = torch.randn(shape, generator=gen, dtype=torch.float64)
    if len(shape) >= 2:
        w = t / math.sqrt(math.prod(shape[1:]))
    elif "norm" in key.lower():
        w = 1.0 + 0.1 * t
    else:
        w = 0.1 * t
    return w.to(torch.float32)


def fill_state_dict(module: torch.nn.Module, buffers: dict | None = None) -> dict:
    """Fill-rule state_dict for ``module``: parameters rebuilt, buffers kept
    (or taken from ``buffers``, a dict key -> tensor)."""
    params = dict(module.named_parameters())
    out = {}
    for key, value in module.state_dict().items():
        if buffers is not None and key in buffers:
            out[key] = buffers[key].clone()
        elif key in params and value.is_floating_point():
            out[key] = fill_tensor(key, value.shape)
        else:
            out[key] = value.clone()
    return out


def load_manifest() -> dict:
    return json.loads((FIXTURES / "manifest.json").read_text())


def load_case(case: str) -> dict:
    """Tensors of a fixture case (input, outputs and ``buffer.*`` entries)."""
    return load_file(str(FIXTURES / f"{case}.safetensors"))
