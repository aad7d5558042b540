"""Fine-tuning classifiers: learning, tuning modes, schedules, randomness, persistence.

The scikit-learn contract of the classifiers (classes_, predict_proba,
NotFittedError, clone, pickling on 3-D EEG) is in test_sklearn_compliance.py;
this file tests what is particular to fine-tuning, on tiny checkpoints
(tests/_tiny.py) and a few epochs.
"""

from __future__ import annotations

import pickle
import random
import warnings

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.utils import check_random_state

from skeegfm import _training
from skeegfm._base import copy_encoder, weights_hash
from skeegfm._inputs import read_eeg
from skeegfm.classifiers import (
    CBraModClassifier,
    CodeBrainClassifier,
    EEGDINOClassifier,
    EEGPTClassifier,
)
from skeegfm.embedders import EEGDINOEmbedder

CH_NAMES = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
    "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2",
]  # fmt: skip
SFREQ, N_TIMES = 200.0, 800
CLASSES = {
    "eegdino": EEGDINOClassifier,
    "eegpt": EEGPTClassifier,
    "codebrain": CodeBrainClassifier,
    "cbramod": CBraModClassifier,
}


def separable(n_epochs=40, seed=0, labels=("rest", "task")):
    """Noise, plus a 10 Hz rhythm over the occipital/parietal channels for the
    second class (local, so it survives EEGPT's average reference)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=object)[np.arange(n_epochs) % len(labels)]
    X = 10e-6 * rng.standard_normal((n_epochs, len(CH_NAMES), N_TIMES))
    t = np.arange(N_TIMES) / SFREQ
    rhythm = 100e-6 * np.sin(2 * np.pi * 10 * t)
    for k in range(1, len(labels)):
        chans = [CH_NAMES.index(c) for c in (("O1", "O2", "P3", "P4"), ("Fp1", "Fp2", "F3", "F4"))[k - 1]]
        X[np.ix_(y == labels[k], chans)] += rhythm
    return X, y


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models: one thread is fastest, and avoids spinning on busy CI cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make(tiny_checkpoint):
    def factory(family="eegdino", seed=0, **params):
        params = {
            "checkpoint": str(tiny_checkpoint(family, seed)),
            "sfreq": SFREQ,
            "ch_names": CH_NAMES,
            "batch_size": 8,
            "max_epochs": 3,
            "random_state": 0,
            **params,
        }
        return CLASSES[family](**params)

    return factory


def pretrained_state(est):
    """state_dict of the checkpoint the estimator started from."""
    from skeegfm import models

    cls = getattr(models, est._model_class_name)
    return cls.from_pretrained(est.checkpoint).state_dict()


# --------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["eegdino", "eegpt", "codebrain", "cbramod"])
def test_learns_separable_task(make, family):
    X, y = separable(48, seed=1)
    X_test, y_test = separable(24, seed=2)
    # EEGPT's max-norm probe bounds its logits (rows of norm <= 0.25), so on
    # the tiny encoder's weak features it needs a larger rate; CodeBrain's
    # head (all tokens flattened into one linear layer) a smaller one.
    lr = {"eegdino": 1e-2, "eegpt": 1e-1, "codebrain": 1e-3, "cbramod": 1e-2}[family]
    clf = make(family, max_epochs=20, lr=lr, validation_fraction=None)
    clf.fit(X, y)
    assert clf.score(X_test, y_test) >= 0.9
    assert clf.n_iter_ == 20 and len(clf.history_) == 20
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < losses[0]


def test_eegmat_cross_val_score(make):
    from skeegfm.datasets import load_eegmat

    epochs, y, groups = load_eegmat(return_X_y=True, verbose=False)
    clf = make("eegdino", sfreq=None, ch_names=None, max_epochs=2, batch_size=32)
    scores = cross_val_score(clf, epochs, y, groups=groups, cv=GroupKFold(4))
    assert scores.shape == (4,) and np.isfinite(scores).all()
    assert ((0 <= scores) & (scores <= 1)).all()


def test_grid_search_over_lr(make):
    X, y = separable(24)
    search = GridSearchCV(make(max_epochs=2), {"lr": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["lr"] in (1e-4, 1e-2)
    assert search.best_estimator_.history_


def test_string_and_multiclass_labels(make):
    X, y = separable(30, labels=("rest", "left", "right"))
    clf = make(max_epochs=2).fit(X, y)
    assert list(clf.classes_) == ["left", "rest", "right"]
    assert set(clf.predict(X)) <= set(clf.classes_)
    proba = clf.predict_proba(X)
    assert proba.shape == (30, 3) and proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.decision_function(X).shape == (30, 3)
    assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    # Binary: one log-odds per epoch, consistent with the probabilities.
    Xb, yb = separable(20)
    binary = make(max_epochs=1).fit(Xb, yb)
    d, p = binary.decision_function(Xb), binary.predict_proba(Xb)
    assert d.shape == (20,)
    assert_allclose(d, np.log(p[:, 1] / p[:, 0]), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="single class"):
        make().fit(Xb, np.zeros(20))
    with pytest.raises(ValueError, match="continuous|Unknown label"):
        make().fit(Xb, np.linspace(0, 1, 20))


# --------------------------------------------------------------------------
# Training loop: early stopping, class weights, schedule
# --------------------------------------------------------------------------


def test_early_stopping_stops_and_restores(make):
    X, _ = separable(40)
    y = np.random.default_rng(3).permutation(np.arange(40) % 2)  # nothing to learn
    clf = make(max_epochs=40, lr=2e-2, validation_fraction=0.25, patience=2).fit(X, y)
    assert clf.n_iter_ < 40
    losses = [h["valid_loss"] for h in clf.history_]
    assert clf.best_epoch_ == int(np.argmin(losses)) + 1
    assert clf.best_epoch_ == clf.n_iter_ - 2  # stopped `patience` epochs after the best
    # The kept weights are those of the best epoch: recompute its validation loss.
    seed = int(check_random_state(0).randint(np.iinfo(np.int32).max))
    _, valid = clf._split(np.searchsorted(clf.classes_, y), seed)
    proba = clf.predict_proba(X[valid])
    loss = -np.mean(np.log(proba[np.arange(len(valid)), np.searchsorted(clf.classes_, y[valid])]))
    assert_allclose(loss, losses[clf.best_epoch_ - 1], rtol=1e-4)
    assert abs(loss - losses[-1]) > 1e-6


def test_class_weight_changes_the_loss(make):
    X, _ = separable(30)
    y = np.where(np.arange(30) < 24, "common", "rare")
    runs = {
        cw: make(max_epochs=1, class_weight=cw, validation_fraction=0.2).fit(X, y).history_[0]
        for cw in (None, "balanced")
    }
    assert runs[None]["train_loss"] != pytest.approx(runs["balanced"]["train_loss"], rel=1e-6)
    weighted = make(max_epochs=1, class_weight={"rare": 4.0}).fit(X, y).history_[0]
    assert weighted["train_loss"] != pytest.approx(runs[None]["train_loss"], rel=1e-6)
    with pytest.raises(ValueError, match="class_weight"):
        make(class_weight={"other": 2.0}).fit(X, y)
    # The weighting itself: "balanced" gives n / (k * count) per class.
    clf = make(class_weight="balanced")
    w = clf._class_weights(np.array(["common", "rare"]), np.array([0] * 24 + [1] * 6))
    assert_allclose(w.numpy(), [30 / (2 * 24), 30 / (2 * 6)], rtol=1e-6)


def test_lr_schedule_warmup_then_cosine():
    f = [_training.lr_factor(s, 4, 20) for s in range(20)]
    assert f[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a >= b for a, b in zip(f[4:], f[5:]))  # cosine decay
    assert f[-1] < 0.05


def test_full_with_layer_decay_gives_per_layer_rates(make, monkeypatch):
    seen = []

    class Spy(torch.optim.AdamW):
        def __init__(self, groups, **kwargs):
            super().__init__(groups, **kwargs)
            seen.append(self)

    monkeypatch.setattr(torch.optim, "AdamW", Spy)
    X, y = separable(16)
    make(tuning="full", layer_decay=0.5, max_epochs=1, validation_fraction=None).fit(X, y)
    groups = seen[-1].param_groups
    n_blocks = 2  # tiny EEG-DINO
    scales = {g["layer"]: g["lr_scale"] for g in groups}
    assert sorted(scales) == [0, 1, 2, 3]
    for layer, scale in scales.items():
        assert scale == pytest.approx(0.5 ** (n_blocks + 1 - layer))
    # The rates actually set: proportional to the scales, head at the top.
    lrs = {g["layer"]: g["lr"] for g in groups}
    assert lrs[0] < lrs[1] < lrs[2] < lrs[3]
    assert lrs[2] / lrs[3] == pytest.approx(0.5)
    # No weight decay on biases, norms and tokens.
    assert {g["weight_decay"] for g in groups} == {0.0, 0.05}


# --------------------------------------------------------------------------
# Tuning modes: what trains, what is shared
# --------------------------------------------------------------------------


def _changed(before, after, prefix):
    keys = [k for k in before if k.startswith(prefix)]
    assert keys, prefix
    return any(not torch.equal(before[k], after[k]) for k in keys)


def test_tuning_modes_train_what_they_say(make):
    X, y = separable(16)
    probe = make(tuning="linear_probe", validation_fraction=None).fit(X, y)
    before = pretrained_state(probe)
    after = probe.encoder_.state_dict()
    for prefix in ("patch_embedding.", "encoder_layers.0.", "encoder_layers.1.", "global_tokens"):
        assert not _changed(before, after, prefix)

    partial = make(tuning="partial", n_trainable_blocks=1, validation_fraction=None).fit(X, y)
    after = partial.encoder_.state_dict()
    assert not _changed(before, after, "patch_embedding.")
    assert not _changed(before, after, "encoder_layers.0.")
    assert _changed(before, after, "encoder_layers.1.")
    assert {k for k in after if k.startswith("final_layer.")}

    full = make(tuning="full", validation_fraction=None).fit(X, y)
    after = full.encoder_.state_dict()
    for prefix in ("patch_embedding.", "encoder_layers.0.", "encoder_layers.1."):
        assert _changed(before, after, prefix)
    # Which parameters were handed to the optimizer.
    model = copy_encoder(probe.encoder_)
    names, _, _, n_blocks = make(tuning="partial", n_trainable_blocks=1)._trainable(model)
    assert names == {n for n, _ in model.named_parameters() if n.startswith(("encoder_layers.1.", "final_layer."))}
    with pytest.raises(ValueError, match="n_trainable_blocks"):
        make(tuning="partial", n_trainable_blocks=3).fit(X, y)


def test_eegpt_channel_projection_trains_with_the_probe(make):
    X, y = separable(16)
    clf = make("eegpt", chan_proj_type="conv1d_constraint", validation_fraction=None).fit(X, y)
    before, after = pretrained_state(clf), clf.encoder_.state_dict()
    assert not _changed(before, after, "target_encoder.")
    key = "chan_proj.proj.parametrizations.weight.original"
    assert after[key].shape == (19, len(CH_NAMES), 1)
    # Rows of the effective weight keep the max-norm constraint.
    assert (clf.encoder_.chan_proj.proj.weight.flatten(1).norm(dim=1) <= 1.0 + 1e-5).all()
    refit = make("eegpt", chan_proj_type="conv1d_constraint", validation_fraction=None).fit(X, y)
    assert_array_equal(clf.predict_proba(X), refit.predict_proba(X))


def test_shared_encoder_never_modified(make):
    X, y = separable(16)
    checkpoint = make().checkpoint
    embedder = EEGDINOEmbedder(checkpoint=checkpoint, sfreq=SFREQ, ch_names=CH_NAMES).fit(X)
    shared, digest = embedder.encoder_, weights_hash(embedder.encoder_)
    clf = make(tuning="full", validation_fraction=None, max_epochs=2).fit(X, y)
    assert clf.encoder_ is not shared
    assert weights_hash(shared) == digest
    # Still the cached one: a new embedder gets the same module.
    again = EEGDINOEmbedder(checkpoint=checkpoint, sfreq=SFREQ, ch_names=CH_NAMES).fit(X)
    assert again.encoder_ is shared
    # And a refit starts again from the checkpoint: same result.
    assert_array_equal(clf.predict_proba(X), make(tuning="full", validation_fraction=None, max_epochs=2).fit(X, y).predict_proba(X))


def test_gradient_checkpointing_same_result(make):
    X, y = separable(16)
    plain = make(tuning="full", validation_fraction=None, max_epochs=2).fit(X, y)
    ckpt = make(tuning="full", validation_fraction=None, max_epochs=2, gradient_checkpointing=True)
    ckpt.fit(X, y)
    assert_allclose(plain.predict_proba(X), ckpt.predict_proba(X), rtol=1e-4, atol=1e-6)
    # The blocks' forward methods are restored.
    assert all("forward" not in vars(b) for b in ckpt.encoder_.encoder_layers)


def test_warm_start_continues(make):
    X, y = separable(16)
    clf = make(warm_start=True, validation_fraction=None, max_epochs=2).fit(X, y)
    first = clf.encoder_hash_
    clf.fit(X, y)
    assert clf.n_iter_ == 4 and len(clf.history_) == 4 and clf.encoder_hash_ != first
    with pytest.raises(ValueError, match="classes"):
        clf.fit(X, np.where(y == "rest", "a", "b"))


# --------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------


def test_reproducible_and_seeded(make):
    X, y = separable(16)
    a = make(tuning="full", max_epochs=2).fit(X, y).predict_proba(X)
    b = make(tuning="full", max_epochs=2).fit(X, y).predict_proba(X)
    c = make(tuning="full", max_epochs=2, random_state=1).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("checkpoint", ["tiny", None])
def test_global_random_state_untouched(make, checkpoint):
    X, y = separable(16)
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    # seed=7: a checkpoint not loaded yet (the loader's cache miss draws too).
    clf = make(seed=7, tuning="full", max_epochs=2)
    if checkpoint is None:
        clf.set_params(checkpoint=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert torch.equal(torch.get_rng_state(), states[0])
    np_state = np.random.get_state()
    assert np_state[0] == states[1][0] and np.array_equal(np_state[1], states[1][1])
    assert np_state[2:] == states[1][2:]
    assert random.getstate() == states[2]


# --------------------------------------------------------------------------
# Input errors, parameters, persistence
# --------------------------------------------------------------------------


def test_bad_input_errors_come_from_the_adapter(make):
    X, y = separable(8)
    X_nan = X.copy()
    X_nan[0, 0, 0] = np.nan
    for bad, kwargs in ((X_nan, {}), (X[0], {}), (X, {"sfreq": None})):
        with pytest.raises(ValueError) as expected:
            read_eeg(bad, sfreq=kwargs.get("sfreq", SFREQ), ch_names=CH_NAMES)
        with pytest.raises(ValueError) as got:
            make(**kwargs).fit(bad, y)
        assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError, match="labels"):
        make().fit(X, y[:-1])


@pytest.mark.parametrize(
    "params",
    [
        {"tuning": "all"},
        {"n_trainable_blocks": 0},
        {"max_epochs": 0},
        {"lr": 0.0},
        {"weight_decay": -1.0},
        {"layer_decay": 1.5},
        {"warmup_epochs": 5, "max_epochs": 2},
        {"validation_fraction": 1.0},
        {"patience": 0},
        {"class_weight": "auto"},
        {"gradient_checkpointing": "yes"},
    ],
)
def test_invalid_params(make, params):
    X, y = separable(8)
    with pytest.raises((ValueError, TypeError)):
        make(**params).fit(X, y)


def test_validation_split_needs_two_per_class(make):
    X, y = separable(9)
    y = np.array(["a"] * 8 + ["b"], dtype=object)
    with pytest.raises(ValueError, match="validation_fraction=None"):
        make().fit(X, y)
    make(validation_fraction=None, max_epochs=1).fit(X, y)


def test_pickle_size_cpu_and_joblib(make, tmp_path):
    X, y = separable(16)
    # The released EEG-DINO small architecture (4.4 M parameters), random weights.
    clf = make(checkpoint=None, tuning="partial", validation_fraction=None, max_epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    expected = clf.predict_proba(X)
    state_bytes = sum(t.numel() * t.element_size() for t in clf.encoder_.state_dict().values())
    blob = pickle.dumps(clf)
    assert len(blob) <= 1.2 * state_bytes
    assert_array_equal(pickle.loads(blob).predict_proba(X), expected)
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    assert_array_equal(joblib.load(path).predict_proba(X), expected)
    # Fitted on CUDA, loaded without it: runs on the CPU.
    if not torch.cuda.is_available():
        state = clf.__getstate__()
        state["device_"] = "cuda:0"
        restored = EEGDINOClassifier.__new__(EEGDINOClassifier)
        with pytest.warns(UserWarning, match="CUDA is not available"):
            restored.__setstate__(state)
        assert restored.device_ == "cpu"
        assert_array_equal(restored.predict_proba(X), expected)


def test_verbose_progress(make, capsys, monkeypatch):
    # a wide terminal: older tqdm releases cut the bar to $COLUMNS when stderr is not a tty
    monkeypatch.setenv("COLUMNS", "300")
    X, y = separable(16)
    make(verbose=True, max_epochs=1).fit(X, y)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "valid_score" in err
