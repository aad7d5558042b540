"""Pretrained-weight I/O (skeegfm.models._hub): Hub layout, strict loading,
original checkpoints, the Hub cache and offline behaviour.

The generic machinery is tested on a tiny encoder defined here; the per-model
tests build Hub-layout repositories for EEG-DINO, EEGPT and CodeBrain from the
reconstructed configs in tests/fixtures/hub_configs/ with fill-rule weights.
All offline (conftest sets HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import json
import logging
import time

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from skeegfm.models import _hub
from skeegfm.models._hub import HubMixin, WeightsNotAvailableError
from skeegfm.models._layers import resolve_signal_params

COMMIT = "0123456789abcdef0123456789abcdef01234567"


# ----------------------------------------------------------------------------
# A tiny encoder with every hook the loader reads
# ----------------------------------------------------------------------------


class TinyEncoder(HubMixin, nn.Module):
    """Conv embedding -> ``depth`` linear blocks -> linear head."""

    _head_prefixes = ("final_layer.",)
    _pretraining_only_prefixes = ("predictor.", "*relative_position_index")
    _config_absent_defaults = {"depth": 3}

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        width=8,
        depth=2,
        kernel=(1, 3),
        activation=nn.GELU,
        return_encoder_output=False,
    ):
        super().__init__()
        params = resolve_signal_params(n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq)
        for name, value in params.items():
            setattr(self, name, value)
        self.width = width
        self.return_encoder_output = return_encoder_output
        self.embed = nn.Conv1d(self.n_chans, width, kernel[1], padding=kernel[1] // 2)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.act = activation()
        self.register_buffer("scale", torch.linspace(0.5, 1.5, width))
        self.register_buffer("ids", torch.arange(self.n_chans))  # recomputed, never loaded
        self.final_layer = nn.Identity() if return_encoder_output else nn.Linear(width, n_outputs)

    def forward(self, x):
        h = self.embed(x).mean(-1)
        for block in self.blocks:
            h = h + self.act(block(h))
        return self.final_layer(h * self.scale)

    def reset_head(self, n_outputs):
        self.final_layer = nn.Linear(self.width, n_outputs)
        self.n_outputs = n_outputs
        self.return_encoder_output = False
        self._hub_config["n_outputs"] = n_outputs
        self._hub_config["return_encoder_output"] = False

    @classmethod
    def _remap_state_dict(cls, state_dict):
        return {k.replace("old_embed.", "embed."): v for k, v in state_dict.items() if k != "ids"}

    @classmethod
    def _config_from_state_dict(cls, state_dict):
        width, n_chans, k = state_dict["embed.weight"].shape
        depth = len({k.split(".")[1] for k in state_dict if k.startswith("blocks.")})
        return dict(n_chans=n_chans, n_times=100, width=width, depth=depth, kernel=(1, k), return_encoder_output=True)


def _looks_like_original(state_dict):
    """Layout of the tiny encoder's 'authors' checkpoint': keys under ``net.``."""
    sd = state_dict.get("state_dict", state_dict)
    return any(k.startswith("net.") for k in sd)


def convert_tinyencoder_checkpoint(path_or_dict):
    sd = path_or_dict.get("state_dict", path_or_dict)
    return {k[4:]: v for k, v in sd.items() if k.startswith("net.") and not k.startswith("net.predictor.")}


def _tiny(**kw):
    torch.manual_seed(0)
    kw = {"n_chans": 4, "n_times": 100, "n_outputs": 3, **kw}
    return TinyEncoder(**kw).eval()


def _x(n_chans=4, n_times=100):
    return torch.randn(2, n_chans, n_times, generator=torch.Generator().manual_seed(1))


def _state_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _rewrite_weights(directory, edit):
    path = directory / "model.safetensors"
    sd = load_file(str(path))
    edit(sd)
    save_file(sd, str(path))


def _fake_cache(cache_dir, repo_id, files: dict, commit=COMMIT):
    """Lay out ``cache_dir`` as huggingface_hub's cache holds ``repo_id`` at ``commit``."""
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name, src in files.items():
        (snapshot / name).write_bytes(src.read_bytes())
    return snapshot


# ----------------------------------------------------------------------------
# config.json
# ----------------------------------------------------------------------------


