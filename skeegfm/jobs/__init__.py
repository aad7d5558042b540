"""The Python API of the command-line jobs.

- :func:`embed_recording`: the windows of one recording, embedded in
  constant memory (a chunk of windows at a time).
- :func:`embed_recordings`: many recordings (files, folders, a BIDS root)
  into one Zarr store, resumable, one Dask task per recording;
  :func:`open_store` and :func:`windows_index` read the store back.

zarr and dask.distributed come with ``pip install 'skeegfm[scale]'``,
mne-bids with ``'skeegfm[bids]'``; they are imported only when used.
"""

from ._stream import EmbedOptions, RecordingError, RecordingResult, embed_recording, open_recording
from .corpus import (
    CorpusSummary,
    Recording,
    embed_recordings,
    find_recordings,
    open_store,
    windows_index,
)

__all__ = [
    "CorpusSummary",
    "EmbedOptions",
    "Recording",
    "RecordingError",
    "RecordingResult",
    "embed_recording",
    "embed_recordings",
    "find_recordings",
    "open_recording",
    "open_store",
    "windows_index",
]
