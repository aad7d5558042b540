"""Checkpoint records and loading, re-exported for the estimators, tests and users.

The records (:class:`ModelRecord`, :func:`get_record`, :func:`list_models`,
:func:`resolve_checkpoint`) live in :mod:`skeegfm.models._pretrained`, and
each encoder's records in its model file; this module re-exports them.
"""

from __future__ import annotations

from .models._pretrained import (
    ModelRecord,
    ResolvedCheckpoint,
    get_record,
    list_models,
    register_pretrained,
    resolve_checkpoint,
)

__all__ = [
    "ModelRecord",
    "ResolvedCheckpoint",
    "get_record",
    "list_models",
    "load_pretrained",
    "register_pretrained",
    "resolve_checkpoint",
]


#: Names that live in skeegfm.models._loading (which imports torch), re-exported
#: here on first access so that reading records stays light.
_LOADING_NAMES = ("load_pretrained", "_model_class", "_class_from_config", "_class_from_file")


def __getattr__(name):
    if name in _LOADING_NAMES:
        from .models import _loading

        return getattr(_loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
