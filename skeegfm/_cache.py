"""Two caches shared by the estimators.

- :func:`get_or_build`: a process-wide, size-bounded cache of frozen encoders,
  so that the clones an estimator gets in cross-validation or a grid search
  share one copy of the weights instead of reading them from disk per fold.
- :class:`EmbeddingStore`: an on-disk store of embeddings, one small ``.npy``
  file per epoch, under the folder of a :class:`joblib.Memory`. An epoch's key
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
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingStore", "clear_encoder_cache", "get_or_build", "stable_hash"]

#: Encoders kept alive by the process-wide cache (least recently used first out).
#: Estimators that hold an encoder keep it alive regardless of this bound.
_MAX_ENCODERS = 4

_ENCODERS: OrderedDict = OrderedDict()
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


def clear_encoder_cache() -> None:
    """Forget every encoder held by the process-wide cache."""
    with _LOCK:
        _ENCODERS.clear()


def stable_hash(obj) -> str:
    """Hex digest of a JSON-able description (keys sorted), stable across runs."""
    text = json.dumps(obj, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _epoch_digest(epoch: np.ndarray) -> str:
    epoch = np.ascontiguousarray(epoch)
    # SHA-256 runs on the CPU's SHA extensions where present (x86 since 2019,
    # ARMv8): about 3x faster than BLAKE2b on an epoch here.
    digest = hashlib.sha256()
    digest.update(f"{epoch.dtype.str}{epoch.shape}".encode())
    digest.update(memoryview(epoch).cast("B"))
    return digest.hexdigest()[:32]  # 128 bits


class EmbeddingStore:
    """Per-epoch embeddings on disk, under a :class:`joblib.Memory` folder.

    Parameters
    ----------
    location : str | os.PathLike
        Root folder (``joblib.Memory.location``). Files go to
        ``<location>/skeegfm/embeddings/<namespace hash>/<ab>/<epoch hash>.npy``.
    namespace : dict
        JSON-able description of everything besides the epoch's data that
        determines an embedding (encoder weights hash and configuration,
        preprocessing, pooling, precision). Written next to the files as
        ``namespace.json`` for provenance.
    """

    def __init__(self, location, namespace: dict):
        self.folder = Path(location) / "skeegfm" / "embeddings" / stable_hash(namespace)
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "namespace.json"
        if not info.exists():
            _atomic_write(info, json.dumps(namespace, indent=1, default=repr).encode())

    @staticmethod
    def keys(data: np.ndarray) -> list[str]:
        """Hash every epoch of ``data`` (shape ``(n_epochs, ...)``) separately."""
        return [_epoch_digest(epoch) for epoch in data]

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def load(self, keys) -> dict:
        """Return ``{position: embedding}`` for the keys in memory or on disk.

        Embeddings this process read or wrote recently come from memory
        (:data:`_RECENT`, bounded by :data:`_RECENT_MAX_BYTES`), the others
        from their ``.npy`` files.
        """
        found = {}
        for i, key in enumerate(keys):
            recent = _recent_get((self.folder, key))
            if recent is not None:
                found[i] = recent
                continue
            try:
                found[i] = np.load(self._path(key), allow_pickle=False)
            except (FileNotFoundError, ValueError, OSError):
                continue  # absent, or a half-written file of a crashed run
            _recent_put((self.folder, key), found[i])
        return found

    def save(self, keys, embeddings: np.ndarray) -> None:
        """Write one file per epoch (atomically, so parallel workers may race)."""
        for key, embedding in zip(keys, embeddings):
            _recent_put((self.folder, key), np.array(embedding))
            path = self._path(key)
            if path.exists():
                continue
            path.parent.mkdir(exist_ok=True)
            _atomic_write(path, _npy_bytes(embedding))


#: Embeddings this process read or wrote lately, ``(folder, key) -> array``,
#: least recently used first out: a cross-validation reads every epoch's
#: embedding several times, and a small ``np.load`` costs ~0.2 ms.
_RECENT: OrderedDict = OrderedDict()
_RECENT_MAX_BYTES = 256 * 2**20
_recent_bytes = 0


def _recent_get(key):
    with _LOCK:
        array = _RECENT.get(key)
        if array is not None:
            _RECENT.move_to_end(key)
        return array


def _recent_put(key, array: np.ndarray) -> None:
    global _recent_bytes
    array.flags.writeable = False  # shared: callers get copies (np.stack)
    with _LOCK:
        old = _RECENT.pop(key, None)
        if old is not None:
            _recent_bytes -= old.nbytes
        _RECENT[key] = array
        _recent_bytes += array.nbytes
        while _recent_bytes > _RECENT_MAX_BYTES and _RECENT:
            _recent_bytes -= _RECENT.popitem(last=False)[1].nbytes


def _npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
