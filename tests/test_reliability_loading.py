"""Reliability of loading: untrusted pickles, corrupt files, bad configs,
misspelt names, the content-keyed encoder cache, the bfloat16 fallback and the
command line's exit codes (issue 14, items 0-3 and 7).

Every case asserts the exact outcome: the exception type and a key phrase of
its message, or equality with a reference result. A malicious pickle writes a
marker file when unpickled; each loading route must refuse it without running
it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import types
import warnings
from collections import OrderedDict
from pathlib import Path

import mne
import numpy as np
import pytest
import torch
from _tiny import build_tiny, save_tiny

from skeegfm import (
    CodeBrainClassifier,
    CodeBrainEmbedder,
    EEGDINOClassifier,
    EEGDINOEmbedder,
    EEGPTClassifier,
    EEGPTEmbedder,
)
from skeegfm import _base, _cache, cli
from skeegfm._channels import EEGPT_CHANNELS, TUEG_19_CHANNELS
from skeegfm._registry import load_pretrained, resolve_checkpoint
from skeegfm.models import (
    EEGDINO,
    EEGPT,
    UntrustedCheckpointError,
    WeightsNotAvailableError,
    convert_codebrain_checkpoint,
    convert_eegdino_checkpoint,
    convert_eegpt_checkpoint,
)
from skeegfm.models import _fast, _loading
from skeegfm.models._loading import is_hub_id, load_checkpoint_file

ESTIMATORS = [
    EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder,
    EEGDINOClassifier, EEGPTClassifier, CodeBrainClassifier,
]  # fmt: skip
FAMILY = {"EEGDINO": "eegdino", "EEGPT": "eegpt", "CodeBrain": "codebrain"}


# --------------------------------------------------------------------------- helpers


class _Payload:
    """Unpickling this object runs code: it writes ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('payload ran')",))


def _original_eegdino(model, extra=None):
    """A checkpoint in the authors' EEG-DINO pretraining layout."""
    sd = model.state_dict()
    state = {f"module.teacher.{k}": v.clone() for k, v in sd.items() if not k.startswith("final_layer.")}
    state.update({f"module.student.{k}": torch.randn_like(v) for k, v in sd.items()
                  if not k.startswith("final_layer.")})
    state["module.mask_projector.weight"] = torch.randn(3, 3)
    ckpt = {"state_dict": state, "epoch": 12}
    if extra is not None:
        ckpt.update(extra)
    return ckpt


