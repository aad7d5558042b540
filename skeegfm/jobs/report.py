"""What the benchmark writes: the printed table, ``results.csv``, ``results.json`` and the figure.

:func:`format_table` is the Markdown table ``skeegfm benchmark`` prints;
:func:`write_results` writes the three files of a run of
:func:`skeegfm.jobs.benchmark.run_benchmark`.
"""

from __future__ import annotations

import json
import platform

import numpy as np

__all__ = ["format_table", "write_results"]


def format_table(results):
    """The results as a Markdown table (what ``skeegfm benchmark`` prints).

    Parameters
    ----------
    results : pandas.DataFrame
        As returned by :func:`run_benchmark`.

    Returns
    -------
    table : str
    """
    has_auc = results["roc_auc_mean"].notna().any()
    header = ["encoder", "weights", "balanced accuracy"]
    header += ["ROC AUC"] if has_auc else []
    header += ["embed time (s)", "windows/s", "device"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in results.itertuples(index=False):
        if getattr(row, "status", "ok") == "failed":
            cells = [row.encoder, row.weights, "failed (see below)"]
            cells += ["-"] * (len(header) - len(cells))
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
            continue
        bacc = f"{row.balanced_accuracy_mean:.3f} ± {row.balanced_accuracy_std:.3f}"
        cells = [row.encoder, row.weights, bacc]
        if has_auc:
            cells.append(
                "-"
                if np.isnan(row.roc_auc_mean)
                else f"{row.roc_auc_mean:.3f} ± {row.roc_auc_std:.3f}"
            )
        cells += [f"{row.embed_seconds:.1f}", f"{row.windows_per_second:.1f}", row.device]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def write_results(results, folds, adaptations, notices, bench, cv_text, out_dir):
    """Write ``results.csv``, ``results.json`` and ``results.png`` into ``out_dir``.

    Parameters
    ----------
    results : pandas.DataFrame
        One row per encoder and one for the baseline (see
        :func:`skeegfm.jobs.benchmark.run_benchmark`).
    folds : dict
        ``{model: {metric: [score per fold]}}`` of the rows that ran.
    adaptations : dict
        ``{model: what was done to the data}`` (the embedders' input reports).
    notices : list of str
        The notices said during the run.
    bench : skeegfm.jobs.benchmark.BenchmarkData
        The data scored (description, labels, groups, classes).
    cv_text : str
        The fold splitter, in words (``"GroupKFold(n_splits=5)"``).
    out_dir : pathlib.Path
        Created if missing.
    """
    import mne
    import sklearn
    import torch

    from .._version import __version__

    out_dir.mkdir(parents=True, exist_ok=True)
    results.to_csv(out_dir / "results.csv", index=False)
    payload = {
        "skeegfm_version": __version__,
        "data": bench.description,
        "n_epochs": int(len(bench.y)),
        "classes": [str(c) for c in bench.classes],
        "labels_from": bench.label_source,
        "groups_from": bench.group_source,
        "n_groups": None if bench.groups is None else int(len(np.unique(bench.groups))),
        "cv": cv_text,
        "probe": "StandardScaler + LogisticRegression(max_iter=2000), embeddings computed once",
        "fold_scores": folds,
        "adaptations": adaptations,
        "notices": notices,
        "failed": {
            row.model: row.error for row in results.itertuples(index=False) if row.status != "ok"
        },
        "rows": json.loads(results.to_json(orient="records")),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "mne": mne.__version__,
            "sklearn": sklearn.__version__,
        },
    }
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    _plot(results, folds, bench, out_dir / "results.png")


def _plot(results, folds, bench, path):
    """Score per encoder: bar = mean, points = folds, dashed line = chance.

    Drawn on a bare :class:`matplotlib.figure.Figure` (Agg canvas), so the
    caller's pyplot state and backend are left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6 * len(results) + 2.5, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    positions = np.arange(len(results))
    rng = np.random.default_rng(0)
    for pos, row in zip(positions, results.itertuples(index=False)):
        if row.model not in folds:  # failed: no bar, its label says so
            continue
        scores = np.asarray(folds[row.model]["balanced_accuracy"], dtype=float)
        if row.model == "baseline":
            color = "0.6"
        else:
            color = "tab:orange" if row.weights_kind == "random" else "tab:blue"
        ax.bar(pos, scores.mean(), width=0.6, color=color, alpha=0.5)
        jitter = rng.uniform(-0.12, 0.12, size=len(scores))
        ax.plot(pos + jitter, scores, "o", color="k", markersize=4)
    labels = [
        f"{row.encoder}\n(failed)"
        if row.model not in folds
        else f"{row.encoder}\n({'random weights' if row.weights_kind == 'random' else row.weights_kind})"
        if row.model != "baseline"
        else row.encoder.replace(" (", "\n(")
        for row in results.itertuples(index=False)
    ]
    ax.set_xticks(positions, labels, fontsize=8)
    ax.axhline(1.0 / len(bench.classes), linestyle="--", color="k", linewidth=1, label="chance")
    ax.set_ylim(0, 1)
    ax.set_ylabel("balanced accuracy (test folds)")
    n_folds = len(folds["baseline"]["balanced_accuracy"])
    ax.set_title(f"Linear probes, {len(bench.y)} epochs, {n_folds} folds")
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=120)
