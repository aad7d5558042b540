"""The main job: cross-validated linear probes of the encoders on real EEG.

``skeegfm benchmark`` runs :func:`run_benchmark`: every chosen encoder embeds
all epochs once (the encoder is frozen, so embedding inside each fold would
give the same numbers, only slower), then a ``StandardScaler`` +
``LogisticRegression`` probe is cross-validated on the embeddings
(``GroupKFold`` over subjects by default, stratified folds over epochs for
one subject). A classical log-band-power baseline is scored in the same
folds. Everything that can fail is checked before any encoder runs; an
encoder that cannot take the data gets a failed row with the reason, the
others are scored. Results go to ``results.csv``, ``results.json`` (with what
was done to the data for each encoder) and ``results.png``.

Weights come from the Hugging Face Hub by default. When a checkpoint is
neither in the local Hub cache nor downloadable, the row runs with a randomly
initialised encoder and says so (``weights = "random"``) - it is never shown
as pretrained.

The encoders run by default, ``DEFAULT_MODELS``, are the records marked
``default_benchmark`` (:func:`skeegfm.list_models`), read at each access; the
row names are the records' ``display_name``.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models._pretrained import get_record
from ._records import default_models, embedder_class
from ._weights import (
    WeightsSpec,
    _fit_embedder,
    _say,
    hub_reachable,
    resolve_weights,
)
from .report import format_table, write_results

__all__ = [
    "DEFAULT_MODELS",
    "WeightsSpec",
    "format_table",
    "hub_reachable",
    "load_benchmark_data",
    "resolve_weights",
    "run_benchmark",
]

BASELINE_NAME = "Log band power (baseline)"


def __getattr__(name):
    # DEFAULT_MODELS is read from the records at each access (PEP 562), so a
    # record registered later is in it.
    if name == "DEFAULT_MODELS":
        return default_models()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- data


@dataclass
class BenchmarkData:
    """Epochs, labels and groups of a benchmark run."""

    epochs: object
    y: np.ndarray
    groups: np.ndarray | None
    description: str
    label_source: str
    group_source: str | None
    classes: list = field(default_factory=list)
    retyped: dict = field(default_factory=dict)


def load_benchmark_data(data=None, label_column=None, group_column=None):
    """Load the epochs, labels and groups the benchmark scores.

    Parameters
    ----------
    data : str | path-like | mne.Epochs | None
        An MNE Epochs file (``*-epo.fif``) or Epochs object; ``None`` loads
        the bundled EEGMAT subset (:func:`skeegfm.datasets.load_eegmat`).
    label_column : str | None
        Metadata column holding the labels. ``None`` takes the labels from
        the events (their names in ``event_id``).
    group_column : str | None
        Metadata column holding the subject of each epoch. ``None`` uses
        ``"subject"`` when the metadata has it; without groups the folds are
        stratified over epochs, which mixes subjects (a warning says so).

    Returns
    -------
    data : BenchmarkData

    Raises
    ------
    FileNotFoundError
        If ``data`` names no file.
    ValueError
        If the file is not an Epochs file, a column is missing, or there are
        fewer than two classes.
    """
    import mne

    if data is None:
        from ..datasets import load_eegmat

        epochs = load_eegmat(verbose="error")
        description = "bundled EEGMAT subset (PhysioNet, ODC-By 1.0)"
    elif isinstance(data, mne.BaseEpochs):
        epochs, description = data, "Epochs object"
    else:
        path = Path(data).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"--data: no such file: {path}")
        try:
            epochs = mne.read_epochs(path, preload=True, verbose="error")
        except Exception as exc:  # noqa: BLE001 - report what MNE said
            raise ValueError(
                f"--data: {path} could not be read as MNE Epochs ({type(exc).__name__}: {exc}). "
                "Save your epochs with epochs.save('name-epo.fif')."
            ) from exc
        description = str(path)
    from .._channels import channel_type_from_name

    # Channels typed EEG whose names say EOG/EMG/ECG (EDF conversions): the
    # baseline leaves them out as the encoders do. The caller's Epochs are copied.
    retyped = {}
    for name, kind in zip(epochs.ch_names, epochs.get_channel_types()):
        guessed = channel_type_from_name(name) if kind == "eeg" else None
        if guessed is not None:
            retyped[name] = guessed
    if retyped:
        if epochs is data:
            epochs = epochs.copy()
        epochs.set_channel_types(retyped, on_unit_change="ignore", verbose="error")
    metadata = epochs.metadata
    if label_column is not None:
        if metadata is None or label_column not in metadata.columns:
            raise ValueError(
                f"Label column {label_column!r} not in the epochs' metadata "
                f"(columns: {[] if metadata is None else list(metadata.columns)})."
            )
        y = metadata[label_column].to_numpy()
        label_source = f"metadata column {label_column!r}"
    else:
        names = {code: name for name, code in epochs.event_id.items()}
        y = np.asarray([names.get(code, str(code)) for code in epochs.events[:, 2]])
        label_source = "event names"
    classes = sorted(np.unique(y).tolist(), key=str)
    if len(classes) < 2:
        raise ValueError(
            f"Only one class ({classes}) found from the {label_source}; a probe needs two or "
            "more. Choose another --label-column."
        )
    if group_column is None and metadata is not None and "subject" in metadata.columns:
        group_column = "subject"
    if group_column is not None:
        if metadata is None or group_column not in metadata.columns:
            raise ValueError(
                f"Group column {group_column!r} not in the epochs' metadata "
                f"(columns: {[] if metadata is None else list(metadata.columns)})."
            )
        groups = metadata[group_column].to_numpy()
    else:
        groups = None
    return BenchmarkData(
        epochs=epochs,
        y=y,
        groups=groups,
        description=description,
        label_source=label_source,
        group_source=group_column,
        classes=classes,
        retyped=retyped,
    )


#: ``--cv`` choices: ``auto`` is ``group`` with two or more groups, else ``stratified``.
CV_CHOICES = ("auto", "group", "stratified")


def _make_cv(data, n_splits, cv="auto", say=_say):
    """The fold splitter of ``cv``, checked against the labels and groups.

    ``group``: :class:`~sklearn.model_selection.GroupKFold` over the groups
    (cross-subject); ``stratified``:
    :class:`~sklearn.model_selection.StratifiedKFold` over epochs (shuffled,
    seed 0), said to be optimistic because a subject's epochs can be on both
    sides; ``auto``: ``group`` when there are two or more groups, else
    ``stratified``. Every training fold must hold two classes or more.

    Returns
    -------
    splitter, n_splits, description : object, int, str

    Raises
    ------
    ValueError
        If ``cv`` is unknown, ``group`` is asked for with fewer than two
        groups, ``n_splits`` is outside what the groups or the smallest class
        allow, or a training fold would hold a single class.
    """
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if cv not in CV_CHOICES:
        raise ValueError(f"--cv must be one of {list(CV_CHOICES)}; got {cv!r}.")
    n_groups = 0 if data.groups is None else len(np.unique(data.groups))
    if cv == "auto":
        cv = "group" if n_groups >= 2 else "stratified"
    if cv == "group":
        if data.groups is None:
            raise ValueError(
                "--cv group needs groups: pass --group-column COL (a metadata column naming the "
                "subject of each epoch), or --cv stratified to split over epochs."
            )
        if n_groups < 2:
            raise ValueError(
                f"Only {n_groups} group ({data.group_source!r}) found: cross-subject folds need "
                "at least two. Use --cv stratified (folds over epochs, within-subject scores)."
            )
        n_splits = min(5, n_groups) if n_splits is None else int(n_splits)
        if not 2 <= n_splits <= n_groups:
            raise ValueError(
                f"--n-splits must be between 2 and the {n_groups} groups for --cv group; "
                f"got {n_splits}."
            )
        splitter = GroupKFold(n_splits=n_splits)
        description = f"GroupKFold(n_splits={n_splits})"
    else:
        classes, counts = np.unique(data.y, return_counts=True)
        smallest = int(counts.min())
        if smallest < 2:
            raise ValueError(
                f"Class {classes[counts.argmin()]!r} has {smallest} epoch: stratified folds need "
                "at least two epochs per class. Drop that class or add epochs."
            )
        if n_splits is None:
            n_splits = min(5, smallest)
        n_splits = int(n_splits)
        if not 2 <= n_splits <= smallest:
            raise ValueError(
                f"--n-splits must be between 2 and {smallest} (the epochs of the smallest class, "
                f"{classes[counts.argmin()]!r}) for stratified folds; got {n_splits}."
            )
        if data.groups is None:
            say(
                "skeegfm: no group column: folds are stratified over epochs, so one subject's "
                "epochs can be in train and test (optimistic scores). Pass --group-column for "
                "cross-subject CV."
            )
        elif n_groups == 1:
            say(
                f"skeegfm: one group ({data.group_source!r} = {np.unique(data.groups)[0]!r}): "
                "folds are stratified over its epochs. These are within-subject scores, "
                "optimistic for new subjects (neighbouring epochs look alike)."
            )
        else:
            say(
                f"skeegfm: --cv stratified over the epochs of {n_groups} groups: a subject's "
                "epochs can be in train and test, so the scores are optimistic for new subjects."
            )
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        description = f"StratifiedKFold(n_splits={n_splits})"
    for k, (train, _) in enumerate(splitter.split(data.y, data.y, data.groups)):
        if len(np.unique(data.y[train])) < 2:
            raise ValueError(
                f"Fold {k}: its training epochs hold only class {data.y[train][0]!r}, so no "
                "probe can be fitted (each group holds one class?). Use fewer --n-splits or "
                "another --cv."
            )
    return splitter, n_splits, description


def _resolve_bands(bands, sfreq, say=_say):
    """The baseline's bands for data at ``sfreq``: user bands checked, default ones clipped.

    Default bands (theta, alpha, beta) reaching above the Nyquist frequency
    are clipped to it, or left out when they start above it, with a notice;
    bands given by the user must lie below it.

    Returns
    -------
    bands : dict of str to (float, float)

    Raises
    ------
    ValueError
        If a user band reaches above the Nyquist frequency, or no default
        band starts below it.
    """
    from .._baseline import DEFAULT_BANDS, _check_bands

    nyquist = float(sfreq) / 2
    if bands is not None:
        checked = _check_bands(bands)
        too_high = [f"{name}={low:g}-{high:g}" for name, low, high in checked if high > nyquist]
        if too_high:
            raise ValueError(
                f"--bands {too_high} reach above the Nyquist frequency ({nyquist:g} Hz) of the "
                f"data ({float(sfreq):g} Hz); lower their upper edges."
            )
        return {name: (low, high) for name, low, high in checked}
    out, changes = {}, []
    for name, low, high in _check_bands(DEFAULT_BANDS):
        if low >= nyquist:
            changes.append(f"{name} ({low:g}-{high:g} Hz) left out")
            continue
        if high > nyquist:
            changes.append(f"{name} clipped to {low:g}-{nyquist:g} Hz")
            high = nyquist
        out[name] = (low, high)
    if not out:
        raise ValueError(
            f"No default band lies below the Nyquist frequency ({nyquist:g} Hz) of the data; "
            "pass --bands NAME=LOW-HIGH,..."
        )
    if changes:
        say(
            f"skeegfm: baseline bands: {'; '.join(changes)} (the Nyquist frequency of "
            f"{float(sfreq):g} Hz data is {nyquist:g} Hz)."
        )
    return out


# --------------------------------------------------------------------------- scoring


def _probe(random_state=0):
    """The linear probe: StandardScaler + LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=random_state)
    )


