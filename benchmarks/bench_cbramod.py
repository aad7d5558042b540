"""CBraMod inference speed: the reference implementation vs skeegfm's encoder.

Windows of 19 channels x 4 s and x 30 s at 200 Hz, batch 32 and 1, 2 threads
(``--threads``),
``torch.inference_mode``. Both models hold the same weights; ours is the
frozen copy the estimators run (:func:`skeegfm.models._fast.optimize_for_inference`).
Timings are interleaved (baseline, ours, ours under bfloat16 autocast, again,
``--rounds`` times) and the median of each is reported, so that load from other
processes hits all of them alike; on a shared machine read the ratios, not the
absolute numbers. Columns: windows/s, GFLOP/s (the FLOPs of the reference
computation, counted once on the baseline by ``FlopCounterMode``), the float32
and bfloat16 speed-ups over the float32 baseline, and the largest absolute
difference of the float32 logits relative to their largest magnitude.

Baseline: braindecode's ``CBraMod`` with the same weights when importable (run
with braindecode on ``PYTHONPATH``, e.g. a ``pip install --target`` directory
outside the repository), else our own eager float32 model
(``skeegfm.models.CBraMod`` without ``optimize_for_inference``).

Run with ``PYTHONPATH=.:/path/to/braindecode-site python benchmarks/bench_cbramod.py``;
``--quick`` runs only 4 s windows, ``--profile`` prints the operator profile of
our path.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _timing import braindecode_models, count_flops, setup_threads  # noqa: E402

from skeegfm.models._fast import autocast_context, optimize_for_inference  # noqa: E402
from skeegfm.models.cbramod import CBraMod  # noqa: E402

SFREQ = 200
N_CHANS = 19


def _models(n_times):
    torch.manual_seed(0)
    model = CBraMod(n_chans=N_CHANS, n_times=n_times, n_outputs=2).eval()
    bd = braindecode_models()
    if bd is not None and hasattr(bd, "CBraMod"):
        ref = bd.CBraMod(n_chans=N_CHANS, n_times=n_times, n_outputs=2).eval()
        ref.load_state_dict(model.state_dict())
        base, name = ref, "braindecode"
    else:
        torch.manual_seed(0)
        base = CBraMod(n_chans=N_CHANS, n_times=n_times, n_outputs=2).eval()
        base.load_state_dict(model.state_dict())
        name = "skeegfm eager float32"
    return base.requires_grad_(False), optimize_for_inference(model), name


def _interleaved(fns, rounds, inner):
    """Median seconds per call of each function, timed in interleaved rounds."""
    times = {key: [] for key in fns}
    for fn in fns.values():
        fn()  # warm-up (packing, allocator)
    for _ in range(rounds):
        for key, fn in fns.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times[key].append((time.perf_counter() - start) / inner)
    return {key: statistics.median(values) for key, values in times.items()}


def run(seconds_list, batches, rounds, profile=False, threads=2):
    setup_threads(threads)
    rows = []
    for seconds in seconds_list:
        n_times = seconds * SFREQ
        base, fast, base_name = _models(n_times)
        for batch in batches:
            x = torch.randn(batch, N_CHANS, n_times)
            with torch.inference_mode():
                flops = count_flops(base, x)
                ref_out = base(x)
                diff = ((fast(x) - ref_out).abs().max() / ref_out.abs().max()).item()

                def bf16():
                    with autocast_context("cpu", "bfloat16"):
                        return fast(x)

                inner = 1 if batch * seconds > 40 else 5
                t = _interleaved({"base": lambda: base(x), "fp32": lambda: fast(x), "bf16": bf16}, rounds, inner)
            rows.append((seconds, batch, base_name, t["base"], t["fp32"], t["bf16"], flops, diff))
            print(_format(rows[-1]), flush=True)
            if profile:
                _profile(fast, x)
    return rows


def _format(row):
    seconds, batch, _, t_base, t_fast, t_bf16, flops, diff = row
    return (
        f"| 19x{seconds} s | {batch:>2} | {batch / t_base:8.1f} | {batch / t_fast:8.1f} "
        f"| {batch / t_bf16:8.1f} | {flops / t_base / 1e9:6.1f} | {flops / t_fast / 1e9:6.1f} "
        f"| {t_base / t_fast:5.2f}x | {t_base / t_bf16:5.2f}x | {diff:.1e} |"
    )


def _profile(model, x):
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            model(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s windows only")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--profile", action="store_true", help="print an operator profile")
    args = parser.parse_args(argv)
    seconds_list = (4,) if args.quick else (4, 30)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} -> {args.threads} threads")
    print(
        "| window | batch | base win/s | fp32 win/s | bf16 win/s | base GFLOP/s | fp32 GFLOP/s "
        "| fp32 speed-up | bf16 speed-up | max rel diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = run(seconds_list, (32, 1), args.rounds, profile=args.profile, threads=args.threads)
    print(f"baseline: {rows[0][2]}")


if __name__ == "__main__":
    main()