def _evil_file(directory, marker, name="evil.pt", family="eegdino"):
    """A checkpoint whose pickle runs code, with real encoder tensors beside it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ckpt = _original_eegdino(build_tiny("eegdino")) if family == "eegdino" else {
        "state_dict": dict(build_tiny(family).state_dict())
    }
    ckpt["extra"] = _Payload(marker)
    path = directory / name
    torch.save(ckpt, path)
    return path


def _assert_refused(err, path, marker):
    message = str(err.value)
    assert not Path(marker).exists(), "the pickled payload ran"
    assert isinstance(err.value, UntrustedCheckpointError)
    assert Path(path).name in message
    assert "trust_checkpoint=True" in message and "arbitrary code" in message
    assert "builtins.exec" in message  # names what the pickle wanted


def _array_input(cls):
    """Two epochs the estimator can read (arrays, microvolts)."""
    rng = np.random.default_rng(0)
    if "EEGPT" in cls.__name__:
        names, sfreq, n_times = list(EEGPT_CHANNELS[:19]), 256.0, 1024
    else:
        names, sfreq, n_times = list(TUEG_19_CHANNELS), 200.0, 800
    X = rng.standard_normal((2, len(names), n_times)) * 10
    return X, dict(sfreq=sfreq, ch_names=names, unit="uV")


def _fit(est, X):
    if "Classifier" in type(est).__name__:
        return est.fit(X, np.array([0, 1]))
    return est.fit(X)


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "PAYLOAD_RAN"


@pytest.fixture(scope="module")
def raw_fif(tmp_path_factory):
    """A 10 s recording of the 19 TUEG channels (no notices when embedded)."""
    info = mne.create_info(list(TUEG_19_CHANNELS), 200.0, "eeg")
    data = np.random.default_rng(0).standard_normal((19, 2000)) * 1e-5
    path = tmp_path_factory.mktemp("rec") / "rec_raw.fif"
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    return path


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


# --------------------------------------------------------------------------- 1. malicious pickles


def test_from_pretrained_file_refuses_payload(tmp_path, marker):
    path = _evil_file(tmp_path, marker)
    with pytest.raises(UntrustedCheckpointError) as err:
        EEGDINO.from_pretrained(path)
    _assert_refused(err, path, marker)


def test_from_pretrained_folder_without_config_refuses_payload(tmp_path, marker):
    path = _evil_file(tmp_path / "folder", marker, name="pytorch_model.bin")
    with pytest.raises(UntrustedCheckpointError) as err:
        EEGDINO.from_pretrained(path.parent)
    _assert_refused(err, path, marker)


def test_from_pretrained_hub_layout_with_pickled_bin_refuses_payload(tmp_path, marker, tiny_checkpoint):
    folder = tmp_path / "hub_layout"
    folder.mkdir()
    shutil.copy(tiny_checkpoint("eegdino") / "config.json", folder / "config.json")
    sd = dict(build_tiny("eegdino").state_dict())
    sd["zz_payload"] = _Payload(marker)
    torch.save(sd, folder / "pytorch_model.bin")
    with pytest.raises(UntrustedCheckpointError) as err:
        EEGDINO.from_pretrained(folder)
    _assert_refused(err, folder / "pytorch_model.bin", marker)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimator_checkpoint_refuses_payload(cls, tmp_path, marker):
    family = FAMILY[cls._model_class_name]
    path = _evil_file(tmp_path, marker, family=family)
    X, kwargs = _array_input(cls)
    with pytest.raises(UntrustedCheckpointError) as err:
        _fit(cls(checkpoint=str(path), **kwargs), X)
    _assert_refused(err, path, marker)


@pytest.mark.parametrize(
    "convert, family",
    [
        (convert_eegdino_checkpoint, "eegdino"),
        (convert_eegpt_checkpoint, "eegpt"),
        (convert_codebrain_checkpoint, "codebrain"),
    ],
    ids=["eegdino", "eegpt", "codebrain"],
)
def test_convert_functions_refuse_payload(convert, family, tmp_path, marker):
    path = _evil_file(tmp_path, marker, family=family)
    with pytest.raises(UntrustedCheckpointError) as err:
        convert(path)
    _assert_refused(err, path, marker)


@pytest.mark.parametrize("as_folder", [False, True], ids=["file", "folder"])
def test_load_pretrained_refuses_payload(as_folder, tmp_path, marker):
    name = "pytorch_model.bin" if as_folder else "evil.ckpt"
    path = _evil_file(tmp_path / "ck", marker, name=name)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_pretrained(path.parent if as_folder else path)
    _assert_refused(err, path, marker)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(path)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["legacy-torch-save", "raw-pickle"])
def test_other_pickle_formats_refuse_payload(kind, tmp_path, marker):
    """torch.save's old format and a plain pickle.dump: refused, payload not run."""
    import pickle

    path = tmp_path / "evil.pkl"
    obj = {"weight": torch.ones(2), "x": _Payload(marker)}
    if kind == "raw-pickle":
        path.write_bytes(pickle.dumps(obj, protocol=4))
    else:
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    with pytest.raises(UntrustedCheckpointError, match="evil.pkl.*arbitrary code.*trust_checkpoint=True"):
        EEGDINO.from_pretrained(path)
    assert not marker.exists()
    if kind == "legacy-torch-save":  # scanned: the message names the culprit
        with pytest.raises(UntrustedCheckpointError, match="builtins.exec"):
            load_checkpoint_file(path)


def test_garbage_file_says_what_it_may_be(tmp_path):
    path = tmp_path / "notes.bin"
    path.write_bytes(b"these are my notes, not weights")
    with pytest.raises(UntrustedCheckpointError, match="notes.bin was not loaded: the safe loader cannot read it"):
        EEGDINO.from_pretrained(path)
    with pytest.warns(UserWarning, match="fully unpickled"), pytest.raises(
        ValueError, match="cannot be read as a torch checkpoint, even fully unpickled"
    ):
        load_checkpoint_file(path, trust_checkpoint=True)


def test_the_payload_is_real_and_runs_only_with_the_opt_in(tmp_path, marker):
    """Guard of the tests above: the file does run code when fully unpickled."""
    path = _evil_file(tmp_path, marker)
    with pytest.warns(UserWarning, match="trust_checkpoint=True"):
        load_checkpoint_file(path, trust_checkpoint=True)
    assert marker.read_text() == "payload ran"


