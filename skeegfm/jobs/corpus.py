"""Many recordings into one Zarr store, resumable, on Dask.

:func:`embed_recordings` finds the recordings (files, folders searched with a
glob, BIDS roots), embeds each one in constant memory
(:func:`~skeegfm.jobs.embed_recording`), one Dask task per recording, and
writes every window's embedding into one Zarr v3 store. The client is the
store's single writer: workers return a recording's embeddings (a few MB even
for a 24-hour recording) and the client appends them, so concurrent writers
never meet.

Store layout (``zarr.open_group(path)``):

- ``embeddings``: (n_rows, n_features) float32 (or float16), chunked by rows,
  Zstandard-compressed;
- ``recording``: (n_rows,) int32, the number of the recording of each row;
- ``onset_s``: (n_rows,) float64, each window's onset from the start of its
  recording, s;
- ``recordings/<id>``: one group per recording, its attributes saying
  ``status`` (``"complete"`` or ``"failed"``), ``path``, ``name``,
  ``number``, ``key`` (SHA-256 of the file's bytes and the options),
  ``row_start``/``row_stop`` and the facts of the adaptation (the
  embedder's input report: channels used, dropped, filled, renamed,
  resampling; the unit override), or the ``error``;
- root attributes: ``skeegfm_version``, ``model`` (the model record),
  ``checkpoint``, ``options``, ``options_key`` and ``n_rows`` (rows written).

A recording's rows are written first, then ``n_rows``, then its group, with
``status="complete"`` last. A run killed at any point leaves rows that no
complete group points to: they are never read (:func:`windows_index` reads
the rows of complete recordings only) and the next run writes over them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._stream import EmbedOptions, RecordingError, embed_recording

__all__ = [
    "CorpusSummary",
    "MissingDependencyError",
    "Recording",
    "embed_recordings",
    "find_recordings",
    "open_store",
    "windows_index",
]

#: Extensions searched in folders when no glob is given.
RECORDING_EXTENSIONS = (
    ".edf", ".bdf", ".gdf", ".fif", ".fif.gz", ".vhdr", ".set", ".cnt", ".cdt", ".nxe",
)  # fmt: skip
#: Files read alongside a recording (their bytes go into the content hash).
_COMPANIONS = {".vhdr": (".eeg", ".vmrk", ".dat"), ".set": (".fdt",)}
_STORE_FORMAT = 1
_CHUNK_ROWS = 4096
SCHEDULERS = ("processes", "threads", "synchronous")


class MissingDependencyError(ImportError):
    """An optional dependency of a job is not installed; the message names the extra
    (``pip install 'skeegfm[scale]'``)."""


def _require(module, extra):
    try:
        return __import__(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed for corpus embedding into a Zarr store with Dask; install "
            f"it with: pip install 'skeegfm[{extra}]'"
        ) from exc


# --------------------------------------------------------------------------- finding


@dataclass
class Recording:
    """One recording of a corpus.

    Attributes
    ----------
    path : pathlib.Path
        The file MNE opens.
    name : str
        Its name in the store: the path relative to the folder or BIDS root
        it was found in, or the path as given.
    companions : list of pathlib.Path
        Other files whose content determines the result (BrainVision data and
        markers, EEGLAB ``.fdt``, BIDS ``channels.tsv``).
    bids : bool
        Read with :func:`mne_bids.read_raw_bids` (sidecars applied).
    """

    path: Path
    name: str
    companions: list = field(default_factory=list)
    bids: bool = False

    @property
    def store_id(self) -> str:
        """Group name in the store: readable and unique per ``name``."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("._")[-80:]
        digest = hashlib.sha256(self.name.encode()).hexdigest()[:10]
        return f"{readable or 'recording'}-{digest}"

    def bids_path(self):
        if not self.bids:
            return None
        from mne_bids import get_bids_path_from_fname

        return get_bids_path_from_fname(self.path, verbose=False)


def _has_extension(path: Path) -> bool:
    return path.name.lower().endswith(RECORDING_EXTENSIONS)


