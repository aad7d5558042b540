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