def test_get_config_is_json_and_round_trips_through_from_config():
    model = _tiny(chs_info=[{"ch_name": f"C{i}", "loc": torch.zeros(3).numpy()} for i in range(4)], n_chans=None)
    config = model.get_config()
    text = json.dumps(config)  # JSON-able
    assert config["activation"] == "torch.nn.modules.activation.GELU"
    assert config["kernel"] == [1, 3]
    assert config["chs_info"][0] == {"ch_name": "C0", "loc": [0.0, 0.0, 0.0]}
    rebuilt = TinyEncoder.from_config(json.loads(text))
    assert rebuilt._hub_config["kernel"] == (1, 3)  # list -> tuple (the default is a tuple)
    assert rebuilt._hub_config["activation"] is nn.GELU
    assert rebuilt.get_config() == config


def test_from_config_ignores_unknown_and_meta_keys_and_uses_absent_defaults():
    config = _tiny().get_config()
    config.update(braindecode_version="1.8.1", some_future_argument=1)
    del config["depth"]
    model = TinyEncoder.from_config(config)
    assert len(model.blocks) == 3  # _config_absent_defaults, not the constructor default 2


def test_get_config_rejects_non_plain_values():
    model = _tiny()
    model._hub_config["activation"] = nn.ReLU()
    with pytest.raises(TypeError, match="activation"):
        model.get_config()


def test_config_type_paths_outside_torch_are_not_imported():
    config = _tiny().get_config()
    config["activation"] = "os.path.Something"
    with pytest.raises(ValueError, match="activation"):
        TinyEncoder.from_config(config)


# ----------------------------------------------------------------------------
# save_pretrained / from_pretrained on a directory
# ----------------------------------------------------------------------------


def test_save_then_load_round_trips_bit_exactly(tmp_path, caplog):
    model = _tiny()
    model.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", "README.md"}
    with caplog.at_level(logging.INFO, logger="skeegfm"):
        loaded = TinyEncoder.from_pretrained(tmp_path)
    _state_equal(model, loaded)
    assert not loaded.training
    x = _x()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    n_file = len(load_file(str(tmp_path / "model.safetensors")))
    assert loaded.pretrained_source_ == {"path": str(tmp_path), "format": "hub", "n_tensors": n_file - 1}
    assert any("Loaded TinyEncoder" in r.message and str(tmp_path) in r.message for r in caplog.records)
    # the weights file alone: the sibling config.json is used
    again = TinyEncoder.from_pretrained(tmp_path / "model.safetensors")
    _state_equal(model, again)


def test_pytorch_model_bin_fallback(tmp_path):
    model = _tiny()
    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    _state_equal(model, TinyEncoder.from_pretrained(tmp_path))


def test_overrides_win_and_n_outputs_rebuilds_the_head(tmp_path):
    model = _tiny()
    model.save_pretrained(tmp_path)
    loaded = TinyEncoder.from_pretrained(tmp_path, n_outputs=5)
    assert loaded.n_outputs == 5 and loaded.final_layer.out_features == 5
    assert loaded.get_config()["n_outputs"] == 5
    for key, value in model.state_dict().items():
        if not key.startswith("final_layer."):
            assert torch.equal(loaded.state_dict()[key], value), key
    encoder_only = TinyEncoder.from_pretrained(tmp_path, return_encoder_output=True)
    assert isinstance(encoder_only.final_layer, nn.Identity)


def test_config_without_an_argument_takes_the_absent_default(tmp_path):
    model = _tiny(depth=3)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["depth"]
    config["braindecode_version"] = "1.8.1"
    (tmp_path / "config.json").write_text(json.dumps(config))
    _state_equal(model, TinyEncoder.from_pretrained(tmp_path))


def test_missing_encoder_tensor_raises_with_its_name(tmp_path):
    _tiny().save_pretrained(tmp_path)
    _rewrite_weights(tmp_path, lambda sd: sd.pop("blocks.1.weight"))
    with pytest.raises(ValueError, match=r"blocks\.1\.weight") as err:
        TinyEncoder.from_pretrained(tmp_path)
    assert "missing" in str(err.value)


def test_unexpected_tensor_raises_unless_pretraining_only(tmp_path):
    _tiny().save_pretrained(tmp_path)
    _rewrite_weights(tmp_path, lambda sd: sd.update({"predictor.w": torch.ones(2), "a.relative_position_index": torch.ones(2)}))
    TinyEncoder.from_pretrained(tmp_path)  # dropped silently
    _rewrite_weights(tmp_path, lambda sd: sd.update({"decoder.w": torch.ones(2)}))
    with pytest.raises(ValueError, match=r"decoder\.w"):
        TinyEncoder.from_pretrained(tmp_path)
    loaded = TinyEncoder.from_pretrained(tmp_path, strict=False)  # logged instead
    assert loaded.pretrained_source_["n_tensors"] > 0


def test_encoder_shape_mismatch_raises(tmp_path):
    _tiny().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"embed\.weight: file"):
        TinyEncoder.from_pretrained(tmp_path, width=6)


