"""Partial tuning on kept activations, and resumable warm-started training.

- ``tuning="partial"`` computes the frozen blocks once per fit and trains the
  top blocks on their kept outputs: same result as running the frozen blocks
  at every step (``activation_cache_bytes=0``), falls back with a warning
  when over budget;
- ``warm_start=True`` resumes optimizer, schedule, early stopping and random
  state: two fits of 3 epochs equal one of 6.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from test_classifiers import CLASSES, make, one_thread, separable  # noqa: F401

FAMILIES = ["eegdino", "eegpt", "codebrain", "cbramod"]


def _count_calls(monkeypatch, cls, name):
    calls = []
    original = getattr(cls, name)

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, spy)
    return calls


# --------------------------------------------------------------------------
# Partial tuning on kept activations
# --------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_kept_activations_equal_recomputed(make, family, monkeypatch):
    X, y = separable(24)
    # EEG-DINO's and CodeBrain's tiny encoders have dropout in the trained
    # block (drop_prob 0.1): the draws must happen in the same order too.
    params = dict(tuning="partial", n_trainable_blocks=1, validation_fraction=0.25, patience=None,
                  max_epochs=3, lr=1e-2)
    if family == "codebrain":
        params["n_trainable_blocks"] = 1  # its only block: the cut is at the embeddings
    cls = CLASSES[family]
    from_cut = _count_calls(monkeypatch, cls, "_from_cut")
    kept = make(family, **params).fit(X, y)
    assert from_cut, "the kept activations were not used"
    n_calls = len(from_cut)
    through_cut = _count_calls(monkeypatch, cls, "_through_cut")
    again = make(family, activation_cache_bytes=0, **params).fit(X, y)
    assert len(from_cut) == n_calls  # recomputation does not go through them
    assert through_cut, "recomputation did not split at the cut"
    assert_allclose(kept.predict_proba(X), again.predict_proba(X), rtol=1e-5, atol=1e-5)
    for a, b in zip(kept.history_, again.history_):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["valid_loss"] == pytest.approx(b["valid_loss"], rel=1e-5)
    assert kept.best_epoch_ == again.best_epoch_
    # The model learned something: the trained block moved.
    assert kept.encoder_hash_ != make(family, **{**params, "max_epochs": 1}).fit(X, y).encoder_hash_


def test_over_budget_falls_back_with_a_warning(make):
    X, y = separable(16)
    params = dict(tuning="partial", n_trainable_blocks=1, validation_fraction=None, max_epochs=2)
    with pytest.warns(UserWarning, match="activation_cache_bytes=1000 .*run again at every step"):
        small = make(activation_cache_bytes=1000, **params).fit(X, y)
    kept = make(**params).fit(X, y)
    assert_allclose(small.predict_proba(X), kept.predict_proba(X), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="activation_cache_bytes"):
        make(activation_cache_bytes=-1, **params).fit(X, y)


def test_recomputed_frozen_blocks_record_no_graph(make, monkeypatch):
    # Without kept activations the frozen blocks still run without autograd:
    # only the blocks above the cut are differentiated.
    from skeegfm import models

    X, y = separable(16)
    grad_modes = []
    original = models.EEGPT.forward_until

    def spy(self, x, cut):
        grad_modes.append(torch.is_grad_enabled())
        return original(self, x, cut)

    monkeypatch.setattr(models.EEGPT, "forward_until", spy)
    make("eegpt", tuning="partial", n_trainable_blocks=1, activation_cache_bytes=0,
         validation_fraction=None, max_epochs=1).fit(X, y)
    assert grad_modes and not any(grad_modes)


def test_trainable_front_projection_is_not_kept(make, monkeypatch):
    # EEGPT's channel projection runs before the encoder and trains: the
    # frozen blocks' outputs change every step, so they are recomputed.
    X, y = separable(16)
    cls = CLASSES["eegpt"]
    from_cut = _count_calls(monkeypatch, cls, "_from_cut")
    make("eegpt", tuning="partial", n_trainable_blocks=1, chan_proj_type="linear",
         validation_fraction=None, max_epochs=1).fit(X, y)
    assert not from_cut


def test_classifier_without_split_recomputes(make, monkeypatch):
    # An encoder that does not say how to split it at a block (no
    # forward_until/forward_from) trains partial by running the frozen blocks
    # each step.
    from skeegfm import models

    X, y = separable(16)
    cls = CLASSES["eegdino"]
    from_cut = _count_calls(monkeypatch, cls, "_from_cut")
    monkeypatch.setattr(models.EEGDINO, "forward_until", None)
    monkeypatch.setattr(models.EEGDINO, "forward_from", None)
    params = dict(tuning="partial", n_trainable_blocks=1, validation_fraction=None, max_epochs=2)
    plain = make(**params).fit(X, y)
    assert np.isfinite([h["train_loss"] for h in plain.history_]).all()
    assert not from_cut


# --------------------------------------------------------------------------
# Resumable warm start
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "family, tuning",
    [("eegdino", "full"), ("eegdino", "partial"), ("eegdino", "linear_probe"), ("eegdino", "lora"),
     ("eegpt", "full"), ("codebrain", "lora")],
)
def test_two_warm_fits_equal_one(make, family, tuning):
    if tuning == "lora":
        pytest.importorskip("peft")
    X, y = separable(24)
    params = dict(tuning=tuning, n_trainable_blocks=1, validation_fraction=0.25, patience=None, lr=1e-2)
    one = make(family, max_epochs=6, **params).fit(X, y)
    warm = make(family, max_epochs=3, schedule_epochs=6, warm_start=True, **params)
    warm.fit(X, y)
    first_hash = warm.encoder_hash_
    warm.fit(X, y)
    assert warm.encoder_hash_ != first_hash
    assert warm.n_iter_ == one.n_iter_ == 6
    assert [h["epoch"] for h in warm.history_] == list(range(1, 7))
    for key in ("train_loss", "valid_loss", "lr"):
        assert_allclose([h[key] for h in warm.history_], [h[key] for h in one.history_], rtol=1e-6)
    assert warm.best_epoch_ == one.best_epoch_
    assert_allclose(warm.predict_proba(X), one.predict_proba(X), rtol=1e-6, atol=1e-6)
    assert not hasattr(one, "training_state_")


def test_warm_start_resumes_past_an_earlier_best_epoch(make):
    # Early stopping restores the best weights at the end of a fit; the next
    # warm fit still continues from the last weights, as one long fit would.
    X, _ = separable(24)
    y = np.random.default_rng(3).permutation(np.arange(24) % 2)  # nothing to learn
    params = dict(tuning="full", validation_fraction=0.25, patience=None, lr=2e-2)
    one = make(max_epochs=8, **params).fit(X, y)
    warm = make(max_epochs=4, schedule_epochs=8, warm_start=True, **params)
    warm.fit(X, y).fit(X, y)
    assert_allclose([h["valid_loss"] for h in warm.history_], [h["valid_loss"] for h in one.history_],
                    rtol=1e-6)
    assert warm.best_epoch_ == one.best_epoch_
    assert_allclose(warm.predict_proba(X), one.predict_proba(X), rtol=1e-6, atol=1e-6)


def test_warm_state_pickles_and_resumes(make):
    X, y = separable(16)
    params = dict(tuning="full", validation_fraction=None, lr=1e-2)
    one = make(max_epochs=4, **params).fit(X, y)
    warm = make(max_epochs=2, schedule_epochs=4, warm_start=True, **params).fit(X, y)
    restored = pickle.loads(pickle.dumps(warm))
    restored.fit(X, y)
    assert_allclose(restored.predict_proba(X), one.predict_proba(X), rtol=1e-6, atol=1e-6)


def test_schedule_epochs(make):
    X, y = separable(16)
    params = dict(validation_fraction=None, warm_start=True)
    warm = make(max_epochs=2, schedule_epochs=4, **params).fit(X, y).fit(X, y)
    with pytest.raises(ValueError, match="schedule_epochs=4"):
        warm.fit(X, y)
    with pytest.raises(ValueError, match="schedule_epochs"):
        make(max_epochs=3, schedule_epochs=2).fit(X, y)
    # Without schedule_epochs the schedule ends with each fit: the second fit
    # resumes its position, on a horizon of all the epochs so far.
    free = make(max_epochs=2, **params).fit(X, y)
    assert free.history_[-1]["lr"] < free.history_[0]["lr"]
    free.fit(X, y)
    assert free.n_iter_ == 4 and free.history_[2]["lr"] > free.history_[1]["lr"]


def test_changing_tuning_starts_a_new_optimizer(make):
    X, y = separable(16)
    clf = make(tuning="linear_probe", max_epochs=2, validation_fraction=None, warm_start=True).fit(X, y)
    head = {k: v.clone() for k, v in clf.encoder_.state_dict().items() if k.startswith("final_layer.")}
    clf.set_params(tuning="full")
    with pytest.warns(UserWarning, match="new optimizer"):
        clf.fit(X, y)
    assert clf.n_iter_ == 4 and clf.training_state_["signature"]["tuning"] == "full"
    # It continued from the probe's head (linear probing, then fine-tuning).
    after = clf.encoder_.state_dict()
    assert all(after[k].shape == v.shape for k, v in head.items())
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.n_iter_ == 2 and not hasattr(clf, "training_state_")
    assert_array_equal(clf.classes_, np.unique(y))
    assert torch.is_tensor(next(iter(head.values())))
