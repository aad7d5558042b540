"""PyTorch encoders: EEG-DINO, EEGPT, CodeBrain and CBraMod (no scikit-learn or MNE here).

The names below are imported on first access (:pep:`562`), so that the
plain-Python submodules (``_pretrained``: the record type and registry;
``_vocabulary``: channel names) can be read without importing torch.
"""

from __future__ import annotations

import importlib

#: Encoder class name -> the model file that defines it (and registers its
#: pretrained records). Adding an encoder adds one line here.
_ENCODER_MODULES = {
    "EEGDINO": ".eegdino",
    "EEGPT": ".eegpt",
    "CodeBrain": ".codebrain",
    "CBraMod": ".cbramod",
}


def _encoder_class(name: str):
    """The encoder class called ``name`` (a key of ``_ENCODER_MODULES``)."""
    if name not in _ENCODER_MODULES:
        raise ValueError(f"model must be one of {sorted(_ENCODER_MODULES)}, got {name!r}.")
    return getattr(importlib.import_module(_ENCODER_MODULES[name], __name__), name)


def _encoder_classes() -> dict:
    """All encoder classes, by name (imports every model file)."""
    return {name: _encoder_class(name) for name in _ENCODER_MODULES}


# public name -> submodule that defines it: each encoder class and its
# converter of the authors' checkpoints come from ``_ENCODER_MODULES``.
_LAZY = {
    "UntrustedCheckpointError": "._loading",
    "WeightsNotAvailableError": "._loading",
    "EEGDINO_CONFIGS": ".eegdino",
}
for _name, _module in _ENCODER_MODULES.items():
    _LAZY[_name] = _module
    _LAZY[f"convert_{_name.lower()}_checkpoint"] = _module
del _name, _module

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
