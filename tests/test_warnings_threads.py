"""Warnings collected by estimators running in several threads at once.

``warnings.catch_warnings`` swaps process-wide state; two threads inside such
blocks at once can leave a stale recorder behind, after which every warning of
the process is swallowed. Estimators run in threads under Dask's threaded
scheduler and joblib's threading backend.
"""

import threading
import warnings

import pytest

from skeegfm._warnings import capturing


def _warning_state():
    return list(warnings.filters), warnings.showwarning, warnings._showwarnmsg_impl


def test_capturing_in_many_threads_leaves_the_warning_state_intact():
    before = _warning_state()
    barrier = threading.Barrier(4)
    recorded, errors = [], []

    def work():
        try:
            barrier.wait()
            for i in range(200):
                with capturing() as records:
                    with capturing() as inner:  # a thread may nest its own blocks
                        warnings.warn(f"thread warning {i}", UserWarning, stacklevel=1)
                    assert (inner is None) == (records is None)
                recorded.append(records is not None)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert any(recorded)  # some blocks recorded
    assert _warning_state() == before
    with pytest.warns(UserWarning, match="said after the threads"):
        warnings.warn("said after the threads", UserWarning, stacklevel=1)


def test_recording_thread_sees_its_warnings():
    with capturing() as records:
        warnings.warn("recorded here", UserWarning, stacklevel=1)
    assert records is not None
    assert [str(r.message) for r in records] == ["recorded here"]
