"""Warnings said once per estimator configuration, not once per fit.

Cross-validation (scikit-learn, MOABB) clones an estimator and fits it in
every fold, so a warning about the data or the weights (random weights, a
trimmed window, dropped channels) would be repeated tens of times with the
same text. Python's own once-per-location rule does not help: every
:class:`warnings.catch_warnings` block, which scikit-learn and MOABB enter
often, resets it. :func:`once_per_params` keeps a process-wide registry
instead, keyed by the estimator's class, its parameters (a clone has the same
ones) and the warning's category and text: the first occurrence goes through
the warning filters as usual, identical ones after it are not said again.
:func:`reset` empties the registry (the test suite does so before each test).
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings

__all__ = ["once_per_params", "reset"]

_SEEN: set = set()
_LOCK = threading.Lock()
_MAX_ENTRIES = 10_000  # bounds memory if messages vary without end
_STATE = threading.local()  # depth of decorated calls in this thread


def reset() -> None:
    """Forget the warnings already said (each is said again once)."""
    with _LOCK:
        _SEEN.clear()


def _params_key(estimator) -> str:
    try:
        params = estimator.get_params(deep=False)
    except Exception:  # noqa: BLE001 - a half-built estimator: key by identity
        return f"{type(estimator).__qualname__}@{id(estimator)}"
    return type(estimator).__qualname__ + repr(sorted(params.items(), key=lambda kv: kv[0]))


def _say_once(estimator, records, caller=None) -> None:
    if not records:
        return
    key = _params_key(estimator)
    for record in records:
        entry = (key, record.category.__qualname__, str(record.message))
        with _LOCK:
            if entry in _SEEN:
                continue
            if len(_SEEN) >= _MAX_ENTRIES:
                _SEEN.clear()
            _SEEN.add(entry)
        filename, lineno = record.filename, record.lineno
        if caller is not None and filename == __file__:
            # A stacklevel that counted the wrapper's frame meant its caller.
            filename, lineno = caller
        # The original category, text and location, through the caller's filters.
        warnings.warn_explicit(record.message, record.category, filename, lineno,
                               source=record.source)  # fmt: skip


def once_per_params(method):
    """Decorate an estimator method so that its warnings are said once per configuration.

    Warnings raised while ``method`` runs are collected and re-issued with
    :func:`warnings.warn_explicit` (same category, text and source line, so
    the caller's filters and ``pytest.warns`` see them as before), except
    those already issued by an estimator of the same class and parameters in
    this process. Collected warnings are re-issued even when ``method``
    raises.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if getattr(_STATE, "depth", 0):
            # Inside another decorated call: its collector takes these warnings.
            return method(self, *args, **kwargs)
        collected = []
        frame = sys._getframe(1)
        caller = (frame.f_code.co_filename, frame.f_lineno)
        del frame
        _STATE.depth = 1
        try:
            with warnings.catch_warnings(record=True) as records:
                warnings.simplefilter("always")
                try:
                    return method(self, *args, **kwargs)
                finally:
                    collected.extend(records)
        finally:
            _STATE.depth = 0
            # After the catch_warnings block: the caller's filters apply again.
            _say_once(self, collected, caller)

    return wrapper
