"""scikit-learn compliance of every skeegfm estimator.

scikit-learn's common checks (``check_estimator``) feed 2-D data, which no EEG
encoder can take, and an estimator that declares 3-D input gets them all
skipped. So this file

1. runs directly the checks of :mod:`sklearn.utils.estimator_checks` that
   need no data (``DATA_FREE_CHECKS``), and
2. runs the intent of the data-dependent checks on 3-D EEG, in the style of
   pyRiemann's contract tests: the same helpers parametrised over the list of
   estimator classes.

To cover a new estimator class, append it to ``ESTIMATORS`` (and to
``TRANSFORMERS`` when it has ``transform``), with the encoder family whose
tiny checkpoint it loads in ``FAMILY``. Tests that call methods go through
:func:`outputs`, which collects every prediction-like method the estimator
has, so classifiers are covered without new code.
"""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks, get_tags

from skeegfm import models
from skeegfm.classifiers import (
    CBraModClassifier,
    CodeBrainClassifier,
    EEGDINOClassifier,
    EEGPTClassifier,
)
from skeegfm.embedders import CBraModEmbedder, CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

#: Estimators under test (classifiers are appended here).
ESTIMATORS = [EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder, CBraModEmbedder]
#: The subset with ``transform``.
TRANSFORMERS = [EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder, CBraModEmbedder]
#: Tiny checkpoint family of each estimator class (see tests/_tiny.py).
FAMILY = {
    EEGDINOEmbedder: "eegdino",
    EEGPTEmbedder: "eegpt",
    CodeBrainEmbedder: "codebrain",
    CBraModEmbedder: "cbramod",
}

#: The fine-tuning classifiers (skeegfm.classifiers).
ESTIMATORS += [EEGDINOClassifier, EEGPTClassifier, CodeBrainClassifier, CBraModClassifier]
FAMILY.update(
    {
        EEGDINOClassifier: "eegdino",
        EEGPTClassifier: "eegpt",
        CodeBrainClassifier: "codebrain",
        CBraModClassifier: "cbramod",
    }
)
#: Extra parameters of ``make`` per class: classifiers train 1 epoch with a
#: fixed seed (fits are then fast and comparable).
PARAMS = {
    cls: {"random_state": 0, "max_epochs": 1}
    for cls in (EEGDINOClassifier, EEGPTClassifier, CodeBrainClassifier, CBraModClassifier)
}

#: Checks of sklearn.utils.estimator_checks that need no data. Every check
#: that takes data is skipped by sklearn for 3-D estimators; their intent is
#: tested below on EEG (test_* functions named after them).
DATA_FREE_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_repr",
    "check_estimator_cloneable",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
]
#: Data-free checks that apply only to transformers (they call transform or
#: get_feature_names_out on an unfitted estimator, so any data is rejected
#: before it is looked at).
TRANSFORMER_DATA_FREE_CHECKS = [
    "check_get_feature_names_out_error",
    "check_transformers_unfitted",
]

CH_NAMES = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
    "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2",
]  # fmt: skip
SFREQ = 200.0
N_EPOCHS, N_TIMES = 10, 800
PREDICT_METHODS = ("transform", "predict", "predict_proba", "decision_function")


