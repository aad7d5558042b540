"""Pretrained records: where each released encoder lives and what input it expects.

One :class:`ModelRecord` per released checkpoint, in the spirit of timm's
``PretrainedCfg`` and ``register_model``: the Hub repository, the
architecture preset and the input contract (sampling rate, amplitude unit,
reference, channel vocabulary and how channels are matched, window rule),
each value with its source. Each model file registers its own records in a
section at its end (:func:`register_pretrained`); :func:`list_models` imports
the model files named in :data:`skeegfm.models._ENCODER_MODULES` so that
every record is there. The input adapter (:mod:`skeegfm._inputs`) reads its
preprocessing from the records and nowhere else.

Nothing here imports PyTorch; the model files that register the records do.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "TUEG_SOURCES",
    "UNKNOWN_LICENCE",
    "ModelRecord",
    "ResolvedCheckpoint",
    "get_record",
    "list_models",
    "register_pretrained",
    "resolve_checkpoint",
]

#: ``licence`` of a record whose weights state no licence.
UNKNOWN_LICENCE = "unknown: see the model card"

_WINDOW_RULES = ("pad", "trim", "keep")
_CHANNEL_MATCHING = ("by name", "positional")
_REFERENCES = ("average", "none")


@dataclass(frozen=True)
class ModelRecord:
    """The input contract and provenance of one released checkpoint.

    Attributes
    ----------
    name : str
        Short name used by the estimators and the command line
        (e.g. ``"eegdino-small"``).
    model : str
        Encoder class in :mod:`skeegfm.models`: a key of
        ``skeegfm.models._ENCODER_MODULES`` (e.g. ``"EEGPT"``).
    hub_id : str
        Hugging Face Hub repository of the weights.
    preset : dict
        Architecture constructor arguments the weights need.
    sfreq : float
        Sampling rate of the pretraining data, Hz. Inputs are resampled to it.
    patch_size : int
        Samples per patch.
    min_n_times : int
        Shortest window, in samples at ``sfreq``, that the encoder accepts.
    unit : str
        Amplitude unit the model expects, in words (e.g. ``"microvolts / 100"``).
    scale_from_volts : float
        Factor that converts volts to ``unit``.
    reference : {"average", "none"}
        ``"average"`` when the data were average-referenced for pretraining,
        ``"none"`` when used as recorded.
    ch_names : tuple of str
        Channel vocabulary, in the model's slot order.
    channel_matching : {"by name", "positional"}
        ``"by name"`` (a learned embedding per name: any subset, any order) or
        ``"positional"`` (slots by position: inputs are reordered to
        ``ch_names``).
    emb_dim : int
        Size of the default (``pooling="mean"``) embedding.
    n_params : int
        Encoder parameters (head excluded).
    licence : str
        Licence of the weights, or ``"unknown: see the model card"``.
    paper : str
        The paper the architecture implements.
    window : {"pad", "trim", "keep"}, default="keep"
        What the encoder does with a window that is not a whole number of
        patches, as the reference implementation does: zero-pad to whole
        patches, drop the tail, or keep it (the model pads it itself).
    display_name : str, default=""
        Name in tables and plots (e.g. ``"EEG-DINO-Small"``).
    default_benchmark : bool, default=False
        Whether ``skeegfm benchmark`` runs it when no ``--models`` is given.
    sources : dict
        Where each value above came from.
    """

    name: str
    model: str
    hub_id: str
    preset: dict
    sfreq: float
    patch_size: int
    min_n_times: int
    unit: str
    scale_from_volts: float
    reference: str
    ch_names: tuple
    channel_matching: str
    emb_dim: int
    n_params: int
    licence: str
    paper: str
    window: str = "keep"
    display_name: str = ""
    default_benchmark: bool = False
    sources: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return the record as a plain dict (lists instead of tuples)."""
        out = asdict(self)
        out["ch_names"] = list(self.ch_names)
        return out


#: Sources of the input contract shared by the encoders pretrained on
#: CBraMod's TUEG preprocessing (EEG-DINO, CodeBrain, CBraMod): 200 Hz,
#: microvolts / 100, no re-referencing, 19 positional channels, 1-s patches.
#: A model file starts from ``dict(TUEG_SOURCES, ...)`` and overrides what
#: differs.
TUEG_SOURCES = {
    "sfreq": "CBraMod's TUEG preprocessing (authors' repository wjq-learning/CBraMod) resamples "
        "to 200 Hz; Hub model card: 200 Hz",
    "unit": "CBraMod's pretraining code (wjq-learning/CBraMod) divides microvolts by 100",
    "scale_from_volts": "follows from unit: 1 V = 1e6 uV, divided by 100",
    "reference": "CBraMod's TUEG preprocessing has no re-referencing step (recordings used as "
        "recorded)",
    "ch_names": "CBraMod's 19-channel TUEG order (wjq-learning/CBraMod), modern names; EEG-DINO's "
        "and CodeBrain's own preprocessing is not public, so this is an inference",
    "channel_matching": "reference implementation (braindecode): EEG-DINO's one-hot slot i is "
        "input channel i; CodeBrain has only a positional conv over channels",
    "patch_size": "reference implementation (braindecode) defaults: 200-sample (1 s) patches; the "
        "released FFT branch has 101 bins",
    "min_n_times": "one patch (200 samples): shorter windows give no token",
    "licence": "not stated by the authors' repository; see the Hub model card",
}  # fmt: skip


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------

