"""The package root and ``skeegfm --help`` import neither PyTorch, scikit-learn
nor MNE; ``skeegfm models`` imports PyTorch (the records live in the model
files, as in timm) but not scikit-learn or MNE; the public names still resolve."""

import json
import subprocess
import sys

import pytest

import skeegfm

HEAVY = ("torch", "sklearn", "mne", "scipy", "pandas", "huggingface_hub", "safetensors")
#: What the model files may import: PyTorch and the Hub libraries, nothing of the layers above.
ABOVE_MODELS = ("sklearn", "mne", "scipy", "pandas")


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


def test_models_command_imports_only_the_model_layer():
    code = "import skeegfm.cli\nassert skeegfm.cli.main(['models']) == 0\n"
    assert not set(_loaded_after(code)) & set(ABOVE_MODELS)
    code = "import skeegfm\nassert len(skeegfm.list_models()) == 5\n"
    assert not set(_loaded_after(code)) & set(ABOVE_MODELS)


def test_root_import_and_version_are_light():
    assert _loaded_after("import skeegfm\nassert skeegfm.__version__") == []
    loaded = _loaded_after("from skeegfm.models import EEGDINO_CONFIGS\nassert 'small' in EEGDINO_CONFIGS")
    assert not set(loaded) & set(ABOVE_MODELS)


def test_record_type_and_channel_rules_are_plain_python():
    """The record type, the registry functions and the channel-name rules load
    without PyTorch; only asking for the records imports the model files."""
    code = (
        "from skeegfm.models._pretrained import ModelRecord, get_record, register_pretrained\n"
        "from skeegfm.models._vocabulary import TUEG_19_CHANNELS, match_ch_name\n"
        "from skeegfm._channels import normalize_ch_name, option_style\n"
        "assert normalize_ch_name('T3', TUEG_19_CHANNELS) == 'T7'\n"
    )
    assert _loaded_after(code) == []


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
