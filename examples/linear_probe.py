"""Linear probe of EEGPT embeddings, cross-validated across subjects.

The frozen EEGPT encoder turns each 4-second epoch of the bundled EEGMAT data
(rest vs mental arithmetic, 8 subjects) into one embedding; a standardised
logistic regression on top is scored with GroupKFold over subjects, so that
no subject is in both the training and the test folds.

Run: ``python examples/linear_probe.py`` (2 to 5 minutes on 2 CPU cores). It
loads the released EEGPT weights from the Hugging Face Hub cache, downloading
them on first use; offline and without them, it says so and runs with random
weights (a baseline, not pretrained features).

Environment variables:

- ``SKEEGFM_EXAMPLE_EEGPT``: the checkpoint (a Hub id, a local path, or
  ``random`` for random weights); default ``braindecode/eegpt-pretrained``.
- ``SKEEGFM_EXAMPLE_SMALL=1``: a few epochs only (what the test suite runs).
"""

import os

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skeegfm import EEGPTEmbedder
from skeegfm.datasets import load_eegmat
from skeegfm.models import WeightsNotAvailableError

SMALL = os.environ.get("SKEEGFM_EXAMPLE_SMALL") == "1"

epochs, y, groups = load_eegmat(return_X_y=True, verbose="error")


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


CHECKPOINT = checkpoint_or_random("SKEEGFM_EXAMPLE_EEGPT", EEGPTEmbedder)
if SMALL:  # 4 subjects, 6 epochs each
    keep = [i for i, g in enumerate(groups) if g in sorted(set(groups))[:4]][::4]
    epochs, y, groups = epochs[keep], y[keep], groups[keep]
print(f"{len(epochs)} epochs of {len(set(groups))} subjects, {epochs.info['sfreq']:g} Hz")

probe = make_pipeline(
    EEGPTEmbedder(checkpoint=CHECKPOINT),  # resamples to 256 Hz, mV, average reference
    StandardScaler(),
    LogisticRegression(max_iter=1000),
)
cv = GroupKFold(n_splits=min(5, len(set(groups))))
scores = cross_val_score(probe, epochs, y, groups=groups, cv=cv, scoring="balanced_accuracy")
print(f"balanced accuracy across subjects: {scores.mean():.3f} +/- {scores.std():.3f}")
print("per fold:", [round(float(s), 3) for s in scores])
