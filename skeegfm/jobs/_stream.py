"""Embedding one recording in constant memory.

A recording is opened lazily (``preload=False``: MNE reads the header only)
and cut into the windows :func:`mne.make_fixed_length_epochs` would make. The
windows are then read, embedded and dropped a chunk at a time
(``chunk_windows`` windows, a few hundred), so that the memory held is that
of one chunk and of the embeddings, whatever the recording's length.

Each chunk is an :class:`mne.Epochs` over the lazy recording (MNE reads only
the chunk's samples and drops windows overlapping ``BAD_*`` annotations, as
``make_fixed_length_epochs`` does) handed to a fitted embedder's
``transform``: channel matching, resampling, re-referencing and scaling are
the estimators' own input adapter (:mod:`skeegfm._inputs`), window by window,
exactly as for Epochs passed to an embedder. A window's embedding therefore
does not depend on the chunking.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np

from .._warnings import capturing

__all__ = ["EmbedOptions", "RecordingError", "RecordingResult", "embed_recording", "open_recording"]


class RecordingError(ValueError):
    """A recording that cannot be embedded: unreadable, no usable channel,
    shorter than one window. The message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class EmbedOptions:
    """What an embedding job does to every recording.

    Attributes
    ----------
    model : str
        Registry name of the encoder (``"eegpt"``, ``"eegdino-small"``...).
    weights : {"pretrained", "random"}
        Released weights, or random initialisation from ``seed``.
    checkpoint : str | None
        Local path or Hub id of the weights (overrides ``weights``).
    window : float
        Window length, s, for continuous recordings.
    stride : float | None
        Step between window onsets, s (default: ``window``).
    on_missing : {"raise", "interpolate", "zero"}
        Missing channels of positional models (EEG-DINO, CodeBrain).
    on_unknown : {"auto", "raise", "drop"}
        EEG channels the model has no channel for (see the embedders).
    ch_aliases : dict of str to str | None
        ``{recorded name: electrode}`` for channels named otherwise.
    unit : {"V", "mV", "uV", "µV"} | None
        The unit the files' values are really in, when their unit field is
        wrong (:func:`skeegfm._recording.rescale_to_unit`); None: the files'.
    encoding : str | None
        Character encoding of EDF/BDF/GDF headers (MNE's default: UTF-8).
    batch_size : int
        Windows per forward pass.
    device : str
        Torch device (``"auto"``, ``"cpu"``, ``"cuda"``...).
    seed : int
        Seed of random weights.
    trust_checkpoint : bool
        Allow fully unpickling a local checkpoint file holding Python objects
        (runs the code it carries: only for files you trust).
    chunk_windows : int
        Windows read and embedded at a time (bounds the memory).
    """

    model: str
    weights: str = "pretrained"
    checkpoint: str | None = None
    window: float = 4.0
    stride: float | None = None
    on_missing: str = "raise"
    on_unknown: str = "auto"
    ch_aliases: dict | None = None
    unit: str | None = None
    encoding: str | None = None
    batch_size: int = 32
    device: str = "auto"
    seed: int = 0
    trust_checkpoint: bool = False
    chunk_windows: int = 256

    def __post_init__(self):
        from sklearn.utils import check_scalar

        from ._records import record_name

        object.__setattr__(self, "model", record_name(self.model))
        check_scalar(self.window, "window", (int, float), min_val=0, include_boundaries="neither")
        if self.stride is not None:
            check_scalar(self.stride, "stride", (int, float), min_val=0,
                         include_boundaries="neither")  # fmt: skip
            if self.stride > self.window:
                raise ValueError(
                    f"stride ({self.stride} s) larger than window ({self.window} s) skips data; "
                    "pass a stride <= window."
                )
        check_scalar(self.batch_size, "batch_size", int, min_val=1)
        check_scalar(self.chunk_windows, "chunk_windows", int, min_val=1)
        from .._channels import check_ch_aliases
        from .._inputs import _UNIT_TO_VOLTS

        if self.on_missing not in ("raise", "interpolate", "zero"):
            raise ValueError(
                f"on_missing must be 'raise', 'interpolate' or 'zero', got {self.on_missing!r}."
            )
        if self.on_unknown not in ("auto", "raise", "drop"):
            raise ValueError(
                f"on_unknown must be 'auto', 'raise' or 'drop', got {self.on_unknown!r}."
            )
        if self.unit is not None and self.unit not in _UNIT_TO_VOLTS:
            raise ValueError(f"unit must be None or one of {sorted(_UNIT_TO_VOLTS)}, got {self.unit!r}.")
        aliases = check_ch_aliases(self.ch_aliases)
        object.__setattr__(self, "ch_aliases", dict(aliases) if aliases else None)

    @property
    def record(self):
        from ..models._pretrained import get_record

        return get_record(self.model)

    def weights_spec(self):
        """The :class:`~skeegfm.jobs.benchmark.WeightsSpec` of these options."""
        from ._weights import resolve_weights

        checkpoints = {self.model: self.checkpoint} if self.checkpoint else None
        return resolve_weights([self.model], self.weights, checkpoints)[self.model]

    def identity(self) -> dict:
        """The options that determine the embeddings, with the weights' identity:
        the SHA-256 of a local checkpoint's files, a Hub id, or the seed of
        random weights."""
        import hashlib

        from .._base import _identity_files

        spec = self.weights_spec()
        if spec.kind == "random":
            weights = ["random", int(self.seed)]
        elif Path(str(spec.checkpoint)).exists():
            digest = hashlib.sha256()
            for file in _identity_files(Path(str(spec.checkpoint))):
                digest.update(f"|{file.name}|".encode())
                with open(file, "rb") as f:
                    while block := f.read(8 << 20):
                        digest.update(block)
            weights = ["file", digest.hexdigest()]
        else:
            weights = ["hub", str(spec.checkpoint)]
        return {
            "model": self.model,
            "weights": weights,
            "window": float(self.window),
            "stride": float(self.window if self.stride is None else self.stride),
            "on_missing": self.on_missing,
            "on_unknown": self.on_unknown,
            "ch_aliases": sorted((self.ch_aliases or {}).items()),
            "unit": self.unit,
            "encoding": self.encoding,
        }

    def embedder_params(self) -> dict:
        """Parameters of the embedder (besides its checkpoint)."""
        return dict(
            device=self.device,
            batch_size=self.batch_size,
            random_state=self.seed,
            on_missing=self.on_missing,
            on_unknown=self.on_unknown,
            ch_aliases=self.ch_aliases,
            trust_checkpoint=self.trust_checkpoint,
        )


