"""CodeBrain: the EEGSSM backbone of Ma et al. (ICLR 2026).

CodeBrain [1]_ pretrains an EEG encoder in two stages: a "TFDual" tokenizer
that turns EEG patches into discrete temporal and frequency codes (stage 1,
not included), then the *EEGSSM* backbone implemented here (stage 2), trained
to predict the codes of masked patches. The backbone is CBraMod's [2]_
time-frequency patch embedding, a depth-wise convolutional positional encoding
over the (channel, patch) grid, and a stack of WaveNet-style residual blocks,
each mixing a bidirectional multi-scale global convolution (SGConv [3]_,
computed by FFT) with a sliding-window attention through a tanh-sigmoid gate.

The state_dict layout is that of the released Hugging Face checkpoint
(``braindecode/codebrain-pretrained``, converted from the authors'
``YjMajy/CodeBrain`` weights); :meth:`CodeBrain.load_state_dict` also accepts the
authors' original key names. The original code and weights are released by
the authors; see the Hub repository for the licence of the weights.

Additions to the reference implementation: :meth:`CodeBrain.reset_head`, the
encoder-only output (``return_encoder_output=True``), a warning when trailing
samples are trimmed, a clear error for inputs shorter than one patch, float64
and bfloat16 support, and a cached evaluation path (multi-scale kernel
spectra, baked weight norm, folded single-token attention) that computes the
same numbers faster.

References
----------
.. [1] Ma, J., Wu, F., Lin, Q., Xing, Y., Liu, C., Jia, Z., Feng, M. (2026).
       CodeBrain: Bridging decoupled tokenizer and multi-scale architecture for
       EEG foundation model. ICLR. arXiv:2506.09110.
.. [2] Wang, J. et al. (2025). CBraMod: A criss-cross brain foundation model
       for EEG decoding. ICLR.
.. [3] Li, Y., Cai, T., Zhang, Y., Chen, D., Dey, D. (2023). What makes
       convolutional models great on long sequence modeling? ICLR.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ._hub import HubMixin
from ._layers import TimeFrequencyEmbedding, resolve_signal_params
from ._loading import _count_indexed, _need, load_checkpoint_file
from ._pretrained import TUEG_SOURCES, UNKNOWN_LICENCE, ModelRecord, register_pretrained
from ._protocol import checkpoint_blocks, layer_id_of
from ._vocabulary import TUEG_19_CHANNELS

__all__ = ["CodeBrain", "convert_codebrain_checkpoint"]

_SGCONV_CHANNELS = 4  # output channels per input channel of the global convolution
_SGCONV_KERNEL_DIM = 2  # length of the coarsest kernel of each scale
_N_HEADS = 4  # heads of the sliding-window attention



# --------------------------------------------------------------------------- helpers
def _version_key(tensors):
    """Identity of the current values of ``tensors`` (storage and version
    counter), or ``None`` when one of them is an inference tensor (those track
    no version, so nothing built from them is cached)."""
    try:
        return tuple((t.data_ptr(), t._version) for t in tensors)
    except RuntimeError:
        return None


def _fft_dtype(dtype):
    """torch.fft has no CPU half-precision kernels: use float32 for those."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _fast_eval_allowed(module):
    """The cached evaluation path runs in eval mode when no gradient is taken
    (inference mode or ``torch.no_grad``), so it never hides a gradient."""
    return (
        not module.training
        and module.fast_inference
        and (torch.is_inference_mode_enabled() or not torch.is_grad_enabled())
    )


def _bake(build):
    """Run ``build()`` outside inference mode and without autograd, so that the
    cached tensors are ordinary tensors (usable later in training mode)."""
    with torch.inference_mode(False), torch.no_grad():
        return build()


# --------------------------------------------------------------------------- blocks
def _wn_conv1d(in_channels, out_channels, kernel_size=1, padding=0):
    """Weight-normalised ``Conv1d`` (``W = g v / ||v||``, norm over all dims
    but the output one); ``v`` is Kaiming-normal initialised after the
    parametrisation is created, so ``g`` keeps the norms of PyTorch's default
    initialisation."""
    conv = weight_norm(nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding), name="weight", dim=0)
    nn.init.kaiming_normal_(conv.parametrizations.weight.original1)
    return conv


