"""The input adapter: the single choke point between EEG and the encoders.

Every estimator turns its ``X`` into model-ready data here and nowhere else,
in two steps:

1. :func:`read_eeg` validates what the caller passed (an ``mne.Epochs``, the
   list of one-epoch ``Epochs`` that scikit-learn's cross-validation
   splitters hand over, or an array with ``sfreq`` and ``ch_names``) and
   returns an :class:`EEGInput` in volts, without copying or modifying the
   caller's data.
2. :func:`prepare_for_model` applies the input contract of one released
   checkpoint (a :class:`~skeegfm.models._pretrained.ModelRecord`): channels matched by
   name and put in the model's order, missing channels handled, resampling,
   re-referencing, scaling to the model's unit, and the window rule of the
   encoder. It returns a :class:`PreparedInput` holding float32 data.

Channel names are compared only through
:func:`skeegfm._channels.normalize_ch_name`; sampling rates, units and
references are read only from the record.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import asdict, dataclass, field

import mne
import numpy as np

from ._channels import (
    channel_type_from_name,
    check_ch_aliases,
    normalize_ch_name,
    normalize_ch_names,
    option_hint,
    parse_ch_name,
    standard_montage,
)

__all__ = [
    "ChannelSelection",
    "EEGInput",
    "InputReport",
    "EEGPart",
    "PreparedInput",
    "check_amplitude",
    "check_same_channels",
    "prepare",
    "prepare_for_model",
    "read_eeg",
    "select_channels",
]

#: Factor from each accepted array unit to volts.
_UNIT_TO_VOLTS = {
    "V": 1.0,
    "mV": 1e-3,
    "uV": 1e-6,
    "\u00b5V": 1e-6,  # MICRO SIGN
    "\u03bcV": 1e-6,  # GREEK SMALL LETTER MU
}


_ON_MISSING = ("raise", "interpolate", "zero")

#: Upsampling by this factor or more is warned about (50 -> 200 Hz, 128 ->
#: 200 Hz); smaller steps (250 -> 256 Hz) change nothing the model sees.
_UPSAMPLING_NOTICE = 1.5
_ON_UNKNOWN = ("auto", "raise", "drop")

#: stacklevel of read_eeg's warnings: check_amplitude <- read_eeg <- _read <-
#: the estimator's fit/transform <- the caller.
_USER_STACKLEVEL = 5


@dataclass
class EEGInput:
    """Validated EEG as the caller gave it, in volts.

    Attributes
    ----------
    data : ndarray of shape (n_epochs, n_chans, n_times)
        EEG in volts, float32 or float64. May be a view of the caller's data:
        it is never written to.
    ch_names : list of str
        Channel names as recorded, one per row of ``data``.
    ch_types : list of str
        MNE channel types (``"eeg"``, ``"eog"``, ``"ecg"``, ``"stim"``...);
        all ``"eeg"`` for arrays.
    sfreq : float
        Sampling rate, Hz.
    info : mne.Info | None
        The measurement info of Epochs (electrode positions for
        interpolation, bad channels); ``None`` for arrays. For a list of
        Epochs, the first element's.
    parts : list of EEGPart | None
        ``None`` when every epoch has the same channel types and bad
        channels (always for arrays and a single Epochs). For a list of
        Epochs whose elements differ in them, one :class:`EEGPart` per
        distinct combination; ``ch_types`` and ``info`` above are then those
        of the first part (which holds element 0).
    """

    data: np.ndarray
    ch_names: list
    ch_types: list
    sfreq: float
    info: mne.Info | None = None
    parts: list | None = None

    @property
    def n_epochs(self) -> int:
        """Number of epochs."""
        return self.data.shape[0]

    def take(self, index) -> EEGInput:
        """The epochs at ``index`` (a slice or integer array), ``parts`` kept in step."""
        data = self.data[index]
        if not self.parts:
            return dataclasses.replace(self, data=data)
        positions = np.arange(self.n_epochs)[index]
        owner = np.empty(self.n_epochs, dtype=np.intp)
        element = np.empty(self.n_epochs, dtype=np.intp)
        for k, part in enumerate(self.parts):
            owner[part.epochs] = k
            element[part.epochs] = part.elements
        parts = []
        for k, part in enumerate(self.parts):
            mask = owner[positions] == k
            if mask.any():
                parts.append(
                    dataclasses.replace(
                        part, epochs=np.flatnonzero(mask), elements=element[positions[mask]]
                    )
                )
        first = parts[0]
        return dataclasses.replace(
            self,
            data=data,
            ch_types=list(first.ch_types),
            info=first.info,
            parts=parts if len(parts) > 1 else None,
        )


@dataclass
class EEGPart:
    """Epochs of a list of Epochs that share channel types and bad channels.

    Attributes
    ----------
    epochs : ndarray of int
        Positions of these epochs in ``EEGInput.data``.
    elements : ndarray of int
        Index, in the caller's list, of the element each epoch came from.
    ch_types : list of str
        MNE channel types of these elements.
    info : mne.Info
        The info of the first of these elements (its ``bads`` are theirs).
    """

    epochs: np.ndarray
    elements: np.ndarray
    ch_types: list
    info: mne.Info


@dataclass
class InputReport:
    """Every adaptation the input adapter made to fit EEG to one checkpoint.

    The estimators keep it as ``input_report_`` (and its fields as fitted
    attributes); ``skeegfm embed`` and ``skeegfm benchmark`` write
    :meth:`to_dict` next to their results, so all three state the same facts.

    Attributes
    ----------
    model : str
        Record name of the checkpoint's input contract (e.g. ``"eegpt"``).
    channels_used : list of str
        Input channels fed to the model, as recorded, in the model's order.
    model_channels : list of str
        Canonical names of the rows the model receives (for positional
        models all its channels, filled ones included).
    channels_dropped : dict of str to str
        Input channels left out, as recorded -> why (non-EEG type, typed by
        its name, marked bad, an electrode the model has no slot for, a
        bipolar derivation or an unknown name with ``on_unknown="drop"``).
    channels_filled : dict of str to str
        Model channels absent from the input -> ``"interpolated"`` or
        ``"zero"``.
    channels_renamed : dict of str to str
        Used channels whose recorded name is not the canonical one ->
        canonical name (``"Fc5."`` -> ``"FC5"``, ``"T3"`` -> ``"T7"``,
        ``"EEG-0"`` -> ``"FZ"`` through ``ch_aliases``). Case alone is not a
        renaming.
    ch_aliases_applied : dict of str to str
        The entries of ``ch_aliases`` that matched a channel.
    reference : str | None
        The reference the used channels' names state (``"A1"``, ``"REF"``,
        ``"LE"``; several are joined with ``", "``), or ``None`` when the
        names state none.
    model_reference : str
        What the adapter did about the reference: ``"average"`` (re-referenced
        to the average of the fed channels) or ``"none"`` (as recorded).
    model_unit : str
        The amplitude unit the data were scaled to (e.g. ``"microvolts / 100"``).
    sfreq_in : float
        Sampling rate of the input, Hz.
    sfreq : float
        Sampling rate fed to the model, Hz.
    resampled_from : float | None
        ``sfreq_in`` when the data were resampled, else ``None``.
    samples_padded : int
        Zero samples appended to each window (EEG-DINO: whole patches).
    samples_trimmed : int
        Samples cut from the end of each window (CodeBrain: whole patches).
    """

    model: str
    channels_used: list
    model_channels: list
    channels_dropped: dict = field(default_factory=dict)
    channels_filled: dict = field(default_factory=dict)
    channels_renamed: dict = field(default_factory=dict)
    ch_aliases_applied: dict = field(default_factory=dict)
    reference: str | None = None
    model_reference: str = "none"
    model_unit: str = ""
    sfreq_in: float = 0.0
    sfreq: float = 0.0
    resampled_from: float | None = None
    samples_padded: int = 0
    samples_trimmed: int = 0

    def to_dict(self) -> dict:
        """The report as a JSON-serialisable dict (lists, dicts, str, float, int, None)."""
        out = asdict(self)
        for key in ("sfreq_in", "sfreq"):
            out[key] = float(out[key])
        if out["resampled_from"] is not None:
            out["resampled_from"] = float(out["resampled_from"])
        return out


@dataclass
class PreparedInput:
    """EEG in the form one checkpoint expects.

    Attributes
    ----------
    data : ndarray of shape (n_epochs, n_model_chans, n_model_times)
        float32, C-contiguous, in ``record.unit``, re-referenced as
        ``record.reference`` says, at ``record.sfreq``.
    ch_names : list of str
        Canonical names of the rows of ``data``, in the model's order.
    sfreq : float
        Sampling rate of ``data``, Hz (``record.sfreq``).
    dropped : list of str
        Input channels left out, as recorded (non-EEG types, channels marked
        bad, names outside the model's vocabulary).
    drop_reasons : dict
        Why each channel of ``dropped`` was left out.
    filled : dict
        Model channels absent from the input and how their rows were made:
        canonical name -> ``"interpolated"`` or ``"zero"``.
    report : InputReport | None
        Every adaptation made (channels, rate, window), as one record.
    """

    data: np.ndarray
    ch_names: list
    sfreq: float
    dropped: list = field(default_factory=list)
    drop_reasons: dict = field(default_factory=dict)
    filled: dict = field(default_factory=dict)
    report: InputReport | None = None


# --------------------------------------------------------------------------
# Reading and validating the caller's input
# --------------------------------------------------------------------------


def _extremes(data):
    """Per-(epoch, channel) minimum and maximum, each (n_epochs, n_chans).

    Two passes over ``data`` without a copy; they propagate NaN and reveal
    inf (the finiteness check) and give flat channels (max == min).
    """
    if data.flags.c_contiguous:  # rows of samples: the fastest reduction
        rows = data.reshape(-1, data.shape[-1])
        shape = data.shape[:2]
        return rows.min(axis=1).reshape(shape), rows.max(axis=1).reshape(shape)
    return data.min(axis=2), data.max(axis=2)


def _check_finite(data, ch_names, extremes=None):
    low, high = _extremes(data) if extremes is None else extremes
    if np.isfinite(low).all() and np.isfinite(high).all():
        return
    bad = ~(np.isfinite(low) & np.isfinite(high)).all(axis=0)
    names = [ch_names[i] for i in np.flatnonzero(bad)]
    raise ValueError(
        f"The EEG contains non-finite values (NaN or inf) in channels {names}. "
        "Remove or repair those epochs/channels (e.g. drop the epochs, or mark the "
        "channels bad and interpolate them) before passing the data."
    )


def _check_sfreq(sfreq):
    try:
        value = float(sfreq)
    except (TypeError, ValueError):
        raise ValueError(
            f"sfreq must be the sampling rate in Hz (a positive number), got {sfreq!r}."
        ) from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq!r}.")
    return value


def _check_ch_names(ch_names, n_chans):
    if isinstance(ch_names, str) or not all(isinstance(n, str) for n in ch_names):
        raise ValueError(
            f"ch_names must be a list of str, one per channel, got {ch_names!r}."
        )
    ch_names = list(ch_names)
    if len(ch_names) != n_chans:
        raise ValueError(
            f"len(ch_names) = {len(ch_names)} but the data have {n_chans} channels "
            "(axis 1 of X, shape (n_epochs, n_chans, n_times)); give one name per channel."
        )
    seen = set()
    dupes = [n for n in ch_names if n in seen or seen.add(n)]
    if dupes:
        raise ValueError(f"ch_names contains duplicates: {sorted(set(dupes))}.")
    return ch_names


def _check_shape(shape, what):
    if len(shape) != 3:
        hint = " For a single epoch use X[np.newaxis]." if len(shape) == 2 else ""
        raise ValueError(
            f"{what} must be 3-D with shape (n_epochs, n_chans, n_times), got "
            f"{len(shape)}-D shape {tuple(shape)}.{hint}"
        )
    if min(shape) == 0:
        raise ValueError(
            f"{what} is empty: shape {tuple(shape)} (n_epochs, n_chans, n_times); "
            "pass at least one epoch with at least one channel and one sample."
        )


def _check_epochs_args(sfreq, ch_names, unit, got_sfreq, got_ch_names):
    if unit != "V":
        raise ValueError(
            f"unit={unit!r} applies only to arrays: mne.Epochs always hold volts. "
            "Leave unit='V' when passing Epochs."
        )
    if sfreq is not None and not np.isclose(float(sfreq), got_sfreq):
        raise ValueError(
            f"sfreq={sfreq!r} was given, but the Epochs are sampled at {got_sfreq} Hz. "
            "Leave sfreq=None for Epochs (it is read from epochs.info)."
        )
    if ch_names is not None and list(ch_names) != list(got_ch_names):
        raise ValueError(
            f"ch_names={list(ch_names)} was given, but the Epochs have channels "
            f"{list(got_ch_names)}. Leave ch_names=None for Epochs (they are read "
            "from epochs.ch_names)."
        )


def _epochs_data(epochs):
    # A view of the preloaded data; MNE reads from disk when not preloaded.
    return epochs.get_data(copy=False)


def _read_epochs_list(X):
    bad = [type(e).__name__ for e in X if not isinstance(e, mne.BaseEpochs)]
    if bad:
        raise TypeError(
            "A list X must hold mne.Epochs (as scikit-learn's splitters make from an "
            f"Epochs), got elements of type {sorted(set(bad))}."
        )
    first = X[0]
    for i, e in enumerate(X[1:], start=1):
        if e.ch_names != first.ch_names:
            raise ValueError(
                f"The Epochs in the list do not share channels: element 0 has "
                f"{first.ch_names}, element {i} has {e.ch_names}. Pick the same "
                "channels in the same order in all of them (epochs.pick / reorder_channels)."
            )
        if e.info["sfreq"] != first.info["sfreq"]:
            raise ValueError(
                f"The Epochs in the list do not share a sampling rate: element 0 is "
                f"{first.info['sfreq']} Hz, element {i} is {e.info['sfreq']} Hz. "
                "Resample them to one rate (epochs.resample) first."
            )
        if len(e.times) != len(first.times):
            raise ValueError(
                f"The Epochs in the list differ in length: element 0 has "
                f"{len(first.times)} samples, element {i} has {len(e.times)}. "
                "Crop them to one window length (epochs.crop) first."
            )
    # Gathering the one-epoch objects is the only per-element step.
    data = np.concatenate([_epochs_data(e) for e in X], axis=0)
    return data, first, _list_parts(X)


def _list_parts(X):
    """Group the elements of a list of Epochs by channel types and bad channels.

    Returns None when all elements agree (the usual case: the splits of one
    Epochs), else one :class:`EEGPart` per distinct combination, in order of
    first appearance (the first holds element 0).
    """
    signatures = [
        (
            tuple(sorted(e.info["bads"])),
            # MNE derives a channel's type from these fields; get_channel_types
            # (~30 us per element) runs once per distinct combination below.
            tuple((ch["kind"], ch["coil_type"], ch["unit"]) for ch in e.info["chs"]),
        )
        for e in X
    ]
    if all(sig == signatures[0] for sig in signatures):
        return None
    groups = {}
    for i, sig in enumerate(signatures):
        groups.setdefault(sig, []).append(i)
    sizes = np.array([len(e) for e in X])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    element_of = np.repeat(np.arange(len(X)), sizes)
    parts = []
    for members in groups.values():
        epochs = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in members])
        head = X[members[0]]
        parts.append(
            EEGPart(
                epochs=epochs,
                elements=element_of[epochs],
                ch_types=list(head.get_channel_types()),
                info=head.info,
            )
        )
    return parts


#: Physiological range of the median absolute amplitude of scalp EEG, µV (see
#: :func:`check_amplitude`).
AMPLITUDE_RANGE_UV = (0.1, 5000.0)

#: Typical median absolute amplitude of scalp EEG, µV: the unit suggested
#: for implausible data is the one that brings them closest to it.
_TYPICAL_UV = 10.0

_UNIT_WORDS = {"V": "volts", "mV": "millivolts", "uV": "microvolts"}


def check_amplitude(
    data, ch_names, *, unit="V", ch_types=None, bads=(), source="array", extremes=None,
    stacklevel=2,
) -> dict:  # fmt: skip
    """Warn when EEG amplitudes are implausible for scalp EEG or channels are flat.

    The statistic is the median absolute amplitude, in microvolts, of the
    EEG channels (type ``"eeg"``, not in ``bads``, not flat) after removing
    each epoch's mean per channel: robust to artefacts, DC offsets and a few
    dead channels. It is computed on at most 16 evenly spaced epochs and
    about 2**16 values in all, so it costs about a millisecond whatever the
    data size, besides the per-(epoch, channel) minimum and maximum (two
    passes over the data, shared with the finiteness check). Outside :data:`AMPLITUDE_RANGE_UV`, 0.1 µV to
    5 mV, one warning names the likely mistake and the fix.

    Why these bounds: scalp EEG is about 10-100 µV peak to peak (median
    absolute amplitude about 2-50 µV); the noise floor of EEG amplifiers is
    about 0.5-1 µV, so a median below 0.1 µV cannot be a recording (volts
    declared as microvolts give about 1e-5 µV, millivolts as microvolts
    about 0.01 µV); artefacts (blinks, movement) reach a few hundred µV to a
    few mV only in a minority of samples, so a median above 5 mV is not EEG
    either (microvolts declared as volts give about 1e7 µV, as millivolts
    about 1e4 µV, millivolts as volts about 1e4 µV). Every factor-1000 unit
    mistake on typical EEG (2-50 µV) falls outside the range; correct data
    do not.

    Channels constant over time (all zeros, or a constant) are reported too,
    by name: in every epoch, or in some.

    Parameters
    ----------
    data : ndarray of shape (n_epochs, n_chans, n_times)
        The EEG in ``unit`` (not modified, not copied).
    ch_names : list of str
        Channel names, one per row.
    unit : {"V", "mV", "uV", "µV"}
        The unit the caller declared for ``data`` (Epochs: ``"V"``).
    ch_types : list of str | None
        MNE channel types; ``None``: all ``"eeg"``.
    bads : collection of str
        Channels marked bad (left out of the check).
    source : {"array", "epochs"}
        Where the data came from, for the fix the warning suggests: an
        array's ``unit=`` parameter, or the scaling of the Epochs (which
        always hold volts; e.g. an EDF file whose unit field MNE did not
        understand).
    extremes : tuple of ndarray | None
        Per-(epoch, channel) minimum and maximum of ``data`` if already
        computed (:func:`read_eeg` computes them for the finiteness check).
    stacklevel : int
        ``stacklevel`` of the warnings, counted from the caller.

    Returns
    -------
    report : dict
        ``median_abs_uv`` (float, NaN without EEG channels), ``suggested_unit``
        (the unit that makes the amplitude plausible, or None when it is
        plausible or no unit does), ``flat`` (channels flat in every epoch)
        and ``flat_in_some`` (channel -> number of flat epochs).

    Warns
    -----
    UserWarning
        Once for an implausible amplitude, once for flat channels.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(scale=20, size=(4, 2, 500))  # µV
    >>> check_amplitude(X * 1e-6, ["Cz", "Pz"], unit="V")["suggested_unit"] is None
    True
    """
    factor = _UNIT_TO_VOLTS[unit] * 1e6  # to µV
    n_epochs, n_chans, n_times = data.shape
    ch_types = ["eeg"] * n_chans if ch_types is None else list(ch_types)
    bads = set(bads)
    rows = np.array(
        [k for k in range(n_chans) if ch_types[k] == "eeg" and ch_names[k] not in bads],
        dtype=np.intp,
    )
    report = {"median_abs_uv": float("nan"), "suggested_unit": None, "flat": [],
              "flat_in_some": {}}  # fmt: skip
    if not rows.size:
        return report
    low, high = _extremes(data) if extremes is None else extremes
    flat = high[:, rows] == low[:, rows]  # (n_epochs, n_eeg)
    n_flat = flat.sum(axis=0)
    report["flat"] = [ch_names[rows[k]] for k in np.flatnonzero(n_flat == n_epochs)]
    some = np.flatnonzero((n_flat > 0) & (n_flat < n_epochs))
    report["flat_in_some"] = {ch_names[rows[k]]: int(n_flat[k]) for k in some}
    if report["flat"] or report["flat_in_some"]:
        some = ", ".join(f"{name!r} in {n}" for name, n in report["flat_in_some"].items())
        parts = []
        if report["flat"]:
            parts.append(f"{report['flat']} in every epoch")
        if some:
            parts.append(f"{some} of {n_epochs} epochs")
        warnings.warn(
            f"Flat EEG channels (constant, e.g. all zeros): {'; '.join(parts)}. A disconnected "
            "or zero-filled electrode is not EEG: mark it bad (epochs.info['bads']) so the model "
            "treats it as missing (see on_missing), or drop it (epochs.drop_channels).",
            UserWarning,
            stacklevel=stacklevel,
        )
    live = rows[n_flat < n_epochs]
    if not live.size:
        return report
    # A bounded sample (at most ~2**16 values): evenly spaced epochs, strided
    # samples, live EEG rows.
    picks = np.unique(np.linspace(0, n_epochs - 1, min(n_epochs, 16)).round().astype(np.intp))
    per_row = max(8, 2**16 // (len(picks) * len(live)))
    step = max(1, -(-n_times // per_row))
    sample = np.asarray(data[picks, :, ::step][:, live], dtype=np.float64)
    sample -= sample.mean(axis=2, keepdims=True)
    median = float(np.median(np.abs(sample))) * factor
    report["median_abs_uv"] = median
    lo, hi = AMPLITUDE_RANGE_UV
    if lo <= median <= hi:
        return report
    # The unit under which these numbers would be plausible EEG.
    candidates = {
        u: median * _UNIT_TO_VOLTS[u] / _UNIT_TO_VOLTS[unit] for u in ("V", "mV", "uV")
    }
    plausible = {u: v for u, v in candidates.items() if lo <= v <= hi}
    suggested = (
        min(plausible, key=lambda u: abs(np.log10(plausible[u] / _TYPICAL_UV)))
        if plausible
        else None
    )
    report["suggested_unit"] = suggested
    size = "small" if median < lo else "large"
    head = (
        f"The EEG amplitude is implausibly {size}: median absolute amplitude "
        f"{median:.3g} \u00b5V (scalp EEG: about 2-50 \u00b5V; plausible "
        f"{lo:g}-{hi:g} \u00b5V)"
    )
    if source == "epochs":
        if suggested is not None and suggested != "V":
            scale = _UNIT_TO_VOLTS[suggested]
            fix = (
                f"The values look like {_UNIT_WORDS[suggested]}, but mne.Epochs hold volts "
                "(an EDF/BDF file whose unit field MNE did not understand?). Rescale them "
                f"(epochs.apply_function(lambda x: x * {scale:g}, picks='eeg')), read the file "
                f"with the right unit (mne.io.read_raw_edf(..., units='{suggested}')), or "
                f"pass the array with unit='{suggested}'."
            )
        else:
            fix = (
                "mne.Epochs hold volts: check how the data were scaled (an EDF/BDF unit "
                "field MNE did not understand, or a conversion applied twice)."
            )
    elif suggested is not None:
        fix = (
            f"The values look like {_UNIT_WORDS[suggested]} passed with unit={unit!r}; "
            f"pass unit='{suggested}'."
        )
    else:
        fix = (
            f"No unit makes them plausible: check the data's scaling (unit={unit!r} "
            "was declared)."
        )
    warnings.warn(f"{head}. {fix}", UserWarning, stacklevel=stacklevel)
    return report


def read_eeg(X, *, sfreq=None, ch_names=None, unit="V") -> EEGInput:
    """Validate EEG epochs and return them in volts with their metadata.

    Parameters
    ----------
    X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
        EEG epochs. A list is what scikit-learn's cross-validation splitters
        pass when ``X`` is an ``Epochs`` (one one-epoch ``Epochs`` per
        sample); its elements must share channels, sampling rate and length.
        Arrays are in ``unit`` (volts by default, MNE's convention).
    sfreq : float | None
        Sampling rate in Hz. Required for arrays; for Epochs leave it ``None``
        (or give the same value as ``epochs.info["sfreq"]``).
    ch_names : list of str | None
        Channel names, one per channel. Required for arrays; for Epochs leave
        it ``None`` (or give ``epochs.ch_names``).
    unit : {"V", "mV", "uV", "µV"}
        Unit of an array ``X``. Epochs always hold volts: only ``"V"`` is
        accepted with them.

    Returns
    -------
    eeg : EEGInput
        ``data`` of shape (n_epochs, n_chans, n_times) in volts (a view of
        ``X`` when no conversion is needed; never written to), channel names
        and MNE types, ``sfreq`` in Hz, and ``info`` for Epochs.

    Raises
    ------
    TypeError
        If ``X`` is not Epochs, a list of Epochs or a numeric array (e.g. a
        ``Raw``: cut it with ``mne.make_fixed_length_epochs``).
    ValueError
        If the data are not 3-D, empty, or contain NaN or inf; if ``sfreq``
        or ``ch_names`` are missing or invalid for an array, or disagree with
        the Epochs; if ``len(ch_names) != n_chans``; if the Epochs of a list
        differ in channels, sampling rate or length; if ``unit`` is unknown.

    Warns
    -----
    UserWarning
        Once per call, from :func:`check_amplitude`: if the EEG amplitude is
        implausible for the declared unit (naming the likely unit), or EEG
        channels are flat.

    Notes
    -----
    The elements of a list of Epochs may differ in bad channels and channel
    types: ``eeg.parts`` then groups them, and :func:`prepare_for_model`
    prepares each group with its own (see :class:`EEGPart`).
    """
    if unit not in _UNIT_TO_VOLTS:
        raise ValueError(
            f"unit must be one of {sorted(_UNIT_TO_VOLTS)}, got {unit!r}."
        )
    if isinstance(X, mne.BaseEpochs) or (
        isinstance(X, (list, tuple)) and len(X) and isinstance(X[0], mne.BaseEpochs)
    ):
        parts = None
        if isinstance(X, mne.BaseEpochs):
            if len(X) == 0:
                raise ValueError("The Epochs are empty (0 epochs, all dropped?).")
            data, epochs = _epochs_data(X), X
        else:
            data, epochs, parts = _read_epochs_list(list(X))
        info = epochs.info
        names = list(epochs.ch_names)
        _check_epochs_args(sfreq, ch_names, unit, info["sfreq"], names)
        _check_shape(data.shape, "The Epochs data")
        extremes = _extremes(data)
        _check_finite(data, names, extremes)
        types = list(epochs.get_channel_types()) if parts is None else list(parts[0].ch_types)
        check_amplitude(
            data, names, unit="V", ch_types=types, bads=info["bads"], source="epochs",
            extremes=extremes, stacklevel=_USER_STACKLEVEL,
        )  # fmt: skip
        return EEGInput(
            data=data, ch_names=names, ch_types=types, sfreq=float(info["sfreq"]), info=info,
            parts=parts,
        )  # fmt: skip
    if isinstance(X, (mne.io.BaseRaw, mne.Evoked)):
        raise TypeError(
            f"Got {type(X).__name__}; skeegfm needs epochs. Cut continuous data into "
            "windows with mne.make_fixed_length_epochs(raw, duration=...)."
        )
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError("X is an empty list; pass at least one epoch.")

    data = np.asarray(X)
    if data.dtype == object or not (
        np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)
    ):
        raise TypeError(
            "X must be mne.Epochs, a list of mne.Epochs, or a real numeric array of shape "
            f"(n_epochs, n_chans, n_times); got {type(X).__name__} of dtype {data.dtype}."
        )
    _check_shape(data.shape, "X")
    if sfreq is None or ch_names is None:
        missing = [n for n, v in (("sfreq", sfreq), ("ch_names", ch_names)) if v is None]
        raise ValueError(
            f"An array X needs {' and '.join(missing)}: pass sfreq (Hz) and ch_names "
            "(one name per channel), or pass an mne.Epochs instead."
        )
    sfreq = _check_sfreq(sfreq)
    names = _check_ch_names(ch_names, data.shape[1])
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    extremes = _extremes(data)
    _check_finite(data, names, extremes)
    check_amplitude(
        data, names, unit=unit, source="array", extremes=extremes, stacklevel=_USER_STACKLEVEL
    )
    factor = _UNIT_TO_VOLTS[unit]
    if factor != 1.0:
        data = data * data.dtype.type(factor)  # a new array: X is untouched
    return EEGInput(
        data=data, ch_names=names, ch_types=["eeg"] * len(names), sfreq=sfreq, info=None
    )


def check_same_channels(fitted_ch_names, fitted_sfreq, eeg: EEGInput) -> None:
    """Check that new EEG has the channels and rate seen at fit.

    Channels are compared by canonical name (:func:`normalize_ch_name`;
    names it does not recognise are compared as recorded, upper-cased), so
    their order may differ: the adapter reorders them by name anyway.

    Parameters
    ----------
    fitted_ch_names : list of str
        ``EEGInput.ch_names`` of the data seen at fit.
    fitted_sfreq : float
        ``EEGInput.sfreq`` of the data seen at fit, Hz.
    eeg : EEGInput
        The new data.

    Raises
    ------
    ValueError
        If the channels differ (the message gives both lists) or the sampling
        rate differs.
    """

    def keys(names):
        canonical = normalize_ch_names(names)
        return sorted(c or str(n).strip().upper() for n, c in zip(names, canonical))

    if keys(fitted_ch_names) != keys(eeg.ch_names):
        raise ValueError(
            "The EEG has different channels than at fit: fitted on "
            f"{list(fitted_ch_names)}, got {list(eeg.ch_names)}. Pass data with the "
            "channels used at fit (epochs.pick), or refit."
        )
    if not np.isclose(float(fitted_sfreq), eeg.sfreq):
        raise ValueError(
            f"The EEG is sampled at {eeg.sfreq} Hz but the estimator was fitted on "
            f"{float(fitted_sfreq)} Hz data. Resample it (epochs.resample("
            f"{float(fitted_sfreq)})) or refit."
        )


# --------------------------------------------------------------------------
# Applying a checkpoint's input contract
# --------------------------------------------------------------------------


def _standard_montage():
    """MNE's 10-05 template montage (see :func:`skeegfm._channels.standard_montage`)."""
    return standard_montage()


@dataclass
class ChannelSelection:
    """Which input channels feed which model channels, and what was left out.

    Made by :func:`select_channels` from channel names and types only (no
    data), so that estimators and the recording-level helpers of the
    ``skeegfm`` command share one implementation.

    Attributes
    ----------
    rows : list of int
        Input rows fed to the model, in the model's order.
    used : list of str
        Their recorded names.
    canonical : list of str
        Their canonical names (model vocabulary).
    model_names : list of str
        Canonical names of the model's input rows: all the model's channels
        for positional models, ``canonical`` for models that match by name.
    slots : list of int
        Output row of each of ``rows``.
    missing : list of str
        Model channels absent from the input (positional models only).
    dropped : dict of str to str
        Input channels left out, as recorded -> why, in input order.
    renamed : dict of str to str
        Used channels whose recorded name is not the canonical one.
    aliases_applied : dict of str to str
        Entries of ``ch_aliases`` that matched a channel.
    references : dict of str to str
        Used channels whose name states a reference -> that reference.
    notices : list of str
        What the caller should be told once (a summary of left-out channels,
        unused aliases); :func:`prepare_for_model` warns with them.
    """

    rows: list
    used: list
    canonical: list
    model_names: list
    slots: list
    missing: list
    dropped: dict
    renamed: dict
    aliases_applied: dict
    references: dict
    notices: list

    @property
    def reference(self):
        """The reference(s) the used channels' names state, or None."""
        refs = sorted(set(self.references.values()))
        return ", ".join(refs) if refs else None


def _listing(names, limit=100):
    shown = [repr(n) for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return "[" + ", ".join(shown) + "]" + more


def _unknown_message(record, no_slot, bipolar, other):
    parts = []
    if bipolar:
        pairs = ", ".join(f"{n!r} ({p.electrode}-{p.reference})" for n, p in bipolar)
        what = (
            "is a bipolar derivation between two scalp electrodes, not an electrode"
            if len(bipolar) == 1
            else "are bipolar derivations between two scalp electrodes, not electrodes"
        )
        parts.append(
            f"{pairs} {what}: the model needs each electrode against one common reference. "
            "Use referential channels if the recording has them"
        )
    if other:
        names = [n for n, _ in other]
        verb = "is not an electrode name" if len(names) == 1 else "are not electrode names"
        parts.append(
            f"{_listing(names)} {verb} of the 10-05 system (MNE's template montage) nor of a "
            "known convention (case, "
            "'EEG ' / 'EEG-' / 'EEG:' prefixes, trailing dots, '-REF'/'-LE'/'-A1'/'-M2' "
            f"references, old names T3/T4/T5/T6). Name their electrodes with "
            f"{option_hint('ch_aliases', {names[0]: '<electrode>'})}, or type them as "
            "non-EEG (set_channel_types) if they are not scalp EEG"
        )
    if no_slot:
        names = [n for n, _ in no_slot]
        parts.append(
            f"{_listing(names)} {'is an electrode' if len(names) == 1 else 'are electrodes'} "
            f"{record.name} has no channel for ({option_hint('on_unknown', 'auto')}, the default, "
            "drops those)"
        )
    fix = option_hint("on_unknown", "drop")
    return (
        f"{len(no_slot) + len(bipolar) + len(other)} EEG channel(s) cannot be matched to "
        f"{record.name}'s channels: " + "; ".join(parts) + f". Pass {fix} to leave all of "
        f"them out. {record.name}'s channels: {list(record.ch_names)}."
    )


def select_channels(
    ch_names, ch_types, record, *, bads=(), on_unknown="auto", on_missing="raise",
    ch_aliases=None,
) -> ChannelSelection:  # fmt: skip
    """Match recorded channels to the channels of one checkpoint, by name.

    For each input channel, in order: a ``ch_aliases`` entry renames it;
    a channel typed EEG whose name says EOG, EMG or ECG
    (:func:`~skeegfm._channels.channel_type_from_name`) is taken as that type;
    non-EEG channels and channels in ``bads`` are left out; the name is read
    with :func:`~skeegfm._channels.parse_ch_name` and looked up in the
    model's vocabulary. Names without a match are handled by ``on_unknown``.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names as recorded.
    ch_types : sequence of str
        MNE channel types, one per name.
    record : skeegfm.models._pretrained.ModelRecord
        The checkpoint's input contract.
    bads : collection of str
        Channels marked bad (left out; count as missing).
    on_unknown : {"auto", "raise", "drop"}
        EEG channels without a match in the model's vocabulary. ``"auto"``
        (default): electrodes of MNE's 10-05 montage the model has no channel
        for are left out (a cap larger than the model's set is normal);
        bipolar derivations and names that are not electrodes raise, because
        they may hold a channel the model needs under a name skeegfm cannot
        read (name it with ``ch_aliases``). ``"drop"``: leave every such
        channel out. ``"raise"``: raise for any of them.
    on_missing : {"raise", "interpolate", "zero"}
        Positional models: ``"raise"`` raises when model channels are
        absent; the other values let :func:`prepare_for_model` fill them.
    ch_aliases : dict of str to str | None
        ``{recorded name: electrode name}``, applied before any rule (e.g.
        ``{"EEG-0": "Fz"}``).

    Returns
    -------
    selection : ChannelSelection

    Raises
    ------
    ValueError
        If channels are unknown (per ``on_unknown``), missing
        (``on_missing="raise"``), if two channels map to one electrode, or if
        no channel matches. Messages name the options of the context
        (:func:`~skeegfm._channels.option_style`).
    """
    if on_missing not in _ON_MISSING:
        raise ValueError(f"on_missing must be one of {_ON_MISSING}, got {on_missing!r}.")
    if on_unknown not in _ON_UNKNOWN:
        raise ValueError(f"on_unknown must be one of {_ON_UNKNOWN}, got {on_unknown!r}.")
    aliases = check_ch_aliases(ch_aliases)
    names = [str(n) for n in ch_names]
    bads = set(bads)
    vocab = frozenset(record.ch_names)
    rows, canonical, reasons = [], [], {}
    renamed, applied, references, by_name_type = {}, {}, {}, {}
    no_slot, bipolar, other = [], [], []
    seen = {}
    for i, (name, kind) in enumerate(zip(names, ch_types)):
        effective = name
        if name in aliases:
            effective = applied[name] = aliases[name]
        elif kind == "eeg":
            guessed = channel_type_from_name(name)
            if guessed is not None:
                kind = by_name_type[name] = guessed
        if name in by_name_type:
            reasons[name] = f"typed {kind!r} by its name (not EEG)"
            continue
        if kind != "eeg":
            reasons[name] = f"channel type {kind!r} is not EEG"
            continue
        if name in bads:
            reasons[name] = "marked bad in info['bads']"
            continue
        parsed = parse_ch_name(effective)
        canon = normalize_ch_name(effective, vocab)
        if canon is None:
            if parsed.kind == "electrode":
                no_slot.append((name, parsed))
            elif parsed.kind == "bipolar":
                bipolar.append((name, parsed))
            else:
                other.append((name, parsed))
            continue
        if canon in seen:
            raise ValueError(
                f"Channels {seen[canon]!r} and {name!r} both map to {canon}. Drop or "
                "rename one of them (epochs.drop_channels / mne.rename_channels, or "
                f"{option_hint('ch_aliases', {name: '<other electrode>'})})."
            )
        seen[canon] = name
        rows.append(i)
        canonical.append(canon)
        if name.strip().upper() != canon:
            renamed[name] = canon
        if parsed.reference is not None:
            references[name] = parsed.reference

    strict = (no_slot + bipolar + other) if on_unknown == "raise" else (bipolar + other)
    if on_unknown != "drop" and strict:
        raise ValueError(
            _unknown_message(record, no_slot if on_unknown == "raise" else [], bipolar, other)
        )
    for name, _ in no_slot:
        reasons[name] = f"an electrode {record.name} has no channel for"
    for name, _ in bipolar:
        reasons[name] = "a bipolar derivation, not an electrode"
    for name, _ in other:
        reasons[name] = "not an electrode name"

    notices = []
    left_out = []
    if no_slot:
        left_out.append(
            f"{len(no_slot)} electrode(s) it has no channel for {_listing([n for n, _ in no_slot])}"
        )
    if bipolar or other:
        left_out.append(
            f"{len(bipolar) + len(other)} channel(s) that are not electrodes "
            f"{_listing([n for n, _ in bipolar + other])}"
        )
    if by_name_type:
        typed = ", ".join(f"{n!r} ({t})" for n, t in by_name_type.items())
        left_out.append(f"{len(by_name_type)} channel(s) typed by their names: {typed}")
    if left_out:
        notices.append(f"{record.name}: leaving out " + "; ".join(left_out) + ".")
    unused = [old for old in aliases if old not in set(names)]
    if unused:
        notices.append(
            f"ch_aliases names channels the data do not have: {unused}; those entries were "
            f"not applied (channels: {names})."
        )

    dropped = {n: reasons[n] for n in names if n in reasons}
    if not rows:
        raise ValueError(
            f"None of the channels {names} can be fed to {record.name}, whose channels are "
            f"{list(record.ch_names)} (left out: {dropped})."
        )

    vocab_index = {name: k for k, name in enumerate(record.ch_names)}
    order = np.argsort([vocab_index[c] for c in canonical], kind="stable")
    rows = [rows[k] for k in order]
    canonical = [canonical[k] for k in order]
    if record.channel_matching == "positional":
        model_names = list(record.ch_names)
        slots = [vocab_index[c] for c in canonical]
        missing = [model_names[s] for s in sorted(set(range(len(model_names))) - set(slots))]
        if missing and on_missing == "raise":
            raise ValueError(
                f"{record.name} needs channels {missing}, which the data lack (or are marked "
                f"bad). Pass {option_hint('on_missing', 'interpolate')} (spherical splines "
                f"from the electrode positions) or {option_hint('on_missing', 'zero')} (feed "
                "zeros), add them, or name them if they are there under another name "
                f"({option_hint('ch_aliases', {'<recorded name>': missing[0]})})."
            )
    else:
        model_names = list(canonical)
        slots = list(range(len(rows)))
        missing = []
    return ChannelSelection(
        rows=rows,
        used=[names[r] for r in rows],
        canonical=canonical,
        model_names=model_names,
        slots=slots,
        missing=missing,
        dropped=dropped,
        renamed=renamed,
        aliases_applied=applied,
        references=references,
        notices=notices,
    )


def _warn(message, stacklevel=3):
    warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def _positions(info, names):
    """Electrode positions (head frame, m) of ``names`` in ``info``, or None."""
    if info is None:
        return None
    chs = [info["chs"][info["ch_names"].index(n)] for n in names]
    pos = np.array([ch["loc"][:3] for ch in chs], dtype=float)
    if not np.isfinite(pos).all() or np.any(np.linalg.norm(pos, axis=1) == 0):
        return None
    if any(ch["coord_frame"] != mne.io.constants.FIFF.FIFFV_COORD_HEAD for ch in chs):
        return None  # set_montage puts positions in the head frame; anything else is ambiguous
    return pos


def _interpolate(data, slots, present_names, present_pos, model_names, missing_slots, sfreq):
    """Fill ``data[:, missing_slots]`` by spherical-spline interpolation.

    ``data`` has the model's channel layout; ``slots`` are the rows holding
    real channels, recorded under ``present_names`` at ``present_pos``.
    """
    montage = _standard_montage()
    std = {n.upper(): n for n in montage.ch_names}
    missing = [model_names[s] for s in missing_slots]
    no_pos = [m for m in missing if m not in std]
    if no_pos:
        raise ValueError(f"No standard position for channels {no_pos}; cannot interpolate them.")
    # Standard positions of the missing channels, in the head frame.
    tmp = mne.create_info([std[m] for m in missing], sfreq, "eeg")
    tmp.set_montage(montage, verbose=False)
    missing_pos = np.array([ch["loc"][:3] for ch in tmp["chs"]])

    names = list(present_names) + [std[m] for m in missing]
    ch_pos = dict(zip(names, np.concatenate([present_pos, missing_pos])))
    info = mne.create_info(names, sfreq, "eeg")
    info.set_montage(mne.channels.make_dig_montage(ch_pos=ch_pos, coord_frame="head"))
    info["bads"] = [std[m] for m in missing]
    order = list(slots) + list(missing_slots)
    epochs = mne.EpochsArray(data[:, order], info, verbose=False)
    epochs.interpolate_bads(reset_bads=True, mode="accurate", verbose=False)
    data[:, missing_slots] = epochs.get_data(copy=False)[:, len(slots) :]


def _inclusive_end(eeg, record, length):
    """Whether a window is whole patches plus the one sample of an inclusive end.

    MNE and MOABB epochs include the sample at ``tmax``: ``tmax - tmin = 3 s`` at
    128 Hz gives 385 samples, which resampling to ``record.sfreq`` turns into
    whole patches plus a sample or two. True when the window without its last
    input sample lasts exactly the whole patches that ``length`` (samples at
    ``record.sfreq``) holds.
    """
    n_in = eeg.data.shape[-1]
    exclusive = (n_in - 1) * float(record.sfreq) / float(eeg.sfreq)
    whole = length - length % record.patch_size
    return n_in > 1 and whole >= record.min_n_times and abs(exclusive - whole) < 1e-6


def prepare_for_model(
    eeg: EEGInput, record, *, on_missing="raise", on_unknown="auto", ch_aliases=None,
    n_times=None, warn=True, model_ch_names=None,
) -> PreparedInput:  # fmt: skip
    """Turn validated EEG into the input one released checkpoint expects.

    In order: channels are matched by name (:func:`select_channels`:
    ``ch_aliases``, types read from names, the conventions of
    :func:`~skeegfm._channels.parse_ch_name`) and put in the model's order;
    channels of a non-EEG type or marked bad are left out; for positional
    models (``record.channel_matching == "positional"``: EEG-DINO,
    CodeBrain, CBraMod) the model's channels absent from the data are
    handled by ``on_missing``; the data are resampled to
    ``record.sfreq`` with :func:`mne.filter.resample` (``method="polyphase",
    pad="edge"``: an anti-aliased polyphase FIR, about 20 times faster than
    the FFT method on 4 s epochs and free of its circular wrap-around at the
    window edges; the same as ``Epochs.resample(..., method="polyphase")``);
    re-referenced to the average of the fed channels when
    ``record.reference == "average"``; multiplied by
    ``record.scale_from_volts``; and cut to the encoder's window rule
    ``record.window`` (``"pad"``, EEG-DINO: zero-padded to a multiple of
    ``record.patch_size``; ``"trim"``, CodeBrain and CBraMod: trimmed to a
    multiple, with a warning; ``"keep"``, EEGPT: unchanged). Under ``"pad"``
    and ``"trim"``, a window of whole patches plus the one sample of an
    inclusive ``tmax`` (385 samples for 3 s at 128 Hz, as MNE and MOABB cut
    them) loses that sample, without a warning.

    Every adaptation is recorded in ``prepared.report``
    (:class:`InputReport`). With ``warn=True`` the caller is told once, by
    one warning each: the channels left out (electrodes without a model
    channel, channels typed by their names), unused ``ch_aliases``, more than
    a quarter of the model's channels filled (the embeddings degrade),
    upsampling by a factor of 1.5 or more (e.g. 50 -> 200 Hz: the model sees
    no content above the data's Nyquist frequency), and trimming.

    Parameters
    ----------
    eeg : EEGInput
        Output of :func:`read_eeg`; never modified.
    record : skeegfm.models._pretrained.ModelRecord
        The checkpoint's input contract.
    on_missing : {"raise", "interpolate", "zero"}
        For positional models, what to do with model channels absent from the
        data (or marked bad): raise listing them; interpolate them with MNE's
        spherical splines from the electrode positions of the data (standard
        10-05 positions for the missing ones; Epochs with a montage needed);
        or feed zeros. Ignored by models that match channels by name.
    on_unknown : {"auto", "raise", "drop"}
        EEG channels whose names are not in the model's vocabulary; see
        :func:`select_channels`. ``"auto"`` drops valid 10-05 electrodes and
        raises for bipolar derivations and names that are not electrodes.
    ch_aliases : dict of str to str | None
        ``{recorded name: electrode name}`` (e.g. ``{"EEG-0": "Fz"}``).
    n_times : int | None
        If given, the number of samples (at ``record.sfreq``, after the
        window rule) the output must have, e.g. the length seen at fit.
    warn : bool
        Issue the warnings above. Estimators warn once per ``fit`` and pass
        ``False`` for the data they prepare afterwards.
    model_ch_names : list of str | None
        If given, the canonical channels (in model order) the output must
        have, e.g. those an EEGPT encoder was built for at fit.

    Returns
    -------
    prepared : PreparedInput
        ``data`` of shape (n_epochs, n_model_chans, n_model_times), float32,
        C-contiguous, in ``record.unit``; the canonical channel names in model
        order; ``record.sfreq``; what was dropped or filled; and ``report``.

    Raises
    ------
    ValueError
        If channels are unknown (per ``on_unknown``), missing
        (``on_missing="raise"``), impossible to interpolate (no electrode
        positions), if no channel matches, if two channels map to one name,
        if the resampled window is shorter than ``record.min_n_times``
        (checked before resampling), if its length differs from ``n_times``,
        if the fed channels differ from ``model_ch_names`` (the message names
        the channels and why they are left out, e.g. marked bad), if the
        elements of a list of Epochs feed different channels (naming the
        elements), or if the output holds NaN or inf (float32 overflow of
        implausibly large input).
    """
    if eeg.parts:
        return _prepare_parts(
            eeg, record, on_missing=on_missing, on_unknown=on_unknown, ch_aliases=ch_aliases,
            n_times=n_times, warn=warn, model_ch_names=model_ch_names,
        )  # fmt: skip
    # Before resampling: MNE's filter design fails on a few samples.
    n_out = int(round(eeg.data.shape[-1] * float(record.sfreq) / eeg.sfreq))
    if n_out < record.min_n_times:
        raise ValueError(_too_short_message(eeg, record, n_out))
    bads = eeg.info["bads"] if eeg.info is not None else ()
    sel = select_channels(
        eeg.ch_names, eeg.ch_types, record, bads=bads, on_unknown=on_unknown,
        on_missing=on_missing, ch_aliases=ch_aliases,
    )  # fmt: skip
    if warn:
        for notice in sel.notices:
            _warn(notice)
    rows, slots, model_names = sel.rows, sel.slots, sel.model_names
    if model_ch_names is not None and list(model_names) != list(model_ch_names):
        raise ValueError(
            _channel_change_message(
                record, model_names, model_ch_names, list(sel.dropped), dict(sel.dropped)
            )
        )
    missing_slots = [model_names.index(m) for m in sel.missing]
    present_pos = None
    if sel.missing and on_missing == "interpolate":
        present_pos = _positions(eeg.info, sel.used)
        if present_pos is None:
            raise ValueError(
                f"Cannot interpolate the missing channels {sel.missing}: the data have no "
                "electrode positions (in the head frame). Pass mne.Epochs with a montage "
                "(epochs.set_montage with e.g. the 'colin27_1020' template), or use "
                f"{option_hint('on_missing', 'zero')}."
            )

    # Gather into the model's layout, in float64 (MNE's resampling requires it):
    # the one copy of the caller's data. float32 comes once, at the end.
    src = eeg.data
    shape = (src.shape[0], len(model_names), src.shape[2])
    data = np.zeros(shape) if missing_slots else np.empty(shape)
    if slots == rows == list(range(src.shape[1])) and len(model_names) == src.shape[1]:
        data[:] = src
    else:
        data[:, slots] = src[:, rows]
    filled = {}
    if missing_slots:
        if on_missing == "interpolate":
            _interpolate(data, slots, sel.used, present_pos, model_names, missing_slots, eeg.sfreq)
        how = "interpolated" if on_missing == "interpolate" else "zero"
        filled = {model_names[s]: how for s in missing_slots}
        if warn and len(filled) * 4 > len(model_names):
            _warn(
                f"{len(filled)} of the {len(model_names)} channels of {record.name} are absent "
                f"from the data and were filled ({how}): {list(filled)}. With more than a "
                "quarter of its channels filled, the model sees little of its pretraining "
                "input and the embeddings degrade; prefer data with more of its channels."
            )

    resampled_from = None
    if not np.isclose(eeg.sfreq, record.sfreq, rtol=0, atol=1e-6):
        resampled_from = float(eeg.sfreq)
        if warn and eeg.sfreq * _UPSAMPLING_NOTICE <= record.sfreq:
            _warn(
                f"The data are sampled at {eeg.sfreq:g} Hz and are upsampled to "
                f"{record.sfreq:g} Hz for {record.name}: they hold nothing above "
                f"{eeg.sfreq / 2:g} Hz (their Nyquist frequency), unlike the model's "
                "pretraining data."
            )
        data = mne.filter.resample(
            data,
            up=float(record.sfreq),
            down=float(eeg.sfreq),
            axis=-1,
            method="polyphase",
            pad="edge",
            verbose=False,
        )
    if data.shape[-1] < record.min_n_times:
        raise ValueError(_too_short_message(eeg, record, data.shape[-1]))

    if record.reference == "average":
        # Zero-filled slots stay zero; the mean is over the channels with signal.
        real = [k for k, name in enumerate(model_names) if filled.get(name) != "zero"]
        if len(real) == len(model_names):
            data -= data.mean(axis=1, keepdims=True)
        else:
            data[:, real] -= data[:, real].mean(axis=1, keepdims=True)
    elif record.reference != "none":
        raise ValueError(f"Unknown reference {record.reference!r} in record {record.name}.")
    data *= data.dtype.type(record.scale_from_volts)

    rule = record.window
    length, patch = data.shape[-1], record.patch_size
    padded = trimmed = 0
    if rule in ("pad", "trim") and length % patch and _inclusive_end(eeg, record, length):
        # Whole patches plus the sample of an inclusive end (MNE's and MOABB's
        # tmax: 3 s at 128 Hz is 385 samples): that sample goes, silently.
        trimmed = length % patch
        data = data[..., : length - trimmed]
    elif rule == "pad" and length % patch:
        padded = patch - length % patch
        data = np.concatenate(
            [data, np.zeros(data.shape[:2] + (padded,), dtype=data.dtype)], axis=-1
        )
    elif rule == "trim" and length % patch:
        keep = length - length % patch
        trimmed = length - keep
        if warn:
            _warn(
                f"{record.name} takes whole {patch}-sample patches: dropping the last "
                f"{trimmed} samples of each {length}-sample window (samples "
                f"{keep}..{length - 1} at {record.sfreq} Hz)."
            )
        data = data[..., :keep]

    if n_times is not None and data.shape[-1] != n_times:
        raise ValueError(
            f"The prepared windows have {data.shape[-1]} samples at {record.sfreq} Hz, "
            f"but {n_times} are expected (the length seen at fit). Cut the epochs to "
            "the same duration as the training data."
        )

    report = InputReport(
        model=record.name,
        channels_used=list(sel.used),
        model_channels=list(model_names),
        channels_dropped=dict(sel.dropped),
        channels_filled=dict(filled),
        channels_renamed=dict(sel.renamed),
        ch_aliases_applied=dict(sel.aliases_applied),
        reference=sel.reference,
        model_reference=record.reference,
        model_unit=record.unit,
        sfreq_in=float(eeg.sfreq),
        sfreq=float(record.sfreq),
        resampled_from=resampled_from,
        samples_padded=int(padded),
        samples_trimmed=int(trimmed),
    )
    out = np.ascontiguousarray(data, dtype=np.float32)
    if not (np.isfinite(out.min()) and np.isfinite(out.max())):
        peak = float(np.nanmax(np.abs(eeg.data)))
        raise ValueError(
            f"After preprocessing for {record.name} (resampling, re-referencing, scaling to "
            f"{record.unit}, float32) the EEG holds non-finite values: the input reaches "
            f"{peak:.3g} V, which overflows float32 ({record.scale_from_volts:g} x volts). "
            "Scalp EEG is below about 1e-3 V: check the data's unit (unit=) and scaling."
        )
    return PreparedInput(
        data=out,
        ch_names=list(model_names),
        sfreq=float(record.sfreq),
        dropped=list(sel.dropped),
        drop_reasons=dict(sel.dropped),
        filled=filled,
        report=report,
    )


def _too_short_message(eeg, record, n_out):
    return (
        f"Windows of {eeg.data.shape[-1]} samples at {eeg.sfreq:g} Hz are "
        f"{n_out} samples at {record.sfreq:g} Hz, shorter than the "
        f"{record.min_n_times} samples ({record.min_n_times / record.sfreq:g} s, one patch) "
        f"{record.name} needs. Use epochs of at least {record.min_n_times / record.sfreq:g} s."
    )


def _why_left_out(canon, record, dropped, reasons):
    """How input channels that map to ``canon`` were left out, or None."""
    names = [n for n in dropped if normalize_ch_name(n, record.ch_names) == canon]
    return "; ".join(f"{n!r}: {reasons[n]}" for n in names) or None


def _channel_change_message(record, model_names, expected, dropped, reasons):
    now, then = list(model_names), list(expected)
    lost = [c for c in then if c not in now]
    new = [c for c in now if c not in then]
    parts = []
    for canon in lost:
        why = _why_left_out(canon, record, dropped, reasons) or "absent from the data"
        parts.append(f"{canon} was fed at fit but is left out now ({why})")
    for canon in new:
        parts.append(f"{canon} is fed now but was not at fit (marked bad, not EEG or absent then)")
    if not parts:
        parts.append(f"same channels in another order ({now} instead of {then})")
    return (
        f"The channels fed to {record.name} differ from those at fit: {'; '.join(parts)}. "
        "The encoder was built for the channels seen at fit: mark the same channels bad as "
        "then (info['bads']), interpolate the bad ones (epochs.interpolate_bads()), or refit."
    )


def _prepare_parts(eeg, record, **kwargs) -> PreparedInput:
    """:func:`prepare_for_model` of a list of Epochs whose elements differ in
    bad channels or channel types: each group of elements prepared with its
    own, then the results put back in epoch order. The model must receive
    the same channels from every element."""
    model_ch_names = kwargs.pop("model_ch_names", None)
    results = []
    for part in eeg.parts:
        sub = EEGInput(
            data=eeg.data[part.epochs], ch_names=eeg.ch_names, ch_types=list(part.ch_types),
            sfreq=eeg.sfreq, info=part.info,
        )  # fmt: skip
        element = int(part.elements[0])
        try:
            prepared = prepare_for_model(sub, record, **kwargs)
        except ValueError as err:
            raise ValueError(
                f"Element {element} of the list of Epochs (bad channels "
                f"{sorted(part.info['bads'])}): {err}"
            ) from err
        results.append((part, prepared))
    first_part, first = results[0]
    for part, prepared in results[1:]:
        if prepared.ch_names != first.ch_names or prepared.data.shape[1:] != first.data.shape[1:]:
            a, b = int(first_part.elements[0]), int(part.elements[0])
            only_a = [c for c in first.ch_names if c not in prepared.ch_names]
            only_b = [c for c in prepared.ch_names if c not in first.ch_names]
            facts = []
            for canon in only_a:
                why = _why_left_out(canon, record, prepared.dropped, prepared.drop_reasons)
                facts.append(f"element {b} leaves out {canon} ({why or 'absent'})")
            for canon in only_b:
                why = _why_left_out(canon, record, first.dropped, first.drop_reasons)
                facts.append(f"element {a} leaves out {canon} ({why or 'absent'})")
            raise ValueError(
                f"The elements of the list of Epochs feed different channels to {record.name}: "
                f"{'; '.join(facts) or 'other window length'}. {record.name} takes one set of "
                "channels for all epochs: mark the same channels bad and give channels the same "
                "types in every element (info['bads'], set_channel_types), or interpolate the "
                "bad ones (epochs.interpolate_bads())."
            )
    if model_ch_names is not None and first.ch_names != list(model_ch_names):
        raise ValueError(
            _channel_change_message(
                record, first.ch_names, model_ch_names, first.dropped, first.drop_reasons
            )
        )
    data = np.empty((eeg.n_epochs,) + first.data.shape[1:], dtype=np.float32)
    dropped, reasons, filled = [], {}, {}
    for part, prepared in results:
        data[part.epochs] = prepared.data
        elements = sorted(set(part.elements.tolist()))
        where = f" (elements {elements[:5]}{' ...' if len(elements) > 5 else ''})"
        for name in prepared.dropped:
            if name not in reasons:
                dropped.append(name)
                reasons[name] = prepared.drop_reasons[name] + where
            elif prepared.drop_reasons[name] + where != reasons[name]:
                reasons[name] += "; " + prepared.drop_reasons[name] + where
        for name, how in prepared.filled.items():
            filled.setdefault(name, how)
    order = {name: k for k, name in enumerate(eeg.ch_names)}
    dropped = sorted(dropped, key=order.get)
    report = first.report
    if report is not None:
        report = dataclasses.replace(
            report,
            channels_dropped={name: reasons[name] for name in dropped},
            channels_filled=dict(filled),
        )
    return PreparedInput(
        data=data, ch_names=list(first.ch_names), sfreq=first.sfreq,
        dropped=dropped, drop_reasons=reasons, filled=filled, report=report,
    )  # fmt: skip


def prepare(
    X, record, *, sfreq=None, ch_names=None, unit="V", on_missing="raise", on_unknown="auto",
    ch_aliases=None, n_times=None, warn=True,
) -> PreparedInput:  # fmt: skip
    """Read and prepare EEG in one call: ``prepare_for_model(read_eeg(X, ...), record, ...)``.

    Parameters
    ----------
    X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
        See :func:`read_eeg`.
    record : skeegfm.models._pretrained.ModelRecord
        The checkpoint's input contract.
    sfreq, ch_names, unit
        See :func:`read_eeg`.
    on_missing, on_unknown, ch_aliases, n_times, warn
        See :func:`prepare_for_model`.

    Returns
    -------
    prepared : PreparedInput
        float32 data of shape (n_epochs, n_model_chans, n_model_times).

    Examples
    --------
    >>> import numpy as np
    >>> from skeegfm._registry import get_record
    >>> X = np.zeros((2, 3, 1000))  # volts: 2 epochs of 4 s at 250 Hz
    >>> out = prepare(X, get_record("eegpt"), sfreq=250, ch_names=["O2", "EEG Fp1", "Cz"])
    >>> out.data.shape, out.data.dtype, out.ch_names
    ((2, 3, 1024), dtype('float32'), ['FP1', 'CZ', 'O2'])
    """
    eeg = read_eeg(X, sfreq=sfreq, ch_names=ch_names, unit=unit)
    return prepare_for_model(
        eeg, record, on_missing=on_missing, on_unknown=on_unknown, ch_aliases=ch_aliases,
        n_times=n_times, warn=warn,
    )  # fmt: skip
