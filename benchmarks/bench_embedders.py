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
   training folds, 1 in a test fold) against one plain ``transform`` of the
   data. Reported: the ratio CV / transform (target: at most 1.3) and the
   number of epochs the encoder actually ran on (target: n_epochs).

Timings are medians of repeated runs in one process; on a shared machine only
the ratios mean something.

Usage::

    python benchmarks/bench_embedders.py [--models eegdino,eegpt,codebrain]
        [--n-epochs 48] [--repeat 3] [--threads 2] [--out results.json]
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


def bare_forward(embedder, epochs, batch_size):
    """A callable running the plain eager encoder over the prepared data."""
    record = embedder.record_
    prepared = prepare_for_model(read_eeg(epochs), record)
    model_class = getattr(models, record.model)
    encoder = model_class.from_pretrained(
        embedder.checkpoint, **embedder._encoder_overrides(prepared)
    ).eval()
    data = torch.from_numpy(prepared.data)

    def run():
        with torch.inference_mode():
            for start in range(0, len(data), batch_size):
                encoder(data[start : start + batch_size], return_features=True)

    return run


def bench_model(family, epochs, y, args, workdir: Path) -> dict:
    ckpt = save_full_size(family, workdir / f"{family}-full")
    cls = EMBEDDERS[family]
    embedder = cls(checkpoint=str(ckpt), batch_size=args.batch_size, device="cpu").fit(epochs)
    n = len(epochs)

    t_bare = median_time(bare_forward(embedder, epochs, args.batch_size), warmup=1, repeat=args.repeat)
    t_transform = median_time(lambda: embedder.transform(epochs), warmup=1, repeat=args.repeat)

    # Cached 5-fold CV, each run on an empty cache; forwards counted.
    counted = {"epochs": 0}

    def hook(module, inputs, output):
        counted["epochs"] += inputs[0].shape[0]

    handle = embedder.encoder_.register_forward_hook(hook)  # shared by the clones
    cv_times = []
    try:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(dir=workdir) as cache_dir:
                pipe = make_pipeline(
                    cls(checkpoint=str(ckpt), batch_size=args.batch_size, device="cpu", memory=cache_dir),
                    StandardScaler(),
                    LogisticRegression(max_iter=1000),
                )
                counted["epochs"] = 0
                start = time.perf_counter()
                cross_val_score(pipe, epochs, y, cv=KFold(5, shuffle=True, random_state=0))
                cv_times.append(time.perf_counter() - start)
    finally:
        handle.remove()
    t_cv = float(np.median(cv_times))
    return {
        "model": family,
        "n_epochs": n,
        "n_features": embedder.n_features_out_,
        "bare_forward_s": t_bare,
        "transform_s": t_transform,
        "bare_epochs_per_s": n / t_bare,
        "transform_epochs_per_s": n / t_transform,
        "transform_over_bare": t_transform / t_bare,
        "cv5_memory_s": t_cv,
        "cv5_memory_over_transform": t_cv / t_transform,
        "cv5_epochs_embedded": counted["epochs"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="eegdino,eegpt,codebrain")
    parser.add_argument("--n-epochs", type=int, default=48)
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
            print(
                f"{family:10s} n={row['n_epochs']} D={row['n_features']:5d} | "
                f"bare {row['bare_forward_s']:.2f}s ({row['bare_epochs_per_s']:.1f} ep/s)  "
                f"transform {row['transform_s']:.2f}s ({row['transform_epochs_per_s']:.1f} ep/s)  "
                f"ratio {row['transform_over_bare']:.3f} | "
                f"5-fold CV with memory {row['cv5_memory_s']:.2f}s = "
                f"{row['cv5_memory_over_transform']:.3f} x transform, "
                f"{row['cv5_epochs_embedded']} epochs embedded",
                flush=True,
            )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
