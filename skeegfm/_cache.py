"""Two caches shared by the estimators.

- :func:`get_or_build`: a process-wide, size-bounded cache of frozen encoders,
  so that the clones an estimator gets in cross-validation or a grid search
  share one copy of the weights instead of reading them from disk per fold.
  Encoders loaded from checkpoints are keyed by the hash of their weights
  (:func:`get_or_build_by_content`), never by file names or times alone.
- :class:`EmbeddingStore`: an on-disk store of embeddings, one small verified
  ``.npy`` file per epoch, under the folder of a :class:`joblib.Memory`. An epoch's key
  is a hash of its data as received (bytes, dtype, shape) inside a namespace
  that hashes everything else that determines its embedding: the encoder's
  weights, its configuration, the preprocessing and the pooling. Epochs are
  looked up in bulk, so a cross-validation that sees every epoch five times
  runs the encoder on each epoch once.

Neither cache changes a result: a miss recomputes exactly what a hit returns.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

__all__ = [
    "EmbeddingStore",
    "clear_encoder_cache",
    "get_or_build",
    "get_or_build_by_content",
    "stable_hash",
]

#: Encoders kept alive by the process-wide cache (least recently used first out).
#: Estimators that hold an encoder keep it alive regardless of this bound.
_MAX_ENCODERS = 4

_ENCODERS: OrderedDict = OrderedDict()
#: Location (e.g. a path with its files' sizes and times) -> content key of
#: the value last built from it (see :func:`get_or_build_by_content`).
_LOCATIONS: OrderedDict = OrderedDict()
_LOCK = threading.RLock()


def get_or_build(key, build):
    """Return the cached value for ``key``, calling ``build()`` on a miss.

    Parameters
    ----------
    key : hashable
        Identity of the value, e.g. ``("EEGPT", checkpoint identity, overrides,
        device)``.
    build : callable
        Zero-argument function that creates the value (reads weights from
        disk, moves them to the device).

    Returns
    -------
    value : object
        The shared value; callers must not modify it.
    """
    with _LOCK:
        if key in _ENCODERS:
            _ENCODERS.move_to_end(key)
            return _ENCODERS[key]
        value = build()
        _ENCODERS[key] = value
        while len(_ENCODERS) > _MAX_ENCODERS:
            _ENCODERS.popitem(last=False)
        return value


def get_or_build_by_content(location, build, content_key):
    """Like :func:`get_or_build`, for values whose identity is known only
    once built (e.g. the hash of weights read from a file).

    Parameters
    ----------
    location : hashable
        Where the value comes from, e.g. a path with its files' sizes and
        times. A location seen before whose value is still cached is served
        without calling ``build``.
    build : callable
        Zero-argument function that creates the value.
    content_key : callable
        ``content_key(value)`` -> the key of the value's contents. The cache
        is keyed by it: a value equal in content to a cached one is replaced
        by the cached one (so identical weights are held once), and a new
        location with other contents never receives an old value.

    Returns
    -------
    value : object
        The shared value; callers must not modify it.
    """
    with _LOCK:
        known = _LOCATIONS.get(location)
        if known is not None and known in _ENCODERS:
            _LOCATIONS.move_to_end(location)
            _ENCODERS.move_to_end(known)
            return _ENCODERS[known]
    value = build()
    key = content_key(value)
    with _LOCK:
        _LOCATIONS[location] = key
        while len(_LOCATIONS) > 16 * _MAX_ENCODERS:
            _LOCATIONS.popitem(last=False)
        return get_or_build(key, lambda: value)


def clear_encoder_cache() -> None:
    """Forget every encoder held by the process-wide cache."""
    with _LOCK:
        _ENCODERS.clear()
        _LOCATIONS.clear()


def stable_hash(obj) -> str:
    """Hex digest of a JSON-able description (keys sorted), stable across runs."""
    text = json.dumps(obj, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _epoch_digest(epoch: np.ndarray, salt: str | None = None) -> str:
    epoch = np.ascontiguousarray(epoch)
    # SHA-256 runs on the CPU's SHA extensions where present (x86 since 2019,
    # ARMv8): about 3x faster than BLAKE2b on an epoch here.
    digest = hashlib.sha256()
    digest.update(f"{epoch.dtype.str}{epoch.shape}".encode())
    digest.update(memoryview(epoch).cast("B"))
    if salt:
        digest.update(b"\x00" + salt.encode())
    return digest.hexdigest()[:32]  # 128 bits


#: Name of the environment variable that sets the default size limit of the
#: embedding store, in bytes (``"5000000000"``) or with a K/M/G suffix (``"5G"``).
MAX_BYTES_ENV = "SKEEGFM_EMBEDDINGS_MAX_BYTES"

#: Every entry file ends with this tag and the SHA-256 digest (32 bytes) of
#: the bytes before it (a complete ``.npy`` file: header, then the data).
_TRAILER_TAG = b"\x00skeegfm-sha256\x00"
_TRAILER_SIZE = len(_TRAILER_TAG) + 32

#: Namespace folders start with this (not with 32 hex digits, the pattern of
#: joblib's own items, which ``Memory.reduce_size`` would delete whole).
_NAMESPACE_PREFIX = "ns-"

#: A read refreshes an entry's modification time (its recency for the size
#: limit) when that time is older than this.
_TOUCH_AFTER_NS = 60 * 10**9

#: When the size limit is exceeded, entries are evicted down to this fraction
#: of it, so that the next few writes do not each scan the store again.
_EVICT_TO = 0.9

#: Threads that write (and fsync) the entries of one save.
_WRITE_THREADS = 8

_ROOT_BYTES: dict = {}  # store root -> bytes of its entries, as last scanned + written since
_WARNED_UNWRITABLE: set = set()  # store roots whose write failure was reported


class EmbeddingStore:
    """Per-epoch embeddings on disk, under a :class:`joblib.Memory` folder.

    Each entry is a complete ``.npy`` file (readable with
    ``np.load(path, allow_pickle=False)``) followed by a 48-byte trailer: a
    tag and the SHA-256 digest of the ``.npy`` bytes. An entry is returned
    only if its digest, dtype and shape check out; anything else (an empty,
    truncated, damaged or foreign file, another shape or dtype) is a miss,
    reported in one warning per :meth:`load` naming the files, and the
    caller's :meth:`save` rewrites it. Nothing read can run code (no pickles).

    Writes are atomic: a temporary file in the same folder, flushed and
    ``os.fsync``-ed, then ``os.replace``-d over the entry, so parallel workers
    and crashed runs leave whole entries or none. If the folder cannot be
    written (read-only, full disk), one warning is given and embeddings are
    computed without caching.

    Parameters
    ----------
    location : str | os.PathLike
        Root folder: the folder of the ``joblib.Memory`` store
        (``Memory(...).store_backend.location``, i.e. ``<location>/joblib``
        for a ``str`` location), so that ``Memory.clear()`` deletes the
        entries too. Files go to
        ``<location>/skeegfm/embeddings/ns-<namespace hash>/<ab>/<epoch hash>.npy``.
    namespace : dict
        JSON-able description of everything besides the epoch's data that
        determines an embedding (encoder weights hash and configuration,
        preprocessing, pooling, precision, package versions). Written next to
        the files as ``namespace.json`` for provenance.
    shape : tuple of int | None
        Shape of one embedding; entries of another shape are misses.
        ``None``: any shape.
    dtype : str | numpy.dtype
        dtype of the embeddings (default float32); entries of another dtype
        are misses.
    max_bytes : int | str | None
        Size limit of the entry files of the whole store (all namespaces
        under ``location``), in bytes or with a K/M/G suffix (``"20G"``).
        When a :meth:`save` takes the store over it, the least recently used
        entries (oldest modification time; a read refreshes it at most once a
        minute) are deleted down to 90% of it. ``None``: the environment
        variable ``SKEEGFM_EMBEDDINGS_MAX_BYTES`` if set, else no limit.
        Concurrent writers are accounted when this process next scans the
        store (on its first write and whenever its count crosses the limit).

    Raises
    ------
    ValueError
        If ``max_bytes`` (or the environment variable) is not a positive size.
    """

    def __init__(self, location, namespace: dict, *, shape=None, dtype="float32",
                 max_bytes=None):  # fmt: skip
        self.root = Path(location) / "skeegfm" / "embeddings"
        self.folder = self.root / (_NAMESPACE_PREFIX + stable_hash(namespace))
        self._prefix = os.fspath(self.folder) + os.sep
        self.shape = None if shape is None else tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.max_bytes = _resolve_max_bytes(max_bytes)
        self.writable = True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            info = self.folder / "namespace.json"
            if not info.exists():
                _atomic_write(info, json.dumps(namespace, indent=1, default=repr).encode())
        except OSError as err:
            self._write_failed(err)

    @staticmethod
    def keys(data: np.ndarray, salts=None) -> list[str]:
        """Hash every epoch of ``data`` (shape ``(n_epochs, ...)``) separately.

        ``salts``: optional str per epoch, hashed with it (per-epoch facts
        outside the data, e.g. the bad channels of one element of a list of
        Epochs).
        """
        if salts is None:
            return [_epoch_digest(epoch) for epoch in data]
        return [_epoch_digest(epoch, salt) for epoch, salt in zip(data, salts)]

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        return f"{self._prefix}{key[:2]}{os.sep}{key}.npy"  # str: no Path per entry

    # ------------------------------------------------------------ reading

    def load(self, keys) -> dict:
        """Return ``{position: embedding}`` for the keys with a valid entry.

        Embeddings this process read or wrote recently come from memory
        (:data:`_RECENT`, bounded by :data:`_RECENT_MAX_BYTES`) as long as
        their file is the one they came from (same inode, size and
        modification time), the others from their files, verified. Invalid
        entries are left out (misses) and named in one warning.
        """
        found, invalid = {}, []
        now = time.time_ns()
        for i, key in enumerate(keys):
            path = self._file(key)
            memory_key = (self.folder, key)
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                _recent_drop(memory_key)
                continue
            except OSError:
                continue  # unreadable: a miss
            signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            array = _recent_get(memory_key, signature)
            fresh = array is None
            if fresh:
                array, problem = self._read(path)
                if array is None:
                    if problem is not None:
                        invalid.append((path, problem))
                    continue
            if now - stat.st_mtime_ns > _TOUCH_AFTER_NS:
                signature, fresh = _touch(path, signature, now), True
            if fresh:
                _recent_put(memory_key, array, signature)
            found[i] = array
        if invalid:
            shown = "; ".join(f"{path} ({problem})" for path, problem in invalid[:3])
            more = f" and {len(invalid) - 3} more" if len(invalid) > 3 else ""
            warnings.warn(
                f"{len(invalid)} embedding cache entr{'y is' if len(invalid) == 1 else 'ies are'} "
                f"invalid and {'is' if len(invalid) == 1 else 'are'} recomputed and rewritten: "
                f"{shown}{more}.",
                UserWarning,
                stacklevel=3,
            )
        return found

    def _read(self, path):
        """``(array, None)`` for a valid entry; ``(None, why)`` otherwise
        (``why`` is None when the file vanished meanwhile)."""
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except FileNotFoundError:
            return None, None
        except OSError as err:
            return None, f"unreadable: {err.strerror or err}"
        return _decode_entry(blob, self.shape, self.dtype)

    # ------------------------------------------------------------ writing

    def save(self, keys, embeddings: np.ndarray) -> None:
        """Write one entry per epoch (atomically, so parallel workers may race).

        Existing entries of these keys are replaced (callers save the keys
        :meth:`load` missed, including invalid entries). On a write error the
        store warns once and stops writing.
        """
        arrays = []
        for embedding in embeddings:
            array = np.array(embedding, dtype=self.dtype)  # own copy, not a view
            if self.shape is not None and array.shape != self.shape:
                raise ValueError(
                    f"Embedding of shape {array.shape} saved to a store of shape {self.shape}."
                )
            arrays.append(array)

        def write(key, array):
            if not self.writable:
                return None
            path = self._path(key)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                return _atomic_write(path, _entry_bytes(array))
            except OSError as err:
                self._write_failed(err)
                return None

        pairs = list(zip(keys, arrays))
        if len(pairs) > 1 and _WRITE_THREADS > 1:
            # Each entry is fsync-ed; file systems commit concurrent fsyncs
            # together (about 10x the throughput of one at a time here).
            with ThreadPoolExecutor(min(_WRITE_THREADS, len(pairs))) as pool:
                stats = list(pool.map(lambda pair: write(*pair), pairs))
        else:
            stats = [write(key, array) for key, array in pairs]
        written = 0
        for (key, array), stat in zip(pairs, stats):  # in order: the LRU stays deterministic
            if stat is not None:
                written += stat.st_size
                signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
                _recent_put((self.folder, key), array, signature)
        if written and self.max_bytes is not None:
            self._enforce_limit(written)

    def _write_failed(self, err: OSError) -> None:
        self.writable = False
        with _LOCK:
            if str(self.root) in _WARNED_UNWRITABLE:
                return
            _WARNED_UNWRITABLE.add(str(self.root))
        reason = err.strerror or str(err)
        warnings.warn(
            f"Cannot write to the embedding cache {self.folder} ({type(err).__name__}: "
            f"{reason}); embeddings are computed without caching. Free disk space, make the "
            "folder writable, or pass another memory= folder.",
            UserWarning,
            stacklevel=3,
        )

    # ------------------------------------------------------------ size

    def clear(self) -> None:
        """Delete every entry of this namespace, on disk and in memory."""
        with _LOCK:
            for memory_key in [k for k in _RECENT if k[0] == self.folder]:
                _recent_drop(memory_key)
            _ROOT_BYTES.pop(str(self.root), None)
        shutil.rmtree(self.folder, ignore_errors=True)

    def nbytes(self) -> int:
        """Bytes of the entry files of the whole store (all namespaces)."""
        return sum(size for _, _, size in _scan_entries(self.root))

    def _enforce_limit(self, written: int) -> None:
        root = str(self.root)
        with _LOCK:
            total = _ROOT_BYTES.get(root)
            if total is not None and total + written <= self.max_bytes:
                _ROOT_BYTES[root] = total + written
                return
            entries = _scan_entries(self.root)
            total = sum(size for _, _, size in entries)
            if total > self.max_bytes:
                target = int(self.max_bytes * _EVICT_TO)
                for _, path, size in sorted(entries):  # oldest first
                    if total <= target:
                        break
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                    except OSError:
                        continue
                    total -= size
            _ROOT_BYTES[root] = total


def _scan_entries(root: Path) -> list:
    """``(mtime_ns, path, size)`` of every entry file under ``root``."""
    entries = []

    def subdirs(path):
        try:
            with os.scandir(path) as it:
                return [e.path for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            return []

    for namespace in subdirs(root):
        for shard in subdirs(namespace):
            try:
                with os.scandir(shard) as it:
                    for entry in it:
                        if not entry.name.endswith(".npy"):
                            continue
                        try:
                            stat = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue  # evicted meanwhile
                        entries.append((stat.st_mtime_ns, entry.path, stat.st_size))
            except OSError:
                continue
    return entries


def _resolve_max_bytes(max_bytes):
    source = "max_bytes"
    if max_bytes is None:
        max_bytes = os.environ.get(MAX_BYTES_ENV) or None
        source = MAX_BYTES_ENV
        if max_bytes is None:
            return None
    value = None
    if isinstance(max_bytes, str):
        text = max_bytes.strip()
        if text.isdigit():
            value = int(text)
        else:
            from joblib.disk import memstr_to_bytes

            try:
                value = int(memstr_to_bytes(text))
            except (ValueError, KeyError, TypeError):
                value = None
    elif isinstance(max_bytes, (int, np.integer)) and not isinstance(max_bytes, bool):
        value = int(max_bytes)
    if value is None or value <= 0:
        raise ValueError(
            f"{source} must be a positive number of bytes, e.g. 20000000000 or '20G', "
            f"got {max_bytes!r}."
        )
    return value


def _touch(path: Path, signature: tuple, now: int) -> tuple:
    """Mark an entry as used now (its modification time); the new signature."""
    try:
        os.utime(path, ns=(now, now))
    except OSError:
        return signature  # read-only cache: recency stays as it was
    return signature[:2] + (now,)


def _entry_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    payload = out.getvalue()
    return payload + _TRAILER_TAG + hashlib.sha256(payload).digest()


def _decode_entry(blob: bytes, shape, dtype):
    """``(array, None)`` if ``blob`` is a valid entry, else ``(None, why)``."""
    if not blob:
        return None, "empty file (0 bytes)"
    if len(blob) < _TRAILER_SIZE or blob[-_TRAILER_SIZE:-32] != _TRAILER_TAG:
        return None, "no checksum trailer: truncated, or not written by skeegfm"
    payload = memoryview(blob)[:-_TRAILER_SIZE]
    if hashlib.sha256(payload).digest() != blob[-32:]:
        return None, "checksum mismatch: damaged bytes"
    try:
        array = np.load(io.BytesIO(payload), allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        return None, f"not a valid .npy payload ({err})"
    if array.dtype != dtype:
        return None, f"dtype {array.dtype}, expected {dtype}"
    if shape is not None and array.shape != tuple(shape):
        return None, f"shape {array.shape}, expected {tuple(shape)}"
    return array, None


#: Embeddings this process read or wrote lately, ``(folder, key) -> (array,
#: file signature)``, least recently used first out: a cross-validation reads
#: every epoch's embedding several times, and reading and verifying a small
#: file costs ~0.05 ms. An entry is served only while its file has the
#: signature (inode, size, modification time) it had when it was verified, so
#: a file changed or deleted behind our back (``Memory.clear()``, eviction,
#: damage) is never masked.
_RECENT: OrderedDict = OrderedDict()
_RECENT_MAX_BYTES = 256 * 2**20
_recent_bytes = 0


def _recent_get(key, signature):
    with _LOCK:
        item = _RECENT.get(key)
        if item is None or item[1] != signature:
            return None
        _RECENT.move_to_end(key)
        return item[0]


def _recent_put(key, array: np.ndarray, signature) -> None:
    global _recent_bytes
    array.flags.writeable = False  # shared: callers get copies (np.stack)
    with _LOCK:
        old = _RECENT.pop(key, None)
        if old is not None:
            _recent_bytes -= old[0].nbytes
        _RECENT[key] = (array, signature)
        _recent_bytes += array.nbytes
        while _recent_bytes > _RECENT_MAX_BYTES and _RECENT:
            _recent_bytes -= _RECENT.popitem(last=False)[1][0].nbytes


def _recent_drop(key) -> None:
    global _recent_bytes
    with _LOCK:
        old = _RECENT.pop(key, None)
        if old is not None:
            _recent_bytes -= old[0].nbytes


def _atomic_write(path: Path, payload: bytes) -> os.stat_result:
    """Write ``payload`` to ``path`` atomically and durably; the file's stat."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
            stat = os.fstat(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return stat
