"""EEGPT: a channel-wise patch transformer with learned summary tokens.

Wang, G., Liu, W., He, Y., Xu, C., Ma, L. and Li, H. (2024). EEGPT: Pretrained
transformer for universal and reliable representation of EEG signals.
Advances in Neural Information Processing Systems (NeurIPS) 37, 39249-39280.

- Original repository: https://github.com/BINE022/EEGPT (checkpoint
  ``eegpt_mcae_58chs_4s_large4E.ckpt``, a PyTorch-Lightning file whose
  ``target_encoder.*`` weights are the released encoder).
- Released weights on the Hugging Face Hub: ``braindecode/eegpt-pretrained``
  (state_dict layout of braindecode's ``EEGPT``, which this module reproduces
  key for key). Licence of the weights: not stated; see the model card.

Each channel of each time patch is a token carrying a learned embedding of
the channel's *name*; for every time patch separately, the channel tokens and
``embed_num`` learned summary tokens go through a pre-norm transformer, and
the layer-normalised summary tokens are the representation of that patch.

This file holds the channel vocabulary (:data:`EEGPT_CHANNELS`,
:func:`eegpt_channel_ids`), the blocks (patch embedding, max-norm layers, the
two-stage linear probe), the encoder ``_EEGTransformer``, the :class:`EEGPT`
module with the reference implementation's constructor (braindecode's
``EEGPT``), the converter of the authors' original checkpoint and, at its
end, the pretrained record. Nothing here imports scikit-learn or MNE.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ._hub import HubMixin
from ._layers import TransformerBlock, resolve_signal_params
from ._loading import _count_indexed, _need, load_checkpoint_file
from ._pretrained import UNKNOWN_LICENCE, ModelRecord, register_pretrained
from ._protocol import checkpoint_blocks, layer_id_of
from ._vocabulary import match_ch_name

__all__ = [
    "EEGPT",
    "EEGPT_CHANNELS",
    "STANDARD_19_CHANNELS",
    "convert_eegpt_checkpoint",
    "eegpt_channel_ids",
]

#: EEGPT's 62-name channel vocabulary, in the order of the rows of its
#: channel embedding (``chan_embed.weight``). Identical to ``CHANNEL_DICT`` of
#: the original EEGPT repository (Wang et al., 2024); written out here rather
#: than derived from MNE's deprecated ``standard_1020`` montage.
EEGPT_CHANNELS: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF7", "AF3", "AF4", "AF8", "F7", "F5", "F3", "F1",
    "FZ", "F2", "F4", "F6", "F8", "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2",
    "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "CZ", "C2", "C4", "C6", "T8",
    "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8", "P7", "P5",
    "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POZ",
    "PO4", "PO6", "PO8", "O1", "OZ", "O2",
)  # fmt: skip

#: The standard 19-channel 10-20 set used by EEGPT's original linear probes
#: (``EEGPT_19_CHANNELS`` of the authors' repository), in modern names.
STANDARD_19_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T7", "C3", "CZ", "C4", "T8",
    "P7", "P3", "PZ", "P4", "P8", "O1", "O2",
)  # fmt: skip

_EEGPT_VOCABULARY = frozenset(EEGPT_CHANNELS)
_EEGPT_INDEX = {name: i for i, name in enumerate(EEGPT_CHANNELS)}


def eegpt_channel_ids(ch_names) -> list[int]:
    """Rows of EEGPT's channel embedding for the channels ``ch_names``.

    Each name is read by the package's channel-name rules
    (:func:`skeegfm.models._vocabulary.match_ch_name`: case, ``"EEG "``
    prefix, reference suffixes, trailing dots, T3/T4/T5/T6) and looked up in
    :data:`EEGPT_CHANNELS`. Unlike the reference implementation, a name that
    matches nothing is an error: it never falls back to its position.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names as recorded, one per input channel, in input order.

    Returns
    -------
    ids : list of int
        ``ids[i]`` is the index in :data:`EEGPT_CHANNELS` of ``ch_names[i]``.

    Raises
    ------
    ValueError
        If a name has no match in the vocabulary (all unknown names and the
        accepted vocabulary are listed), or if two names map to the same
        electrode (e.g. ``"T3"`` and ``"T7"``).

    Examples
    --------
    >>> eegpt_channel_ids(["EEG Fp1-REF", "t3", "Oz"])
    [0, 25, 60]
    """
    names = [str(n) for n in ch_names]
    canonical = [match_ch_name(n, _EEGPT_VOCABULARY) for n in names]
    unknown = [n for n, c in zip(names, canonical) if c is None]
    if unknown:
        raise ValueError(
            f"{len(unknown)} channel name(s) are not in EEGPT's 62-channel vocabulary: "
            f"{unknown}. Accepted names (case-insensitive; an 'EEG ' prefix, a reference "
            "suffix such as '-REF' and the old names T3/T4/T5/T6 are understood): "
            f"{list(EEGPT_CHANNELS)}. Rename or drop these channels (or use a channel "
            "projection, chan_proj_type='conv1d_constraint' or 'linear')."
        )
    seen: dict[str, str] = {}
    duplicates = []
    for name, canon in zip(names, canonical):
        if canon in seen:
            duplicates.append(f"{seen[canon]!r} and {name!r} -> {canon}")
        else:
            seen[canon] = name
    if duplicates:
        raise ValueError(
            "Several channels map to the same EEGPT electrode: "
            + "; ".join(duplicates)
            + ". Keep one channel per electrode."
        )
    return [_EEGPT_INDEX[c] for c in canonical]


_CHAN_PROJ_TYPES = ("conv1d_constraint", "linear", "none")
_N_VOCAB = len(EEGPT_CHANNELS)  # 62 rows of the released channel embedding

# Original probe module names (``LitEEGPTCausal`` in the authors' repository) -> our names.
_ORIGINAL_PROBE_NAMES = {
    "chan_conv.weight": "chan_proj.proj.parametrizations.weight.original",
    "chan_conv.bias": "chan_proj.proj.bias",
    "linear_probe1.weight": "final_layer.probe1.parametrizations.weight.original",
    "linear_probe1.bias": "final_layer.probe1.bias",
    "linear_probe2.weight": "final_layer.probe2.parametrizations.weight.original",
    "linear_probe2.bias": "final_layer.probe2.bias",
}
_PRETRAINING_PREFIXES = ("encoder.", "predictor.", "reconstructor.")



# --------------------------------------------------------------------------- blocks


class _MaxNorm(nn.Module):
    """Parametrisation clipping the L2 norm of each output row of a weight.

    ``W_eff[i] = W[i] * min(1, max_norm / ||W[i]||)``, computed with
    :meth:`torch.Tensor.renorm` over dimension 0 (each output unit).
    """

    def __init__(self, max_norm: float):
        super().__init__()
        self.max_norm = float(max_norm)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.renorm(p=2, dim=0, maxnorm=self.max_norm)

    def extra_repr(self) -> str:
        return f"max_norm={self.max_norm}"


def _with_max_norm(module: nn.Module, max_norm: float) -> nn.Module:
    # The stored weight becomes ``...parametrizations.weight.original``, the
    # layout of the released checkpoints.
    parametrize.register_parametrization(module, "weight", _MaxNorm(max_norm))
    return module


class _ChannelConvProjection(nn.Module):
    """Map ``n_chans`` input channels to ``n_chans_target`` with a 1x1 Conv1d
    whose per-output weight vector is max-norm constrained (the original
    probes' ``chan_conv``). ``(batch, n_chans, n_times) -> (batch, n_chans_target, n_times)``."""

    def __init__(self, n_chans: int, n_chans_target: int, max_norm: float):
        super().__init__()
        self.proj = _with_max_norm(nn.Conv1d(n_chans, n_chans_target, 1), max_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class _ChannelLinearProjection(nn.Module):
    """Unconstrained linear map over the channel axis,
    ``(batch, n_chans, n_times) -> (batch, n_chans_target, n_times)``."""

    def __init__(self, n_chans: int, n_chans_target: int):
        super().__init__()
        self.proj = nn.Linear(n_chans, n_chans_target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.transpose(1, 2)).transpose(1, 2)


class _LinearConstraintProbe(nn.Module):
    """The original two-stage linear probe of EEGPT (no nonlinearity).

    ``z (batch, n_patches, embed_num, embed_dim)`` -> flatten the summary
    tokens of each patch -> Dropout(0.5) -> ``probe1`` (``embed_num *
    embed_dim -> 16``, rows max-norm 1.0) -> flatten the patches ->
    ``probe2`` (``n_patches * 16 -> n_outputs``, rows max-norm 0.25).

    Parameters
    ----------
    n_patches, embed_num, embed_dim : int
        Geometry of the encoder output.
    n_outputs : int
        Number of outputs.
    """

    def __init__(self, n_patches: int, embed_num: int, embed_dim: int, n_outputs: int):
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.probe1 = _with_max_norm(nn.Linear(embed_num * embed_dim, 16), 1.0)
        self.probe2 = _with_max_norm(nn.Linear(n_patches * 16, n_outputs), 0.25)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.probe1(self.dropout(z.flatten(2)))
        return self.probe2(h.flatten(1))


class _PatchEmbed(nn.Module):
    """Cut every channel into (possibly overlapping) time patches and project
    each patch to ``embed_dim``.

    The right zero-padding is fixed at construction from ``n_times`` so that
    the last patch ends on the last sample: ``pad = (S - (T - P) % S) % S``
    (``pad = (P - T % P) % P`` when ``patch_stride`` is None, i.e.
    non-overlapping patches), and ``n_patches = (T + pad - P) // S + 1``.
    The same pad is applied to every input.

    Parameters
    ----------
    n_times : int
        Samples per window the model is built for (``>= patch_size``).
    patch_size : int
        Samples per patch, P.
    patch_stride : int | None
        Samples between patch starts, S (None: S = P).
    embed_dim : int
        Token width, D.

    Notes
    -----
    The weight is stored as ``proj`` = ``Conv2d(1, D, (1, P), stride (1, S))``
    (the released layout); the forward pass computes the same thing as one
    matrix product over unfolded patches. Input ``(batch, n_chans, n_times)``,
    output ``(batch, n_patches, n_chans, embed_dim)``.
    """

    def __init__(self, n_times: int, patch_size: int, patch_stride: int | None, embed_dim: int):
        super().__init__()
        if n_times < patch_size:
            raise ValueError(
                f"n_times={n_times} is shorter than one patch (patch_size={patch_size}); "
                "use longer windows or a smaller patch_size."
            )
        stride = patch_size if patch_stride is None else int(patch_stride)
        if stride < 1:
            raise ValueError(
                f"patch_stride must be a positive integer or None, got {patch_stride!r}."
            )
        if patch_stride is None:
            pad = (patch_size - n_times % patch_size) % patch_size
        else:
            pad = (stride - (n_times - patch_size) % stride) % stride
        self.patch_size = int(patch_size)
        self.patch_stride = stride
        self.pad = int(pad)
        self.n_times = int(n_times)
        self.n_patches = (n_times + pad - patch_size) // stride + 1
        self.proj = nn.Conv2d(1, embed_dim, (1, patch_size), stride=(1, stride))

    def n_patches_for(self, n_times: int) -> int:
        """Number of patches an input of ``n_times`` samples gives (0 if too short)."""
        padded = n_times + self.pad
        if padded < self.patch_size:
            return 0
        return (padded - self.patch_size) // self.patch_stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_patches = self.n_patches_for(x.shape[-1])
        if n_patches != self.n_patches:
            raise ValueError(
                f"An input of {x.shape[-1]} samples gives {n_patches} patches, but the model "
                f"was built for n_times={self.n_times} ({self.n_patches} patches of "
                f"{self.patch_size} samples, stride {self.patch_stride}). Crop or pad the "
                "windows to n_times, or build the model with the new n_times."
            )
        if self.pad:
            x = F.pad(x, (0, self.pad))
        # (B, C, N, P) -> (B, N, C, P): patches of one time step become rows.
        patches = x.unfold(-1, self.patch_size, self.patch_stride)[:, :, :n_patches]
        patches = patches.transpose(1, 2)
        weight = self.proj.weight.reshape(self.proj.out_channels, self.patch_size)
        return F.linear(patches, weight, self.proj.bias)


class _EEGTransformer(nn.Module):
    """EEGPT's encoder (the released ``target_encoder``).

    Input ``(batch, n_chans, n_times)`` and channel ids ``(n_chans,)`` or
    ``(1, n_chans)``; output ``z`` of shape ``(batch, n_patches, embed_num,
    embed_dim)``: the layer-normalised summary tokens of every time patch.
    All patches of all windows are one batch of ``batch * n_patches``
    sequences of ``n_chans + embed_num`` tokens; in eval mode without
    autograd they go through the blocks ``inference_chunk_tokens`` tokens at
    a time.
    """

    def __init__(
        self,
        n_chans,
        n_times,
        patch_size,
        patch_stride,
        embed_num,
        embed_dim,
        depth,
        num_heads,
        mlp_ratio,
        drop_prob,
        attn_drop_rate,
        drop_path_rate,
        init_std,
        qkv_bias,
        patch_module,
        norm_layer,
        layer_norm_eps,
    ):
        super().__init__()
        self.n_chans = int(n_chans)
        self.embed_num = int(embed_num)
        self.embed_dim = int(embed_dim)
        self.init_std = float(init_std)
        make_norm = norm_layer or (lambda d: nn.LayerNorm(d, eps=layer_norm_eps))
        self.summary_token = nn.Parameter(torch.zeros(1, embed_num, embed_dim))
        self.patch_embed = (patch_module or _PatchEmbed)(
            n_times=n_times, patch_size=patch_size, patch_stride=patch_stride, embed_dim=embed_dim
        )
        self.chan_embed = nn.Embedding(max(_N_VOCAB, self.n_chans), embed_dim)
        # Stochastic depth rising linearly over the blocks (python floats, so the
        # model can be built on the meta device).
        drop_path = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            TransformerBlock(
                embed_dim,
                num_heads,
                int(embed_dim * mlp_ratio),
                qkv_bias=bool(qkv_bias),
                drop=drop_prob,
                attn_drop=attn_drop_rate,
                mlp_hidden_drop=drop_prob,
                drop_path=dp,
                norm_eps=layer_norm_eps,
                norm_layer=norm_layer,
            )
            for dp in drop_path
        )
        self.norm = make_norm(embed_dim)
        # Eval/inference only: the last block computes its residual updates for
        # the summary rows alone (the only rows read after it).
        self.summary_only_last_block = True
        self._init_weights()

    #: Eval mode: tokens per group of sequences sent through the blocks at once.
    inference_chunk_tokens = 4096

    @property
    def n_patches(self) -> int:
        return self.patch_embed.n_patches

    @torch.no_grad()
    def _init_weights(self):
        std = self.init_std
        nn.init.trunc_normal_(self.summary_token, std=std, a=-2.0, b=2.0)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(module.weight, std=std, a=-2.0, b=2.0)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                if module.weight is not None:
                    nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
        for i, block in enumerate(self.blocks, start=1):
            block.attn.proj.weight.div_(math.sqrt(2.0 * i))
            block.mlp.fc2.weight.div_(math.sqrt(2.0 * i))

    def forward(self, x: torch.Tensor, chans_id: torch.Tensor) -> torch.Tensor:
        B, C, _ = x.shape
        if C != self.n_chans:
            raise ValueError(
                f"The encoder expects {self.n_chans} channels, got {C}; build the model "
                "with the input's n_chans / chs_info."
            )
        seq, N = self._sequences(x, chans_id)  # (B*N, C+E, D)
        D, E = self.embed_dim, self.embed_num
        if self.training or self._records_graph(seq, self.blocks):
            # One pass: with autograd on, every block's activations are kept for
            # the backward pass anyway, so grouping would only add overhead
            # (frozen lower blocks in eval mode under partial fine-tuning).
            summary = self._run_blocks(seq, summary_only_last=self._summary_only_last())
        else:
            # The per-patch sequences are independent: without autograd they go
            # through the blocks a few thousand tokens at a time, so that the
            # activations of all blocks stay in the CPU cache.
            rows = max(1, self.inference_chunk_tokens // seq.shape[1])
            summary = torch.cat(
                [
                    self._run_blocks(part, self._summary_only_last())
                    for part in seq.split(rows)
                ]
            )
        return self.norm(summary).reshape(B, N, E, D)

    @staticmethod
    def _records_graph(seq: torch.Tensor, blocks) -> bool:
        """Whether autograd records the pass of ``seq`` through ``blocks``
        (then it goes in one pass: every activation is kept anyway); frozen
        blocks on an input without gradient record nothing, even with
        gradients enabled (the lower blocks under partial fine-tuning)."""
        if not torch.is_grad_enabled():
            return False
        return seq.requires_grad or any(p.requires_grad for p in blocks.parameters())

    def _run_chunked(self, seq: torch.Tensor, stop: int) -> torch.Tensor:
        """All rows of ``seq`` after blocks ``0 .. stop - 1``, a few thousand
        tokens at a time (the per-patch sequences are independent)."""
        rows = max(1, self.inference_chunk_tokens // seq.shape[1])
        parts = []
        for part in seq.split(rows):
            for block in self.blocks[:stop]:
                part = block(part)
            parts.append(part)
        return torch.cat(parts)

    def _summary_only_last(self) -> bool:
        """Whether the last block may compute only the summary rows
        (:func:`_summary_rows_of_block`): the other rows of its output feed
        nothing. Exact when that block is in eval mode, or in training mode
        without attention dropout and drop path (the path applies the
        projection's and the MLP's dropout to the rows it computes)."""
        if not self.summary_only_last_block:
            return False
        last = self.blocks[-1]
        if not last.training:
            return True
        return last.attn.attn_drop == 0 and isinstance(last.drop_path, nn.Identity)

    def _sequences(self, x: torch.Tensor, chans_id: torch.Tensor):
        """The blocks' input: one sequence of channel tokens + summary tokens
        per window and patch, ``(batch * n_patches, n_chans + embed_num,
        embed_dim)`` (``len(chans_id) + embed_num`` tokens when one channel
        meets several ids), and ``n_patches``."""
        B = x.shape[0]
        tokens = self.patch_embed(x)  # (B, N, C, D)
        N, D, E = tokens.shape[1], self.embed_dim, self.embed_num
        # With one channel and several ids (a projection to n_chans_target=1),
        # the sum broadcasts: that channel once per id, as in the reference.
        tokens = tokens + self.chan_embed(chans_id.reshape(-1)).to(tokens.dtype)
        summary = self.summary_token.to(tokens.dtype).expand(B * N, E, D)
        return torch.cat((tokens.reshape(B * N, tokens.shape[2], D), summary), dim=1), N

    def _run_blocks(self, seq: torch.Tensor, summary_only_last: bool, start: int = 0) -> torch.Tensor:
        """Summary rows ``(n_seq, embed_num, embed_dim)`` after blocks
        ``start`` onwards."""
        E, depth = self.embed_num, len(self.blocks)
        for i in range(start, depth):
            block = self.blocks[i]
            if summary_only_last and i == depth - 1:
                return _summary_rows_of_block(block, seq, E)
            seq = block(seq)
        return seq[:, -E:]


def _summary_rows_of_block(block: TransformerBlock, x: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Last ``n_rows`` tokens of ``block(x)``, computing only what they need.

    Keys and values come from every token; queries, the output projection,
    the residuals and the MLP only for the last ``n_rows`` tokens. Same
    result as ``block(x)[:, -n_rows:]`` in eval mode, and in training mode
    when the block has no attention dropout and no drop path (the dropout of
    the projection and of the MLP applies to the rows computed here).
    """
    attn = block.attn
    Bp, T, _ = x.shape
    H, hd = attn.num_heads, attn.head_dim
    qkv = attn._qkv(block.norm1(x)).reshape(Bp, T, 3, H, hd)
    q = qkv[:, -n_rows:, 0].transpose(1, 2)  # (B', H, E, hd)
    k = qkv[:, :, 1].transpose(1, 2)  # (B', H, T, hd)
    v = qkv[:, :, 2].transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v)
    out = out.transpose(1, 2).reshape(Bp, n_rows, H * hd)
    rows = x[:, -n_rows:] + attn.proj_drop(attn.proj(out))
    return rows + block.mlp(block.norm2(rows))


# --------------------------------------------------------------------------- model


def _names_of(chs_info) -> list[str]:
    names = []
    for i, ch in enumerate(chs_info):
        if isinstance(ch, str):
            names.append(ch)
        elif isinstance(ch, Mapping) and "ch_name" in ch:
            names.append(str(ch["ch_name"]))
        else:
            raise TypeError(
                f"chs_info[{i}] must be a dict with a 'ch_name' entry (mne.Info['chs'] "
                f"items) or a channel name, got {type(ch).__name__}."
            )
    return names


class EEGPT(HubMixin, nn.Module):
    """EEGPT encoder with an optional channel projection and linear-probe head.

    Every channel's signal is cut into time patches of ``patch_size`` samples;
    each (patch, channel) becomes a token ``Embed(patch) + chan_embed[id]``
    where the channel embedding row is chosen by the channel's **name** in
    EEGPT's 62-name vocabulary. For every time patch separately, its channel
    tokens plus ``embed_num`` learned summary tokens go through ``depth``
    pre-norm transformer blocks (attention across channels only, never across
    time); the layer-normalised summary tokens ``z`` are the output.

    Parameters
    ----------
    n_outputs : int | None
        Number of outputs of the linear-probe head. Required unless
        ``return_encoder_output=True``.
    n_chans : int | None
        Number of input EEG channels (inferred from ``chs_info``).
    chs_info : list of dict | None
        Per-channel information, ``mne.Info["chs"]``-like; only
        ``"ch_name"`` is read (plain name strings are accepted too). With
        ``chan_proj_type="none"`` the names choose the channel-embedding rows.
    n_times : int | None
        Samples per window; required (the patching is fixed at construction).
    input_window_seconds : float | None
        Window length in seconds (with ``sfreq``, gives ``n_times``).
    sfreq : float | None
        Sampling rate in Hz. Stored, never used: the released weights expect
        256 Hz inputs in millivolts, average-referenced.
    patch_size : int
        Samples per patch (64 = 250 ms at 256 Hz for the released weights).
    patch_stride : int | None
        Samples between patch starts. The default 32 gives overlapping
        patches; the pretraining used non-overlapping patches (``64`` or
        ``None``), which halves the work. No weight shape depends on it.
    embed_num : int
        Number of summary tokens E per patch.
    embed_dim : int
        Token width D.
    depth : int
        Number of transformer blocks.
    num_heads : int
        Attention heads.
    mlp_ratio : float
        MLP hidden width as a multiple of ``embed_dim``.
    drop_prob : float
        Dropout inside the MLP and after the attention projection.
    attn_drop_rate : float
        Dropout on the attention weights.
    drop_path_rate : float
        Stochastic depth, increasing linearly from 0 to this over the blocks.
    init_std : float
        Standard deviation of the truncated-normal weight initialisation.
    qkv_bias : bool
        Bias on the query/key/value projection.
    patch_module : type | None
        Patch-embedding class, a subclass of this module's ``_PatchEmbed``
        (called with ``n_times``, ``patch_size``, ``patch_stride``,
        ``embed_dim``); default ``_PatchEmbed``.
    norm_layer : type | None
        Normalisation class, called as ``norm_layer(embed_dim)``; default
        :class:`torch.nn.LayerNorm` with ``eps=layer_norm_eps``.
    layer_norm_eps : float
        LayerNorm epsilon of the default norm layer.
    return_encoder_output : bool
        If True, ``forward`` returns ``z`` and the head is an identity. As in
        the reference, ``forward`` keeps returning ``z`` after
        :meth:`reset_head` as long as this attribute is True.
    chan_proj_type : {"conv1d_constraint", "linear", "none"}
        How input channels reach the encoder. ``"conv1d_constraint"``: a
        learned 1x1 convolution to ``n_chans_target`` channels with max-norm
        ``chan_conv_max_norm`` (the original probes' ``chan_conv``);
        ``"linear"``: an unconstrained linear map; both feed the encoder the
        19 standard 10-20 channel ids whatever the input names.
        ``"none"``: channels go in as they are, with ids looked up by name
        (this is how the released ``braindecode/eegpt-pretrained`` is used).
    n_chans_target : int
        Channels after the projection; must be 19 (the standard 10-20 set of
        the original probes) when projecting, or 1: as in the reference, the
        single projected channel then becomes 19 tokens per patch, one under
        each of the 19 channel embeddings.
    chan_conv_max_norm : float
        Max L2 norm of each output channel's weights of the convolutional
        projection.
    final_layer : type | None
        If given, the head is ``Sequential(Flatten(1), final_layer())``
        (instantiated without arguments) instead of the linear probe.

    Attributes
    ----------
    chans_id : torch.Tensor of int64
        Persistent buffer of channel-embedding rows: shape ``(1, 19)`` when
        projecting, ``(1, n_chans)`` with ``chs_info`` and no projection,
        ``(n_chans,)`` (positions) without ``chs_info``.
    target_encoder : nn.Module
        The encoder whose weights were released.
    n_patches : int
        Patches per window.
    lora_target_modules : tuple of str
        Default LoRA targets (module-name suffixes): ``attn.qkv``,
        ``attn.proj``, ``mlp.fc1``, ``mlp.fc2`` of every block of the target
        encoder.
    blocks, layer_id, forward_until, forward_from, set_grad_checkpointing
        The fine-tuning members of the encoder protocol
        (``skeegfm.models._protocol``): the blocks are
        ``target_encoder.blocks``; layer 0 is the channel projection, the
        patch and channel embeddings and the summary tokens.

    Raises
    ------
    ValueError
        If ``n_chans`` or ``n_times`` cannot be inferred, ``n_times <
        patch_size``, ``num_heads`` does not divide ``embed_dim``, a channel
        name is not in the vocabulary (the message lists the unknown names and
        the accepted ones), two names denote the same electrode, more than 62
        channels go in without projection, ``n_chans_target`` other than 19
        or 1 with a projection, ``n_outputs`` is missing
        for the head, or ``final_layer`` is combined with
        ``return_encoder_output=True``.
    TypeError
        If ``patch_module`` is not a subclass of ``_PatchEmbed``.

    Notes
    -----
    Channel names are matched differently from the reference implementation,
    which upper-cases a name, strips trailing dots and, when the result is not
    in the vocabulary, uses the embedding row of the channel's *position*:

    - an unknown channel name is an error here, never replaced by the
      channel's position (which silently selects an unrelated embedding);
    - names are normalised further (an ``"EEG "`` prefix, a reference suffix
      such as ``"-REF"``, the old names T3/T4/T5/T6), so ``"T3"`` takes
      T7's row where the reference takes the row of its position;
    - two names of the same electrode (``"Fp1"`` and ``"FP1."``) are an
      error; the reference gives both the same row.

    For the same reason :meth:`from_pretrained` never reads ``chans_id``
    from a file: it follows from ``chs_info`` (``load_state_dict`` does load
    it).

    Construction errors where the reference implementation (braindecode's
    ``EEGPT``) builds a model that fails only later, or not at all:

    - ``num_heads`` not dividing ``embed_dim``: the reference builds a
      ``qkv`` of ``3 * embed_dim`` rows and fails at the first call when it
      splits them into heads.
    - ``n_chans_target`` other than 19 or 1 with a projection: the reference
      adds the 19 standard channel embeddings to the tokens of
      ``n_chans_target`` channels, which fails at the first call (for 1 it
      broadcasts; see ``n_chans_target``).
    - more than 62 channels without projection: the reference enlarges the
      channel embedding, which the released weights no longer fit.
    - ``n_outputs`` missing for the default head: the reference fails while
      building the probe, with a less direct message.

    In eval mode two shortcuts give the reference's outputs with less work:
    the last block computes its residual updates for the summary tokens only
    (the only tokens read after it), and the per-patch sequences go through
    the blocks in groups of about ``target_encoder.inference_chunk_tokens``
    tokens (4096), so that the activations stay in the CPU cache (1.2x at
    batch 32 on a 2-core CPU; see ``benchmarks/bench_eegpt.py``).

    References
    ----------
    .. [1] Wang, G., Liu, W., He, Y., Xu, C., Ma, L. and Li, H. (2024). EEGPT:
           Pretrained transformer for universal and reliable representation of
           EEG signals. NeurIPS 37, 39249-39280.
    """

    _head_prefixes: tuple[str, ...] = ("final_layer.", "chan_proj.")
    _config_absent_defaults: dict = {"chan_proj_type": "none"}
    _pretraining_only_prefixes: tuple[str, ...] = _PRETRAINING_PREFIXES
    _state_dict_roots = ("target_encoder", "chans_id", "chan_proj")

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        patch_size=64,
        patch_stride=32,
        embed_num=4,
        embed_dim=512,
        depth=8,
        num_heads=8,
        mlp_ratio=4.0,
        drop_prob=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.0,
        init_std=0.02,
        qkv_bias=True,
        patch_module=None,
        norm_layer=None,
        layer_norm_eps=1e-6,
        return_encoder_output=False,
        chan_proj_type="conv1d_constraint",
        n_chans_target=19,
        chan_conv_max_norm=1.0,
        final_layer=None,
    ):
        super().__init__()
        params = resolve_signal_params(
            n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        )
        self.n_outputs = params["n_outputs"]
        self.n_chans = params["n_chans"]
        self.chs_info = params["chs_info"]
        self.n_times = params["n_times"]
        self.input_window_seconds = params["input_window_seconds"]
        self.sfreq = params["sfreq"]
        if self.n_chans is None:
            raise ValueError("EEGPT needs n_chans (or chs_info) to be given.")
        if self.n_times is None:
            raise ValueError(
                "EEGPT needs n_times (or input_window_seconds and sfreq): the patching "
                "is fixed at construction."
            )
        if chan_proj_type not in _CHAN_PROJ_TYPES:
            raise ValueError(
                f"chan_proj_type must be one of {_CHAN_PROJ_TYPES}, got {chan_proj_type!r}."
            )
        if patch_module is not None and not (
            isinstance(patch_module, type) and issubclass(patch_module, _PatchEmbed)
        ):
            raise TypeError(
                "patch_module must be None or a subclass of skeegfm.models.eegpt._PatchEmbed, "
                f"got {patch_module!r}."
            )
        if final_layer is not None and return_encoder_output:
            raise ValueError(
                "final_layer and return_encoder_output=True exclude each other: the encoder "
                "output is returned without any head."
            )
        if int(num_heads) < 1 or int(embed_dim) % int(num_heads):
            raise ValueError(
                f"num_heads={num_heads} must be a positive divisor of embed_dim={embed_dim}: "
                "each head takes embed_dim / num_heads features (the released weights use "
                "embed_dim=512, num_heads=8)."
            )
        if not return_encoder_output and final_layer is None and self.n_outputs is None:
            raise ValueError(
                "EEGPT needs n_outputs for its linear-probe head; pass n_outputs or "
                "return_encoder_output=True."
            )
        self.chan_proj_type = chan_proj_type
        self.return_encoder_output = bool(return_encoder_output)
        self.embed_num = int(embed_num)
        self.embed_dim = int(embed_dim)

        if chan_proj_type == "none":
            encoder_chans = self.n_chans
            if encoder_chans > _N_VOCAB:
                raise ValueError(
                    f"EEGPT has {_N_VOCAB} channel embeddings but {encoder_chans} channels "
                    "were given with chan_proj_type='none'; select at most 62 channels of "
                    "the vocabulary or project them with chan_proj_type='conv1d_constraint'."
                )
            if self.chs_info is not None:
                ids = torch.tensor([eegpt_channel_ids(_names_of(self.chs_info))])
            else:
                if encoder_chans != _N_VOCAB:
                    warnings.warn(
                        f"No chs_info given: the {encoder_chans} channels take the first "
                        f"{encoder_chans} channel embeddings ({EEGPT_CHANNELS[0]}...) by "
                        "position. Pass chs_info so that channels are matched by name.",
                        UserWarning,
                        stacklevel=3,  # the caller of EEGPT(...), past HubMixin's wrapper
                    )
                ids = torch.arange(encoder_chans)
            self.chan_proj = nn.Identity()
        else:
            if n_chans_target not in (1, len(STANDARD_19_CHANNELS)):
                raise ValueError(
                    f"n_chans_target={n_chans_target}: the channel projection feeds EEGPT the "
                    f"{len(STANDARD_19_CHANNELS)} standard 10-20 channels "
                    f"{list(STANDARD_19_CHANNELS)}, so n_chans_target must be 19 (or 1: one "
                    "projected channel, given each of the 19 channel embeddings)."
                )
            encoder_chans = int(n_chans_target)
            ids = torch.tensor([eegpt_channel_ids(STANDARD_19_CHANNELS)])
            if chan_proj_type == "conv1d_constraint":
                self.chan_proj = _ChannelConvProjection(
                    self.n_chans, encoder_chans, chan_conv_max_norm
                )
            else:
                self.chan_proj = _ChannelLinearProjection(self.n_chans, encoder_chans)
        self.register_buffer("chans_id", ids.to(torch.int64), persistent=True)

        self.target_encoder = _EEGTransformer(
            n_chans=encoder_chans,
            n_times=self.n_times,
            patch_size=patch_size,
            patch_stride=patch_stride,
            embed_num=embed_num,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            drop_prob=drop_prob,
            attn_drop_rate=attn_drop_rate,
            drop_path_rate=drop_path_rate,
            init_std=init_std,
            qkv_bias=qkv_bias,
            patch_module=patch_module,
            norm_layer=norm_layer,
            layer_norm_eps=layer_norm_eps,
        )
        self.n_patches = self.target_encoder.n_patches
        if self.return_encoder_output:
            self.final_layer = nn.Identity()
        elif final_layer is not None:
            self.final_layer = nn.Sequential(nn.Flatten(1), final_layer())
        else:
            self.final_layer = _LinearConstraintProbe(
                self.n_patches, self.embed_num, self.embed_dim, int(self.n_outputs)
            )

    # ------------------------------------------------------------------ API

    def forward(self, x: torch.Tensor, return_features: bool = False):
        """Encode EEG windows.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_chans, n_times)
            EEG windows in the unit the weights expect (millivolts for the
            released ones). Inputs slightly longer than ``n_times`` that give
            the same number of patches are accepted (trailing samples unused).
        return_features : bool
            If True, return ``{"features": z.flatten(2), "cls_token": None}``
            with features of shape ``(batch, n_patches, embed_num * embed_dim)``.

        Returns
        -------
        out : torch.Tensor | dict
            Logits ``(batch, n_outputs)``, or ``z`` of shape ``(batch,
            n_patches, embed_num, embed_dim)`` when
            ``return_encoder_output=True``, or the features dict.

        Raises
        ------
        ValueError
            If ``x`` is not 3-D, has a different channel count, or its length
            gives a different number of patches than the model was built for.
        """
        if x.ndim != 3:
            raise ValueError(
                f"EEGPT expects x of shape (batch, n_chans, n_times), got {tuple(x.shape)}."
            )
        if x.shape[1] != self.n_chans:
            raise ValueError(
                f"x has {x.shape[1]} channels but the model was built for n_chans="
                f"{self.n_chans}."
            )
        z = self.target_encoder(self.chan_proj(x), self.chans_id)
        if return_features:
            return {"features": z.flatten(2), "cls_token": None}
        if self.return_encoder_output:
            return z
        return self.final_layer(z)

    def get_probe_params(self) -> dict:
        """Geometry needed to build a ``_LinearConstraintProbe`` for this encoder.

        Returns
        -------
        params : dict
            ``{"n_patches": N, "embed_num": E, "embed_dim": D}``.
        """
        return {
            "n_patches": self.n_patches,
            "embed_num": self.embed_num,
            "embed_dim": self.embed_dim,
        }

    def reset_head(self, n_outputs: int) -> None:
        """Replace the head by a fresh two-stage linear probe with ``n_outputs``.

        Like the reference, ``return_encoder_output`` is left as it is: a
        model built with ``return_encoder_output=True`` keeps returning ``z``
        from ``forward`` (the new head is in its state_dict; set
        ``return_encoder_output = False`` to get its logits).

        Parameters
        ----------
        n_outputs : int
            Number of outputs of the new head.
        """
        ref = self.target_encoder.summary_token
        head = _LinearConstraintProbe(
            self.n_patches, self.embed_num, self.embed_dim, int(n_outputs)
        )
        self.final_layer = head.to(device=ref.device, dtype=ref.dtype)
        self.n_outputs = int(n_outputs)
        config = getattr(self, "_hub_config", None)
        if config is not None:
            config["n_outputs"] = int(n_outputs)
            config["final_layer"] = None

    # ------------------------------------------------------------ Hub hooks

    @classmethod
    def _remap_state_dict(cls, state_dict) -> dict:
        """Drop ``chans_id``: it is recomputed from the channel names, and a
        stored one of another montage must not overwrite it."""
        return {k: v for k, v in state_dict.items() if k != "chans_id"}

    @classmethod
    def _config_from_state_dict(cls, state_dict) -> dict:
        """EEGPT encoder from tensor shapes, for files without config.json (the
        authors' released large4E: the 62-channel vocabulary, 4 s at 256 Hz).

        Raises
        ------
        ValueError
            If a needed tensor is absent.
        """
        summary = _need(state_dict, "target_encoder.summary_token", "EEGPT summary tokens")
        patch = _need(state_dict, "target_encoder.patch_embed.proj.weight", "EEGPT patch size")
        depth = _count_indexed(state_dict, "target_encoder.blocks.")
        fc1 = _need(state_dict, "target_encoder.blocks.0.mlp.fc1.weight", "EEGPT MLP width")
        embed_dim = summary[-1]
        return dict(
            n_chans=len(EEGPT_CHANNELS),
            chs_info=[{"ch_name": name} for name in EEGPT_CHANNELS],
            n_times=1024,  # 4 s at 256 Hz: the pretraining window of BINE022/EEGPT
            sfreq=256.0,
            embed_num=summary[1],
            embed_dim=embed_dim,
            depth=depth,
            patch_size=patch[-1],
            mlp_ratio=fc1[0] / embed_dim,
            qkv_bias="target_encoder.blocks.0.attn.qkv.bias" in state_dict,
            chan_proj_type="none",
            return_encoder_output=True,
        )

    @classmethod
    def _original_hooks(cls):
        """Recogniser and converter of the authors' original checkpoints."""
        return _looks_like_original, convert_eegpt_checkpoint

    # -- encoder protocol (skeegfm.models._protocol): fine-tuning and pooling --

    #: Parts no pretrained checkpoint provides: the head and the channel
    #: projection (which runs before the encoder).
    head_prefixes = _head_prefixes
    #: Default LoRA targets (``tuning="lora"`` of
    #: :class:`skeegfm.classifiers.EEGPTClassifier`): in every block of the
    #: target encoder, the packed query/key/value projection, the attention
    #: output projection and the two MLP layers, matched as suffixes of the
    #: module names.
    lora_target_modules = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")
    #: Poolings of :meth:`pool` (first: the default): the summary tokens
    #: averaged over patches, or every patch's summary tokens.
    poolings = ("mean", "flatten")
    grad_checkpointing = False

    @property
    def blocks(self) -> nn.ModuleList:
        """The transformer blocks of the target encoder."""
        return self.target_encoder.blocks

    def layer_id(self, name: str) -> int | None:
        """BEiT layer number of a parameter: 0 for the channel projection,
        patch and channel embeddings and summary tokens, ``i + 1`` for block
        ``i``, ``depth + 1`` for the final norm and the head."""
        return layer_id_of(
            name,
            "target_encoder.blocks.",
            len(self.target_encoder.blocks),
            stem=(
                "chan_proj.",
                "target_encoder.patch_embed.",
                "target_encoder.chan_embed.",
                "target_encoder.summary_token",
            ),
            unused=self._pretraining_only_prefixes,
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Summary tokens of every patch, ``(batch, n_patches, embed_num * embed_dim)``."""
        return self(x, return_features=True)["features"]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_outputs)`` from :meth:`forward_features` (or ``z``)."""
        return self.final_layer(features)

    def forward_until(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Sequences entering block ``cut`` (0-based), kept as ``(batch,
        n_patches, n_chans + embed_num, embed_dim)``."""
        enc = self.target_encoder
        seq, N = enc._sequences(self.chan_proj(x), self.chans_id)
        if enc.training or enc._records_graph(seq, enc.blocks[:cut]):
            for block in enc.blocks[:cut]:
                seq = block(seq)
        else:
            seq = enc._run_chunked(seq, cut)
        return seq.reshape(x.shape[0], N, seq.shape[1], seq.shape[2])

    def forward_from(self, h: torch.Tensor, cut: int) -> torch.Tensor:
        """Logits from ``h = forward_until(x, cut)``: blocks ``cut`` onwards,
        the final norm and the head, as :meth:`forward` runs them."""
        enc = self.target_encoder
        B, N, T, D = h.shape
        summary_only_last = enc._summary_only_last()
        seq = h.reshape(B * N, T, D)
        if enc.training or enc._records_graph(seq, enc.blocks[cut:]):
            # Training: one pass over all sequences (the chunks, made for
            # cache locality in inference, only add autograd overhead).
            summary = enc._run_blocks(seq, summary_only_last, start=cut)
        else:
            rows = max(1, enc.inference_chunk_tokens // T)
            summary = torch.cat(
                [enc._run_blocks(part, summary_only_last, start=cut) for part in seq.split(rows)]
            )
        z = enc.norm(summary).reshape(B, N, enc.embed_num, D)
        return self.forward_head(z)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass (see
        :func:`~skeegfm.models._protocol.checkpoint_blocks`)."""
        checkpoint_blocks(self.target_encoder.blocks, enable)
        self.grad_checkpointing = bool(enable)

    def reset_classifier(self, n_outputs: int) -> None:
        """A fresh linear probe with ``n_outputs`` outputs and a freshly drawn
        channel projection (of ``chan_proj_type``); unlike :meth:`reset_head`,
        ``forward`` then returns the logits (``return_encoder_output=False``)."""
        self.reset_head(n_outputs)
        self.return_encoder_output = False
        config = self._hub_config
        config["return_encoder_output"] = False
        if self.chan_proj_type == "conv1d_constraint":
            self.chan_proj = _ChannelConvProjection(
                self.n_chans, config["n_chans_target"], config["chan_conv_max_norm"]
            )
        elif self.chan_proj_type == "linear":
            self.chan_proj = _ChannelLinearProjection(self.n_chans, config["n_chans_target"])

    @classmethod
    def input_config(cls, ch_names, n_times: int, sfreq: float, *, head: bool) -> dict:
        """The encoder is built for the input: its channels (embedding rows
        chosen by name; no channel projection unless asked for) and its
        window (the patching is fixed at construction)."""
        return {
            "chs_info": [{"ch_name": name} for name in ch_names],
            "n_times": int(n_times),
            "sfreq": float(sfreq),
            "chan_proj_type": "none",
        }

    @property
    def fixed_n_times(self) -> int | None:
        """The window length the patching was built for."""
        return int(self.n_times)

    @property
    def fixed_ch_names(self) -> list | None:
        """The input channels the model was built for, by name."""
        return None if self.chs_info is None else _names_of(self.chs_info)

    def pool(self, features: dict, pooling: str) -> torch.Tensor:
        """One vector per epoch from ``forward(x, return_features=True)``."""
        tokens = features["features"]  # (batch, n_patches, embed_num * embed_dim)
        if pooling == "mean":
            return tokens.mean(dim=1)
        return tokens.flatten(1)

    def pooled_size(self, pooling: str, n_chans: int) -> int:
        """Size of :meth:`pool`'s vectors."""
        size = self.embed_num * self.embed_dim
        return size * (self.n_patches if pooling == "flatten" else 1)


#: The default LoRA targets (``EEGPT.lora_target_modules``).
LORA_TARGET_MODULES = EEGPT.lora_target_modules


# --------------------------------------------------------------------------- checkpoints


def _inner_state_dict(ckpt: Mapping) -> Mapping:
    inner = ckpt.get("state_dict") if isinstance(ckpt, Mapping) else None
    return inner if isinstance(inner, Mapping) else ckpt


def _looks_like_original(state_dict) -> bool:
    """True for the authors' layout: a Lightning checkpoint (or its
    ``state_dict``) with ``target_encoder.*`` keys and no ``chans_id``, or
    with the pretraining modules / original probe names alongside."""
    if not isinstance(state_dict, Mapping):
        return False
    sd = _inner_state_dict(state_dict)
    keys = [k for k in sd if isinstance(k, str)]
    if not any(k.startswith("target_encoder.") for k in keys):
        return False
    extras = _PRETRAINING_PREFIXES + tuple(k.split(".")[0] + "." for k in _ORIGINAL_PROBE_NAMES)
    return "chans_id" not in sd or any(k.startswith(extras) for k in keys)


def convert_eegpt_checkpoint(path_or_dict, *, trust_checkpoint=False) -> dict:
    """Convert the authors' EEGPT checkpoint to this module's key names.

    Keeps ``target_encoder.*`` unchanged (the released encoder), renames the
    original linear-probe modules when present (``chan_conv`` ->
    ``chan_proj.proj``, ``linear_probe1/2`` -> ``final_layer.probe1/2``,
    weights to ``...parametrizations.weight.original``), and drops the
    pretraining-only ``encoder.*``, ``predictor.*`` and ``reconstructor.*``.
    ``chans_id`` is not produced: it is computed from the channel names.

    Parameters
    ----------
    path_or_dict : str | os.PathLike | dict
        Path of ``eegpt_mcae_58chs_4s_large4E.ckpt`` (or a probe checkpoint),
        a loaded Lightning checkpoint (a dict with ``"state_dict"``), or a
        state_dict.
    trust_checkpoint : bool
        Default False: the file is read with ``torch.load(weights_only=True)``
        and an allow-list of harmless types, which covers the authors'
        released formats. True unpickles a file holding other Python objects,
        which runs any code it carries (only for files you trust).

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        Weights in :class:`EEGPT`'s key names.

    Raises
    ------
    ValueError
        If the checkpoint holds no ``target_encoder.*`` key.
    UntrustedCheckpointError
        (a ``ValueError``) If the file holds Python objects beyond the
        allow-list and ``trust_checkpoint`` is False.

    Warns
    -----
    UserWarning
        When keys other than the pretraining modules are dropped (listed), or
        when a file is fully unpickled (``trust_checkpoint=True``).
    """
    sd = _inner_state_dict(load_checkpoint_file(path_or_dict, trust_checkpoint=trust_checkpoint))
    out, dropped = {}, []
    for key, value in sd.items():
        if key.startswith("target_encoder."):
            out[key] = value
        elif key in _ORIGINAL_PROBE_NAMES:
            out[_ORIGINAL_PROBE_NAMES[key]] = value
        elif key.startswith(("chan_proj.", "final_layer.")):
            out[key] = value
        elif not key.startswith(_PRETRAINING_PREFIXES) and key != "chans_id":
            dropped.append(key)
    if not any(k.startswith("target_encoder.") for k in out):
        raise ValueError(
            "No 'target_encoder.*' key in this checkpoint: it is not an EEGPT checkpoint "
            f"(first keys: {list(sd)[:5]})."
        )
    if dropped:
        warnings.warn(
            f"convert_eegpt_checkpoint dropped {len(dropped)} key(s) it does not know: "
            f"{dropped[:20]}",
            UserWarning,
            stacklevel=2,
        )
    return out


# --------------------------------------------------------------------------
# Pretrained records
# --------------------------------------------------------------------------

register_pretrained(
    ModelRecord(
        name="eegpt",
        model="EEGPT",
        window="keep",
        display_name="EEGPT",
        default_benchmark=True,
        hub_id="braindecode/eegpt-pretrained",
        preset=dict(
            patch_size=64,
            embed_num=4,
            embed_dim=512,
            depth=8,
            num_heads=8,
            mlp_ratio=4.0,
            chan_proj_type="none",
        ),
        sfreq=256.0,
        patch_size=64,
        min_n_times=64,
        unit="millivolts",
        scale_from_volts=1e3,
        reference="average",
        ch_names=EEGPT_CHANNELS,
        channel_matching="by name",
        emb_dim=4 * 512,
        n_params=25_287_168,
        licence=UNKNOWN_LICENCE,
        paper=(
            "Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal and "
            "reliable representation of EEG signals. NeurIPS 37."
        ),
        sources={
            "hub_id": "pushed by braindecode's scripts/push_eegpt_to_hub.py from the authors' "
                "checkpoint (BINE022/EEGPT)",
            "sfreq": "authors' repository (BINE022/EEGPT): pretrained at 256 Hz on 1024-sample "
                "windows (the uploaded config's 250 Hz is not the pretraining rate)",
            "patch_size": "authors' repository and paper: 64-sample patches (250 ms at 256 Hz)",
            "min_n_times": "reference implementation (braindecode EEGPT): n_times >= patch_size "
                "at construction",
            "unit": "authors' pretraining code (BINE022/EEGPT): millivolts",
            "scale_from_volts": "follows from unit: 1 V = 1e3 mV",
            "reference": "authors' pretraining code (BINE022/EEGPT): average reference",
            "ch_names": "authors' repository (BINE022/EEGPT): CHANNEL_DICT, 62 names",
            "channel_matching": "paper and authors' repository: a learned embedding per channel "
                "name",
            "emb_dim": "released large4E encoder: embed_num x embed_dim = 4 x 512 per patch",
            "n_params": "counted on the released target encoder (62-row channel embedding)",
            "preset": "authors' released large4E encoder (BINE022/EEGPT); chan_proj_type 'none' "
                "as in braindecode's upload",
            "licence": "not stated by the authors' repository; see the Hub model card",
            "paper": "Wang et al., NeurIPS 2024",
            "window": "reference implementation (braindecode EEGPT): pads the window once to "
                "the patch count fixed at construction",
        },  # fmt: skip
    )
)