def _cross_validate(features, data, cv):
    """Per-fold test scores of the probe on ``features``."""
    from sklearn.model_selection import cross_validate

    scoring = {"balanced_accuracy": "balanced_accuracy"}
    if len(data.classes) == 2:
        scoring["roc_auc"] = "roc_auc"
    result = cross_validate(_probe(), features, data.y, groups=data.groups, cv=cv, scoring=scoring)
    return {metric: result[f"test_{metric}"].tolist() for metric in scoring}


def _device_of(embedder, device):
    """The device the embedder ran on, in words."""
    import torch

    fitted = getattr(embedder, "device_", None)
    dev = torch.device(str(fitted)) if fitted is not None else None
    if dev is None:
        dev = torch.device("cuda" if device in (None, "auto") and torch.cuda.is_available() else (
            "cpu" if device in (None, "auto") else device
        ))
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def _summary(scores):
    arr = np.asarray(scores, dtype=float)
    return float(arr.mean()), float(arr.std())


def _embedder_params(on_missing="raise", on_unknown=None, ch_aliases=None):
    """Embedder parameters of the channel options (unset ones keep the estimators' defaults)."""
    params = {"on_missing": on_missing}
    if on_unknown is not None:
        params["on_unknown"] = on_unknown
    if ch_aliases:
        params["ch_aliases"] = dict(ch_aliases)
    return params


