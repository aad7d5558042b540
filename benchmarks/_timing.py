"""Shared helpers of the benchmark scripts: timing, FLOP counting, the baseline.

Benchmarks report ratios against a baseline measured in the same run: the
reference implementation (braindecode) when it is importable, else our own
plain float32 eager path.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import statistics
import sys
import time
import types

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["braindecode_models", "count_flops", "median_time", "setup_threads"]


def setup_threads(n_threads: int = 2) -> None:
    """Pin torch to ``n_threads`` intra-op threads (the CI machine has 2 cores)."""
    torch.set_num_threads(n_threads)


def median_time(fn, *, warmup: int = 2, repeat: int = 5, min_seconds: float = 0.0) -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` calls.

    Runs at least ``repeat`` timed calls, and more until ``min_seconds`` of
    timed work have accumulated.
    """
    for _ in range(warmup):
        fn()
    times = []
    while len(times) < repeat or sum(times) < min_seconds:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_flops(model: torch.nn.Module, x: torch.Tensor, **kwargs) -> int:
    """FLOPs of one ``model(x, **kwargs)`` call, counted by torch's FlopCounterMode
    (matmuls, convolutions and SDPA; a multiply-add counts as 2)."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x, **kwargs)
    return counter.get_total_flops()


class _TorchaudioPlaceholder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Placeholder ``torchaudio`` package, installed only when torchaudio is
    missing: braindecode imports it at package import for filter-bank and
    resampling models that none of our three baselines uses (no torchaudio
    wheel matches torch 2.13 here). Using any placeholder name raises."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchaudio" or name.startswith("torchaudio."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []

        class _Unavailable:
            def __init__(self, *args, **kwargs):
                raise RuntimeError("torchaudio is not installed (benchmark placeholder)")

        def __getattr__(name):
            if name.startswith("__"):
                raise AttributeError(name)
            return _Unavailable

        module.__getattr__ = __getattr__
        return module

    def exec_module(self, module):
        pass


def braindecode_models():
    """Return ``braindecode.models`` (the reference implementation, used as the
    baseline) when braindecode is installed, else ``None``."""
    if importlib.util.find_spec("braindecode") is None:
        return None
    if importlib.util.find_spec("torchaudio") is None:
        sys.meta_path.append(_TorchaudioPlaceholder())
    try:
        import braindecode.models as bd_models
    except Exception:  # noqa: BLE001 - any import failure means "no baseline"
        return None
    return bd_models
