"""Frozen embedders on real EEG (EEGMAT development epochs) with tiny encoders.

What the estimators promise beyond the scikit-learn contract
(tests/test_sklearn_compliance.py): the three input forms give identical
embeddings, channel order does not matter, bad input fails clearly, the
embeddings are the encoder's pooled features, clones share one encoder, a
pickled embedder carries its weights, ``memory`` embeds each epoch once, and
subject-wise cross-validation runs end to end.
"""

from __future__ import annotations

import pickle
import shutil
import warnings

import mne
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing

from _tiny import TINY_CONFIGS, save_tiny
from skeegfm import _cache, models
from skeegfm._inputs import prepare_for_model, read_eeg
from skeegfm.datasets import load_eegmat
from skeegfm.embedders import CBraModEmbedder, CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

EMBEDDERS = [EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder, CBraModEmbedder]
FAMILY = {
    EEGDINOEmbedder: "eegdino",
    EEGPTEmbedder: "eegpt",
    CodeBrainEmbedder: "codebrain",
    CBraModEmbedder: "cbramod",
}
by_name = pytest.mark.parametrize("cls", EMBEDDERS, ids=lambda c: c.__name__)


@pytest.fixture(scope="module")
def eegmat():
    epochs, y, groups = load_eegmat(return_X_y=True, verbose=False)
    return epochs, y, groups


@pytest.fixture(scope="module")
def small(eegmat):
    """Two subjects (48 epochs) for the tests that need no cross-validation."""
    epochs, y, groups = eegmat
    keep = np.isin(groups, np.unique(groups)[:2])
    return epochs[np.flatnonzero(keep)], y[keep], groups[keep]


def _count_forwards(encoder):
    """Register a hook counting the epochs the encoder runs on; return (counter, handle)."""
    counter = {"epochs": 0, "calls": 0}

    def hook(module, args, kwargs, output):
        counter["epochs"] += args[0].shape[0]
        counter["calls"] += 1

    return counter, encoder.register_forward_hook(hook, with_kwargs=True)


# --------------------------------------------------------------------------
# Input forms, channels, errors (real EEG)
# --------------------------------------------------------------------------


@by_name
def test_epochs_list_and_array_give_identical_embeddings(cls, small, tiny_checkpoint):
    epochs, y, groups = small
    ckpt = str(tiny_checkpoint(FAMILY[cls]))
    est = cls(checkpoint=ckpt).fit(epochs)
    Z = est.transform(epochs)
    assert Z.shape == (len(epochs), est.n_features_out_) and Z.dtype == np.float32
    assert np.isfinite(Z).all() and Z.std(axis=0).mean() > 0
    # The list of one-epoch Epochs that scikit-learn's CV slicing produces.
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    assert isinstance(as_list, list) and isinstance(as_list[0], mne.BaseEpochs)
    assert_array_equal(est.transform(as_list), Z)
    # An array with sfreq and ch_names, in volts and in microvolts.
    X = epochs.get_data()
    kwargs = dict(checkpoint=ckpt, sfreq=epochs.info["sfreq"], ch_names=epochs.ch_names)
    assert_array_equal(cls(**kwargs).fit(X).transform(X), Z)
    Z_uv = cls(**kwargs, unit="uV").fit(X * 1e6).transform(X * 1e6)
    assert_allclose(Z_uv, Z, rtol=1e-4, atol=1e-5)


@by_name
def test_fit_transform_reads_once_and_equals_fit_then_transform(cls, small, tiny_checkpoint,
                                                                 monkeypatch):
    import skeegfm._base as base

    epochs, y, groups = small
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))  # as a CV split gives it
    est = cls(checkpoint=str(tiny_checkpoint(FAMILY[cls])))
    expected = clone(est).fit(as_list).transform(as_list)
    reads = []
    real_read = base.read_eeg
    monkeypatch.setattr(base, "read_eeg", lambda *a, **k: reads.append(1) or real_read(*a, **k))
    Z = est.fit_transform(as_list)
    assert len(reads) == 1
    assert_array_equal(Z, expected)
    assert est.n_features_out_ == Z.shape[1]
    with pytest.raises(ValueError, match="NaN"):
        bad = epochs.get_data()
        bad[0, 0, 0] = np.nan
        clone(est).set_params(sfreq=epochs.info["sfreq"], ch_names=epochs.ch_names).fit_transform(bad)


