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

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from skeegfm.models import _loading
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
    assert _loading._merge_config(TinyEncoder, saved, {"n_times": 800})["n_times"] == 800
    merged = _loading._merge_config(TinyEncoder, saved, {"input_window_seconds": 4, "sfreq": 200})
    assert merged.get("n_times") is None  # inferred as 800 by the constructor
    assert resolve_signal_params(**{k: merged.get(k) for k in _loading._TIME_PARAMS})["n_times"] == 800
    saved = {"n_times": 1000, "sfreq": 250, "input_window_seconds": None}
    merged = _loading._merge_config(TinyEncoder, saved, {"sfreq": 256})
    assert (merged["n_times"], merged["sfreq"]) == (1000, 256)
    merged = _loading._merge_config(TinyEncoder, saved, {"input_window_seconds": 4.2})
    assert merged["sfreq"] == 250 and merged.get("n_times") is None  # n_times re-derived: 1050


def test_merge_rules_for_channels():
    chs = [{"ch_name": f"C{i}"} for i in range(6)]
    saved = {"n_chans": 6, "chs_info": chs}
    new = [{"ch_name": "A"}, {"ch_name": "B"}]
    assert "n_chans" not in _loading._merge_config(TinyEncoder, saved, {"chs_info": new})
    with pytest.warns(UserWarning, match="chs_info"):
        merged = _loading._merge_config(TinyEncoder, saved, {"n_chans": 2})
    assert merged["chs_info"] is None
    assert _loading._merge_config(TinyEncoder, saved, {"n_chans": 6})["chs_info"] == chs


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


def test_offline_uncached_raises_fast_with_instructions(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "empty_cache"
    cache.mkdir()
    with pytest.raises(WeightsNotAvailableError) as err:
        TinyEncoder.from_pretrained("braindecode/eegpt-pretrained", cache_dir=cache)
    assert no_network == []  # fails at once: no connection tried
    message = str(err.value)
    assert isinstance(err.value, OSError)
    assert str(cache) in message
    assert "huggingface-cli download braindecode/eegpt-pretrained" in message
    assert "local path" in message and "HF_HUB_OFFLINE" in message


def test_unreachable_hub_falls_back_to_the_cache_fast(tmp_path, monkeypatch, no_network):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(WeightsNotAvailableError, match="cannot be reached"):
        TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache)  # no_network refuses the download
    no_network.clear()  # not cached: the download was tried (or refused by huggingface_hub itself)
    model = _tiny()
    saved = model.save_pretrained(tmp_path / "saved")
    _fake_cache(cache, "someone/tiny", {n: saved / n for n in ("config.json", "model.safetensors")})
    _state_equal(model, TinyEncoder.from_pretrained("someone/tiny", cache_dir=cache))
    assert no_network == []  # cached: the cache comes first, no connection tried


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


# ============================================================================
# The three encoders: Hub-layout repositories from the reconstructed configs
# (tests/fixtures/hub_configs/) with fill-rule weights (tests/_weights.py)
# ============================================================================

from _weights import FIXTURES, fill_state_dict  # noqa: E402

from skeegfm._channels import STANDARD_19_CHANNELS, eegpt_channel_ids  # noqa: E402
from skeegfm._registry import load_pretrained  # noqa: E402
from skeegfm.models import EEGDINO, EEGDINO_CONFIGS, EEGPT  # noqa: E402

HUB_CONFIGS = FIXTURES / "hub_configs"

#: Edits that shrink the released architectures for speed (widths, and so
#: every tensor shape but the depth-indexed ones, stay as released).
SHRINK = {
    "eegdino-small-pretrained": {},  # full size (4.4 M parameters)
    "eegpt-pretrained": {"depth": 2},  # released: 8
    "codebrain-19ch-6000": {"num_res_layers": 2, "n_chans": 4, "n_times": 400},  # 8, 19, 6000
}


def _codebrain_class():
    return pytest.importorskip("skeegfm.models.codebrain").CodeBrain