def test_head_may_be_missing_or_mismatched(tmp_path, caplog):
    model = _tiny()
    model.save_pretrained(tmp_path)
    _rewrite_weights(tmp_path, lambda sd: sd.update({"final_layer.weight": torch.zeros(7, 8)}))
    with caplog.at_level(logging.INFO, logger="skeegfm"):
        loaded = TinyEncoder.from_pretrained(tmp_path)
    assert not torch.equal(loaded.final_layer.weight, torch.zeros(3, 8))  # fresh, not from file
    assert any("final_layer.weight" in r.getMessage() for r in caplog.records)
    _rewrite_weights(tmp_path, lambda sd: (sd.pop("final_layer.weight"), sd.pop("final_layer.bias")))
    TinyEncoder.from_pretrained(tmp_path)


def test_derived_buffer_is_recomputed_not_loaded(tmp_path):
    _tiny().save_pretrained(tmp_path)
    _rewrite_weights(tmp_path, lambda sd: sd.update({"ids": torch.tensor([9, 9, 9, 9])}))
    assert torch.equal(TinyEncoder.from_pretrained(tmp_path).ids, torch.arange(4))
    _rewrite_weights(tmp_path, lambda sd: sd.pop("ids"))
    TinyEncoder.from_pretrained(tmp_path)  # not reported missing


def test_saved_class_must_match(tmp_path):
    class OtherEncoder(TinyEncoder):
        def __init__(self, n_outputs=None, n_chans=None, n_times=None):
            super().__init__(n_outputs=n_outputs, n_chans=n_chans, n_times=n_times)

    OtherEncoder(n_outputs=2, n_chans=4, n_times=100).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="OtherEncoder"):
        TinyEncoder.from_pretrained(tmp_path)


def test_not_a_path_nor_a_repo_id(tmp_path):
    with pytest.raises(FileNotFoundError):
        TinyEncoder.from_pretrained(tmp_path / "nothing_here")
    with pytest.raises(FileNotFoundError):
        TinyEncoder.from_pretrained("not a repo id!")


# ----------------------------------------------------------------------------
# Signal-parameter merge rules
# ----------------------------------------------------------------------------


def test_merge_rules_for_time_parameters():
    saved = {"n_times": 1000, "sfreq": None, "input_window_seconds": None, "n_chans": 19}
    assert _hub._merge_config(TinyEncoder, saved, {"n_times": 800})["n_times"] == 800
    merged = _hub._merge_config(TinyEncoder, saved, {"input_window_seconds": 4, "sfreq": 200})
    assert merged.get("n_times") is None  # inferred as 800 by the constructor
    assert resolve_signal_params(**{k: merged.get(k) for k in _hub._TIME_PARAMS})["n_times"] == 800
    saved = {"n_times": 1000, "sfreq": 250, "input_window_seconds": None}
    merged = _hub._merge_config(TinyEncoder, saved, {"sfreq": 256})
    assert (merged["n_times"], merged["sfreq"]) == (1000, 256)
    merged = _hub._merge_config(TinyEncoder, saved, {"input_window_seconds": 4.2})
    assert merged["sfreq"] == 250 and merged.get("n_times") is None  # n_times re-derived: 1050


def test_merge_rules_for_channels():
    chs = [{"ch_name": f"C{i}"} for i in range(6)]
    saved = {"n_chans": 6, "chs_info": chs}
    new = [{"ch_name": "A"}, {"ch_name": "B"}]
    assert "n_chans" not in _hub._merge_config(TinyEncoder, saved, {"chs_info": new})
    with pytest.warns(UserWarning, match="chs_info"):
        merged = _hub._merge_config(TinyEncoder, saved, {"n_chans": 2})
    assert merged["chs_info"] is None
    assert _hub._merge_config(TinyEncoder, saved, {"n_chans": 6})["chs_info"] == chs


def test_user_signal_overrides_load(tmp_path):
    _tiny(n_chans=None, chs_info=[{"ch_name": f"C{i}"} for i in range(4)], sfreq=100).save_pretrained(tmp_path)
    loaded = TinyEncoder.from_pretrained(tmp_path, input_window_seconds=2.0)
    assert (loaded.n_times, loaded.sfreq) == (200, 100)
    loaded = TinyEncoder.from_pretrained(tmp_path, n_times=50)
    assert (loaded.n_times, loaded.sfreq) == (50, 100)


# ----------------------------------------------------------------------------
# Checkpoint files without config.json (original layout, bare state_dict)
# ----------------------------------------------------------------------------