def _companions(path: Path):
    extra = _COMPANIONS.get(path.suffix.lower(), ())
    return [path.with_suffix(ext) for ext in extra if path.with_suffix(ext).exists()]


def _bids_recordings(root: Path):
    _require("mne_bids", "bids")
    from mne_bids import find_matching_paths

    found = find_matching_paths(
        root,
        datatypes="eeg",
        suffixes="eeg",
        extensions=[".edf", ".bdf", ".vhdr", ".set", ".fif", ".cnt"],
    )
    out = []
    for bids_path in sorted(found, key=lambda p: str(p.fpath)):
        path = Path(bids_path.fpath)
        if "derivatives" in path.relative_to(root).parts:
            continue
        channels = bids_path.copy().update(suffix="channels", extension=".tsv")
        sidecars = [Path(channels.fpath)] if Path(channels.fpath).exists() else []
        out.append(
            Recording(path, path.relative_to(root).as_posix(), _companions(path) + sidecars, True)
        )
    return out


def find_recordings(inputs, *, glob=None):
    """The recordings named by files, folders and BIDS roots.

    Parameters
    ----------
    inputs : list of str or os.PathLike
        Files (taken as they are), folders (searched with ``glob``), or BIDS
        roots (folders holding ``dataset_description.json``: the EEG
        recordings of every subject and session, read with mne-bids).
    glob : str | None
        Pattern of recordings in folders, e.g. ``"**/*.edf"``. Default: all
        files below the folder with an extension MNE reads
        (:data:`RECORDING_EXTENSIONS`).

    Returns
    -------
    recordings : list of Recording
        In the order of ``inputs``, each folder sorted by path.

    Raises
    ------
    RecordingError
        If an input does not exist, a folder holds no recording, or two
        recordings get the same name.
    """
    out = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            if (path / "dataset_description.json").exists() and glob is None:
                found = _bids_recordings(path)
            else:
                pattern = glob or "**/*"
                found = [
                    Recording(p, p.relative_to(path).as_posix(), _companions(p))
                    for p in sorted(path.glob(pattern))
                    if p.is_file() and (glob is not None or _has_extension(p))
                ]
            if not found:
                what = f"matching {glob!r}" if glob else f"with an extension {RECORDING_EXTENSIONS}"
                raise RecordingError(f"{path}: no recording {what} in this folder.")
            out += found
        elif path.exists():
            out.append(Recording(path, str(item), _companions(path)))
        else:
            raise RecordingError(f"{path}: no such file or folder.")
    seen = {}
    for rec in out:
        if rec.name in seen and seen[rec.name] != rec.path.resolve():
            raise RecordingError(
                f"Two recordings are both named {rec.name!r} in the store ({seen[rec.name]} and "
                f"{rec.path}); pass their common parent folder instead, so names keep the "
                "sub-folders."
            )
        seen[rec.name] = rec.path.resolve()
    unique = {}
    for rec in out:
        unique.setdefault(rec.name, rec)
    return list(unique.values())


def _content_hash(recording: Recording, options_key: str) -> str:
    digest = hashlib.sha256(options_key.encode())
    for path in [recording.path, *recording.companions]:
        digest.update(f"|{path.name}|".encode())
        with open(path, "rb") as f:
            while block := f.read(8 << 20):
                digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- the store


def open_store(path, mode="r"):
    """Open an embeddings store written by :func:`embed_recordings`.

    Parameters
    ----------
    path : str | os.PathLike
        The ``.zarr`` folder.
    mode : {"r", "a"}
        Read only (default) or read-write.

    Returns
    -------
    store : zarr.Group

    Raises
    ------
    FileNotFoundError
        If ``path`` holds no skeegfm store.
    """
    zarr = _require("zarr", "scale")
    path = Path(path)
    if not (path / "zarr.json").exists():
        raise FileNotFoundError(f"{path}: no Zarr store here.")
    group = zarr.open_group(str(path), mode=mode)
    if "skeegfm_store_format" not in group.attrs:
        raise FileNotFoundError(f"{path}: a Zarr store, but not one written by skeegfm embed.")
    _check_codecs(group, path)
    return group