def test_cli_embed_refuses_payload(tmp_path, marker, raw_fif, capsys):
    path = _evil_file(tmp_path, marker)
    out = tmp_path / "out.npz"
    status = cli.main(["embed", str(raw_fif), "--model", "eegdino", "--checkpoint", str(path),
                       "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and not marker.exists() and not out.exists()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "evil.pt" in err and "--trust-checkpoint" in err and "arbitrary code" in err


def test_cli_benchmark_refuses_payload(tmp_path, marker, capsys):
    path = _evil_file(tmp_path, marker)
    status = cli.main(["benchmark", "--models", "eegdino", "--checkpoint", f"eegdino={path}",
                       "--output-dir", str(tmp_path / "b"), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and not marker.exists()
    assert "Traceback" not in err and "evil.pt" in err and "--trust-checkpoint" in err
    assert err.strip().splitlines()[-1].startswith("skeegfm benchmark: error:")


# ---- the opt-in: a benign pickled object loads with trust_checkpoint=True


def _benign_checkpoint(tmp_path, name="benign.pt"):
    """The authors' EEG-DINO layout plus a harmless but non-allow-listed object."""
    model = build_tiny("eegdino")
    ckpt = _original_eegdino(model, extra={"run_dir": Path("/runs/0")})
    path = tmp_path / name
    torch.save(ckpt, path)
    return model, path


def test_benign_object_needs_and_honours_the_opt_in(tmp_path):
    model, path = _benign_checkpoint(tmp_path)
    with pytest.raises(UntrustedCheckpointError, match="pathlib"):
        convert_eegdino_checkpoint(path)
    with pytest.warns(UserWarning, match="trust_checkpoint=True"):
        converted = convert_eegdino_checkpoint(path, trust_checkpoint=True)
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith("final_layer.")
                and not k.endswith("relative_position_index")}
    assert converted.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(converted[key], value, rtol=0, atol=0)


def test_estimator_trust_checkpoint_loads_benign_pickle(tmp_path, tiny_checkpoint):
    """An estimator with trust_checkpoint=True loads a pickled state_dict
    holding a benign object and embeds like the safetensors copy."""
    model = build_tiny("eegdino")
    sd = dict(model.state_dict())
    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(tiny_checkpoint("eegdino") / "config.json", folder / "config.json")
    torch.save(OrderedDict(sd), folder / "pytorch_model.bin")
    # A plain tensor dict is safe: loads without the opt-in.
    X, kwargs = _array_input(EEGDINOEmbedder)
    reference = EEGDINOEmbedder(checkpoint=str(tiny_checkpoint("eegdino")), **kwargs).fit_transform(X)
    np.testing.assert_array_equal(EEGDINOEmbedder(checkpoint=str(folder), **kwargs).fit_transform(X), reference)
    # With a benign non-tensor object inside: refused, then loaded with the opt-in.
    other = tmp_path / "pickled_obj"
    other.mkdir()
    shutil.copy(folder / "config.json", other / "config.json")
    torch.save({"state_dict": sd, "when": Path("/runs/1")}, other / "pytorch_model.bin")
    with pytest.raises(UntrustedCheckpointError, match="pytorch_model.bin"):
        EEGDINOEmbedder(checkpoint=str(other), **kwargs).fit(X)
    with pytest.warns(UserWarning, match="trust_checkpoint=True"):
        est = EEGDINOEmbedder(checkpoint=str(other), trust_checkpoint=True, **kwargs).fit(X)
    np.testing.assert_array_equal(est.transform(X), reference)


def test_cli_trust_checkpoint_flag(tmp_path, raw_fif, capsys):
    _, path = _benign_checkpoint(tmp_path)
    # The tiny config is not a released preset: give the file a config.json.
    folder = tmp_path / "with_config"
    folder.mkdir()
    model = build_tiny("eegdino")
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save({"state_dict": dict(model.state_dict()), "when": Path("/x")}, folder / "pytorch_model.bin")
    args = ["embed", str(raw_fif), "--model", "eegdino", "--checkpoint", str(folder), "-q"]
    assert cli.main(args + ["-o", str(tmp_path / "a.npz")]) == 2
    assert "--trust-checkpoint" in capsys.readouterr().err
    assert cli.main(args + ["-o", str(tmp_path / "b.npz"), "--trust-checkpoint"]) == 0
    assert "fully unpickled because trust_checkpoint=True" in capsys.readouterr().err
    with np.load(tmp_path / "b.npz") as npz:
        assert npz["embeddings"].shape == (2, 32)


def test_estimators_store_trust_checkpoint_and_validate_it():
    for cls in ESTIMATORS:
        est = cls(checkpoint=None, trust_checkpoint=True)
        assert est.get_params()["trust_checkpoint"] is True
        assert cls().get_params()["trust_checkpoint"] is False
    X, kwargs = _array_input(EEGDINOEmbedder)
    with pytest.raises(TypeError, match="trust_checkpoint must be True or False"):
        EEGDINOEmbedder(checkpoint=None, trust_checkpoint="yes", **kwargs).fit(X)


def test_only_the_opt_in_path_unpickles():
    """`grep -rn "weights_only=False" skeegfm/` finds the one opt-in call."""
    root = Path(_loading.__file__).parents[1]
    hits = [
        (p.relative_to(root), i)
        for p in root.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "weights_only=False" in line
    ]
    assert len(hits) == 1 and hits[0][0] == Path("models/_loading.py")
    source = Path(_loading.__file__).read_text().splitlines()
    block = "\n".join(source[hits[0][1] - 25 : hits[0][1]])
    assert "if not trust_checkpoint:" in block and "raise UntrustedCheckpointError" in block


# ---- the authors' formats load with no opt-in (allow-list)


def _fake_module(name, **attrs):
    parts = name.split(".")
    made = []
    for i in range(1, len(parts) + 1):
        sub = ".".join(parts[:i])
        if sub not in sys.modules:
            sys.modules[sub] = types.ModuleType(sub)
            made.append(sub)
    for key, value in attrs.items():
        value.__module__ = name
        setattr(sys.modules[name], key, value)
    return made


def _no_warnings(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


def test_original_eegdino_checkpoint_with_namespace_and_numpy(tmp_path):
    model = build_tiny("eegdino")
    ckpt = _original_eegdino(model, extra={
        "args": argparse.Namespace(lr=1e-4, model="S", betas=(0.9, 0.95)),
        "best_loss": np.float64(0.25), "step": np.int64(1000), "lrs": np.linspace(0, 1, 3),
    })
    path = tmp_path / "model_EEG_DINO_S.pt"
    torch.save(ckpt, path)
    converted = _no_warnings(convert_eegdino_checkpoint, path)
    for key, value in converted.items():
        torch.testing.assert_close(value, model.state_dict()[key], rtol=0, atol=0)
    loaded = _no_warnings(load_checkpoint_file, path)
    assert loaded["args"].model == "S" and float(loaded["best_loss"]) == 0.25


@pytest.mark.parametrize(
    "module",
    [
        "pytorch_lightning.utilities.parsing",
        "lightning.fabric.utilities.data",
        "lightning_fabric.utilities.data",
    ],
)
def test_original_eegpt_lightning_checkpoint(module, tmp_path):
    """A PyTorch-Lightning checkpoint (AttributeDict hyper-parameters, optimizer,
    scheduler, callbacks) of the authors' EEGPT layout, without Lightning."""

    class AttributeDict(dict):
        pass

    AttributeDict.__qualname__ = "AttributeDict"

    model = build_tiny("eegpt")
    sd = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("target_encoder.")}
    for k, v in list(sd.items()):
        sd["encoder." + k[len("target_encoder."):]] = torch.randn_like(v)
    sd["predictor.mask_token"] = torch.randn(1, 1, 16)
    made = _fake_module(module, AttributeDict=AttributeDict)
    try:
        ckpt = {
            "epoch": 199, "global_step": 12345, "pytorch-lightning_version": "1.9.4",
            "state_dict": sd,
            "hyper_parameters": AttributeDict(models_configs={"embed_dim": 16}, USE_LOSS_A=True),
            "hparams_name": "kwargs",
            "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 200}}}},
            "callbacks": {"ModelCheckpoint{'monitor': 'valid_loss'}": {
                "best_model_score": torch.tensor(0.1), "dirpath": "/logs", "best_k_models": {}}},
            "optimizer_states": [torch.optim.AdamW([torch.nn.Parameter(torch.ones(2))]).state_dict()],
            "lr_schedulers": [{"base_lrs": [4e-4], "last_epoch": 199, "_step_count": 200,
                               "total_steps": 1000, "_anneal_func_type": "cos"}],
        }
        path = tmp_path / "eegpt_mcae_58chs_4s_large4E.ckpt"
        torch.save(ckpt, path)
    finally:
        for name in reversed(made):
            del sys.modules[name]
    converted = _no_warnings(convert_eegpt_checkpoint, path)
    assert set(converted) == {k for k in sd if k.startswith("target_encoder.")}
    loaded = _no_warnings(EEGPT.from_pretrained, path)
    assert loaded.pretrained_source_["format"] == "original"
    for key, value in converted.items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    hp = load_checkpoint_file(path)["hyper_parameters"]
    assert type(hp) is dict and hp["USE_LOSS_A"] is True


@pytest.mark.parametrize("wrapped", [False, True], ids=["dataparallel", "wrapped-with-args"])
def test_original_codebrain_checkpoint(wrapped, tmp_path):
    model = build_tiny("codebrain")
    sd = OrderedDict((f"module.{k}", v.clone()) for k, v in model.state_dict().items()
                     if not k.startswith("final_layer."))
    obj = {"model": sd, "epoch": 3, "args": argparse.Namespace(seed=1)} if wrapped else sd
    path = tmp_path / "CodeBrain.pth"
    torch.save(obj, path)
    converted = _no_warnings(convert_codebrain_checkpoint, path)
    expected = {k for k in model.state_dict() if not k.startswith(("final_layer.", "lm_head"))}
    assert set(converted) == expected


def test_numpy1_pickled_scalars_load(tmp_path):
    """Files written under numpy 1 name numpy.core.multiarray.scalar."""
    path = tmp_path / "old.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "best": np.float64(0.5)}, path,
               _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    assert b"numpy._core.multiarray" in raw
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    loaded = _no_warnings(load_checkpoint_file, path)
    assert float(loaded["best"]) == 0.5


# --------------------------------------------------------------------------- 2. corrupt files


@pytest.fixture
def tiny_copy(tmp_path, tiny_checkpoint):
    return _copy(tiny_checkpoint("eegdino"), tmp_path / "ck")


@pytest.mark.parametrize(
    "cut, phrase",
    [
        (0, "is empty (0 bytes)"),
        (5, "not a complete safetensors file"),
        (100, "not a complete safetensors file"),
        (-100, "not a complete safetensors file"),
    ],
    ids=["zero-byte", "5-bytes", "header-cut", "data-cut"],
)
def test_truncated_safetensors(cut, phrase, tiny_copy):
    weights = tiny_copy / "model.safetensors"
    raw = weights.read_bytes()
    weights.write_bytes(raw[:cut] if cut >= 0 else raw[:cut])
    with pytest.raises(ValueError, match=phrase.replace("(", r"\(").replace(")", r"\)")) as err:
        EEGDINO.from_pretrained(tiny_copy)
    assert str(weights) in str(err.value)
    assert "incomplete" in str(err.value) or "truncated" in str(err.value)


@pytest.mark.parametrize(
    "content, phrase",
    [
        (b"", "is empty (0 bytes)"),
        ("zip", "cannot be read as a torch checkpoint"),  # cut: no zip directory
        ("legacy", "cannot be read as a torch checkpoint"),  # old format, cut
    ],
    ids=["zero-byte", "truncated-zip", "truncated-legacy"],
)
def test_corrupt_pickle_files(content, phrase, tmp_path):
    path = tmp_path / "weights.pt"
    if isinstance(content, str):
        torch.save(_original_eegdino(build_tiny("eegdino")), path,
                   _use_new_zipfile_serialization=content == "zip")
        content = path.read_bytes()
        content = content[:-2000] if content[:2] == b"PK" else content[:300]
    path.write_bytes(content)
    with pytest.raises(ValueError, match=phrase.replace("(", r"\(").replace(")", r"\)")) as err:
        EEGDINO.from_pretrained(path)
    assert not isinstance(err.value, UntrustedCheckpointError)
    assert "weights.pt" in str(err.value)


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("{not json", "is not valid JSON"),
        ("", "is empty"),
        ("[1, 2]", "not an object"),
        ('{"n_layer": 2,}', "is not valid JSON"),
    ],
)
def test_bad_config_json(text, phrase, tiny_copy):
    (tiny_copy / "config.json").write_text(text)
    with pytest.raises(ValueError, match=phrase) as err:
        EEGDINO.from_pretrained(tiny_copy)
    assert str(tiny_copy / "config.json") in str(err.value)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("nhead", 2.5, "an integer"),
        ("nhead", True, "an integer"),
        ("nhead", "2", "an integer"),
        ("n_layer", 2.0, "an integer"),
        ("dim_feedforward", [32], "an integer"),
        ("n_chans", 19.5, "an integer"),
        ("sfreq", "200", "a finite number"),
        ("return_encoder_output", 1, "true or false"),
        ("channels_kernel_stride_padding_norm", 4, "a list"),
    ],
)
def test_config_value_of_wrong_type(key, value, expected, tiny_copy):
    import json

    config = json.loads((tiny_copy / "config.json").read_text())
    config[key] = value
    (tiny_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"'{key}' must be {expected}") as err:
        EEGDINO.from_pretrained(tiny_copy)
    message = str(err.value)
    assert str(tiny_copy / "config.json") in message and json.dumps(value) in message