@dataclasses.dataclass
class RecordingResult:
    """The embeddings of one recording and what was done to get them.

    Attributes
    ----------
    embeddings : ndarray of shape (n_windows, n_features)
        float32.
    onsets_s : ndarray of shape (n_windows,)
        Window onsets, s from the start of the recording.
    facts : dict
        JSON-able: the embedder's input report (``channels_used``,
        ``channels_dropped``, ``channels_filled``, ``channels_renamed``,
        ``reference``, ``sfreq_in``, ``sfreq``, ``resampled_from``...: see
        :class:`skeegfm._inputs.InputReport`), and ``unit_factors`` (channels
        rescaled by ``unit``), ``n_windows``, ``n_rejected`` (windows dropped
        for ``BAD_*`` annotations), ``duration_s``, ``checkpoint`` (label with
        the revision), ``encoder_hash`` and ``notes`` (the notices and
        warnings of the adaptation).
    """

    embeddings: np.ndarray
    onsets_s: np.ndarray
    facts: dict


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_recording(path, *, encoding=None, bids_path=None):
    """Open a recording lazily (``preload=False``) with MNE.

    The lazy counterpart of :func:`skeegfm._recording.read_recording`: same
    formats, same messages.

    Parameters
    ----------
    path : str | os.PathLike
        A file :func:`mne.io.read_raw` reads (EDF, BDF, FIF, BrainVision,
        EEGLAB...) or an ``-epo.fif`` Epochs file.
    encoding : str | None
        Character encoding of EDF/BDF/GDF headers.
    bids_path : mne_bids.BIDSPath | None
        Read through :func:`mne_bids.read_raw_bids` instead, which applies the
        BIDS sidecars (bad channels and channel types of ``channels.tsv``).

    Returns
    -------
    inst : mne.io.BaseRaw | mne.BaseEpochs
        Not preloaded.

    Raises
    ------
    RecordingError
        If the file does not exist, MNE cannot read it, or ``encoding`` is
        given for a format without header encoding.
    """
    import mne

    from .._recording import _EDF_SUFFIXES, _is_epochs_file

    path = Path(path).expanduser()
    if not path.exists():
        raise RecordingError(f"{path}: no such file.")
    name = path.name.lower()
    kwargs = {}
    if encoding is not None:
        if not name.endswith(_EDF_SUFFIXES):
            raise RecordingError(
                f"{path}: an encoding applies to the headers of EDF, BDF and GDF files only, "
                f"not to {path.suffix or 'this'} files."
            )
        kwargs["encoding"] = encoding
    try:
        if bids_path is not None:
            from mne_bids import read_raw_bids

            return read_raw_bids(bids_path, extra_params=kwargs or None, verbose="error")
        if _is_epochs_file(path):
            return mne.read_epochs(path, preload=False, verbose="error")
        return mne.io.read_raw(path, preload=False, verbose="error", **kwargs)
    except Exception as exc:  # noqa: BLE001 - one line naming the file
        if bids_path is None and not _is_epochs_file(path) and name.endswith((".fif", ".fif.gz")):
            try:
                return mne.read_epochs(path, preload=False, verbose="error")
            except Exception:  # noqa: BLE001 - report the first error
                pass
        raise RecordingError(
            f"{path}: MNE cannot read this file ({type(exc).__name__}: {_first_line(exc)}). "
            "Supported: EDF, BDF, FIF, BrainVision, EEGLAB and the other formats of "
            "mne.io.read_raw, or an -epo.fif Epochs file."
        ) from exc


