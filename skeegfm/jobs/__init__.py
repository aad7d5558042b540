"""The Python API of the command-line jobs.

- :func:`run_benchmark` (:mod:`skeegfm.jobs.benchmark`): cross-validated
  linear probes of the encoders and a classical baseline
  (``skeegfm benchmark``); :func:`format_table` prints its results.
- :func:`run_embed` (:mod:`skeegfm.jobs.embed`): recordings into an
  ``.npz`` file or a Zarr store (``skeegfm embed``).
- :func:`embed_recording`: the windows of one recording, embedded in
  constant memory (a chunk of windows at a time).
- :func:`embed_recordings`: many recordings (files, folders, a BIDS root)
  into one Zarr store, resumable, one Dask task per recording;
  :func:`open_store` and :func:`windows_index` read the store back.

The models a job knows, its defaults and the display names come from the
model records (:func:`skeegfm.list_models`). zarr and dask.distributed come
with ``pip install 'skeegfm[scale]'``, mne-bids with ``'skeegfm[bids]'``;
they are imported only when used.
"""

from ._stream import EmbedOptions, RecordingError, RecordingResult, embed_recording, open_recording
from .benchmark import format_table, run_benchmark
from .corpus import (
    CorpusSummary,
    MissingDependencyError,
    Recording,
    embed_recordings,
    find_recordings,
    open_store,
    windows_index,
)
from .embed import EmbedReport, run_embed

__all__ = [
    "CorpusSummary",
    "EmbedOptions",
    "EmbedReport",
    "MissingDependencyError",
    "Recording",
    "RecordingError",
    "RecordingResult",
    "embed_recording",
    "embed_recordings",
    "find_recordings",
    "format_table",
    "open_recording",
    "open_store",
    "run_benchmark",
    "run_embed",
    "windows_index",
]