def test_wrong_config_value_can_be_overridden(tiny_copy):
    import json

    config = json.loads((tiny_copy / "config.json").read_text())
    reference = EEGDINO.from_pretrained(tiny_copy)
    config["nhead"] = 2.5
    (tiny_copy / "config.json").write_text(json.dumps(config))
    model = EEGDINO.from_pretrained(tiny_copy, nhead=2)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
def test_non_finite_weights_are_refused(bad, tmp_path):
    model = build_tiny("eegdino")
    with torch.no_grad():
        model.encoder_layers[1].mlp.fc2.weight[0, 0] = bad
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="non-finite values") as err:
        EEGDINO.from_pretrained(tmp_path)
    assert "encoder_layers.1.mlp.fc2.weight" in str(err.value) and "model.safetensors" in str(err.value)
    # Also when handed over as an in-memory state_dict (architecture inferred).
    sd = dict(build_tiny("eegpt").state_dict())
    sd["target_encoder.blocks.0.attn.qkv.weight"][1, 2] = bad
    with pytest.raises(ValueError, match=r"in-memory state_dict.*target_encoder\.blocks\.0\.attn\.qkv\.weight"):
        EEGPT.from_pretrained(sd)


# --------------------------------------------------------------------------- 2. names and paths


@pytest.mark.parametrize(
    "name, hub",
    [
        ("braindecode/eegpt-pretrained", True),
        ("someone/my_model.v2", True),
        ("eegtp", False),  # a typo of a registry name, not a Hub id
        ("checkpoints/mine.pt", False),
        ("checkpoints/model.safetensors", False),
        ("./checkpoints/mine", False),
        ("../mine/model", False),
        ("~/mine", False),
        ("a/b/c", False),
        ("a b/c", False),
    ],
)
def test_hub_id_rule(name, hub):
    assert is_hub_id(name) is hub


