"""A fifth encoder, added as a contributor would add one: nothing else edited.

``tests/_toy_encoder.py`` is a model file written from the developer's guide
(``docs/adding_an_encoder.rst``); the fixture below adds it to
``skeegfm.models._ENCODER_MODULES`` (the one registration line) and this
module defines its estimator classes as ``embedders.py`` and
``classifiers.py`` define theirs. Everything else (the protocol tests, the
Hub mixin and the strict loader, class recognition, the input adapter, the
estimators' bases, the jobs' model tables) must take it as it is.
"""

from __future__ import annotations

import functools
import importlib
import pickle
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone

import test_encoder_protocol as protocol_tests
from _tiny import TINY_CONFIGS
from skeegfm import models
from skeegfm._inputs import prepare_for_model, read_eeg
from skeegfm._registry import load_pretrained
from skeegfm.classifiers import _ACTIVATION_CACHE_BYTES, _BaseClassifier
from skeegfm.classifiers import _fill_doc as _fill_classifier_doc
from skeegfm.embedders import _BaseEmbedder
from skeegfm.embedders import _fill_doc as _fill_embedder_doc
from skeegfm.models import _pretrained
from skeegfm.models._protocol import EncoderProtocol

#: The importable name of the model file (tests/ is on sys.path, as for _tiny).
TOY_MODULE = "_toy_encoder"
SFREQ_IN = 200.0  # the data's rate: the record's is 100 Hz, so inputs are resampled
CH_NAMES = ["Cz", "EEG Fp1-REF", "O2", "T3", "Pz", "F4"]


# ----------------------------------------------------------------------------- registration
@pytest.fixture(scope="module")
def toy():
    """The one registration line, for this module's tests; the record is removed after."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(models._ENCODER_MODULES, "Toy", TOY_MODULE)
        sys.modules.pop(TOY_MODULE, None)
        module = importlib.import_module(TOY_MODULE)  # registers its record
        try:
            yield module
        finally:
            _pretrained._unregister_pretrained("toy")
            sys.modules.pop(TOY_MODULE, None)


@pytest.fixture(scope="module")
def checkpoint(toy, tmp_path_factory):
    """The released architecture with seeded random weights, saved with save_pretrained."""
    record = _pretrained.get_record("toy")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = toy.Toy(return_encoder_output=True, sfreq=record.sfreq, **record.preset)
    folder = tmp_path_factory.mktemp("toy_checkpoint")
    model.save_pretrained(folder)
    return folder


# ----------------------------------------------------------------------------- estimator classes
@_fill_embedder_doc
class ToyEmbedder(_BaseEmbedder):
    """Frozen Toy embeddings of EEG epochs.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"toy"``), Hub id or local path.
    pooling : {"mean", "cls"}
        Mean of the tokens, or the class token (32 features each).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s
    """

    _model_class_name = "Toy"
    _default_record = "toy"
    transform = _BaseEmbedder.transform

    def __init__(
        self,
        checkpoint="skeegfm-tests/toy-pretrained",
        *,
        pooling="mean",
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        batch_size=32,
        device="auto",
        precision="auto",
        memory=None,
        dtype="float32",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.pooling = pooling
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.memory = memory
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


@_fill_classifier_doc(max_epochs="50", lr="5e-4", weight_decay="0.05", warmup="10%")
class ToyClassifier(_BaseClassifier):
    """Fine-tuned Toy classifier of EEG epochs.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"toy"``), Hub id or local path.
    %(parameters)s

    Attributes
    ----------
    %(attributes)s
    """

    _model_class_name = "Toy"
    _default_record = "toy"
    _warmup_fraction = 0.1

    def __init__(
        self,
        checkpoint="skeegfm-tests/toy-pretrained",
        *,
        tuning="linear_probe",
        n_trainable_blocks=1,
        lora_rank=8,
        lora_alpha=16,
        lora_dropout=0.0,
        lora_target=None,
        activation_cache_bytes=_ACTIVATION_CACHE_BYTES,
        max_epochs=50,
        batch_size=64,
        lr=5e-4,
        weight_decay=0.05,
        layer_decay=0.65,
        warmup_epochs="auto",
        schedule_epochs=None,
        validation_fraction=0.1,
        patience=10,
        class_weight=None,
        gradient_checkpointing=False,
        warm_start=False,
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        device="auto",
        precision="auto",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.tuning = tuning
        self.n_trainable_blocks = n_trainable_blocks
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target = lora_target
        self.activation_cache_bytes = activation_cache_bytes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.layer_decay = layer_decay
        self.warmup_epochs = warmup_epochs
        self.schedule_epochs = schedule_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.gradient_checkpointing = gradient_checkpointing
        self.warm_start = warm_start
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


def _data(n=24, seed=0):
    """Separable epochs (volts, 200 Hz, 2 s): class 1 adds a 6 Hz rhythm to the
    first three channels (not common to all: the average reference keeps it)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(2 * SFREQ_IN)) / SFREQ_IN
    X = rng.normal(0.0, 10e-6, size=(n, len(CH_NAMES), t.size))
    y = np.arange(n) % 2
    X[y == 1, :3] += 40e-6 * np.sin(2 * np.pi * 6.0 * t)
    return X, y