def _unit_factors(inst, unit):
    """``{channel: factor}`` that ``unit`` applies, from a one-sample probe of ``inst``."""
    import mne

    from .._recording import rescale_to_unit

    if isinstance(inst, mne.BaseEpochs):
        probe = inst[:1].load_data()
    else:
        probe = inst.copy().crop(tmin=0, tmax=0).load_data()
    return rescale_to_unit(probe, unit)


def _rescale(chunk, factors):
    """Apply :func:`_unit_factors` to a preloaded chunk (in place)."""
    for factor in sorted(set(factors.values())):
        names = [name for name, f in factors.items() if f == factor]
        chunk.apply_function(lambda x, f=factor: x * f, picks=names, channel_wise=False)


def _adapt(inst, options, record, notes):
    """File-level steps before the estimators' adapter: unit override, template positions."""
    factors = {}
    if options.unit is not None:
        factors = _unit_factors(inst, options.unit)
        if factors:
            notes.append(
                f"--unit {options.unit}: {len(factors)} channel(s) rescaled by "
                + ", ".join(f"{f:g}" for f in sorted(set(factors.values())))
                + " (the file's unit field said otherwise)."
            )
    if options.on_missing == "interpolate":
        from .._recording import add_template_positions

        if add_template_positions(inst, record, ch_aliases=options.ch_aliases):
            notes.append(
                "no electrode positions in the file; using the template 10-05 positions to "
                "interpolate missing channels."
            )
    return factors


def _window_events(raw, window, stride, record):
    """``(events, duration_s)``: the windows' onset samples (with ``first_samp``),
    as :func:`mne.make_fixed_length_epochs` places them, and the recording's length."""
    import mne

    sfreq = raw.info["sfreq"]
    stride = window if stride is None else stride
    min_window = record.min_n_times / record.sfreq
    if window < min_window:
        raise RecordingError(
            f"window {window} s is shorter than the {record.name} minimum of {min_window:g} s."
        )
    duration = raw.n_times / sfreq
    if duration < window:
        raise RecordingError(
            f"the recording lasts {duration:.2f} s, shorter than one window of {window} s."
        )
    events = mne.make_fixed_length_events(raw, duration=window, overlap=window - stride)
    return events, duration


def _epochs_chunks(inst, factors, options, record):
    """Yield ``(epochs, onsets_s, n_asked)`` chunks of the recording, preloaded one at a time."""
    import mne

    n = options.chunk_windows
    if isinstance(inst, mne.BaseEpochs):
        for start in range(0, len(inst.events), n):
            chunk = inst[start : start + n].load_data()
            _rescale(chunk, factors)
            onsets = chunk.events[:, 0] / chunk.info["sfreq"] + chunk.tmin
            yield chunk, onsets, len(chunk.events)
        return
    events, _ = _window_events(inst, options.window, options.stride, record)
    sfreq = inst.info["sfreq"]
    for start in range(0, len(events), n):
        part = events[start : start + n]
        # What make_fixed_length_epochs builds, over these windows only.
        chunk = mne.Epochs(
            inst,
            part,
            event_id=[1],
            tmin=0.0,
            tmax=options.window - 1.0 / sfreq,
            baseline=None,
            preload=True,
            reject_by_annotation=True,
            verbose="error",
        )
        _rescale(chunk, factors)
        onsets = (chunk.events[:, 0] - inst.first_samp) / sfreq
        yield chunk, onsets, len(part)


