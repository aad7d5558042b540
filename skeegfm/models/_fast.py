"""CPU inference speed-ups shared by the encoders.

Two helpers, both safe to call on any encoder of this package:

- :func:`optimize_for_inference` returns an eval-mode, frozen deep copy of a
  model whose :class:`torch.nn.Linear` layers run through oneDNN with weights
  reordered ("pre-packed") once, instead of on every call. Where the model has
  the pattern ``fc1 -> GELU`` (:class:`~skeegfm.models._layers.Mlp`) the GELU
  is fused into the matmul, and BEiT-style query/value biases
  (:class:`~skeegfm.models._layers.Attention` with ``qkv_bias="qv"``) are
  folded into one bias. Parameter names and values are unchanged, so the copy
  has the same ``state_dict`` as the original, and float32 outputs agree with
  the eager model to float32 round-off.
- :func:`autocast_context` returns the ``torch.autocast`` context of a
  precision (``"bfloat16"`` on CPU, ``"float16"``/``"bfloat16"`` on CUDA) or a
  no-op context for ``"float32"``. Pre-packed layers honour CPU bfloat16
  autocast with bfloat16 weights packed on first use.

When oneDNN is unavailable (``torch.backends.mkldnn.is_available()`` is
False) or the input is not a CPU float32/bfloat16 tensor, the layers fall back
to :func:`torch.nn.functional.linear`. oneDNN's bfloat16 kernels need
AVX-512 (BW, VL, DQ) or AVX-NE-CONVERT; on other CPUs (e.g. AVX2 only) bfloat16
calls go through :func:`torch.nn.functional.linear` under autocast, which
works everywhere (slower). The check is torch's own
(``torch.ops.mkldnn._is_mkldnn_bf16_supported``); setting the environment
variable ``SKEEGFM_NO_ONEDNN_BF16=1`` forces that fallback.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os

import torch
import torch.nn.functional as F
from torch import nn

from ._layers import Attention, Mlp, TransformerBlock

__all__ = [
    "PackedLinear",
    "autocast_context",
    "mkldnn_available",
    "mkldnn_bf16_available",
    "optimize_for_inference",
]

_PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def mkldnn_available() -> bool:
    """Whether oneDNN's pre-packed linear kernels can be used in this process."""
    try:
        ops = torch.ops.mkldnn
        return bool(
            torch.backends.mkldnn.is_available()
            and hasattr(ops, "_linear_pointwise")
            and hasattr(ops, "_reorder_linear_weight")
        )
    except (AttributeError, RuntimeError):
        return False


_MKLDNN = mkldnn_available()


def mkldnn_bf16_available() -> bool:
    """Whether oneDNN's bfloat16 linear kernels run on this CPU.

    torch's own check (``torch.ops.mkldnn._is_mkldnn_bf16_supported``): true
    with AVX-512 BW/VL/DQ or AVX-NE-CONVERT on x86, or the ARM equivalents.
    Without them ``torch.ops.mkldnn._reorder_linear_weight`` raises for
    bfloat16 weights ("bf16 path needs the cpu support ...").
    """
    if not _MKLDNN:
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


_MKLDNN_BF16 = mkldnn_bf16_available()
#: Environment variable that forces bfloat16 through ``F.linear`` (the path of
#: CPUs without oneDNN bfloat16 support), e.g. to test it on any machine.
NO_ONEDNN_BF16_ENV = "SKEEGFM_NO_ONEDNN_BF16"
_logger = logging.getLogger("skeegfm")
_told_bf16_fallback = False


def _onednn_bf16() -> bool:
    """Whether bfloat16 calls may use the pre-packed oneDNN kernels now."""
    global _told_bf16_fallback
    forced_off = os.environ.get(NO_ONEDNN_BF16_ENV, "").strip() not in ("", "0")
    usable = _MKLDNN_BF16 and not forced_off
    if not usable and not _told_bf16_fallback:
        _told_bf16_fallback = True
        _logger.info(
            "bfloat16 linear layers run through F.linear under autocast: %s.",
            f"{NO_ONEDNN_BF16_ENV} is set" if forced_off
            else "this CPU lacks oneDNN's bfloat16 support (AVX-512 BW/VL/DQ or AVX-NE-CONVERT)",
        )
    return usable


