"""Training cost of the fine-tuning classifiers on the EEGMAT development epochs (CPU).

For each encoder (released architecture sizes: EEG-DINO small, EEGPT large4E,
CodeBrain, CBraMod; random weights, ``checkpoint=None``, since the cost does not depend
on the values) and each tuning mode, one subprocess (so that the peak memory
is the mode's own) fits the classifier on the 192 bundled EEGMAT epochs
(19 channels, 4 s) and reports

- ``trainable``: number of trained parameters (those handed to AdamW);

- ``setup_s``: fit time outside the epochs (loading, input adaptation, the
  private copy, and for ``linear_probe`` the frozen features, computed once);
- ``epoch_s``: median seconds per training epoch (``history_[i]["dur"]``);
- ``infer_s``: one inference pass over the same 192 epochs with the fitted
  model (``predict_proba``), the baseline measured in the same run;
  ``epoch/infer`` is the ratio;
- ``rss_mb``: peak resident memory of the process (``ru_maxrss``) and
  ``rss_fit_mb``: its increase during ``fit`` (torch's allocations included,
  which tracemalloc would not see).

Modes: ``linear_probe``, ``partial`` (the last 2 blocks, on the kept
activations of the frozen ones), ``partial_recompute`` (the same with
``activation_cache_bytes=0``: the frozen blocks run at every step, as before
the activations were kept), ``lora`` (rank 8 on the default targets) and
``full``; on request also ``lora_attn`` (LoRA on the attention projections
only, the choice of Hu et al. 2022: ``lora_target=["attn.qkv", "attn.proj"]``
for EEG-DINO and EEGPT) and any mode with the suffix ``_ckpt`` (with
``gradient_checkpointing=True``). The modes of an encoder run one after the
other in one invocation (the machine may be shared: read the ratios, printed
after each encoder, rather than the seconds). ``--no-infer`` skips the
inference pass after each fit.

Run: ``python benchmarks/bench_classifiers.py [--threads 2] [--json out.json]``
(``--encoders EEGPT --modes full --epochs 1 --gradient-checkpointing`` for one
cell, with activation checkpointing over the encoder blocks).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

from skeegfm.models import _ENCODER_MODULES  # plain data: no torch import

ENCODERS = tuple(_ENCODER_MODULES)  # every encoder of the package
MODES = ("linear_probe", "partial", "partial_recompute", "lora", "full")
EPOCHS = {"linear_probe": 5, "partial": 2, "partial_recompute": 1, "lora": 1, "lora_attn": 1, "full": 1}


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(encoder: str, mode: str, threads: int, epochs: int, checkpointing=False, infer=True) -> dict:
    import numpy as np
    import torch

    import skeegfm
    from skeegfm import _training
    from skeegfm.datasets import load_eegmat

    torch.set_num_threads(threads)
    data, y, _ = load_eegmat(return_X_y=True, verbose=False)
    cls = getattr(skeegfm, f"{encoder}Classifier")
    trainable = []
    train = _training.train

    def counting_train(**kwargs):  # the parameters handed to AdamW
        trainable.append(sum(p.numel() for p in kwargs["trainable_params"].values()))
        return train(**kwargs)

    _training.train = counting_train
    base = mode.removesuffix("_ckpt")
    checkpointing = checkpointing or mode.endswith("_ckpt")
    extra = {"lora_target": ["attn.qkv", "attn.proj"]} if base == "lora_attn" else {}
    clf = cls(
        checkpoint=None,
        tuning={"partial_recompute": "partial", "lora_attn": "lora"}.get(base, base),
        activation_cache_bytes=0 if base == "partial_recompute" else 2 * 1024**3,
        **extra,
        n_trainable_blocks=2,
        max_epochs=epochs,
        validation_fraction=None,
        batch_size=64,
        device="cpu",
        random_state=0,
        gradient_checkpointing=checkpointing,
    )
    rss_before = _rss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        clf.fit(data, y)
        fit_s = time.perf_counter() - start
        rss_fit = _rss_mb()
        start = time.perf_counter()
        if infer:
            clf.predict_proba(data)
        infer_s = time.perf_counter() - start if infer else float("nan")
    durs = [h["dur"] for h in clf.history_]
    n_params = sum(p.numel() for p in clf.encoder_.parameters())
    return {
        "encoder": encoder,
        "mode": mode,
        "threads": threads,
        "gradient_checkpointing": checkpointing,
        "n_epochs_data": len(y),
        "n_params": int(n_params),
        "trainable": int(trainable[-1]),
        "epochs": epochs,
        "setup_s": fit_s - sum(durs),
        "epoch_s": float(np.median(durs)),
        "epoch_durs": durs,
        "infer_s": infer_s,
        "epoch_over_infer": float(np.median(durs)) / infer_s if infer else float("nan"),
        "rss_mb": _rss_mb(),
        "rss_fit_mb": rss_fit - rss_before,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--encoders", nargs="*", default=list(ENCODERS))
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    parser.add_argument("--epochs", type=int, default=None, help="override epochs per mode")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--gradient-checkpointing", action="store_true", help="checkpoint the encoder blocks"
    )
    parser.add_argument("--no-infer", action="store_true", help="skip the inference pass")
    parser.add_argument("--one", nargs=2, metavar=("ENCODER", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    if args.one:
        encoder, mode = args.one
        epochs = args.epochs or EPOCHS[mode.removesuffix("_ckpt")]
        print(
            json.dumps(
                run_one(
                    encoder, mode, args.threads, epochs, args.gradient_checkpointing, not args.no_infer
                )
            )
        )
        return

    results = []
    header = (
        f"{'encoder':10s} {'mode':17s} {'params':>10s} {'trainable':>10s} {'setup s':>8s} {'s/epoch':>8s} "
        f"{'infer s':>8s} {'ep/inf':>7s} {'peak MB':>8s} {'fit +MB':>8s}"
    )
    print(
        f"EEGMAT development epochs (192 x 19 ch x 4 s), CPU, {args.threads} threads"
        + (", gradient checkpointing" if args.gradient_checkpointing else "")
    )
    print(header)
    for encoder in args.encoders:
        for mode in args.modes:
            cmd = [sys.executable, __file__, "--one", encoder, mode, "--threads", str(args.threads)]
            if args.epochs:
                cmd += ["--epochs", str(args.epochs)]
            if args.gradient_checkpointing:
                cmd += ["--gradient-checkpointing"]
            if args.no_infer:
                cmd += ["--no-infer"]
            env = dict(os.environ, HF_HUB_OFFLINE="1")
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=args.timeout, env=env
                )
            except subprocess.TimeoutExpired:
                print(f"{encoder:10s} {mode:17s} timed out after {args.timeout:.0f} s")
                continue
            if proc.returncode:
                print(f"{encoder:10s} {mode:17s} failed:\n{proc.stderr[-2000:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print(
                f"{encoder:10s} {mode:17s} {r['n_params']:>10,d} {r['trainable']:>10,d} {r['setup_s']:8.2f} "
                f"{r['epoch_s']:8.2f} {r['infer_s']:8.2f} {r['epoch_over_infer']:7.2f} "
                f"{r['rss_mb']:8.0f} {r['rss_fit_mb']:8.0f}",
                flush=True,
            )
        _print_ratios(encoder, [r for r in results if r["encoder"] == encoder])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _print_ratios(encoder, rows):
    """The ratios of issue 18's goals, from the rows of one encoder."""
    by_mode = {r["mode"]: r for r in rows}
    full = by_mode.get("full")
    for name, row in by_mode.items():
        if full and name != "full" and name.startswith(("lora", "full")):
            print(
                f"{encoder}: {name} / full: peak RSS {row['rss_mb'] / full['rss_mb']:.2f}x, "
                f"fit RSS increase {row['rss_fit_mb'] / max(full['rss_fit_mb'], 1):.2f}x, "
                f"s/epoch {row['epoch_s'] / full['epoch_s']:.2f}x"
            )
    kept, again = by_mode.get("partial"), by_mode.get("partial_recompute")
    if kept and again:
        print(
            f"{encoder}: partial, kept activations vs recomputed: "
            f"{again['epoch_s'] / kept['epoch_s']:.1f}x faster per epoch "
            f"(+{kept['setup_s'] - again['setup_s']:.1f} s of setup, once per fit), "
            f"peak RSS {kept['rss_mb'] / again['rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    main()
