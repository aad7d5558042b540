"""Toy: a small patch transformer, written as a fifth encoder's model file would be.

This file is the proof that an encoder needs nothing outside its own files
(``docs/adding_an_encoder.rst``): it follows the layout of
``skeegfm/models/cbramod.py`` (module, encoder protocol, loading hooks,
converter of the "authors'" checkpoints, records at the end) and imports only
what a file inside :mod:`skeegfm.models` may import (torch and
``skeegfm.models``). ``tests/test_new_encoder.py`` adds it to
``skeegfm.models._ENCODER_MODULES`` (the one registration line) and runs the
generic estimators, loaders and jobs on it.

The model: each channel of ``(batch, n_chans, n_times)`` is cut into patches
of ``patch_size`` samples; every ``(channel, patch)`` token is a linear
projection of its patch plus a learned embedding of its channel's *name*
(rows of a vocabulary read with ``match_ch_name``, so any subset of channels in
any order works) and a
sinusoidal embedding of its patch index (any number of patches); a class
token is prepended; ``depth`` pre-norm transformer blocks and a final norm
follow. The head is a linear layer on the mean of the output tokens.

- Paper: none (a test encoder). The block is the pre-norm ViT block of
  Dosovitskiy et al. (2021), "An Image is Worth 16x16 Words", ICLR 2021.
- "Authors'" checkpoint: a ``{"epoch": int, "model_state": {"encoder.<our
  key>": tensor}}`` dict, standing in for a release in another layout
  (:func:`convert_toy_checkpoint`).
"""

from __future__ import annotations

import math
import os
import re
from collections import OrderedDict
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from skeegfm.models._hub import HubMixin
from skeegfm.models._layers import resolve_signal_params
from skeegfm.models._loading import load_checkpoint_file
from skeegfm.models._pretrained import ModelRecord, register_pretrained
from skeegfm.models._protocol import checkpoint_blocks, layer_id_of
from skeegfm.models._vocabulary import TUEG_19_CHANNELS, match_ch_name

__all__ = ["Toy", "convert_toy_checkpoint"]

#: Channel vocabulary: one learned embedding row per name.
TOY_CHANNELS = TUEG_19_CHANNELS
_PRETRAINED_SFREQ = 100.0