def test_original_checkpoint_file_loads_like_the_native_layout(tmp_path):
    model = _tiny(return_encoder_output=True, n_outputs=None)
    native = {k: v for k, v in model.state_dict().items() if k != "ids"}
    original = {"net." + k.replace("embed.", "old_embed."): v for k, v in native.items()}
    original["net.predictor.weight"] = torch.ones(3)
    path = tmp_path / "authors.ckpt"
    torch.save({"state_dict": original, "epoch": 3}, path)
    loaded = TinyEncoder.from_pretrained(path)
    _state_equal(model, loaded)
    assert loaded.pretrained_source_["format"] == "original"
    x = _x()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    # overrides win over the inferred config; n_outputs gives a head
    assert TinyEncoder.from_pretrained(path, n_outputs=2).final_layer.out_features == 2
    # an already loaded dict works too
    _state_equal(model, TinyEncoder.from_pretrained({"state_dict": original}))


def test_bare_state_dict_file_without_config(tmp_path):
    model = _tiny(return_encoder_output=True, n_outputs=None)
    save_file(model.state_dict(), str(tmp_path / "weights.safetensors"))
    _state_equal(model, TinyEncoder.from_pretrained(tmp_path / "weights.safetensors"))


def test_unrecognised_file_raises_naming_it(tmp_path):
    path = tmp_path / "random.pt"
    torch.save({"alpha.weight": torch.ones(2), "beta.bias": torch.ones(2)}, path)
    with pytest.raises((ValueError, KeyError)) as err:
        TinyEncoder.from_pretrained(path)
    assert "random.pt" in str(err.value) or "embed.weight" in str(err.value)


# ----------------------------------------------------------------------------
# The Hugging Face cache, offline mode, push_to_hub
# ----------------------------------------------------------------------------


def test_repo_id_loads_from_a_hub_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = _tiny()
    saved = model.save_pretrained(tmp_path / "saved")
    cache = tmp_path / "cache"
    _fake_cache(cache, "someone/tiny", {n: saved / n for n in ("config.json", "model.safetensors")})
    loaded = TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache)
    _state_equal(model, loaded)
    assert loaded.pretrained_source_["repo_id"] == "someone/tiny"
    assert loaded.pretrained_source_["commit"] == COMMIT
    assert loaded.pretrained_source_["revision"] == "main"
    by_commit = TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache, revision=COMMIT)
    _state_equal(model, by_commit)


def test_hub_cache_with_only_pytorch_model_bin(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = _tiny()
    saved = model.save_pretrained(tmp_path / "saved")
    torch.save(model.state_dict(), saved / "pytorch_model.bin")
    cache = tmp_path / "cache"
    _fake_cache(cache, "someone/tiny", {n: saved / n for n in ("config.json", "pytorch_model.bin")})
    _state_equal(model, TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache))


def test_offline_uncached_raises_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "empty_cache"
    cache.mkdir()
    start = time.perf_counter()
    with pytest.raises(WeightsNotAvailableError) as err:
        TinyEncoder.from_pretrained("braindecode/eegpt-pretrained", cache_dir=cache)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert isinstance(err.value, OSError)
    assert str(cache) in message
    assert "huggingface-cli download braindecode/eegpt-pretrained" in message
    assert "local path" in message and "HF_HUB_OFFLINE" in message


def test_unreachable_hub_falls_back_to_the_cache_fast(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(_hub, "_endpoint_reachable", lambda endpoint: False)
    cache = tmp_path / "cache"
    cache.mkdir()
    start = time.perf_counter()
    with pytest.raises(WeightsNotAvailableError, match="cannot be reached"):
        TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache)
    assert time.perf_counter() - start < 5
    model = _tiny()
    saved = model.save_pretrained(tmp_path / "saved")
    _fake_cache(cache, "someone/tiny", {n: saved / n for n in ("config.json", "model.safetensors")})
    _state_equal(model, TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache))


def test_push_to_hub_creates_the_repo_and_uploads_the_saved_layout(monkeypatch):
    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, **kw):
            calls["create_repo"] = (repo_id, kw)

        def upload_folder(self, *, repo_id, folder_path, **kw):
            from pathlib import Path

            calls["files"] = sorted(p.name for p in Path(folder_path).iterdir())
            calls["upload"] = (repo_id, kw)
            return "commit-info"

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    out = _tiny().push_to_hub("me/tiny", token="tok", private=True)
    assert out == "commit-info"
    assert calls["token"] == "tok"
    assert calls["create_repo"] == ("me/tiny", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert calls["files"] == ["README.md", "config.json", "model.safetensors"]
    assert calls["upload"][0] == "me/tiny"
