"""Import layering: ``skeegfm.models`` imports nothing outside ``skeegfm.models``.

The encoders (module, records, loading hooks) sit at the bottom of the package:
torch, safetensors, huggingface_hub, numpy and scipy only. Every import
statement of every ``skeegfm/models/*.py`` is read with :mod:`ast`, those
inside functions included (a lazy import is still a dependency), so an import
from a higher layer fails here before it makes an import circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import skeegfm

PACKAGE = Path(skeegfm.__file__).parent
MODELS = PACKAGE / "models"
#: Libraries that belong to the layers above (estimators, data, reports).
FORBIDDEN_LIBRARIES = ("sklearn", "mne", "pandas", "matplotlib", "moabb", "dask", "zarr")


def _imports(path: Path):
    """``(line, absolute module name)`` of every import in ``path``; relative
    imports are resolved against the file's package (``skeegfm.models``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module
                continue
            base = "skeegfm.models".split(".")
            base = base[: len(base) - (node.level - 1)]  # level 1: this package
            module = ".".join(base + ([node.module] if node.module else []))
            if not node.module:  # "from . import x" / "from .. import x": x may be a module
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"
            else:
                yield node.lineno, module


def _violations():
    found = set()
    for path in sorted(MODELS.glob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top == "skeegfm" and not (module == "skeegfm.models" or module.startswith("skeegfm.models.")):
                found.add((path.name, module))
            elif top in FORBIDDEN_LIBRARIES:
                found.add((path.name, module))
    return found


#: Imports still pending a move into models/; remove each entry when it lands.
PENDING: set = set()


def test_models_import_nothing_outside_models():
    unexpected = sorted(_violations() - PENDING)
    assert unexpected == [], (
        "skeegfm/models/ must import only skeegfm.models (and torch, safetensors, huggingface_hub, "
        f"numpy, scipy); found: {unexpected}"
    )


def test_pending_exceptions_are_still_needed():
    """An entry of PENDING that no longer occurs must be removed from it."""
    assert PENDING <= _violations()


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from .._channels import X", "skeegfm._channels"),
        ("from .. import _version", "skeegfm._version"),
        ("from ._hub import HubMixin", "skeegfm.models._hub"),
        ("from . import _encoder_class", "skeegfm.models._encoder_class"),
        ("def f():\n    import skeegfm._base", "skeegfm._base"),
        ("import sklearn.base", "sklearn.base"),
    ],
)
def test_the_reader_resolves_relative_and_lazy_imports(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert [module for _, module in _imports(path)] == [expected]
