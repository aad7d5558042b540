"""Channel names: the conventions of public EEG data and the models' vocabularies.

Every place in skeegfm that compares channel names goes through
:func:`parse_ch_name` / :func:`normalize_ch_name`, so that ``"EEG Fp1-REF"``
(TUH), ``"Fp1."`` (PhysioNet EEGMMI), ``"EEG-Fp1"`` (BCI Competition IV),
``"Fp1-A2"`` (referential), ``"fp1"`` and ``"FP1"`` mean the same electrode,
a bipolar derivation (``"Fp1-F7"``) is never taken for one, and nothing is
matched by guessing. Which names are electrodes at all is MNE's 10-05
template montage (:func:`standard_electrodes`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

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

#: EEGPT's 62-name channel vocabulary, in the order of the rows of its
#: channel embedding (``chan_embed.weight``). Identical to ``CHANNEL_DICT`` of
#: the original EEGPT repository (Wang et al., 2024); written out here rather
#: than derived from MNE's deprecated ``standard_1020`` montage.
EEGPT_CHANNELS: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF7", "AF3", "AF4", "AF8", "F7", "F5", "F3", "F1",
    "FZ", "F2", "F4", "F6", "F8", "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2",
    "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "CZ", "C2", "C4", "C6", "T8",
    "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8", "P7", "P5",
    "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POZ",
    "PO4", "PO6", "PO8", "O1", "OZ", "O2",
)  # fmt: skip

#: The standard 19-channel 10-20 set used by EEGPT's original linear probes
#: (``EEGPT_19_CHANNELS``), in modern names.
STANDARD_19_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T7", "C3", "CZ", "C4", "T8",
    "P7", "P3", "PZ", "P4", "P8", "O1", "O2",
)  # fmt: skip

#: Slot order of the 19-channel TUEG montage that EEG-DINO and CodeBrain were
#: pretrained on (CBraMod's preprocessing order, modern names: T3->T7,
#: T4->T8, T5->P7, T6->P8). Their channel slots are positional, so inputs are
#: reordered to this order.
TUEG_19_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8",
    "T7", "T8", "P7", "P8", "FZ", "CZ", "PZ",
)  # fmt: skip

#: Old 10-20 names and their modern 10-10 equivalents (Jurcak et al., 2007).
_OLD_TO_NEW = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
_NEW_TO_OLD = {new: old for old, new in _OLD_TO_NEW.items()}

#: What may follow an electrode after a hyphen in a referential channel name:
#: a reference word (TUH's ``-REF``, ``-LE`` linked ears, ``-AR``/``-AVG``
#: average, ``-CLE``/``-LER`` linked ears of sleep montages) or an ear or
#: mastoid site (``-A1``, ``-M2``...). Anything else after the hyphen is a
#: second electrode: a bipolar derivation.
_REFERENCE_WORDS = frozenset(
    {"REF", "LE", "RE", "AR", "AVG", "AV", "CAR", "CLE", "LER", "A1A2", "M1M2", "A12", "M12"}
)
#: Ear and mastoid sites: electrodes of MNE's 10-05 montage that are
#: references, not scalp sites.
_REFERENCE_SITES = frozenset({"A1", "A2", "M1", "M2"})

#: Words in a channel name that say it is not EEG, and the MNE type they mean.
_TYPE_WORDS = (("EOG", "eog"), ("ECG", "ecg"), ("EKG", "ecg"), ("EMG", "emg"))
#: Whole names (after prefix and reference) of eye channels: left and right
#: outer canthus (TUH, sleep recordings).
_EYE_SITES = frozenset({"LOC", "ROC"})

_PREFIX = re.compile(r"^EEG(?:\s+|\s*[-:_]\s*)(?=\S)")
_SPACES = re.compile(r"\s+")


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


def _clean(name: str) -> str:
    key = _SPACES.sub(" ", str(name).strip().upper())
    key = _PREFIX.sub("", key)
    return _SPACES.sub("", key)


def _strip_dots(part: str) -> str:
    return part.strip(".")


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
    key, reference, second = _split(name)
    if second is not None:
        valid = standard_electrodes()
        if key in valid and second in valid:
            return ParsedChannel(str(name), "bipolar", key, second, f"{key}-{second}")
        return ParsedChannel(str(name), "other", None, None, f"{key}-{second}")
    if key in standard_electrodes():
        return ParsedChannel(str(name), "electrode", key, reference, key)
    return ParsedChannel(str(name), "other", None, reference, key)


def _split(name: str):
    """Rules 1-5 of :func:`parse_ch_name` (no montage): ``(key, reference, second)``.

    ``second`` is the part after a hyphen that is not a reference (the
    second electrode of a possible bipolar derivation), else ``None``.
    """
    key = _clean(name)
    reference = None
    if key.count("-") == 1:
        active, ref = (_strip_dots(p) for p in key.split("-"))
        active = _OLD_TO_NEW.get(active, active)
        if ref in _REFERENCE_WORDS or ref in _REFERENCE_SITES:
            key, reference = active, ref
        else:
            return active, None, _OLD_TO_NEW.get(ref, ref)
    key = _strip_dots(key)
    return _OLD_TO_NEW.get(key, key), reference, None


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
    if _split(name)[0] in _EYE_SITES:
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
        Canonical upper-case names to accept. Defaults to
        :data:`EEGPT_CHANNELS`, the largest vocabulary of the models.

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
    vocab = EEGPT_CHANNELS if vocabulary is None else vocabulary
    if not isinstance(vocab, (set, frozenset)):
        vocab = set(vocab)
    key, _, second = _split(name)  # no montage needed: the models call this too
    if second is not None:
        return None  # "A-B" without a reference: a bipolar derivation or unknown
    for candidate in (key, _NEW_TO_OLD.get(key), _OLD_TO_NEW.get(key)):
        if candidate is not None and candidate in vocab:
            return candidate
    return None


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
        Canonical names to accept (default :data:`EEGPT_CHANNELS`).

    Returns
    -------
    canonical : list of (str | None)
        One entry per input name; ``None`` where no canonical name matches.
    """
    vocab = frozenset(EEGPT_CHANNELS if vocabulary is None else vocabulary)
    return [normalize_ch_name(n, vocab) for n in ch_names]


