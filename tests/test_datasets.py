"""The bundled EEGMAT epochs (skeegfm.datasets.load_eegmat)."""

import mne
import numpy as np
import pytest

from skeegfm.datasets import load_eegmat


@pytest.fixture(scope="module")
def eegmat():
    return load_eegmat(return_X_y=True, verbose=False)


def test_load_eegmat_epochs():
    epochs = load_eegmat(verbose=False)
    assert isinstance(epochs, mne.BaseEpochs)
    assert epochs.preload
    assert epochs.get_data(copy=False).shape == (192, 19, 1000)
    assert epochs.info["sfreq"] == 250.0
    assert epochs.event_id == {"rest": 1, "arithmetic": 2}
    assert set(epochs.get_channel_types()) == {"eeg"}
    assert epochs.get_montage() is not None
    cols = {"subject", "recording", "label", "condition", "onset_s", "count_quality"}
    assert cols <= set(epochs.metadata.columns)
    # Real EEG in volts: tens of microvolts, not microvolt numbers.
    assert 1e-6 < np.std(epochs.get_data(copy=False)) < 1e-4


def test_load_eegmat_return_X_y(eegmat):
    epochs, y, groups = eegmat
    assert y.shape == (192,) and y.dtype == np.int64
    assert groups.shape == (192,)
    np.testing.assert_array_equal(y, epochs.metadata["label"].to_numpy())
    np.testing.assert_array_equal(groups, epochs.metadata["subject"].to_numpy())
    assert set(y) == {0, 1}
    assert len(set(groups)) == 8
    # Labels agree with the events and the condition column.
    np.testing.assert_array_equal(y, epochs.events[:, 2] - 1)
    np.testing.assert_array_equal(y == 1, epochs.metadata["condition"] == "arithmetic")
    # 12 rest + 12 arithmetic windows per subject.
    for subject in set(groups):
        assert np.bincount(y[groups == subject]).tolist() == [12, 12]


def test_load_eegmat_cross_subject_split(eegmat):
    from sklearn.model_selection import GroupKFold

    epochs, y, groups = eegmat
    for train, test in GroupKFold(n_splits=4).split(y, y, groups):
        assert not set(groups[train]) & set(groups[test])