def _n_windows(inst, options, record):
    import mne

    if isinstance(inst, mne.BaseEpochs):
        return len(inst.events)
    return len(_window_events(inst, options.window, options.stride, record)[0])


def embed_recording(path, options, *, spec=None, bids_path=None, progress=False):
    """Embed the windows of one recording, reading it a chunk at a time.

    Parameters
    ----------
    path : str | os.PathLike
        A recording MNE reads, or an ``-epo.fif`` file (its epochs are the
        windows).
    options : EmbedOptions
        Model, weights, windows and chunk size.
    spec : skeegfm.jobs.benchmark.WeightsSpec | None
        Resolved weights (default: ``options.weights_spec()``).
    bids_path : mne_bids.BIDSPath | None
        Read through mne-bids (sidecars applied).
    progress : bool
        A tqdm bar over the windows.

    Returns
    -------
    result : RecordingResult
        Embeddings (n_windows, n_features) float32, onsets (s) and the facts
        of the channel adaptation.

    Raises
    ------
    RecordingError
        If the file cannot be read, has no usable channel or is shorter than
        one window, or the model rejects its channels (e.g. missing channels
        with ``on_missing="raise"``).
    skeegfm.models.WeightsNotAvailableError
        If the released weights are neither cached nor downloadable.
    skeegfm.models.UntrustedCheckpointError
        If the checkpoint file would need unpickling and ``trust_checkpoint``
        is False.
    """
    from mne.utils import use_log_level

    from ._weights import _fit_embedder

    record = options.record
    spec = options.weights_spec() if spec is None else spec
    path = Path(path)
    notes = []
    inst = open_recording(path, encoding=options.encoding, bids_path=bids_path)
    n_total = _n_windows(inst, options, record)
    embedder, pieces, onsets, n_rejected = None, [], [], 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_total, desc=path.name, unit="window", leave=False)
    try:
        # Recorded only when no other thread records (see skeegfm._warnings.capturing);
        # otherwise the warnings go to that thread's collector and this
        # recording's notes stay empty (its report keys are complete anyway).
        with capturing() as caught, use_log_level("error"):
            factors = _adapt(inst, options, record, notes)
            for chunk, chunk_onsets, n_asked in _epochs_chunks(inst, factors, options, record):
                n_rejected += n_asked - len(chunk)
                if len(chunk):
                    if embedder is None:
                        embedder, spec = _fit_embedder(spec, chunk, **options.embedder_params())
                    pieces.append(embedder.transform(chunk))
                    onsets.append(np.asarray(chunk_onsets, dtype=np.float64))
                del chunk
                if bar is not None:
                    bar.update(n_asked)
    except ValueError as exc:
        from ..models import UntrustedCheckpointError

        if isinstance(exc, (RecordingError, UntrustedCheckpointError)):
            raise  # an untrusted checkpoint is about the weights, not this recording
        raise RecordingError(f"{path}: {exc}") from exc
    finally:
        if bar is not None:
            bar.close()
    for warning in caught or ():
        text = str(warning.message)
        if not issubclass(warning.category, UserWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)  # fmt: skip
        elif "checkpoint=None" not in text and text not in notes:
            notes.append(text)
    if embedder is None:
        raise RecordingError(
            f"{path}: all {n_total} windows overlap BAD annotations; nothing to embed."
        )
    facts = {
        **embedder.input_report_,
        "unit_factors": factors,
        "n_windows": int(sum(len(p) for p in pieces)),
        "n_rejected": int(n_rejected),
        "duration_s": float(_duration_s(inst)),
        "checkpoint": spec.label,
        "encoder_hash": embedder.encoder_hash_,
        "notes": notes,
    }
    return RecordingResult(
        embeddings=np.concatenate(pieces).astype(np.float32, copy=False),
        onsets_s=np.concatenate(onsets),
        facts=json.loads(json.dumps(facts)),
    )


def _duration_s(inst):
    import mne

    if isinstance(inst, mne.BaseEpochs):
        return len(inst.events) * len(inst.times) / inst.info["sfreq"]
    return inst.n_times / inst.info["sfreq"]
