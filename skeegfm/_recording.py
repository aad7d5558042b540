"""Recording-level helpers: real files read with MNE, before they become epochs.

The jobs that read recordings themselves (``skeegfm embed``, the corpus
job) share these steps, so that a file is read the same way everywhere and
every adaptation is said:

- :func:`read_recording`: any file MNE reads (EDF, BDF, FIF, BrainVision,
  EEGLAB, ``-epo.fif``), with the EDF/BDF header ``encoding`` passed through;
- :func:`rescale_to_unit`: the override of a wrong amplitude unit field
  (``--unit``);
- :func:`set_types_from_names`: EOG/EMG/ECG channels that the file types as
  EEG, retyped by name (the estimators apply the same rule,
  :func:`skeegfm._channels.channel_type_from_name`, to what they are given);
- :func:`apply_ch_aliases`: user-given names for channels (``--ch-alias``),
  through :meth:`mne.io.Raw.rename_channels`;
- :func:`add_template_positions`: template 10-05 electrode positions for
  files that carry none (EDF, BDF), which interpolating missing channels
  needs.

Channel selection itself (which channels a model takes) is
:func:`skeegfm._inputs.select_channels`, which the estimators run.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

from ._channels import channel_type_from_name, check_ch_aliases, normalize_ch_name
from ._inputs import _UNIT_TO_VOLTS, _positions

__all__ = [
    "add_template_positions",
    "apply_ch_aliases",
    "read_recording",
    "rescale_to_unit",
    "set_types_from_names",
]

_EPOCHS_SUFFIXES = ("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")
_EDF_SUFFIXES = (".edf", ".bdf", ".gdf", ".rec")

#: How MNE's EDF/BDF reader scales a channel from the unit field of the file:
#: these spellings of micro- and millivolts, volts for anything else (an empty
#: or unknown field included).
_MNE_READS_AS = {"uV": 1e-6, "\u00b5V": 1e-6, "\u03bcV": 1e-6, "\x83\xcaV": 1e-6, "mV": 1e-3}


def _is_epochs_file(path: Path) -> bool:
    return path.name.lower().endswith(_EPOCHS_SUFFIXES)


def read_recording(path, *, encoding=None):
    """Read a recording with MNE, preloaded.

    Parameters
    ----------
    path : str | os.PathLike
        A file :func:`mne.io.read_raw` reads, or an ``-epo.fif`` Epochs file
        (a ``.fif`` that is not Raw is tried as Epochs too).
    encoding : str | None
        Character encoding of the EDF/BDF/GDF header (channel names, patient
        fields), passed to MNE's reader (``mne.io.read_raw_edf(...,
        encoding=...)``; MNE's default is UTF-8). Only for those formats.

    Returns
    -------
    inst : mne.io.BaseRaw | mne.BaseEpochs
        Preloaded.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If MNE cannot read the file (the message names it and MNE's error),
        or if ``encoding`` is given for a format without header encoding.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    name = path.name.lower()
    kwargs = {}
    if encoding is not None:
        if not name.endswith(_EDF_SUFFIXES):
            raise ValueError(
                f"{path}: an encoding applies to the headers of EDF, BDF and GDF files only, "
                f"not to {path.suffix or 'this'} files."
            )
        kwargs["encoding"] = encoding
    is_epochs = _is_epochs_file(path)
    try:
        if is_epochs:
            inst = mne.read_epochs(path, preload=True, verbose="error")
        else:
            inst = mne.io.read_raw(path, preload=True, verbose="error", **kwargs)
    except Exception as exc:  # noqa: BLE001 - turn MNE's error into one line
        inst = None
        if not is_epochs and name.endswith((".fif", ".fif.gz")):
            try:
                inst = mne.read_epochs(path, preload=True, verbose="error")
            except Exception:  # noqa: BLE001 - report the first error
                inst = None
        if inst is None:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"{path}: MNE cannot read this file ({type(exc).__name__}: {message}). "
                "Supported: EDF, BDF, FIF, BrainVision, EEGLAB and the other formats of "
                "mne.io.read_raw, or an -epo.fif Epochs file."
            ) from exc
    return inst


