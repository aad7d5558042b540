"""tuning="lora": peft adapters on the encoder, merged for prediction.

Tiny checkpoints (tests/_tiny.py), a few epochs. What is checked: LoRA learns
a separable task, the encoder's own weights are never written (only the merge
adds ``scale * B @ A`` to the adapted layers), merged inference equals the
unmerged adapters, the fitted model pickles, ``clone``/``GridSearchCV`` over
``lora_rank`` work, the targets are validated, and bf16 autocast, gradient
checkpointing and the validation pass see the adapters.
"""

from __future__ import annotations

import pickle
import sys
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils import check_random_state

from skeegfm._base import copy_encoder, weights_hash
from skeegfm.classifiers import EEGDINOClassifier
from skeegfm.embedders import EEGDINOEmbedder
from test_classifiers import CH_NAMES, SFREQ, make, one_thread, pretrained_state, separable  # noqa: F401

pytest.importorskip("peft")

FAMILIES = ["eegdino", "eegpt", "codebrain", "cbramod"]


def _adapted(clf):
    """{module name: (A, B)} of the fitted adapters."""
    out = {}
    for name, tensor in clf.lora_weights_.items():
        module, kind = name.split(".lora_")
        out.setdefault(module, {})[kind.split(".")[0]] = tensor
    return {m: (ab["A"], ab["B"]) for m, ab in out.items()}


def _unmerged(clf):
    """The trained model with its adapters not merged: the checkpoint, the
    fitted head, peft's layers injected and the fitted adapter weights."""
    from skeegfm import models

    pretrained = getattr(models, clf._model_class_name).from_pretrained(clf.checkpoint, **_overrides(clf))
    model = copy_encoder(pretrained)
    clf._reset_head(model, len(clf.classes_))
    clf._add_lora(model)
    fitted = clf.encoder_.state_dict()
    state = model.state_dict()
    for name in state:
        if name.startswith(clf.encoder_.head_prefixes):
            state[name] = fitted[name]
    state.update(clf.lora_weights_)
    model.load_state_dict(state)
    if hasattr(model, "fast_inference"):
        model.fast_inference = False  # CodeBrain's cached path reads weights past peft's layers
    return model.eval()


def _overrides(clf):
    eeg = clf._read(separable(2)[0])
    return clf._encoder_overrides(clf._prepare(eeg))


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_learns_and_leaves_the_encoder_weights(make, family):
    X, y = separable(48, seed=1)
    X_test, y_test = separable(24, seed=2)
    # Rates as in test_learns_separable_task, EEGPT's lower: its adapters
    # move the whole encoder, which the max-norm probe alone cannot.
    lr = {"eegdino": 1e-2, "eegpt": 1e-2, "codebrain": 1e-3, "cbramod": 1e-2}[family]
    clf = make(family, tuning="lora", max_epochs=15, lr=lr, validation_fraction=None).fit(X, y)
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < losses[0]
    assert clf.score(X_test, y_test) >= 0.9
    # The fitted encoder is a plain one (adapters merged; no peft layers).
    fitted = clf.encoder_.state_dict()
    assert not any("lora_" in n or "base_layer" in n for n in fitted)
    assert not any(type(m).__module__.startswith("peft") for m in clf.encoder_.modules())
    # Every encoder weight is the checkpoint's, except the adapted layers'
    # weights, which differ by exactly scale * B @ A (the merge).
    weights = dict(clf.encoder_.named_parameters())
    before = {k: v for k, v in pretrained_state(clf).items() if k in weights}
    adapted = _adapted(clf)
    assert adapted
    scale = clf.lora_alpha / clf.lora_rank
    for name, value in before.items():
        if name.startswith(clf.encoder_.head_prefixes):
            continue
        module = name.rsplit(".", 1)[0]
        if module in adapted and name.endswith(".weight"):
            A, B = adapted[module]
            assert_allclose(fitted[name] - value, scale * (B @ A), atol=1e-6)
            assert not torch.equal(fitted[name], value)
        else:
            assert torch.equal(fitted[name], value), name


def test_lora_default_targets_and_shared_encoder_untouched(make):
    X, y = separable(16)
    checkpoint = make().checkpoint
    embedder = EEGDINOEmbedder(checkpoint=checkpoint, sfreq=SFREQ, ch_names=CH_NAMES).fit(X)
    shared, digest = embedder.encoder_, weights_hash(embedder.encoder_)
    clf = make(tuning="lora", validation_fraction=None, max_epochs=2).fit(X, y)
    assert weights_hash(shared) == digest
    modules = sorted(_adapted(clf))
    # Tiny EEG-DINO: 2 blocks x (qkv, proj, fc1, fc2), nothing else.
    expected = sorted(
        f"encoder_layers.{i}.{m}" for i in range(2) for m in ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")
    )
    assert modules == expected
    r = clf.lora_rank
    for A, B in _adapted(clf).values():
        assert A.shape[0] == r and B.shape[1] == r


@pytest.mark.parametrize("family", FAMILIES)
def test_merged_equals_unmerged(make, family):
    X, y = separable(16)
    clf = make(family, tuning="lora", validation_fraction=None, max_epochs=2, lr=1e-2).fit(X, y)
    unmerged = _unmerged(clf)
    data = clf._prepare(clf._read(X)).data
    with torch.no_grad():
        expected = clf._logits_of(unmerged, torch.from_numpy(np.ascontiguousarray(data))).numpy()
    # To 1e-5 of the logits' scale (the tiny CBraMod's reach ~100: float32
    # round-off of the merged weights then shows at 1e-4 absolute).
    scale = max(1.0, float(np.abs(expected).max()))
    assert_allclose(clf._decision(X), expected, rtol=1e-5, atol=1e-5 * scale)
    # And the adapters moved: the merged model is not the plain checkpoint.
    assert any(float(B.abs().max()) > 0 for _, B in _adapted(clf).values())


