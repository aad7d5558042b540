"""Configurations that the reference implementation (braindecode's models)
accepts and runs, stored with the reference's own weights and outputs.

``tests/data/reference_cases/<case>.json`` holds the model name, its
constructor kwargs and the forward calls to check; ``<case>.safetensors``
holds the reference's state_dict (``sd:<key>``), the input (``input``), an
optional mask (``mask``) and the reference's eval-mode outputs
(``out:<call>``). The files were written once from braindecode 1.8.1 by a
differential fuzz of the four encoders (each case is a configuration that
skeegfm used to reject); the tests themselves do not need braindecode.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

CASES_DIR = Path(__file__).parent / "data" / "reference_cases"


def reference_cases(model: str) -> list[str]:
    """Names of the stored cases of the encoder class called ``model``."""
    return sorted(
        path.stem
        for path in CASES_DIR.glob("*.json")
        if json.loads(path.read_text())["model"] == model
    )


def _tupled(value):
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value


def check_reference_case(cls, case: str, rtol: float = 1e-4) -> None:
    """Build ``cls`` with the case's kwargs, load the reference's state_dict
    strictly and compare every stored output to ``rtol`` of its largest
    magnitude."""
    meta = json.loads((CASES_DIR / f"{case}.json").read_text())
    assert meta["model"] == cls.__name__
    tensors = load_file(str(CASES_DIR / f"{case}.safetensors"))
    model = cls(**{k: _tupled(v) for k, v in meta["kwargs"].items()}).eval()
    state = {key[len("sd:"):]: value for key, value in tensors.items() if key.startswith("sd:")}
    model.load_state_dict(state, strict=True)
    x = tensors["input"]
    for call, spec in meta["calls"].items():
        kwargs = {k: v for k, v in spec.items() if k not in ("mask", "output_key")}
        if spec.get("mask"):
            kwargs["mask"] = tensors["mask"]
        with torch.no_grad():
            out = model(x, **kwargs)
        if "output_key" in spec:
            out = out[spec["output_key"]]
        expected = tensors[f"out:{call}"]
        assert out.shape == expected.shape, (case, call, tuple(out.shape), tuple(expected.shape))
        scale = expected.abs().max().clamp_min(1e-6)
        err = (out - expected).abs().max()
        assert err <= rtol * scale, f"{case}, {call}: max error {err:.3g} (output scale {scale:.3g})"
        assert scale > 1e-3  # not a trivially zero comparison
