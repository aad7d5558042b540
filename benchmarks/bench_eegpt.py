"""EEGPT inference speed on CPU: the reference against our fast paths.

Windows of 19 channels x 4 s at 256 Hz (1024 samples, the pretraining
window), batch 1 and 32, 2 threads, ``torch.inference_mode``, median wall time
after warm-up. Every model holds the same (random) weights. Reported per
variant: windows/s, achieved GFLOP/s (FLOPs of the work that variant does,
counted on its eager equivalent), speed-up over the baseline, max abs
difference of the encoder output ``z`` from the baseline (same patching only)
and, for bfloat16, the cosine similarity of the embeddings to float32.

``--bound`` adds a row that is not a usable model: our fast path with every
block but the last reduced to its matrix products, attention and LayerNorms
(no biases, no GELU, no residual additions; its outputs are wrong). Its time
bounds from below what any float32 path doing our matrix products at this
machine's matmul rate can reach, and so bounds the float32 speed-up.

Baseline: braindecode's ``EEGPT`` (the reference implementation) with
``chan_proj_type="none"`` when importable, else our plain eager float32 path
(full last block, no pre-packing).

Run from the repository root::

    PYTHONPATH=. /work/bdvenv/bin/python benchmarks/bench_eegpt.py   # with the reference
    python benchmarks/bench_eegpt.py --batch-sizes 1                 # our baseline
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics

import torch
import torch.nn.functional as F
from _timing import braindecode_models, count_flops, median_time, setup_threads

from skeegfm._channels import STANDARD_19_CHANNELS
from skeegfm.models import EEGPT
from skeegfm.models._fast import autocast_context, optimize_for_inference
from skeegfm.models._layers import TransformerBlock

N_TIMES, SFREQ = 1024, 256.0


def _encoder_kwargs(**extra):
    return dict(
        n_chans=len(STANDARD_19_CHANNELS),
        n_times=N_TIMES,
        sfreq=SFREQ,
        chs_info=[{"ch_name": n} for n in STANDARD_19_CHANNELS],
        chan_proj_type="none",
        return_encoder_output=True,
        **extra,
    )


def _eager(state, summary_only=True, **extra):
    model = EEGPT(**_encoder_kwargs(**extra)).eval()
    model.load_state_dict(state, strict=True)
    model.target_encoder.summary_only_last_block = summary_only
    return model


class _MatmulsOnlyBlock(TransformerBlock):
    """Lower-bound stand-in for a block (``--bound``): its matrix products,
    attention and LayerNorms only, without biases, GELU or residuals. Wrong
    outputs; timing only."""

    def forward(self, x):
        attn, mlp = self.attn, self.mlp
        B, N, D = x.shape
        rows = self.norm1(x).reshape(B * N, D)
        qkv = torch.mm(rows, attn.qkv.weight.t()).reshape(B, N, 3, attn.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B * N, D)
        x = torch.mm(out, attn.proj.weight.t()).reshape(B, N, D)
        hidden = torch.mm(self.norm2(x).reshape(B * N, D), mlp.fc1.weight.t())
        return torch.mm(hidden, mlp.fc2.weight.t()).reshape(B, N, D)


def _matmuls_only(fast):
    bound = copy.deepcopy(fast)
    for block in bound.target_encoder.blocks[:-1]:  # the last block is summary-only
        block.__class__ = _MatmulsOnlyBlock
    return bound


def build_variants(bound=False):
    """Rows of (name, model to time, eager model for FLOP counting, precision,
    patching compared: "overlap" (the baseline's), "stride64" or None)."""
    torch.manual_seed(0)
    state = EEGPT(**_encoder_kwargs()).state_dict()
    plain = _eager(state, summary_only=False)
    eager = _eager(state)
    eager_nonoverlap = _eager(state, patch_stride=64)
    bd = braindecode_models()
    if bd is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # MNE montage deprecation
            baseline = bd.EEGPT(**_encoder_kwargs()).eval()
        baseline.load_state_dict(state, strict=True)
        baseline_name = "braindecode 1.8.1 EEGPT (reference), fp32"
    else:
        baseline, baseline_name = copy.deepcopy(plain), "ours plain eager fp32 (no reference)"
    fast = optimize_for_inference(eager)
    fast_one_pass = optimize_for_inference(eager)
    fast_one_pass.target_encoder.inference_chunk_tokens = 2**62  # all sequences at once
    fast_nonoverlap = optimize_for_inference(eager_nonoverlap)
    variants = [
        (baseline_name, baseline, baseline, "float32", "overlap"),
        ("ours eager fp32, full last block", plain, plain, "float32", "overlap"),
        ("ours eager fp32, summary-only last block", eager, eager, "float32", "overlap"),
        ("ours fast fp32, one pass (no grouping)", fast_one_pass, eager, "float32", "overlap"),
        ("ours fast fp32 (pre-packed + summary-only)", fast, eager, "float32", "overlap"),
        ("ours fast bf16 autocast", fast, eager, "bfloat16", "overlap"),
        ("ours fast fp32, stride 64 (non-overlapping)", fast_nonoverlap, eager_nonoverlap,
         "float32", "stride64"),
        ("ours fast bf16, stride 64 (non-overlapping)", fast_nonoverlap, eager_nonoverlap,
         "bfloat16", "stride64"),
    ]
    if bound:
        variants.append(
            ("bound: fast fp32 matmuls+SDPA+LN only (wrong)", _matmuls_only(fast), eager,
             "float32", None)
        )
    return variants


def run(batch_sizes, threads, rounds=None, bound=False):
    """Time every variant; rounds are interleaved (each round times each variant
    once) so that load drifting on a shared machine biases no variant."""
    setup_threads(threads)
    variants = build_variants(bound)
    rows = []
    for batch in batch_sizes:
        gen = torch.Generator().manual_seed(batch)
        x = torch.randn(batch, len(STANDARD_19_CHANNELS), N_TIMES, generator=gen)
        n_rounds = rounds or (7 if batch <= 4 else 3)
        calls, outputs = [], []
        for _, model, _, precision, _ in variants:

            def call(model=model, precision=precision):
                with torch.inference_mode(), autocast_context("cpu", precision):
                    return model(x)

            calls.append(call)
            outputs.append(call().float())  # warm-up, and the output compared below
        times = [[] for _ in variants]
        for _ in range(n_rounds):
            for i, call in enumerate(calls):
                times[i].append(median_time(call, warmup=0, repeat=1))
        seconds = [statistics.median(t) for t in times]
        fp32_out = {}
        for (name, _, counted, precision, geometry), t, out in zip(variants, seconds, outputs):
            if precision == "float32" and geometry is not None:
                fp32_out.setdefault(geometry, out)
            flops = count_flops(counted, x)
            row = dict(
                batch=batch,
                variant=name,
                seconds=t,
                windows_per_s=batch / t,
                gflop_per_s=flops / t / 1e9,
                gflop_per_window=flops / batch / 1e9,
                speedup=seconds[0] / t,
                max_abs_diff=(
                    (out - outputs[0]).abs().max().item() if geometry == "overlap" else None
                ),
                cos_vs_fp32=None,
            )
            if precision != "float32":
                cos = torch.nn.functional.cosine_similarity(
                    out.flatten(1), fp32_out[geometry].flatten(1)
                )
                row["cos_vs_fp32"] = cos.min().item()
            rows.append(row)
            print(_format_row(row), flush=True)
    return rows


def _format_row(r):
    diff = "-" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.1e}"
    cos = "-" if r["cos_vs_fp32"] is None else f"{r['cos_vs_fp32']:.5f}"
    return (
        f"| {r['batch']:>2} | {r['variant']:<46} | {r['windows_per_s']:8.2f} | "
        f"{r['gflop_per_s']:7.1f} | {r['gflop_per_window']:6.1f} | {r['speedup']:5.2f}x | "
        f"{diff:>7} | {cos:>7} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, help="timed rounds (default 7 at batch <= 4, else 3)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument(
        "--bound", action="store_true", help="add the matmuls-only lower-bound row (see above)"
    )
    args = parser.parse_args(argv)
    print(
        f"EEGPT, 19 channels x {N_TIMES} samples ({N_TIMES / SFREQ:g} s at {SFREQ:g} Hz), "
        f"{args.threads} threads, torch {torch.__version__}"
    )
    print(
        "| batch | variant | windows/s | GFLOP/s | GFLOP/window | speed-up | max abs diff | "
        "min cos bf16 vs fp32 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = run(args.batch_sizes, args.threads, args.rounds, args.bound)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
