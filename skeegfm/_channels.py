"""Channel names: the conventions of public EEG data and the models' vocabularies.

Every place in skeegfm that compares channel names goes through
:func:`parse_ch_name` / :func:`normalize_ch_name`, so that ``"EEG Fp1-REF"``
(TUH), ``"Fp1."`` (PhysioNet EEGMMI), ``"EEG-Fp1"`` (BCI Competition IV),
``"Fp1-A2"`` (referential), ``"fp1"`` and ``"FP1"`` mean the same electrode,
a bipolar derivation (``"Fp1-F7"``) is never taken for one, and nothing is
matched by guessing. Which names are electrodes at all is MNE's 10-05
template montage (:func:`standard_electrodes`).

The plain-Python core of these rules and the models' vocabularies live in
:mod:`skeegfm.models` (``_vocabulary``; EEGPT's names in its model file),
which the encoders use themselves; they are re-exported here
(``EEGPT_CHANNELS``, ``STANDARD_19_CHANNELS``, ``TUEG_19_CHANNELS``,
``eegpt_channel_ids``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from .models._vocabulary import TUEG_19_CHANNELS, match_ch_name, split_ch_name

__all__ = [
    "EEGPT_CHANNELS",
    "STANDARD_19_CHANNELS",
    "TUEG_19_CHANNELS",
    "ParsedChannel",
    "channel_type_from_name",
    "check_ch_aliases",
    "eegpt_channel_ids",
    "normalize_ch_name",
    "normalize_ch_names",
    "option_hint",
    "option_style",
    "parse_ch_name",
    "standard_electrodes",
    "standard_montage",
]

#: Words in a channel name that say it is not EEG, and the MNE type they mean.
_TYPE_WORDS = (("EOG", "eog"), ("ECG", "ecg"), ("EKG", "ecg"), ("EMG", "emg"))
#: Whole names (after prefix and reference) of eye channels: left and right
#: outer canthus (TUH, sleep recordings).
_EYE_SITES = frozenset({"LOC", "ROC"})

#: Vocabularies and helpers that live in a model file, read on first access
#: (:pep:`562`) so that this module does not import PyTorch.
_FROM_MODELS = {
    "EEGPT_CHANNELS": ".models.eegpt",
    "STANDARD_19_CHANNELS": ".models.eegpt",
    "eegpt_channel_ids": ".models.eegpt",
}


def __getattr__(name):
    module = _FROM_MODELS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __package__), name)
    globals()[name] = value  # later accesses skip this function
    return value


def _model_vocabulary() -> frozenset:
    """Every channel name of the registered checkpoints (their union).

    Today EEGPT's 62 names, which include the 19 TUEG names of the
    positional encoders.
    """
    from .models._pretrained import list_models

    return frozenset(name for record in list_models() for name in record.ch_names)


@functools.lru_cache(maxsize=1)
def standard_electrodes() -> frozenset:
    """Upper-case names of the electrodes of MNE's 10-05 template montage.

    The 343 positions of ``colin27_1005`` (called ``standard_1005`` before MNE
    1.13; Oostenveld & Praamstra, 2001), including the old 10-20 names
    T3/T4/T5/T6 and the ear and mastoid sites A1, A2, M1, M2. A name in this
    set is a valid electrode; skeegfm drops such channels by default when a
    model has no slot for them.

    Returns
    -------
    names : frozenset of str
    """
    return frozenset(name.upper() for name in standard_montage().ch_names)


def standard_montage():
    """MNE's 10-05 template montage (``colin27_1005``, formerly ``standard_1005``).

    Returns
    -------
    montage : mne.channels.DigMontage
    """
    import mne

    name = "colin27_1005"  # MNE 1.13 renamed "standard_1005" (same positions)
    if name not in mne.channels.get_builtin_montages():
        name = "standard_1005"
    return mne.channels.make_standard_montage(name)


@dataclass(frozen=True)
class ParsedChannel:
    """What a channel name says about the signal it holds.

    Attributes
    ----------
    name : str
        The name as recorded.
    kind : {"electrode", "bipolar", "other"}
        ``"electrode"``: one electrode of MNE's 10-05 montage, possibly with a
        stated reference (``"C3-A1"``); ``"bipolar"``: the difference of two
        scalp electrodes (``"Fp1-F7"``, ``"EEG Fpz-Cz"``), not an electrode;
        ``"other"``: a name that is not an electrode (``"EEG-0"``,
        ``"Resp"``).
    electrode : str | None
        Canonical upper-case modern name of the electrode (``"T7"`` for
        ``"T3"``); for ``"bipolar"`` the first (active) electrode; ``None``
        for ``"other"``.
    reference : str | None
        The reference the name states (``"A1"``, ``"M2"``, ``"REF"``,
        ``"LE"``...); for ``"bipolar"`` the second electrode; ``None`` when
        the name states none.
    key : str
        The name after the rules (prefix, spaces, dots, case), before the
        10-05 check; what is looked up in a model's vocabulary.
    """

    name: str
    kind: str
    electrode: str | None
    reference: str | None
    key: str


def parse_ch_name(name: str) -> ParsedChannel:
    """Read a channel name the way public EEG datasets write them.

    The rules, in order (none of them guesses):

    1. case and spaces: ``" fp 1 "`` -> ``"FP1"``;
    2. an ``"EEG"`` prefix followed by a space, ``-``, ``:`` or ``_`` is
       removed: TUH ``"EEG FP1-REF"``, BCI Competition IV 2a ``"EEG-Fz"``,
       2b ``"EEG:C3"``, Sleep-EDF ``"EEG Fpz-Cz"``;
    3. trailing dots are removed: PhysioNet EEGMMI ``"Fc5."``, ``"T9.."``;
    4. ``A-B``: when ``B`` is a reference word (``REF``, ``LE``, ``RE``,
       ``AR``, ``AVG``, ``AV``, ``CAR``, ``CLE``, ``LER``) or an ear or
       mastoid site (``A1``, ``A2``, ``M1``, ``M2``), ``A`` is the electrode
       and ``B`` its recorded reference (``"C3-A1"``, ``"C3-M2"``,
       ``"EEG FP1-LE"``); when both are scalp electrodes the channel is a
       bipolar derivation;
    5. the old 10-20 names T3, T4, T5, T6 become T7, T8, P7, P8;
    6. the result is an electrode when it is in MNE's 10-05 template
       montage (:func:`standard_electrodes`).

    Parameters
    ----------
    name : str
        The channel name as recorded.

    Returns
    -------
    parsed : ParsedChannel

    Examples
    --------
    >>> parse_ch_name("EEG C3-A1")
    ParsedChannel(name='EEG C3-A1', kind='electrode', electrode='C3', reference='A1', key='C3')
    >>> parse_ch_name("Fp1-F7").kind
    'bipolar'
    >>> parse_ch_name("EEG-0").kind
    'other'
    """
    key, reference, second = split_ch_name(name)
    if second is not None:
        valid = standard_electrodes()
        if key in valid and second in valid:
            return ParsedChannel(str(name), "bipolar", key, second, f"{key}-{second}")
        return ParsedChannel(str(name), "other", None, None, f"{key}-{second}")
    if key in standard_electrodes():
        return ParsedChannel(str(name), "electrode", key, reference, key)
    return ParsedChannel(str(name), "other", None, reference, key)


def channel_type_from_name(name: str) -> str | None:
    """The MNE channel type a name says, for channels files type as EEG.

    EDF files and arrays type every channel as EEG; names such as
    ``"EOG horizontal"``, ``"EOG-left"``, ``"EMG submental"``, ``"ECG"``,
    ``"EEG EKG1-REF"`` or the eye sites ``"LOC"``/``"ROC"`` (outer canthi)
    say otherwise.

    Parameters
    ----------
    name : str
        The channel name as recorded.

    Returns
    -------
    ch_type : {"eog", "emg", "ecg"} | None
        ``None`` when the name says nothing about the type.

    Examples
    --------
    >>> channel_type_from_name("EOG:ch01"), channel_type_from_name("Cz")
    ('eog', None)
    """
    upper = str(name).upper()
    for word, kind in _TYPE_WORDS:
        if word in upper:
            return kind
    if split_ch_name(name)[0] in _EYE_SITES:
        return "eog"
    return None


def normalize_ch_name(name: str, vocabulary=None) -> str | None:
    """Map a channel name to its canonical upper-case name in a vocabulary.

    The name is read with :func:`parse_ch_name` (case, spaces, ``"EEG"``
    prefixes, trailing dots, references, old 10-20 names); a bipolar
    derivation (``"Fp1-F7"``) never matches. Old and new 10-20 names match
    each other in both directions: ``"T3"`` gives ``"T7"`` in a vocabulary of
    modern names and ``"T7"`` gives ``"T3"`` in one of old names.

    Parameters
    ----------
    name : str
        The channel name as recorded, e.g. ``"EEG Fp1-REF"``.
    vocabulary : iterable of str | None
        Canonical upper-case names to accept. Defaults to every channel name
        of the released checkpoints (:func:`skeegfm.list_models`; today
        EEGPT's 62 names, which include the 19 of the other encoders).

    Returns
    -------
    canonical : str | None
        The canonical name (e.g. ``"FP1"``), or ``None`` when the name is a
        bipolar derivation or has no match in ``vocabulary``.

    Examples
    --------
    >>> normalize_ch_name("EEG T3-REF")
    'T7'
    >>> normalize_ch_name("Fc5.")
    'FC5'
    >>> normalize_ch_name("Fp1-F7") is None
    True
    """
    # The rules live with the models (EEGPT maps names to embedding rows with
    # them); no montage is needed.
    return match_ch_name(name, _model_vocabulary() if vocabulary is None else vocabulary)


# --------------------------------------------------------------------------
# Naming the options of the context in messages
# --------------------------------------------------------------------------

_OPTION_STYLE = contextvars.ContextVar("skeegfm_option_style", default="python")


@contextlib.contextmanager
def option_style(style: str):
    """Spell the options named in error messages as ``style`` inside the block.

    The same channel checks serve the estimators (whose options are
    parameters, ``on_unknown="drop"``) and the ``skeegfm`` command (whose
    options are flags, ``--on-unknown drop``); the command runs its work
    inside ``option_style("cli")`` so that every message names a flag that
    exists.

    Parameters
    ----------
    style : {"python", "cli"}
    """
    if style not in ("python", "cli"):
        raise ValueError(f"style must be 'python' or 'cli', got {style!r}.")
    token = _OPTION_STYLE.set(style)
    try:
        yield
    finally:
        _OPTION_STYLE.reset(token)


def option_hint(name: str, value) -> str:
    """How to write option ``name`` set to ``value`` in the current context.

    Parameters
    ----------
    name : str
        Parameter name, e.g. ``"on_unknown"`` or ``"ch_aliases"``.
    value : object
        The value; for ``"ch_aliases"`` a dict ``{old: new}``.

    Returns
    -------
    text : str
        ``on_unknown='drop'`` for the estimators, ``--on-unknown drop`` for
        the command line (``--ch-alias OLD=NEW`` per alias).

    Examples
    --------
    >>> option_hint("on_unknown", "drop")
    "on_unknown='drop'"
    >>> with option_style("cli"):
    ...     option_hint("ch_aliases", {"EEG-0": "Fz"})
    '--ch-alias EEG-0=Fz'
    """
    if _OPTION_STYLE.get() == "cli":
        if name == "ch_aliases":
            return " ".join(f"--ch-alias '{old}={new}'" if " " in f"{old}{new}"
                            else f"--ch-alias {old}={new}" for old, new in value.items())  # fmt: skip
        return f"--{name.replace('_', '-')} {value}"
    return f"{name}={value!r}"


def check_ch_aliases(ch_aliases) -> dict:
    """Validate a ``ch_aliases`` parameter; return it as a plain dict.

    Parameters
    ----------
    ch_aliases : dict of str to str | None
        ``{recorded name: electrode name}``.

    Returns
    -------
    aliases : dict of str to str
        Empty for ``None``.

    Raises
    ------
    TypeError
        If ``ch_aliases`` is not ``None`` or a dict of str to str.
    ValueError
        If two recorded names are mapped to the same new name.
    """
    if ch_aliases is None:
        return {}
    if not isinstance(ch_aliases, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in ch_aliases.items()
    ):
        raise TypeError(
            "ch_aliases must be None or a dict mapping recorded channel names to electrode "
            f"names (str to str), e.g. {{'EEG-0': 'Fz'}}; got {ch_aliases!r}."
        )
    targets: dict = {}
    for old, new in ch_aliases.items():
        targets.setdefault(new.strip().upper(), []).append(old)
    clashes = {new: olds for new, olds in targets.items() if len(olds) > 1}
    if clashes:
        raise ValueError(
            f"ch_aliases maps several channels to the same name: {clashes}; map each "
            "electrode once."
        )
    return dict(ch_aliases)


def normalize_ch_names(ch_names, vocabulary=None) -> list[str | None]:
    """Apply :func:`normalize_ch_name` to every name of ``ch_names``.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names as recorded.
    vocabulary : iterable of str | None
        Canonical names to accept (default: every channel name of the
        released checkpoints, as for :func:`normalize_ch_name`).

    Returns
    -------
    canonical : list of (str | None)
        One entry per input name; ``None`` where no canonical name matches.
    """
    vocab = frozenset(_model_vocabulary() if vocabulary is None else vocabulary)
    return [match_ch_name(n, vocab) for n in ch_names]