@pytest.mark.parametrize(
    "name, suggestion",
    [("eegtp", "eegpt"), ("eegdino-smal", "eegdino-small"), ("codebrian", "codebrain"), ("EEGPT2", "eegpt")],
)
def test_misspelt_registry_name(name, suggestion):
    with pytest.raises(FileNotFoundError, match="No such local path exists") as err:
        load_pretrained(name)
    message = str(err.value)
    assert f"Did you mean {suggestion!r}?" in message and "eegdino-medium" in message
    with pytest.raises(FileNotFoundError, match=f"Did you mean {suggestion!r}"):
        resolve_checkpoint(name)


@pytest.mark.parametrize("path", ["./my_checkpoints/eegpt", "runs/best.ckpt", "weights/model.safetensors"])
def test_missing_relative_path_is_not_sent_to_the_hub(path, monkeypatch):
    def no_hub(*args, **kwargs):
        raise AssertionError("a local path was sent to the Hub")

    monkeypatch.setattr(_loading, "_hub_files", no_hub)
    with pytest.raises(FileNotFoundError, match="No such local path exists") as err:
        load_pretrained(path)
    assert str(Path(path).absolute()) in str(err.value)
    with pytest.raises(FileNotFoundError, match="No such local path exists"):
        EEGPT.from_pretrained(path)


