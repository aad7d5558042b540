"""The package root and the light commands (``--help``, ``models``) import
neither PyTorch, scikit-learn nor MNE; the public names still resolve."""

import json
import subprocess
import sys

import pytest

import skeegfm

HEAVY = ("torch", "sklearn", "mne", "scipy", "pandas", "huggingface_hub", "safetensors")


def _loaded_after(code: str) -> list[str]:
    """Heavy top-level modules present in ``sys.modules`` after running ``code``
    in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_does_not_import_heavy_libraries():
    code = (
        "import skeegfm.cli\n"
        "try:\n"
        "    skeegfm.cli._build_parser().parse_args(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert _loaded_after(code) == []


def test_models_command_does_not_import_heavy_libraries():
    code = "import skeegfm.cli\nassert skeegfm.cli.main(['models']) == 0\n"
    assert _loaded_after(code) == []


def test_root_import_and_version_are_light():
    assert _loaded_after("import skeegfm\nassert skeegfm.__version__") == []
    assert _loaded_after("from skeegfm.models import EEGDINO_CONFIGS\nassert 'small' in EEGDINO_CONFIGS") == []


def test_lazy_names_resolve():
    from skeegfm import EEGPTEmbedder
    from skeegfm.embedders import EEGPTEmbedder as direct

    assert EEGPTEmbedder is direct
    for name in skeegfm.__all__:
        assert getattr(skeegfm, name) is not None
    assert set(skeegfm.__all__) <= set(dir(skeegfm))
    with pytest.raises(AttributeError, match="no attribute 'NotAnEstimator'"):
        skeegfm.NotAnEstimator  # noqa: B018
    from skeegfm import models

    assert set(models.__all__) <= set(dir(models))
    assert models.EEGPT.__name__ == "EEGPT"


def test_version_is_the_one_of_the_leaf_module():
    from skeegfm._version import __version__

    assert skeegfm.__version__ == __version__
