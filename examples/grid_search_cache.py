"""Tune the probe's regularisation with GridSearchCV and the embedding cache.

A grid search fits the pipeline once per fold and candidate. The encoder is
frozen, so with ``memory=`` each epoch is embedded once and every later fit
reads its embedding from disk: only the logistic regression is refitted.

Run: ``python examples/grid_search_cache.py`` (about 1.5 minutes on 2 CPU
cores). It loads the released EEG-DINO-Small weights from the Hugging Face Hub
cache, downloading them on first use; offline and without them, it says so and
runs with random weights (a baseline, not pretrained features).

Environment variables:

- ``SKEEGFM_EXAMPLE_EEGDINO``: the checkpoint (a Hub id, a local path, or
  ``random`` for random weights); default
  ``braindecode/eegdino-small-pretrained``.
- ``SKEEGFM_EXAMPLE_SMALL=1``: a few epochs only (what the test suite runs).
"""

import os
import tempfile
import time

from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skeegfm import EEGDINOEmbedder
from skeegfm.datasets import load_eegmat
from skeegfm.models import WeightsNotAvailableError

SMALL = os.environ.get("SKEEGFM_EXAMPLE_SMALL") == "1"

epochs, y, groups = load_eegmat(return_X_y=True, verbose="error")
if SMALL:
    keep = [i for i, g in enumerate(groups) if g in sorted(set(groups))[:4]][::4]
    epochs, y, groups = epochs[keep], y[keep], groups[keep]


def checkpoint_or_random(variable, embedder_class):
    """``$variable`` (Hub id, path, or "random") or the released weights; None
    (random weights, said here) when those are neither cached nor downloadable."""
    checkpoint = os.environ.get(variable, embedder_class().checkpoint)
    if checkpoint == "random":
        return None
    try:
        embedder_class(checkpoint=checkpoint).fit(epochs[:1])  # loads once per process
    except WeightsNotAvailableError as err:
        print(f"NOTE: {err}\nNOTE: {embedder_class.__name__} runs with RANDOM weights instead "
              "(a baseline, not pretrained features).")
        return None
    return checkpoint


CHECKPOINT = checkpoint_or_random("SKEEGFM_EXAMPLE_EEGDINO", EEGDINOEmbedder)

with tempfile.TemporaryDirectory() as cache_dir:
    pipe = make_pipeline(
        EEGDINOEmbedder(checkpoint=CHECKPOINT, memory=Memory(cache_dir, verbose=0)),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    )
    search = GridSearchCV(
        pipe,
        {"logisticregression__C": [0.001, 0.01, 0.1, 1.0]},
        cv=GroupKFold(n_splits=min(4, len(set(groups)))),
        scoring="balanced_accuracy",
    )
    for attempt in ("first search (fills the cache)", "second search (cache hits only)"):
        start = time.perf_counter()
        search.fit(epochs, y, groups=groups)
        print(f"{attempt}: {time.perf_counter() - start:.1f} s")

print("best C:", search.best_params_["logisticregression__C"])
print(f"best balanced accuracy across subjects: {search.best_score_:.3f}")
for C, score in zip(
    search.cv_results_["param_logisticregression__C"], search.cv_results_["mean_test_score"]
):
    print(f"  C={C:<6} {score:.3f}")