def rescale_to_unit(inst, unit) -> dict:
    """Rescale channels whose file unit MNE took for another unit (in place).

    MNE converts each channel to volts from the unit its file states
    (``inst._orig_units``; volts when the field is empty or a spelling MNE's
    EDF reader does not know, such as ``"uv"``). This undoes that conversion
    and applies ``unit`` instead, for EEG, EOG, EMG and ECG channels.

    Parameters
    ----------
    inst : mne.io.BaseRaw | mne.BaseEpochs
        Preloaded; modified in place.
    unit : {"V", "mV", "uV", "µV"}
        The unit the file's values are really in.

    Returns
    -------
    factors : dict of str to float
        Channel name -> the factor its data were multiplied by (channels
        left as they were are not listed).
    """
    target = _UNIT_TO_VOLTS[unit]
    orig = getattr(inst, "_orig_units", None) or {}
    types = inst.get_channel_types()
    factors = {}
    for name, kind in zip(inst.ch_names, types):
        if kind not in ("eeg", "eog", "emg", "ecg"):
            continue
        assumed = _MNE_READS_AS.get(str(orig.get(name, "V")), 1.0)
        if not np.isclose(assumed, target):
            factors[name] = target / assumed
    if factors:
        picks = [inst.ch_names.index(n) for n in factors]
        scale = np.array([factors[n] for n in factors])
        data = inst._data  # preloaded Raw (n_chans, n_times) or Epochs (n_epochs, n_chans, n_times)
        if data.ndim == 2:
            data[picks] *= scale[:, None]
        else:
            data[:, picks] *= scale[None, :, None]
    return factors


def set_types_from_names(inst) -> dict:
    """Retype EEG-typed channels whose names say EOG, EMG or ECG (in place).

    Uses :func:`skeegfm._channels.channel_type_from_name`, the rule the
    estimators apply to what they are given.

    Parameters
    ----------
    inst : mne.io.BaseRaw | mne.BaseEpochs
        Modified in place.

    Returns
    -------
    mapping : dict of str to str
        Channel name -> new type, for the channels retyped.
    """
    mapping = {}
    for name, kind in zip(inst.ch_names, inst.get_channel_types()):
        if kind == "eeg":
            guessed = channel_type_from_name(name)
            if guessed is not None:
                mapping[name] = guessed
    if mapping:
        inst.set_channel_types(mapping, on_unit_change="ignore", verbose="error")
    return mapping


def apply_ch_aliases(inst, ch_aliases) -> dict:
    """Rename channels as ``ch_aliases`` says (in place, :meth:`rename_channels`).

    Parameters
    ----------
    inst : mne.io.BaseRaw | mne.BaseEpochs
        Modified in place.
    ch_aliases : dict of str to str | None
        ``{recorded name: new name}``; entries for channels ``inst`` lacks
        are skipped.

    Returns
    -------
    applied : dict of str to str
        The entries used.
    """
    aliases = check_ch_aliases(ch_aliases)
    applied = {old: new for old, new in aliases.items() if old in inst.ch_names}
    if applied:
        inst.rename_channels(applied, verbose="error")
    return applied


def add_template_positions(inst, record, *, ch_aliases=None) -> bool:
    """Give EEG channels template 10-05 positions when the file has none (in place).

    EDF and BDF files carry no electrode positions, which interpolating
    missing channels (``on_missing="interpolate"``) needs. The EEG channels
    whose names (after ``ch_aliases``) match the model's channels through
    :func:`~skeegfm._channels.normalize_ch_name` get the positions of MNE's
    10-05 template montage.

    Parameters
    ----------
    inst : mne.io.BaseRaw | mne.BaseEpochs
        Modified in place when positions are added.
    record : skeegfm._registry.ModelRecord
        The model whose channels are matched.
    ch_aliases : dict of str to str | None
        As for the estimators.

    Returns
    -------
    added : bool
        True when template positions were set (the caller should say so),
        False when the file had positions for those channels already.
    """
    from ._inputs import _standard_montage

    aliases = check_ch_aliases(ch_aliases)
    matched = {}
    for name, kind in zip(inst.ch_names, inst.get_channel_types()):
        if kind != "eeg":
            continue
        canonical = normalize_ch_name(aliases.get(name, name), record.ch_names)
        if canonical is not None:
            matched[name] = canonical
    if not matched or _positions(inst.info, list(matched)) is not None:
        return False
    template = _standard_montage().get_positions()
    by_name = {name.upper(): xyz for name, xyz in template["ch_pos"].items()}
    ch_pos = {name: by_name[canon] for name, canon in matched.items() if canon in by_name}
    montage = mne.channels.make_dig_montage(
        ch_pos=ch_pos,
        nasion=template["nasion"],
        lpa=template["lpa"],
        rpa=template["rpa"],
        coord_frame=template["coord_frame"],
    )
    inst.set_montage(montage, on_missing="ignore", verbose="error")
    return True
