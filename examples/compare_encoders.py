"""Compare the three encoders as frozen feature extractors.

Each encoder embeds every epoch once (it is frozen, so embedding inside each
fold would give the same features); a standardised logistic regression is
then cross-validated on the embeddings across subjects. This is what
``skeegfm benchmark`` does, written out with the public API.

Run: ``python examples/compare_encoders.py``. ``SKEEGFM_EXAMPLE_SMALL=1``
runs it on a few epochs.
"""

import os
import time

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skeegfm import CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder
from skeegfm.datasets import load_eegmat

SMALL = os.environ.get("SKEEGFM_EXAMPLE_SMALL") == "1"
ENCODERS = {
    "EEG-DINO-Small": EEGDINOEmbedder(
        checkpoint=os.environ.get("SKEEGFM_EXAMPLE_EEGDINO", "braindecode/eegdino-small-pretrained")
    ),
    "EEGPT": EEGPTEmbedder(
        checkpoint=os.environ.get("SKEEGFM_EXAMPLE_EEGPT", "braindecode/eegpt-pretrained")
    ),
    "CodeBrain": CodeBrainEmbedder(
        checkpoint=os.environ.get("SKEEGFM_EXAMPLE_CODEBRAIN", "braindecode/codebrain-pretrained")
    ),
}

epochs, y, groups = load_eegmat(return_X_y=True, verbose="error")
if SMALL:
    keep = [i for i, g in enumerate(groups) if g in sorted(set(groups))[:4]][::4]
    epochs, y, groups = epochs[keep], y[keep], groups[keep]
cv = GroupKFold(n_splits=min(5, len(set(groups))))
probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

print(f"{'encoder':<16}{'features':>9}{'embed s':>9}   balanced accuracy")
for name, embedder in ENCODERS.items():
    start = time.perf_counter()
    embeddings = embedder.fit_transform(epochs)
    seconds = time.perf_counter() - start
    scores = cross_val_score(probe, embeddings, y, groups=groups, cv=cv, scoring="balanced_accuracy")
    print(
        f"{name:<16}{embeddings.shape[1]:>9}{seconds:>9.1f}   "
        f"{scores.mean():.3f} +/- {scores.std():.3f}"
    )