@pytest.mark.parametrize("cls", [EEGDINOEmbedder, EEGPTClassifier], ids=lambda c: c.__name__)
def test_estimator_typo_in_checkpoint(cls):
    X, kwargs = _array_input(cls)
    with pytest.raises(FileNotFoundError, match="Did you mean 'eegpt'"):
        _fit(cls(checkpoint="eegtp", **kwargs), X)


def test_hub_id_offline_still_goes_to_the_hub_cache(tmp_path):
    with pytest.raises(WeightsNotAvailableError, match="someone/my-eegpt"):
        EEGPT.from_pretrained("someone/my-eegpt", cache_dir=tmp_path)


# --------------------------------------------------------------------------- 3. encoder cache by content


def _rewrite_keep_times(src_folder, dst_folder):
    """Copy other weights of the same sizes over ``dst_folder``, then restore
    its files' access and modification times (as cp -p / rsync -t leave them)."""
    stamps = {p.name: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in dst_folder.iterdir()}
    sizes = {p.name: p.stat().st_size for p in dst_folder.iterdir()}
    for p in src_folder.iterdir():
        shutil.copyfile(p, dst_folder / p.name)
    for name, ns in stamps.items():
        os.utime(dst_folder / name, ns=ns)
    assert {p.name: p.stat().st_size for p in dst_folder.iterdir()} == sizes
    assert {p.name: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in dst_folder.iterdir()} == stamps


@pytest.mark.parametrize("cls", [EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder], ids=lambda c: c.__name__)
def test_rewritten_checkpoint_loads_the_new_weights(cls, tmp_path):
    family = FAMILY[cls._model_class_name]
    folder = save_tiny(family, tmp_path / "ck", seed=0)
    other = save_tiny(family, tmp_path / "other", seed=1)
    X, kwargs = _array_input(cls)
    first = cls(checkpoint=str(folder), **kwargs).fit(X)
    Z_first = first.transform(X)
    _rewrite_keep_times(other, folder)
    second = cls(checkpoint=str(folder), **kwargs).fit(X)
    reference = cls(checkpoint=str(other), **kwargs).fit(X)
    assert second.encoder_hash_ != first.encoder_hash_
    assert second.encoder_hash_ == reference.encoder_hash_
    np.testing.assert_array_equal(second.transform(X), reference.transform(X))
    assert not np.array_equal(second.transform(X), Z_first)