# ----------------------------------------------------------------------------- model file
def test_registered_by_one_line(toy):
    assert models._encoder_classes()["Toy"] is toy.Toy
    record = _pretrained.get_record("toy")
    assert record is toy.TOY_RECORD and record.model == "Toy"
    assert [r.name for r in _pretrained.list_models()][-1] == "toy"
    # Every field of the record has its source.
    fields = set(record.to_dict()) - {"name", "model", "sources"}
    assert fields <= set(record.sources), fields - set(record.sources)
    encoder = toy.Toy(return_encoder_output=True, **record.preset)
    assert isinstance(encoder, EncoderProtocol)
    assert sum(p.numel() for p in encoder.parameters()) == record.n_params


def test_generic_protocol_tests_take_it(toy, monkeypatch):
    """The protocol tests of tests/test_encoder_protocol.py run on the toy,
    given its tiny configuration (what a new encoder adds to tests/_tiny.py
    and the two small tables of that test module)."""
    monkeypatch.setitem(
        TINY_CONFIGS,
        "toy",
        dict(n_outputs=2, chs_info=[{"ch_name": n} for n in toy.TOY_CHANNELS], n_times=230, embed_dim=16),
    )
    monkeypatch.setitem(protocol_tests.FAMILY, "Toy", "toy")
    monkeypatch.setitem(protocol_tests.DEPTH_ARG, "Toy", "depth")
    checks = [
        name for name in dir(protocol_tests)
        if name.startswith("test_") and callable(getattr(protocol_tests, name))
    ]  # fmt: skip
    assert len(checks) >= 7
    for name in checks:
        check = getattr(protocol_tests, name)
        if "grad" in check.__code__.co_varnames[: check.__code__.co_argcount]:
            for grad in (False, True):
                check("Toy", grad)
        else:
            check("Toy")


def test_save_pretrained_round_trip_and_class_recognition(toy, checkpoint, tmp_path):
    saved = toy.Toy.from_pretrained(checkpoint)  # strict by default
    assert saved.pretrained_source_["format"] == "hub"
    x = torch.randn(2, 19, 230)
    recognised = load_pretrained(checkpoint)  # the class from config.json
    assert type(recognised) is toy.Toy
    for a, b in zip(saved.state_dict().values(), recognised.state_dict().values()):
        assert torch.equal(a, b)
    with torch.no_grad():
        torch.testing.assert_close(recognised(x), saved(x), rtol=0, atol=0)

    # A config.json without our class entry (e.g. written by braindecode): the
    # class whose constructor knows its keys.
    import json
    import shutil

    foreign = tmp_path / "foreign"
    shutil.copytree(checkpoint, foreign)
    config = json.loads((foreign / "config.json").read_text())
    del config["skeegfm_class"], config["skeegfm_version"]
    (foreign / "config.json").write_text(json.dumps(dict(config, braindecode_version="1.2")))
    assert type(load_pretrained(foreign)) is toy.Toy

    # A bare state_dict without config.json: recognised by its key names
    # (_state_dict_roots), architecture from the shapes (_config_from_state_dict).
    from safetensors.torch import save_file

    bare = tmp_path / "toy.safetensors"
    save_file(dict(saved.state_dict()), str(bare))
    from_bare = load_pretrained(bare)
    assert type(from_bare) is toy.Toy and from_bare.pretrained_source_["format"] == "state_dict"
    # The "authors'" layout: recognised and converted (_original_hooks).
    original = tmp_path / "toy_release.pt"
    torch.save({"epoch": 3, "model_state": {f"encoder.{k}": v for k, v in saved.state_dict().items()}}, original)
    from_original = load_pretrained(original)
    assert type(from_original) is toy.Toy and from_original.pretrained_source_["format"] == "original"
    with torch.no_grad():
        for model in (from_bare, from_original):
            torch.testing.assert_close(model(x), saved(x), rtol=0, atol=0)

    # A head asked for at load time: the encoder strict, the head fresh.
    with_head = toy.Toy.from_pretrained(checkpoint, n_outputs=3, chs_info=[{"ch_name": "Cz"}])
    assert with_head(torch.randn(2, 1, 100)).shape == (2, 3)


