"""skeegfm: scikit-learn estimators around EEG foundation models.

Frozen-embedding transformers and fine-tuning classifiers for EEG-DINO,
EEGPT, CodeBrain and CBraMod, taking ``mne.Epochs`` or arrays.

The estimators are imported on first access (:pep:`562`), so that
``import skeegfm`` and the ``skeegfm --help`` command do not load PyTorch,
scikit-learn or MNE; ``from skeegfm import EEGPTEmbedder`` works as usual.
"""

from __future__ import annotations

import importlib

from ._version import __version__

from .models import _ENCODER_MODULES  # plain data: no torch import

# public name -> submodule that defines it: one embedder and one classifier
# per encoder of ``skeegfm.models._ENCODER_MODULES``.
_LAZY = {"list_models": ".models._pretrained"}
for _name in _ENCODER_MODULES:
    _LAZY[f"{_name}Classifier"] = ".classifiers"
    _LAZY[f"{_name}Embedder"] = ".embedders"
del _name

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
