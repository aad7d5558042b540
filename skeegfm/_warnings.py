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

import contextlib
import functools
import sys
import threading
import warnings

__all__ = ["capturing", "once_per_params", "reset"]

_SEEN: set = set()
_LOCK = threading.Lock()
_MAX_ENTRIES = 10_000  # bounds memory if messages vary without end
_STATE = threading.local()  # depth of decorated calls in this thread


_OWNER = {"thread": None, "depth": 0}  # the thread whose catch_warnings is active


@contextlib.contextmanager
def capturing():
    """Record the warnings of a block, unless another thread already records.

    :class:`warnings.catch_warnings` swaps process-wide state (the filter list
    and the function that shows warnings) and restores it on exit, so two
    threads inside such blocks at once can leave a stale recorder in place,
    after which every warning of the process is swallowed. Estimators run in
    threads (Dask's threaded scheduler, joblib's threading backend), so only
    one thread at a time records; the blocks of other threads run without
    touching the warning state (their warnings reach the recording thread,
    which re-issues them through the caller's filters, or the caller's
    filters directly). A thread may nest blocks.

    Yields
    ------
    records : list of warnings.WarningMessage | None
        The recorded warnings (filled while the block runs), or None when the
        block is not recording.
    """
    me = threading.get_ident()
    with _LOCK:
        mine = _OWNER["thread"] in (None, me)
        if mine:
            _OWNER["thread"] = me
            _OWNER["depth"] += 1
    if not mine:
        yield None
        return
    try:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            yield records
    finally:
        with _LOCK:
            _OWNER["depth"] -= 1
            if _OWNER["depth"] == 0:
                _OWNER["thread"] = None


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
            with capturing() as records:
                try:
                    return method(self, *args, **kwargs)
                finally:
                    if records is not None:
                        collected.extend(records)
        finally:
            _STATE.depth = 0
            # After the catch_warnings block: the caller's filters apply again.
            _say_once(self, collected, caller)

    return wrapper
