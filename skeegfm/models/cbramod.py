"""CBraMod: the criss-cross brain foundation model (Wang et al., ICLR 2025).

CBraMod [1]_ is an EEG foundation model pretrained by masked patch
reconstruction on the Temple University Hospital EEG corpus (TUEG). Each
channel is cut into 1-s patches of 200 samples (at 200 Hz); every
``(channel, patch)`` pair becomes one token, embedded with the
time-frequency patch embedding
(:class:`~skeegfm.models._layers.TimeFrequencyEmbedding`: convolutions along
the patch plus a projection of its spectrum) and an "asymmetric conditional
positional encoding" (a depth-wise convolution over the ``(channel, patch)``
grid, so any number of channels works). A stack of criss-cross transformer
layers follows: in each, half of the features attend across channels (for
each patch index) and the other half across patches (for each channel).

- Paper: Wang, J., Zhao, S., Luo, Z., Zhou, Y., Jiang, H., Li, S., Li, T.,
  & Pan, G. (2025). CBraMod: A Criss-Cross Brain Foundation Model for EEG
  Decoding. ICLR 2025. arXiv:2412.07236.
- Authors' code and weights: github.com/wjq-learning/CBraMod
  (``pretrained_weights/pretrained_weights.pth``), re-hosted in the reference
  layout (braindecode's ``CBraMod``) as ``braindecode/cbramod-pretrained`` on
  the Hugging Face Hub. The state_dict layout here is that layout, so the
  re-hosted weights load with ``strict=True``; the authors' file uses the
  same module names without the head (:func:`convert_cbramod_checkpoint`).

The record of the released checkpoint (Hub id, sampling rate, unit,
channels, window rule) is registered at the end of this file.
"""

from __future__ import annotations

import numbers
import os
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from ._hub import HubMixin
from ._layers import TimeFrequencyEmbedding, as_conv_config, resolve_signal_params
from ._loading import load_checkpoint_file
from ._pretrained import TUEG_SOURCES, UNKNOWN_LICENCE, ModelRecord, register_pretrained
from ._protocol import checkpoint_blocks, layer_id_of
from ._vocabulary import TUEG_19_CHANNELS

__all__ = ["CBraMod", "convert_cbramod_checkpoint"]

_PRETRAINED_SFREQ = 200.0
#: The reference's spectral projection reads a fixed 101 rfft bins: patches of
#: 200 samples (1 s at 200 Hz, the released weights) or 201.
_PATCH_SIZE = 200
_N_BINS = _PATCH_SIZE // 2 + 1
_DEFAULT_CONV = ((25, 49, 25, 24, (5, 25)), (25, 3, 1, 1, (5, 25)), (25, 3, 1, 1, (5, 25)))
#: Tokens per chunk of the fused feed-forward layers (eval fast path).
_FF_CHUNK_ROWS = 4096
#: Kernel and padding of the depth-wise positional convolution over (channels, patches).
_POS_KERNEL, _POS_PADDING = (19, 7), (9, 3)



