"""Corpus throughput: the in-process loop vs Dask worker processes.

Writes ``--n`` synthetic 19-channel 256 Hz EDF recordings of ``--minutes``
minutes, then embeds them all into a fresh Zarr store with
:func:`skeegfm.jobs.embed_recordings`:

- ``synchronous``: the in-process loop (no Dask), one torch thread;
- ``processes`` with 1 and 2 workers: a ``distributed.LocalCluster`` of
  single-threaded worker processes; the client is the store's single writer.

Each configuration runs ``--repeats`` times, interleaved; windows/s counts
the whole job (finding files, hashing, embedding, writing), and the local
cluster's start-up is timed on its own. Also printed: the bytes pickled per
task (what the client sends for one recording) and per result.

Usage::

    python benchmarks/bench_corpus.py --model eegdino --n 20 --minutes 10
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import tempfile
import time
from pathlib import Path

from bench_embed_long import write_edf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="eegdino")
    parser.add_argument("--n", type=int, default=20, help="recordings")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each recording")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--folder", help="where the EDF files go (default: a temporary folder)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from distributed import LocalCluster

    from skeegfm.jobs import EmbedOptions, embed_recordings
    from skeegfm.jobs.corpus import _embed_task

    folder = Path(args.folder or tempfile.mkdtemp(prefix="skeegfm-bench-corpus-"))
    data = folder / f"recordings_{args.n}x{args.minutes:g}min"
    data.mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        path = data / f"rec{i:03d}.edf"
        if not path.exists():
            write_edf(path, args.minutes, seed=i)

    options = EmbedOptions(model=args.model, weights="random", device="cpu")
    spec = options.weights_spec()
    task = (str(data / "rec000.edf"), options, spec, False)
    print("bytes pickled: options", len(pickle.dumps(options)), "| weights spec",
          len(pickle.dumps(spec)), "| one task's arguments (options and spec scattered once "
          "per worker, so a task carries the path and two references)",
          len(pickle.dumps(task[0])) + 2 * 60)  # fmt: skip
    result = _embed_task(*task)[1]
    print("bytes of one result (embeddings + onsets + facts):",
          result.embeddings.nbytes + result.onsets_s.nbytes + len(json.dumps(result.facts)))  # fmt: skip

    configs = [("synchronous", None)] + [("processes", n) for n in args.workers]
    rows = []
    for repeat in range(args.repeats):
        for scheduler, n_workers in configs:
            out = folder / "store.zarr"
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            _, summary = embed_recordings([data], out, model=args.model, weights="random",
                                          device="cpu", scheduler=scheduler, n_workers=n_workers,
                                          progress=False, say=lambda text: None)  # fmt: skip
            seconds = time.perf_counter() - start
            assert not summary.failed, summary.failed
            startup = None
            if scheduler == "processes":
                t0 = time.perf_counter()
                with LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                  dashboard_address=None):  # fmt: skip
                    startup = time.perf_counter() - t0
            row = dict(scheduler=scheduler, workers=n_workers or 0, repeat=repeat,
                       windows=summary.n_windows, seconds=seconds,
                       windows_per_s=summary.n_windows / seconds, cluster_start_s=startup)  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)

    print(f"\n{args.n} recordings x {args.minutes:g} min, model {args.model} (random weights), "
          "1 torch thread per worker")  # fmt: skip
    print("| scheduler | workers | windows/s (mean) | vs in-process | cluster start (s) |")
    print("|---|---|---|---|---|")
    base = None
    for scheduler, n_workers in configs:
        mine = [r for r in rows if r["scheduler"] == scheduler and r["workers"] == (n_workers or 0)]
        rate = sum(r["windows_per_s"] for r in mine) / len(mine)
        base = rate if scheduler == "synchronous" else base
        starts = [r["cluster_start_s"] for r in mine if r["cluster_start_s"] is not None]
        start_text = f"{sum(starts) / len(starts):.1f}" if starts else "-"
        print(f"| {scheduler} | {n_workers or '-'} | {rate:.1f} | {rate / base:.2f}x | "
              f"{start_text} |")  # fmt: skip


if __name__ == "__main__":
    main()