def test_touched_but_identical_checkpoint_shares_the_cached_encoder(tmp_path):
    folder = save_tiny("eegdino", tmp_path / "ck")
    X, kwargs = _array_input(EEGDINOEmbedder)
    first = EEGDINOEmbedder(checkpoint=str(folder), **kwargs).fit(X)
    for p in folder.iterdir():
        os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    again = EEGDINOEmbedder(checkpoint=str(folder), **kwargs).fit(X)
    assert again.encoder_ is first.encoder_


def test_identical_weights_in_two_folders_share_one_encoder(tmp_path):
    """The cache is keyed by the weights' hash, not by where they lie."""
    a = save_tiny("codebrain", tmp_path / "a")
    b = _copy(a, tmp_path / "b")
    X, kwargs = _array_input(CodeBrainEmbedder)
    first = CodeBrainEmbedder(checkpoint=str(a), **kwargs).fit(X)
    second = CodeBrainEmbedder(checkpoint=str(b), **kwargs).fit(X)
    assert second.encoder_ is first.encoder_


def test_location_changes_only_with_a_rewrite(tmp_path):
    folder = save_tiny("eegpt", tmp_path / "ck")
    before = _base._checkpoint_location(str(folder))
    assert before == _base._checkpoint_location(str(folder))
    assert [s[0] for s in before[2]] == ["config.json", "model.safetensors"]
    _rewrite_keep_times(save_tiny("eegpt", tmp_path / "other", seed=1), folder)
    after = _base._checkpoint_location(str(folder))
    assert after != before and [s[3:5] for s in after[2]] == [s[3:5] for s in before[2]]  # same size, mtime


def test_trusted_and_untrusted_loads_do_not_share(tmp_path, tiny_checkpoint):
    """A model a trusted estimator unpickled is not handed to an untrusted one."""
    model = build_tiny("eegdino")
    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(tiny_checkpoint("eegdino") / "config.json", folder / "config.json")
    torch.save({"state_dict": dict(model.state_dict()), "when": Path("/x")}, folder / "pytorch_model.bin")
    X, kwargs = _array_input(EEGDINOEmbedder)
    with pytest.warns(UserWarning, match="trust_checkpoint=True"):
        EEGDINOEmbedder(checkpoint=str(folder), trust_checkpoint=True, **kwargs).fit(X)
    with pytest.raises(UntrustedCheckpointError):
        EEGDINOEmbedder(checkpoint=str(folder), **kwargs).fit(X)


# --------------------------------------------------------------------------- 0. bfloat16 fallback


@pytest.fixture(params=["env", "switch"])
def no_onednn_bf16(request, monkeypatch):
    """Force the path of CPUs without oneDNN bfloat16 (AVX2 only)."""
    if request.param == "env":
        monkeypatch.setenv(_fast.NO_ONEDNN_BF16_ENV, "1")
    else:
        monkeypatch.setattr(_fast, "_MKLDNN_BF16", False)
    return request.param


def test_bf16_capability_check_is_torchs():
    if not _fast._MKLDNN:
        assert _fast.mkldnn_bf16_available() is False
    else:
        assert _fast.mkldnn_bf16_available() is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def test_bf16_fallback_matches_eager(no_onednn_bf16, monkeypatch):
    """With oneDNN bfloat16 off, the optimised model packs no bfloat16 weights
    (the call that raises on AVX2-only CPUs) and equals eager autocast."""
    calls = []
    real = _fast.PackedLinear._pack
    monkeypatch.setattr(_fast.PackedLinear, "_pack",
                        lambda self, dtype: calls.append(dtype) or real(self, dtype))
    model = build_tiny("eegdino")
    fast = _fast.optimize_for_inference(model)
    x = torch.randn(2, 19, 800)
    with torch.inference_mode():
        ref32 = model(x, return_features=True)["features"]
        with _fast.autocast_context("cpu", "bfloat16"):
            eager = model(x, return_features=True)["features"].float()
            out = fast(x, return_features=True)["features"].float()
    assert torch.bfloat16 not in calls
    torch.testing.assert_close(out, eager, rtol=0, atol=0)
    cosine = torch.nn.functional.cosine_similarity(out.flatten(1), ref32.flatten(1))
    assert cosine.min() > 0.99


def test_bf16_estimator_runs_with_the_fallback(no_onednn_bf16, tiny_checkpoint):
    X, kwargs = _array_input(EEGPTEmbedder)
    ckpt = str(tiny_checkpoint("eegpt"))
    Z32 = EEGPTEmbedder(checkpoint=ckpt, **kwargs).fit_transform(X)
    Z16 = EEGPTEmbedder(checkpoint=ckpt, precision="bfloat16", **kwargs).fit_transform(X)
    assert Z16.dtype == np.float32 and np.corrcoef(Z32.ravel(), Z16.ravel())[0, 1] > 0.99


# --------------------------------------------------------------------------- 7. command line


def _boom(exc):
    def command(args):
        raise exc

    return command