def autocast_context(device, precision: str = "float32"):
    """Mixed-precision context for inference on ``device``.

    Parameters
    ----------
    device : str | torch.device
        Device the model runs on (``"cpu"``, ``"cuda"``, ``"cuda:0"``, ...).
    precision : {"float32", "bfloat16", "float16"}
        ``"float32"`` gives a no-op context; the others give
        ``torch.autocast(device_type, dtype)``.

    Returns
    -------
    ctx : contextlib.AbstractContextManager
        Use as ``with autocast_context("cpu", "bfloat16"): model(x)``.

    Raises
    ------
    ValueError
        If ``precision`` is unknown, or ``"float16"`` is asked for on CPU
        (slow and poorly supported there; use ``"bfloat16"``).
    """
    if precision not in _PRECISIONS:
        raise ValueError(
            f"precision must be one of {sorted(_PRECISIONS)}, got {precision!r}."
        )
    device_type = torch.device(device).type
    dtype = _PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    if device_type == "cpu" and dtype is torch.float16:
        raise ValueError('precision="float16" is not supported on CPU; use "bfloat16".')
    return torch.autocast(device_type=device_type, dtype=dtype)


def _cpu_autocast_dtype():
    """The CPU autocast dtype when CPU autocast is on, else None."""
    if torch.is_autocast_enabled("cpu"):
        return torch.get_autocast_dtype("cpu")
    return None


