"""Shared helpers of the benchmark scripts: timing, FLOP counting, the baseline.

Benchmarks report ratios against a baseline measured in the same run: the
reference implementation (braindecode) when it is importable, else our own
plain float32 eager path.
"""

from __future__ import annotations

import statistics
import time

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


def braindecode_models():
    """Return ``braindecode.models`` when importable (baseline), else ``None``."""
    try:
        import braindecode.models as bd_models
    except Exception:  # noqa: BLE001 - any import failure means "no baseline"
        return None
    return bd_models
