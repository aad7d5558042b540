"""MOABB pipelines of the skeegfm embedders.

`MOABB <https://moabb.neurotechx.com>`_ (Mother of All BCI Benchmarks,
Jayaram & Barachant, 2018, *Journal of Neural Engineering* 15(6):066011) is
the standard framework for benchmarking BCI pipelines on public datasets. Its
evaluations (``WithinSessionEvaluation``, ``CrossSessionEvaluation``,
``CrossSubjectEvaluation``) take a dict of scikit-learn pipelines;
:func:`make_pipelines` gives one per skeegfm embedder (frozen encoder +
``StandardScaler`` + ``LogisticRegression``).

Two ways to feed them:

- ``return_epochs=True`` in the evaluation (recommended): the pipelines get
  ``mne.Epochs``, whose channel names, sampling rate and unit (volts) the
  embedders read themselves. Nothing is hard-coded.
- MOABB's default arrays: they carry neither channel names nor the sampling
  rate, and are in microvolts (``dataset.unit_factor = 1e6``), not MNE's
  volts. :func:`data_params` reads those three facts from the paradigm and
  the dataset (``sfreq``, ``ch_names``, ``unit``) to pass to the embedders:
  ``make_pipelines(**data_params(paradigm, dataset))``.

MOABB is an optional dependency: ``pip install "skeegfm[moabb]"``.

Examples
--------
>>> from moabb.datasets.fake import FakeDataset  # doctest: +SKIP
>>> from moabb.evaluations import WithinSessionEvaluation  # doctest: +SKIP
>>> from moabb.paradigms import LeftRightImagery  # doctest: +SKIP
>>> from skeegfm.moabb import make_pipelines  # doctest: +SKIP
>>> paradigm = LeftRightImagery()  # doctest: +SKIP
>>> dataset = FakeDataset(["left_hand", "right_hand"], n_subjects=2)  # doctest: +SKIP
>>> evaluation = WithinSessionEvaluation(
...     paradigm=paradigm, datasets=[dataset], return_epochs=True, overwrite=True
... )  # doctest: +SKIP
>>> results = evaluation.process(make_pipelines(["eegpt"]))  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["data_params", "make_pipelines"]

_EXTRA = 'pip install "skeegfm[moabb]"'

#: ``dataset.unit_factor`` (MOABB's factor from volts to its arrays) -> ``unit``.
_UNITS = {1.0: "V", 1e3: "mV", 1e6: "uV"}


def _encoders() -> dict:
    """``{name: (display name, embedder class)}``, one per encoder of the records.

    The name is the encoder's lower-case class name (``"eegdino"`` for
    ``EEGDINO``); the display name is what its records' display names share
    (``"EEG-DINO"`` for ``"EEG-DINO-Small"`` and ``"EEG-DINO-Medium"``); the
    class is its embedder (:func:`skeegfm.jobs._records.embedder_class`). In
    the order of :func:`skeegfm.list_models`.
    """
    import os

    from .models._pretrained import list_models
    from .jobs._records import embedder_class

    by_model = {}
    for record in list_models():
        by_model.setdefault(record.model, []).append(record)
    out = {}
    for model, records in by_model.items():
        shown = [r.display_name or r.model for r in records]
        display = os.path.commonprefix(shown).rstrip(" -_") if len(shown) > 1 else shown[0]
        out[model.lower()] = (display or model, embedder_class(records[0]))
    return out


def _require_moabb():
    try:
        import moabb  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"skeegfm.moabb needs MOABB, an optional dependency: {_EXTRA}."
        ) from exc


def data_params(paradigm, dataset, subject=None):
    """Embedder parameters for the arrays MOABB hands to pipelines.

    MOABB's arrays have no channel names or sampling rate attached and are
    scaled by ``dataset.unit_factor`` (1e6: microvolts). This reads one
    subject's epochs through ``paradigm`` (so its channel selection and
    resampling apply; MOABB caches the data) and returns what an embedder
    needs to read those arrays.

    Parameters
    ----------
    paradigm : moabb.paradigms.base.BaseParadigm
        The paradigm of the evaluation.
    dataset : moabb.datasets.base.BaseDataset
        The dataset whose arrays the pipelines get.
    subject : int | None
        The subject to read; ``None``: the first of ``dataset.subject_list``.

    Returns
    -------
    params : dict
        ``{"sfreq": float (Hz), "ch_names": list of str, "unit": "uV"}``
        (``"V"`` or ``"mV"`` for datasets with another ``unit_factor``), for
        the embedders' ``sfreq``, ``ch_names`` and ``unit``.

    Raises
    ------
    ImportError
        If MOABB is not installed (``pip install "skeegfm[moabb]"``).
    ValueError
        If ``dataset.unit_factor`` is not 1, 1e3 or 1e6.
    """
    _require_moabb()
    factor = float(getattr(dataset, "unit_factor", 1e6))
    unit = next((u for f, u in _UNITS.items() if abs(factor / f - 1) < 1e-9), None)
    if unit is None:
        raise ValueError(
            f"{type(dataset).__name__}.unit_factor = {factor:g} is not 1 (V), 1e3 (mV) or 1e6 "
            "(uV); pass unit= to the embedders yourself, or use return_epochs=True."
        )
    subject = dataset.subject_list[0] if subject is None else subject
    epochs, _, _ = paradigm.get_data(dataset, [subject], return_epochs=True)
    return {
        "sfreq": float(epochs.info["sfreq"]),
        "ch_names": list(epochs.ch_names),
        "unit": unit,
    }


def make_pipelines(models=None, *, checkpoints=None, **params):
    """One MOABB pipeline per embedder: frozen encoder, ``StandardScaler``, ``LogisticRegression``.

    Parameters
    ----------
    models : sequence of str | None
        The embedders, by their encoder's lower-case class name
        (e.g. ``"eegdino"``, ``"eegpt"``);
        ``None``: one per encoder of :func:`skeegfm.list_models`.
    checkpoints : dict | None
        ``{model: checkpoint}`` for the embedders' ``checkpoint`` (a Hub id,
        a local path, or ``None`` for random weights); models without an
        entry load their released weights.
    **params
        Further parameters of every embedder, e.g. ``on_missing="zero"``
        (FakeDataset and most motor-imagery datasets lack some of the 19
        channels of EEG-DINO, CodeBrain and CBraMod), ``device``, ``memory`` (an
        embedding cache shared by the folds), or the output of
        :func:`data_params` for array inputs.

    Returns
    -------
    pipelines : dict of str to sklearn.pipeline.Pipeline
        Keyed ``"skeegfm <encoder> + LR"``, what MOABB's evaluations'
        ``process`` takes.

    Raises
    ------
    ValueError
        If a model name is unknown or ``checkpoints`` names a model not in
        ``models``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    encoders = _encoders()
    names = list(encoders) if models is None else [str(m).strip().lower() for m in models]
    unknown = sorted(set(names) - set(encoders))
    if unknown:
        raise ValueError(f"Unknown models {unknown}; choose among {sorted(encoders)}.")
    checkpoints = dict(checkpoints or {})
    extra = sorted(set(checkpoints) - set(names))
    if extra:
        raise ValueError(f"checkpoints given for {extra}, which are not among {names}.")
    pipelines = {}
    for name in names:
        display, cls = encoders[name]
        kwargs = dict(params)
        if name in checkpoints:
            kwargs["checkpoint"] = checkpoints[name]
        pipelines[f"skeegfm {display} + LR"] = make_pipeline(
            cls(**kwargs), StandardScaler(), LogisticRegression(max_iter=1000)
        )
    return pipelines
