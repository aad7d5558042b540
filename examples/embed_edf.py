"""Embed a raw EDF recording window by window.

Reads a PhysioNet EEGMAT recording (500 Hz, channels named ``EEG Fp1`` ...,
the old 10-20 names T3/T4/T5/T6, an ear reference ``EEG A2-A1`` and an
``ECG ECG`` channel), gives the ECG channel its type, keeps the EEG channels,
cuts 4-second windows and embeds them with EEGPT. ``skeegfm embed`` does the
same from the command line::

    skeegfm embed Subject00_2.edf --model eegpt -o Subject00_2.npz

Run: ``python examples/embed_edf.py [RECORDING.edf]`` (default: the copy in
``tests/data``; about 20 s on 2 CPU cores). It loads the released EEGPT
weights from the Hugging Face Hub cache, downloading them on first use;
offline and without them, it says so and runs with random weights (a baseline,
not pretrained features).

Environment variables:

- ``SKEEGFM_EXAMPLE_EEGPT``: the checkpoint (a Hub id, a local path, or
  ``random`` for random weights); default ``braindecode/eegpt-pretrained``.
- ``SKEEGFM_EXAMPLE_SMALL=1``: the first 20 seconds only (what the test suite
  runs).
"""

import os
import sys
from pathlib import Path

import mne
import numpy as np

from skeegfm import EEGPTEmbedder
from skeegfm.models import WeightsNotAvailableError

SMALL = os.environ.get("SKEEGFM_EXAMPLE_SMALL") == "1"
default = Path(__file__).resolve().parents[1] / "tests" / "data" / "Subject00_2.edf"
path = Path(sys.argv[1]) if len(sys.argv) > 1 else default

raw = mne.io.read_raw(path, preload=True, verbose="error")
if SMALL:
    raw.crop(0, 20)
# EDF files type every channel as EEG: mark the ECG, then keep EEG channels
# with electrode names (the A2-A1 reference derivation has none).
raw.set_channel_types({"ECG ECG": "ecg"}, on_unit_change="ignore")
raw.pick("eeg", exclude=["EEG A2-A1"])
print(f"{path.name}: {len(raw.ch_names)} EEG channels at {raw.info['sfreq']:g} Hz, "
      f"{raw.times[-1]:.0f} s; e.g. {raw.ch_names[6:8]}")

windows = mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose="error")


def checkpoint_or_random(variable, embedder_class):
    """``$variable`` (Hub id, path, or "random") or the released weights; None
    (random weights, said here) when those are neither cached nor downloadable."""
    checkpoint = os.environ.get(variable, embedder_class().checkpoint)
    if checkpoint == "random":
        return None
    try:
        embedder_class(checkpoint=checkpoint).fit(windows[:1])  # loads once per process
    except WeightsNotAvailableError as err:
        print(f"NOTE: {err}\nNOTE: {embedder_class.__name__} runs with RANDOM weights instead "
              "(a baseline, not pretrained features).")
        return None
    return checkpoint


CHECKPOINT = checkpoint_or_random("SKEEGFM_EXAMPLE_EEGPT", EEGPTEmbedder)
embedder = EEGPTEmbedder(checkpoint=CHECKPOINT)  # matches T3 -> T7 etc. by name
embeddings = embedder.fit_transform(windows)
onsets_s = (windows.events[:, 0] - raw.first_samp) / raw.info["sfreq"]

print(f"embeddings: {embeddings.shape} (windows x features), onsets {onsets_s[:4]} ... s")
print("weights:", embedder.pretrained_source_)
# Neighbouring windows of one recording tend to look alike:
unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
print(f"mean cosine similarity of consecutive windows: {np.mean(np.sum(unit[1:] * unit[:-1], axis=1)):.3f}")