# ----------------------------------------------------------------------------- embedder
def test_embedder_arrays_epochs_clone_pickle(toy, checkpoint):
    import mne

    X, _ = _data(6)
    emb = ToyEmbedder(checkpoint=str(checkpoint), sfreq=SFREQ_IN, ch_names=CH_NAMES, device="cpu")
    Z = emb.fit_transform(X)
    assert Z.shape == (6, 32) and Z.dtype == np.float32
    assert emb.n_features_out_ == 32 and emb.resampled_from_ == SFREQ_IN
    # By name, in the vocabulary's order; names read as the vocabulary's.
    assert emb.channels_used_ == ["EEG Fp1-REF", "F4", "O2", "T3", "Cz", "Pz"]
    assert emb.channels_renamed_ == {"EEG Fp1-REF": "FP1", "T3": "T7"}
    assert emb.encoder_.fixed_ch_names == ["FP1", "F4", "O2", "T7", "CZ", "PZ"]
    # What the record says, done by hand: average reference, microvolts, 100 Hz.
    record = _pretrained.get_record("toy")
    prepared = prepare_for_model(read_eeg(X, sfreq=SFREQ_IN, ch_names=CH_NAMES, unit="V"), record, warn=False)
    assert prepared.data.shape == (6, 6, 200)
    np.testing.assert_allclose(prepared.data.mean(axis=1), 0, atol=1e-4)
    by_hand = toy.Toy.from_pretrained(checkpoint, chs_info=[{"ch_name": n} for n in prepared.ch_names])
    with torch.no_grad():
        expected = by_hand(torch.from_numpy(prepared.data), return_features=True)["features"].mean(dim=(1, 2))
    np.testing.assert_allclose(Z, expected.numpy(), rtol=1e-5, atol=1e-6)
    # Channels by name: another order, the same embeddings.
    order = [3, 0, 5, 1, 4, 2]
    Z_perm = clone(emb).set_params(ch_names=[CH_NAMES[i] for i in order]).fit_transform(X[:, order])
    np.testing.assert_allclose(Z_perm, Z, rtol=1e-4, atol=1e-5)
    # mne.Epochs (volts) give the same embeddings.
    info = mne.create_info(CH_NAMES, SFREQ_IN, "eeg")
    epochs = mne.EpochsArray(X, info, verbose=False)
    np.testing.assert_allclose(clone(emb).set_params(sfreq=None, ch_names=None).fit_transform(epochs), Z,
                               rtol=1e-5, atol=1e-6)
    # clone and pickling
    assert clone(emb).get_params() == emb.get_params()
    restored = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(restored.transform(X), Z)
    cls_pooled = clone(emb).set_params(pooling="cls").fit_transform(X)
    assert cls_pooled.shape == (6, 32)
    # checkpoint=None: the record's preset with random weights (a baseline; warns).
    with pytest.warns(UserWarning, match="random weights"):
        random = clone(emb).set_params(checkpoint=None).fit(X)
    assert random.pretrained_source_ == {"random_init": random._random_weights_seed(), "record": "toy"}
    assert random.transform(X).shape == (6, 32)


# ----------------------------------------------------------------------------- classifier
def _fit_and_score(checkpoint, **params):
    X, y = _data(24)
    clf = ToyClassifier(
        checkpoint=str(checkpoint), sfreq=SFREQ_IN, ch_names=CH_NAMES, device="cpu", max_epochs=30,
        lr=3e-2, batch_size=8, validation_fraction=None, random_state=0, **params,
    )  # fmt: skip
    clf.fit(X, y)
    assert clf.score(X, y) >= 0.9, (params, clf.history_[-1])
    assert clf.predict_proba(X[:3]).shape == (3, 2)
    return clf