def _reference(name, cls, **fix):
    """(config as saved on the Hub, reference model with fill-rule weights)."""
    config = json.loads((HUB_CONFIGS / f"{name}.config.json").read_text())
    config.update(SHRINK[name])
    kwargs = _loading._decode_config(cls, config)  # type paths -> classes, lists -> tuples
    kwargs.update(fix)
    torch.manual_seed(0)
    model = cls(**kwargs).eval()
    if cls.__name__ == "CodeBrain":
        with torch.no_grad():  # kernel_norm is computed on the first forward
            model(torch.zeros(1, model.n_chans, model.n_times))
    model.load_state_dict(fill_state_dict(model))
    return config, model


def _write_repo(directory, config, state_dict):
    """A directory in the layout of the braindecode Hub repositories."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in state_dict.items()}, str(directory / "model.safetensors"))
    return directory


@pytest.fixture(scope="module")
def dino_repo(tmp_path_factory):
    config, model = _reference("eegdino-small-pretrained", EEGDINO)
    return _write_repo(tmp_path_factory.mktemp("eegdino"), config, model.state_dict()), model


@pytest.fixture(scope="module")
def eegpt_repo(tmp_path_factory):
    # the uploaded EEGPT predates chan_proj_type: the reference is built with "none"
    config, model = _reference("eegpt-pretrained", EEGPT, chan_proj_type="none")
    assert "chan_proj_type" not in config and model.chans_id.shape == (1, 62)
    return _write_repo(tmp_path_factory.mktemp("eegpt"), config, model.state_dict()), model


@pytest.fixture(scope="module")
def codebrain_repo(tmp_path_factory):
    config, model = _reference("codebrain-19ch-6000", _codebrain_class())
    return _write_repo(tmp_path_factory.mktemp("codebrain"), config, model.state_dict()), model


def _signal(model, batch=1, n_times=None):
    """Input for ``model``; EEG-DINO takes any length, so it gets a short one."""
    g = torch.Generator().manual_seed(3)
    if n_times is None:
        n_times = 400 if isinstance(model, EEGDINO) else model.n_times
    return torch.randn(batch, model.n_chans, n_times, generator=g)


def _same_outputs(a, b, x, **kw):
    with torch.no_grad():
        out_a, out_b = a(x, **kw), b(x, **kw)
    if isinstance(out_a, dict):
        for key in out_a:
            if out_a[key] is not None:
                torch.testing.assert_close(out_a[key], out_b[key], rtol=0, atol=0)
    else:
        torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)


def _encoder_state(model, exclude=("final_layer.",)):
    return {k: v for k, v in model.state_dict().items() if not k.startswith(exclude)}


# ---------------------------------------------------------------- EEG-DINO


def test_eegdino_hub_repo_reproduces_outputs(dino_repo):
    repo, ref = dino_repo
    model = EEGDINO.from_pretrained(repo)
    assert model.pretrained_source_["n_tensors"] == len(ref.state_dict())
    x = _signal(ref)
    _same_outputs(model, ref, x)
    _same_outputs(model, ref, x, return_features=True)
    # the common overrides: a new window, fewer channels, a new head
    model = EEGDINO.from_pretrained(repo, n_times=800, n_chans=8, n_outputs=6)
    assert (model.n_times, model.n_chans, model.n_outputs) == (800, 8, 6)
    assert model.final_layer.classifier[6].out_features == 6 and not model.return_encoder_output
    for key, value in _encoder_state(ref).items():
        assert torch.equal(model.state_dict()[key], value), key
    with torch.no_grad():
        assert model(x[:, :8]).shape == (1, 6)


def test_eegdino_save_pretrained_round_trip_bit_exact(dino_repo, tmp_path):
    repo, ref = dino_repo
    model = EEGDINO.from_pretrained(repo, n_outputs=3)
    model.save_pretrained(tmp_path)
    again = EEGDINO.from_pretrained(tmp_path)
    _state_equal(model, again)
    assert again.n_outputs == 3
    _same_outputs(model, again, _signal(ref))


def test_eegdino_original_checkpoint_loads_like_the_hub_layout(dino_repo, tmp_path):
    repo, ref = dino_repo
    encoder = _encoder_state(ref)
    original = {f"module.teacher.{k}": v for k, v in encoder.items()}
    original.update({f"module.student.{k}": v + 1 for k, v in encoder.items()})  # not the teacher
    original["module.mask_projector.weight"] = torch.ones(4, 4)
    original["module.teacher.encoder_layers.0.attn.relative_position_index"] = torch.zeros(3, dtype=torch.long)
    path = tmp_path / "model_EEG_DINO_S.pt"
    torch.save({"state_dict": original, "epoch": 7}, path)
    model = EEGDINO.from_pretrained(path)  # small preset inferred, encoder only
    assert model.pretrained_source_["format"] == "original"
    assert model.return_encoder_output and model._hub_config["n_layer"] == 12
    native = EEGDINO.from_pretrained(repo, return_encoder_output=True)
    _same_outputs(model, native, _signal(ref))
    with_head = EEGDINO.from_pretrained(path, n_outputs=4, n_times=800)
    assert with_head.n_outputs == 4 and with_head.n_times == 800 and not with_head.return_encoder_output
    assert load_pretrained(path)._hub_config == model._hub_config  # the class is recognised


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_eegdino_preset_is_inferred_from_shapes(size):
    with torch.device("meta"):
        model = EEGDINO(n_chans=19, n_times=200, return_encoder_output=True, **EEGDINO_CONFIGS[size])
    config = EEGDINO._config_from_state_dict(model.state_dict())
    for key, value in EEGDINO_CONFIGS[size].items():
        assert config[key] == value, key


def test_eegdino_missing_and_extra_tensors(dino_repo, tmp_path):
    repo, _ = dino_repo
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((repo / name).read_bytes())
    _rewrite_weights(tmp_path, lambda sd: sd.pop("encoder_layers.3.attn.q_bias"))
    with pytest.raises(ValueError, match=r"encoder_layers\.3\.attn\.q_bias"):
        EEGDINO.from_pretrained(tmp_path)
    _rewrite_weights(tmp_path, lambda sd: sd.update({"encoder_layers.3.attn.q_bias": torch.zeros(200), "mask_projector.weight": torch.ones(2)}))
    EEGDINO.from_pretrained(tmp_path)  # pretraining-only: dropped
    _rewrite_weights(tmp_path, lambda sd: sd.update({"encoder_layers.12.norm1.weight": torch.ones(200)}))
    with pytest.raises(ValueError, match=r"encoder_layers\.12\.norm1\.weight"):
        EEGDINO.from_pretrained(tmp_path)


def test_eegdino_repo_id_through_a_hub_cache(dino_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo, ref = dino_repo
    cache = tmp_path / "hub"
    _fake_cache(cache, "braindecode/eegdino-small-pretrained", {n: repo / n for n in ("config.json", "model.safetensors")})
    model = load_pretrained("eegdino-small", cache_dir=cache)  # registry name -> Hub id
    assert isinstance(model, EEGDINO)
    assert model.pretrained_source_ == {
        "repo_id": "braindecode/eegdino-small-pretrained",
        "revision": "main",
        "commit": COMMIT,
        "format": "hub",
        "n_tensors": len(ref.state_dict()),
    }
    _same_outputs(model, ref, _signal(ref))


# ------------------------------------------------------------------- EEGPT


def test_eegpt_reconstructed_config_loads_as_chan_proj_none(eegpt_repo):
    repo, ref = eegpt_repo
    model = EEGPT.from_pretrained(repo)
    assert model.chan_proj_type == "none" and model._hub_config["chan_proj_type"] == "none"
    assert model.return_encoder_output and torch.equal(model.chans_id, torch.arange(62)[None])
    _same_outputs(model, ref, _signal(ref))
    assert isinstance(load_pretrained(repo), EEGPT)  # class told from the config's keys


def test_eegpt_new_montage_and_head(eegpt_repo):
    repo, ref = eegpt_repo
    chs = [{"ch_name": n} for n in STANDARD_19_CHANNELS]
    model = EEGPT.from_pretrained(repo, chs_info=chs, n_times=1024, sfreq=256)
    assert model.n_chans == 19 and model.n_times == 1024 and model.sfreq == 256
    assert model.chans_id.tolist() == [eegpt_channel_ids(STANDARD_19_CHANNELS)]
    for key, value in _encoder_state(ref, ("final_layer.", "chans_id")).items():
        assert torch.equal(model.state_dict()[key], value), key
    # another channel projection than saved: the encoder still loads, chan_proj is fresh
    with pytest.warns(UserWarning, match="chs_info"):
        projected = EEGPT.from_pretrained(repo, n_chans=22, chan_proj_type="conv1d_constraint")
    assert projected.chans_id.shape == (1, 19) and projected.n_chans == 22
    # a head: reset_head, and the model becomes a classifier
    clf = EEGPT.from_pretrained(repo, n_outputs=4)
    assert not clf.return_encoder_output and clf.get_config()["return_encoder_output"] is False
    with torch.no_grad():
        assert clf(_signal(ref)).shape == (1, 4)


def test_a_repo_of_another_model_is_refused(eegpt_repo):
    repo, _ = eegpt_repo
    with pytest.raises(ValueError, match="is not a config of EEGDINO"):
        EEGDINO.from_pretrained(repo)


def test_eegpt_stored_chans_id_is_not_trusted(eegpt_repo, tmp_path):
    repo, ref = eegpt_repo
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((repo / name).read_bytes())
    _rewrite_weights(tmp_path, lambda sd: sd.update({"chans_id": torch.zeros(1, 7, dtype=torch.long)}))
    model = EEGPT.from_pretrained(tmp_path)
    assert torch.equal(model.chans_id, torch.arange(62)[None])


def test_eegpt_original_checkpoint_loads_like_the_hub_layout(eegpt_repo, tmp_path):
    repo, ref = eegpt_repo
    target = _encoder_state(ref, ("final_layer.", "chans_id"))
    state = dict(target)
    state.update({"encoder." + k[len("target_encoder."):]: v + 1 for k, v in target.items()})
    state["predictor.mask_token"] = torch.zeros(1, 1, 512)
    state["reconstructor.time_embed"] = torch.zeros(3, 512)
    path = tmp_path / "eegpt_mcae_58chs_4s_large4E.ckpt"
    torch.save({"state_dict": state, "epoch": 200, "hyper_parameters": {"lr": 1e-3}}, path)
    model = EEGPT.from_pretrained(path, n_times=1000, sfreq=250)  # the Hub repo's geometry
    assert model.pretrained_source_["format"] == "original"
    assert model._hub_config["depth"] == 2 and model.chan_proj_type == "none"
    _same_outputs(model, EEGPT.from_pretrained(repo), _signal(ref))
    default = EEGPT.from_pretrained(path)
    assert (default.n_chans, default.n_times, default.sfreq) == (62, 1024, 256.0)
    assert isinstance(load_pretrained(path), EEGPT)


# --------------------------------------------------------------- CodeBrain


def test_codebrain_hub_repo_reproduces_outputs(codebrain_repo, tmp_path):
    repo, ref = codebrain_repo
    CodeBrain = type(ref)
    model = CodeBrain.from_pretrained(repo)
    x = _signal(ref)
    _same_outputs(model, ref, x)
    _same_outputs(model, ref, x, return_features=True)
    model.save_pretrained(tmp_path)
    _state_equal(model, CodeBrain.from_pretrained(tmp_path))
    assert isinstance(load_pretrained(repo), CodeBrain)
    # a new head, and a new geometry (the saved head no longer fits: fresh)
    clf = CodeBrain.from_pretrained(repo, n_outputs=5)
    with torch.no_grad():
        assert clf(x).shape == (1, 5)
    longer = CodeBrain.from_pretrained(repo, n_times=600)
    assert longer.n_times == 600
    for key, value in _encoder_state(ref).items():
        assert torch.equal(longer.state_dict()[key], value), key


def _codebrain_original_name(key):
    """Our key -> the authors' name (the reference's CodeBrain renames, inverted)."""
    key = key.replace(".sgconv.", ".S41.").replace(".rms_norm.", ".sn.")
    key = key.replace(".parametrizations.weight.original0", ".weight_g")
    key = key.replace(".parametrizations.weight.original1", ".weight_v")
    if key.endswith(".skip_weight"):
        key = key[: -len(".skip_weight")] + ".D"
    if ".kernel_list." in key:
        key += ".kernel"
    return "module." + key


def test_codebrain_original_checkpoint_loads_like_the_hub_layout(codebrain_repo, tmp_path):
    repo, ref = codebrain_repo
    CodeBrain = type(ref)
    original = {_codebrain_original_name(k): v for k, v in _encoder_state(ref).items()}
    assert any(".S41." in k for k in original) and any(k.endswith(".weight_v") for k in original)
    path = tmp_path / "CodeBrain.pth"
    torch.save(original, path)
    model = CodeBrain.from_pretrained(path, n_chans=4, n_times=400)
    assert model.pretrained_source_["format"] == "original"
    assert model._hub_config["num_res_layers"] == 2 and model.return_encoder_output
    _same_outputs(model, ref, _signal(ref), return_features=True)
    assert isinstance(load_pretrained(path, n_chans=4, n_times=400), CodeBrain)


# ----------------------------------------------------------------------------
# huggingface_hub's ModelHubMixin hook (what braindecode's model tests call)
# ----------------------------------------------------------------------------


def test_save_pretrained_hook_writes_our_version_key_and_reloads(tmp_path):
    import inspect

    from skeegfm._version import __version__
    from skeegfm.models import EEGPT

    model = EEGPT(n_chans=3, n_times=256, n_outputs=2, embed_dim=16, depth=1, num_heads=2, embed_num=2,
                  chs_info=[{"ch_name": n} for n in ("FP1", "FZ", "CZ")], chan_proj_type="none")
    model._save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors"}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["skeegfm_version"] == __version__ and config["skeegfm_class"] == "EEGPT"
    assert "braindecode_version" not in config  # we write our own key, never braindecode's
    # everything else is a constructor argument, which a reader keyed on the signature can pass on
    params = set(inspect.signature(EEGPT.__init__).parameters) - {"self"}
    assert set(config) - {"skeegfm_version", "skeegfm_class"} == params
    loaded = EEGPT.from_pretrained(tmp_path)
    _state_equal(model, loaded)


# ----------------------------------------------------------------------------
# The mixin is huggingface_hub's PyTorchModelHubMixin (coders, hooks)
# ----------------------------------------------------------------------------

from huggingface_hub import PyTorchModelHubMixin  # noqa: E402

from skeegfm.models import _encoder_classes  # noqa: E402


def test_every_encoder_is_a_pytorch_model_hub_mixin():
    assert issubclass(HubMixin, PyTorchModelHubMixin)
    for name, cls in {"TinyEncoder": TinyEncoder, **_encoder_classes()}.items():
        assert issubclass(cls, PyTorchModelHubMixin), name
        # the coders are declared on every class (the mixin resets them per subclass otherwise)
        assert {type, tuple}.issubset(cls._hub_mixin_coders), name
        assert cls._hub_mixin_info.model_card_data.library_name == "skeegfm"


def test_mixin_config_follows_the_constructor_record():
    model = _tiny()
    assert model._hub_mixin_config == {
        **model.get_config(), "skeegfm_version": model._hub_mixin_config["skeegfm_version"],
        "skeegfm_class": "TinyEncoder",
    }
    model.reset_head(5)  # the record changes: so does what the mixin would write
    assert model._hub_mixin_config["n_outputs"] == 5
    encoder, decoder = TinyEncoder._hub_mixin_coders[tuple]
    assert encoder(((1, 2), (3, (4, 5)))) == [[1, 2], [3, [4, 5]]]
    assert decoder([[1, 2], [3, [4, 5]]]) == ((1, 2), (3, (4, 5)))
    encoder, decoder = TinyEncoder._hub_mixin_coders[type]
    assert decoder(encoder(nn.GELU)) is nn.GELU


def test_save_and_from_pretrained_hooks_round_trip(tmp_path, monkeypatch):
    model = _tiny()
    model._save_pretrained(tmp_path / "saved")  # the hook writes into an existing directory
    hooks = dict(revision=None, cache_dir=None, force_download=False, local_files_only=False, token=None)
    loaded = TinyEncoder._from_pretrained(model_id=str(tmp_path / "saved"), **hooks)
    _state_equal(model, loaded)
    assert loaded._hub_config == model._hub_config and not loaded.training
    # constructor arguments passed to the hook win over the saved config
    head = TinyEncoder._from_pretrained(model_id=str(tmp_path / "saved"), n_outputs=5, **hooks)
    assert head.final_layer.out_features == 5
    # a Hub id through the hook, from the cache (offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "cache"
    _fake_cache(cache, "someone/tiny", {n: tmp_path / "saved" / n for n in ("config.json", "model.safetensors")})
    _state_equal(model, TinyEncoder._from_pretrained(model_id="someone/tiny", **dict(hooks, cache_dir=cache)))


def test_the_mixins_own_from_pretrained_reaches_our_loader(tmp_path):
    """huggingface_hub's ModelHubMixin.from_pretrained (config read by the mixin,
    its values copied into the keyword arguments) ends in our strict loader."""
    model = _tiny(kernel=(1, 5))
    model.save_pretrained(tmp_path)
    loaded = PyTorchModelHubMixin.from_pretrained.__func__(TinyEncoder, tmp_path)
    _state_equal(model, loaded)
    assert loaded._hub_config == model._hub_config  # the saved config, decoded by ours
    assert loaded.pretrained_source_["format"] == "hub"
    head = PyTorchModelHubMixin.from_pretrained.__func__(TinyEncoder, tmp_path, n_outputs=5)
    assert head.final_layer.out_features == 5


def test_save_pretrained_writes_card_config_and_weights(tmp_path):
    model = _tiny()
    assert model.save_pretrained(tmp_path / "a") == tmp_path / "a"
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"README.md", "config.json", "model.safetensors"}
    card = (tmp_path / "a" / "README.md").read_text()
    assert "library_name: skeegfm" in card and "TinyEncoder" in card
    model.save_pretrained(tmp_path / "b", model_card=False)
    assert {p.name for p in (tmp_path / "b").iterdir()} == {"config.json", "model.safetensors"}
    with pytest.raises(TypeError, match="config= is not accepted"):
        model.save_pretrained(tmp_path / "c", config={"width": 3})


def _braindecode_repo(model, directory):
    """What braindecode's save_pretrained writes for ``model``: every constructor
    argument, ``braindecode_version`` instead of our keys, model.safetensors."""
    from safetensors.torch import save_model

    directory.mkdir(parents=True)
    config = dict(model.get_config(), braindecode_version="1.8.1")
    (directory / "config.json").write_text(json.dumps(config, sort_keys=True, indent=2))
    save_model(model, str(directory / "model.safetensors"))
    return directory


@pytest.mark.parametrize("family", ["eegdino", "eegpt", "codebrain", "cbramod"])
def test_a_config_written_by_the_reference_loads(family, tmp_path):
    from _tiny import build_tiny

    model = build_tiny(family).eval()
    repo = _braindecode_repo(model, tmp_path / family)
    assert "skeegfm_class" not in json.loads((repo / "config.json").read_text())
    loaded = type(model).from_pretrained(repo)
    _state_equal(model, loaded)
    assert loaded._hub_config == model._hub_config
    assert type(load_pretrained(repo)) is type(model)  # the class is recognised from the keys


def test_private_class_names_in_a_config_come_back_as_classes(monkeypatch):
    # get_config writes a class as its dotted path; a class whose name starts
    # with an underscore (a private head class) must be imported back, not
    # passed on as a string.
    from torch import nn

    from skeegfm.models import _layers
    from skeegfm.models._loading import _decode_value

    class _PrivateHead(nn.Linear):
        pass

    monkeypatch.setattr(_layers, "_PrivateHead", _PrivateHead, raising=False)
    value = "skeegfm.models._layers._PrivateHead"
    assert _decode_value("final_layer", value, None) is _PrivateHead
    assert _decode_value("note", "skeegfm.models._layers.lowercase_text", None) == (
        "skeegfm.models._layers.lowercase_text"
    )
