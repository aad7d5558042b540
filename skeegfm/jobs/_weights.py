"""Which weights each encoder of a job loads, and the embedder that loads them.

Shared by the benchmark (:mod:`skeegfm.jobs.benchmark`) and the embed job
(:mod:`skeegfm.jobs.embed`): a model name and a weights choice become a
:class:`WeightsSpec` (Hub weights, a local path or random initialisation), and
:func:`_fit_embedder` fits the model's embedder on them; the benchmark falls
back to random weights, said in one line, when released weights cannot be
had, the embed job stops (:func:`weights_unavailable_error`).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from ._records import embedder_class, record_name

__all__ = ["WeightsSpec", "hub_reachable", "resolve_weights", "weights_unavailable_error"]


def _say(message, stream=None):
    """Print one line to stderr (progress and notices; stdout holds the results)."""
    print(message, file=stream or sys.stderr, flush=True)


@dataclass
class WeightsSpec:
    """Where one encoder's weights come from.

    Attributes
    ----------
    model : str
        Record name, e.g. ``"eegpt"``.
    checkpoint : str | None
        What the embedder loads: a Hub id, a local directory or file, or
        ``None`` for a randomly initialised encoder.
    kind : str
        ``"pretrained"`` (Hub weights), ``"local"`` (a user path) or
        ``"random"``.
    label : str
        What the results table shows: the Hub id (completed with the
        revision once loaded), the path, or ``"random"``.
    note : str | None
        One-line explanation when the released weights could not be used.
    """

    model: str
    checkpoint: str | None
    kind: str
    label: str
    note: str | None = None


def hub_reachable(timeout=3.0):
    """Whether the Hugging Face Hub can be used, decided in at most ``timeout`` s.

    ``False`` at once in offline mode (``HF_HUB_OFFLINE=1``), without a
    connection; otherwise one request to the Hub endpoint through
    huggingface_hub's HTTP session (:mod:`skeegfm.models._loading`).

    Parameters
    ----------
    timeout : float
        Seconds to wait for a connection.

    Returns
    -------
    reachable : bool
    """
    from ..models._loading import _hub_reachable

    return _hub_reachable(timeout)


def resolve_weights(models, weights="pretrained", checkpoints=None):
    """Decide which weights each encoder loads.

    Parameters
    ----------
    models : list of str
        Record names or aliases (``"eegdino"`` means ``"eegdino-small"``).
    weights : {"pretrained", "random"}
        Default for every model without an entry in ``checkpoints``:
        the released Hub weights, or random initialisation.
    checkpoints : dict | None
        ``{model: local path, Hub id or "random"}`` overrides, per model.

    Returns
    -------
    specs : dict of str to WeightsSpec
        Keyed by record name, in the order of ``models``. Whether Hub weights
        are available is found out when they are loaded (see
        :func:`skeegfm.jobs.benchmark.run_benchmark`).

    Raises
    ------
    ValueError
        If ``weights`` is not "pretrained"/"random", if a model name is
        unknown, if ``checkpoints`` names a model not in ``models``, or if a
        ``checkpoints`` entry is neither an existing path nor a Hub id
        (``"owner/name"``).
    """
    if weights not in ("pretrained", "random"):
        raise ValueError(f"weights must be 'pretrained' or 'random'; got {weights!r}.")
    names = [record_name(m) for m in models]
    overrides = {record_name(k): str(v) for k, v in (checkpoints or {}).items()}
    extra = sorted(set(overrides) - set(names))
    if extra:
        raise ValueError(
            f"--checkpoint given for {extra}, which are not among the models run ({names})."
        )
    from ..models._pretrained import get_record, resolve_checkpoint

    specs = {}
    for name in names:
        target = overrides.get(name, "random" if weights == "random" else None)
        if target is None:
            hub_id = get_record(name).hub_id
            specs[name] = WeightsSpec(name, hub_id, "pretrained", hub_id)
            continue
        if target == "random":
            specs[name] = WeightsSpec(name, None, "random", "random")
            continue
        try:
            resolved = resolve_checkpoint(target)  # the package's one rule
        except FileNotFoundError as exc:
            raise ValueError(f"Checkpoint for {name!r}: {exc}") from None
        if resolved.kind == "path":
            specs[name] = WeightsSpec(name, resolved.target, "local", resolved.target)
        else:
            specs[name] = WeightsSpec(name, resolved.target, "pretrained", resolved.target)
    return specs


def _unavailable_reason(spec):
    """Why the released weights of ``spec`` cannot be had, in one sentence."""
    from ..models._loading import _is_offline

    why = "offline mode (HF_HUB_OFFLINE=1)" if _is_offline() else "the Hub cannot be reached"
    return (
        f"{spec.model}: weights {spec.checkpoint} are not in the local Hugging Face cache and "
        f"cannot be downloaded ({why})"
    )


def _unavailable_note(spec):
    """The one line printed when the benchmark runs without the released weights."""
    return f"{_unavailable_reason(spec)}: running with RANDOM initialisation, marked 'random'."


def weights_unavailable_error(spec):
    """The error of a job that needs the released weights of ``spec`` and cannot have them.

    Parameters
    ----------
    spec : WeightsSpec
        A ``"pretrained"`` spec whose weights are neither cached nor
        downloadable.

    Returns
    -------
    error : skeegfm.models.WeightsNotAvailableError
        Its message says why and names the options that avoid the download
        (spelled as flags inside :func:`skeegfm._channels.option_style`
        ``("cli")``).
    """
    from .._channels import option_hint
    from ..models import WeightsNotAvailableError

    return WeightsNotAvailableError(
        f"{_unavailable_reason(spec)}. Pass {option_hint('checkpoint', 'PATH')}, or "
        f"{option_hint('weights', 'random')} for a randomly initialised encoder."
    )


def _loaded_label(spec, embedder):
    """The weights label once loaded: Hub id with the commit, path, or random."""
    source = getattr(embedder, "pretrained_source_", None) or {}
    if "random_init" in source:
        return "random"
    if spec.kind == "pretrained" and source.get("commit"):
        return f"{source.get('repo_id', spec.checkpoint)}@{str(source['commit'])[:12]}"
    return spec.label


def _fit_embedder(spec, epochs, *, fallback=False, say=_say, **kwargs):
    """Fit the embedder of ``spec`` on ``epochs``; returns ``(embedder, spec)``.

    With ``fallback``, released weights that cannot be had (offline, not
    cached) are replaced by random ones, said in one line, and the returned
    spec is the random one. ``kwargs`` are embedder parameters.
    """
    from ..models import WeightsNotAvailableError

    def fit(spec):
        embedder = _make_embedder(spec, verbose=False, **kwargs)
        with warnings.catch_warnings():
            # Random weights are announced in the table, not per fit.
            warnings.filterwarnings("ignore", message="checkpoint=None", category=UserWarning)
            embedder.fit(epochs)
        return embedder

    try:
        embedder = fit(spec)
    except WeightsNotAvailableError:
        if not (fallback and spec.kind == "pretrained"):
            raise
        note = _unavailable_note(spec)
        say(f"skeegfm: {note}")
        spec = WeightsSpec(spec.model, None, "random", "random", note)
        embedder = fit(spec)
    spec.label = _loaded_label(spec, embedder)
    return embedder, spec


def _make_embedder(spec, *, device, batch_size, random_state, verbose, **params):
    """The embedder of ``spec.model``, loading ``spec.checkpoint``.

    ``params`` are further embedder parameters (e.g. ``on_missing``). A
    random spec gives ``checkpoint=None``: the embedder then builds the
    released architecture with weights drawn from ``random_state``.
    """
    from ..models._pretrained import get_record

    record = get_record(spec.model)
    cls = embedder_class(record)
    if spec.kind == "random" and cls._default_record != record.name:
        # checkpoint=None builds the family's default size; other sizes
        # (eegdino-medium) are saved once with random weights and loaded.
        checkpoint = str(_random_checkpoint(record, random_state))
    else:
        checkpoint = None if spec.kind == "random" else spec.checkpoint
    return cls(
        checkpoint=checkpoint,
        device=device,
        batch_size=batch_size,
        random_state=random_state,
        verbose=verbose,
        **params,
    )


_RANDOM_DIRS: dict = {}  # (record name, seed) -> TemporaryDirectory, kept for the process


def _random_checkpoint(record, random_state):
    """A temporary directory holding ``record``'s architecture with random weights."""
    import tempfile

    import torch

    from .. import models

    key = (record.name, int(random_state))
    if key not in _RANDOM_DIRS:
        holder = tempfile.TemporaryDirectory(prefix=f"skeegfm-random-{record.name}-")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(random_state))
            module = getattr(models, record.model)(
                **record.preset,
                n_chans=len(record.ch_names),
                n_times=int(5 * record.sfreq),
                sfreq=record.sfreq,
                return_encoder_output=True,
            )
        module.save_pretrained(holder.name)
        _RANDOM_DIRS[key] = holder
    return Path(_RANDOM_DIRS[key].name)


