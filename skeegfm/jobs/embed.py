"""The embed job: recordings in, frozen-encoder embeddings out (``skeegfm embed``).

:func:`run_embed` embeds one recording into an ``.npz`` file, or several
recordings, folders or BIDS roots into one Zarr store, and returns an
:class:`EmbedReport`. The engines are :func:`skeegfm.jobs.embed_recording`
(one recording in constant memory) and :func:`skeegfm.jobs.embed_recordings`
(many, on Dask, resumable); this module chooses between them, writes the
``.npz`` file and reports.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from ._stream import EmbedOptions, embed_recording

__all__ = ["EmbedReport", "default_output", "run_embed"]

#: Facts of :func:`skeegfm.jobs.embed_recording` that are not the input report.
_JOB_FACTS = (
    "unit_factors", "n_windows", "n_rejected", "duration_s", "checkpoint", "encoder_hash", "notes",
)  # fmt: skip
_EPOCHS_SUFFIXES = ("-epo.fif.gz", "_epo.fif.gz", "-epo.fif", "_epo.fif", ".gz")


@dataclasses.dataclass
class EmbedReport:
    """What :func:`run_embed` wrote.

    Attributes
    ----------
    output : pathlib.Path
        The ``.npz`` file or the Zarr store.
    kind : {"npz", "zarr"}
        One recording in an ``.npz`` file, or a store.
    model : str
        Record name of the encoder.
    checkpoint : str
        The weights as loaded: a Hub id with its revision, a path or
        ``"random"``.
    n_windows : int
        Windows embedded (by this run, for a store).
    n_features : int | None
        Embedding size (``None`` when nothing was embedded).
    input_report : dict | None
        ``.npz``: what was done to the recording's channels (the embedder's
        input report); ``None`` for a store, whose recordings carry theirs.
    notes : list of str
        The notices of the adaptation (``.npz``).
    summary : skeegfm.jobs.CorpusSummary | None
        A store: recordings done, skipped and failed.
    """

    output: Path
    kind: str
    model: str
    checkpoint: str
    n_windows: int
    n_features: int | None
    input_report: dict | None = None
    notes: list = dataclasses.field(default_factory=list)
    summary: object = None

    @property
    def failed(self) -> dict:
        """``{recording: reason}`` of the recordings that could not be embedded."""
        return dict(self.summary.failed) if self.summary is not None else {}

    def __str__(self):
        if self.kind == "npz":
            return f"{self.output}: {self.n_windows} windows x {self.n_features} features"
        return f"{self.output}: {self.summary}"


def default_output(inputs, model, output_dir=".") -> Path:
    """Where :func:`run_embed` writes when no output is named.

    Parameters
    ----------
    inputs : list of str or os.PathLike
        Recordings, folders or BIDS roots.
    model : str
        The model name as given (it goes into the file name).
    output_dir : str | os.PathLike
        The folder.

    Returns
    -------
    output : pathlib.Path
        ``<output_dir>/<recording>_<model>.npz`` for one recording file
        (without its extension, ``-epo.fif`` included), else
        ``<output_dir>/embeddings_<model>.zarr``.
    """
    inputs = list(inputs)
    if len(inputs) == 1 and not Path(inputs[0]).is_dir():
        name = Path(inputs[0]).name
        for suffix in _EPOCHS_SUFFIXES:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
                break
        stem = Path(name).stem if "." in name else name
        return Path(output_dir) / f"{stem}_{model}.npz"
    return Path(output_dir) / f"embeddings_{model}.zarr"


def _output_kind(inputs, output) -> str:
    suffix = Path(output).suffix.lower()
    if suffix == ".npz":
        if len(inputs) != 1 or Path(inputs[0]).is_dir():
            raise ValueError(
                f"An .npz output ({output}) holds one recording; pass one recording file, or "
                "a .zarr output (a store) for several recordings or a folder."
            )
        return "npz"
    if suffix == ".zarr":
        return "zarr"
    raise ValueError(
        f"Output {output}: the output must end in .npz (one recording) or .zarr (a store)."
    )


def _report_line(report):
    """One line of the adaptations in an input report."""
    parts = [f"{len(report['channels_used'])} channel(s) used"]
    if report["channels_dropped"]:
        listed = ", ".join(f"{n!r} ({why})" for n, why in report["channels_dropped"].items())
        parts.append(f"dropped {len(report['channels_dropped'])}: {listed}")
    if report["channels_filled"]:
        listed = ", ".join(f"{n} ({how})" for n, how in report["channels_filled"].items())
        parts.append(f"filled {len(report['channels_filled'])}: {listed}")
    if report["resampled_from"] is not None:
        parts.append(f"resampled {report['resampled_from']:g} -> {report['sfreq']:g} Hz")
    return "; ".join(parts)


def run_embed(
    inputs,
    output=None,
    *,
    model,
    output_dir=".",
    weights="pretrained",
    checkpoint=None,
    window=4.0,
    stride=None,
    on_missing="raise",
    on_unknown="auto",
    ch_aliases=None,
    unit=None,
    encoding=None,
    batch_size=32,
    device="auto",
    seed=0,
    trust_checkpoint=False,
    chunk_windows=256,
    glob=None,
    store_dtype="float32",
    scheduler="processes",
    n_workers=None,
    overwrite=False,
    progress=True,
    say=None,
):
    """Embed recordings with a frozen encoder into an ``.npz`` file or a Zarr store.

    One recording file and an ``.npz`` output (the default for one file):
    the recording is embedded a chunk of windows at a time
    (:func:`skeegfm.jobs.embed_recording`) and written with ``embeddings``
    (n_windows, n_features) float32, ``onsets_s``, ``ch_names`` (the
    channels used), ``dropped_ch_names``, ``filled_ch_names``,
    ``input_report`` (JSON), ``model``, ``checkpoint`` and
    ``skeegfm_version``; the file appears complete or not at all. Several
    inputs, a folder or a ``.zarr`` output: one store, filled by
    :func:`skeegfm.jobs.embed_recordings` (resumed when it exists; failed
    recordings are listed and do not stop the others).

    Parameters
    ----------
    inputs : list of str or os.PathLike
        Recordings MNE can read, ``-epo.fif`` files, folders or BIDS roots.
    output : str | os.PathLike | None
        ``OUT.npz`` (one recording file) or ``OUT.zarr``; ``None``:
        :func:`default_output` in ``output_dir``.
    model : str
        Record name or alias (:func:`skeegfm.list_models`).
    output_dir : str | os.PathLike
        Folder of the default output.
    weights, checkpoint, window, stride, on_missing, on_unknown, ch_aliases, unit, encoding
        See :class:`skeegfm.jobs.EmbedOptions`.
    batch_size, device, seed, trust_checkpoint, chunk_windows
        See :class:`skeegfm.jobs.EmbedOptions`.
    glob, store_dtype, scheduler, n_workers, overwrite
        Stores only; see :func:`skeegfm.jobs.embed_recordings`.
    progress : bool
        Progress bars on stderr.
    say : callable | None
        Where the one-line notices go (random weights, channels dropped or
        filled...); default: standard error.

    Returns
    -------
    report : EmbedReport
        ``str(report)`` is the one-line result; ``report.failed`` the
        recordings of a store that could not be embedded.

    Raises
    ------
    ValueError
        If an option or the model name is invalid, the output does not end
        in ``.npz`` or ``.zarr``, or an ``.npz`` output is given several
        inputs or a folder.
    skeegfm.jobs.RecordingError
        ``.npz``: if the recording cannot be read or embedded (the message
        names the file and the fix).
    skeegfm.models.WeightsNotAvailableError
        If the released weights are neither cached nor downloadable (the
        message names the options that avoid them).
    skeegfm.models.UntrustedCheckpointError
        If the checkpoint file would need unpickling and
        ``trust_checkpoint`` is False.
    skeegfm.jobs.MissingDependencyError
        A store without zarr or dask.distributed installed.
    """
    from ..models import WeightsNotAvailableError
    from ._weights import weights_unavailable_error

    inputs = [str(path) for path in inputs]
    if not inputs:
        raise ValueError("No input: pass at least one recording, folder or BIDS root.")
    say = say or (lambda text: print(text, file=sys.stderr))
    output = default_output(inputs, model, output_dir) if output is None else Path(output)
    kind = _output_kind(inputs, output)
    options = EmbedOptions(
        model=model, weights=weights, checkpoint=checkpoint, window=window, stride=stride,
        on_missing=on_missing, on_unknown=on_unknown, ch_aliases=ch_aliases, unit=unit,
        encoding=encoding, batch_size=batch_size, device=device, seed=seed,
        trust_checkpoint=trust_checkpoint, chunk_windows=chunk_windows,
    )  # fmt: skip
    spec = options.weights_spec()
    if spec.kind == "random":
        say(
            f"skeegfm: {options.model}: RANDOM weights (as asked); the output records "
            "checkpoint 'random'."
        )
    try:
        if kind == "zarr":
            return _embed_store(inputs, output, options, glob=glob, store_dtype=store_dtype,
                                scheduler=scheduler, n_workers=n_workers, overwrite=overwrite,
                                progress=progress, say=say)  # fmt: skip
        return _embed_npz(inputs[0], output, options, spec, progress=progress, say=say)
    except WeightsNotAvailableError as exc:
        raise weights_unavailable_error(spec) from exc


def _embed_npz(path, out, options, spec, *, progress, say):
    """One recording into ``out`` (.npz), written next to it and renamed."""
    from .._version import __version__

    name = Path(path).name
    result = embed_recording(path, options, spec=spec, progress=progress)
    report = {k: v for k, v in result.facts.items() if k not in _JOB_FACTS}
    notes = list(result.facts["notes"])
    for note in notes:
        say(f"skeegfm: {name}: {note}")
    say(f"skeegfm: {name}: {_report_line(report)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written next to the target and renamed: never a half-written OUT.npz.
    partial = out.with_name(out.name + ".partial.npz")
    np.savez(
        partial,
        embeddings=result.embeddings,
        onsets_s=result.onsets_s,
        ch_names=np.asarray(report["channels_used"], dtype=str),
        dropped_ch_names=np.asarray(list(report["channels_dropped"]), dtype=str),
        filled_ch_names=np.asarray(list(report["channels_filled"]), dtype=str),
        input_report=np.asarray(json.dumps(report)),
        model=np.asarray(options.model),
        checkpoint=np.asarray(result.facts["checkpoint"]),
        skeegfm_version=np.asarray(__version__),
    )
    partial.replace(out)
    n_windows, n_features = result.embeddings.shape
    return EmbedReport(
        output=out,
        kind="npz",
        model=options.model,
        checkpoint=result.facts["checkpoint"],
        n_windows=int(n_windows),
        n_features=int(n_features),
        input_report=report,
        notes=notes,
    )


def _embed_store(inputs, out, options, **kwargs):
    """Several recordings into the store ``out``."""
    from .corpus import embed_recordings

    store, summary = embed_recordings(inputs, out, **dataclasses.asdict(options), **kwargs)
    n_features = int(store["embeddings"].shape[1]) if "embeddings" in store else None
    return EmbedReport(
        output=out,
        kind="zarr",
        model=options.model,
        checkpoint=str(store.attrs.get("checkpoint_loaded", store.attrs.get("checkpoint", ""))),
        n_windows=int(summary.n_windows),
        n_features=n_features,
        summary=summary,
    )