def eegpt_channel_ids(ch_names) -> list[int]:
    """Rows of EEGPT's channel embedding for the channels ``ch_names``.

    Each name goes through :func:`normalize_ch_name` (case, ``"EEG "``
    prefix, reference suffixes, trailing dots, T3/T4/T5/T6) and is looked up
    in :data:`EEGPT_CHANNELS`. Unlike the reference implementation, a name
    that matches nothing is an error: it never falls back to its position.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names as recorded, one per input channel, in input order.

    Returns
    -------
    ids : list of int
        ``ids[i]`` is the index in :data:`EEGPT_CHANNELS` of ``ch_names[i]``.

    Raises
    ------
    ValueError
        If a name has no match in the vocabulary (all unknown names and the
        accepted vocabulary are listed), or if two names map to the same
        electrode (e.g. ``"T3"`` and ``"T7"``).

    Examples
    --------
    >>> eegpt_channel_ids(["EEG Fp1-REF", "t3", "Oz"])
    [0, 25, 60]
    """
    names = [str(n) for n in ch_names]
    canonical = normalize_ch_names(names, EEGPT_CHANNELS)
    unknown = [n for n, c in zip(names, canonical) if c is None]
    if unknown:
        raise ValueError(
            f"{len(unknown)} channel name(s) are not in EEGPT's 62-channel vocabulary: "
            f"{unknown}. Accepted names (case-insensitive; an 'EEG ' prefix, a reference "
            "suffix such as '-REF' and the old names T3/T4/T5/T6 are understood): "
            f"{list(EEGPT_CHANNELS)}. Rename or drop these channels (or use a channel "
            "projection, chan_proj_type='conv1d_constraint' or 'linear')."
        )
    seen: dict[str, str] = {}
    duplicates = []
    for name, canon in zip(names, canonical):
        if canon in seen:
            duplicates.append(f"{seen[canon]!r} and {name!r} -> {canon}")
        else:
            seen[canon] = name
    if duplicates:
        raise ValueError(
            "Several channels map to the same EEGPT electrode: "
            + "; ".join(duplicates)
            + ". Keep one channel per electrode."
        )
    index = {name: i for i, name in enumerate(EEGPT_CHANNELS)}
    return [index[c] for c in canonical]