class PackedLinear(nn.Module):
    """Inference-only drop-in for :class:`torch.nn.Linear` with oneDNN pre-packed weights.

    Holds the same ``weight`` and ``bias`` parameters as the layer it
    replaces (same ``state_dict``); the packed copies live outside the
    state_dict and are rebuilt after unpickling or deep-copying.

    Parameters
    ----------
    linear : nn.Linear
        Layer to wrap (its parameters are shared, not copied).
    fused_activation : {None, "gelu"}
        Activation applied inside the matmul (exact erf GELU).
    bias_override : torch.Tensor | None
        Bias to use instead of ``linear.bias`` (e.g. the folded
        ``[q_bias, 0, v_bias]`` of BEiT-style attention). Not a parameter.

    Notes
    -----
    Input ``(..., in_features)``, output ``(..., out_features)``. Under CPU
    bfloat16 autocast the input is cast to bfloat16 and the output is
    bfloat16, as autocast does for ``nn.Linear``. Float32 calls with fewer
    than ``min_rows`` rows on a weight of fewer than ``small_weight`` entries
    go through :func:`torch.nn.functional.linear`, which is faster there.
    """

    #: Calls with fewer rows than this on a weight with fewer entries than
    #: ``small_weight`` use ``F.linear`` (MKL), which is faster there (measured
    #: on EEG-DINO-Small at batch 1: 77 rows on 200 x 600 weights).
    min_rows = 512
    small_weight = 2**18

    def __init__(self, linear: nn.Linear, fused_activation=None, bias_override=None):
        super().__init__()
        if fused_activation not in (None, "gelu"):
            raise ValueError(f"fused_activation must be None or 'gelu', got {fused_activation!r}.")
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias
        self.fused_activation = fused_activation
        self._bias_override = None if bias_override is None else bias_override.detach()
        self._packed = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_packed"] = {}
        return state

    def __deepcopy__(self, memo):
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for name, value in self.__dict__.items():
            new.__dict__[name] = {} if name == "_packed" else copy.deepcopy(value, memo)
        return new

    def _effective_bias(self):
        return self._bias_override if self._bias_override is not None else self.bias

    def _pack(self, dtype):
        packed = self._packed.get(dtype)
        if packed is None:
            with torch.inference_mode(False), torch.no_grad():
                weight = self.weight.detach().to(dtype)
                packed = torch.ops.mkldnn._reorder_linear_weight(weight)
                bias = self._effective_bias()
                bias = None if bias is None else bias.detach().to(dtype).clone()
            packed = (packed, bias)
            self._packed[dtype] = packed
        return packed

    def _usable(self, x, dtype) -> bool:
        return (
            x.device.type == "cpu"
            and dtype in (torch.float32, torch.bfloat16)
            and self.weight.device.type == "cpu"
            and not (torch.is_grad_enabled() and self.weight.requires_grad)
            and _MKLDNN
            and (dtype != torch.bfloat16 or _onednn_bf16())
            and not self._small_float32_matmul(x, dtype)
        )

    def _small_float32_matmul(self, x, dtype) -> bool:
        """Few float32 rows on a small weight: MKL's ``F.linear`` beats oneDNN there."""
        return (
            dtype == torch.float32
            and self.in_features * self.out_features < self.small_weight
            and x.numel() < self.min_rows * self.in_features
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = _cpu_autocast_dtype() or x.dtype
        if not self._usable(x, dtype):
            out = F.linear(x, self.weight, self._effective_bias())
            return F.gelu(out) if self.fused_activation == "gelu" else out
        weight, bias = self._pack(dtype)
        x = x.to(dtype)
        if self.fused_activation == "gelu":
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [], "none")
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")

    def forward_add(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """``self(x) + other`` with the addition fused into the matmul when the
        dtypes allow it (``other`` has the output's shape)."""
        dtype = _cpu_autocast_dtype() or x.dtype
        if (
            self.fused_activation is not None
            or other.dtype != dtype
            or other.device.type != "cpu"
            or not self._usable(x, dtype)
        ):
            return self(x) + other
        weight, bias = self._pack(dtype)
        return torch.ops.mkldnn._linear_pointwise.binary(
            x.to(dtype), other.contiguous(), weight, bias, "add"
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, fused_activation={self.fused_activation}"
        )


class _FoldedBiasAttention(Attention):
    """:class:`Attention` whose ``[q_bias, 0, v_bias]`` is folded into ``qkv``.

    Only produced by :func:`optimize_for_inference` (by swapping the class of
    an existing instance), so it keeps the parameters and state_dict keys.
    """

    def _qkv(self, x: torch.Tensor) -> torch.Tensor:
        return self.qkv(x)


class _FusedResidualBlock(TransformerBlock):
    """:class:`TransformerBlock` whose residual additions are fused into the
    attention projection and the second MLP layer (eval mode only).

    Only produced by :func:`optimize_for_inference`, by swapping the class of
    an existing instance whose ``attn.proj`` and ``mlp.fc2`` are
    :class:`PackedLinear`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        attn = self.attn
        B, N, _ = x.shape
        qkv = attn._qkv(self.norm1(x)).reshape(B, N, 3, attn.num_heads, attn.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, -1)
        x = attn.proj.forward_add(out, x)
        mlp = self.mlp
        return mlp.fc2.forward_add(mlp.act(mlp.fc1(self.norm2(x))), x)


def _is_exact_gelu(module) -> bool:
    return type(module) is nn.GELU and module.approximate == "none"


def optimize_for_inference(model: nn.Module, *, inplace: bool = False) -> nn.Module:
    """Return an eval-mode, frozen copy of ``model`` with pre-packed oneDNN linears.

    Every :class:`torch.nn.Linear` is replaced by :class:`PackedLinear`
    (same parameters). An exact GELU after ``fc1`` is fused into the matmul
    and BEiT-style ``q_bias``/``v_bias`` are folded into the packed ``qkv``
    (only for the shared blocks :class:`~skeegfm.models._layers.Mlp`
    and :class:`~skeegfm.models._layers.Attention`, whose forward is known). A
    module whose class defines ``_optimize_for_inference(self)`` then applies
    its own fusions (e.g. CBraMod's criss-cross layers). ``state_dict`` keys
    and values are those of ``model``.

    Parameters
    ----------
    model : nn.Module
        Any module (not modified unless ``inplace=True``).
    inplace : bool
        Convert ``model`` itself instead of a deep copy.

    Returns
    -------
    fast : nn.Module
        The converted model in eval mode with ``requires_grad=False``. When
        oneDNN is unavailable the copy is returned unchanged otherwise (the
        eager path), so callers never need to check.

    Notes
    -----
    For inference only: the copy is frozen and later changes to the original
    weights are not seen by it. Run it under :func:`torch.inference_mode`.
    """
    fast = model if inplace else copy.deepcopy(model)
    fast.eval()
    fast.requires_grad_(False)
    if not _MKLDNN:
        return fast
    for module in list(fast.modules()):
        if isinstance(module, Attention) and module.q_bias is not None:
            q, v = module.q_bias.detach(), module.v_bias.detach()
            folded = torch.cat((q, torch.zeros_like(v), v))
            module.qkv = PackedLinear(module.qkv, bias_override=folded)
            module.__class__ = _FoldedBiasAttention
        if isinstance(module, Mlp) and type(module.fc1) is nn.Linear and _is_exact_gelu(module.act):
            # Mlp computes fc2(hidden_drop(act(fc1(x)))): fc1 and GELU fuse.
            module.fc1 = PackedLinear(module.fc1, fused_activation="gelu")
            module.act = nn.Identity()
        if type(module) is nn.Sequential:
            children = list(module)
            for i, child in enumerate(children[:-1]):
                if type(child) is nn.Linear and _is_exact_gelu(children[i + 1]):
                    module[i] = PackedLinear(child, fused_activation="gelu")
                    module[i + 1] = nn.Identity()
        for name, child in list(module.named_children()):
            if type(child) is nn.Linear:
                setattr(module, name, PackedLinear(child))
    for module in list(fast.modules()):
        if (
            type(module) is TransformerBlock
            and isinstance(module.attn.proj, PackedLinear)
            and isinstance(module.mlp.fc2, PackedLinear)
            and type(module.attn) in (Attention, _FoldedBiasAttention)
            and type(module.mlp) is Mlp
        ):
            # Dropout and DropPath are identities in eval mode.
            module.__class__ = _FusedResidualBlock
    for module in list(fast.modules()):
        # Model-specific fusions: a module class may define
        # ``_optimize_for_inference(self)``, called once on the frozen copy.
        hook = getattr(type(module), "_optimize_for_inference", None)
        if callable(hook):
            hook(module)
    return fast
