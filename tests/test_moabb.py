"""MOABB: the pipelines of skeegfm.moabb in MOABB's evaluations, on its FakeDataset.

Also what MOABB made visible: warnings said once per estimator configuration
(not once per fold), and no warning for the extra sample of an inclusive
``tmax`` (385 samples for 3 s at 128 Hz).
"""

import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skeegfm import CodeBrainEmbedder, EEGDINOEmbedder


def _said(records, text):
    return sum(text in str(r.message) for r in records)


# --------------------------------------------------------------------------- without MOABB


@pytest.mark.parametrize("cls", [CodeBrainEmbedder, EEGDINOEmbedder])
def test_inclusive_tmax_sample_is_dropped_silently(cls, tiny_checkpoint):
    """3 s at 128 Hz with an inclusive end: 385 samples -> 600 at 200 Hz, no warning."""
    family = "codebrain" if cls is CodeBrainEmbedder else "eegdino"
    names = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7",
             "P3", "Pz", "P4", "P8", "O1", "O2"]  # fmt: skip
    X = np.random.default_rng(0).standard_normal((2, 19, 385)) * 1e-5
    embedder = cls(checkpoint=str(tiny_checkpoint(family)), sfreq=128.0, ch_names=names)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        out = embedder.fit_transform(X)
        prepared = embedder._prepare(embedder._read(X))
    assert not _said(records, "dropping the last")
    assert prepared.data.shape[-1] == 600  # not 602, not padded to 800
    assert np.isfinite(out).all()
    # A longer remainder is still trimmed (CodeBrain) with the warning.
    if cls is CodeBrainEmbedder:
        with pytest.warns(UserWarning, match="dropping the last"):
            clone(embedder).fit_transform(np.concatenate([X, X[..., :20]], axis=-1))


def test_warnings_said_once_per_configuration_not_per_fit(tiny_checkpoint):
    """Clones (one per CV fold) share the once-registry; other parameters warn again."""
    names = ["C3", "Cz", "C4"]
    X = np.random.default_rng(0).standard_normal((2, 3, 385)) * 1e-5
    embedder = CodeBrainEmbedder(
        checkpoint=None, sfreq=128.0, ch_names=names, on_missing="zero", random_state=0
    )
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for _ in range(5):
            clone(embedder).fit_transform(X)
    assert _said(records, "checkpoint=None") == 1
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        clone(embedder).set_params(random_state=1).fit(X)
    assert _said(records, "checkpoint=None") == 1
    # Errors still propagate, and the warnings said before them are not lost.
    with pytest.raises(ValueError, match="on_missing"):
        clone(embedder).set_params(on_missing="raise").fit(X)


def test_missing_moabb_names_the_extra(monkeypatch):
    from skeegfm import moabb as skm

    monkeypatch.setitem(sys.modules, "moabb", None)
    with pytest.raises(ImportError, match=r"skeegfm\[moabb\]"):
        skm.data_params(object(), object())


def test_make_pipelines_arguments():
    from skeegfm.moabb import make_pipelines

    pipes = make_pipelines(checkpoints={"eegpt": None}, on_missing="zero")
    assert list(pipes) == [
        "skeegfm EEG-DINO + LR", "skeegfm EEGPT + LR", "skeegfm CodeBrain + LR",
        "skeegfm CBraMod + LR",
    ]  # fmt: skip
    embedder = pipes["skeegfm EEGPT + LR"].steps[0][1]
    assert embedder.checkpoint is None and embedder.on_missing == "zero"
    released = pipes["skeegfm EEG-DINO + LR"].steps[0][1]
    assert released.checkpoint == EEGDINOEmbedder().checkpoint
    with pytest.raises(ValueError, match="Unknown models"):
        make_pipelines(["eegnet"])
    with pytest.raises(ValueError, match="not among"):
        make_pipelines(["eegpt"], checkpoints={"codebrain": None})


# --------------------------------------------------------------------------- with MOABB


@pytest.fixture(scope="module")
def fake():
    pytest.importorskip("moabb")
    import moabb
    from moabb.datasets.fake import FakeDataset
    from moabb.paradigms import LeftRightImagery

    moabb.set_log_level("error")
    dataset = FakeDataset(
        event_list=["left_hand", "right_hand"], n_sessions=1, n_runs=1, n_subjects=2,
        n_events=20, duration=60, seed=0,
    )  # fmt: skip
    return LeftRightImagery(), dataset


