"""Building blocks shared by several encoders.

- :class:`TimeFrequencyEmbedding`: CBraMod's time-frequency patch embedding
  (Wang et al., ICLR 2025), reused unchanged by EEG-DINO and CodeBrain.
- :class:`Attention`, :class:`Mlp`, :class:`TransformerBlock`: the pre-norm
  ViT block used by EEG-DINO (BEiT-style query/value biases) and EEGPT (plain
  qkv bias). Attention always goes through
  :func:`torch.nn.functional.scaled_dot_product_attention`.
- :class:`DropPath`: stochastic depth (Huang et al., ECCV 2016).
- :func:`resolve_signal_params`: infers the signal parameters (``n_chans``,
  ``n_times``, ...) from one another, as every encoder's constructor does.

Nothing here imports scikit-learn or MNE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Attention",
    "DropPath",
    "Mlp",
    "TimeFrequencyEmbedding",
    "TransformerBlock",
    "as_conv_config",
    "resolve_signal_params",
]


def resolve_signal_params(
    n_outputs=None,
    n_chans=None,
    chs_info=None,
    n_times=None,
    input_window_seconds=None,
    sfreq=None,
):
    """Infer missing signal parameters from the ones given and cross-check them.

    Parameters
    ----------
    n_outputs : int | None
        Number of outputs (classes).
    n_chans : int | None
        Number of EEG channels. Inferred from ``len(chs_info)`` when missing.
    chs_info : list of dict | None
        Per-channel information (``mne.Info["chs"]``-like; only ``"ch_name"``
        is read).
    n_times : int | None
        Samples per window. Inferred as ``round(input_window_seconds * sfreq)``.
    input_window_seconds : float | None
        Window length in seconds. Inferred as ``n_times / sfreq``.
    sfreq : float | None
        Sampling frequency in Hz. Inferred as ``n_times / input_window_seconds``.

    Returns
    -------
    params : dict
        The six parameters, with what could be inferred filled in.

    Raises
    ------
    ValueError
        If ``len(chs_info) != n_chans`` or if ``n_times``,
        ``input_window_seconds`` and ``sfreq`` are all given but disagree.
    """
    if chs_info is not None:
        if n_chans is None:
            n_chans = len(chs_info)
        elif len(chs_info) != n_chans:
            raise ValueError(
                f"chs_info describes {len(chs_info)} channels but n_chans={n_chans}; "
                "pass matching values or only one of them."
            )
    if n_times is None and input_window_seconds is not None and sfreq is not None:
        n_times = int(round(input_window_seconds * sfreq))
    elif input_window_seconds is None and n_times is not None and sfreq is not None:
        input_window_seconds = n_times / sfreq
    elif sfreq is None and n_times is not None and input_window_seconds is not None:
        sfreq = n_times / input_window_seconds
    elif None not in (n_times, input_window_seconds, sfreq):
        if n_times != int(round(input_window_seconds * sfreq)):
            raise ValueError(
                f"n_times={n_times} disagrees with input_window_seconds="
                f"{input_window_seconds} x sfreq={sfreq}; pass n_times alone or "
                "consistent values."
            )
    return dict(
        n_outputs=n_outputs,
        n_chans=n_chans,
        chs_info=chs_info,
        n_times=n_times,
        input_window_seconds=input_window_seconds,
        sfreq=sfreq,
    )


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample in training.

    Parameters
    ----------
    drop_prob : float
        Probability of dropping the branch of a sample. Identity in eval mode
        or when 0.

    References
    ----------
    .. [1] Huang, G. et al. (2016). Deep networks with stochastic depth. ECCV.
    """

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class Mlp(nn.Module):
    """Two-layer feed-forward block ``fc1 -> act -> [dropout] -> fc2 -> dropout``.

    Parameters
    ----------
    dim : int
        Input and output width.
    hidden_dim : int
        Width of the hidden layer.
    activation : type[nn.Module]
        Activation class (instantiated without arguments).
    drop : float
        Dropout after ``fc2``.
    hidden_drop : float
        Dropout between the activation and ``fc2`` (EEGPT uses ``drop``;
        EEG-DINO uses none).
    """

    def __init__(self, dim, hidden_dim, activation=nn.GELU, drop=0.0, hidden_drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = activation()
        self.hidden_drop = nn.Dropout(hidden_drop) if hidden_drop > 0 else nn.Identity()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop) if drop > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.hidden_drop(self.act(self.fc1(x)))))