def _input_checker(spec, *, device, params):
    """A random-weight embedder of ``spec``'s class with ``params``, validated.

    Raises what the embedder raises for invalid parameters (an error of the
    options, not of one encoder: the whole command stops).
    """
    cls = embedder_class(get_record(spec.model))
    embedder = cls(checkpoint=None, device=device, **params)
    embedder._check_params()
    return embedder


def _check_encoder_input(embedder, spec, epochs):
    """Prepare one epoch through the input adapter of ``spec``'s embedder.

    Loads no weights: ``embedder`` (from :func:`_input_checker`) prepares the
    first epoch under the record's input contract, which raises what a fit
    would raise about the data (channels unknown or missing, windows too
    short...).

    Returns
    -------
    prepared : PreparedInput
        The first epoch as the encoder gets it (channels used, dropped and
        filled).
    notices : list of str
        The warnings said while preparing it (channels dropped, filled...).
    """
    from .._inputs import prepare_for_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # What the embedder's fit prepares, with its warnings.
        prepared = prepare_for_model(
            embedder._read(epochs[:1]),
            get_record(spec.model),
            on_missing=embedder.on_missing,
            on_unknown=embedder.on_unknown,
            ch_aliases=embedder.ch_aliases,
        )
    notices = list(dict.fromkeys(str(w.message) for w in caught))
    return prepared, notices


