"""The input adapter: the single choke point between EEG and the encoders.

Every estimator turns its ``X`` into model-ready data here and nowhere else,
in two steps:

1. :func:`read_eeg` validates what the caller passed (an ``mne.Epochs``, the
   list of one-epoch ``Epochs`` that scikit-learn's cross-validation
   splitters hand over, or an array with ``sfreq`` and ``ch_names``) and
   returns an :class:`EEGInput` in volts, without copying or modifying the
   caller's data.
2. :func:`prepare_for_model` applies the input contract of one released
   checkpoint (a :class:`~skeegfm._registry.ModelRecord`): channels matched by
   name and put in the model's order, missing channels handled, resampling,
   re-referencing, scaling to the model's unit, and the window rule of the
   encoder. It returns a :class:`PreparedInput` holding float32 data.

Channel names are compared only through
:func:`skeegfm._channels.normalize_ch_name`; sampling rates, units and
references are read only from the record.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import mne
import numpy as np

from ._channels import normalize_ch_name

__all__ = [
    "EEGInput",
    "PreparedInput",
    "check_same_channels",
    "prepare",
    "prepare_for_model",
    "read_eeg",
]

#: Factor from each accepted array unit to volts.
_UNIT_TO_VOLTS = {
    "V": 1.0,
    "mV": 1e-3,
    "uV": 1e-6,
    "\u00b5V": 1e-6,  # MICRO SIGN
    "\u03bcV": 1e-6,  # GREEK SMALL LETTER MU
}

#: What each encoder does with a window whose length is not a multiple of
#: ``record.patch_size`` (MODELS.md 1.2, 2.2, 3.2).
_WINDOW_RULES = {"EEGDINO": "pad", "CodeBrain": "trim", "EEGPT": "keep"}

_ON_MISSING = ("raise", "interpolate", "zero")
_ON_UNKNOWN = ("raise", "drop")


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
        interpolation, bad channels); ``None`` for arrays.
    """

    data: np.ndarray
    ch_names: list
    ch_types: list
    sfreq: float
    info: mne.Info | None = None

    @property
    def n_epochs(self) -> int:
        """Number of epochs."""
        return self.data.shape[0]


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
        bad, names outside the model's vocabulary with ``on_unknown="drop"``).
    drop_reasons : dict
        Why each channel of ``dropped`` was left out.
    filled : dict
        Model channels absent from the input and how their rows were made:
        canonical name -> ``"interpolated"`` or ``"zero"``.
    """

    data: np.ndarray
    ch_names: list
    sfreq: float
    dropped: list = field(default_factory=list)
    drop_reasons: dict = field(default_factory=dict)
    filled: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# Reading and validating the caller's input
# --------------------------------------------------------------------------


def _check_finite(data, ch_names):
    # min and max propagate NaN and reveal inf without a boolean copy of data.
    if data.size and np.isfinite(data.min()) and np.isfinite(data.max()):
        return
    bad = ~np.isfinite(data).all(axis=(0, 2))
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
    return data, first


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
    """
    if unit not in _UNIT_TO_VOLTS:
        raise ValueError(
            f"unit must be one of {sorted(_UNIT_TO_VOLTS)}, got {unit!r}."
        )
    if isinstance(X, mne.BaseEpochs) or (
        isinstance(X, (list, tuple)) and len(X) and isinstance(X[0], mne.BaseEpochs)
    ):
        if isinstance(X, mne.BaseEpochs):
            if len(X) == 0:
                raise ValueError("The Epochs are empty (0 epochs, all dropped?).")
            data, epochs = _epochs_data(X), X
        else:
            data, epochs = _read_epochs_list(list(X))
        info = epochs.info
        names = list(epochs.ch_names)
        _check_epochs_args(sfreq, ch_names, unit, info["sfreq"], names)
        _check_shape(data.shape, "The Epochs data")
        _check_finite(data, names)
        return EEGInput(
            data=data,
            ch_names=names,
            ch_types=list(epochs.get_channel_types()),
            sfreq=float(info["sfreq"]),
            info=info,
        )
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
    _check_finite(data, names)
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
        return sorted(normalize_ch_name(n) or str(n).strip().upper() for n in names)

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
    # MNE 1.13 renamed "standard_1005" to "colin27_1005" (same positions).
    name = "colin27_1005"
    if name not in mne.channels.get_builtin_montages():
        name = "standard_1005"
    return mne.channels.make_standard_montage(name)