class Attention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention``.

    Parameters
    ----------
    dim : int
        Token width.
    num_heads : int
        Number of heads; ``head_dim = dim // num_heads`` and the inner width is
        ``head_dim * num_heads`` (it may be smaller than ``dim``).
    qkv_bias : {"qv", True, False}
        ``"qv"``: BEiT-style separate ``q_bias`` and ``v_bias`` parameters and
        no key bias (EEG-DINO); ``True``: a regular bias on ``qkv`` (EEGPT);
        ``False``: no bias.
    attn_drop : float
        Dropout on the attention weights (training only).
    proj_drop : float
        Dropout after the output projection.

    Notes
    -----
    Input and output have shape ``(batch, n_tokens, dim)``.
    """

    def __init__(self, dim, num_heads, qkv_bias="qv", attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads = int(num_heads)
        self.head_dim = dim // self.num_heads
        inner = self.head_dim * self.num_heads
        if qkv_bias == "qv":
            self.qkv = nn.Linear(dim, 3 * inner, bias=False)
            self.q_bias = nn.Parameter(torch.zeros(inner))
            self.v_bias = nn.Parameter(torch.zeros(inner))
        else:
            self.qkv = nn.Linear(dim, 3 * inner, bias=bool(qkv_bias))
            self.q_bias = self.v_bias = None
        self.attn_drop = float(attn_drop)
        self.proj = nn.Linear(inner, dim)
        self.proj_drop = nn.Dropout(proj_drop) if proj_drop > 0 else nn.Identity()

    def _qkv(self, x: torch.Tensor) -> torch.Tensor:
        if self.q_bias is None:
            return self.qkv(x)
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        if isinstance(self.qkv, nn.Linear):
            return F.linear(x, self.qkv.weight, bias)
        # A wrapped layer (e.g. peft's LoRA layer, which adds its low-rank
        # branch): call it, then add the query/value biases.
        out = self.qkv(x)
        return out + bias.to(out.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, _ = x.shape
        qkv = self._qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.0
        )
        out = out.transpose(1, 2).reshape(B, N, -1)
        return self.proj_drop(self.proj(out))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    Parameters
    ----------
    dim : int
        Token width.
    num_heads : int
        Attention heads.
    mlp_hidden_dim : int
        Hidden width of the MLP.
    qkv_bias : {"qv", True, False}
        See :class:`Attention`.
    drop : float
        Dropout after the attention projection and after the MLP.
    attn_drop : float
        Dropout on the attention weights.
    mlp_hidden_drop : float
        Dropout inside the MLP (see :class:`Mlp`).
    drop_path : float
        Stochastic-depth probability of both residual branches.
    activation : type[nn.Module]
        MLP activation.
    norm_eps : float
        LayerNorm epsilon (EEG-DINO 1e-5, EEGPT 1e-6).
    norm_layer : callable | None
        Called as ``norm_layer(dim)`` to build the norms; defaults to
        :class:`torch.nn.LayerNorm` with ``norm_eps``.
    """

    def __init__(
        self,
        dim,
        num_heads,
        mlp_hidden_dim,
        qkv_bias="qv",
        drop=0.0,
        attn_drop=0.0,
        mlp_hidden_drop=0.0,
        drop_path=0.0,
        activation=nn.GELU,
        norm_eps=1e-5,
        norm_layer=None,
    ):
        super().__init__()
        make_norm = norm_layer or (lambda d: nn.LayerNorm(d, eps=norm_eps))
        self.norm1 = make_norm(dim)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = make_norm(dim)
        self.mlp = Mlp(dim, mlp_hidden_dim, activation, drop=drop, hidden_drop=mlp_hidden_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def as_conv_config(config):
    """Validate a time-branch convolution configuration of
    :class:`TimeFrequencyEmbedding` and return it as nested tuples.

    Parameters
    ----------
    config : sequence of (out_ch, kernel, stride, padding, (groups, gn_channels))
        One entry per convolution.

    Returns
    -------
    config : tuple of tuple
        The same values as ints, in nested tuples.

    Raises
    ------
    ValueError
        If an entry is malformed, the GroupNorm does not fit the convolution,
        or a size is out of range.
    """
    try:
        out = tuple(
            (int(c), int(k), int(s), int(p), (int(g[0]), int(g[1])))
            for c, k, s, p, g in config
        )
    except (TypeError, ValueError) as err:
        raise ValueError(
            "channels_kernel_stride_padding_norm must be a sequence of "
            "(out_channels, kernel, stride, padding, (groups, group_channels)); "
            f"got {config!r}."
        ) from err
    if not out:
        raise ValueError("channels_kernel_stride_padding_norm must hold at least one convolution.")
    for out_ch, kernel, stride, padding, (groups, gn_channels) in out:
        if gn_channels != out_ch or groups < 1 or out_ch % groups:
            raise ValueError(
                f"GroupNorm ({groups}, {gn_channels}) does not fit a convolution with "
                f"{out_ch} output channels: group_channels must equal out_channels and "
                "be divisible by groups."
            )
        if min(out_ch, kernel, stride) < 1 or padding < 0:
            raise ValueError(f"Invalid convolution (out_ch, kernel, stride, padding) = "
                             f"{(out_ch, kernel, stride, padding)}.")
    return out


def _conv_out_len(length, kernel, stride, padding):
    return (length + 2 * padding - kernel) // stride + 1


class TimeFrequencyEmbedding(nn.Module):
    """CBraMod's time-frequency embedding of ``(channel, patch)`` tokens.

    The time branch (``proj_in``) runs stacked ``Conv2d(1 x k) -> GroupNorm ->
    activation`` blocks along each patch and flattens conv-channel-major; the
    frequency branch (``spectral_proj``) projects the magnitude of the patch's
    real FFT (``norm="forward"``). The two are summed.

    Parameters
    ----------
    patch_size : int
        Samples per patch (200 for the released weights).
    conv_config : sequence of (out_ch, kernel, stride, padding, (groups, gn_channels))
        One entry per convolution of the time branch.
    activation : type[nn.Module]
        Activation after each GroupNorm.
    spectral_dropout : float
        Dropout after the spectral projection.

    Attributes
    ----------
    emb_dim : int
        Token width ``D = last_out_ch x L`` where ``L`` is the conv output length.

    Raises
    ------
    ValueError
        If a convolution leaves no sample of the patch.

    References
    ----------
    .. [1] Wang, J. et al. (2025). CBraMod: A criss-cross brain foundation model
           for EEG decoding. ICLR.
    """

    def __init__(self, patch_size, conv_config, activation=nn.GELU, spectral_dropout=0.0):
        super().__init__()
        layers = []
        in_ch, length = 1, patch_size
        for index, (out_ch, kernel, stride, padding, (groups, gn_channels)) in enumerate(conv_config):
            layers += [
                nn.Conv2d(in_ch, out_ch, (1, kernel), (1, stride), (0, padding)),
                nn.GroupNorm(groups, gn_channels),
                activation(),
            ]
            out_len = _conv_out_len(length, kernel, stride, padding)
            if out_len < 1:
                # The reference builds this and fails at the first call.
                raise ValueError(
                    f"Patch-embedding convolution {index} (kernel {kernel}, stride {stride}, "
                    f"padding {padding}) gets {length} samples per patch (patch_size="
                    f"{patch_size}) and leaves none; use a smaller kernel or more padding."
                )
            in_ch, length = out_ch, out_len
        self.patch_size = int(patch_size)
        self.emb_dim = in_ch * length
        self.proj_in = nn.Sequential(*layers)
        self.spectral_proj = nn.Sequential(
            nn.Linear(patch_size // 2 + 1, self.emb_dim), nn.Dropout(spectral_dropout)
        )

    def embed(self, patches: torch.Tensor) -> torch.Tensor:
        """Embed patches ``(batch, n_chans, n_patches, patch_size)`` into
        ``(batch, n_chans, n_patches, emb_dim)``."""
        B, C, N, P = patches.shape
        t = self.proj_in(patches.reshape(B, 1, C * N, P))
        out_ch, L = t.shape[1], t.shape[3]
        t = t.reshape(B, out_ch, C, N, L).permute(0, 2, 3, 1, 4).reshape(B, C, N, out_ch * L)
        # torch.fft rejects half precision on CPU: take the spectrum in float32.
        src = patches.float() if patches.dtype in (torch.float16, torch.bfloat16) else patches
        spec = torch.fft.rfft(src, dim=-1, norm="forward").abs().to(patches.dtype)
        return t + self.spectral_proj(spec)