# --------------------------------------------------------------------------- modules
class _Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))``, ``x + mlp(norm2(x))``."""

    def __init__(self, dim, num_heads, mlp_ratio, drop_prob):
        super().__init__()
        self.num_heads = int(num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.fc2 = nn.Linear(int(dim * mlp_ratio), dim)
        self.drop = nn.Dropout(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, L, 3, self.num_heads, D // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, L, D)
        x = x + self.drop(self.proj(attn))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


def _sinusoid(n: int, dim: int, like: torch.Tensor) -> torch.Tensor:
    """``(n, dim)`` sinusoidal embedding of the positions ``0..n-1`` (Vaswani et al., 2017)."""
    position = torch.arange(n, device=like.device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=like.device) * (-math.log(10000.0) / dim))
    out = torch.zeros(n, dim, device=like.device)
    out[:, 0::2] = torch.sin(position * freq)
    out[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return out.to(like.dtype)


def _names_of(chs_info) -> list:
    return [ch["ch_name"] for ch in chs_info]


# --------------------------------------------------------------------------- model
class Toy(HubMixin, nn.Module):
    """Toy patch transformer with channel-name embeddings and a linear head.

    Parameters
    ----------
    n_outputs : int | None
        Outputs (classes) of the head. Required unless
        ``return_encoder_output=True``.
    n_chans : int | None
        Number of channels; inferred from ``chs_info``. Without ``chs_info``
        the channels are the first ``n_chans`` names of the vocabulary
        (all 19 by default).
    chs_info : list of dict | None
        Per-channel information; ``"ch_name"`` picks each channel's embedding
        row (names of the 19-channel 10-20 vocabulary).
    n_times : int | None
        Samples per window (any length: the model pads the last patch).
    input_window_seconds : float | None
        Window length in seconds.
    sfreq : float | None
        Sampling rate in Hz (the toy record says 100 Hz; not checked).
    patch_size : int
        Samples per patch.
    embed_dim : int
        Token width.
    depth : int
        Number of transformer blocks.
    num_heads : int
        Attention heads; must divide ``embed_dim``.
    mlp_ratio : float
        Hidden width of the MLPs, in multiples of ``embed_dim``.
    drop_prob : float
        Dropout after the attention and the MLP.
    return_encoder_output : bool
        If True, no head: ``forward`` returns the tokens ``(batch, n_chans,
        n_patches, embed_dim)``.

    Raises
    ------
    ValueError
        If ``chs_info`` names a channel outside the vocabulary, ``num_heads``
        does not divide ``embed_dim``, a size is not a positive integer, or
        the head has no ``n_outputs``.
    """

    _head_prefixes = ("final_layer.",)
    _pretraining_only_prefixes: tuple = ()
    _config_absent_defaults: dict = {}
    #: Top-level state_dict names, to recognise a bare state_dict in our layout.
    _state_dict_roots = ("patch_embed", "chan_embed", "cls_token", "blocks", "norm", "final_layer")

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        patch_size=50,
        embed_dim=32,
        depth=2,
        num_heads=2,
        mlp_ratio=2.0,
        drop_prob=0.0,
        return_encoder_output=False,
    ):
        super().__init__()
        params = resolve_signal_params(n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq)
        for name, value in params.items():
            setattr(self, name, value)
        for name, value in (("patch_size", patch_size), ("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if isinstance(depth, bool) or int(depth) != depth or depth < 0:
            raise ValueError(f"depth must be an integer >= 0, got {depth!r}.")
        if embed_dim % num_heads or embed_dim % 2:
            raise ValueError(f"num_heads={num_heads} must divide embed_dim={embed_dim} (even).")
        names = _names_of(self.chs_info) if self.chs_info is not None else None
        if names is None:
            names = list(TOY_CHANNELS[: self.n_chans or len(TOY_CHANNELS)])
        rows = [match_ch_name(n, TOY_CHANNELS) for n in names]
        unknown = [n for n, row in zip(names, rows) if row is None]
        if unknown:
            raise ValueError(f"Channels {unknown} are not in Toy's vocabulary {list(TOY_CHANNELS)}.")
        self.n_chans = len(names)
        self.patch_size, self.embed_dim = int(patch_size), int(embed_dim)
        self.return_encoder_output = bool(return_encoder_output)
        self.patch_embed = nn.Linear(self.patch_size, self.embed_dim)
        self.chan_embed = nn.Embedding(len(TOY_CHANNELS), self.embed_dim)
        # Recomputed from the names: not in the state_dict.
        self.register_buffer(
            "chans_id", torch.tensor([TOY_CHANNELS.index(row) for row in rows]), persistent=False
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dim))
        self.blocks = nn.ModuleList(
            _Block(self.embed_dim, num_heads, mlp_ratio, float(drop_prob)) for _ in range(int(depth))
        )
        self.norm = nn.LayerNorm(self.embed_dim)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if self.return_encoder_output:
            self.final_layer = nn.Identity()
        else:
            self.final_layer = self._build_head(n_outputs)

    def _build_head(self, n_outputs):
        if n_outputs is None:
            raise ValueError("Toy's head needs n_outputs; or pass return_encoder_output=True.")
        return nn.Linear(self.embed_dim, int(n_outputs))

    def reset_head(self, n_outputs: int) -> None:
        """A fresh linear head with ``n_outputs`` outputs; ``forward`` returns logits."""
        ref = self.norm.weight
        self.final_layer = self._build_head(n_outputs).to(device=ref.device, dtype=ref.dtype)
        self.n_outputs, self.return_encoder_output = int(n_outputs), False
        self._hub_config.update(n_outputs=int(n_outputs), return_encoder_output=False)

    # -- forward ------------------------------------------------------------
    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, 1 + C * N, D)``: class token, then the tokens
        channel-major (the last patch zero-padded)."""
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[1] != self.n_chans:
            raise ValueError(
                f"Toy expects a tensor (batch, {self.n_chans}, n_times), got "
                f"{tuple(getattr(x, 'shape', ())) or type(x).__name__}."
            )
        B, C, T = x.shape
        P = self.patch_size
        x = F.pad(x, (0, -T % P))
        patches = x.reshape(B, C, -1, P)
        tokens = self.patch_embed(patches)  # (B, C, N, D)
        tokens = tokens + self.chan_embed(self.chans_id)[None, :, None, :]
        tokens = tokens + _sinusoid(tokens.shape[2], self.embed_dim, tokens)[None, None]
        cls = self.cls_token.expand(B, -1, -1).to(tokens.dtype)
        return torch.cat((cls, tokens.flatten(1, 2)), dim=1)

    def _features(self, h: torch.Tensor, n_chans: int) -> dict:
        h = self.norm(h)
        B, L, D = h.shape
        return {"features": h[:, 1:].reshape(B, n_chans, -1, D), "cls_token": h[:, 0]}

    def forward(self, x: torch.Tensor, return_features: bool = False):
        """Encode ``(batch, n_chans, n_times)`` windows.

        Returns
        -------
        out : torch.Tensor | dict
            Logits ``(batch, n_outputs)``; with ``return_encoder_output=True``
            the tokens ``(batch, n_chans, n_patches, embed_dim)``; with
            ``return_features`` ``{"features": tokens, "cls_token": (batch,
            embed_dim)}``.
        """
        h = self._tokens(x)
        for block in self.blocks:
            h = block(h)
        features = self._features(h, x.shape[1])
        if return_features:
            return features
        if self.return_encoder_output:
            return features["features"]
        return self.forward_head(features["features"])

    # -- checkpoints ----------------------------------------------------------
    @classmethod
    def _config_from_state_dict(cls, state_dict):
        """Constructor arguments from the tensor shapes (files without config.json).

        ``num_heads`` leaves no trace in the weights: the default (2)."""
        if "patch_embed.weight" not in state_dict or "blocks.0.fc1.weight" not in state_dict:
            raise ValueError("cannot infer the Toy architecture: 'patch_embed.weight' or "
                             "'blocks.0.fc1.weight' is not in the checkpoint.")
        embed_dim, patch_size = state_dict["patch_embed.weight"].shape
        hidden = state_dict["blocks.0.fc1.weight"].shape[0]
        depth = 1 + max(int(m.group(1)) for k in state_dict if (m := re.match(r"blocks\.(\d+)\.", k)))
        return dict(
            patch_size=int(patch_size),
            embed_dim=int(embed_dim),
            depth=depth,
            mlp_ratio=hidden / embed_dim,
            sfreq=_PRETRAINED_SFREQ,
            return_encoder_output=True,
        )

    @classmethod
    def _original_hooks(cls):
        """Recogniser and converter of the "authors'" checkpoints."""
        return _looks_like_original, convert_toy_checkpoint

    # -- encoder protocol (skeegfm.models._protocol) -----------------------------
    #: Parts no pretrained checkpoint provides: the head.
    head_prefixes = ("final_layer.",)
    #: Default LoRA targets: the attention and MLP linear layers of every block.
    lora_target_modules = r"blocks\.\d+\.(qkv|proj|fc1|fc2)"
    #: Poolings of :meth:`pool` (first: the default).
    poolings = ("mean", "cls")
    grad_checkpointing = False

    # ``blocks`` is the ModuleList attribute itself (a protocol member).

    def layer_id(self, name: str) -> int | None:
        """0 for the embeddings and the class token, ``i + 1`` for block ``i``,
        ``depth + 1`` for the final norm and the head."""
        return layer_id_of(name, "blocks.", len(self.blocks), stem=("patch_embed.", "chan_embed.", "cls_token"))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``(batch, n_chans, n_patches, embed_dim)`` the head reads."""
        return self(x, return_features=True)["features"]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits: the head on the mean of the tokens."""
        return self.final_layer(features.mean(dim=(1, 2)))

    def forward_until(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Tokens ``(batch, 1 + n_chans * n_patches, embed_dim)`` entering block ``cut``."""
        h = self._tokens(x)
        for block in self.blocks[:cut]:
            h = block(h)
        return h

    def forward_from(self, h: torch.Tensor, cut: int) -> torch.Tensor:
        """Logits from ``h = forward_until(x, cut)``."""
        for block in self.blocks[cut:]:
            h = block(h)
        return self.forward_head(self._features(h, self.n_chans)["features"])

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass."""
        checkpoint_blocks(self.blocks, enable)
        self.grad_checkpointing = bool(enable)

    def reset_classifier(self, n_outputs: int) -> None:
        """A fresh head (:meth:`reset_head`)."""
        self.reset_head(n_outputs)

    @classmethod
    def input_config(cls, ch_names, n_times: int, sfreq: float, *, head: bool) -> dict:
        """The channels by name (their embedding rows); any window length."""
        return {"chs_info": [{"ch_name": name} for name in ch_names]}

    @property
    def fixed_n_times(self) -> int | None:
        """None: any window length."""
        return None

    @property
    def fixed_ch_names(self) -> list | None:
        """The channels the model was built for, by name (None without ``chs_info``)."""
        return None if self.chs_info is None else _names_of(self.chs_info)

    def pool(self, features: dict, pooling: str) -> torch.Tensor:
        """``"mean"``: mean of the tokens; ``"cls"``: the class token."""
        if pooling == "cls":
            return features["cls_token"]
        return features["features"].mean(dim=(1, 2))

    def pooled_size(self, pooling: str, n_chans: int) -> int:
        """``embed_dim`` for both poolings."""
        return self.embed_dim


# --------------------------------------------------------------------------- "authors'" checkpoints
def _looks_like_original(checkpoint) -> bool:
    """Whether ``checkpoint`` is the "authors'" layout: ``{"model_state": {"encoder.*": ...}}``."""
    inner = checkpoint.get("model_state") if isinstance(checkpoint, Mapping) else None
    return isinstance(inner, Mapping) and any(str(k).startswith("encoder.blocks.") for k in inner)


def convert_toy_checkpoint(path_or_dict, *, trust_checkpoint=False) -> dict:
    """Convert a "authors'" Toy checkpoint to :class:`Toy`'s state_dict.

    Parameters
    ----------
    path_or_dict : str | os.PathLike | dict
        The checkpoint file or the loaded dict.
    trust_checkpoint : bool
        Unpickle a file beyond the allow-list (only for files you trust).

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The ``encoder.`` entries of ``model_state`` without the prefix.

    Raises
    ------
    ValueError
        If the checkpoint holds no Toy encoder weights.
    """
    if not isinstance(path_or_dict, (Mapping, str, os.PathLike)):
        raise TypeError(f"Expected a checkpoint dict or a path, got {type(path_or_dict).__name__}.")
    raw = load_checkpoint_file(path_or_dict, trust_checkpoint=trust_checkpoint)
    if not _looks_like_original(raw):
        raise ValueError("No Toy encoder weights found (expected model_state with 'encoder.blocks.*').")
    return OrderedDict(
        (k[len("encoder."):], v) for k, v in raw["model_state"].items() if k.startswith("encoder.")
    )


# --------------------------------------------------------------------------
# Pretrained records
# --------------------------------------------------------------------------

TOY_RECORD = register_pretrained(
    ModelRecord(
        name="toy",
        model="Toy",
        hub_id="skeegfm-tests/toy-pretrained",
        preset=dict(patch_size=50, embed_dim=32, depth=2, num_heads=2, mlp_ratio=2.0),
        sfreq=_PRETRAINED_SFREQ,
        patch_size=50,
        min_n_times=50,
        unit="microvolts",
        scale_from_volts=1e6,
        reference="average",
        ch_names=TOY_CHANNELS,
        channel_matching="by name",
        emb_dim=32,
        n_params=19_424,
        licence="BSD-3-Clause (skeegfm's test suite)",
        paper="none: a test encoder (the ViT block of Dosovitskiy et al., ICLR 2021)",
        window="keep",
        display_name="Toy",
        default_benchmark=False,
        sources=dict(
            hub_id="not published: a fake id (tests never touch the network)",
            preset="Toy's constructor defaults",
            sfreq="chosen for the test: 100 Hz, so that 200 Hz test data are resampled",
            patch_size="preset: 50-sample (0.5 s) patches",
            min_n_times="one patch (50 samples)",
            unit="chosen for the test: microvolts",
            scale_from_volts="follows from unit: 1 V = 1e6 uV",
            reference="chosen for the test: average reference (exercises re-referencing)",
            ch_names="the 19-channel 10-20 vocabulary of the channel embedding (TOY_CHANNELS)",
            channel_matching="a learned embedding per channel name: any subset, any order",
            emb_dim="embed_dim of the preset (both poolings)",
            n_params="Toy(return_encoder_output=True) with the preset (tests check it)",
            licence="the test suite's licence",
            paper="no paper: a test encoder",
            window="the model zero-pads the last patch itself",
            display_name="the class name",
            default_benchmark="not a released model: never in the default benchmark",
        ),  # fmt: skip
    )
)
