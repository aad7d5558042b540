"""Channel names: normalisation of common spellings and the models' vocabularies.

Every place in skeegfm that compares channel names goes through
:func:`normalize_ch_name`, so that ``"EEG Fp1-REF"``, ``"fp1"`` and ``"FP1"``
mean the same electrode and nothing is ever matched by guessing.
"""

from __future__ import annotations

__all__ = [
    "EEGPT_CHANNELS",
    "STANDARD_19_CHANNELS",
    "TUEG_19_CHANNELS",
    "eegpt_channel_ids",
    "normalize_ch_name",
    "normalize_ch_names",
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

_OLD_1020_NAMES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
_REFERENCE_SUFFIXES = ("-REF", "-LE", "-RE", "-AR", "-AVG", "-A1", "-A2", "-M1", "-M2")


def normalize_ch_name(name: str, vocabulary=None) -> str | None:
    """Map a channel name to its canonical upper-case 10-20/10-10 name.

    The rules are deliberately few and never guess: the name is stripped and
    upper-cased, a leading ``"EEG "`` is removed, a trailing reference suffix
    is removed only when it is one of ``-REF``, ``-LE``, ``-RE``, ``-AR``,
    ``-AVG``, ``-A1``, ``-A2``, ``-M1``, ``-M2`` (so a bipolar derivation such
    as ``"Fp1-F7"`` stays unmatched), trailing dots are removed, and the old
    10-20 names T3, T4, T5, T6 become T7, T8, P7, P8.

    Parameters
    ----------
    name : str
        The channel name as recorded, e.g. ``"EEG Fp1-REF"``.
    vocabulary : iterable of str | None
        Canonical names to accept. Defaults to :data:`EEGPT_CHANNELS`, the
        largest vocabulary of the three models.

    Returns
    -------
    canonical : str | None
        The canonical name (e.g. ``"FP1"``), or ``None`` when the normalised
        name is not in ``vocabulary``.

    Examples
    --------
    >>> normalize_ch_name("EEG T3-REF")
    'T7'
    >>> normalize_ch_name("Fp1-F7") is None
    True
    """
    vocab = EEGPT_CHANNELS if vocabulary is None else vocabulary
    key = str(name).strip().upper()
    if key.startswith("EEG "):
        key = key[4:].strip()
    for suffix in _REFERENCE_SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)].strip()
            break
    key = key.strip(".")
    key = _OLD_1020_NAMES.get(key, key)
    return key if key in set(vocab) else None


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