# Codecs that decode bytes into numbers or text and nothing else. A store is a
# file handed to us: a codec such as numcodecs' pickle would run code on read.
_SAFE_CODECS = frozenset(
    {"bytes", "vlen-utf8", "vlen-bytes", "zstd", "blosc", "gzip", "crc32c", "transpose",
     "sharding_indexed"}
)  # fmt: skip


def _check_codecs(group, path) -> None:
    """Refuse a store whose arrays use a codec outside ``_SAFE_CODECS``."""
    import zarr

    for name, member in group.members(max_depth=None):
        if not isinstance(member, zarr.Array):
            continue
        codecs = getattr(member.metadata, "codecs", None)
        if codecs is None:  # Zarr v2 metadata: not what embed writes
            raise ValueError(f"{path}/{name}: not a Zarr v3 array; this store was not written "
                             "by skeegfm embed (or was altered).")  # fmt: skip
        names = {codec.to_dict()["name"] for codec in codecs}
        unsafe = sorted(names - _SAFE_CODECS)
        if unsafe:
            raise ValueError(
                f"{path}/{name}: codec(s) {unsafe} are not among those skeegfm embed writes "
                f"({sorted(_SAFE_CODECS)}); refusing to decode it (a codec such as pickle "
                "can run code). Use a store written by skeegfm embed, or a new output path."
            )


def _recording_attrs(store):
    """``{store id: attributes}`` of the recordings in ``store`` (unreadable ones left out)."""
    if "recordings" not in store:
        return {}
    out = {}
    for name, group in store["recordings"].groups():
        try:
            out[name] = dict(group.attrs)
        except Exception:  # noqa: BLE001 - a half-written entry counts as absent
            continue
    return out


def windows_index(store):
    """A pandas DataFrame with one row per embedded window of the complete recordings.

    Parameters
    ----------
    store : zarr.Group | str | os.PathLike
        A store of :func:`embed_recordings`, or its path.

    Returns
    -------
    index : pandas.DataFrame
        Columns ``row`` (row of ``store["embeddings"]``), ``recording`` (its
        name), ``path``, ``onset_s``; ordered by row. Take the embeddings with
        ``store["embeddings"].oindex[index["row"].to_numpy()]`` or, recording
        by recording, by ``row_start:row_stop`` slices.
    """
    import pandas as pd

    if not hasattr(store, "attrs"):
        store = open_store(store)
    frames = []
    onsets = store["onset_s"] if "onset_s" in store else None
    for attrs in _recording_attrs(store).values():
        if attrs.get("status") != "complete":
            continue
        start, stop = int(attrs["row_start"]), int(attrs["row_stop"])
        frames.append(
            pd.DataFrame(
                {
                    "row": np.arange(start, stop),
                    "recording": attrs["name"],
                    "path": attrs["path"],
                    "onset_s": onsets[start:stop],
                }
            )
        )
    if not frames:
        return pd.DataFrame({"row": [], "recording": [], "path": [], "onset_s": []})
    return pd.concat(frames, ignore_index=True).sort_values("row", ignore_index=True)