# --------------------------------------------------------------------------- modules
class _PatchEmbedding(TimeFrequencyEmbedding):
    """Time-frequency embedding plus the mask token and CBraMod's depth-wise
    positional convolution over the ``(channel, patch)`` grid (added
    residually)."""

    def __init__(self, patch_size, conv_config, drop_prob):
        super().__init__(patch_size, conv_config, nn.GELU, spectral_dropout=drop_prob)
        # Register in the reference's order (mask_encoding, positional_encoding,
        # proj_in, spectral_proj) so that state_dict() lists the same keys in
        # the same order.
        proj_in, spectral_proj = self.proj_in, self.spectral_proj
        del self.proj_in, self.spectral_proj
        dim = self.emb_dim
        self.positional_encoding = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=_POS_KERNEL, padding=_POS_PADDING, groups=dim)
        )
        self.proj_in, self.spectral_proj = proj_in, spectral_proj
        # Frozen (requires_grad=False), as in the reference: a zero patch.
        self.mask_encoding = nn.Parameter(torch.zeros(patch_size), requires_grad=False)

    def forward(self, patches: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, N, P)`` patches (and an optional ``(B, C, N)`` mask, 1 =
        masked) -> ``(B, C, N, D)`` tokens."""
        if mask is not None:
            fill = self.mask_encoding.to(patches.dtype)
            patches = torch.where((mask == 1).unsqueeze(-1), fill, patches)
        emb = self.embed(patches)
        # (B, C, N, D) viewed as (B, D, C, N) is channels-last: no copy.
        grid = emb.permute(0, 3, 1, 2)
        return emb + self.positional_encoding(grid).permute(0, 2, 3, 1).to(emb.dtype)


class _PackedAttention(nn.Module):
    """Multi-head self-attention with :class:`torch.nn.MultiheadAttention`'s
    parameters (``in_proj_weight``, ``in_proj_bias``, ``out_proj``), computed
    through :func:`torch.nn.functional.scaled_dot_product_attention`.

    Input and output ``(..., L, dim)``: attention runs along ``L`` for every
    leading index.
    """

    def __init__(self, dim, num_heads, dropout=0.0):
        super().__init__()
        self.dim = int(dim)
        self.num_heads = int(num_heads)
        self.head_dim = self.dim // self.num_heads
        self.dropout = float(dropout)
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        # nn.MultiheadAttention's initialisation
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _attend(self, x: torch.Tensor, in_proj) -> torch.Tensor:
        """Attention before ``out_proj``: ``(..., L, dim)`` -> ``(..., L, dim)``."""
        *lead, L, E = x.shape
        qkv = in_proj(x).reshape(-1, L, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0
        )
        return out.transpose(1, 2).reshape(*lead, L, E)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self._attend(x, self._in_proj))

    def _in_proj(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.in_proj_weight, self.in_proj_bias)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, dropout={self.dropout}"


class _CrissCrossLayer(nn.Module):
    """Pre-norm criss-cross transformer layer on ``(B, C, N, D)`` tokens.

    ``x + dropout(SA(norm1(x)))`` then ``x + FF(norm2(x))``. SA splits the
    features in halves: the first attends across channels for each patch
    index (``self_attn_s``), the second across patches for each channel
    (``self_attn_t``); the two outputs are concatenated. FF is ``linear1 ->
    activation -> dropout -> linear2 -> dropout``.
    """

    def __init__(self, d_model, nhead, dim_feedforward, drop_prob, activation):
        super().__init__()
        half = d_model // 2
        self.self_attn_s = _PackedAttention(half, nhead // 2, drop_prob)
        self.self_attn_t = _PackedAttention(half, nhead // 2, drop_prob)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(drop_prob)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model, eps=1e-5)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-5)
        self.dropout1 = nn.Dropout(drop_prob)
        self.dropout2 = nn.Dropout(drop_prob)
        self.activation = activation()

    def _attention(self, h: torch.Tensor) -> torch.Tensor:
        half = h.shape[-1] // 2
        spatial = self.self_attn_s(h[..., :half].transpose(1, 2)).transpose(1, 2)
        temporal = self.self_attn_t(h[..., half:])
        return torch.cat((spatial, temporal), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout1(self._attention(self.norm1(x)))
        h = self.dropout(self.activation(self.linear1(self.norm2(x))))
        return x + self.dropout2(self.linear2(h))

    def _optimize_for_inference(self) -> None:
        """Fusions of the frozen eval-mode copy that
        :func:`~skeegfm.models._fast.optimize_for_inference` makes (it calls
        this hook after replacing the Linear layers by pre-packed ones).

        The in-projections are pre-packed with their biases; the two output
        projections become one block-diagonal matmul over the concatenated
        attention outputs with the residual addition fused into it; an exact
        GELU is fused into ``linear1`` and the second residual addition into
        ``linear2``. Parameters and state_dict are unchanged (the packed
        copies are plain attributes, not modules).
        """
        from ._fast import PackedLinear

        def packed(weight, bias, **kwargs):
            layer = SimpleNamespace(
                in_features=weight.shape[1], out_features=weight.shape[0], weight=weight, bias=bias
            )
            return PackedLinear(layer, **kwargs)

        attn_s, attn_t = self.self_attn_s, self.self_attn_t
        for attn in (attn_s, attn_t):
            object.__setattr__(attn, "_packed_in_proj", packed(attn.in_proj_weight, attn.in_proj_bias))
        with torch.no_grad():
            half, dim = attn_s.dim, 2 * attn_s.dim
            w_s, w_t = attn_s.out_proj.weight.detach(), attn_t.out_proj.weight.detach()
            weight = w_s.new_zeros(dim, dim)
            weight[:half, :half] = w_s
            weight[half:, half:] = w_t
            bias = torch.cat((attn_s.out_proj.bias.detach(), attn_t.out_proj.bias.detach()))
        object.__setattr__(self, "_packed_out_proj", packed(weight, bias))
        if type(self.activation) is nn.GELU and self.activation.approximate == "none":
            self.linear1 = packed(self.linear1.weight, self.linear1.bias, fused_activation="gelu")
            self.activation = nn.Identity()
        if not isinstance(self.linear2, PackedLinear):
            self.linear2 = packed(self.linear2.weight, self.linear2.bias)
        self.__class__ = _FusedCrissCrossLayer


class _FusedCrissCrossLayer(_CrissCrossLayer):
    """:class:`_CrissCrossLayer` after its inference fusions (eval mode only;
    produced by :meth:`_CrissCrossLayer._optimize_for_inference`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        attn_s, attn_t = self.self_attn_s, self.self_attn_t
        h = self.norm1(x)
        half = h.shape[-1] // 2
        spatial = attn_s._attend(h[..., :half].transpose(1, 2), attn_s._packed_in_proj)
        temporal = attn_t._attend(h[..., half:], attn_t._packed_in_proj)
        heads = torch.cat((spatial.transpose(1, 2), temporal), dim=-1)
        x = self._packed_out_proj.forward_add(heads, x)
        rows = x.reshape(-1, x.shape[-1])
        if rows.shape[0] <= _FF_CHUNK_ROWS:
            return self._feed_forward(rows).reshape(x.shape)
        # The feed-forward layer is per token: in chunks, its 4x wider hidden
        # activations stay in the CPU cache between the two matrix products.
        return torch.cat([self._feed_forward(c) for c in rows.split(_FF_CHUNK_ROWS)]).reshape(x.shape)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2.forward_add(self.activation(self.linear1(self.norm2(x))), x)


class _Encoder(nn.Module):
    """The stack of criss-cross layers (``encoder.layers.{i}``; no final norm)."""

    def __init__(self, n_layer, **layer_kwargs):
        super().__init__()
        self.layers = nn.ModuleList(_CrissCrossLayer(**layer_kwargs) for _ in range(n_layer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


# --------------------------------------------------------------------------- model
def _positive_int(name, value, minimum=1):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


class CBraMod(HubMixin, nn.Module):
    r"""CBraMod encoder with an optional linear classification head [1]_.

    Each channel of the input ``(batch, n_chans, n_times)`` is cut into
    patches of ``patch_size`` samples; every ``(channel, patch)`` token is
    embedded with the time-frequency patch embedding plus a depth-wise
    positional convolution over the ``(channel, patch)`` grid (kernel 19 x
    7), processed by ``n_layer`` criss-cross transformer layers (half of the
    features attend across channels, half across patches) and projected to
    ``emb_dim`` features by ``proj_out``. The head flattens the features of
    every channel and patch into one linear layer.

    Parameters
    ----------
    n_outputs : int | None
        Number of outputs (classes) of the head. Required unless
        ``return_encoder_output=True``.
    n_chans : int | None
        Number of EEG channels. Any number works for the encoder (there is
        no channel vocabulary: channel order matters only through the
        positional convolution); the head needs it. The released weights
        were pretrained on 19 channels of the 10-20 montage.
    chs_info : list of dict | None
        Per-channel information (``mne.Info["chs"]``-like).
    n_times : int | None
        Samples per window, a multiple of ``patch_size``; the head needs it.
    input_window_seconds : float | None
        Window length in seconds.
    sfreq : float | None
        Sampling frequency in Hz. The released weights expect 200 Hz; another
        value only warns (nothing is resampled).
    patch_size : int
        Samples per patch: 200 (1 s at 200 Hz, the released weights) or 201,
        the two sizes with the 101 spectral bins the reference reads.
    dim_feedforward : int
        Hidden width of the feed-forward layers.
    n_layer : int
        Number of criss-cross transformer layers.
    nhead : int
        Attention heads: the spatial and the temporal attention get ``nhead
        // 2`` each. An odd value (as the reference) leaves one head unused,
        with a warning.
    activation : type[nn.Module]
        Activation of the feed-forward layers.
    emb_dim : int
        Width of the output features (``proj_out``).
    channels_kernel_stride_padding_norm : sequence of tuple
        Time-branch convolutions of the patch embedding, each
        ``(out_channels, kernel, stride, padding, (groups, group_channels))``.
        The token width ``d_model`` follows from it (25 x 8 = 200 by default).
    drop_prob : float
        Dropout of the spectral projection, of the attention weights, after
        each attention and in the feed-forward layers.
    return_encoder_output : bool
        If True, there is no head (``final_layer`` is an identity) and
        ``forward`` returns the features ``(batch, n_chans, n_patches,
        emb_dim)``.

    Attributes
    ----------
    d_model : int
        Token width inside the encoder.
    emb_dim : int
        Width of the output features.
    n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        The (inferred) signal parameters.
    lora_target_modules : str
        Default LoRA targets (a regular expression over module names): the
        attention output projections ``self_attn_s.out_proj``,
        ``self_attn_t.out_proj`` and the feed-forward ``linear1``, ``linear2``
        of every criss-cross layer (the in-projections are packed parameters).
    blocks, layer_id, forward_until, forward_from, set_grad_checkpointing
        The fine-tuning members of the encoder protocol
        (``skeegfm.models._protocol``): the blocks are ``encoder.layers``;
        layer 0 is the patch embedding.

    Raises
    ------
    ValueError
        At construction, where the reference would only fail later (in
        ``forward`` or when loading weights): ``patch_size`` other than 200
        or 201; ``n_times`` not a positive multiple of ``patch_size``;
        ``d_model`` odd; an invalid convolution configuration.
        Where the reference fails at construction too: ``nhead < 2`` or
        ``nhead // 2`` not dividing ``d_model // 2``; the head without
        ``n_outputs``; signal parameters that disagree.
        Deliberately stricter than the reference, which builds and runs
        these: the head (``return_encoder_output=False``) without ``n_chans``
        or ``n_times`` (the reference falls back to a lazily sized layer);
        ``drop_prob`` outside ``[0, 1)`` (the reference accepts 1.0, which
        only a model in eval mode survives); ``dim_feedforward`` or
        ``emb_dim`` below 1 (zero-width layers).

    Warns
    -----
    UserWarning
        If ``sfreq`` is given and is not 200 Hz, or ``nhead`` is odd.

    Notes
    -----
    The model does not rescale its input: the released weights were
    pretrained on EEG in microvolts divided by 100, band-passed 0.3-75 Hz.
    In eval mode the attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention` on
    :class:`torch.nn.MultiheadAttention`'s packed ``in_proj_weight``; the
    outputs equal the reference's to float32 round-off.

    References
    ----------
    .. [1] Wang, J., Zhao, S., Luo, Z., Zhou, Y., Jiang, H., Li, S., Li, T.,
           & Pan, G. (2025). CBraMod: A Criss-Cross Brain Foundation Model for
           EEG Decoding. ICLR 2025. arXiv:2412.07236.

    Examples
    --------
    >>> import torch
    >>> model = CBraMod(n_outputs=2, n_chans=19, n_times=800).eval()
    >>> model(torch.zeros(1, 19, 800)).shape
    torch.Size([1, 2])
    >>> encoder = CBraMod(return_encoder_output=True).eval()
    >>> encoder(torch.zeros(1, 22, 1000)).shape
    torch.Size([1, 22, 5, 200])
    """

    _head_prefixes = ("final_layer.",)
    _pretraining_only_prefixes: tuple = ()
    _config_absent_defaults: dict = {}
    #: Top-level state_dict names, to recognise a bare state_dict in our layout.
    _state_dict_roots = ("patch_embedding", "encoder", "proj_out", "final_layer")

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        patch_size=200,
        dim_feedforward=800,
        n_layer=12,
        nhead=8,
        activation=nn.GELU,
        emb_dim=200,
        channels_kernel_stride_padding_norm=_DEFAULT_CONV,
        drop_prob=0.1,
        return_encoder_output=False,
    ):
        super().__init__()
        params = resolve_signal_params(n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq)
        for name, value in params.items():
            setattr(self, name, value)
        if (
            isinstance(patch_size, bool)
            or not isinstance(patch_size, numbers.Real)
            or int(patch_size) != patch_size
            or int(patch_size) // 2 + 1 != _N_BINS
        ):
            raise ValueError(
                f"patch_size={patch_size!r}, but CBraMod's spectral projection reads "
                f"{_N_BINS} rfft bins, those of {_PATCH_SIZE}-sample patches (1 s at 200 Hz, "
                f"the released weights) or {_PATCH_SIZE + 1}-sample ones: use "
                f"patch_size={_PATCH_SIZE}."
            )
        patch_size = int(patch_size)
        if self.n_times is not None and (self.n_times < 1 or self.n_times % patch_size):
            raise ValueError(
                f"n_times={self.n_times} is not a positive multiple of patch_size={patch_size}: "
                "CBraMod cuts windows into whole patches; use windows of whole seconds at 200 Hz "
                f"(e.g. n_times={max(1, round(self.n_times / patch_size)) * patch_size})."
            )
        if not 0.0 <= float(drop_prob) < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}.")
        n_layer = _positive_int("n_layer", n_layer, minimum=0)
        dim_feedforward = _positive_int("dim_feedforward", dim_feedforward)
        emb_dim = _positive_int("emb_dim", emb_dim)
        nhead = _positive_int("nhead", nhead, minimum=2)
        if sfreq is not None and float(sfreq) != _PRETRAINED_SFREQ:
            warnings.warn(
                f"CBraMod was pretrained at {_PRETRAINED_SFREQ:g} Hz but sfreq={sfreq}; "
                "the model does not resample, so resample your data to 200 Hz.",
                UserWarning,
                stacklevel=3,
            )
        conv_config = as_conv_config(channels_kernel_stride_padding_norm)

        self.patch_size = patch_size
        self.emb_dim = emb_dim
        self.return_encoder_output = bool(return_encoder_output)
        self.patch_embedding = _PatchEmbedding(patch_size, conv_config, float(drop_prob))
        self.d_model = d_model = self.patch_embedding.emb_dim
        if d_model % 2 or (d_model // 2) % (nhead // 2):
            raise ValueError(
                f"nhead={nhead} does not fit d_model={d_model}: the criss-cross attention gives "
                "half of the features and nhead // 2 heads to each direction, so d_model must be "
                "even and nhead // 2 must divide d_model // 2."
            )
        if nhead % 2:
            warnings.warn(
                f"nhead={nhead} is odd: the spatial and the temporal attention get "
                f"nhead // 2 = {nhead // 2} heads each (as in the reference implementation); "
                f"pass nhead={nhead - 1} to say so.",
                UserWarning,
                stacklevel=3,
            )
        self.encoder = _Encoder(
            n_layer,
            d_model=d_model,
            nhead=nhead,
            dim_feedforward=dim_feedforward,
            drop_prob=float(drop_prob),
            activation=activation,
        )
        self.proj_out = nn.Sequential(nn.Linear(d_model, emb_dim))
        self._init_weights()
        self.final_layer = nn.Identity() if self.return_encoder_output else self._build_head(self.n_outputs)

    def _init_weights(self):
        # As the reference: Kaiming-normal (fan-out) weights of every Linear.
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    # -- head ---------------------------------------------------------------
    def _build_head(self, n_outputs):
        missing = [name for name in ("n_chans", "n_times") if getattr(self, name) is None]
        if n_outputs is None:
            missing.insert(0, "n_outputs")
        if missing:
            raise ValueError(
                f"CBraMod's classification head needs {', '.join(missing)}; pass them, "
                "or use return_encoder_output=True for the encoder alone."
            )
        n_in = int(self.n_chans) * (int(self.n_times) // self.patch_size) * self.emb_dim
        head = nn.Sequential(nn.Flatten(), nn.Linear(n_in, int(n_outputs)))
        nn.init.kaiming_normal_(head[1].weight, mode="fan_out", nonlinearity="relu")
        return head

    def reset_head(self, n_outputs: int) -> None:
        """Replace ``final_layer`` with a freshly initialised head.

        Also switches an encoder-only model (``return_encoder_output=True``)
        to logits, in the attributes and in the recorded configuration, as
        the reference's ``reset_head`` does. The new head is on the device
        and dtype of the model.

        Parameters
        ----------
        n_outputs : int
            Number of outputs (classes) of the new head.

        Raises
        ------
        ValueError
            If ``n_outputs`` is not a positive integer, or ``n_chans`` /
            ``n_times`` are unknown.
        """
        if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
            raise ValueError(f"n_outputs must be a positive integer, got {n_outputs!r}.")
        ref = self.proj_out[0].weight
        self.final_layer = self._build_head(n_outputs).to(device=ref.device, dtype=ref.dtype)
        self.n_outputs = n_outputs
        self.return_encoder_output = False
        config = getattr(self, "_hub_config", None)
        if config is not None:
            config["n_outputs"] = n_outputs
            config["return_encoder_output"] = False

    # -- forward ------------------------------------------------------------
    def _patchify(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"CBraMod expects a torch.Tensor of shape (batch, n_chans, n_times), got "
                f"{type(x).__name__}."
            )
        if x.ndim != 3:
            raise ValueError(
                f"CBraMod expects input of shape (batch, n_chans, n_times), got a {x.ndim}-D "
                f"tensor of shape {tuple(x.shape)}."
            )
        if not x.is_floating_point():
            raise TypeError(f"CBraMod expects a floating-point input, got {x.dtype}.")
        B, C, T = x.shape
        P = self.patch_size
        if C < 1 or T < P or T % P:
            raise ValueError(
                f"Input of shape {tuple(x.shape)}: CBraMod needs at least one channel and a "
                f"length that is a positive multiple of patch_size={P} (whole seconds at "
                "200 Hz); crop or pad the windows."
            )
        return x.reshape(B, C, T // P, P)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, return_features: bool = False):
        """Encode EEG windows.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_chans, n_times)
            EEG at 200 Hz in the scale the weights were trained on
            (microvolts / 100 for the released weights); ``n_times`` a
            multiple of 200.
        mask : torch.Tensor of shape (batch, n_chans, n_patches) | None
            Entries equal to 1 replace that patch by ``mask_encoding`` (zeros)
            before the embedding, as in pretraining.
        return_features : bool
            If True, return ``{"features": (batch, n_chans, n_patches,
            emb_dim), "cls_token": None}`` (CBraMod has no class token).

        Returns
        -------
        out : torch.Tensor | dict
            Logits ``(batch, n_outputs)``; with ``return_encoder_output=True``
            the features ``(batch, n_chans, n_patches, emb_dim)``; with
            ``return_features`` the dict above.

        Raises
        ------
        TypeError
            If ``x`` is not a floating-point tensor.
        ValueError
            If ``x`` is not 3-D, its length is not a positive multiple of
            ``patch_size``, ``mask`` has the wrong shape, or (for the logits)
            its channels or patches differ from those the head was built for.
        """
        patches = self._patchify(x)
        if mask is not None and tuple(mask.shape) != tuple(patches.shape[:3]):
            raise ValueError(
                f"mask must have shape (batch, n_chans, n_patches) = {tuple(patches.shape[:3])}, "
                f"got {tuple(mask.shape)}."
            )
        feats = self.proj_out(self.encoder(self.patch_embedding(patches, mask)))
        if return_features:
            return {"features": feats, "cls_token": None}
        if self.return_encoder_output:
            return self.final_layer(feats)
        _, C, N, _ = feats.shape
        expected = (self.n_chans, self.n_times // self.patch_size)
        if (C, N) != expected:
            raise ValueError(
                f"The head was built for {expected[0]} channels x {expected[1]} patches "
                f"(n_times={self.n_times}); got {C} channels x {N} patches. Use "
                "return_features=True, return_encoder_output=True, or a model built for this shape."
            )
        return self.final_layer(feats)

    # -- checkpoints ----------------------------------------------------------
    @classmethod
    def _remap_state_dict(cls, state_dict):
        """Strip a leading ``module.`` (a checkpoint saved from
        ``torch.nn.DataParallel``); other keys are unchanged."""
        return OrderedDict((re.sub(r"^module\.", "", k), v) for k, v in state_dict.items())

    @classmethod
    def _config_from_state_dict(cls, state_dict):
        """Constructor arguments inferred from the tensor shapes (files without
        config.json, e.g. the authors' checkpoint); see :func:`_infer_cbramod`."""
        return _infer_cbramod(state_dict)

    @classmethod
    def _original_hooks(cls):
        """Recogniser and converter of the authors' original checkpoints."""
        return _looks_like_original, convert_cbramod_checkpoint

    # -- encoder protocol (skeegfm.models._protocol): fine-tuning and pooling --

    #: Parts no pretrained checkpoint provides: the head.
    head_prefixes = _head_prefixes
    #: Default LoRA targets (``tuning="lora"`` of
    #: :class:`skeegfm.classifiers.CBraModClassifier`): the linear layers inside
    #: the criss-cross blocks (the attention output projections and the
    #: feed-forward layers). The in-projections are packed parameters
    #: (``in_proj_weight``), not ``nn.Linear`` modules, so LoRA cannot wrap them.
    lora_target_modules = r"encoder\.layers\.\d+\.(self_attn_[st]\.out_proj|linear1|linear2)"
    #: Poolings of :meth:`pool` (first: the default): the mean of the tokens
    #: over channels and patches, or the mean over patches per channel.
    poolings = ("mean", "channel")
    grad_checkpointing = False

    @property
    def blocks(self) -> nn.ModuleList:
        """The criss-cross layers (``encoder.layers``)."""
        return self.encoder.layers

    def layer_id(self, name: str) -> int | None:
        """BEiT layer number of a parameter: 0 for the patch embedding, ``i +
        1`` for criss-cross layer ``i``, ``n_layer + 1`` for ``proj_out`` and
        the head."""
        return layer_id_of(
            name,
            "encoder.layers.",
            len(self.encoder.layers),
            stem=("patch_embedding.",),
            unused=self._pretraining_only_prefixes,
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens after ``proj_out``, ``(batch, n_chans, n_patches, emb_dim)``."""
        return self(x, return_features=True)["features"]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_outputs)`` from :meth:`forward_features`."""
        return self.final_layer(features)

    def forward_until(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Tokens ``(batch, n_chans, n_patches, d_model)`` entering layer ``cut`` (0-based)."""
        h = self.patch_embedding(self._patchify(x), None)
        for layer in self.encoder.layers[:cut]:
            h = layer(h)
        return h

    def forward_from(self, h: torch.Tensor, cut: int) -> torch.Tensor:
        """Logits from ``h = forward_until(x, cut)``: layers ``cut`` onwards,
        ``proj_out`` and the head."""
        for layer in self.encoder.layers[cut:]:
            h = layer(h)
        return self.forward_head(self.proj_out(h))

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each layer's activations in the backward pass (see
        :func:`~skeegfm.models._protocol.checkpoint_blocks`)."""
        checkpoint_blocks(self.encoder.layers, enable)
        self.grad_checkpointing = bool(enable)

    def reset_classifier(self, n_outputs: int) -> None:
        """A fresh head with ``n_outputs`` outputs (:meth:`reset_head`)."""
        self.reset_head(n_outputs)

    @classmethod
    def input_config(cls, ch_names, n_times: int, sfreq: float, *, head: bool) -> dict:
        """The head's input size follows the channels and the window: with a
        head, the model is built for them; the encoder alone takes any."""
        if not head:
            return {}
        return {"chs_info": [{"ch_name": name} for name in ch_names], "n_times": int(n_times)}

    @property
    def fixed_n_times(self) -> int | None:
        """``n_times`` when the model has a head (its size follows it), else None."""
        return None if self.return_encoder_output else int(self.n_times)

    @property
    def fixed_ch_names(self) -> list | None:
        """None: channels are positional (the record's channels)."""
        return None

    def pool(self, features: dict, pooling: str) -> torch.Tensor:
        """One vector per epoch from ``forward(x, return_features=True)``."""
        tokens = features["features"]  # (batch, n_chans, n_patches, emb_dim)
        if pooling == "mean":
            return tokens.mean(dim=(1, 2))
        return tokens.mean(dim=2).flatten(1)

    def pooled_size(self, pooling: str, n_chans: int) -> int:
        """Size of :meth:`pool`'s vectors for inputs of ``n_chans`` channels."""
        return self.emb_dim * (n_chans if pooling == "channel" else 1)


#: The default LoRA targets (``CBraMod.lora_target_modules``).
LORA_TARGET_MODULES = CBraMod.lora_target_modules


# --------------------------------------------------------------------------- original checkpoints
_ENCODER_PREFIXES = ("patch_embedding.", "encoder.", "proj_out.")


def _inner(checkpoint):
    if not isinstance(checkpoint, Mapping):
        raise TypeError(
            f"Expected a checkpoint dict or a path to one, got {type(checkpoint).__name__}."
        )
    for wrapper in ("state_dict", "model", "model_state_dict"):
        inner = checkpoint.get(wrapper)
        if isinstance(inner, Mapping):
            return dict(inner)
    return dict(checkpoint)


def _looks_like_original(state_dict) -> bool:
    """Whether ``state_dict`` is the authors' CBraMod checkpoint.

    True for criss-cross keys (``encoder.layers.{i}.self_attn_s.*``),
    possibly behind a ``module.`` prefix or inside ``{"state_dict": ...}``,
    with a ``module.`` prefix or without a head (the authors' pretrained file
    has none).
    """
    try:
        keys = [k for k in _inner(state_dict) if isinstance(k, str)]
    except TypeError:
        return False
    if not any(re.match(r"^(module\.)?encoder\.layers\.\d+\.self_attn_s\.", k) for k in keys):
        return False
    return any(k.startswith("module.") for k in keys) or not any(
        k.startswith("final_layer.") for k in keys
    )


def convert_cbramod_checkpoint(path_or_dict, *, trust_checkpoint=False) -> dict:
    """Convert the authors' CBraMod checkpoint to this module's state_dict.

    The authors' ``pretrained_weights.pth`` (github.com/wjq-learning/CBraMod)
    is a state_dict with the same module names as :class:`CBraMod`
    (``patch_embedding.*``, ``encoder.layers.*``, ``proj_out.*``) and no
    head; a leading ``module.`` (DataParallel) is removed and a dict nesting
    the weights under ``"state_dict"``, ``"model"`` or
    ``"model_state_dict"`` is unwrapped.

    Parameters
    ----------
    path_or_dict : str | os.PathLike | dict
        The checkpoint file or the already loaded dict.
    trust_checkpoint : bool
        Default False: the file is read with ``torch.load(weights_only=True)``
        and an allow-list of harmless types, which covers the authors'
        released file (a plain state_dict). True unpickles a file holding
        other Python objects, which runs any code it carries (only for files
        you trust).

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The encoder entries, in this module's names (anything else, e.g. a
        head, is left out). Load with ``CBraMod.from_pretrained(path)`` or
        ``model.load_state_dict(sd, strict=False)`` and check that only
        ``final_layer.*`` is missing.

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    TypeError
        If the file does not hold a dict.
    UntrustedCheckpointError
        (a ``ValueError``) If the file holds Python objects beyond the
        allow-list and ``trust_checkpoint`` is False.
    ValueError
        If it holds no CBraMod encoder weights.
    """
    if not isinstance(path_or_dict, (Mapping, str, os.PathLike)):
        raise TypeError(
            "Expected a checkpoint dict or a path to one, got "
            f"{type(path_or_dict).__name__}."
        )
    raw = load_checkpoint_file(path_or_dict, trust_checkpoint=trust_checkpoint)
    state = CBraMod._remap_state_dict(_inner(raw))
    out = OrderedDict(
        (k, v) for k, v in state.items() if isinstance(k, str) and k.startswith(_ENCODER_PREFIXES)
    )
    if not any(k.startswith("encoder.layers.") for k in out):
        seen = sorted({".".join(str(k).split(".")[:2]) for k in state})[:10]
        raise ValueError(
            "No CBraMod encoder weights found (expected keys like 'patch_embedding.*' and "
            f"'encoder.layers.0.self_attn_s.*'); key prefixes seen: {seen}."
        )
    bad = [k for k, v in out.items() if not torch.is_tensor(v)]
    if bad:
        raise TypeError(f"Checkpoint entries {bad[:5]} are not tensors.")
    return out


# --------------------------------------------------------------------------- shape inference
def _count_layers(state_dict, prefix="encoder.layers.") -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for k in state_dict if (m := pattern.match(k))}
    return max(found) + 1 if found else 0


def _shape(state_dict, key, what):
    if key not in state_dict:
        raise ValueError(f"cannot infer the CBraMod {what}: {key!r} is not in the checkpoint.")
    return tuple(state_dict[key].shape)


def _infer_cbramod(state_dict) -> dict:
    """CBraMod constructor arguments from the tensor shapes of ``state_dict``.

    Depth, feed-forward width and ``emb_dim`` are read from the shapes; the
    patch-embedding convolutions must be the reference's (their strides and
    paddings leave no trace in the weights), and ``nhead`` cannot be read
    (8, the released value). The geometry is the pretraining one (19
    channels x 30 s at 200 Hz), encoder only.

    Raises
    ------
    ValueError
        If a needed tensor is absent or the convolutions differ from the
        reference's.
    """
    n_layer = _count_layers(state_dict)
    dim_ff = _shape(state_dict, "encoder.layers.0.linear1.weight", "feed-forward width")[0]
    emb_dim = _shape(state_dict, "proj_out.0.weight", "output width")[0]
    convs = []
    index = 0
    while f"patch_embedding.proj_in.{index}.weight" in state_dict:
        weight = state_dict[f"patch_embedding.proj_in.{index}.weight"]
        convs.append((int(weight.shape[0]), int(weight.shape[-1])))
        index += 3
    if convs != [(c[0], c[1]) for c in _DEFAULT_CONV]:
        raise ValueError(
            f"the patch-embedding convolutions (out_channels, kernel) = {convs} differ from "
            "CBraMod's; load the file with its config.json or pass "
            "channels_kernel_stride_padding_norm."
        )
    return dict(
        n_chans=19,
        n_times=6000,
        sfreq=_PRETRAINED_SFREQ,
        n_layer=n_layer,
        dim_feedforward=dim_ff,
        emb_dim=emb_dim,
        return_encoder_output=True,
    )


# --------------------------------------------------------------------------
# Pretrained records
# --------------------------------------------------------------------------

register_pretrained(
    ModelRecord(
        name="cbramod",
        model="CBraMod",
        window="trim",
        display_name="CBraMod",
        default_benchmark=True,
        hub_id="braindecode/cbramod-pretrained",
        preset=dict(
            patch_size=200,
            dim_feedforward=800,
            n_layer=12,
            nhead=8,
            emb_dim=200,
        ),
        sfreq=_PRETRAINED_SFREQ,
        patch_size=_PATCH_SIZE,
        min_n_times=_PATCH_SIZE,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=200,
        n_params=4_924_000,
        licence=UNKNOWN_LICENCE,
        paper=(
            "Wang, J., Zhao, S., Luo, Z., Zhou, Y., Jiang, H., Li, S., Li, T., & Pan, G. "
            "(2025). CBraMod: A Criss-Cross Brain Foundation Model for EEG Decoding. "
            "ICLR 2025. arXiv:2412.07236."
        ),
        sources=dict(
            TUEG_SOURCES,
            hub_id="braindecode's CBraMod documentation: CBraMod.from_pretrained("
                "'braindecode/cbramod-pretrained', return_encoder_output=True)",
            sfreq="CBraMod paper and the authors' TUEG preprocessing: resampled to 200 Hz",
            unit="the authors' pretraining code divides microvolts by 100",
            patch_size="CBraMod: 1-s patches of 200 samples; the spectral projection reads "
                "101 rfft bins",
            min_n_times="one patch (200 samples); n_times must be a multiple of 200 (the "
                "reference reshapes without padding): the input adapter trims to whole patches",
            ch_names="pretrained on TUEG's 19 channels in CBraMod's order (modern names); "
                "the positional convolution takes any channel count",
            channel_matching="no channel vocabulary: a depth-wise convolution over the "
                "(channel, patch) grid, so channels are positional",
            emb_dim="proj_out: emb_dim = 200 features per (channel, patch) token",
            n_params="skeegfm.models.CBraMod(return_encoder_output=True) (head excluded)",
            preset="the reference's constructor defaults (the released weights need them)",
            licence="not verified: copies of the authors' code (github.com/wjq-learning/"
                "CBraMod) state an MIT licence for the code; the weights' licence: see the "
                "model card",
            paper="Wang et al., ICLR 2025, arXiv:2412.07236",
            window="the reference reshapes into whole patches without padding: the tail after "
                "the last whole patch is dropped",
        ),  # fmt: skip
    )
)
