"""Compare the four encoders as frozen feature extractors.

Each encoder embeds every epoch once (it is frozen, so embedding inside each
fold would give the same features); a standardised logistic regression is
then cross-validated on the embeddings across subjects. This is what
``skeegfm benchmark`` does, written out with the public API.

Run: ``python examples/compare_encoders.py`` (about 1.5 minutes on 2 CPU
cores). It loads the released weights from the Hugging Face Hub cache,
downloading them on first use; offline and without them, it says so and runs
that encoder with random weights (a baseline, not pretrained features).

Environment variables:

- ``SKEEGFM_EXAMPLE_EEGDINO``, ``SKEEGFM_EXAMPLE_EEGPT``,
  ``SKEEGFM_EXAMPLE_CODEBRAIN``, ``SKEEGFM_EXAMPLE_CBRAMOD``: the checkpoint
  of each encoder (a Hub id, a local path, or ``random`` for random weights);
  default: the released ones.
- ``SKEEGFM_EXAMPLE_SMALL=1``: a few epochs only (what the test suite runs).
"""

import os
import time

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skeegfm import CBraModEmbedder, CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder
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


ENCODERS = {
    "EEG-DINO-Small": EEGDINOEmbedder(
        checkpoint=checkpoint_or_random("SKEEGFM_EXAMPLE_EEGDINO", EEGDINOEmbedder)
    ),
    "EEGPT": EEGPTEmbedder(
        checkpoint=checkpoint_or_random("SKEEGFM_EXAMPLE_EEGPT", EEGPTEmbedder)
    ),
    "CodeBrain": CodeBrainEmbedder(
        checkpoint=checkpoint_or_random("SKEEGFM_EXAMPLE_CODEBRAIN", CodeBrainEmbedder)
    ),
    "CBraMod": CBraModEmbedder(
        checkpoint=checkpoint_or_random("SKEEGFM_EXAMPLE_CBRAMOD", CBraModEmbedder)
    ),
}
cv = GroupKFold(n_splits=min(5, len(set(groups))))
probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

print(f"{'encoder':<16}{'weights':>9}{'features':>9}{'embed s':>9}   balanced accuracy")
for name, embedder in ENCODERS.items():
    start = time.perf_counter()
    embeddings = embedder.fit_transform(epochs)
    seconds = time.perf_counter() - start
    scores = cross_val_score(
        probe, embeddings, y, groups=groups, cv=cv, scoring="balanced_accuracy"
    )
    weights = "random" if embedder.checkpoint is None else "released"
    weights = "local" if embedder.checkpoint and os.path.exists(embedder.checkpoint) else weights
    print(
        f"{name:<16}{weights:>9}{embeddings.shape[1]:>9}{seconds:>9.1f}   "
        f"{scores.mean():.3f} +/- {scores.std():.3f}"
    )