@pytest.mark.parametrize(
    "exc, status, phrase",
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (RuntimeError("boom"), 1, "internal error: RuntimeError: boom"),
        (TypeError("bad\nnews"), 1, "internal error: TypeError: bad news"),
        (AssertionError(), 1, "internal error: AssertionError"),
        (ValueError("a bad value"), 2, "error: a bad value"),
        (PermissionError(13, "Permission denied", "/x"), 2, "error: [Errno 13] Permission denied: '/x'"),
        (OSError(28, "No space left on device"), 2, "No space left on device"),
        (WeightsNotAvailableError("not cached"), 2, "error: not cached"),
        (UntrustedCheckpointError("evil.pt was not loaded"), 2, "error: evil.pt was not loaded"),
        (KeyError("No released checkpoint called 'x'"), 2, "error: No released checkpoint called 'x'"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_cli_every_failure_is_one_line(exc, status, phrase, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_cmd_models", _boom(exc))
    assert cli.main(["models"]) == status
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("skeegfm models: ") and phrase in captured.err


def test_cli_safetensor_error_is_a_user_error(monkeypatch, capsys):
    from safetensors import SafetensorError

    monkeypatch.setattr(cli, "_cmd_models", _boom(SafetensorError("Error while deserializing header")))
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deserializing header" in err


@pytest.mark.parametrize("argv", [["--debug", "models"], ["models", "--debug"]])
def test_cli_debug_shows_the_traceback(argv, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_cmd_models", _boom(RuntimeError("boom")))
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "internal error: RuntimeError: boom" in err


def test_cli_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for line in ("0    success", "1    internal error", "2    usage or input error", "130  interrupted"):
        assert line in out


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["embed"])
    assert exit_.value.code == 2


def _cli_embed(raw_fif, checkpoint, tmp_path, *extra):
    return cli.main(["embed", str(raw_fif), "--model", "eegdino", "--checkpoint", str(checkpoint),
                     "-o", str(tmp_path / "out.npz"), "-q", *extra])


@pytest.mark.parametrize(
    "damage, phrase",
    [
        ("truncate", "not a complete safetensors file"),
        ("empty", "is empty (0 bytes)"),
        ("config", "'nhead' must be an integer"),
        ("json", "is not valid JSON"),
        ("nan", "non-finite values"),
    ],
)
def test_cli_embed_corrupt_checkpoint(damage, phrase, raw_fif, tmp_path, capsys):
    import json

    folder = save_tiny("eegdino", tmp_path / "ck")
    weights, config = folder / "model.safetensors", folder / "config.json"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-64])
    elif damage == "empty":
        weights.write_bytes(b"")
    elif damage == "config":
        config.write_text(json.dumps(dict(json.loads(config.read_text()), nhead=2.5)))
    elif damage == "json":
        config.write_text("{")
    else:
        model = build_tiny("eegdino")
        with torch.no_grad():
            model.global_tokens.fill_(float("nan"))
        model.save_pretrained(folder)
    assert _cli_embed(raw_fif, folder, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("skeegfm embed: error:") and phrase in err
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("checkpoint, phrase", [
    ("eegdino-smal", "Did you mean 'eegdino-small'?"),
    ("./nowhere/ck", "No such local path exists"),
])
def test_cli_embed_bad_checkpoint_name(checkpoint, phrase, raw_fif, tmp_path, capsys):
    assert _cli_embed(raw_fif, checkpoint, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err


def test_cli_interrupt_during_embed(raw_fif, tmp_path, monkeypatch, capsys, tiny_checkpoint):
    from skeegfm import embedders

    def interrupted(self, X):
        raise KeyboardInterrupt

    monkeypatch.setattr(embedders._BaseEmbedder, "transform", interrupted)
    monkeypatch.setattr(embedders.EEGDINOEmbedder, "transform", interrupted)
    assert _cli_embed(raw_fif, tiny_checkpoint("eegdino"), tmp_path) == 130
    err = capsys.readouterr().err
    assert err == "skeegfm embed: interrupted.\n"


def test_get_or_build_by_content():
    builds = []

    def build(value):
        return lambda: builds.append(value) or {"v": value}

    key = lambda obj: ("content", obj["v"])  # noqa: E731
    _cache.clear_encoder_cache()
    a = _cache.get_or_build_by_content(("loc", 1), build(1), key)
    assert _cache.get_or_build_by_content(("loc", 1), build(1), key) is a and builds == [1]
    # Another location with equal contents: built, then the cached value is shared.
    assert _cache.get_or_build_by_content(("loc", 2), build(1), key) is a and builds == [1, 1]
    # A location whose contents changed (new stamp): the new value, never the old.
    c = _cache.get_or_build_by_content(("loc", 3), build(2), key)
    assert c == {"v": 2} and c is not a
    _cache.clear_encoder_cache()
