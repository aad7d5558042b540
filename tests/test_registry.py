"""Checkpoint records (skeegfm.list_models / get_record) and load_pretrained."""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
import torch

import skeegfm
from skeegfm._channels import EEGPT_CHANNELS, TUEG_19_CHANNELS
from skeegfm._registry import ModelRecord, _model_class, get_record, list_models, load_pretrained
from skeegfm.models import WeightsNotAvailableError

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
