"""CPU inference speed of EEG-DINO: baseline vs our float32 fast path vs bfloat16.

Run (from the repository root)::

    PYTHONPATH=. /work/bdvenv/bin/python benchmarks/bench_eegdino.py
    .venv/bin/python benchmarks/bench_eegdino.py          # no braindecode: own baseline

For EEG-DINO-Small and -Medium, 19 channels x 4 s at 200 Hz (800 samples),
batch sizes 1 and 32, it times the default forward (logits) of

- ``baseline``: braindecode's ``EEGDINO`` holding the same state_dict when
  braindecode is importable, else our plain eager float32 model;
- ``fp32-fast``: :func:`skeegfm.models._fast.optimize_for_inference` (oneDNN
  pre-packed linears, fused GELU / q-v bias / residual adds), float32;
- ``bf16``: the same model under CPU bfloat16 autocast,

and prints windows/s, achieved GFLOP/s (FLOPs counted by torch's
FlopCounterMode on the float32 model), the speed-up over the baseline, the
largest absolute difference of the fast path's logits and embeddings from the
baseline's, and the cosine similarity of bfloat16 vs float32 embeddings (mean
patch token per window; the lowest over the batch).

Timing: ``torch.inference_mode``, 2 intra-op threads, the median of
``--rounds`` interleaved rounds, each the median of ``--repeat`` calls after
warm-up (see ``benchmarks/_timing.py``); variants alternate within a round so
that load from other processes hits them alike. On a shared machine,
``--threads 1 --clock cpu`` times the calling thread's CPU clock instead,
which leaves out the time spent waiting for a core; ``--profile`` prints the
top operators of each path.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import braindecode_models, count_flops, median_time, setup_threads  # noqa: E402

from skeegfm.models import EEGDINO, EEGDINO_CONFIGS  # noqa: E402
from skeegfm.models._fast import autocast_context, optimize_for_inference  # noqa: E402

N_CHANS, N_TIMES, N_OUTPUTS = 19, 800, 2


def _baseline_models():
    """``(braindecode.models, note)`` or ``(None, reason)``."""
    bd = braindecode_models()
    if bd is not None:
        return bd, "braindecode"
    return None, "own eager float32 (braindecode not importable)"


def _build(size, bd):
    torch.manual_seed(0)
    kwargs = dict(n_chans=N_CHANS, n_outputs=N_OUTPUTS, n_times=N_TIMES, sfreq=200.0,
                  **EEGDINO_CONFIGS[size])
    ours = EEGDINO(**kwargs).eval()
    if bd is None:
        return ours, ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline = bd.EEGDINO(**kwargs).eval()
    baseline.load_state_dict(ours.state_dict(), strict=True)
    return ours, baseline


def _median_cpu_time(fn, *, warmup=2, repeat=5, min_seconds=0.0):
    """Like ``_timing.median_time`` but on the calling thread's CPU clock.

    With one intra-op thread all work runs on the calling thread, so its CPU
    time leaves out the time the thread waits for a core: a load-independent
    measure on a shared machine (wall time is what users see, though).
    """
    for _ in range(warmup):
        fn()
    times = []
    while len(times) < repeat or sum(times) < min_seconds:
        start = time.thread_time()
        fn()
        times.append(time.thread_time() - start)
    return statistics.median(times)


def _embedding(model, x):
    return model(x, return_features=True)["features"].float().mean(dim=1)


def _profile(variants, n_calls=3, row_limit=8):
    """Print the ops that take the most time in each variant (torch.profiler)."""
    from torch.profiler import profile

    for name, fn in variants.items():
        with torch.inference_mode():
            fn()
            with profile() as prof:
                for _ in range(n_calls):
                    fn()
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events) or 1
        top = ", ".join(
            f"{e.key} {100 * e.self_cpu_time_total / total:.0f}%" for e in events[:row_limit]
        )
        print(f"  profile {name}: {total / n_calls / 1e3:.1f} ms/call: {top}")


def run(sizes, batch_sizes, rounds, repeat, warmup, threads, profile=False, clock="wall"):
    if clock == "cpu" and threads != 1:
        raise ValueError("--clock cpu measures the calling thread only: use --threads 1.")
    timer = median_time if clock == "wall" else _median_cpu_time
    setup_threads(threads)
    bd, baseline_name = _baseline_models()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"mkldnn={torch.backends.mkldnn.is_available()}, baseline: {baseline_name}")
    print(f"input: {N_CHANS} channels x {N_TIMES} samples (4 s at 200 Hz); timing: median of "
          f"{rounds} interleaved rounds x median of {repeat} calls after {warmup} warm-up, "
          f"{clock} clock")
    header = ("| model | batch | path | windows/s | GFLOP/s | speed-up | max abs diff "
              "(logits / emb) vs baseline | bf16 cosine |")
    print()
    print(header)
    print("|" + "---|" * 8)
    rows = []
    for size in sizes:
        ours, baseline = _build(size, bd)
        fast = optimize_for_inference(ours)
        for batch in batch_sizes:
            x = torch.randn(batch, N_CHANS, N_TIMES, generator=torch.Generator().manual_seed(1))
            flops = count_flops(ours, x)

            def bf16_forward(x=x):
                with autocast_context("cpu", "bfloat16"):
                    return fast(x)

            variants = {
                "baseline": lambda x=x: baseline(x),
                "fp32-fast": lambda x=x: fast(x),
                "bf16": bf16_forward,
            }
            with torch.inference_mode():
                ref_logits, ref_emb = baseline(x), _embedding(baseline, x)
                diff_logits = (fast(x) - ref_logits).abs().max().item()
                diff_emb = (_embedding(fast, x) - ref_emb).abs().max().item()
                with autocast_context("cpu", "bfloat16"):
                    bf16_emb = _embedding(fast, x)
                cosine = torch.nn.functional.cosine_similarity(
                    bf16_emb, _embedding(fast, x), dim=1
                ).min().item()
                times = {name: [] for name in variants}
                for _ in range(rounds):
                    for name, fn in variants.items():
                        times[name].append(timer(fn, warmup=warmup, repeat=repeat))
            seconds = {name: statistics.median(t) for name, t in times.items()}
            if profile:
                _profile(variants)
            for name in variants:
                s = seconds[name]
                speedup = seconds["baseline"] / s
                diff = f"{diff_logits:.1e} / {diff_emb:.1e}" if name == "fp32-fast" else ""
                cos = f"{cosine:.5f}" if name == "bf16" else ""
                row = (f"| EEG-DINO-{size.capitalize()} | {batch} | {name} | {batch / s:.2f} | "
                       f"{flops / s / 1e9:.1f} | {speedup:.2f}x | {diff} | {cos} |")
                rows.append(row)
                print(row, flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "medium"],
                        choices=sorted(EEGDINO_CONFIGS))
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall time (default) or the thread's CPU time (needs --threads 1; "
                        "robust to other processes' load)")
    parser.add_argument("--profile", action="store_true",
                        help="also print the top operators of each path (torch.profiler)")
    args = parser.parse_args(argv)
    run(args.sizes, args.batch_sizes, args.rounds, args.repeat, args.warmup, args.threads,
        profile=args.profile, clock=args.clock)


if __name__ == "__main__":
    main()