def test_classifier_linear_probe_clone_pickle(toy, checkpoint):
    clf = _fit_and_score(checkpoint, tuning="linear_probe")
    X, _ = _data(4, seed=1)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), clf.decision_function(X))
    assert clone(clf).get_params() == clf.get_params()


def test_classifier_partial_uses_kept_activations(toy, checkpoint, monkeypatch):
    calls = {"until": 0, "from": 0}
    until, from_ = toy.Toy.forward_until, toy.Toy.forward_from

    def spy_until(self, x, cut):
        calls["until"] += 1
        return until(self, x, cut)

    def spy_from(self, h, cut):
        calls["from"] += 1
        return from_(self, h, cut)

    monkeypatch.setattr(toy.Toy, "forward_until", spy_until)
    monkeypatch.setattr(toy.Toy, "forward_from", spy_from)
    kept = []
    original = _BaseClassifier._kept_activations

    @functools.wraps(original)
    def spy_kept(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        kept.append(out)
        return out

    monkeypatch.setattr(_BaseClassifier, "_kept_activations", spy_kept)
    _fit_and_score(checkpoint, tuning="partial", n_trainable_blocks=1)
    assert len(kept) == 1 and kept[0] is not None
    assert kept[0].shape == (24, 1 + 6 * 4, 32)  # class token + 6 channels x 4 patches
    # forward_until: the kept activations only (a probe epoch, then 3 batches);
    # forward_from: every training step (3 batches x 30 epochs).
    assert calls["until"] == 1 + 3 and calls["from"] == 3 * 30


def test_classifier_full(toy, checkpoint):
    _fit_and_score(checkpoint, tuning="full", gradient_checkpointing=True)


def test_classifier_lora(toy, checkpoint):
    pytest.importorskip("peft")
    clf = _fit_and_score(checkpoint, tuning="lora", lora_rank=4)
    assert any(".lora_A." in name for name in clf.lora_weights_)


# ----------------------------------------------------------------------------- jobs
def test_jobs_and_command_line_take_the_record(toy, monkeypatch, capsys):
    from skeegfm import cli, embedders
    from skeegfm.jobs import _records

    assert _records.record_name("toy") == "toy"
    assert _records.record_name(" TOY ") == "toy"
    assert "toy" in _records.model_names()
    assert "toy" not in _records.default_models()  # default_benchmark=False
    # Defined in embedders.py by a real contributor: the jobs find it by name.
    monkeypatch.setattr(embedders, "ToyEmbedder", ToyEmbedder, raising=False)
    assert _records.embedder_class(_pretrained.get_record("toy")) is ToyEmbedder
    assert cli.main(["models"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| toy |")]
    assert rows == ["| toy | skeegfm-tests/toy-pretrained | 100 | microvolts | average | 19 (by name) | 32 |"]


def test_embed_job_runs_it(toy, checkpoint, monkeypatch, tmp_path):
    from pathlib import Path

    from skeegfm import embedders
    from skeegfm.jobs import run_embed

    monkeypatch.setattr(embedders, "ToyEmbedder", ToyEmbedder, raising=False)
    edf = Path(__file__).parent / "data" / "Subject00_2.edf"
    out = tmp_path / "toy.npz"
    report = run_embed([edf], out, model="toy", checkpoint=str(checkpoint), progress=False)
    assert (report.kind, report.model, report.n_features, report.failed) == ("npz", "toy", 32, {})
    with np.load(out) as npz:
        assert npz["embeddings"].shape == (report.n_windows, 32)


def test_benchmark_job_runs_it(toy, checkpoint, monkeypatch, tmp_path, capsys):
    """``skeegfm benchmark --models toy``: a row of its own, next to the baseline."""
    import pandas as pd
    from test_benchmark_own_data import TEN_TWENTY, _epochs_file

    from skeegfm import cli, embedders

    monkeypatch.setattr(embedders, "ToyEmbedder", ToyEmbedder, raising=False)
    data = _epochs_file(tmp_path / "ten-twenty-epo.fif", TEN_TWENTY, 200.0)
    out = tmp_path / "out"
    argv = ["benchmark", "--data", str(data), "--output-dir", str(out), "--models", "toy",
            "--checkpoint", f"toy={checkpoint}"]  # fmt: skip
    assert cli.main(argv) == 0, capsys.readouterr().err
    results = pd.read_csv(out / "results.csv")
    assert list(results["model"]) == ["toy", "baseline"]
    assert list(results["status"]) == ["ok", "ok"], results["error"].tolist()
