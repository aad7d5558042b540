"""Channel names as the encoders read them: plain Python, no PyTorch, no MNE.

The core of the package's channel-name rules, shared by the model files
(EEGPT maps names to rows of its channel embedding) and by
:mod:`skeegfm._channels` (which adds the check against MNE's 10-05 montage):
case and spaces, ``"EEG"`` prefixes (TUH ``"EEG FP1-REF"``, BCI Competition
IV ``"EEG-Fz"``), trailing dots (PhysioNet EEGMMI ``"Fc5."``), stated
references (``"C3-A1"``, ``"-REF"``, ``"-LE"``), the old 10-20 names
(T3/T4/T5/T6 -> T7/T8/P7/P8, Jurcak et al., 2007), and bipolar derivations
(``"Fp1-F7"``), which never match an electrode.

Also the 19-channel TUEG slot order that the positional encoders (EEG-DINO,
CodeBrain, CBraMod) were pretrained on.
"""

from __future__ import annotations

import re

__all__ = ["TUEG_19_CHANNELS", "match_ch_name", "split_ch_name"]

#: Slot order of the 19-channel TUEG montage that EEG-DINO, CodeBrain and
#: CBraMod were pretrained on (CBraMod's preprocessing order, authors'
#: repository wjq-learning/CBraMod; modern names: T3->T7, T4->T8, T5->P7,
#: T6->P8). Their channel slots are positional, so inputs are reordered to
#: this order.
TUEG_19_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8",
    "T7", "T8", "P7", "P8", "FZ", "CZ", "PZ",
)  # fmt: skip

#: Old 10-20 names and their modern 10-10 equivalents (Jurcak et al., 2007).
OLD_TO_NEW = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
NEW_TO_OLD = {new: old for old, new in OLD_TO_NEW.items()}

#: What may follow an electrode after a hyphen in a referential channel name:
#: a reference word (TUH's ``-REF``, ``-LE`` linked ears, ``-AR``/``-AVG``
#: average, ``-CLE``/``-LER`` linked ears of sleep montages) or an ear or
#: mastoid site (``-A1``, ``-M2``...). Anything else after the hyphen is a
#: second electrode: a bipolar derivation.
REFERENCE_WORDS = frozenset(
    {"REF", "LE", "RE", "AR", "AVG", "AV", "CAR", "CLE", "LER", "A1A2", "M1M2", "A12", "M12"}
)
#: Ear and mastoid sites: electrodes of the 10-05 system that are references,
#: not scalp sites.
REFERENCE_SITES = frozenset({"A1", "A2", "M1", "M2"})

_PREFIX = re.compile(r"^EEG(?:\s+|\s*[-:_]\s*)(?=\S)")
_SPACES = re.compile(r"\s+")


def _clean(name: str) -> str:
    key = _SPACES.sub(" ", str(name).strip().upper())
    key = _PREFIX.sub("", key)
    return _SPACES.sub("", key)


def _strip_dots(part: str) -> str:
    return part.strip(".")


def split_ch_name(name: str):
    """Read a recorded channel name: ``(key, reference, second)``.

    The rules, in order (none of them guesses): case and spaces; an
    ``"EEG"`` prefix followed by a space, ``-``, ``:`` or ``_``; trailing
    dots; ``A-B`` where ``B`` is a reference word or an ear/mastoid site
    (``A`` is the electrode, ``B`` its reference); the old 10-20 names.

    Parameters
    ----------
    name : str
        The channel name as recorded, e.g. ``"EEG T3-REF"``.

    Returns
    -------
    key : str
        Canonical upper-case name (``"T7"``); for ``A-B`` without a
        reference, the first part.
    reference : str | None
        The reference the name states (``"REF"``, ``"A1"``...), else None.
    second : str | None
        The part after a hyphen that is not a reference (the second
        electrode of a possible bipolar derivation), else None.

    Examples
    --------
    >>> split_ch_name("EEG T3-REF")
    ('T7', 'REF', None)
    >>> split_ch_name("Fp1-F7")
    ('FP1', None, 'F7')
    """
    key = _clean(name)
    reference = None
    if key.count("-") == 1:
        active, ref = (_strip_dots(p) for p in key.split("-"))
        active = OLD_TO_NEW.get(active, active)
        if ref in REFERENCE_WORDS or ref in REFERENCE_SITES:
            key, reference = active, ref
        else:
            return active, None, OLD_TO_NEW.get(ref, ref)
    key = _strip_dots(key)
    return OLD_TO_NEW.get(key, key), reference, None


def match_ch_name(name: str, vocabulary) -> str | None:
    """The name of ``vocabulary`` that the recorded ``name`` means, or None.

    The name is read with :func:`split_ch_name`; a bipolar derivation
    (``"Fp1-F7"``) never matches. Old and new 10-20 names match each other
    in both directions: ``"T3"`` gives ``"T7"`` in a vocabulary of modern
    names and ``"T7"`` gives ``"T3"`` in one of old names.

    Parameters
    ----------
    name : str
        The channel name as recorded.
    vocabulary : set or frozenset of str
        Canonical upper-case names to accept (any iterable is turned into a
        set).

    Returns
    -------
    canonical : str | None

    Examples
    --------
    >>> match_ch_name("EEG T3-REF", TUEG_19_CHANNELS)
    'T7'
    >>> match_ch_name("Fp1-F7", TUEG_19_CHANNELS) is None
    True
    """
    if not isinstance(vocabulary, (set, frozenset)):
        vocabulary = set(vocabulary)
    key, _, second = split_ch_name(name)
    if second is not None:
        return None  # "A-B" without a reference: a bipolar derivation or unknown
    for candidate in (key, NEW_TO_OLD.get(key), OLD_TO_NEW.get(key)):
        if candidate is not None and candidate in vocabulary:
            return candidate
    return None
