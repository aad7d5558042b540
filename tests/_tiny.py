"""Tiny encoder configurations saved with ``save_pretrained``, for fast tests.

Each configuration keeps what the estimators depend on (the released input
contract: 19 TUEG channels / the 62-name EEGPT vocabulary, 200-sample or
64-sample patches) and shrinks depth and width, so that a forward pass over
the EEGMAT development epochs takes well under a second on 2 CPU cores.

Use :func:`save_tiny` directly (``save_tiny("eegpt", tmp_path)``) or the
``tiny_checkpoint`` fixture of ``tests/conftest.py``, which saves each
configuration once per test session.
"""

from __future__ import annotations

from pathlib import Path

import torch

from skeegfm._channels import EEGPT_CHANNELS

__all__ = ["TINY_CONFIGS", "build_tiny", "save_tiny"]

#: Constructor arguments of the tiny encoders, by registry family.
TINY_CONFIGS = {
    "eegdino": dict(
        n_outputs=2,
        n_chans=19,
        n_times=800,
        n_layer=2,
        nhead=2,
        dim_feedforward=32,
        # emb_dim = 4 conv channels x 8 positions = 32
        channels_kernel_stride_padding_norm=(
            (4, 49, 25, 24, (2, 4)),
            (4, 3, 1, 1, (2, 4)),
            (4, 3, 1, 1, (2, 4)),
        ),
    ),
    "eegpt": dict(
        n_outputs=1,
        chs_info=[{"ch_name": name} for name in EEGPT_CHANNELS],
        n_times=1024,
        sfreq=256.0,
        patch_size=64,
        patch_stride=None,
        embed_num=2,
        embed_dim=16,
        depth=1,
        num_heads=2,
        mlp_ratio=2.0,
        chan_proj_type="none",
        return_encoder_output=True,
    ),
    "codebrain": dict(
        n_outputs=2,
        n_chans=19,
        n_times=800,
        num_res_layers=1,
        res_channels=32,
        skip_channels=32,
        out_channels=32,  # features: 32 per token (released: 200)
        s4_lmax=16,
        mlp_hidden_multiplier=1,
        codebook_size_t=8,
        codebook_size_f=8,
    ),
    "cbramod": dict(
        n_outputs=2,
        n_chans=19,
        n_times=800,
        n_layer=1,
        nhead=2,
        dim_feedforward=16,
        emb_dim=16,  # features: 16 per token (released: 200)
        # d_model = 4 conv channels x 8 positions = 32
        channels_kernel_stride_padding_norm=(
            (4, 49, 25, 24, (2, 4)),
            (4, 3, 1, 1, (2, 4)),
            (4, 3, 1, 1, (2, 4)),
        ),
    ),
}

_CLASSES = {"eegdino": "EEGDINO", "eegpt": "EEGPT", "codebrain": "CodeBrain", "cbramod": "CBraMod"}


def build_tiny(family: str, seed: int = 0) -> torch.nn.Module:
    """A tiny encoder of ``family`` ("eegdino", "eegpt", "codebrain", "cbramod"), seeded."""
    from skeegfm import models

    model_class = getattr(models, _CLASSES[family])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        # Non-zero, distinct values everywhere (some parameters start at 0).
        model = model_class(**TINY_CONFIGS[family])
        with torch.no_grad():
            for param in model.parameters():
                param.add_(0.02 * torch.randn_like(param))
    return model.eval()


def save_tiny(family: str, directory, seed: int = 0) -> Path:
    """Save a tiny ``family`` encoder with ``save_pretrained`` into ``directory``.

    Returns
    -------
    directory : Path
        The directory (config.json + model.safetensors), usable as an
        estimator's ``checkpoint``.
    """
    directory = Path(directory)
    build_tiny(family, seed).save_pretrained(directory)
    return directory