def _select_channels(eeg, record, on_unknown):
    """Map input rows to model channels; return (rows, canonical, dropped)."""
    bads = set(eeg.info["bads"]) if eeg.info is not None else set()
    rows, canonical, reasons, unknown = [], [], {}, []
    seen = {}
    for i, (name, kind) in enumerate(zip(eeg.ch_names, eeg.ch_types)):
        if kind != "eeg":
            reasons[name] = f"channel type {kind!r} is not EEG"
            continue
        if name in bads:
            reasons[name] = "marked bad in info['bads']"
            continue
        canon = normalize_ch_name(name, record.ch_names)
        if canon is None:
            unknown.append(name)
            continue
        if canon in seen:
            raise ValueError(
                f"Channels {seen[canon]!r} and {name!r} both map to {canon}. Drop or "
                "rename one of them (epochs.drop_channels / mne.rename_channels)."
            )
        seen[canon] = name
        rows.append(i)
        canonical.append(canon)
    if unknown:
        if on_unknown == "raise":
            raise ValueError(
                f"EEG channels {unknown} are not in the {record.name} vocabulary "
                f"({list(record.ch_names)}). Pass on_unknown='drop' to leave them out, "
                "rename them to 10-20 names (mne.rename_channels), or set their "
                "type to non-EEG (set_channel_types) if they are not scalp EEG."
            )
        warnings.warn(
            f"Leaving out EEG channels not in the {record.name} vocabulary: {unknown}.",
            UserWarning,
            stacklevel=3,
        )
        for name in unknown:
            reasons[name] = f"not in the {record.name} channel vocabulary"
    dropped = [n for n in eeg.ch_names if n in reasons]
    return rows, canonical, dropped, {n: reasons[n] for n in dropped}


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


