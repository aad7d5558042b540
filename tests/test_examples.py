"""Every script of examples/ runs, in small mode, with tiny local checkpoints."""

import runpy
import sys
from pathlib import Path

import pytest
from _tiny import save_tiny

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.fixture(scope="module")
def tiny_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-examples")
    return {
        "SKEEGFM_EXAMPLE_SMALL": "1",
        "SKEEGFM_EXAMPLE_EEGDINO": str(save_tiny("eegdino", root / "eegdino")),
        "SKEEGFM_EXAMPLE_EEGPT": str(save_tiny("eegpt", root / "eegpt")),
        "SKEEGFM_EXAMPLE_CODEBRAIN": str(save_tiny("codebrain", root / "codebrain")),
        "SKEEGFM_EXAMPLE_CBRAMOD": str(save_tiny("cbramod", root / "cbramod")),
    }


def test_examples_found():
    names = {path.stem for path in EXAMPLES}
    assert {"linear_probe", "grid_search_cache", "compare_encoders", "embed_edf"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tiny_env, monkeypatch, capsys):
    for name, value in tiny_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", [str(path)])
    monkeypatch.chdir(path.parent)
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip(), f"{path.name} printed nothing"
    if "balanced accuracy" in out:
        assert "nan" not in out


@pytest.mark.parametrize("value", [None, "random"])
def test_example_runs_offline_without_weights(value, tmp_path, monkeypatch, capsys):
    """No weights, no network: the example says so and runs with random weights;
    SKEEGFM_EXAMPLE_EEGPT=random asks for random weights directly (not a Hub id)."""
    from huggingface_hub import constants

    from skeegfm._cache import clear_encoder_cache

    clear_encoder_cache()
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SKEEGFM_EXAMPLE_SMALL", "1")
    if value is None:
        monkeypatch.delenv("SKEEGFM_EXAMPLE_EEGPT", raising=False)
    else:
        monkeypatch.setenv("SKEEGFM_EXAMPLE_EEGPT", value)
    path = Path(__file__).parents[1] / "examples" / "embed_edf.py"
    monkeypatch.setattr(sys, "argv", [str(path)])
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        clear_encoder_cache()
    out = capsys.readouterr().out
    assert "random_init" in out  # the weights line of the example
    if value is None:
        assert "RANDOM weights" in out and "checkpoint=None" in out and "download" in out
    else:
        assert "NOTE" not in out