def test_validation_pass_sees_the_adapters(make):
    # CodeBrain's cached evaluation path reads weights directly: it must be
    # off while training with adapters, so the validation loss of the last
    # epoch is the loss of the merged model on the validation epochs.
    X, y = separable(24)
    clf = make("codebrain", tuning="lora", validation_fraction=0.25, patience=None, max_epochs=1, lr=1e-2)
    clf.fit(X, y)
    seed = int(check_random_state(0).randint(np.iinfo(np.int32).max))
    y_enc = np.searchsorted(clf.classes_, y)
    _, valid = clf._split(y_enc, seed)
    proba = clf.predict_proba(X[valid])
    loss = -np.mean(np.log(proba[np.arange(len(valid)), y_enc[valid]]))
    assert_allclose(loss, clf.history_[-1]["valid_loss"], rtol=1e-5)
    assert all(m.fast_inference for m in clf.encoder_.modules() if hasattr(m, "fast_inference"))


def test_pickle_round_trip_and_size(make):
    X, y = separable(16)
    clf = make(tuning="lora", validation_fraction=None, max_epochs=1).fit(X, y)
    expected = clf.predict_proba(X)
    blob = pickle.dumps(clf)
    state_bytes = sum(t.numel() * t.element_size() for t in clf.encoder_.state_dict().values())
    lora_bytes = sum(t.numel() * t.element_size() for t in clf.lora_weights_.values())
    # Self-contained: the merged encoder and the adapters, little else (the
    # tiny model's ~100 tensors add pickling overhead of their own).
    assert len(blob) <= 1.2 * (state_bytes + lora_bytes) + 32 * 1024
    restored = pickle.loads(blob)
    assert_allclose(restored.predict_proba(X), expected, rtol=0, atol=0)
    assert restored.lora_weights_.keys() == clf.lora_weights_.keys()


def test_clone_and_grid_search_over_rank(make):
    X, y = separable(24)
    est = make(tuning="lora", max_epochs=1, lora_rank=2)
    assert clone(est).get_params()["lora_rank"] == 2
    search = GridSearchCV(est, {"lora_rank": [2, 4]}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert all(A.shape[0] == best.lora_rank for A, _ in _adapted(best).values())


def test_lora_target_patterns_and_errors(make):
    X, y = separable(16)
    clf = make(tuning="lora", lora_target=["attn.qkv", r"encoder_layers\.1\.mlp\.fc\d"], max_epochs=1)
    clf.fit(X, y)
    assert sorted(_adapted(clf)) == [
        "encoder_layers.0.attn.qkv",
        "encoder_layers.1.attn.qkv",
        "encoder_layers.1.mlp.fc1",
        "encoder_layers.1.mlp.fc2",
    ]
    one = make(tuning="lora", lora_target="1.attn.proj", max_epochs=1).fit(X, y)
    assert sorted(_adapted(one)) == ["encoder_layers.1.attn.proj"]
    with pytest.raises(ValueError, match=r"lora_target entry 'attn\.qkvz' matches no linear layer"):
        make(tuning="lora", lora_target=["attn.qkvz"]).fit(X, y)
    # The head trains fully: its layers are never LoRA targets.
    with pytest.raises(ValueError, match="matches no linear layer"):
        make(tuning="lora", lora_target="final_layer.*").fit(X, y)
    with pytest.raises(ValueError, match="regular expression"):
        make(tuning="lora", lora_target="attn.(qkv").fit(X, y)
    for bad in ([], [""], 3, ["attn.qkv", 1]):
        with pytest.raises(TypeError, match="lora_target"):
            make(tuning="lora", lora_target=bad).fit(X, y)
    for params in ({"lora_rank": 0}, {"lora_alpha": 0.0}, {"lora_dropout": 1.0}):
        with pytest.raises(ValueError):
            make(tuning="lora", **params).fit(X, y)


def test_gradient_checkpointing_bf16_and_dropout(make):
    X, y = separable(16)
    params = dict(tuning="lora", validation_fraction=None, max_epochs=2, lr=1e-2, lora_dropout=0.1)
    plain = make(**params).fit(X, y)
    ckpt = make(gradient_checkpointing=True, **params).fit(X, y)
    assert_allclose(plain.predict_proba(X), ckpt.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert all("forward" not in vars(b) for b in ckpt.encoder_.encoder_layers)
    bf16 = make(precision="bfloat16", **params).fit(X, y)
    assert np.isfinite([h["train_loss"] for h in bf16.history_]).all()
    assert_allclose(bf16.predict_proba(X), plain.predict_proba(X), atol=0.1)


def test_missing_peft_names_the_extra(make, monkeypatch):
    X, y = separable(8)
    monkeypatch.setitem(sys.modules, "peft", None)  # import peft -> ImportError
    with pytest.raises(ImportError, match=r"skeegfm\[lora\]"):
        make(tuning="lora").fit(X, y)
    # The other modes do not need it.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(tuning="linear_probe", max_epochs=1).fit(X, y)


def test_lora_parameters_in_every_classifier():
    from skeegfm import classifiers

    for name in classifiers.__all__:
        params = getattr(classifiers, name)().get_params()
        assert params["lora_rank"] == 8 and params["lora_alpha"] == 16
        assert params["lora_dropout"] == 0.0 and params["lora_target"] is None
    assert EEGDINOClassifier(tuning="lora").tuning == "lora"