def prepare_for_model(
    eeg: EEGInput, record, *, on_missing="raise", on_unknown="raise", n_times=None
) -> PreparedInput:
    """Turn validated EEG into the input one released checkpoint expects.

    In order: channels are matched by name (:func:`normalize_ch_name`) and
    put in the model's order; channels of a non-EEG type or marked bad are
    left out; for positional models (EEG-DINO, CodeBrain) the model's channels
    absent from the data are handled by ``on_missing``; the data are
    resampled to ``record.sfreq`` with :func:`mne.filter.resample`
    (``method="polyphase", pad="edge"``: an anti-aliased polyphase FIR, about 20 times
    faster than the FFT method on 4 s epochs and free of its circular
    wrap-around at the window edges; the same as
    ``Epochs.resample(..., method="polyphase")``); re-referenced to the average of the fed
    channels when ``record.reference == "average"``; multiplied by
    ``record.scale_from_volts``; and cut to the encoder's window rule
    (EEG-DINO: zero-padded to a multiple of ``record.patch_size``;
    CodeBrain: trimmed to a multiple, with a warning; EEGPT: unchanged).

    Parameters
    ----------
    eeg : EEGInput
        Output of :func:`read_eeg`; never modified.
    record : skeegfm._registry.ModelRecord
        The checkpoint's input contract.
    on_missing : {"raise", "interpolate", "zero"}
        For positional models, what to do with model channels absent from the
        data (or marked bad): raise listing them; interpolate them with MNE's
        spherical splines from the electrode positions of the data (standard
        10-05 positions for the missing ones; Epochs with a montage needed);
        or feed zeros. Ignored by models that match channels by name.
    on_unknown : {"raise", "drop"}
        What to do with EEG channels whose names are not in the model's
        vocabulary: raise listing them, or leave them out with one warning.
    n_times : int | None
        If given, the number of samples (at ``record.sfreq``, after the
        window rule) the output must have, e.g. the length seen at fit.

    Returns
    -------
    prepared : PreparedInput
        ``data`` of shape (n_epochs, n_model_chans, n_model_times), float32,
        C-contiguous, in ``record.unit``; the canonical channel names in model
        order; ``record.sfreq``; and what was dropped or filled.

    Raises
    ------
    ValueError
        If channels are unknown (``on_unknown="raise"``), missing
        (``on_missing="raise"``), impossible to interpolate (no electrode
        positions), if no channel matches, if two channels map to one name,
        if the resampled window is shorter than ``record.min_n_times``, or if
        its length differs from ``n_times``.
    """
    if on_missing not in _ON_MISSING:
        raise ValueError(f"on_missing must be one of {_ON_MISSING}, got {on_missing!r}.")
    if on_unknown not in _ON_UNKNOWN:
        raise ValueError(f"on_unknown must be one of {_ON_UNKNOWN}, got {on_unknown!r}.")

    rows, canonical, dropped, reasons = _select_channels(eeg, record, on_unknown)
    if not rows:
        raise ValueError(
            f"None of the channels {eeg.ch_names} can be fed to {record.name}, whose "
            f"channels are {list(record.ch_names)} (dropped: {reasons})."
        )

    positional = record.channel_matching == "positional"
    vocab_index = {name: k for k, name in enumerate(record.ch_names)}
    filled = {}
    if positional:
        model_names = list(record.ch_names)
        order = np.argsort([vocab_index[c] for c in canonical], kind="stable")
        rows = [rows[k] for k in order]
        slots = [vocab_index[canonical[k]] for k in order]
        missing_slots = sorted(set(range(len(model_names))) - set(slots))
        missing = [model_names[s] for s in missing_slots]
        if missing and on_missing == "raise":
            raise ValueError(
                f"{record.name} needs channels {missing}, which the data lack (or are "
                "marked bad). Pass on_missing='interpolate' (spherical splines from "
                "the montage) or on_missing='zero' (feed zeros), or add them."
            )
        present_pos = None
        if missing and on_missing == "interpolate":
            present_pos = _positions(eeg.info, [eeg.ch_names[r] for r in rows])
            if present_pos is None:
                raise ValueError(
                    f"Cannot interpolate the missing channels {missing}: the data have no "
                    "electrode positions (in the head frame). Pass mne.Epochs with a montage "
                    "(epochs.set_montage with e.g. the 'colin27_1020' template), or use "
                    "on_missing='zero'."
                )
    else:
        # By name: the matched channels in vocabulary order.
        order = np.argsort([vocab_index[c] for c in canonical], kind="stable")
        rows = [rows[k] for k in order]
        model_names = [canonical[k] for k in order]
        slots = list(range(len(rows)))
        missing_slots = []

    # Gather into the model's layout, in float64 (MNE's resampling requires it):
    # the one copy of the caller's data. float32 comes once, at the end.
    src = eeg.data
    shape = (src.shape[0], len(model_names), src.shape[2])
    data = np.zeros(shape) if missing_slots else np.empty(shape)
    if slots == rows == list(range(src.shape[1])) and len(model_names) == src.shape[1]:
        data[:] = src
    else:
        data[:, slots] = src[:, rows]
    if missing_slots:
        if on_missing == "interpolate":
            present = [eeg.ch_names[r] for r in rows]
            _interpolate(data, slots, present, present_pos, model_names, missing_slots, eeg.sfreq)
        filled = {
            model_names[s]: "interpolated" if on_missing == "interpolate" else "zero"
            for s in missing_slots
        }

    if not np.isclose(eeg.sfreq, record.sfreq, rtol=0, atol=1e-6):
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
        raise ValueError(
            f"Windows of {eeg.data.shape[-1]} samples at {eeg.sfreq} Hz are "
            f"{data.shape[-1]} samples at {record.sfreq} Hz, shorter than the "
            f"{record.min_n_times} samples ({record.min_n_times / record.sfreq:g} s) "
            f"{record.name} needs. Use longer epochs."
        )

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

    rule = _WINDOW_RULES.get(record.model, "keep")
    length, patch = data.shape[-1], record.patch_size
    if rule == "pad" and length % patch:
        pad = patch - length % patch
        data = np.concatenate(
            [data, np.zeros(data.shape[:2] + (pad,), dtype=data.dtype)], axis=-1
        )
    elif rule == "trim" and length % patch:
        keep = length - length % patch
        warnings.warn(
            f"{record.name} takes whole {patch}-sample patches: dropping the last "
            f"{length - keep} samples of each {length}-sample window (samples "
            f"{keep}..{length - 1} at {record.sfreq} Hz).",
            UserWarning,
            stacklevel=2,
        )
        data = data[..., :keep]

    if n_times is not None and data.shape[-1] != n_times:
        raise ValueError(
            f"The prepared windows have {data.shape[-1]} samples at {record.sfreq} Hz, "
            f"but {n_times} are expected (the length seen at fit). Cut the epochs to "
            "the same duration as the training data."
        )

    return PreparedInput(
        data=np.ascontiguousarray(data, dtype=np.float32),
        ch_names=list(model_names),
        sfreq=float(record.sfreq),
        dropped=dropped,
        drop_reasons=reasons,
        filled=filled,
    )


def prepare(
    X, record, *, sfreq=None, ch_names=None, unit="V", on_missing="raise", on_unknown="raise",
    n_times=None,
) -> PreparedInput:  # fmt: skip
    """Read and prepare EEG in one call: ``prepare_for_model(read_eeg(X, ...), record, ...)``.

    Parameters
    ----------
    X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
        See :func:`read_eeg`.
    record : skeegfm._registry.ModelRecord
        The checkpoint's input contract.
    sfreq, ch_names, unit
        See :func:`read_eeg`.
    on_missing, on_unknown, n_times
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
        eeg, record, on_missing=on_missing, on_unknown=on_unknown, n_times=n_times
    )
