"""CodeBrain inference speed: baseline vs skeegfm's optimised evaluation path.

Windows of 19 channels x 4 s and x 30 s at 200 Hz, batch 1 and 32, 2 threads,
``torch.inference_mode``, median wall time after warm-up. Reports windows/s,
GFLOP/s (the FLOPs of the reference computation, counted once on the baseline
by ``FlopCounterMode``: matmuls, convolutions and attention, not the FFTs, so
both columns divide the same work), the speed-up and the largest absolute
difference of the logits.

Baseline: braindecode's ``CodeBrain`` with the same weights when importable,
else our plain eager path (``fast_inference=False``: the kernel spectra,
weight norm and attention recomputed on every call, as the reference does).

Run with ``PYTHONPATH=/work/main /work/bdvenv/bin/python benchmarks/bench_codebrain.py``
(or the project's venv); ``--quick`` runs only 4 s windows, ``--profile``
prints the operator profile of the optimised path.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _timing import braindecode_models, count_flops, median_time, setup_threads  # noqa: E402

from skeegfm.models.codebrain import CodeBrain  # noqa: E402

SFREQ = 200
N_CHANS = 19


def _build(n_times):
    torch.manual_seed(0)
    model = CodeBrain(n_chans=N_CHANS, n_times=n_times, n_outputs=2).eval()
    with torch.no_grad():  # sets kernel_norm like a loaded checkpoint
        model(torch.randn(1, N_CHANS, n_times))
    return model


def _baseline(model, n_times):
    bd = braindecode_models()
    if bd is not None and hasattr(bd, "CodeBrain"):
        ref = bd.CodeBrain(n_chans=N_CHANS, n_times=n_times, n_outputs=2).eval()
        ref.load_state_dict(model.state_dict())
        return ref, "braindecode"
    plain = copy.deepcopy(model)
    plain.fast_inference = False
    return plain, "skeegfm plain eager"


def _optimised(model):
    fast = copy.deepcopy(model)
    fast.fast_inference = True
    try:
        from skeegfm.models._fast import optimize_for_inference
    except ImportError:
        return fast.eval()
    return optimize_for_inference(fast, inplace=True)


def run(seconds_list, batches, profile=False):
    setup_threads(2)
    rows = []
    for seconds in seconds_list:
        n_times = seconds * SFREQ
        model = _build(n_times)
        base, base_name = _baseline(model, n_times)
        fast = _optimised(model)
        frozen = copy.deepcopy(base).requires_grad_(False)
        for batch in batches:
            x = torch.randn(batch, N_CHANS, n_times)
            with torch.inference_mode():
                # FlopCounterMode's module tracker trips over weight-norm parametrisations
                # of parameters that require grad: count on a frozen copy
                flops = count_flops(frozen, x)
                ref_out = base(x)
                out = fast(x)
                diff = (out - ref_out).abs().max().item()
                repeat = 3 if batch * seconds > 100 else 7
                t_base = median_time(lambda: base(x), warmup=1, repeat=repeat)
                t_fast = median_time(lambda: fast(x), warmup=1, repeat=repeat)
            rows.append((seconds, batch, base_name, t_base, t_fast, flops, diff))
            print(_format(rows[-1]), flush=True)
            if profile:
                _profile(fast, x)
    return rows


def _format(row):
    seconds, batch, base_name, t_base, t_fast, flops, diff = row
    return (
        f"| 19x{seconds} s | {batch:>2} | {batch / t_base:8.2f} | {batch / t_fast:8.2f} "
        f"| {flops / t_base / 1e9:6.1f} | {flops / t_fast / 1e9:6.1f} | {t_base / t_fast:5.2f}x "
        f"| {diff:.1e} |"
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
    parser.add_argument("--profile", action="store_true", help="print an operator profile")
    args = parser.parse_args(argv)
    seconds_list = (4,) if args.quick else (4, 30)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} -> 2 threads")
    print("| window | batch | base win/s | ours win/s | base GFLOP/s | ours GFLOP/s | speed-up | max abs diff |")
    print("|---|---|---|---|---|---|---|---|")
    rows = run(seconds_list, (1, 32), profile=args.profile)
    print(f"baseline: {rows[0][2]}")


if __name__ == "__main__":
    main()