_LOCK = threading.RLock()
_BY_NAME: dict[str, ModelRecord] = {}  # in registration order
_ALIASES: dict[str, str] = {}  # alias -> record name


def register_pretrained(record: ModelRecord, aliases=()) -> ModelRecord:
    """Add a released checkpoint to the registry (called by the model files).

    Each model file registers its records in a section at its end, so that
    everything about an encoder lives in its file::

        register_pretrained(ModelRecord(name="eegpt", model="EEGPT", ...))

    Parameters
    ----------
    record : ModelRecord
        The record; its ``name`` and ``hub_id`` must be new.
    aliases : iterable of str, default=()
        Other names :func:`get_record` accepts for it (e.g. ``"eegdino"`` for
        ``"eegdino-small"``).

    Returns
    -------
    record : ModelRecord
        ``record`` itself, so that a model file can keep a reference.

    Raises
    ------
    TypeError
        If ``record`` is not a :class:`ModelRecord`.
    ValueError
        If its name, an alias or its Hub id is already registered (a record
        registered twice), or if ``window``, ``channel_matching`` or
        ``reference`` is not one of the values the input adapter knows.
    """
    if not isinstance(record, ModelRecord):
        raise TypeError(f"register_pretrained expects a ModelRecord, got {type(record).__name__}.")
    aliases = tuple(aliases)
    for attr, allowed in (
        ("window", _WINDOW_RULES),
        ("channel_matching", _CHANNEL_MATCHING),
        ("reference", _REFERENCES),
    ):
        if getattr(record, attr) not in allowed:
            raise ValueError(
                f"Record {record.name!r}: {attr} must be one of {list(allowed)}, got "
                f"{getattr(record, attr)!r}."
            )
    with _LOCK:
        for key in (record.name, *aliases):
            if not isinstance(key, str) or not key or key != key.strip():
                raise ValueError(f"Record names and aliases must be non-empty strings, got {key!r}.")
            if key in _BY_NAME or key in _ALIASES:
                owner = _BY_NAME.get(key) or _BY_NAME[_ALIASES[key]]
                raise ValueError(
                    f"A pretrained record called {key!r} is already registered (the "
                    f"{owner.model} record {owner.name!r}, Hub id {owner.hub_id!r}); each record "
                    "is registered once, by its model file. Choose another name, or "
                    "unregister the old record first."
                )
        if len(set(aliases)) != len(aliases) or record.name in aliases:
            raise ValueError(f"Record {record.name!r}: its aliases {list(aliases)} repeat a name.")
        clash = next((r for r in _BY_NAME.values() if r.hub_id == record.hub_id), None)
        if clash is not None:
            raise ValueError(
                f"Record {record.name!r} has the Hub id {record.hub_id!r} of the registered "
                f"record {clash.name!r}; one record per Hub repository (add an alias instead)."
            )
        _BY_NAME[record.name] = record
        for alias in aliases:
            _ALIASES[alias] = record.name
    return record


def _unregister_pretrained(name: str) -> ModelRecord:
    """Remove the record ``name`` and its aliases (for tests). Returns it."""
    with _LOCK:
        record = _BY_NAME.pop(name)
        for alias in [a for a, target in _ALIASES.items() if target == name]:
            del _ALIASES[alias]
    return record


def _import_encoder_modules() -> None:
    """Import every model file of ``_ENCODER_MODULES``: their records register."""
    from . import _ENCODER_MODULES

    for module in _ENCODER_MODULES.values():
        importlib.import_module(module, __package__)


def _ordered() -> list[ModelRecord]:
    """Records in the order of ``_ENCODER_MODULES``, then of registration.

    The order does not depend on which model file was imported first.
    """
    from . import _ENCODER_MODULES

    _import_encoder_modules()
    rank = {name: k for k, name in enumerate(_ENCODER_MODULES)}
    with _LOCK:
        records = list(_BY_NAME.values())
    order = sorted(range(len(records)), key=lambda k: (rank.get(records[k].model, len(rank)), k))
    return [records[k] for k in order]