def _jsonable(value):
    """Fitted attributes (arrays, dicts, tuples) as JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _adaptations(embedder, prepared):
    """What was done to the data for one encoder: the fitted embedder's
    ``input_report_`` (the facts ``skeegfm embed`` writes to its ``.npz``),
    else the report of preparing one epoch."""
    report = getattr(embedder, "input_report_", None)
    if report is None:
        report = prepared.report.to_dict()
    return _jsonable(dict(report))


def run_benchmark(
    models=None,
    *,
    weights="pretrained",
    checkpoints=None,
    data=None,
    label_column=None,
    group_column=None,
    n_splits=None,
    cv="auto",
    bands=None,
    on_missing="raise",
    on_unknown=None,
    ch_aliases=None,
    output_dir="skeegfm-benchmark",
    device="auto",
    batch_size=32,
    random_state=0,
    progress=True,
    trust_checkpoint=False,
):
    """Cross-validate linear probes of frozen encoders and a classical baseline.

    Each encoder embeds every epoch once; a ``StandardScaler`` +
    ``LogisticRegression`` probe is then cross-validated on the embeddings
    (``GroupKFold`` over subjects by default). Log band power with the same
    probe is scored in the same folds.

    Everything that can be checked is checked before any encoder runs: the
    labels, groups and folds, the bands against the Nyquist frequency, the
    baseline's features, and each encoder's input (one epoch prepared through
    its input adapter). An encoder that cannot take the data does not stop the
    others: its row has ``status = "failed"`` and the reason in ``error``.

    Parameters
    ----------
    models : sequence of str | None
        Record names or aliases (see :func:`skeegfm.list_models`;
        ``"eegdino"`` means ``"eegdino-small"``). ``None``: the records
        marked ``default_benchmark`` (:data:`DEFAULT_MODELS`), in the order
        of :func:`skeegfm.list_models`.
    weights : {"pretrained", "random"}
        Released weights (default) or random initialisation for every model
        without a ``checkpoints`` entry.
    checkpoints : dict | None
        ``{model: path, Hub id or "random"}`` overrides per model.
    data : str | mne.Epochs | None
        An ``-epo.fif`` file or Epochs; ``None`` is the bundled EEGMAT subset.
    label_column, group_column : str | None
        Metadata columns of labels and subjects (see
        :func:`load_benchmark_data`).
    n_splits : int | None
        Folds; ``None`` means ``min(5, n_groups)`` for group folds and
        ``min(5, epochs of the smallest class)`` for stratified ones.
    cv : {"auto", "group", "stratified"}
        ``"group"``: ``GroupKFold`` over the groups (cross-subject);
        ``"stratified"``: ``StratifiedKFold`` over epochs, with a notice
        that such scores are optimistic; ``"auto"``: ``"group"`` with two or
        more groups, else ``"stratified"``.
    bands : dict | None
        Baseline bands ``{name: (low_hz, high_hz)}``, below the Nyquist
        frequency. ``None``: theta 4-8, alpha 8-13, beta 13-30 Hz, clipped to
        the Nyquist frequency with a notice.
    on_missing : {"raise", "interpolate", "zero"}
        Embedder parameter: model channels absent from the data (EEG-DINO,
        CodeBrain).
    on_unknown : {"auto", "raise", "drop"} | None
        Embedder parameter: EEG channels a model has no channel for
        (``"auto"``: valid electrodes left out, other names stop); ``None``
        keeps the embedders' default.
    ch_aliases : dict | None
        Embedder parameter: ``{name in the data: electrode name}``.
    output_dir : str | path-like
        Folder for ``results.csv``, ``results.json`` and ``results.png``.
    device : str
        Torch device of the encoders (``"auto"``: CUDA when available).
    batch_size : int
        Epochs per forward pass.
    random_state : int
        Seed of random initialisations and of the probe.
    progress : bool
        Show progress bars and notices on stderr.
    trust_checkpoint : bool
        Let the embedders fully unpickle local checkpoint files that hold
        Python objects beyond tensors (runs any code they carry; see the
        estimators' parameter of the same name). Default False.

    Returns
    -------
    results : pandas.DataFrame
        One row per encoder and one for the baseline, with the columns
        written to ``results.csv`` (``status`` is ``"ok"`` or ``"failed"``,
        ``error`` the reason of a failure).

    Raises
    ------
    ValueError
        For unknown models or options, unreadable data, labels or groups
        that allow no folds, or bands above the Nyquist frequency; raised
        before any encoder runs.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from .._baseline import LogBandPower
    from ..models import UntrustedCheckpointError

    notices = []

    def say(line):
        # Notices are printed even without progress bars, and kept for results.json.
        notices.append(line.removeprefix("skeegfm: "))
        tqdm.write(line, file=sys.stderr)

    out_dir = Path(output_dir)
    bench = load_benchmark_data(data, label_column, group_column)
    specs = resolve_weights(default_models() if models is None else models, weights, checkpoints)
    splitter, n_splits, cv_text = _make_cv(bench, n_splits, cv, say=say)
    sfreq = float(bench.epochs.info["sfreq"])
    bands = _resolve_bands(bands, sfreq, say=say)
    params = _embedder_params(on_missing, on_unknown, ch_aliases)
    n_epochs = len(bench.y)
    if bench.retyped:
        say(
            "skeegfm: channels typed by their names, not EEG: "
            + ", ".join(f"{name!r} ({kind})" for name, kind in bench.retyped.items())
        )
    say(
        f"skeegfm: {n_epochs} epochs, classes {bench.classes} ({bench.label_source}), "
        f"{cv_text}"
        + (f" over {bench.group_source!r}" if cv_text.startswith("Group") else "")
        + f", data: {bench.description}"
    )

    # Checks before any encoder runs: the baseline (cheap) and each encoder's input.
    start = time.perf_counter()
    baseline = LogBandPower(bands=bands).fit(bench.epochs)
    features = baseline.transform(bench.epochs)
    baseline_seconds = time.perf_counter() - start
    checkers = {
        name: _input_checker(spec, device=device, params=params) for name, spec in specs.items()
    }
    checked = {}
    for name, spec in specs.items():
        try:
            prepared, said = _check_encoder_input(checkers[name], spec, bench.epochs)
        except Exception as exc:  # noqa: BLE001 - the reason goes into the row
            checked[name] = _failure(exc)
            say(f"skeegfm: {name} cannot take the data, its row says why: {checked[name]}")
            continue
        checked[name] = (prepared, said)
        for notice in said:
            say(f"skeegfm: {name}: {notice}")

    rows, folds, adaptations = [], {}, {}
    bar = tqdm(
        total=len(specs) + 1, desc="benchmark", unit="model", disable=not progress, file=sys.stderr
    )
    for name, spec in specs.items():
        bar.set_postfix_str(name)
        display = get_record(name).display_name or name
        if isinstance(checked[name], str):
            rows.append(_failed_row(display, name, spec, checked[name]))
            bar.update(1)
            continue
        prepared, said = checked[name]
        try:
            with warnings.catch_warnings():
                for notice in said:  # already said once, above
                    warnings.filterwarnings("ignore", message=re.escape(notice))
                embedder, spec = _fit_embedder(
                    spec,
                    bench.epochs,
                    fallback=True,
                    say=say,
                    device=device,
                    batch_size=batch_size,
                    random_state=random_state,
                    trust_checkpoint=trust_checkpoint,
                    **params,
                )
                embedder.set_params(verbose=progress)
                start = time.perf_counter()
                embeddings = embedder.transform(bench.epochs)
                seconds = time.perf_counter() - start
            scores = _cross_validate(embeddings, bench, splitter)
        except UntrustedCheckpointError:
            raise  # the user's decision (--trust-checkpoint), not the data's: stop
        except Exception as exc:  # noqa: BLE001 - one encoder's failure ends only its row
            reason = _failure(exc)
            say(f"skeegfm: {name} failed, its row says why: {reason}")
            rows.append(_failed_row(display, name, spec, reason))
            bar.update(1)
            continue
        folds[name] = scores
        adaptations[name] = dict(
            _adaptations(embedder, prepared), notices=said, weights=spec.label
        )
        rows.append(
            _row(
                display,
                name,
                spec,
                scores,
                n_features=embeddings.shape[1],
                seconds=seconds,
                n_epochs=n_epochs,
                device=_device_of(embedder, device),
            )
        )
        bar.update(1)
    bar.set_postfix_str("baseline")
    scores = _cross_validate(features, bench, splitter)
    folds["baseline"] = scores
    band_text = ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in bands.items())
    adaptations["baseline"] = {
        "channels_used": list(baseline.ch_names_in_),
        "bands_hz": {k: [lo, hi] for k, (lo, hi) in bands.items()},
        "sfreq": sfreq,
    }
    rows.append(
        _row(
            BASELINE_NAME,
            "baseline",
            WeightsSpec("baseline", None, "none", f"none ({band_text} Hz)"),
            scores,
            n_features=features.shape[1],
            seconds=baseline_seconds,
            n_epochs=n_epochs,
            device="cpu",
        )
    )
    bar.update(1)
    bar.close()

    results = pd.DataFrame(rows)
    write_results(results, folds, adaptations, notices, bench, cv_text, out_dir)
    return results


