"""Sphinx configuration of the skeegfm documentation.

The model table (``generated/models_table.inc``) is written from
:func:`skeegfm.list_models` at every build, so the documented input contracts
are the ones the code uses.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the build never downloads weights

import skeegfm  # noqa: E402

project = "skeegfm"
author = "skeegfm developers"
copyright = "2026, skeegfm developers"  # noqa: A001
release = skeegfm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.inc"]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
html_theme = "alabaster"
html_theme_options = {
    "description": "scikit-learn estimators around EEG foundation models",
    "fixed_sidebar": True,
}
html_static_path = []


def _cell(text):
    return str(text).replace("\n", " ").replace("|", "/")


def write_models_table(path=HERE / "generated" / "models_table.inc"):
    """Write the input contract of every released checkpoint as RST."""
    records = skeegfm.list_models()
    lines = [
        ".. list-table:: Released checkpoints and their input contracts "
        "(generated from ``skeegfm.list_models()``)",
        "   :header-rows: 1",
        "   :widths: 12 22 8 8 12 10 14 8 10",
        "",
        "   * - name",
        "     - Hub id",
        "     - rate (Hz)",
        "     - patch (samples)",
        "     - unit",
        "     - reference",
        "     - channels",
        "     - embedding size",
        "     - encoder parameters",
    ]
    for r in records:
        lines += [
            f"   * - ``{r.name}``",
            f"     - ``{r.hub_id}``",
            f"     - {r.sfreq:g}",
            f"     - {r.patch_size}",
            f"     - {_cell(r.unit)}",
            f"     - {_cell(r.reference)}",
            f"     - {len(r.ch_names)}, {_cell(r.channel_matching)}",
            f"     - {r.emb_dim}",
            f"     - {r.n_params:,}",
        ]
    lines.append("")
    for r in records:
        title = f"``{r.name}``"
        lines += [
            title,
            "~" * len(title),
            "",
            f"- **Architecture**: :class:`skeegfm.models.{r.model}`, {_cell(r.paper)}",
            f"- **Weights**: `{r.hub_id} <https://huggingface.co/{r.hub_id}>`__; licence: "
            f"{_cell(r.licence)}",
            f"- **Sampling rate**: {r.sfreq:g} Hz (inputs are resampled to it)",
            f"- **Window**: at least {r.min_n_times} samples ({r.min_n_times / r.sfreq:g} s); "
            f"patches of {r.patch_size} samples ({r.patch_size / r.sfreq:g} s)",
            f"- **Unit**: {_cell(r.unit)} (factor {r.scale_from_volts:g} from volts)",
            f"- **Reference**: {_cell(r.reference)}",
            f"- **Channels** ({len(r.ch_names)}, matched {_cell(r.channel_matching)}): "
            + ", ".join(r.ch_names),
            "- **Sources**:",
            "",
        ]
        for key, source in r.sources.items():
            lines.append(f"  - {key}: {_cell(source)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


write_models_table()


# In numpydoc type fields such as ``shape (n_features_in_,)``, a word ending in
# an underscore would be read as an RST link target; escape it there.
_TRAILING_UNDERSCORE = re.compile(r"(?<=[\s(])([A-Za-z]\w*)_(?=[,)])")


def _escape_trailing_underscores(app, what, name, obj, options, lines):
    lines[:] = [_TRAILING_UNDERSCORE.sub(r"\1\\_", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _escape_trailing_underscores, priority=100)