def list_models() -> list[ModelRecord]:
    """List the released checkpoints and their input contracts.

    Imports the model files (and with them PyTorch): each registers its own
    records.

    Returns
    -------
    records : list of ModelRecord
        One record per released checkpoint, in the order of the encoders in
        :mod:`skeegfm.models`: Hub id, architecture preset, sampling rate
        (Hz), patch size, expected amplitude unit, reference, channel
        vocabulary and order, window rule, embedding size, parameter count,
        licence and paper, with the source of every value in ``sources``.
        A new list at each call.

    Examples
    --------
    >>> [r.name for r in list_models()]
    ['eegdino-small', 'eegdino-medium', 'eegpt', 'codebrain', 'cbramod']
    """
    return _ordered()


def get_record(name: str) -> ModelRecord:
    """Return the :class:`ModelRecord` called ``name``.

    Parameters
    ----------
    name : str
        Record name, e.g. ``"eegpt"``, or an alias (``"eegdino"`` means
        ``"eegdino-small"``). The Hub id of a released checkpoint is accepted
        too.

    Returns
    -------
    record : ModelRecord

    Raises
    ------
    KeyError
        If no record has that name; the message lists the known names and
        suggests the nearest one.
    """
    _import_encoder_modules()
    with _LOCK:
        key = _ALIASES.get(name, name) if isinstance(name, str) else name
        if key in _BY_NAME:
            return _BY_NAME[key]
        for record in _BY_NAME.values():
            if record.hub_id == name:
                return record
        known = [r.name for r in _ordered()]
    raise KeyError(f"No released checkpoint called {name!r}; known: {known}." + _did_you_mean(name))


def _did_you_mean(name) -> str:
    """`` Did you mean 'eegpt'?`` for the nearest registry name, or ``""``."""
    with _LOCK:
        names = sorted(_BY_NAME) + sorted(_ALIASES)
    close = difflib.get_close_matches(str(name).lower(), names, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------
# The one checkpoint resolver
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """What a checkpoint argument refers to (see :func:`resolve_checkpoint`).

    Attributes
    ----------
    kind : {"path", "hub"}
        An existing local file or directory, or a Hub repository id.
    target : str
        What ``from_pretrained`` loads: the absolute path, or the Hub id
        (a registry name is replaced by its record's Hub id).
    record : ModelRecord | None
        The registry record when ``source`` is a registry name or a released
        Hub id, else None.
    """

    kind: str
    target: str
    record: ModelRecord | None = None


def resolve_checkpoint(source) -> ResolvedCheckpoint:
    """The one rule that turns a checkpoint argument into a path or a Hub id.

    In order: an existing local path (file or directory) wins; then a
    registry name or alias (``"eegpt"``, ``"eegdino"``) or a released Hub id;
    then any other Hub repository id ``"owner/name"`` (the package's one
    Hub-id rule, :func:`skeegfm.models._loading.is_hub_id`). Anything else is a
    local path that does not exist, never sent to the Hub.

    Parameters
    ----------
    source : str | os.PathLike | ModelRecord
        Estimator ``checkpoint``, CLI ``--checkpoint`` or
        ``load_pretrained`` source.

    Returns
    -------
    resolved : ResolvedCheckpoint

    Raises
    ------
    FileNotFoundError
        If ``source`` is neither an existing path, a registry name nor a Hub
        id. The message says that no such local path exists, lists the
        registry names and aliases and suggests the nearest one.
    TypeError
        If ``source`` is not a string, path or record.
    """
    if isinstance(source, ModelRecord):
        return ResolvedCheckpoint("hub", source.hub_id, source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "checkpoint must be a registry name, a Hub id or a local path, got "
            f"{type(source).__name__}."
        )
    text = os.fspath(source)
    path = Path(text).expanduser()
    if text and path.exists():
        return ResolvedCheckpoint("path", str(path.resolve()))
    if isinstance(source, str):
        try:
            record = get_record(text)
        except KeyError:
            record = None
        if record is not None:
            return ResolvedCheckpoint("hub", record.hub_id, record)
        from ._loading import is_hub_id  # lazily: torch and huggingface_hub only when needed

        if is_hub_id(text):
            return ResolvedCheckpoint("hub", text)
    names = [r.name for r in list_models()]
    with _LOCK:
        aliases = sorted(_ALIASES)
    also = f"; alias{'es' if len(aliases) > 1 else ''} {', '.join(map(repr, aliases))}" if aliases else ""
    raise FileNotFoundError(
        f"No such local path exists: {text!r} (looked for {path.absolute()}), and it is "
        f"neither a registry name ({', '.join(names)}{also}) nor a "
        "Hugging Face Hub repository id ('owner/name')." + _did_you_mean(path.name or text)
    )