class _WNConv1d(nn.Module):
    """:func:`_wn_conv1d` held as ``.conv``."""

    def __init__(self, in_channels, out_channels, kernel_size=1, padding=0):
        super().__init__()
        self.conv = _wn_conv1d(in_channels, out_channels, kernel_size, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _PlainConv1d(nn.Module):
    """``Conv1d`` held as ``.conv`` (the last conv of ``final_conv``, named
    ``_ZeroConv1d`` in the reference implementation but, there as here, left
    with PyTorch's default initialisation)."""

    def __init__(self, in_channels, out_channels, kernel_size=1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _RMSNorm(nn.Module):
    """``scale * x / (rms(x) + eps)`` over the channel axis of ``(B, C, L)``."""

    def __init__(self, n_channels, eps=1e-8):
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(1, n_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = x.norm(dim=1, keepdim=True) * x.shape[1] ** -0.5
        return self.scale * (x / (rms + self.eps))


class _CodeBrainPatchEmbedding(TimeFrequencyEmbedding):
    """CBraMod's time-frequency embedding plus the mask token and CodeBrain's
    depth-wise convolutional positional encoding (ACPE) over the
    ``(channel, patch)`` grid."""

    def __init__(self, patch_size, conv_config, pos_kernel, spectral_dropout):
        super().__init__(patch_size, conv_config, nn.GELU, spectral_dropout)
        d = self.emb_dim
        # Stored with the embedding width, as in the reference implementation
        # (braindecode), although it replaces raw patches of ``patch_size``
        # samples: masking therefore needs ``emb_dim == patch_size`` (true for
        # the released configuration, 200 and 200).
        self.mask_encoding = nn.Parameter(torch.zeros(d), requires_grad=False)
        kh, kw = pos_kernel
        self.positional_encoding = nn.Sequential(
            nn.Conv2d(d, d, (kh, kw), padding=(kh // 2, kw // 2), groups=d)
        )

    def forward(self, patches: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, S, P)`` patches (and optional ``(B, C, S)`` mask, 1 =
        masked) -> ``(B, C, S, D)`` tokens."""
        if mask is not None:
            if self.mask_encoding.shape[0] != patches.shape[-1]:
                raise ValueError(
                    f"mask: the mask token has {self.mask_encoding.shape[0]} entries (the embedding "
                    f"width, as in the reference implementation) but patches have {patches.shape[-1]} "
                    "samples, so masked patches cannot be replaced by it. Masking needs a model whose "
                    "embedding width equals patch_size (e.g. the released 200 / 200); call without mask."
                )
            fill = self.mask_encoding.to(patches.dtype)
            patches = torch.where((mask == 1).unsqueeze(-1), fill, patches)
        e = self.embed(patches)
        grid = e.permute(0, 3, 1, 2)  # (B, D, C, S)
        return e + self.positional_encoding(grid).permute(0, 2, 3, 1)


class _SGConv(nn.Module):
    """Bidirectional multi-scale global convolution (SGConv), by FFT.

    The kernel of each of the ``n_channels * 2`` directions is the concatenation
    of ``n_scales`` sub-kernels, the ``i``-th one linearly upsampled by
    ``2 ** max(0, i - 1)`` and weighted by ``multiplier ** (n_scales - 1 - i)``;
    it is normalised by its L2 norm (the ``kernel_norm`` buffer, computed on the
    first forward when it was not loaded). Input and output ``(B, H, L)``.
    """

    def __init__(self, d_model, l_max, bidirectional=True, layernorm=False, dropout=0.0):
        super().__init__()
        self.d_model = d_model
        self.bidirectional = bool(bidirectional)
        self.n_scales = 1 + math.ceil(math.log2(l_max / _SGCONV_KERNEL_DIM))
        n_kernels = _SGCONV_CHANNELS * (2 if self.bidirectional else 1)
        self.skip_weight = nn.Parameter(torch.randn(_SGCONV_CHANNELS, d_model))
        self.register_buffer("multiplier", torch.full((1, d_model, 1), 2.0))
        self.register_buffer("kernel_norm", torch.ones(n_kernels, d_model, 1))
        self.register_buffer("kernel_norm_initialized", torch.tensor(False))
        self.kernel_list = nn.ParameterList(
            [nn.Parameter(torch.randn(n_kernels, d_model, _SGCONV_KERNEL_DIM)) for _ in range(self.n_scales)]
        )
        width = _SGCONV_CHANNELS * d_model
        self.dropout = nn.Dropout1d(dropout) if dropout > 0 else nn.Identity()
        self.norm = nn.LayerNorm(width) if layernorm else nn.Identity()
        self.output_linear = nn.Linear(width, d_model)
        self.fast_inference = True
        self._spectra = {}
        self._spectra_key = None

    # -- kernel -------------------------------------------------------------
    def full_kernel(self) -> torch.Tensor:
        """Concatenated multi-scale kernel ``(n_kernels, H, K)``, before the
        normalisation (``K = 2 ** n_scales``)."""
        pieces = []
        for i, sub in enumerate(self.kernel_list):
            k = F.interpolate(sub, scale_factor=2 ** max(0, i - 1), mode="linear", align_corners=False)
            pieces.append(k * self.multiplier ** (self.n_scales - 1 - i))
        return torch.cat(pieces, dim=-1)

    def _ensure_kernel_norm(self):
        """Set ``kernel_norm`` from the current kernel if it was never set.

        Runs outside inference mode and without autograd so the buffer stays an
        ordinary tensor (a model first called under ``torch.inference_mode``
        can still be trained afterwards)."""
        if bool(self.kernel_norm_initialized):
            return

        def build():
            return self.full_kernel().norm(dim=-1, keepdim=True).to(self.kernel_norm.dtype)

        norm = _bake(build)
        with torch.inference_mode(False), torch.no_grad():
            if self.kernel_norm.is_inference() or self.kernel_norm_initialized.is_inference():
                self.kernel_norm = norm.clone()
                self.kernel_norm_initialized = torch.tensor(True, device=norm.device)
            else:
                self.kernel_norm.copy_(norm)
                self.kernel_norm_initialized.fill_(True)

    def conv_kernel(self, length: int, kernel=None) -> torch.Tensor:
        """Normalised kernel laid out for a circular convolution of size
        ``2 * length``: ``(n_channels, H, 2 * length)`` (forward taps first,
        backward taps flipped at the end)."""
        k = self.full_kernel() if kernel is None else kernel
        if k.shape[-1] >= length:
            k = k[..., :length]
        else:
            k = F.pad(k, (0, length - k.shape[-1]))
        k = k / self.kernel_norm
        if not self.bidirectional:
            return F.pad(k, (0, length))
        fwd, bwd = k[:_SGCONV_CHANNELS], k[_SGCONV_CHANNELS:]
        return F.pad(fwd, (0, length)) + F.pad(bwd.flip(-1), (length, 0))

    # -- forward ------------------------------------------------------------
    def _mix(self, y: torch.Tensor) -> torch.Tensor:
        """``(B, 4H, L)`` -> GELU -> dropout -> [LayerNorm] -> linear -> ``(B, H, L)``."""
        y = self.dropout(F.gelu(y))
        return self.output_linear(self.norm(y.transpose(1, 2))).transpose(1, 2)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        B, H, L = u.shape
        self._ensure_kernel_norm()
        k = self.conv_kernel(L)
        dt = _fft_dtype(u.dtype)
        n = 2 * L
        u_f = torch.fft.rfft(u.to(dt), n=n)
        k_f = torch.fft.rfft(k.to(dt), n=n)
        y = torch.fft.irfft(u_f.unsqueeze(1) * k_f, n=n)[..., :L]
        y = y + u.to(dt).unsqueeze(1) * self.skip_weight.to(dt)[None, :, :, None]
        return self._mix(y.reshape(B, _SGCONV_CHANNELS * H, L).to(u.dtype))

    def cached_spectrum(self, length: int, n_fft: int, dtype) -> torch.Tensor:
        """Spectrum ``(n_channels, H, F)`` of the normalised kernel for inputs
        of ``length`` tokens, with the ``skip_weight`` term folded in as a tap
        at lag 0, for a circular convolution of size ``n_fft >= 2 length - 1``.

        Built once per (weights, length) and reused while the kernel
        parameters and buffers keep their version counters."""
        tensors = [*self.kernel_list, self.multiplier, self.kernel_norm, self.skip_weight]
        key = _version_key(tensors)
        if key is None or key != self._spectra_key:
            self._spectra = {}
            self._spectra_key = key
        cache_key = (length, n_fft, dtype)
        spec = self._spectra.get(cache_key)
        if spec is None:

            def build():
                k = self.conv_kernel(length).to(dtype)  # (4, H, 2L)
                taps = k.new_zeros(k.shape[0], k.shape[1], n_fft)
                taps[..., :length] = k[..., :length]
                if self.bidirectional:
                    # backward taps live at lags -1 ... -(L-1), i.e. n_fft - 1 ... n_fft - L + 1
                    taps[..., n_fft - length + 1 :] = k[..., length + 1 :]
                taps[..., 0] += self.skip_weight.to(dtype)
                return torch.fft.rfft(taps, n=n_fft)

            spec = _bake(build)
            if key is not None:
                self._spectra[cache_key] = spec
        return spec


class _SlidingWindowAttention(nn.Module):
    """Multi-head self-attention restricted to ``|i - j| <= window // 2``.

    Parameter names follow :class:`torch.nn.MultiheadAttention`
    (``in_proj_weight``, ``in_proj_bias``, ``out_proj``); the attention itself
    runs through :func:`torch.nn.functional.scaled_dot_product_attention`.
    Input and output ``(B, L, E)``.
    """

    def __init__(self, embed_dim, num_heads, window, dropout=0.0):
        super().__init__()
        if window < 1 or window % 2 == 0:
            raise ValueError(f"swa_window_size must be a positive odd integer, got {window}.")
        if embed_dim % num_heads:
            raise ValueError(
                f"The sliding-window attention has width 2 * res_channels = {embed_dim}, which its "
                f"{num_heads} heads must divide: pass an even res_channels."
            )
        self.embed_dim, self.num_heads, self.window = embed_dim, num_heads, int(window)
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, E = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(B, L, self.num_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        pos = torch.arange(L, device=x.device)
        band = (pos[:, None] - pos[None, :]).abs() <= self.window // 2
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=band, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out_proj(out.transpose(1, 2).reshape(B, L, E))


class _ResidualBlock(nn.Module):
    """One EEGSSM residual block: RMSNorm'd residual path, SGConv + sliding
    window attention joined by a tanh-sigmoid gate, separate skip output."""

    def __init__(self, res_channels, skip_channels, l_max, bidirectional, layernorm, dropout, window):
        super().__init__()
        self.res_channels = res_channels
        self.rms_norm = _RMSNorm(res_channels)
        self.conv_layer = _WNConv1d(res_channels, 2 * res_channels, kernel_size=3, padding=1)
        self.sgconv = _SGConv(2 * res_channels, l_max, bidirectional, layernorm, dropout)
        self.attention = _SlidingWindowAttention(2 * res_channels, _N_HEADS, window, dropout)
        self.res_conv = _wn_conv1d(res_channels, res_channels)
        self.skip_conv = _wn_conv1d(res_channels, skip_channels)
        self.fast_inference = True
        self._folded = None
        self._folded_key = None

    def forward(self, x: torch.Tensor, orig: torch.Tensor):
        """``x, orig: (B, R, L)`` -> ``(residual (B, R, L), skip (B, S, L))``."""
        xn = self.rms_norm(x)
        u = F.gelu(self.conv_layer(x + orig))
        s = self.sgconv(u)
        c = s + self.attention(s.transpose(1, 2)).transpose(1, 2)
        R = self.res_channels
        g = torch.tanh(c[:, :R]) * torch.sigmoid(c[:, R:])
        return (xn + self.res_conv(g)) * math.sqrt(0.5), self.skip_conv(g)

    # -- cached evaluation path (tokens last-but-one: (B, L, C)) ---------------
    def folded_weights(self):
        """Eval-time weights with the weight norm baked in, and, for a window of
        one token (softmax over a single key is 1, so attention is
        ``out_proj(W_v s + b_v)``), ``s + attention(s)`` folded into the
        SGConv output projection. Rebuilt when a parameter changes."""
        tensors = [p for _, p in self.named_parameters()]
        key = _version_key(tensors)
        if key is not None and key == self._folded_key:
            return self._folded

        def build():
            E = 2 * self.res_channels
            w_out, b_out = self.sgconv.output_linear.weight, self.sgconv.output_linear.bias
            if self.attention.window == 1:
                w_v = self.attention.in_proj_weight[2 * E :]
                b_v = self.attention.in_proj_bias[2 * E :]
                att = self.attention.out_proj
                mix = torch.eye(E, dtype=w_out.dtype, device=w_out.device) + att.weight @ w_v
                w_out, b_out = mix @ w_out, mix @ b_out + att.weight @ b_v + att.bias
                folded_attention = True
            else:
                folded_attention = False
            conv_w = self.conv_layer.conv.weight  # (2R, R, 3): taps for t-1, t, t+1
            conv_b = torch.zeros(3, E, dtype=conv_w.dtype, device=conv_w.device)
            conv_b[1] = self.conv_layer.conv.bias  # the bias rides on the centre tap
            half = math.sqrt(0.5)  # the block's output scale, folded into the residual terms
            return dict(
                conv_w=conv_w.permute(2, 0, 1).reshape(-1, conv_w.shape[1]).contiguous(),
                conv_b=conv_b.reshape(-1),
                out_w=w_out.contiguous(),
                out_b=b_out.contiguous(),
                folded_attention=folded_attention,
                rs_w=torch.cat([self.res_conv.weight[..., 0] * half, self.skip_conv.weight[..., 0]]),
                rs_b=torch.cat([self.res_conv.bias * half, self.skip_conv.bias]),
                scale=self.rms_norm.scale.reshape(-1) * half,
            )

        folded = _bake(build)
        self._folded, self._folded_key = (folded, key) if key is not None else (None, None)
        return folded

    def forward_tokens(self, x: torch.Tensor, orig: torch.Tensor, n_fft: int):
        """Eval-time forward on ``(B, L, R)`` token-major tensors; same numbers
        as :meth:`forward` up to float round-off."""
        w = self.folded_weights()
        B, L, R = x.shape
        inv_rms = (x.norm(dim=-1, keepdim=True) * R**-0.5 + self.rms_norm.eps).reciprocal()
        # kernel-3 convolution along the tokens: one matmul, then shifted sums
        z = F.linear(x + orig, w["conv_w"], w["conv_b"]).reshape(B, L, 3, 2 * R)
        u = z[:, :, 1]
        u[:, 1:] += z[:, :-1, 0]
        u[:, :-1] += z[:, 1:, 2]
        u = F.gelu(u)
        # global convolution by FFT along the tokens, with the cached kernel spectrum
        sg = self.sgconv
        sg._ensure_kernel_norm()
        dt = _fft_dtype(u.dtype)
        spec = sg.cached_spectrum(L, n_fft, dt)  # (4, H, F)
        u_f = torch.fft.rfft(u.transpose(1, 2).to(dt), n=n_fft)  # (B, H, F): FFTs along the last axis
        y = torch.fft.irfft(u_f.unsqueeze(1) * spec, n=n_fft)[..., :L]  # (B, 4, H, L)
        y = F.gelu(y.reshape(B, -1, L).transpose(1, 2).to(u.dtype))  # (B, L, 4H)
        c = F.linear(sg.norm(y), w["out_w"], w["out_b"])
        if not w["folded_attention"]:
            c = c + self.attention(c)
        g = torch.tanh(c[..., :R]) * torch.sigmoid(c[..., R:])
        rs = F.linear(g, w["rs_w"], w["rs_b"])
        # (rms_norm(x) + res) * sqrt(1/2), the factor being folded into the weights
        return torch.addcmul(rs[..., :R], x * inv_rms, w["scale"]), rs[..., R:]


class _ResidualGroup(nn.Module):
    def __init__(self, n_layers, **block_kwargs):
        super().__init__()
        self.residual_blocks = nn.ModuleList([_ResidualBlock(**block_kwargs) for _ in range(n_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, skip = x, 0
        for block in self.residual_blocks:
            h, s = block(h, x)
            skip = skip + s
        return skip * math.sqrt(1.0 / len(self.residual_blocks))


def _fast_fft_size(n: int) -> int:
    """Smallest integer >= n whose prime factors are 2, 3 and 5
    (:func:`scipy.fft.next_fast_len` for a real transform)."""
    from scipy.fft import next_fast_len

    return next_fast_len(n, real=True)


# --------------------------------------------------------------------------- model
class CodeBrain(HubMixin, nn.Module):
    """CodeBrain EEGSSM encoder (Ma et al., ICLR 2026) with a classification head.

    The input ``(batch, n_chans, n_times)`` is cut into ``patch_size``-sample
    patches (trailing samples that do not fill a patch are dropped, with a
    warning), embedded with CBraMod's time-frequency embedding plus a
    depth-wise convolutional positional encoding, flattened channel-major into
    ``n_chans * n_patches`` tokens, and passed through ``num_res_layers``
    residual blocks (bidirectional multi-scale global convolution by FFT and
    sliding-window attention, tanh-sigmoid gate). The summed skip outputs go
    through ``final_conv`` and a LayerNorm, giving features
    ``(batch, n_chans, n_patches, out_channels)``; the head flattens them.

    Parameters
    ----------
    n_outputs : int | None
        Number of outputs of the head. Required unless
        ``return_encoder_output=True``.
    n_chans : int | None
        Number of EEG channels (19 for the released weights, in the TUEG
        10-20 order; channel order matters: it is the positional encoding's
        spatial axis).
    chs_info : list of dict | None
        Channel information (``mne.Info["chs"]``-like).
    n_times : int | None
        Samples per window; with ``n_chans`` it fixes the head's input size
        ``n_chans * (n_times // patch_size) * out_channels``.
    input_window_seconds : float | None
        Window length in seconds (``n_times / sfreq``).
    sfreq : float | None
        Sampling frequency in Hz (200 for the released weights; not used by the
        model itself).
    patch_size : int
        Samples per patch (200 = 1 s at 200 Hz).
    res_channels, skip_channels, out_channels : int
        Widths of the residual stream, of the skip stream, and of the output
        features.
    num_res_layers : int
        Number of residual blocks.
    drop_prob : float
        Dropout of the global convolution (``Dropout1d``), of the attention
        weights and of the head.
    s4_bidirectional : bool
        Whether the global convolution also looks backwards in the token
        sequence.
    s4_layernorm : bool
        LayerNorm inside the global convolution (False for the released
        weights).
    s4_lmax : int
        Longest kernel to cover; sets the number of kernel scales
        ``1 + ceil(log2(s4_lmax / 2))`` (10 for 570 = 19 channels x 30 s).
    s4_d_state : int
        Unused; kept for signature compatibility.
    conv_out_chans, conv_groups, proj_kernel_size, proj_padding, proj_refine_kernel : int
        Time-branch convolutions of the patch embedding: a ``(1,
        proj_kernel_size)`` conv with stride ``conv_out_chans`` then two ``(1,
        proj_refine_kernel)`` convs, each followed by
        ``GroupNorm(conv_groups, conv_out_chans)`` and GELU.
    pos_kernel : tuple of int
        ``(channels, patches)`` kernel of the depth-wise positional conv.
    spectral_dropout : float
        Dropout after the spectral projection of the patch embedding.
    mlp_hidden_multiplier : int
        Hidden width of the head is ``out_channels * mlp_hidden_multiplier``.
    swa_window_size : int
        Odd width (in tokens) of the sliding attention window; 1 (released
        weights) lets each token attend only to itself.
    codebook_size_t, codebook_size_f : int
        Sizes of the temporal and frequency codebooks predicted by
        ``lm_head_t`` / ``lm_head_f`` in pretraining.
    pretrain_mode : bool
        If True, ``forward`` returns the two codebook logits of the masked
        tokens.
    activation : type[nn.Module]
        Activation of ``init_conv`` and ``final_conv``.
    return_encoder_output : bool
        Addition to the reference. If True the head is an identity and
        ``forward`` returns the pooled encoder representation ``(batch,
        out_channels)``: the mean over channels and patches of the normalised
        features. ``n_outputs`` and ``n_times`` are then not needed.

    Attributes
    ----------
    emb_dim : int
        Width of the patch embedding (200 with the defaults).
    fast_inference : bool
        Use the cached evaluation path (eval mode, no autograd). Set to False
        to run the plain path (kept to measure the speed-up).
    lora_target_modules : tuple of str
        Default LoRA targets (module-name suffixes): ``attention.out_proj``
        and ``sgconv.output_linear`` of every residual block (its other
        weights are packed parameters or weight-normalised convolutions).
    blocks, layer_id, forward_until, forward_from, set_grad_checkpointing
        The fine-tuning members of the encoder protocol
        (``skeegfm.models._protocol``): the blocks are
        ``residual_layer.residual_blocks``; layer 0 is the patch embedding and
        ``init_conv``.

    Raises
    ------
    ValueError
        If the head needs ``n_outputs``, ``n_chans`` or ``n_times`` and one is
        missing, if ``n_times < patch_size``, if ``swa_window_size``,
        ``proj_refine_kernel`` or an entry of ``pos_kernel`` is not a positive
        odd integer, if ``s4_lmax < 2``, ``num_res_layers < 1``, or if
        ``res_channels`` is odd.

    Notes
    -----
    The state_dict layout is the reference implementation's for every
    configuration, not only the released one: ``final_conv`` is a
    weight-normalised ``skip_channels -> skip_channels`` 1x1 convolution, the
    activation, then a plain ``skip_channels -> out_channels`` one (PyTorch's
    default initialisation, as in the reference), and
    ``patch_embedding.mask_encoding`` has ``emb_dim`` entries.

    Errors raised earlier or more clearly than by the reference
    implementation (which builds the model and fails later, or with a bare
    shape or assertion error):

    - ``n_times < patch_size``: at construction (the reference builds a head
      with no input and fails at the first call).
    - ``swa_window_size`` even: at construction (the reference: at the first
      call).
    - an even ``proj_refine_kernel`` or an even ``pos_kernel`` entry: at
      construction (the reference computes ``emb_dim`` as if the refining and
      the positional convolutions kept the length, which they do only for odd
      kernels, and fails at the first call with a shape error).
    - ``s4_lmax < 2`` (no kernel scale) or ``num_res_layers < 1``: at
      construction (the reference: at the first call, on an empty kernel list
      or a division by zero).
    - odd ``res_channels``: at construction, with a ``ValueError`` naming the
      fix (the reference: an assertion error of
      :class:`torch.nn.MultiheadAttention`).
    - a ``mask`` when ``emb_dim != patch_size``: a ``ValueError`` at the call
      (the reference: a shape error), since the mask token, stored with
      ``emb_dim`` entries, replaces patches of ``patch_size`` samples.
    - inputs shorter than one patch, or (for the logits) of another channel or
      patch count than the head was built for: a ``ValueError`` naming the
      expected shape.

    ``kernel_norm`` (one buffer per block) is the L2 norm of each multi-scale
    kernel. It is loaded from checkpoints; a model whose buffer was never set
    computes it from the current kernel on its first forward, as the reference
    does. In eval mode without autograd the kernel spectra, the weight-normed
    convolution weights and (for ``swa_window_size=1``) the attention, folded
    into one linear map per token, are computed once per weights and input
    length and cached; the cache is keyed on the parameters' version counters,
    so optimiser steps and ``load_state_dict`` invalidate it.

    References
    ----------
    .. [1] Ma, J., Wu, F., Lin, Q., Xing, Y., Liu, C., Jia, Z., Feng, M. (2026).
           CodeBrain: Bridging decoupled tokenizer and multi-scale architecture
           for EEG foundation model. ICLR. arXiv:2506.09110.
    """

    _head_prefixes = ("final_layer.",)
    _config_absent_defaults: dict = {}
    _pretraining_only_prefixes = ("lm_head_t.", "lm_head_f.")
    _state_dict_roots = (
        "patch_embedding", "init_conv", "residual_layer", "final_conv", "norm", "lm_head_t", "lm_head_f"
    )

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        patch_size=200,
        res_channels=200,
        skip_channels=200,
        out_channels=200,
        num_res_layers=8,
        drop_prob=0.1,
        s4_bidirectional=True,
        s4_layernorm=False,
        s4_lmax=570,
        s4_d_state=64,
        conv_out_chans=25,
        conv_groups=5,
        proj_kernel_size=49,
        proj_padding=24,
        proj_refine_kernel=3,
        pos_kernel=(19, 7),
        spectral_dropout=0.1,
        mlp_hidden_multiplier=4,
        swa_window_size=1,
        codebook_size_t=4096,
        codebook_size_f=4096,
        pretrain_mode=False,
        activation=nn.ReLU,
        return_encoder_output=False,
    ):
        super().__init__()
        params = resolve_signal_params(n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq)
        for name, value in params.items():
            setattr(self, name, value)
        if self.n_times is not None and self.n_times < patch_size:
            raise ValueError(
                f"n_times={self.n_times} is shorter than one patch ({patch_size} samples); "
                "CodeBrain needs at least one full patch."
            )
        # The reference builds these and fails at the first call (shape errors,
        # an empty kernel list, a division by zero): refuse them here.
        if int(proj_refine_kernel) < 1 or int(proj_refine_kernel) % 2 == 0:
            raise ValueError(
                f"proj_refine_kernel must be a positive odd integer, got {proj_refine_kernel}: "
                "the refining convolutions pad by proj_refine_kernel // 2 and must keep the "
                "length (the reference fails at the first call with an even kernel)."
            )
        if len(tuple(pos_kernel)) != 2 or any(int(k) < 1 or int(k) % 2 == 0 for k in pos_kernel):
            raise ValueError(
                f"pos_kernel must be two positive odd integers (channels, patches), got "
                f"{tuple(pos_kernel)}: the positional convolution pads by kernel // 2 and must "
                "keep the (channel, patch) grid (the reference fails at the first call with an "
                "even kernel)."
            )
        if s4_lmax < _SGCONV_KERNEL_DIM:
            raise ValueError(
                f"s4_lmax={s4_lmax} gives no kernel scale (1 + ceil(log2(s4_lmax / "
                f"{_SGCONV_KERNEL_DIM})) < 1); use s4_lmax >= {_SGCONV_KERNEL_DIM}, about the "
                "number of tokens (n_chans x n_patches)."
            )
        if int(num_res_layers) < 1:
            raise ValueError(f"num_res_layers must be at least 1, got {num_res_layers}.")
        self.patch_size = int(patch_size)
        self.out_channels = int(out_channels)
        self.mlp_hidden_multiplier = int(mlp_hidden_multiplier)
        self.drop_prob = float(drop_prob)
        self.pretrain_mode = bool(pretrain_mode)
        self.return_encoder_output = bool(return_encoder_output)
        if self.pretrain_mode:
            # the codebook heads are part of the model when pretraining
            self._pretraining_only_prefixes = ()

        refine = (conv_out_chans, proj_refine_kernel, 1, proj_refine_kernel // 2, (conv_groups, conv_out_chans))
        conv_config = (
            (conv_out_chans, proj_kernel_size, conv_out_chans, proj_padding, (conv_groups, conv_out_chans)),
            refine,
            refine,
        )
        self.patch_embedding = _CodeBrainPatchEmbedding(patch_size, conv_config, tuple(pos_kernel), spectral_dropout)
        self.emb_dim = self.patch_embedding.emb_dim
        self.init_conv = nn.Sequential(_WNConv1d(self.emb_dim, res_channels), activation())
        self.residual_layer = _ResidualGroup(
            num_res_layers,
            res_channels=res_channels,
            skip_channels=skip_channels,
            l_max=s4_lmax,
            bidirectional=s4_bidirectional,
            layernorm=s4_layernorm,
            dropout=drop_prob,
            window=swa_window_size,
        )
        # skip -> skip (weight-normalised), activation, skip -> out: the reference's layout
        self.final_conv = nn.Sequential(
            _WNConv1d(skip_channels, skip_channels), activation(), _PlainConv1d(skip_channels, out_channels)
        )
        self.norm = nn.LayerNorm(out_channels)
        self.lm_head_t = nn.Linear(out_channels, codebook_size_t, bias=False)
        self.lm_head_f = nn.Linear(out_channels, codebook_size_f, bias=False)
        self.final_layer = self._build_head(self.n_outputs) if not self.return_encoder_output else nn.Identity()
        self.fast_inference = True

    # -- head ---------------------------------------------------------------
    def _build_head(self, n_outputs):
        missing = [name for name in ("n_chans", "n_times") if getattr(self, name) is None]
        if n_outputs is None:
            missing.insert(0, "n_outputs")
        if missing:
            raise ValueError(
                f"CodeBrain's classification head needs {', '.join(missing)}; pass them, "
                "or use return_encoder_output=True for the encoder alone."
            )
        n_in = self.n_chans * (self.n_times // self.patch_size) * self.out_channels
        hidden = self.out_channels * self.mlp_hidden_multiplier
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(n_in, hidden),
            nn.ELU(),
            nn.Dropout(self.drop_prob),
            nn.Linear(hidden, self.out_channels),
            nn.ELU(),
            nn.Dropout(self.drop_prob),
            nn.Linear(self.out_channels, n_outputs),
        )

    def reset_head(self, n_outputs: int) -> None:
        """Replace the head with a freshly initialised one with ``n_outputs``
        outputs (addition to the reference).

        Also switches an encoder-only model (``return_encoder_output=True``)
        back to logits. The new head is on the device and dtype of the model.

        Parameters
        ----------
        n_outputs : int
            Number of outputs of the new head.

        Raises
        ------
        ValueError
            If ``n_outputs`` is not a positive integer or ``n_chans`` /
            ``n_times`` are unknown.
        """
        if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
            raise ValueError(f"n_outputs must be a positive integer, got {n_outputs!r}.")
        ref = self.norm.weight
        head = self._build_head(n_outputs).to(device=ref.device, dtype=ref.dtype)
        self.final_layer = head
        self.n_outputs = n_outputs
        self.return_encoder_output = False
        config = getattr(self, "_hub_config", None)
        if config is not None:
            config["n_outputs"] = n_outputs
            config["return_encoder_output"] = False

    # -- forward ------------------------------------------------------------
    def _patchify(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.ndim != 3:
            raise ValueError(
                f"CodeBrain expects inputs of shape (batch, n_chans, n_times), got {tuple(inputs.shape)}."
            )
        B, C, T = inputs.shape
        P = self.patch_size
        S = T // P
        if S == 0:
            raise ValueError(
                f"Input has {T} samples, fewer than one patch ({P}); CodeBrain needs at least "
                f"{P} samples ({P / 200:g} s at 200 Hz)."
            )
        if S * P != T:
            warnings.warn(
                f"CodeBrain uses whole {P}-sample patches: the last {T - S * P} of {T} samples "
                f"are dropped. Pass n_times a multiple of {P} to avoid this.",
                UserWarning,
                stacklevel=3,
            )
        x = inputs[..., : S * P]
        dtype = self.norm.weight.dtype
        if x.is_floating_point() and x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):
            x = x.to(dtype)
        elif not x.is_floating_point():
            x = x.to(dtype)
        return x.reshape(B, C, S, P)

    def _encode(self, patches: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Patches ``(B, C, S, P)`` -> normalised features ``(B, C, S, out_channels)``."""
        B, C, S, _ = patches.shape
        e = self.patch_embedding(patches, mask)  # (B, C, S, D)
        if _fast_eval_allowed(self):
            return self._encode_tokens(e)
        x = e.permute(0, 3, 1, 2).reshape(B, self.emb_dim, C * S)
        x = self.init_conv(x)
        x = self.residual_layer(x)
        x = self.final_conv(x)  # (B, out, L)
        return self.norm(x.transpose(1, 2).reshape(B, C, S, -1))

    def _encode_tokens(self, e: torch.Tensor) -> torch.Tensor:
        """Cached evaluation path on token-major tensors ``(B, L, channels)``."""
        B, C, S, D = e.shape
        L = C * S
        w = self._folded_io()
        x = self.init_conv[1](F.linear(e.reshape(B, L, D), w["init_w"], w["init_b"]))
        n_fft = _fast_fft_size(2 * L - 1)
        h, skip = x, 0
        blocks = self.residual_layer.residual_blocks
        for block in blocks:
            h, s = block.forward_tokens(h, x, n_fft)
            skip = skip + s
        y = F.linear(skip, w["fc0_w"], w["fc0_b"])  # sqrt(1 / n_blocks) folded into fc0_w
        y = self.final_conv[1](y)
        y = F.linear(y, w["fc2_w"], w["fc2_b"])
        return self.norm(y.reshape(B, C, S, -1))

    def _folded_io(self):
        """Weight-norm-baked 1x1 conv weights of ``init_conv`` and ``final_conv``."""
        tensors = [p for _, p in self.init_conv.named_parameters()] + [
            p for _, p in self.final_conv.named_parameters()
        ]
        key = _version_key(tensors)
        cached = getattr(self, "_io_cache", None)
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]

        def build():
            fc2 = self.final_conv[2].conv
            return dict(
                init_w=self.init_conv[0].conv.weight[..., 0].contiguous(),
                init_b=self.init_conv[0].conv.bias.clone(),
                fc0_w=self.final_conv[0].conv.weight[..., 0] * math.sqrt(1.0 / len(self.residual_layer.residual_blocks)),
                fc0_b=self.final_conv[0].conv.bias.clone(),
                fc2_w=fc2.weight[..., 0].contiguous(),
                fc2_b=fc2.bias.clone(),
            )

        folded = _bake(build)
        self._io_cache = (key, folded) if key is not None else None
        return folded

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None, return_features: bool = False):
        """Encode EEG windows.

        Parameters
        ----------
        inputs : Tensor of shape (batch, n_chans, n_times)
            EEG at 200 Hz (the released weights presumably expect microvolts /
            100, as CBraMod). Trailing samples beyond a whole number of patches
            are dropped with a warning. Inputs of another floating dtype than
            the model are cast to it (except under autocast).
        mask : Tensor of shape (batch, n_chans, n_patches) | None
            Entries equal to 1 replace that patch by the mask token
            (``patch_embedding.mask_encoding``, non-trainable, zeros unless
            loaded) before the embedding. Needs ``emb_dim == patch_size``.
        return_features : bool
            If True, return ``{"features": (batch, n_chans, n_patches,
            out_channels), "cls_token": None}``.

        Returns
        -------
        out : Tensor | dict | tuple of Tensor
            ``return_features``: the dict above. ``pretrain_mode``: the codebook
            logits ``(lm_head_t(z), lm_head_f(z))`` of the masked tokens, each
            ``(n_masked, codebook_size)`` (of every token, ``(batch, n_chans,
            n_patches, codebook_size)``, when ``mask`` is None).
            ``return_encoder_output``: ``(batch, out_channels)``, the mean of
            the features over channels and patches. Otherwise the logits
            ``(batch, n_outputs)``.

        Raises
        ------
        ValueError
            If ``inputs`` is not 3-D, is shorter than one patch, or (for the
            logits) its channels or patches differ from those the head was
            built for; if ``mask`` has another shape than ``(batch, n_chans,
            n_patches)``, or is given while ``emb_dim != patch_size``.
        """
        patches = self._patchify(inputs)
        if mask is not None and tuple(mask.shape) != tuple(patches.shape[:3]):
            raise ValueError(
                f"mask must have shape (batch, n_chans, n_patches) = {tuple(patches.shape[:3])}, "
                f"got {tuple(mask.shape)}."
            )
        feats = self._encode(patches, mask)
        if return_features:
            return {"features": feats, "cls_token": None}
        if self.pretrain_mode:
            z = feats if mask is None else feats[mask == 1]
            return self.lm_head_t(z), self.lm_head_f(z)
        if self.return_encoder_output:
            return feats.mean(dim=(1, 2))
        _, C, S, _ = feats.shape
        expected = (self.n_chans, self.n_times // self.patch_size)
        if (C, S) != expected:
            raise ValueError(
                f"The head was built for {expected[0]} channels x {expected[1]} patches "
                f"(n_times={self.n_times}); got {C} channels x {S} patches. Use "
                "return_features=True, return_encoder_output=True, or a model built for this shape."
            )
        return self.final_layer(feats)

    # -- state dict ---------------------------------------------------------
    @classmethod
    def _remap_state_dict(cls, state_dict):
        """Translate the authors' original key names (those of ``CodeBrain.pth`` in
        the ``YjMajy/CodeBrain`` Hugging Face repository; the same rules as the
        reference implementation's ``load_state_dict``) to ours.

        Rules, applied to every key: leading ``module.`` removed; ``.S41.`` and
        ``.s41.`` -> ``.sgconv.``; ``.sn.`` -> ``.rms_norm.``; a final ``.D`` ->
        ``.skip_weight``; ``.kernel_list.N.kernel`` -> ``.kernel_list.N``;
        ``.weight_g`` / ``.weight_v`` ->
        ``.parametrizations.weight.original0`` / ``original1``. Keys already in
        our names are unchanged. The input is not modified.
        """
        out = OrderedDict()
        for key, value in state_dict.items():
            new = _remap_key(key)
            if new in out:
                raise ValueError(f"Two checkpoint keys map onto {new!r} (one of them is {key!r}).")
            out[new] = value
        return out

    @classmethod
    def _config_from_state_dict(cls, state_dict) -> dict:
        """CodeBrain backbone from tensor shapes, for files without config.json
        (the released weights use the reference's constructor defaults; the
        geometry is the pretraining one: 19 channels x 30 s at 200 Hz).

        Raises
        ------
        ValueError
            If a needed tensor is absent.
        """
        n_layers = _count_indexed(state_dict, "residual_layer.residual_blocks.")
        res = _need(state_dict, "init_conv.0.conv.bias", "CodeBrain residual width")[0]
        out = _need(state_dict, "norm.weight", "CodeBrain output width")[0]
        skip = _need(state_dict, "final_conv.0.conv.bias", "CodeBrain skip width")[0]
        return dict(
            n_chans=19,  # pretraining geometry: 19 channels x 30 s at 200 Hz (s4_lmax = 570 tokens)
            n_times=6000,
            num_res_layers=n_layers,
            res_channels=res,
            skip_channels=skip,
            out_channels=out,
            return_encoder_output=True,
        )

    @classmethod
    def _original_hooks(cls):
        """Recogniser and converter of the authors' original checkpoints."""
        return _looks_like_original, convert_codebrain_checkpoint

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Load weights, accepting our key names or the authors' original ones.

        The original names (DataParallel ``module.`` prefix, ``S41``, ``sn``,
        ``D``, ``kernel_list.N.kernel``, ``weight_g``/``weight_v``) are
        translated by :meth:`_remap_state_dict` first.

        Parameters
        ----------
        state_dict : dict of str to Tensor
            Weights in either naming.
        strict : bool
            If True, every key of the model must be present after remapping and
            no unexpected key may remain.
        assign : bool
            See :meth:`torch.nn.Module.load_state_dict`.

        Returns
        -------
        result : NamedTuple
            ``missing_keys`` and ``unexpected_keys`` (after remapping).

        Raises
        ------
        RuntimeError
            With ``strict=True``, if keys are missing or unexpected after
            remapping (they are listed), or if a shape differs.
        """
        remapped = self._remap_state_dict(state_dict)
        if strict:
            own = set(self.state_dict().keys())
            missing = sorted(own - set(remapped))
            unexpected = sorted(set(remapped) - own)
            if missing or unexpected:
                raise RuntimeError(
                    "CodeBrain.load_state_dict: after translating original key names, "
                    f"{len(missing)} key(s) are missing {missing[:10]} and {len(unexpected)} "
                    f"unexpected {unexpected[:10]}. Load with strict=False only if a missing "
                    "head is intended."
                )
        return super().load_state_dict(remapped, strict=strict, assign=assign)

    # -- cache housekeeping -------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        self._clear_caches()
        return super()._apply(fn, *args, **kwargs)

    def _clear_caches(self):
        self._io_cache = None
        for block in self.residual_layer.residual_blocks if hasattr(self, "residual_layer") else ():
            block._folded, block._folded_key = None, None
            block.sgconv._spectra, block.sgconv._spectra_key = {}, None

    def __setattr__(self, name, value):
        if name == "fast_inference" and "residual_layer" in self._modules:
            for block in self.residual_layer.residual_blocks:
                block.fast_inference = block.sgconv.fast_inference = bool(value)
        super().__setattr__(name, value)

    # -- encoder protocol (skeegfm.models._protocol): fine-tuning and pooling --

    #: Parts no pretrained checkpoint provides: the head.
    head_prefixes = _head_prefixes
    #: Default LoRA targets (``tuning="lora"`` of
    #: :class:`skeegfm.classifiers.CodeBrainClassifier`): in every residual
    #: block, the output projection of the sliding-window attention and the
    #: channel-mixing linear layer after the global convolution (the block's
    #: linear layers; the attention's packed ``in_proj_weight`` is a parameter,
    #: not a linear module, and the convolutions are weight-normalised, so they
    #: are not adapted).
    lora_target_modules = ("attention.out_proj", "sgconv.output_linear")
    #: Poolings of :meth:`pool` (first: the default): the mean over channels
    #: and patches, or the mean over patches per channel (channel-major).
    poolings = ("mean", "channel")
    grad_checkpointing = False

    @property
    def blocks(self) -> nn.ModuleList:
        """The residual blocks (``residual_layer.residual_blocks``)."""
        return self.residual_layer.residual_blocks

    def layer_id(self, name: str) -> int | None:
        """BEiT layer number of a parameter: 0 for the patch embedding and
        ``init_conv``, ``i + 1`` for residual block ``i``, ``num_res_layers +
        1`` for ``final_conv``, the norm and the head; None for the codebook
        heads outside ``pretrain_mode``."""
        return layer_id_of(
            name,
            "residual_layer.residual_blocks.",
            len(self.residual_layer.residual_blocks),
            stem=("patch_embedding.", "init_conv."),
            unused=self._pretraining_only_prefixes,
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised features ``(batch, n_chans, n_patches, out_channels)``."""
        return self(x, return_features=True)["features"]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_outputs)`` from :meth:`forward_features`."""
        return self.final_layer(features)

    def forward_until(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """The plain path up to residual block ``cut`` (0-based): the running
        residual, the blocks' common input and the sum of the skip outputs so
        far, concatenated along the channels, ``(batch, 2 * res_channels +
        skip_channels, n_chans * n_patches)``."""
        patches = self._patchify(x)
        B, C, S, _ = patches.shape
        e = self.patch_embedding(patches, None)
        x0 = self.init_conv(e.permute(0, 3, 1, 2).reshape(B, self.emb_dim, C * S))
        blocks = self.residual_layer.residual_blocks
        h = x0
        skip = torch.zeros(
            B, blocks[0].skip_conv.out_channels, C * S, dtype=x0.dtype, device=x0.device
        )
        for block in blocks[:cut]:
            h, s = block(h, x0)
            skip = skip + s
        return torch.cat((h, x0, skip), dim=1)

    def forward_from(self, h: torch.Tensor, cut: int) -> torch.Tensor:
        """Logits from ``h = forward_until(x, cut)``: residual blocks ``cut``
        onwards, ``final_conv``, the norm and the head (the plain path)."""
        blocks = self.residual_layer.residual_blocks
        R = blocks[0].res_channels
        h, x0, skip = h[:, :R], h[:, R : 2 * R], h[:, 2 * R :]
        for block in blocks[cut:]:
            h, s = block(h, x0)
            skip = skip + s
        x = self.final_conv(skip * math.sqrt(1.0 / len(blocks)))
        B, F_out, L = x.shape
        feats = self.norm(x.transpose(1, 2).reshape(B, self.n_chans, L // self.n_chans, F_out))
        return self.forward_head(feats)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each residual block's activations in the backward pass
        (see :func:`~skeegfm.models._protocol.checkpoint_blocks`)."""
        checkpoint_blocks(self.residual_layer.residual_blocks, enable)
        self.grad_checkpointing = bool(enable)

    def reset_classifier(self, n_outputs: int) -> None:
        """A fresh head with ``n_outputs`` outputs (:meth:`reset_head`)."""
        self.reset_head(n_outputs)

    @classmethod
    def input_config(cls, ch_names, n_times: int, sfreq: float, *, head: bool) -> dict:
        """The head's input size follows the window: with a head, the model is
        built for the input's ``n_times``; the encoder alone takes any length."""
        return {"n_times": int(n_times)} if head else {}

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
        tokens = features["features"]  # (batch, n_chans, n_patches, out_channels)
        if pooling == "mean":
            return tokens.mean(dim=(1, 2))
        return tokens.mean(dim=2).flatten(1)

    def pooled_size(self, pooling: str, n_chans: int) -> int:
        """Size of :meth:`pool`'s vectors for inputs of ``n_chans`` channels."""
        return self.out_channels * (n_chans if pooling == "channel" else 1)


#: The default LoRA targets (``CodeBrain.lora_target_modules``).
LORA_TARGET_MODULES = CodeBrain.lora_target_modules

_REMAP_RULES = (
    (re.compile(r"^module\."), ""),
    (re.compile(r"\.[Ss]41\."), ".sgconv."),
    (re.compile(r"\.sn\."), ".rms_norm."),
    (re.compile(r"\.D$"), ".skip_weight"),
    (re.compile(r"\.kernel_list\.(\d+)\.kernel$"), r".kernel_list.\1"),
    (re.compile(r"\.weight_g$"), ".parametrizations.weight.original0"),
    (re.compile(r"\.weight_v$"), ".parametrizations.weight.original1"),
)


def _remap_key(key: str) -> str:
    for pattern, repl in _REMAP_RULES:
        key = pattern.sub(repl, key)
    return key


def _looks_like_original(state_dict) -> bool:
    """True when ``state_dict`` uses the authors' original CodeBrain key names
    (DataParallel ``module.`` prefix, ``.S41.`` global-convolution modules,
    old-style ``weight_g``/``weight_v`` weight norm)."""
    keys = list(state_dict.keys())
    return any(
        (k.startswith("module.") and (".S41." in k or ".s41." in k or k.endswith((".weight_g", ".weight_v"))))
        or ".S41." in k
        for k in keys
    )


def convert_codebrain_checkpoint(path_or_dict, *, trust_checkpoint=False) -> dict:
    """Convert the authors' original CodeBrain checkpoint to our key names.

    Parameters
    ----------
    path_or_dict : str | os.PathLike | dict
        Path of the original ``CodeBrain.pth`` (a pickled, DataParallel
        state_dict), or the already loaded dict. A dict nesting the weights
        under ``"state_dict"``, ``"model"`` or ``"model_state_dict"`` is
        unwrapped.
    trust_checkpoint : bool
        Default False: the file is read with ``torch.load(weights_only=True)``
        and an allow-list of harmless types, which covers the authors'
        released formats. True unpickles a file holding other Python objects,
        which runs any code it carries (only for files you trust).

    Returns
    -------
    state_dict : dict of str to Tensor
        Encoder weights in skeegfm / braindecode names (``final_layer.*`` and
        the pretraining-only ``lm_head_t.*`` / ``lm_head_f.*`` are left out).

    Raises
    ------
    TypeError
        If the file or object does not hold a dict of tensors.
    UntrustedCheckpointError
        (a ``ValueError``) If the file holds Python objects beyond the
        allow-list and ``trust_checkpoint`` is False.
    """
    raw = load_checkpoint_file(path_or_dict, trust_checkpoint=trust_checkpoint)
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(raw, dict) and isinstance(raw.get(wrapper), dict):
            raw = raw[wrapper]
            break
    if not isinstance(raw, dict) or not all(torch.is_tensor(v) for v in raw.values()):
        raise TypeError(
            "convert_codebrain_checkpoint expects a state_dict (dict of str to Tensor), got "
            f"{type(raw).__name__}."
        )
    remapped = CodeBrain._remap_state_dict(raw)
    drop = CodeBrain._head_prefixes + CodeBrain._pretraining_only_prefixes
    return OrderedDict((k, v) for k, v in remapped.items() if not k.startswith(drop))


# --------------------------------------------------------------------------
# Pretrained records
# --------------------------------------------------------------------------

register_pretrained(
    ModelRecord(
        name="codebrain",
        model="CodeBrain",
        window="trim",
        display_name="CodeBrain",
        default_benchmark=True,
        hub_id="braindecode/codebrain-pretrained",
        preset=dict(
            patch_size=200,
            res_channels=200,
            skip_channels=200,
            out_channels=200,
            num_res_layers=8,
            s4_bidirectional=True,
            s4_layernorm=False,
            s4_lmax=570,
            swa_window_size=1,
        ),
        sfreq=200.0,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=200,
        n_params=13_529_200,
        licence=UNKNOWN_LICENCE,
        paper=(
            "Ma, J. et al. (2026). CodeBrain: Bridging Decoupled Tokenizer and "
            "Multi-Scale Architecture for EEG Foundation Model. ICLR 2026."
        ),
        sources=dict(
            TUEG_SOURCES,
            hub_id="Hub commit of braindecode/codebrain-pretrained: 'Add CodeBrain pretrained "
                "weights (TUEG, 19ch 10-20, 200Hz)'",
            unit="presumably CBraMod's microvolts / 100, whose TUEG layout CodeBrain follows "
                "(not verified from CodeBrain's own code)",
            emb_dim="reference implementation (braindecode CodeBrain): emb_dim = 25 x 8 = 200 "
                "(out_channels)",
            n_params="counted on the reference architecture (backbone without head and codebook "
                "heads)",
            preset="reference implementation's constructor defaults (braindecode CodeBrain); the "
                "released weights need them",
            paper="Ma et al., ICLR 2026, arXiv 2506.09110",
            window="reference implementation (braindecode CodeBrain): drops the samples after "
                "the last whole patch",
        ),  # fmt: skip
    )
)