def test_data_params_read_from_moabb(fake):
    """Rate, channels and unit for MOABB's arrays (in uV) come from the data."""
    paradigm, dataset = fake
    params = pytest.importorskip("skeegfm.moabb").data_params(paradigm, dataset)
    assert params == {"sfreq": 128.0, "ch_names": ["C3", "Cz", "C4"], "unit": "uV"}
    X, _, _ = paradigm.get_data(dataset, [1])
    epochs, _, _ = paradigm.get_data(dataset, [1], return_epochs=True)
    from skeegfm._inputs import read_eeg

    from_arrays = read_eeg(X, **params).data
    np.testing.assert_allclose(from_arrays, epochs.get_data(), rtol=1e-6)  # same volts
    # Left at unit="V", MOABB's microvolts are 10^6 too large: the amplitude check says so.
    wrong = {**params, "unit": "V"}
    with pytest.warns(UserWarning, match="uV"):
        read_eeg(X, **wrong)
    dataset.unit_factor, saved = 1e2, dataset.unit_factor
    try:
        with pytest.raises(ValueError, match="unit_factor"):
            pytest.importorskip("skeegfm.moabb").data_params(paradigm, dataset)
    finally:
        dataset.unit_factor = saved


def test_within_session_evaluation_eegpt(fake, tiny_checkpoint, tmp_path):
    from moabb.evaluations import WithinSessionEvaluation

    from skeegfm.moabb import make_pipelines

    paradigm, dataset = fake
    evaluation = WithinSessionEvaluation(
        paradigm=paradigm, datasets=[dataset], overwrite=True, hdf5_path=str(tmp_path),
        return_epochs=True,
    )  # fmt: skip
    pipelines = make_pipelines(["eegpt"], checkpoints={"eegpt": str(tiny_checkpoint("eegpt"))})
    results = evaluation.process(pipelines)
    assert sorted(results["subject"].astype(str)) == ["1", "2"]
    assert set(results["pipeline"]) == {"skeegfm EEGPT + LR"}
    assert results["score"].between(0, 1).all()


def test_cross_subject_evaluation_codebrain_random_weights(fake, tmp_path):
    """Random-weight CodeBrain on 3 of its 19 channels, 385-sample epochs: each
    warning at most once for the whole evaluation, no trimming warning."""
    from moabb.evaluations import CrossSubjectEvaluation

    from skeegfm.moabb import make_pipelines

    paradigm, dataset = fake
    evaluation = CrossSubjectEvaluation(
        paradigm=paradigm, datasets=[dataset], overwrite=True, hdf5_path=str(tmp_path),
        return_epochs=True,
    )  # fmt: skip
    pipelines = make_pipelines(["codebrain"], checkpoints={"codebrain": None}, on_missing="zero")
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        results = evaluation.process(pipelines)
    assert len(results) == 2 and results["score"].between(0, 1).all()
    assert _said(records, "checkpoint=None") == 1
    assert not _said(records, "dropping the last")
    ours = [str(r.message) for r in records if "skeegfm" in r.filename]
    assert len(ours) == len(set(ours)), ours  # nothing of ours said twice


def test_array_pipeline_with_data_params(fake, tiny_checkpoint, tmp_path):
    """MOABB's default arrays (uV, no names): data_params makes them work unchanged."""
    from moabb.evaluations import WithinSessionEvaluation

    from skeegfm.moabb import data_params, make_pipelines

    paradigm, dataset = fake
    params = data_params(paradigm, dataset)
    pipelines = make_pipelines(
        ["eegpt"], checkpoints={"eegpt": str(tiny_checkpoint("eegpt"))}, **params
    )
    evaluation = WithinSessionEvaluation(
        paradigm=paradigm, datasets=[dataset], overwrite=True, hdf5_path=str(tmp_path),
        suffix="arrays",
    )  # fmt: skip
    arrays = evaluation.process(pipelines)
    epochs_eval = WithinSessionEvaluation(
        paradigm=paradigm, datasets=[dataset], overwrite=True, hdf5_path=str(tmp_path),
        return_epochs=True, suffix="epochs",
    )  # fmt: skip
    epochs = epochs_eval.process(
        make_pipelines(["eegpt"], checkpoints={"eegpt": str(tiny_checkpoint("eegpt"))})
    )
    key = ["subject", "session"]
    np.testing.assert_allclose(
        arrays.sort_values(key)["score"].to_numpy(), epochs.sort_values(key)["score"].to_numpy()
    )