@contextlib.contextmanager
def _store_lock(path):
    """``<store>.lock`` next to the store while a job writes it: a second job on the
    same store is an error (a lock left by a killed job of this machine is taken over)."""
    import socket

    lock = Path(str(path).rstrip("/") + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            host, _, pid = lock.read_text().partition(" ")
            if host == socket.gethostname() and pid.strip().isdigit() and not _alive(int(pid)):
                lock.unlink(missing_ok=True)  # left by a killed job
                continue
            raise ValueError(
                f"{path} is being written by another skeegfm embed ({host}, pid {pid.strip()}); "
                f"wait for it to finish, or delete {lock} if that job is gone."
            ) from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Writer:
    """The single writer of a store: appends recordings, marks them complete last."""

    def __init__(self, path, options, store_dtype, attrs, overwrite=False):
        zarr = _require("zarr", "scale")
        self.path = Path(path)
        self.store_dtype = store_dtype
        self.options_key = attrs["options_key"]
        exists = (self.path / "zarr.json").exists()
        if exists and overwrite:
            import shutil

            shutil.rmtree(self.path)
            exists = False
        if exists:
            self.root = open_store(self.path, mode="a")
            old = self.root.attrs.get("options_key")
            if old != self.options_key:
                raise ValueError(
                    f"{self.path} holds embeddings made with other options "
                    f"({json.dumps(self.root.attrs.get('options'))}); embeddings of one store "
                    "must be comparable. Write to another store, or pass --overwrite."
                )
        else:
            self.root = zarr.open_group(str(self.path), mode="w")
            self.root.attrs.update({**attrs, "skeegfm_store_format": _STORE_FORMAT, "n_rows": 0})
            self.root.create_group("recordings")
        self.recordings = _recording_attrs(self.root)
        self._truncate()

    def _truncate(self):
        """Drop rows past ``n_rows`` (left by a run killed mid-recording)."""
        n_rows = int(self.root.attrs.get("n_rows", 0))
        for name in ("embeddings", "recording", "onset_s"):
            if name in self.root:
                array = self.root[name]
                if array.shape[0] != n_rows:
                    array.resize((n_rows,) + array.shape[1:])

    def is_complete(self, recording, key):
        attrs = self.recordings.get(recording.store_id)
        return bool(attrs) and attrs.get("status") == "complete" and attrs.get("key") == key

    def _number(self, recording):
        attrs = self.recordings.get(recording.store_id)
        if attrs and "number" in attrs:
            return int(attrs["number"])
        numbers = [int(a["number"]) for a in self.recordings.values() if "number" in a]
        return max(numbers, default=-1) + 1

    def _arrays(self, n_features):
        if "embeddings" not in self.root:
            self.root.create_array(
                "embeddings",
                shape=(0, n_features),
                chunks=(_CHUNK_ROWS, n_features),
                dtype=self.store_dtype,
            )
            self.root.create_array("recording", shape=(0,), chunks=(_CHUNK_ROWS * 4,), dtype="int32")
            self.root.create_array("onset_s", shape=(0,), chunks=(_CHUNK_ROWS * 4,), dtype="float64")
        embeddings = self.root["embeddings"]
        if embeddings.shape[1] != n_features:
            raise ValueError(
                f"{self.path}: the store holds {embeddings.shape[1]}-feature embeddings, this "
                f"recording gave {n_features}."
            )
        return embeddings, self.root["recording"], self.root["onset_s"]

    def _mark(self, recording, attrs):
        attrs = {"name": recording.name, "path": str(recording.path), **attrs}
        self.root["recordings"].create_group(recording.store_id, overwrite=True, attributes=attrs)
        self.recordings[recording.store_id] = attrs

    def write(self, recording, key, result):
        number = self._number(recording)
        n = len(result.embeddings)
        embeddings, rec_col, onset_col = self._arrays(result.embeddings.shape[1])
        start = int(self.root.attrs["n_rows"])
        stop = start + n
        for array in (embeddings, rec_col, onset_col):
            array.resize((stop,) + array.shape[1:])
        embeddings[start:stop] = result.embeddings.astype(self.store_dtype, copy=False)
        rec_col[start:stop] = np.full(n, number, dtype=np.int32)
        onset_col[start:stop] = result.onsets_s
        self.root.attrs["n_rows"] = stop
        self._mark(
            recording,
            {"status": "complete", "number": number, "key": key, "row_start": start,
             "row_stop": stop, **result.facts},
        )  # fmt: skip

    def fail(self, recording, key, error):
        previous = self.recordings.get(recording.store_id) or {}
        self._mark(
            recording,
            {"status": "failed", "number": self._number(recording), "key": key, "error": error,
             "previous_status": previous.get("status")},
        )  # fmt: skip


# --------------------------------------------------------------------------- the job


@dataclass
class CorpusSummary:
    """What :func:`embed_recordings` did.

    Attributes
    ----------
    done, skipped : list of str
        Names of the recordings embedded now, and of those already complete.
    failed : dict
        Name -> reason, for the recordings that could not be embedded.
    n_windows : int
        Windows embedded now.
    hours : float
        Hours of EEG embedded now.
    seconds : float
        Wall time, s.
    adapted : dict
        Name -> ``{"dropped": {...}, "filled": {...}}`` for the recordings
        embedded now whose channels were dropped or made up.
    """

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    n_windows: int = 0
    hours: float = 0.0
    seconds: float = 0.0
    adapted: dict = field(default_factory=dict)

    def __str__(self):
        rate = self.n_windows / self.seconds if self.seconds else 0.0
        lines = [
            f"{len(self.done)} recording(s) embedded, {len(self.skipped)} already complete "
            f"(skipped), {len(self.failed)} failed; {self.n_windows} windows, "
            f"{self.hours:.2f} h of EEG in {self.seconds:.1f} s ({rate:.1f} windows/s)."
        ]
        if self.adapted:
            n_dropped = sum(bool(a["dropped"]) for a in self.adapted.values())
            n_filled = sum(bool(a["filled"]) for a in self.adapted.values())
            lines.append(
                f"  channels dropped in {n_dropped} and made up in {n_filled} recording(s) "
                "(their 'channels_dropped' and 'channels_filled' attributes in the store say "
                "which and why)."
            )
        lines += [f"  failed: {name}: {why}" for name, why in self.failed.items()]
        return "\n".join(lines)


def _embed_task(path, options, spec, bids):
    """One recording on a worker: ``("ok", RecordingResult)`` or ``("failed", reason)``.

    The encoder comes from the worker process's cache
    (:func:`skeegfm._cache.get_or_build`, keyed by checkpoint): each worker
    loads it once, whatever the number of tasks; only the path and the
    options travel with a task.
    """
    recording = Recording(Path(path), str(path), bids=bids)
    try:
        return "ok", embed_recording(recording.path, options, spec=spec,
                                     bids_path=recording.bids_path())  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a bad recording must not stop the corpus
        if _is_fatal(exc):
            raise
        return "failed", f"{type(exc).__name__}: {_first_line(exc)}"


@contextlib.contextmanager
def _client(scheduler, n_workers):
    """A dask.distributed Client for ``scheduler``, or None for ``"synchronous"``."""
    if scheduler == "synchronous":
        yield None
        return
    _require("distributed", "scale")
    from distributed import Client, LocalCluster

    if scheduler in ("processes", "threads"):
        import dask

        n = n_workers or os.cpu_count() or 1
        processes = scheduler == "processes"
        # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (return
        # freed memory to the OS early); with torch's large short-lived
        # allocations that made every window ~40 % slower here (0.72 s against
        # 0.52 s per 5-minute recording, EEG-DINO-Small, one thread): the
        # workers keep glibc's own adaptive threshold instead.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=n if processes else 1,
                threads_per_worker=1 if processes else n,
                processes=processes,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        try:
            with Client(cluster) as client:
                if processes:
                    # One torch thread per worker process: the workers share the cores.
                    client.run(_one_torch_thread)
                yield client
        finally:
            cluster.close()
    elif re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://", scheduler):
        with Client(scheduler) as client:
            yield client
    else:
        raise ValueError(
            f"scheduler must be one of {SCHEDULERS} or a scheduler address like "
            f"tcp://host:8786, got {scheduler!r}."
        )


def _one_torch_thread():
    import torch

    torch.set_num_threads(1)


def _store_attrs(options, store_dtype):
    import dataclasses

    from .._version import __version__

    record = dataclasses.asdict(options.record)
    identity = options.identity()
    spec = options.weights_spec()
    return {
        "skeegfm_version": __version__,
        "model": json.loads(json.dumps(record, default=str)),
        "checkpoint": spec.label,
        "options": {**dataclasses.asdict(options), "store_dtype": store_dtype},
        "options_key": hashlib.sha256(
            json.dumps({**identity, "store_dtype": store_dtype}, sort_keys=True).encode()
        ).hexdigest(),
    }


def embed_recordings(
    inputs,
    output,
    *,
    model,
    weights="pretrained",
    checkpoint=None,
    window=4.0,
    stride=None,
    on_missing="raise",
    on_unknown="auto",
    ch_aliases=None,
    unit=None,
    encoding=None,
    batch_size=32,
    device="auto",
    seed=0,
    trust_checkpoint=False,
    chunk_windows=256,
    glob=None,
    store_dtype="float32",
    scheduler="processes",
    n_workers=None,
    overwrite=False,
    progress=True,
    say=None,
):
    """Embed many recordings into one Zarr store, resuming what is done.

    Parameters
    ----------
    inputs : list of str or os.PathLike
        Recordings, folders or BIDS roots (see :func:`find_recordings`).
    output : str | os.PathLike
        The store (a ``.zarr`` folder), created or resumed.
    model : str
        Encoder, a registry name (``"eegpt"``, ``"eegdino"``, ``"codebrain"``...).
    weights, checkpoint, window, stride, on_missing, on_unknown, ch_aliases, unit, encoding
        See :class:`~skeegfm.jobs.EmbedOptions`.
    batch_size, device, seed, trust_checkpoint, chunk_windows
        See :class:`~skeegfm.jobs.EmbedOptions`.
    glob : str | None
        Pattern of recordings in folders (default: known extensions).
    store_dtype : {"float32", "float16"}
        dtype of the stored embeddings.
    scheduler : str
        ``"processes"`` (default: a :class:`distributed.LocalCluster` of
        ``n_workers`` single-threaded processes), ``"threads"`` (one process,
        ``n_workers`` threads), ``"synchronous"`` (this process, no Dask: for
        debugging), or the address of a running scheduler
        (``"tcp://host:8786"``).
    n_workers : int | None
        Workers of a local cluster (default: the number of CPU cores).
    overwrite : bool
        Start a new store even if ``output`` holds one.
    progress : bool
        tqdm bars over recordings (and windows with ``"synchronous"``).
    say : callable | None
        Where one-line notices go (default: standard error).

    Returns
    -------
    store : zarr.Group
        The store, opened read-only.
    summary : CorpusSummary
        Recordings done, skipped (already complete with the same content and
        options) and failed (with their reasons), windows, hours, time.

    Raises
    ------
    MissingDependencyError
        An ImportError: zarr or dask.distributed is not installed (``pip install 'skeegfm[scale]'``).
    ValueError
        If an option is invalid, or ``output`` holds a store made with other
        options.
    RecordingError
        If an input does not exist or a folder holds no recording.
    """
    if store_dtype not in ("float32", "float16"):
        raise ValueError(f"store_dtype must be 'float32' or 'float16', got {store_dtype!r}.")
    if not (scheduler in SCHEDULERS or "://" in str(scheduler)):
        raise ValueError(
            f"scheduler must be one of {SCHEDULERS} or a scheduler address like "
            f"tcp://host:8786, got {scheduler!r}."
        )
    say = say or (lambda text: print(text, file=sys.stderr))
    options = EmbedOptions(
        model=model, weights=weights, checkpoint=checkpoint, window=window, stride=stride,
        on_missing=on_missing, on_unknown=on_unknown, ch_aliases=ch_aliases, unit=unit,
        encoding=encoding, batch_size=batch_size, device=device, seed=seed,
        trust_checkpoint=trust_checkpoint, chunk_windows=chunk_windows,
    )  # fmt: skip
    spec = options.weights_spec()
    recordings = find_recordings(inputs, glob=glob)
    attrs = _store_attrs(options, store_dtype)
    with _store_lock(output):
        writer = _Writer(output, options, store_dtype, attrs, overwrite=overwrite)
        summary = _run(writer, recordings, options, spec, scheduler, n_workers, progress, say)
    return open_store(output), summary


def _run(writer, recordings, options, spec, scheduler, n_workers, progress, say):
    """Embed the recordings not complete in the store; returns the summary."""
    output = writer.path
    summary = CorpusSummary()
    started = time.perf_counter()

    todo = []
    for recording in recordings:
        try:
            key = _content_hash(recording, writer.options_key)
        except OSError as exc:
            summary.failed[recording.name] = f"{type(exc).__name__}: {exc}"
            writer.fail(recording, None, summary.failed[recording.name])
            continue
        if writer.is_complete(recording, key):
            summary.skipped.append(recording.name)
        else:
            todo.append((recording, key))
    if summary.skipped:
        say(f"skeegfm: {len(summary.skipped)} recording(s) already complete in {output}; skipped.")

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="recordings", unit="rec")

    seen_notes = set()

    def record(recording, key, outcome):
        status, payload = outcome
        if status == "ok":
            if "checkpoint_loaded" not in writer.root.attrs:
                # The weights as loaded: Hub id with its revision (commit), path or random.
                writer.root.attrs.update({"checkpoint_loaded": payload.facts["checkpoint"]})
            writer.write(recording, key, payload)
            summary.done.append(recording.name)
            summary.n_windows += len(payload.embeddings)
            summary.hours += payload.facts["duration_s"] / 3600
            for note in payload.facts.get("notes", []):
                # Each distinct notice once: a dataset repeats the same ones.
                if note not in seen_notes:
                    seen_notes.add(note)
                    say(f"skeegfm: {recording.name}: {note} (said once; each recording's "
                        "adaptations are in its attributes in the store)")  # fmt: skip
            facts = payload.facts
            if facts["channels_dropped"] or facts["channels_filled"]:
                summary.adapted[recording.name] = {
                    "dropped": facts["channels_dropped"], "filled": facts["channels_filled"]
                }
        else:
            writer.fail(recording, key, payload)
            summary.failed[recording.name] = payload
            say(f"skeegfm: {recording.name}: FAILED: {payload}")
        if bar is not None:
            bar.update(1)
            bar.set_postfix(windows=summary.n_windows, failed=len(summary.failed))

    try:
        with _client(scheduler, n_workers) as client:
            if client is None:
                for recording, key in todo:
                    try:
                        result = embed_recording(recording.path, options, spec=spec,
                                                 bids_path=recording.bids_path(),
                                                 progress=progress)  # fmt: skip
                        outcome = ("ok", result)
                    except Exception as exc:  # noqa: BLE001 - recorded, the corpus goes on
                        if _is_fatal(exc):
                            raise
                        outcome = ("failed", f"{type(exc).__name__}: {_first_line(exc)}")
                    record(recording, key, outcome)
            else:
                from distributed import as_completed

                futures = {}
                spec_future = client.scatter(spec, broadcast=True)
                options_future = client.scatter(options, broadcast=True)
                for recording, key in todo:
                    future = client.submit(
                        _embed_task, str(recording.path), options_future, spec_future,
                        recording.bids, key=f"skeegfm-embed-{key[:16]}-{recording.store_id}",
                        pure=False,
                    )  # fmt: skip
                    futures[future] = (recording, key)
                for future in as_completed(futures):
                    recording, key = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the file
                        if _is_fatal(exc):
                            raise
                        outcome = ("failed", f"{type(exc).__name__}: {_first_line(exc)}")
                    record(recording, key, outcome)
                    del futures[future]
    finally:
        if bar is not None:
            bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_fatal(exc) -> bool:
    """Errors of the job, not of one recording: weights that cannot be had."""
    from ..models import UntrustedCheckpointError, WeightsNotAvailableError

    return isinstance(
        exc, (WeightsNotAvailableError, UntrustedCheckpointError, KeyboardInterrupt, MemoryError)
    )