def _failure(exc):
    """One line saying why an encoder failed."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


def _failed_row(encoder, key, spec, reason):
    return {
        "encoder": encoder,
        "model": key,
        "weights": spec.label,
        "weights_kind": spec.kind,
        "status": "failed",
        "error": reason,
        "balanced_accuracy_mean": np.nan,
        "balanced_accuracy_std": np.nan,
        "roc_auc_mean": np.nan,
        "roc_auc_std": np.nan,
        "n_features": 0,
        "embed_seconds": np.nan,
        "windows_per_second": np.nan,
        "device": "",
        "balanced_accuracy_folds": "",
    }


def _row(encoder, key, spec, scores, *, n_features, seconds, n_epochs, device):
    bacc_mean, bacc_std = _summary(scores["balanced_accuracy"])
    auc_mean, auc_std = _summary(scores["roc_auc"]) if "roc_auc" in scores else (np.nan, np.nan)
    return {
        "encoder": encoder,
        "model": key,
        "weights": spec.label,
        "weights_kind": spec.kind,
        "status": "ok",
        "error": "",
        "balanced_accuracy_mean": bacc_mean,
        "balanced_accuracy_std": bacc_std,
        "roc_auc_mean": auc_mean,
        "roc_auc_std": auc_std,
        "n_features": int(n_features),
        "embed_seconds": float(seconds),
        "windows_per_second": float(n_epochs / seconds) if seconds > 0 else np.nan,
        "device": device,
        "balanced_accuracy_folds": ";".join(f"{s:.4f}" for s in scores["balanced_accuracy"]),
    }


