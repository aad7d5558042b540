"""Generate tests/data/reference_cases/ from the reference implementation.

Not part of the package or of the tests (the tests must not need
braindecode): run by hand in an environment where braindecode is importable,

    python tools/make_reference_cases.py tests/data/reference_cases

Each case is a configuration that the reference accepts and runs but that
skeegfm used to reject or compute differently (found by
tools/fuzz_reference.py). For each, ``<case>.json`` holds the model name,
the constructor kwargs and the calls to check; ``<case>.safetensors`` holds
the reference's state_dict (``sd:<key>``, weights perturbed so that no bias
is zero), the input (``input``), an optional mask (``mask``) and the
reference's eval-mode outputs (``out:<call>``).
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import torch

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import braindecode  # noqa: E402
import braindecode.models as bdm  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

SMALL_CONV = [[4, 49, 25, 24, [2, 4]], [4, 3, 1, 1, [2, 4]], [4, 3, 1, 1, [2, 4]]]

#: name -> (model, kwargs, n_times of the input, calls {name: forward kwargs})
CASES = {
    # CBraMod: an odd nhead gives nhead // 2 heads to each attention.
    "cbramod_odd_nhead": (
        "CBraMod",
        dict(n_outputs=2, n_chans=3, n_times=400, n_layer=1, nhead=3, dim_feedforward=16,
             emb_dim=8, channels_kernel_stride_padding_norm=SMALL_CONV),
        400,
        {"logits": {}, "features": {"return_features": True}, "masked": {"mask": True}},
    ),
    # CBraMod: 201-sample patches also have 101 rfft bins.
    "cbramod_patch201": (
        "CBraMod",
        dict(n_outputs=2, n_chans=3, n_times=402, patch_size=201, n_layer=1, nhead=4,
             dim_feedforward=16, emb_dim=8,
             channels_kernel_stride_padding_norm=[[4, 50, 25, 24, [2, 4]], [4, 3, 1, 1, [2, 4]],
                                                  [4, 3, 1, 1, [2, 4]]]),
        402,
        {"logits": {}, "features": {"return_features": True}, "masked": {"mask": True}},
    ),
    # EEG-DINO: a window shorter than one patch is zero-padded to one patch.
    "eegdino_short_window": (
        "EEGDINO",
        dict(n_outputs=2, n_chans=4, n_times=40, patch_size=64, n_layer=1, nhead=2,
             dim_feedforward=16, channels_kernel_stride_padding_norm=[[4, 9, 8, 4, [2, 4]]]),
        40,
        {"logits": {}, "features": {"return_features": True}},
    ),
    # EEGPT: a projection to one channel, broadcast over the 19 channel embeddings.
    "eegpt_one_target_channel": (
        "EEGPT",
        dict(n_outputs=2, n_chans=4, n_times=64, patch_size=16, patch_stride=None, embed_num=2,
             embed_dim=16, depth=1, num_heads=2, mlp_ratio=2.0,
             chan_proj_type="conv1d_constraint", n_chans_target=1),
        64,
        {"logits": {}, "features": {"return_features": True}},
    ),
    "eegpt_one_target_channel_linear": (
        "EEGPT",
        dict(n_chans=5, n_times=48, patch_size=16, patch_stride=8, embed_num=1, embed_dim=8,
             depth=2, num_heads=2, mlp_ratio=1.0, chan_proj_type="linear", n_chans_target=1,
             return_encoder_output=True),
        48,
        {"encoder_output": {}},
    ),
}


def _tupled(value):
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, (model_name, kwargs, n_times, calls) in CASES.items():
        torch.manual_seed(0)
        ref_kwargs = {k: _tupled(v) for k, v in kwargs.items()}
        model = getattr(bdm, model_name)(**ref_kwargs)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
        model.eval()
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(2, kwargs["n_chans"], n_times, generator=gen)
        tensors = {f"sd:{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}
        tensors["input"] = x
        patch = kwargs.get("patch_size", 200)
        mask = (torch.rand(2, kwargs["n_chans"], n_times // patch, generator=gen) < 0.5).float()
        call_meta = {}
        for call, kw in calls.items():
            kw = dict(kw)
            if kw.pop("mask", False):
                kw["mask"] = mask
                tensors["mask"] = mask
            with torch.no_grad():
                y = model(x, **kw)
            if isinstance(y, dict):
                y = y["features"]
                call_meta[call] = {**{k: v for k, v in calls[call].items()}, "output_key": "features"}
            else:
                call_meta[call] = dict(calls[call])
            tensors[f"out:{call}"] = y.detach().clone().contiguous()
        save_file(tensors, str(out / f"{name}.safetensors"))
        meta = {
            "model": model_name,
            "kwargs": kwargs,
            "calls": call_meta,
            "reference": f"braindecode {braindecode.__version__}",
            "note": "Reference state_dict, input and eval-mode outputs; generated outside the "
                    "test suite (the tests do not need braindecode).",
        }
        (out / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
        size = (out / f"{name}.safetensors").stat().st_size
        print(f"{name}: {len(tensors)} tensors, {size / 1024:.1f} kB")


if __name__ == "__main__":
    main(sys.argv[1])
