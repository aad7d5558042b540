"""Running skeegfm on a Dask cluster: worker set-up shared by the jobs.

scikit-learn's model selection runs on Dask through joblib's Dask backend::

    from distributed import Client, LocalCluster
    import joblib
    from skeegfm.jobs.cluster import WorkerWarnings

    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    client.register_plugin(WorkerWarnings("once"))
    with joblib.parallel_config(backend="dask"):
        search.fit(X, y)  # a GridSearchCV over skeegfm pipelines

Each worker process loads an encoder once (the process-wide encoder cache of
:mod:`skeegfm._base`); the ``memory=`` embedding cache of the embedders is
safe to share between the workers of one machine (files are written
atomically; a worker reading a file another one is writing sees it absent
and computes it).
"""

from __future__ import annotations

import warnings

__all__ = ["WorkerWarnings"]

try:  # dask.distributed is optional ('skeegfm[scale]')
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - the class below then needs distributed to be used
    _WorkerPlugin = object


class WorkerWarnings(_WorkerPlugin):
    """A Dask worker plugin that sets how each worker shows Python warnings.

    Warnings raised in tasks are printed by the worker process (a local
    cluster's workers print to the client's terminal): a grid search whose
    estimators warn on every fit would print the same lines hundreds of
    times. With ``action="once"`` each worker prints each distinct warning
    once; ``"ignore"`` silences them (the estimators' adaptations are still
    in their fitted attributes and in the corpus store).

    Parameters
    ----------
    action : {"once", "default", "ignore", "error", "always", "module"}
        The :func:`warnings.simplefilter` action applied on every worker, for
        ``category``.
    category : type
        Warning class the action applies to (default: all warnings).

    Notes
    -----
    Workers of ``LocalCluster(processes=False)`` run in the client's own
    process, so the filter applies to the client too.
    """

    name = "skeegfm-warnings"

    def __init__(self, action="once", category=Warning):
        if action not in ("once", "default", "ignore", "error", "always", "module"):
            raise ValueError(f"action must be a warnings.simplefilter action, got {action!r}.")
        self.action = action
        self.category = category

    def setup(self, worker=None):
        """Install the filter in the worker's process."""
        warnings.simplefilter(self.action, self.category)
