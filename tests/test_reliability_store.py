"""The embedding store cannot return garbage (issue 14, item 4).

Every corrupt-entry variant is a miss that is recomputed (equal to the fresh
result) and rewritten, with one warning naming the file; the key covers the
bad channels and the other inputs of an embedding; an unwritable or full
cache folder gives one warning and no caching; ``clear()``, the size limit
and ``joblib.Memory.clear()`` remove entries, and the in-memory layer never
masks what happened to the files.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import warnings
from collections import OrderedDict
from pathlib import Path

import mne
import numpy as np
import pytest
from joblib import Memory
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils import _safe_indexing

from skeegfm import _cache
from skeegfm.embedders import EEGDINOEmbedder, EEGPTEmbedder

CH_NAMES = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7",
            "P3", "Pz", "P4", "P8", "O1", "O2"]  # fmt: skip
SFREQ = 200.0


def make_epochs(n_epochs=6, n_times=400, seed=0):
    """Synthetic EEG (about 20 µV, in volts) with a standard montage."""
    rng = np.random.default_rng(seed)
    data = rng.normal(scale=20e-6, size=(n_epochs, len(CH_NAMES), n_times))
    info = mne.create_info(CH_NAMES, SFREQ, "eeg")
    epochs = mne.EpochsArray(data, info, verbose=False)
    epochs.set_montage("colin27_1020", verbose=False)
    return epochs


@pytest.fixture(autouse=True)
def fresh_store_state(monkeypatch):
    """A process-like fresh state: empty memory layer, no warnings given yet."""
    monkeypatch.setattr(_cache, "_RECENT", OrderedDict())
    monkeypatch.setattr(_cache, "_recent_bytes", 0)
    monkeypatch.setattr(_cache, "_ROOT_BYTES", {})
    monkeypatch.setattr(_cache, "_WARNED_UNWRITABLE", set())
    monkeypatch.delenv(_cache.MAX_BYTES_ENV, raising=False)


@pytest.fixture(scope="module")
def dino(tmp_path_factory):
    from _tiny import save_tiny

    return str(save_tiny("eegdino", tmp_path_factory.mktemp("dino")))


def entry_files(folder) -> list[Path]:
    return sorted(Path(folder).rglob("*.npy"))


def forget_memory_layer():
    _cache._RECENT.clear()
    _cache._recent_bytes = 0


def store_of(tmp_path, shape=(16,), **kwargs):
    return _cache.EmbeddingStore(tmp_path, {"test": 1}, shape=shape, **kwargs)


ROWS = np.arange(4 * 16, dtype=np.float32).reshape(4, 16) / 7


# --------------------------------------------------------------------------
# Entries verified on read
# --------------------------------------------------------------------------


def _npy(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


class _Payload:
    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return "ran"


def _corrupt(path: Path, how: str) -> None:
    blob = path.read_bytes()
    if how == "zero-byte":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif how == "flipped byte":
        data = bytearray(blob)
        data[len(data) - _cache._TRAILER_SIZE - 5] ^= 0x01  # inside the array's bytes
        path.write_bytes(bytes(data))
    elif how == "wrong shape":  # a valid entry of another shape
        path.write_bytes(_cache._entry_bytes(np.zeros(8, np.float32)))
    elif how == "wrong dtype":  # a valid entry of another dtype
        path.write_bytes(_cache._entry_bytes(np.zeros(16, np.float64)))
    elif how == "garbage":
        path.write_bytes(os.urandom(len(blob)))
    elif how == "plain npy":  # a foreign .npy without our checksum
        path.write_bytes(_npy(np.zeros(16, np.float32)))
    elif how == "pickle with valid checksum":  # can never run
        payload = _npy(np.array([_Payload()], dtype=object))
        path.write_bytes(payload + _cache._TRAILER_TAG + hashlib.sha256(payload).digest())
    else:
        raise AssertionError(how)


CORRUPTIONS = ["zero-byte", "truncated", "flipped byte", "wrong shape", "wrong dtype",
               "garbage", "plain npy", "pickle with valid checksum"]  # fmt: skip
PHRASES = {
    "zero-byte": "empty file",
    "truncated": "no checksum trailer",
    "flipped byte": "checksum mismatch",
    "wrong shape": "shape (8,), expected (16,)",
    "wrong dtype": "dtype float64, expected float32",
    "garbage": "no checksum trailer",
    "plain npy": "no checksum trailer",
    "pickle with valid checksum": "not a valid .npy payload",
}


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_corrupt_entry_is_a_miss_with_one_warning_naming_the_file(tmp_path, how):
    _Payload.ran = False
    store = store_of(tmp_path)
    keys = store.keys(ROWS[:, None, :])
    store.save(keys, ROWS)
    target = store._path(keys[1])
    _corrupt(target, how)
    forget_memory_layer()  # as a new process would read it
    with pytest.warns(UserWarning, match="invalid and is recomputed and rewritten") as record:
        found = store.load(keys)
    messages = [str(w.message) for w in record if "embedding cache" in str(w.message)]
    assert len(messages) == 1 and str(target) in messages[0] and PHRASES[how] in messages[0]
    assert sorted(found) == [0, 2, 3]
    assert_array_equal(np.stack([found[i] for i in (0, 2, 3)]), ROWS[[0, 2, 3]])
    assert not _Payload.ran  # nothing read runs code
    # The caller recomputes and saves the miss: the file is whole again.
    store.save([keys[1]], ROWS[1:2])
    forget_memory_layer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = store.load(keys)
    assert_array_equal(again[1], ROWS[1])
    assert target.read_bytes() == _cache._entry_bytes(ROWS[1])


def test_entries_are_valid_npy_files_with_a_checksum(tmp_path):
    store = store_of(tmp_path)
    keys = store.keys(ROWS[:, None, :])
    store.save(keys, ROWS)
    path = store._path(keys[2])
    assert_array_equal(np.load(path, allow_pickle=False), ROWS[2])  # plain numpy reads it
    blob = path.read_bytes()
    assert blob[-_cache._TRAILER_SIZE : -32] == _cache._TRAILER_TAG
    assert path.parent.parent.name.startswith("ns-")  # not a joblib item name


def test_memory_layer_does_not_mask_a_changed_file(tmp_path):
    store = store_of(tmp_path)
    keys = store.keys(ROWS[:, None, :])
    store.save(keys, ROWS)  # in memory now
    path = store._path(keys[0])
    _corrupt(path, "flipped byte")
    os.utime(path, ns=(1, 1))  # a new signature, as any rewrite leaves
    with pytest.warns(UserWarning, match="checksum mismatch"):
        found = store.load(keys)
    assert 0 not in found and sorted(found) == [1, 2, 3]
    path.unlink()  # deleted behind our back: not served from memory either
    assert 0 not in store.load(keys[:1])


@pytest.mark.parametrize("how", ["zero-byte", "flipped byte", "wrong shape"])
def test_embedder_recomputes_and_rewrites_a_corrupt_entry(tmp_path, dino, how):
    epochs = make_epochs()
    expected = EEGDINOEmbedder(checkpoint=dino).fit(epochs).transform(epochs)
    est = EEGDINOEmbedder(checkpoint=dino, memory=str(tmp_path)).fit(epochs)
    first = est.transform(epochs)
    files = entry_files(tmp_path)
    assert len(files) == len(epochs)
    victim = files[2]
    _corrupt(victim, how)
    forget_memory_layer()
    with pytest.warns(UserWarning, match="recomputed and rewritten") as record:
        again = est.transform(epochs)
    assert sum("embedding cache" in str(w.message) for w in record) == 1
    assert str(victim) in str([w.message for w in record])
    assert_allclose(again, expected, rtol=1e-5, atol=1e-6)
    # Rewritten: valid again, and read back without a warning.
    forget_memory_layer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_array_equal(est.transform(epochs), again)
    assert_allclose(first, expected, rtol=1e-5, atol=1e-6)


def test_writes_are_atomic_and_fsynced(tmp_path, monkeypatch):
    store = store_of(tmp_path)
    keys = store.keys(ROWS[:, None, :])
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    store.save(keys[:2], ROWS[:2])
    assert len(synced) == 2

    def crash(src, dst):
        raise KeyboardInterrupt  # killed between writing and renaming

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(keys[2:3], ROWS[2:3])
    leftovers = [p for p in store.folder.rglob("*") if p.is_file() and p.name != "namespace.json"]
    assert sorted(p.name for p in leftovers) == sorted(f"{k}.npy" for k in keys[:2])


# --------------------------------------------------------------------------
# The key covers every input of an embedding
# --------------------------------------------------------------------------


def _mark_bad(epochs):
    epochs.info["bads"] = ["Fz"]


def _retype(epochs):
    epochs.set_channel_types({"Fz": "eog"})


def _move(epochs):
    pos = epochs.get_montage().get_positions()["ch_pos"]
    pos["Fp1"] = pos["Fp1"] * 0.8
    epochs.set_montage(mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head"))


@pytest.mark.parametrize(
    "change", [_mark_bad, _retype, _move], ids=["bads", "ch_types", "positions"]
)
def test_the_key_follows_bads_types_and_positions(tmp_path, dino, change):
    on_missing = "interpolate" if change is _move else "zero"
    epochs = make_epochs()
    if change is _move:
        epochs.info["bads"] = ["Cz"]  # interpolated from the positions of the others
    changed = epochs.copy()
    change(changed)
    plain = EEGDINOEmbedder(checkpoint=dino, on_missing=on_missing).fit(epochs)
    cached = EEGDINOEmbedder(checkpoint=dino, on_missing=on_missing, memory=str(tmp_path))
    cached.fit(epochs)
    assert_allclose(cached.transform(epochs), plain.transform(epochs), rtol=1e-5, atol=1e-6)
    # Same data bytes, another channel status: not the stale embedding.
    got, fresh = cached.transform(changed), plain.transform(changed)
    assert_allclose(got, fresh, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, plain.transform(epochs), rtol=1e-3, atol=1e-4)
    assert len(list(Path(tmp_path).rglob("namespace.json"))) == 2


def test_namespace_lists_the_inputs(tmp_path, dino):
    epochs = make_epochs(2)
    epochs.info["bads"] = ["Fz"]
    est = EEGDINOEmbedder(checkpoint=dino, memory=str(tmp_path), on_missing="zero").fit(epochs)
    est.transform(epochs)
    (info,) = Path(tmp_path).rglob("namespace.json")
    import json

    namespace = json.loads(info.read_text())
    assert namespace["bads"] == ["Fz"] and namespace["ch_types"] == ["eeg"] * 19
    assert {"weights", "config", "record", "precision", "device_type", "sfreq", "ch_names",
            "versions", "n_times"} <= set(namespace)  # fmt: skip
    assert {"pooling", "on_missing", "on_unknown", "unit", "sfreq", "ch_names"} <= set(
        namespace["params"]
    )
    assert not {"batch_size", "memory", "verbose", "dtype"} & set(namespace["params"])
    assert set(namespace["versions"]) == {"skeegfm", "torch", "mne", "numpy"}


def test_per_element_bads_of_a_list_are_in_the_key(tmp_path, dino):
    epochs = make_epochs()
    plain = EEGDINOEmbedder(checkpoint=dino, on_missing="zero").fit(epochs)
    cached = EEGDINOEmbedder(checkpoint=dino, on_missing="zero", memory=str(tmp_path)).fit(epochs)
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    cached.transform(as_list)  # all stored without bads
    as_list[3].info["bads"] = ["Fz"]
    got = cached.transform(as_list)
    assert_allclose(got, plain.transform(as_list), rtol=1e-5, atol=1e-6)
    alone = epochs[3:4].copy()
    alone.info["bads"] = ["Fz"]
    assert_allclose(got[3], plain.transform(alone)[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(got[3], plain.transform(epochs[3:4])[0], rtol=1e-3, atol=1e-4)


# --------------------------------------------------------------------------
# Unwritable or full cache folders
# --------------------------------------------------------------------------


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _eacces(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize(
    "target, error",
    [("replace", _eacces), ("replace", _enospc), ("fsync", _enospc), ("mkdir", _eacces)],
    ids=["replace-EACCES", "replace-ENOSPC", "fsync-ENOSPC", "mkdir-EACCES"],
)
def test_unwritable_cache_warns_once_and_computes(tmp_path, dino, monkeypatch, target, error):
    epochs = make_epochs()
    expected = EEGDINOEmbedder(checkpoint=dino).fit(epochs).transform(epochs)
    if target == "mkdir":
        monkeypatch.setattr(Path, "mkdir", error)
    else:
        monkeypatch.setattr(os, target, error)
    est = EEGDINOEmbedder(checkpoint=dino, memory=str(tmp_path), batch_size=2)
    with pytest.warns(UserWarning) as record:
        got = est.fit(epochs).transform(epochs)
        got_again = est.transform(epochs)
    messages = [
        str(w.message) for w in record if "Cannot write to the embedding cache" in str(w.message)
    ]
    assert len(messages) == 1, [str(w.message) for w in record]
    phrase = {_eacces: "PermissionError: Permission denied", _enospc: "No space left on device"}
    assert phrase[error] in messages[0] and str(tmp_path) in messages[0]
    assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert_allclose(got_again, expected, rtol=1e-5, atol=1e-6)
    assert entry_files(tmp_path) == []
    assert not [p for p in Path(tmp_path).rglob(".tmp-*")]  # no half-written files


def test_full_disk_mid_cross_validation_does_not_crash(tmp_path, dino, monkeypatch):
    epochs = make_epochs(8)
    y = np.array([0, 1] * 4)
    monkeypatch.setattr(os, "replace", _enospc)
    pipe = make_pipeline(
        EEGDINOEmbedder(checkpoint=dino, memory=str(tmp_path)), LogisticRegression()
    )
    with pytest.warns(UserWarning, match="No space left on device") as record:
        scores = cross_val_score(pipe, epochs, y, cv=KFold(2), error_score="raise")
    assert scores.shape == (2,) and np.isfinite(scores).all()
    assert sum("Cannot write to the embedding cache" in str(w.message) for w in record) == 1


def test_memory_folder_that_cannot_be_created(tmp_path, dino, monkeypatch):
    import skeegfm.embedders as embedders

    epochs = make_epochs(2)
    monkeypatch.setattr(embedders, "check_memory", _eacces)
    est = EEGDINOEmbedder(checkpoint=dino, memory=str(tmp_path / "ro"))
    with pytest.warns(UserWarning, match="Cannot use memory=.*computed without caching"):
        got = est.fit(epochs).transform(epochs)
    assert got.shape == (2, est.n_features_out_)


def test_read_only_cache_is_still_read(tmp_path, monkeypatch):
    store = store_of(tmp_path)
    keys = store.keys(ROWS[:, None, :])
    store.save(keys, ROWS)
    forget_memory_layer()
    monkeypatch.setattr(os, "replace", _eacces)
    monkeypatch.setattr(os, "utime", _eacces)
    reader = store_of(tmp_path)
    found = reader.load(keys)
    assert_array_equal(np.stack([found[i] for i in range(4)]), ROWS)


# --------------------------------------------------------------------------
# clear(), the size limit, Memory.clear()
# --------------------------------------------------------------------------


def test_clear_removes_entries_on_disk_and_in_memory(tmp_path):
    store = store_of(tmp_path)
    other = _cache.EmbeddingStore(tmp_path, {"test": 2}, shape=(16,))
    keys = store.keys(ROWS[:, None, :])
    store.save(keys, ROWS)
    other.save(keys, ROWS)
    store.clear()
    assert store.load(keys) == {}
    assert not any(k[0] == store.folder for k in _cache._RECENT)
    assert len(other.load(keys)) == 4  # other namespaces untouched
    store.save(keys[:1], ROWS[:1])  # usable again
    assert list(store.load(keys)) == [0]


def test_size_limit_evicts_least_recently_used(tmp_path):
    entry = len(_cache._entry_bytes(ROWS[0]))
    store = store_of(tmp_path, max_bytes=int(4.5 * entry))
    rows = np.arange(6 * 16, dtype=np.float32).reshape(6, 16)
    keys = store.keys(rows[:, None, :])
    store.save(keys[:4], rows[:4])
    assert store.nbytes() == 4 * entry
    old = 10**18  # 2001: long ago, in a known order
    for i, key in enumerate(keys[:4]):
        os.utime(store._path(key), ns=(old + i, old + i))
    forget_memory_layer()
    assert list(store.load(keys[:1])) == [0]  # entry 0 used now: the most recent
    store.save(keys[4:5], rows[4:5])  # 5 entries > 4.5: down to 90% of the limit
    survivors = {k for k in keys if store._path(k).exists()}
    assert survivors == {keys[0], keys[2], keys[3], keys[4]}
    assert store.nbytes() <= 0.9 * store.max_bytes
    found = store.load(keys)
    assert sorted(found) == [0, 2, 3, 4]  # the evicted one is not served from memory


@pytest.mark.parametrize(
    "value, expected",
    [("2048", 2048), ("2K", 2048), ("1M", 2**20), (4096, 4096)],
)
def test_size_limit_values(tmp_path, monkeypatch, value, expected):
    assert store_of(tmp_path, max_bytes=value).max_bytes == expected
    monkeypatch.setenv(_cache.MAX_BYTES_ENV, str(value))
    assert store_of(tmp_path).max_bytes == expected


@pytest.mark.parametrize("value", ["lots", "0", -5, 1.5, True])
def test_invalid_size_limit(tmp_path, monkeypatch, value):
    with pytest.raises(ValueError, match="max_bytes must be a positive number of bytes"):
        store_of(tmp_path, max_bytes=value)
    if isinstance(value, str):
        monkeypatch.setenv(_cache.MAX_BYTES_ENV, value)
        with pytest.raises(ValueError, match=_cache.MAX_BYTES_ENV):
            store_of(tmp_path)


@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_memory_clear_clears_our_entries(tmp_path, dino, as_path):
    epochs = make_epochs(4)
    memory = Memory(tmp_path if as_path else str(tmp_path), verbose=0)
    est = EEGDINOEmbedder(checkpoint=dino, memory=memory).fit(epochs)
    first = est.transform(epochs)
    assert len(entry_files(tmp_path)) == 4
    runs = []
    handle = est.encoder_.register_forward_hook(lambda m, a, o: runs.append(a[0].shape[0]))
    try:
        est.transform(epochs)
        assert runs == []  # all cached
        memory.clear(warn=False)
        assert entry_files(tmp_path) == []
        again = est.transform(epochs)  # not masked by the memory layer
        assert sum(runs) == 4
    finally:
        handle.remove()
    assert_allclose(again, first, rtol=1e-5, atol=1e-6)
    assert len(entry_files(tmp_path)) == 4


# --------------------------------------------------------------------------
# Non-finite embeddings are never returned nor cached
# --------------------------------------------------------------------------


def test_non_finite_embeddings_raise_and_are_not_cached(tmp_path, dino, monkeypatch):
    epochs = make_epochs(3)
    est = EEGDINOEmbedder(checkpoint=dino, memory=str(tmp_path)).fit(epochs)
    real = est._embed_prepared

    def poisoned(data):
        out = real(data)
        out[1, 0] = np.nan
        return out

    monkeypatch.setattr(est, "_embed_prepared", poisoned)
    with pytest.raises(ValueError, match=r"non-finite embeddings \(NaN or inf\) for epochs \[1\]"):
        est.transform(epochs)
    assert entry_files(tmp_path) == []


def test_eegpt_store_shape_follows_pooling(tmp_path):
    from _tiny import save_tiny

    ckpt = str(save_tiny("eegpt", tmp_path / "eegpt"))
    epochs = make_epochs(2, n_times=512)
    for pooling in ("mean", "flatten"):
        est = EEGPTEmbedder(checkpoint=ckpt, pooling=pooling, memory=str(tmp_path / "m"))
        z = est.fit(epochs).transform(epochs)
        forget_memory_layer()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert_array_equal(est.transform(epochs), z)