@by_name
def test_channel_order_does_not_matter(cls, small, tiny_checkpoint):
    epochs, y, groups = small
    est = cls(checkpoint=str(tiny_checkpoint(FAMILY[cls]))).fit(epochs)
    Z = est.transform(epochs)
    order = list(np.random.default_rng(0).permutation(epochs.ch_names))
    shuffled = epochs.copy().reorder_channels(order)
    assert shuffled.ch_names != epochs.ch_names
    assert_array_equal(est.transform(shuffled), Z)
    # Fitting on the shuffled order gives the same embedder.
    assert_array_equal(clone(est).fit(shuffled).transform(epochs), Z)


@by_name
def test_bad_input_raises_clearly(cls, small, tiny_checkpoint):
    epochs, y, groups = small
    ckpt = str(tiny_checkpoint(FAMILY[cls]))
    X = epochs.get_data()
    kwargs = dict(checkpoint=ckpt, sfreq=250.0, ch_names=epochs.ch_names)
    X_nan = X.copy()
    X_nan[3, 5, 100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls(**kwargs).fit(X_nan)
    with pytest.raises(ValueError, match="3-D|3D|dimension|shape"):
        cls(**kwargs).fit(X[0])
    with pytest.raises(ValueError, match="ch_names|channel"):
        cls(**dict(kwargs, ch_names=epochs.ch_names[:-1])).fit(X)
    with pytest.raises(ValueError, match="sfreq"):
        cls(checkpoint=ckpt, ch_names=epochs.ch_names).fit(X)
    unknown = list(epochs.ch_names)
    unknown[0] = "XYZ1"
    with pytest.raises(ValueError, match="XYZ1"):
        cls(**dict(kwargs, ch_names=unknown)).fit(X)
    est = cls(**kwargs).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        est.transform(X_nan)
    with pytest.raises(ValueError, match="channels"):
        est.set_params(ch_names=unknown).transform(X)


def test_positional_models_missing_channel(small, tiny_checkpoint):
    epochs, y, groups = small
    fewer = epochs.copy().drop_channels(["Cz"])
    ckpt = str(tiny_checkpoint("eegdino"))
    with pytest.raises(ValueError, match="CZ|Cz"):
        EEGDINOEmbedder(checkpoint=ckpt).fit(fewer)
    Z = EEGDINOEmbedder(checkpoint=ckpt, on_missing="zero").fit(fewer).transform(fewer)
    assert Z.shape == (len(fewer), 32) and np.isfinite(Z).all()


def test_eegpt_takes_any_channel_subset(small, tiny_checkpoint):
    epochs, y, groups = small
    ckpt = str(tiny_checkpoint("eegpt"))
    sub = epochs.copy().pick(["Fp1", "Cz", "O2", "T7"])
    est = EEGPTEmbedder(checkpoint=ckpt).fit(sub)
    assert est.encoder_.n_chans == 4
    assert est.transform(sub).shape == (len(sub), est.n_features_out_)
    # An unknown name is dropped with a warning when asked to.
    X = sub.get_data()
    names = ["Fp1", "Cz", "O2", "EMG1"]
    with pytest.warns(UserWarning, match="EMG1"):
        est = EEGPTEmbedder(
            checkpoint=ckpt, sfreq=250.0, ch_names=names, on_unknown="drop"
        ).fit(X)
    assert est.encoder_.n_chans == 3


# --------------------------------------------------------------------------
# What the embeddings are
# --------------------------------------------------------------------------


def _bare_features(est, epochs):
    """The encoder's features on the adapter's data, without the estimator."""
    prepared = prepare_for_model(read_eeg(epochs), est.record_)
    with torch.inference_mode():
        return est.encoder_(torch.from_numpy(prepared.data), return_features=True)


@pytest.mark.parametrize(
    "cls, pooling, size",
    [
        (EEGDINOEmbedder, "mean", 32),
        (EEGDINOEmbedder, "cls", 32),
        (EEGDINOEmbedder, "mean+cls", 64),
        (EEGPTEmbedder, "mean", 2 * 16),
        (EEGPTEmbedder, "flatten", 16 * 2 * 16),  # 4 s at 256 Hz = 16 patches of 64
        (CodeBrainEmbedder, "mean", 32),
        (CodeBrainEmbedder, "channel", 19 * 32),
        (CBraModEmbedder, "mean", 16),
        (CBraModEmbedder, "channel", 19 * 16),
    ],
)
def test_pooling(cls, pooling, size, small, tiny_checkpoint):
    epochs = small[0][:6]
    est = cls(checkpoint=str(tiny_checkpoint(FAMILY[cls])), pooling=pooling).fit(epochs)
    Z = est.transform(epochs)
    assert Z.shape == (6, size) == (6, est.n_features_out_)
    out = _bare_features(est, epochs)
    tokens = out["features"]
    expected = {
        ("EEGDINOEmbedder", "mean"): lambda: tokens.mean(1),
        ("EEGDINOEmbedder", "cls"): lambda: out["cls_token"],
        ("EEGDINOEmbedder", "mean+cls"): lambda: torch.cat([tokens.mean(1), out["cls_token"]], 1),
        ("EEGPTEmbedder", "mean"): lambda: tokens.mean(1),
        ("EEGPTEmbedder", "flatten"): lambda: tokens.flatten(1),
        ("CodeBrainEmbedder", "mean"): lambda: tokens.mean((1, 2)),
        ("CodeBrainEmbedder", "channel"): lambda: tokens.mean(2).flatten(1),
        ("CBraModEmbedder", "mean"): lambda: tokens.mean((1, 2)),
        ("CBraModEmbedder", "channel"): lambda: tokens.mean(2).flatten(1),
    }[cls.__name__, pooling]()
    assert_allclose(Z, expected.numpy(), rtol=1e-5, atol=1e-6)


@by_name
def test_fast_path_matches_eager_encoder(cls, small, tiny_checkpoint):
    """The estimator runs the pre-packed copy; it must agree with a plain load."""
    epochs = small[0][:6]
    ckpt = str(tiny_checkpoint(FAMILY[cls]))
    est = cls(checkpoint=ckpt).fit(epochs)
    eager = getattr(models, est._model_class_name).from_pretrained(
        ckpt, **est._encoder_overrides(prepare_for_model(read_eeg(epochs[:1]), est.record_))
    )
    prepared = prepare_for_model(read_eeg(epochs), est.record_)
    with torch.inference_mode():
        feats = eager(torch.from_numpy(prepared.data), return_features=True)
    assert_allclose(est.transform(epochs), est._pool(feats).numpy(), rtol=1e-4, atol=1e-5)


def test_eegpt_geometry(small, tiny_checkpoint):
    epochs = small[0][:4]
    ckpt = str(tiny_checkpoint("eegpt"))
    default = EEGPTEmbedder(checkpoint=ckpt, pooling="flatten").fit(epochs)
    assert default.encoder_.n_patches == 16  # non-overlapping 64-sample patches
    assert default.encoder_.chan_proj_type == "none"
    strided = EEGPTEmbedder(checkpoint=ckpt, pooling="flatten", patch_stride=32).fit(epochs)
    assert strided.encoder_.n_patches == 31
    assert strided.n_features_out_ == 31 * 2 * 16
    # Another window length than at fit is refused clearly.
    shorter = epochs.copy().crop(0, 2.0, include_tmax=False)
    with pytest.raises(ValueError, match="samples|n_times"):
        default.transform(mne.EpochsArray(shorter.get_data(), epochs.info, verbose=False))


def test_precision_and_dtype(small, tiny_checkpoint):
    epochs = small[0][:6]
    ckpt = str(tiny_checkpoint("eegdino"))
    Z = EEGDINOEmbedder(checkpoint=ckpt).fit(epochs).transform(epochs)
    Z16 = EEGDINOEmbedder(checkpoint=ckpt, precision="bfloat16").fit(epochs).transform(epochs)
    assert Z16.dtype == np.float32
    assert np.corrcoef(Z.ravel(), Z16.ravel())[0, 1] > 0.99
    Z64 = EEGDINOEmbedder(checkpoint=ckpt, dtype="float64").fit(epochs).transform(epochs)
    assert Z64.dtype == np.float64
    assert_array_equal(Z64, Z.astype(np.float64))


def test_verbose_progress_bar(small, tiny_checkpoint, capsys):
    epochs = small[0][:6]
    est = EEGDINOEmbedder(checkpoint=str(tiny_checkpoint("eegdino")), batch_size=2, verbose=True)
    est.fit(epochs).transform(epochs)
    assert "EEGDINOEmbedder" in capsys.readouterr().err


# --------------------------------------------------------------------------
# Checkpoints, sharing, pickling
# --------------------------------------------------------------------------


def test_checkpoint_resolution_errors(small):
    epochs = small[0][:2]
    with pytest.raises(ValueError, match="EEGPT"):
        EEGDINOEmbedder(checkpoint="eegpt").fit(epochs)
    with pytest.raises(TypeError, match="checkpoint"):
        EEGDINOEmbedder(checkpoint=3).fit(epochs)
    # A registry name resolves to its Hub id (offline here: a clear OSError).
    with pytest.raises(OSError, match="eegdino-medium"):
        EEGDINOEmbedder(checkpoint="eegdino-medium").fit(epochs)


@by_name
def test_clones_share_the_encoder_and_read_nothing(cls, small, tiny_checkpoint, monkeypatch):
    epochs = small[0][:4]
    est = cls(checkpoint=str(tiny_checkpoint(FAMILY[cls]))).fit(epochs)
    model_class = getattr(models, est._model_class_name)
    calls = []
    original = model_class.from_pretrained.__func__

    def counting(klass, *args, **kwargs):
        calls.append(args)
        return original(klass, *args, **kwargs)

    monkeypatch.setattr(model_class, "from_pretrained", classmethod(counting))
    other = clone(est).fit(epochs)
    assert calls == []
    assert other.encoder_ is est.encoder_
    assert not other.encoder_.training
    assert all(not p.requires_grad for p in other.encoder_.parameters())
    # Once the cache is cleared the weights are read again (the counter works).
    _cache.clear_encoder_cache()
    clone(est).fit(epochs)
    assert len(calls) == 1


@by_name
def test_pickle_is_self_contained(cls, small, tmp_path):
    epochs = small[0][:6]
    ckpt = save_tiny(FAMILY[cls], tmp_path / "ckpt", seed=3)
    est = cls(checkpoint=str(ckpt)).fit(epochs)
    Z = est.transform(epochs)
    blob = pickle.dumps(est)
    shutil.rmtree(ckpt)
    _cache.clear_encoder_cache()
    restored = pickle.loads(blob)
    assert_array_equal(restored.transform(epochs), Z)
    assert restored.encoder_hash_ == est.encoder_hash_
    assert restored.pretrained_source_ == est.pretrained_source_
    # Refitting needs the checkpoint, and says so.
    with pytest.raises(OSError):
        clone(restored).fit(epochs)


def test_random_weights_baseline(small):
    epochs = small[0][:3]
    rng_state = torch.get_rng_state()
    with pytest.warns(UserWarning, match="random weights"):
        est = EEGDINOEmbedder(checkpoint=None, random_state=0).fit(epochs)
    assert torch.equal(torch.get_rng_state(), rng_state)  # global RNG untouched
    assert est.n_features_out_ == 200  # the released small architecture
    with pytest.warns(UserWarning):
        same = EEGDINOEmbedder(checkpoint=None, random_state=0).fit(epochs)
        other = EEGDINOEmbedder(checkpoint=None, random_state=1).fit(epochs)
    assert_array_equal(same.transform(epochs), est.transform(epochs))
    assert not np.allclose(other.transform(epochs), est.transform(epochs))


# --------------------------------------------------------------------------
# Embedding cache
# --------------------------------------------------------------------------


def test_memory_embeds_each_epoch_once(eegmat, tiny_checkpoint, tmp_path):
    epochs, y, groups = eegmat
    ckpt = str(tiny_checkpoint("eegdino"))
    plain = EEGDINOEmbedder(checkpoint=ckpt).fit(epochs)
    expected = plain.transform(epochs)
    counter, handle = _count_forwards(plain.encoder_)  # shared by every clone
    try:
        pipe = make_pipeline(
            EEGDINOEmbedder(checkpoint=ckpt, memory=str(tmp_path)),
            StandardScaler(),
            LogisticRegression(),
        )
        scores = cross_val_score(pipe, epochs, y, groups=groups, cv=GroupKFold(5))
        assert counter["epochs"] == len(epochs)
        # Cached embeddings are the computed ones.
        cached = EEGDINOEmbedder(checkpoint=ckpt, memory=str(tmp_path)).fit(epochs)
        # (equal up to the round-off of other batch compositions)
        assert_allclose(cached.transform(epochs), expected, rtol=1e-5, atol=1e-6)
        assert counter["epochs"] == len(epochs)
    finally:
        handle.remove()
    assert np.isfinite(scores).all()
    # Another pooling is another namespace: computed again, not mixed up.
    cls_tokens = EEGDINOEmbedder(checkpoint=ckpt, memory=str(tmp_path), pooling="cls")
    assert not np.allclose(cls_tokens.fit(epochs[:4]).transform(epochs[:4]), expected[:4])


def test_embedding_store_recent_layer(tmp_path, monkeypatch):
    """Recently saved or read embeddings come from memory, bounded in bytes;
    evicted ones are read back from their files."""
    monkeypatch.setattr(_cache, "_RECENT", type(_cache._RECENT)())
    monkeypatch.setattr(_cache, "_recent_bytes", 0)
    monkeypatch.setattr(_cache, "_RECENT_MAX_BYTES", 3 * 16 * 4)  # three 16-float rows
    store = _cache.EmbeddingStore(tmp_path, {"test": 1})
    rows = np.arange(4 * 16, dtype=np.float32).reshape(4, 16)
    keys = store.keys(rows[:, None, :])
    assert len(set(keys)) == 4
    store.save(keys, rows)
    assert len(_cache._RECENT) == 3 and _cache._recent_bytes == 3 * 16 * 4  # first one evicted
    real_read = _cache.EmbeddingStore._read
    loaded = []
    monkeypatch.setattr(
        _cache.EmbeddingStore, "_read", lambda self, p: loaded.append(p) or real_read(self, p)
    )
    found = store.load(keys[1:])
    assert not loaded  # all three from memory
    assert_array_equal(np.stack([found[i] for i in range(3)]), rows[1:])
    with pytest.raises(ValueError):
        found[1][0] = 0.0  # shared arrays are read-only
    first = store.load(keys[:1])  # evicted: read from its file
    assert len(loaded) == 1 and keys[0] in str(loaded[0])
    assert_array_equal(first[0], rows[0])
    assert store.load([store.keys(np.zeros((1, 1, 16)))[0]]) == {}


# --------------------------------------------------------------------------
# End to end: subject-wise cross-validation on EEGMAT
# --------------------------------------------------------------------------


@by_name
def test_cross_val_score_group_kfold(cls, eegmat, tiny_checkpoint):
    epochs, y, groups = eegmat
    pipe = make_pipeline(
        cls(checkpoint=str(tiny_checkpoint(FAMILY[cls]))), StandardScaler(), LogisticRegression()
    )
    scores = cross_val_score(
        pipe, epochs, y, groups=groups, cv=GroupKFold(4), scoring="balanced_accuracy"
    )
    assert scores.shape == (4,)
    assert np.all((scores >= 0) & (scores <= 1))


def test_cross_val_score_random_released_architecture(eegmat, tmp_path):
    epochs, y, groups = eegmat
    pipe = make_pipeline(
        EEGDINOEmbedder(checkpoint=None, random_state=0, memory=str(tmp_path)),
        StandardScaler(),
        LogisticRegression(),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="checkpoint=None", category=UserWarning)
        scores = cross_val_score(pipe, epochs, y, groups=groups, cv=GroupKFold(4))
    assert scores.shape == (4,) and np.isfinite(scores).all()


def test_cross_val_score_parallel(small, tiny_checkpoint):
    epochs, y, groups = small
    pipe = make_pipeline(
        EEGPTEmbedder(checkpoint=str(tiny_checkpoint("eegpt"))), LogisticRegression()
    )
    serial = cross_val_score(pipe, epochs, y, cv=2)
    parallel = cross_val_score(pipe, epochs, y, cv=2, n_jobs=2)  # loky: pickled clones
    assert_allclose(parallel, serial)


def test_tiny_configs_are_tiny():
    # Guard the test suite's speed: tiny encoders stay small.
    from _tiny import build_tiny

    for family in TINY_CONFIGS:
        n_params = sum(p.numel() for p in build_tiny(family).parameters())
        assert n_params < 1_000_000, (family, n_params)