def _eeg(n_epochs=N_EPOCHS, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (20e-6 * rng.standard_normal((n_epochs, len(CH_NAMES), N_TIMES))).astype(dtype)


@pytest.fixture(scope="module")
def eeg():
    X = _eeg()
    y = np.arange(N_EPOCHS) % 2
    return X, y


@pytest.fixture
def make(tiny_checkpoint):
    """``make(cls, **params)``: an estimator on its tiny checkpoint for array input."""

    def factory(cls, **params):
        params = {
            "checkpoint": str(tiny_checkpoint(FAMILY[cls])),
            "sfreq": SFREQ,
            "ch_names": CH_NAMES,
            "batch_size": 4,
            **PARAMS.get(cls, {}),
            **params,
        }
        return cls(**params)

    return factory


def outputs(est, X):
    """Every prediction-like method's output on ``X``."""
    return {m: getattr(est, m)(X) for m in PREDICT_METHODS if hasattr(est, m)}


# --------------------------------------------------------------------------
# sklearn's data-free checks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(cls, check):
    getattr(estimator_checks, check)(cls.__name__, cls())


@pytest.mark.parametrize("check", TRANSFORMER_DATA_FREE_CHECKS)
@pytest.mark.parametrize("cls", TRANSFORMERS, ids=lambda c: c.__name__)
def test_sklearn_transformer_data_free_checks(cls, check):
    getattr(estimator_checks, check)(cls.__name__, cls())


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_tags(cls):
    tags = get_tags(cls())
    assert tags.input_tags.three_d_array
    assert not tags.input_tags.two_d_array
    assert not tags.input_tags.allow_nan
    assert tags.requires_fit
    assert not tags.non_deterministic


# --------------------------------------------------------------------------
# The data-dependent checks' intent, on 3-D EEG
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimators_unfitted(cls, make, eeg):
    X, _ = eeg
    est = make(cls)
    for method in PREDICT_METHODS:
        if hasattr(est, method):
            with pytest.raises(NotFittedError):
                getattr(est, method)(X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_fit_returns_self_and_fitted_attributes(cls, make, eeg):
    X, y = eeg
    est = make(cls)
    assert est.fit(X, y) is est
    assert est.n_features_in_ == len(CH_NAMES)
    assert list(est.ch_names_in_) == CH_NAMES
    assert est.sfreq_in_ == SFREQ
    assert est.encoder_hash_ and est.pretrained_source_
    # check_fit_check_is_fitted: fitted attributes only after fit.
    assert not any(k.endswith("_") and not k.startswith("__") for k in vars(make(cls)))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_n_features_in_and_ch_names_checked(cls, make, eeg):
    X, y = eeg
    est = make(cls).fit(X, y)
    with pytest.raises(ValueError, match="channels"):
        outputs(est.set_params(ch_names=CH_NAMES[:-1]), X[:, :-1])
    renamed = CH_NAMES[:-1] + ["Oz"]
    with pytest.raises(ValueError, match="channels"):
        outputs(est.set_params(ch_names=renamed), X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_fit_idempotent(cls, make, eeg):
    X, y = eeg
    est = make(cls)
    first = outputs(est.fit(X, y), X)
    second = outputs(est.fit(X, y), X)
    for method in first:
        assert_allclose(first[method], second[method], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_methods_assign_nothing(cls, make, eeg):
    # check_dict_unchanged / check_dont_overwrite_parameters
    X, y = eeg
    est = make(cls).fit(X, y)
    before = dict(vars(est))
    outputs(est, X)
    if hasattr(est, "get_feature_names_out"):
        est.get_feature_names_out()
    after = vars(est)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_input_not_modified(cls, make, eeg):
    X, y = eeg
    X_copy = X.copy()
    outputs(make(cls).fit(X, y), X)
    assert_array_equal(X, X_copy)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_methods_sample_order_invariance(cls, make, eeg):
    X, y = eeg
    est = make(cls).fit(X, y)
    perm = np.random.default_rng(1).permutation(len(X))
    full, shuffled = outputs(est, X), outputs(est, X[perm])
    for method in full:
        assert_allclose(full[method][perm], shuffled[method], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_methods_subset_invariance(cls, make, eeg):
    X, y = eeg
    est = make(cls).fit(X, y)
    full = outputs(est, X)
    parts = [outputs(est, X[i : i + 3]) for i in range(0, len(X), 3)]
    for method in full:
        assert_allclose(
            full[method], np.concatenate([p[method] for p in parts]), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimators_pickle(cls, make, eeg, tmp_path):
    X, y = eeg
    est = make(cls).fit(X, y)
    expected = outputs(est, X)
    for restored in (
        pickle.loads(pickle.dumps(est)),
        joblib.load(joblib.dump(est, tmp_path / "est.joblib")[0]),
    ):
        got = outputs(restored, X)
        for method in expected:
            assert_array_equal(expected[method], got[method])


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_readonly_memmap_input(cls, make, eeg, tmp_path):
    X, y = eeg
    path = tmp_path / "X.npy"
    np.save(path, X)
    X_mm = np.load(path, mmap_mode="r")
    assert not X_mm.flags.writeable
    est = make(cls).fit(X_mm, y)
    expected = outputs(make(cls).fit(X, y), X)
    got = outputs(pickle.loads(pickle.dumps(est)), X_mm)
    for method in expected:
        assert_allclose(expected[method], got[method], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cls", TRANSFORMERS, ids=lambda c: c.__name__)
def test_dtypes(cls, make, eeg):
    X, y = eeg
    est = make(cls).fit(X, y)
    Z64 = est.transform(X)
    assert Z64.dtype == np.float32
    assert est.set_params(dtype="float64").transform(X).dtype == np.float64
    est.set_params(dtype="float32")
    # float32 input: the same features up to float32 rounding of the input.
    assert_allclose(est.transform(X.astype(np.float32)), Z64, rtol=1e-3, atol=1e-4)
    # integer input (e.g. raw ADC counts in uV) is accepted.
    X_int = np.round(X * 1e6).astype(np.int32)
    Z_int = make(cls, unit="uV").fit(X_int, y).transform(X_int)
    assert Z_int.shape == Z64.shape and np.isfinite(Z_int).all()
    with pytest.raises(ValueError, match="dtype"):
        est.set_params(dtype="int8").fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_empty_nan_inf_and_shape_errors(cls, make, eeg):
    # check_estimators_empty_data_messages, check_estimators_nan_inf, check_fit2d_predict1d
    X, y = eeg
    est = make(cls)
    bad_inputs = {
        "empty": X[:0],
        "NaN": np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X),
        "inf": np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X),
        "2-D": X[0],
        "4-D": X[None],
    }
    for name, bad in bad_inputs.items():
        with pytest.raises(ValueError):
            est.fit(bad, y[: len(bad)] if len(bad) == len(y) else y)
    est.fit(X, y)
    for name, bad in bad_inputs.items():
        with pytest.raises(ValueError):
            outputs(est, bad)


@pytest.mark.parametrize("cls", TRANSFORMERS, ids=lambda c: c.__name__)
def test_set_output_pandas(cls, make, eeg):
    X, y = eeg
    est = make(cls).fit(X, y)
    names = est.get_feature_names_out()
    assert len(names) == est.n_features_out_ == est.transform(X).shape[1]
    assert names[0] == f"{cls.__name__.lower()}0"
    frame = est.set_output(transform="pandas").transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(names)
    frame = clone(est).fit_transform(X, y)
    assert isinstance(frame, pd.DataFrame)
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(make(cls).fit(X, y).transform(X), pd.DataFrame)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_clone_in_grid_search(cls, make, eeg):
    X, y = eeg
    est = make(cls)
    if hasattr(est, "transform"):
        param = {"pooling": list(models._encoder_class(cls._model_class_name).poolings[:2])}
        pipe = make_pipeline(est, LogisticRegression())
        grid = {f"{pipe.steps[0][0]}__{k}": v for k, v in param.items()}
    else:
        pipe, grid = est, {"random_state": [0, 1]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert len(search.cv_results_["params"]) == len(next(iter(grid.values())))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_invalid_params_raise_at_fit(cls, make, eeg):
    X, y = eeg
    for params in (
        {"batch_size": 0},
        {"device": "not-a-device"},
        {"precision": "float8"},
        {"on_missing": "guess"},
        {"on_unknown": "keep"},
        {"unit": "nV"},
        {"sfreq": -1.0},
    ):
        est = make(cls, **params)  # __init__ and set_params never validate
        with pytest.raises((ValueError, TypeError)):
            est.fit(X, y)
