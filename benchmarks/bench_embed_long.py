"""Peak memory and throughput of embedding long recordings: streaming vs preloaded.

Writes synthetic 19-channel 256 Hz EDF recordings (``mne.export.export_raw``
with edfio), then embeds each one in a fresh process, two ways:

- ``stream``: :func:`skeegfm.jobs.embed_recording` (lazy reading, chunks of
  ``--chunk-windows`` windows), what ``skeegfm embed`` does;
- ``preload``: the whole recording read, cut with
  ``mne.make_fixed_length_epochs(preload=True)`` and embedded at once (what
  ``skeegfm embed`` did before streaming).

Each run reports windows/s (end to end: reading, resampling, encoder) and
the process's peak resident memory (``VmHWM`` of ``/proc/self/status``); the runs of one file are
interleaved so that other load on the machine hits both alike. Random
weights of the released architectures (no download needed).

It also measures how far per-window resampling (what the estimators do for
``mne.Epochs``, and what streaming does) lies from resampling the whole
recording and then cutting windows.

Usage::

    python benchmarks/bench_embed_long.py --model eegdino --minutes 30 120
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NAMES = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
         "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]  # fmt: skip


def write_edf(path, minutes, sfreq=256.0, seed=0):
    """A synthetic 19-channel recording (noise + alpha), written block by block in memory."""
    import mne

    n = int(minutes * 60 * sfreq)
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((len(NAMES), n), dtype=np.float32).astype(np.float64) * 2e-5
    data += 3e-5 * np.sin(2 * np.pi * 10 * np.arange(n) / sfreq)
    raw = mne.io.RawArray(data, mne.create_info(NAMES, sfreq, "eeg"), verbose="error")
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")


def _peak_rss_mb():
    """This process's peak resident memory, MB (``VmHWM``: unlike ``ru_maxrss``,
    not inherited from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode, path, model, chunk_windows, batch_size):
    """One measurement in this (fresh) process; prints a JSON line."""
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    import mne

    from skeegfm.jobs import EmbedOptions, embed_recording

    options = EmbedOptions(model=model, weights="random", device="cpu",
                           chunk_windows=chunk_windows, batch_size=batch_size)  # fmt: skip
    base_rss = _peak_rss_mb()
    start = time.perf_counter()
    embed_s = None
    if mode == "stream":
        result = embed_recording(path, options)
        n = len(result.embeddings)
    else:
        from skeegfm.jobs._weights import _fit_embedder

        raw = mne.io.read_raw(path, preload=True, verbose="error")
        epochs = mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose="error")
        t0 = time.perf_counter()
        embedder, _ = _fit_embedder(options.weights_spec(), epochs[:1], device="cpu",
                                    batch_size=batch_size, random_state=0)  # fmt: skip
        n = len(embedder.transform(epochs))
        embed_s = time.perf_counter() - t0
    seconds = time.perf_counter() - start
    print(json.dumps({"mode": mode, "windows": n, "seconds": seconds, "embed_seconds": embed_s,
                      "peak_rss_mb": _peak_rss_mb(), "import_rss_mb": base_rss}))  # fmt: skip


def run_child(mode, path, args):
    cmd = [sys.executable, __file__, "--child", mode, "--file", str(path), "--model", args.model,
           "--chunk-windows", str(args.chunk_windows), "--batch-size", str(args.batch_size)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def resampling_check(sfreq=256.0, target=200.0, window=4.0, seconds=120, seed=0):
    """Per-window vs whole-recording polyphase resampling (relative RMS difference)."""
    import mne

    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    x = rng.standard_normal((19, n)) * 2e-5
    whole = mne.filter.resample(x, up=target, down=sfreq, axis=-1, method="polyphase",
                                pad="edge", verbose=False)  # fmt: skip
    win_in, win_out = int(window * sfreq), int(window * target)
    starts = np.arange(0, n - win_in + 1, win_in)
    windows = np.stack([x[:, s : s + win_in] for s in starts])
    per = mne.filter.resample(windows, up=target, down=sfreq, axis=-1, method="polyphase",
                              pad="edge", verbose=False)  # fmt: skip
    ref = np.stack([whole[:, k * win_out : (k + 1) * win_out] for k in range(len(starts))])
    diff = per - ref
    rel = np.sqrt((diff**2).mean()) / np.sqrt((ref**2).mean())
    edge = int(0.1 * target)  # 100 ms at each end
    rel_inner = np.sqrt((diff[..., edge:-edge] ** 2).mean()) / np.sqrt((ref**2).mean())
    return {"relative_rms_all": float(rel), "relative_rms_without_100ms_edges": float(rel_inner)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="eegdino")
    parser.add_argument("--minutes", type=float, nargs="+", default=[30, 120])
    parser.add_argument("--chunk-windows", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-preload", action="store_true", help="skip the preloaded runs")
    parser.add_argument("--folder", help="where the EDF files go (default: a temporary folder)")
    parser.add_argument("--child", choices=("stream", "preload"), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.model, args.chunk_windows, args.batch_size)
        return

    print("resampling 256 -> 200 Hz, per 4 s window vs whole recording:", resampling_check())
    folder = Path(args.folder or tempfile.mkdtemp(prefix="skeegfm-bench-long-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for minutes in args.minutes:
        path = folder / f"synthetic_{minutes:g}min.edf"
        if not path.exists():
            write_edf(path, minutes)
        for _ in range(args.repeats):
            for mode in ("stream",) if args.no_preload else ("stream", "preload"):
                r = run_child(mode, path, args)
                r.update(minutes=minutes, file_mb=path.stat().st_size / 2**20)
                rows.append(r)
                print(json.dumps(r), flush=True)
    print(f"\nmodel {args.model} (random weights), 1 torch thread, chunk {args.chunk_windows}")
    print("| minutes | mode | windows | windows/s | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['minutes']:g} | {r['mode']} | {r['windows']} | "
              f"{r['windows'] / r['seconds']:.1f} | {r['peak_rss_mb']:.0f} |")  # fmt: skip
    stream = {r["minutes"]: r for r in rows if r["mode"] == "stream"}
    if len(stream) >= 2:
        (m0, a), (m1, b) = sorted(stream.items())[0], sorted(stream.items())[-1]
        slope = (b["peak_rss_mb"] - a["peak_rss_mb"]) / (m1 - m0)
        print(f"\nstream peak RSS {m1:g} min / {m0:g} min: "
              f"{b['peak_rss_mb'] / a['peak_rss_mb']:.3f}x; straight-line 24 h: "
              f"{b['peak_rss_mb'] + slope * (24 * 60 - m1):.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
