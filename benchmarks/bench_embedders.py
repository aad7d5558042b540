"""Cost of the frozen embedders against the bare encoder, and of ``memory`` in CV.

For each encoder (full size, the released architecture with random weights
saved with ``save_pretrained``, loaded from that directory like a Hub
checkpoint), on the bundled EEGMAT development epochs:

1. **Throughput.** ``embedder.transform(epochs)`` (reading, channel matching,
   resampling, scaling, batching, pooling, the pre-packed fast path) against
   the bare encoder: ``encoder(x, return_features=True)`` of a plain
   ``from_pretrained`` model over the already prepared float32 data, same
   batch size. Reported: seconds, epochs/s, and the ratio
   transform / bare (target: at most 1.10).
2. **Cached cross-validation.** ``cross_val_score`` of
   ``make_pipeline(Embedder(memory=<empty dir>), StandardScaler(),
   LogisticRegression())`` with 5 folds (each epoch is seen 5 times: 4 in
   training folds, 1 in a test fold), against one plain ``transform`` of the
   data. Reported: the number of epochs the encoder ran on (target:
   n_epochs); the time spent inside the embedder's ``fit``/``transform``
   across the folds over one transform (target: at most 1.3); and, for
   context, the whole CV's wall time on arrays and on Epochs, plus the same
   CV of scaler + logistic regression on precomputed features. With Epochs,
   scikit-learn slices by building one ``Epochs`` per epoch and fold
   (``epochs[i]``), which costs MNE tens of milliseconds each: that cost is
   the same for any estimator and is not the embedder's.

Timings are medians of repeated runs in one process; on a shared machine only
the ratios mean something.

Usage::

    python benchmarks/bench_embedders.py [--models eegdino,eegpt,codebrain]
        [--n-epochs 192] [--repeat 3] [--threads 2] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

from _timing import median_time, setup_threads  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skeegfm import _cache, models  # noqa: E402
from skeegfm._channels import EEGPT_CHANNELS  # noqa: E402
from skeegfm._inputs import prepare_for_model, read_eeg  # noqa: E402
from skeegfm._registry import get_record  # noqa: E402
from skeegfm.datasets import load_eegmat  # noqa: E402
from skeegfm.embedders import CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder  # noqa: E402

EMBEDDERS = {"eegdino": EEGDINOEmbedder, "eegpt": EEGPTEmbedder, "codebrain": CodeBrainEmbedder}
RECORDS = {"eegdino": "eegdino-small", "eegpt": "eegpt", "codebrain": "codebrain"}


def save_full_size(family: str, directory: Path) -> Path:
    """Save the released architecture (random weights) as a Hub-layout directory."""
    record = get_record(RECORDS[family])
    model_class = getattr(models, record.model)
    if family == "eegpt":
        kwargs = dict(
            chs_info=[{"ch_name": n} for n in EEGPT_CHANNELS],
            n_times=1024,
            sfreq=256.0,
            return_encoder_output=True,
        )
    else:
        kwargs = dict(n_chans=19, n_times=1000, sfreq=200.0, return_encoder_output=True)
    torch.manual_seed(0)
    model_class(**record.preset, **kwargs).save_pretrained(directory)
    return directory


def bare_forward(encoder, data, batch_size):
    """A callable running ``encoder`` over prepared data, in batches."""

    def run():
        with torch.inference_mode():
            for start in range(0, len(data), batch_size):
                encoder(data[start : start + batch_size], return_features=True)

    return run


def interleaved_medians(fns, repeat):
    """Median time of each callable, run in turn ``repeat`` times after one
    warm-up round, so that a drifting machine load affects all alike."""
    times = [[] for _ in fns]
    for round_ in range(repeat + 1):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            if round_:
                spent.append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


_TIMED = ("fit", "transform", "fit_transform")


class _Stopwatch:
    """Accumulates the wall time spent inside the embedder class's fit,
    transform and fit_transform (across clones), by wrapping them for the
    duration of a block."""

    def __init__(self, cls):
        self.cls, self.seconds = cls, 0.0

    def _timed(self, method):
        def wrapper(est, *args, **kwargs):
            start = time.perf_counter()
            try:
                return method(est, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return wrapper

    def __enter__(self):
        own = self.cls.__dict__
        self.saved = {name: own[name] for name in _TIMED if name in own}
        for name in _TIMED:  # fit_transform does not call fit or transform
            setattr(self.cls, name, self._timed(getattr(self.cls, name)))
        return self

    def __exit__(self, *exc):
        for name in _TIMED:
            if name in self.saved:
                setattr(self.cls, name, self.saved[name])
            else:
                delattr(self.cls, name)


def bench_model(family, epochs, y, args, workdir: Path) -> dict:
    ckpt = save_full_size(family, workdir / f"{family}-full")
    cls = EMBEDDERS[family]
    params = dict(checkpoint=str(ckpt), batch_size=args.batch_size, device="cpu")
    embedder = cls(**params).fit(epochs)
    n = len(epochs)
    X = epochs.get_data()
    array_params = dict(params, sfreq=epochs.info["sfreq"], ch_names=epochs.ch_names)

    # 1. Throughput: the estimator against the bare encoder on prepared data.
    prepared = prepare_for_model(read_eeg(epochs), embedder.record_)
    data = torch.from_numpy(prepared.data)
    eager = getattr(models, embedder.record_.model).from_pretrained(
        str(ckpt), **embedder._encoder_overrides(prepared)
    ).eval()
    repeat = dict(warmup=1, repeat=args.repeat)
    t_bare, t_bare_fast, t_transform = interleaved_medians(
        [
            bare_forward(eager, data, args.batch_size),
            bare_forward(embedder.encoder_, data, args.batch_size),
            lambda: embedder.transform(epochs),
        ],
        args.repeat,
    )

    # 2. Cached 5-fold CV, each run on an empty cache; forwards counted.
    counted = {"epochs": 0}

    def hook(module, inputs, output):
        counted["epochs"] += inputs[0].shape[0]

    cv = KFold(5, shuffle=True, random_state=0)
    handle = embedder.encoder_.register_forward_hook(hook)  # shared by the clones
    runs = {"epochs": [], "array": [], "embedder_in_cv": [], "embedded": [], "plain": []}
    try:
        for _ in range(args.repeat):
            # A plain transform in the same round: ratios are per round.
            start = time.perf_counter()
            embedder.transform(epochs)
            runs["plain"].append(time.perf_counter() - start)
            for kind, data_in, kwargs in (("epochs", epochs, params), ("array", X, array_params)):
                with tempfile.TemporaryDirectory(dir=workdir) as cache_dir:
                    pipe = make_pipeline(
                        cls(**kwargs, memory=cache_dir),
                        StandardScaler(),
                        LogisticRegression(max_iter=1000),
                    )
                    counted["epochs"] = 0
                    with _Stopwatch(cls) as watch:
                        start = time.perf_counter()
                        cross_val_score(pipe, data_in, y, cv=cv)
                        runs[kind].append(time.perf_counter() - start)
                    if kind == "epochs":
                        runs["embedder_in_cv"].append(watch.seconds)
                        runs["embedded"].append(counted["epochs"])
    finally:
        handle.remove()
    # What the same CV costs without any embedding (features precomputed).
    Z = embedder.transform(epochs)
    t_cv_head = median_time(
        lambda: cross_val_score(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), Z, y, cv=cv
        ),
        **repeat,
    )
    med = {k: float(np.median(v)) for k, v in runs.items()}
    plain = np.asarray(runs["plain"])
    ratio = {
        k: float(np.median(np.asarray(runs[k]) / plain))
        for k in ("embedder_in_cv", "array", "epochs")
    }
    return {
        "model": family,
        "n_epochs": n,
        "n_features": embedder.n_features_out_,
        "bare_forward_s": t_bare,
        "bare_fast_forward_s": t_bare_fast,
        "transform_s": t_transform,
        "bare_epochs_per_s": n / t_bare,
        "transform_epochs_per_s": n / t_transform,
        "transform_over_bare": t_transform / t_bare,
        "transform_over_bare_fast": t_transform / t_bare_fast,
        "cv5_epochs_embedded": int(max(runs["embedded"])),
        "cv5_plain_transform_s": med["plain"],
        "cv5_embedder_s": med["embedder_in_cv"],
        "cv5_embedder_over_transform": ratio["embedder_in_cv"],
        "cv5_array_s": med["array"],
        "cv5_array_over_transform": ratio["array"],
        "cv5_epochs_s": med["epochs"],
        "cv5_epochs_over_transform": ratio["epochs"],
        "cv5_without_embedding_s": t_cv_head,
    }


def _report(row):
    return (
        f"{row['model']:10s} n={row['n_epochs']} D={row['n_features']}\n"
        f"  throughput: bare eager {row['bare_forward_s']:.2f}s "
        f"({row['bare_epochs_per_s']:.1f} ep/s), "
        f"bare fast {row['bare_fast_forward_s']:.2f}s, transform {row['transform_s']:.2f}s "
        f"({row['transform_epochs_per_s']:.1f} ep/s): transform/bare eager "
        f"{row['transform_over_bare']:.3f}, "
        f"transform/bare fast {row['transform_over_bare_fast']:.3f}\n"
        f"  5-fold CV with memory: {row['cv5_epochs_embedded']} epochs embedded; time in the "
        f"embedder {row['cv5_embedder_s']:.2f}s = "
        f"{row['cv5_embedder_over_transform']:.3f} x a plain "
        f"transform of the same round ({row['cv5_plain_transform_s']:.2f}s); "
        f"whole CV on arrays {row['cv5_array_s']:.2f}s = {row['cv5_array_over_transform']:.3f} x, "
        f"on Epochs {row['cv5_epochs_s']:.2f}s = {row['cv5_epochs_over_transform']:.3f} x "
        f"(scaler + logistic regression alone: {row['cv5_without_embedding_s']:.2f}s)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="eegdino,eegpt,codebrain")
    parser.add_argument("--n-epochs", type=int, default=192, help="EEGMAT epochs used (192: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    setup_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    epochs, y, _ = load_eegmat(return_X_y=True, verbose=False)
    pick = np.random.default_rng(0).permutation(len(epochs))[: args.n_epochs]
    pick.sort()
    epochs, y = epochs[pick], y[pick]

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.models.split(","):
            _cache.clear_encoder_cache()
            row = bench_model(family, epochs, y, args, Path(tmp))
            results.append(row)
            print(_report(row), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
