"""What the jobs, the command line and the MOABB pipelines read from the model records.

No table of encoders lives above :mod:`skeegfm.models`: the names a job
accepts, the default benchmark, the display names and the estimator class of
a model all come from the records (:func:`skeegfm.list_models`), so that a
registered record is a model every job knows. The estimator class follows
the naming convention ``record.model + "Embedder"`` in
:mod:`skeegfm.embedders`.

Nothing here is imported by ``skeegfm --help``; the records are read when a
command runs.
"""

from __future__ import annotations

import difflib

__all__ = ["default_models", "embedder_class", "model_names", "models_table", "record_name"]


def _records():
    from ..models._pretrained import list_models

    return list_models()


def _get_record(name):
    from ..models._pretrained import get_record

    return get_record(name)


def _aliases() -> dict:
    """``{alias: record name}``: the aliases the model files registered with their records
    (:func:`skeegfm.models._pretrained.register_pretrained`), in registration order."""
    from ..models import _pretrained

    _records()  # imports the model files: their records and aliases register
    with _pretrained._LOCK:
        return dict(_pretrained._ALIASES)


def model_names() -> list[str]:
    """The model names the jobs accept: every record's name, then the aliases.

    Returns
    -------
    names : list of str
        Record names in the order of :func:`skeegfm.list_models`, then
        aliases (``"eegdino"`` for ``"eegdino-small"``).
    """
    return [r.name for r in _records()] + list(_aliases())


def default_models() -> tuple[str, ...]:
    """Record names of the default benchmark (records with ``default_benchmark``).

    Returns
    -------
    names : tuple of str
        In the order of :func:`skeegfm.list_models`.
    """
    return tuple(r.name for r in _records() if r.default_benchmark)


def record_name(name) -> str:
    """The record name of a model name or alias (``"eegdino"`` -> ``"eegdino-small"``).

    Parameters
    ----------
    name : str
        A record name, an alias or the Hub id of a record; case and
        surrounding spaces are ignored.

    Returns
    -------
    name : str
        The record's name.

    Raises
    ------
    ValueError
        If no record has that name; the message lists the known names and
        suggests the nearest one.
    """
    key = str(name).strip().lower()
    try:
        return _get_record(key).name
    except KeyError:
        pass
    known = model_names()
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    raise ValueError(
        f"Unknown model {str(name)!r}; known: {', '.join(known)}."
        + (f" Did you mean {close[0]!r}?" if close else "")
    )


def embedder_class(record):
    """The embedder class of ``record``: ``skeegfm.embedders.<record.model>Embedder``.

    Parameters
    ----------
    record : ModelRecord

    Returns
    -------
    cls : type
        A subclass of the embedders' base class.

    Raises
    ------
    ValueError
        If :mod:`skeegfm.embedders` has no class of that name.
    """
    from .. import embedders

    name = f"{record.model}Embedder"
    cls = getattr(embedders, name, None)
    if cls is None:
        raise ValueError(
            f"Record {record.name!r} names the encoder {record.model!r}, but skeegfm.embedders "
            f"has no {name}; define it next to the other embedders."
        )
    return cls


def models_table() -> str:
    """The records as a Markdown table (what ``skeegfm models`` prints).

    Returns
    -------
    table : str
        One row per record: name, Hub id, sampling rate (Hz), unit,
        reference, channels (count and matching) and embedding size.
    """
    header = ("name", "Hub id", "sfreq (Hz)", "unit", "reference", "channels", "emb. dim")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in _records():
        cells = (
            r.name,
            r.hub_id,
            f"{r.sfreq:g}",
            r.unit,
            r.reference,
            f"{len(r.ch_names)} ({r.channel_matching})",
            str(r.emb_dim),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
