"""Linear probe of EEGPT embeddings, cross-validated across subjects.

The frozen EEGPT encoder turns each 4-second epoch of the bundled EEGMAT data
(rest vs mental arithmetic, 8 subjects) into one embedding; a standardised
logistic regression on top is scored with GroupKFold over subjects, so that
no subject is in both the training and the test folds.

Run: ``python examples/linear_probe.py`` (downloads the EEGPT weights on first
use; about a minute on 2 CPU cores). ``SKEEGFM_EXAMPLE_SMALL=1`` runs it on a
few epochs, which is what the test suite does.
"""

import os

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skeegfm import EEGPTEmbedder
from skeegfm.datasets import load_eegmat

SMALL = os.environ.get("SKEEGFM_EXAMPLE_SMALL") == "1"
# The released weights; the test suite points this at a tiny local checkpoint.
CHECKPOINT = os.environ.get("SKEEGFM_EXAMPLE_EEGPT", "braindecode/eegpt-pretrained")

epochs, y, groups = load_eegmat(return_X_y=True, verbose="error")
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
print("per fold:", [round(s, 3) for s in scores])
