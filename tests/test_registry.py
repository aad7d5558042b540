"""Checkpoint records (skeegfm.list_models / get_record) and load_pretrained."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import skeegfm
from skeegfm._channels import EEGPT_CHANNELS, TUEG_19_CHANNELS
from skeegfm._inputs import prepare
from skeegfm._registry import (
    ModelRecord,
    _model_class,
    get_record,
    list_models,
    load_pretrained,
    resolve_checkpoint,
)
from skeegfm.models import WeightsNotAvailableError
from skeegfm.models._pretrained import _unregister_pretrained, register_pretrained

FIELDS = [f.name for f in dataclasses.fields(ModelRecord) if f.name not in ("name", "model", "sources", "display_name", "default_benchmark")]
RECORDS = list_models()


def test_list_models_names_and_hub_ids():
    assert skeegfm.list_models() == RECORDS
    assert [r.name for r in RECORDS] == ["eegdino-small", "eegdino-medium", "eegpt", "codebrain", "cbramod"]
    assert [r.hub_id for r in RECORDS] == [
        "braindecode/eegdino-small-pretrained",
        "braindecode/eegdino-medium-pretrained",
        "braindecode/eegpt-pretrained",
        "braindecode/codebrain-pretrained",
        "braindecode/cbramod-pretrained",
    ]
    assert list_models() is not list_models()  # callers cannot mutate the registry list


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_every_value_has_a_source(record):
    missing = [name for name in FIELDS if not record.sources.get(name)]
    assert not missing, f"{record.name}: no source for {missing}"
    for name in FIELDS:
        value = getattr(record, name)
        assert value is not None and value != "", (record.name, name)
    json.dumps(record.to_dict())  # plain values only
    assert record.licence == "unknown: see the model card" or "licen" in record.sources["licence"].lower()


def test_input_contracts_match_the_spec():
    dino_s, dino_m, eegpt, codebrain, cbramod = RECORDS
    for r in (dino_s, dino_m, codebrain, cbramod):
        assert r.sfreq == 200.0 and r.patch_size == 200
        assert r.unit == "microvolts / 100" and r.scale_from_volts == pytest.approx(1e4)
        assert r.reference == "none" and r.channel_matching == "positional"
        assert r.ch_names == TUEG_19_CHANNELS
    assert eegpt.sfreq == 256.0  # the pretraining rate, not the uploaded config's 250
    assert eegpt.patch_size == 64 and eegpt.min_n_times == 64
    assert eegpt.unit == "millivolts" and eegpt.scale_from_volts == 1e3
    assert eegpt.reference == "average" and eegpt.channel_matching == "by name"
    assert eegpt.ch_names == EEGPT_CHANNELS and len(eegpt.ch_names) == 62
    assert eegpt.preset["chan_proj_type"] == "none"
    assert (dino_s.emb_dim, dino_m.emb_dim, eegpt.emb_dim, codebrain.emb_dim) == (200, 512, 2048, 200)
    assert (dino_s.n_params, dino_m.n_params, eegpt.n_params, codebrain.n_params) == (
        4_433_944,
        33_755_456,
        25_287_168,
        13_529_200,
    )
    assert "2025" in dino_s.paper and "2024" in eegpt.paper and "2026" in codebrain.paper
    # CBraMod: 1-s patches, whole patches only (trimmed by the adapter), 200 features per token
    assert cbramod.model == "CBraMod" and cbramod.min_n_times == 200
    assert (cbramod.emb_dim, cbramod.n_params) == (200, 4_924_000)
    assert "ICLR 2025" in cbramod.paper and "2412.07236" in cbramod.paper


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_preset_builds_the_recorded_architecture(record):
    cls = _model_class(record.model)
    params = inspect.signature(cls.__init__).parameters
    assert set(record.preset) <= set(params)
    kwargs = dict(record.preset, n_chans=len(record.ch_names), n_times=4 * record.patch_size)
    kwargs["return_encoder_output"] = True
    if record.model == "EEGPT":
        kwargs["chs_info"] = [{"ch_name": n} for n in record.ch_names]
    with torch.device("meta"):  # shapes only: no memory, no init cost
        model = cls(**kwargs)
    excluded = ("final_layer.", "lm_head_t.", "lm_head_f.", "chan_proj.")
    n_params = sum(p.numel() for k, p in model.named_parameters() if not k.startswith(excluded))
    assert n_params == record.n_params


def test_get_record_by_name_alias_and_hub_id():
    assert get_record("eegdino") is get_record("eegdino-small")
    assert get_record("braindecode/eegpt-pretrained").name == "eegpt"
    with pytest.raises(KeyError, match="known"):
        get_record("nope")


def test_load_pretrained_offline_uncached_is_fast(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotAvailableError, match="braindecode/codebrain-pretrained"):
        load_pretrained("codebrain", cache_dir=tmp_path)
    assert no_network == []  # fails at once: no connection tried


def test_load_pretrained_rejects_unknowns(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_pretrained("no such thing!")
    with pytest.raises(ValueError, match="EEGPT"):
        load_pretrained("eegpt", model="EEGDINO")
    path = tmp_path / "x.pt"
    torch.save({"alpha": torch.ones(1)}, path)
    with pytest.raises(ValueError, match="x.pt"):
        load_pretrained(path)


# --------------------------------------------------------------------------
# The registry: each model file registers its records (register_pretrained)
# --------------------------------------------------------------------------


def test_records_live_in_their_model_files():
    import skeegfm._registry
    import skeegfm.models.cbramod
    import skeegfm.models.codebrain
    import skeegfm.models.eegdino
    import skeegfm.models.eegpt
    from skeegfm.models import _ENCODER_MODULES, _pretrained

    for name, module in _ENCODER_MODULES.items():
        source = inspect.getsource(sys.modules["skeegfm.models" + module])
        assert "register_pretrained(" in source, name
        assert {r.model for r in RECORDS if r.model == name} == {name}
    for module in (skeegfm._registry, _pretrained):
        assert "hub_id=" not in inspect.getsource(module)
    assert skeegfm.models.eegpt.EEGPT_CHANNELS is get_record("eegpt").ch_names


def test_list_order_does_not_depend_on_import_order():
    code = (
        "import skeegfm.models.cbramod, skeegfm.models.eegpt\n"
        "from skeegfm.models._pretrained import list_models\n"
        "print(','.join(r.name for r in list_models()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["eegdino-small,eegdino-medium,eegpt,codebrain,cbramod"]


def test_a_record_registered_twice_raises():
    record = get_record("eegpt")
    with pytest.raises(ValueError, match=r"'eegpt' is already registered .*EEGPT record 'eegpt'"):
        register_pretrained(record)
    with pytest.raises(ValueError, match="'eegdino' is already registered"):
        register_pretrained(dataclasses.replace(record, name="eegdino", hub_id="me/x"))
    with pytest.raises(ValueError, match="'eegpt' is already registered"):
        register_pretrained(dataclasses.replace(record, name="eegpt-2", hub_id="me/x"), aliases=("eegpt",))
    with pytest.raises(ValueError, match="Hub id 'braindecode/eegpt-pretrained'"):
        register_pretrained(dataclasses.replace(record, name="eegpt-2"))
    with pytest.raises(ValueError, match="window must be one of"):
        register_pretrained(dataclasses.replace(record, name="eegpt-2", hub_id="me/x", window="crop"))
    with pytest.raises(TypeError, match="ModelRecord"):
        register_pretrained(record.to_dict())
    assert [r.name for r in list_models()] == [r.name for r in RECORDS]  # nothing half-registered


#: A fifth checkpoint, registered from this test module only: 4 positional
#: channels at 100 Hz, average reference, microvolts, 50-sample patches padded.
TOY = ModelRecord(
    name="toy-tiny",
    model="Toy",
    hub_id="someone/toy-pretrained",
    preset={"depth": 1},
    sfreq=100.0,
    patch_size=50,
    min_n_times=50,
    unit="microvolts",
    scale_from_volts=1e6,
    reference="average",
    ch_names=("C3", "CZ", "C4", "PZ"),
    channel_matching="positional",
    emb_dim=8,
    n_params=1,
    licence="CC0",
    paper="none",
    window="pad",
    display_name="Toy",
)


@pytest.fixture
def toy_record():
    register_pretrained(TOY, aliases=("toy",))
    try:
        yield TOY
    finally:
        _unregister_pretrained(TOY.name)


def test_a_record_registered_by_its_module_alone_is_listed_resolved_and_read(toy_record):
    """A new encoder's records need its model file only: registered here, the
    record is listed, resolved by name, alias and Hub id, and the input adapter
    applies its contract, with no edit to any other module."""
    names = [r.name for r in list_models()]
    assert names == [r.name for r in RECORDS] + ["toy-tiny"]  # unknown classes last
    assert get_record("toy") is get_record("toy-tiny") is get_record("someone/toy-pretrained") is TOY
    assert resolve_checkpoint("toy").record is TOY and resolve_checkpoint("toy").target == TOY.hub_id
    with pytest.raises(KeyError, match="Did you mean 'toy-tiny'"):
        get_record("toy-tiy")

    rng = np.random.default_rng(0)
    names_in = ["Pz", "EEG C3-REF", "Cz", "EOG left", "c4"]  # shuffled, aliased, one non-EEG
    X = rng.standard_normal((2, 5, 422)) * 1e-5  # 3.3 s at 128 Hz, volts
    with pytest.warns(UserWarning):
        out = prepare(X, toy_record, sfreq=128.0, ch_names=names_in)
    assert out.ch_names == ["C3", "CZ", "C4", "PZ"] and out.sfreq == 100.0
    assert out.data.shape == (2, 4, 350)  # 330 samples at 100 Hz, padded to whole 50-sample patches
    assert out.report.model == "toy-tiny" and out.report.samples_padded == 20
    assert out.report.model_unit == "microvolts" and out.report.resampled_from == 128.0
    np.testing.assert_allclose(out.data[..., :330].mean(axis=1), 0, atol=1e-4)  # average reference
    np.testing.assert_array_equal(out.data[..., 330:], 0)
    assert 5 < out.data[..., :330].std() < 20  # microvolts: 10 uV noise, not volts


def test_removed_toy_record_is_gone():
    assert "toy-tiny" not in [r.name for r in list_models()]
    with pytest.raises(KeyError):
        get_record("toy")
