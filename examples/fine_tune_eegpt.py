"""Fine-tune EEGPT on held-out subjects, next to a linear probe.

:class:`skeegfm.EEGPTClassifier` puts a classification head on the
pretrained encoder and trains inside ``fit``. ``tuning="linear_probe"``
trains the head only, on frozen features; ``tuning="partial"`` also trains
the last encoder blocks (with layer-wise learning-rate decay), using a
validation split for early stopping and keeping the best epoch's weights.

The bundled EEGMAT epochs are split by subject: 6 subjects train, 2 test.

Run: ``python examples/fine_tune_eegpt.py`` (2 to 5 minutes on 2 CPU cores,
with a progress bar per training epoch; much faster on a GPU:
``device="cuda"``). It
loads the released EEGPT weights from the Hugging Face Hub cache, downloading
them on first use; offline and without them, it says so and fine-tunes a
randomly initialised EEGPT instead (a baseline, not pretrained features).

Environment variables:

- ``SKEEGFM_EXAMPLE_EEGPT``: the checkpoint (a Hub id, a local path, or
  ``random`` for random weights); default ``braindecode/eegpt-pretrained``.
- ``SKEEGFM_EXAMPLE_SMALL=1``: two training epochs on a few windows (what the
  test suite runs).
"""

import os

import pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupShuffleSplit

from skeegfm import EEGPTClassifier, EEGPTEmbedder
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
if SMALL:
    keep = [i for i, g in enumerate(groups) if g in sorted(set(groups))[:4]][::3]
    epochs, y, groups = epochs[keep], y[keep], groups[keep]
split = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
train, test = next(split.split(y, y, groups))
print(f"train: {len(train)} epochs of subjects {sorted(set(groups[train]))}")
print(f"test:  {len(test)} epochs of subjects {sorted(set(groups[test]))}")

common = dict(checkpoint=CHECKPOINT, batch_size=16, validation_fraction=0.2, random_state=0,
              verbose=True)  # a progress bar per training epoch, with the loss
# The linear probe embeds once per fit, so its epochs are cheap; "partial"
# runs the encoder on every batch of every epoch.
max_epochs = {"linear_probe": 2 if SMALL else 50, "partial": 2 if SMALL else 5}
for tuning in ("linear_probe", "partial"):
    clf = EEGPTClassifier(
        tuning=tuning, n_trainable_blocks=1, max_epochs=max_epochs[tuning], patience=10, **common
    )
    clf.fit(epochs[train], y[train])
    score = balanced_accuracy_score(y[test], clf.predict(epochs[test]))
    print(f"\n{tuning}: balanced accuracy on the held-out subjects {score:.3f} "
          f"(kept epoch {clf.best_epoch_} of {clf.n_iter_})")
    print(pd.DataFrame(clf.history_).to_string(index=False, float_format="{:.4g}".format))
