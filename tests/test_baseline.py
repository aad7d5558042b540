"""The log-band-power baseline of ``skeegfm benchmark``."""

import mne
import numpy as np
import pytest
from sklearn.base import clone

from skeegfm._baseline import DEFAULT_BANDS, LogBandPower

SFREQ = 200.0


def _sines(freqs_per_chan, n_epochs=3, n_times=800, amplitude=1e-5, seed=0):
    """Epochs where channel i is a sine at freqs_per_chan[i] Hz plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / SFREQ
    data = np.stack([amplitude * np.sin(2 * np.pi * f * t) for f in freqs_per_chan])
    data = np.broadcast_to(data, (n_epochs, *data.shape)).copy()
    return data + 1e-8 * rng.standard_normal(data.shape)


def test_shape_order_and_names():
    X = _sines([6.0, 10.0, 20.0])
    est = LogBandPower(sfreq=SFREQ).fit(X)
    features = est.transform(X)
    assert features.shape == (3, 3 * len(DEFAULT_BANDS))
    names = est.get_feature_names_out()
    assert list(names[:3]) == ["ch0_theta", "ch0_alpha", "ch0_beta"]
    # Channel-major: each channel's peak band is the one holding its sine.
    per_chan = features.reshape(3, 3, 3)[0]
    assert list(per_chan.argmax(axis=1)) == [0, 1, 2]


def test_log_scaling_of_amplitude():
    X = _sines([10.0, 10.0])
    est = LogBandPower(sfreq=SFREQ).fit(X)
    # Ten times the amplitude is a hundred times the power: +2 in log10.
    diff = est.transform(10 * X) - est.transform(X)
    np.testing.assert_allclose(diff, 2.0, atol=1e-6)


def test_epochs_match_arrays_and_skip_non_eeg():
    X = _sines([6.0, 10.0, 20.0])
    info = mne.create_info(["Fz", "Cz", "ECG"], SFREQ, ["eeg", "eeg", "ecg"])
    epochs = mne.EpochsArray(X, info, verbose="error")
    est = LogBandPower().fit(epochs)
    assert est.ch_names_in_ == ["Fz", "Cz"]
    from_epochs = est.transform(epochs)
    from_array = LogBandPower(sfreq=SFREQ).fit_transform(X[:, :2])
    np.testing.assert_allclose(from_epochs, from_array)
    # sklearn's CV splitters hand over a list of one-epoch Epochs.
    from_list = est.transform([epochs[i] for i in range(len(epochs))])
    np.testing.assert_allclose(from_list, from_epochs)


def test_custom_bands_and_clone():
    X = _sines([3.0, 40.0])
    est = LogBandPower(sfreq=SFREQ, bands=[(1, 4), (30, 45)])
    features = clone(est).fit_transform(X)
    assert features.shape == (3, 4)
    assert features[0, 0] > features[0, 1] and features[0, 3] > features[0, 2]
    assert list(est.fit(X).get_feature_names_out()) == ["ch0_1-4Hz", "ch0_30-45Hz", "ch1_1-4Hz", "ch1_30-45Hz"]


def test_input_not_modified_and_flat_channel_finite():
    X = _sines([10.0, 10.0])
    X[:, 1] = 0.0
    before = X.copy()
    features = LogBandPower(sfreq=SFREQ).fit_transform(X)
    np.testing.assert_array_equal(X, before)
    assert np.isfinite(features).all()


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        ({}, np.zeros((2, 2, 400)), "sfreq"),
        ({"sfreq": SFREQ, "bands": {"gamma": (60, 120)}}, np.ones((2, 2, 400)), "Nyquist"),
        ({"sfreq": SFREQ, "bands": {"bad": (8, 4)}}, np.ones((2, 2, 400)), "low < high"),
        ({"sfreq": SFREQ, "bands": []}, np.ones((2, 2, 400)), "empty"),
        ({"sfreq": SFREQ}, np.ones((2, 400)), "3"),
        ({"sfreq": SFREQ, "window_seconds": 0}, np.ones((2, 2, 400)), "window_seconds"),
    ],
)
def test_errors(kwargs, X, match):
    with pytest.raises(ValueError, match=match):
        LogBandPower(**kwargs).fit(X)


def test_transform_checks_channels_and_rate():
    X = _sines([10.0, 10.0])
    est = LogBandPower(sfreq=SFREQ).fit(X)
    with pytest.raises(ValueError, match="channels"):
        est.transform(X[:, :1])
    info = mne.create_info(["a", "b"], 2 * SFREQ, "eeg")
    with pytest.raises(ValueError, match="Hz"):
        LogBandPower().fit(mne.EpochsArray(X, info, verbose="error")).transform(
            mne.EpochsArray(X, mne.create_info(["a", "b"], SFREQ, "eeg"), verbose="error")
        )


def test_chunking_does_not_change_features(monkeypatch):
    import skeegfm._baseline as baseline

    X = _sines([6.0, 10.0, 20.0], n_epochs=7, seed=1)
    whole = LogBandPower(sfreq=SFREQ).fit_transform(X)
    monkeypatch.setattr(baseline, "_CHUNK_BYTES", X[:1].nbytes * 2)  # chunks of 2 epochs
    np.testing.assert_array_equal(LogBandPower(sfreq=SFREQ).fit_transform(X), whole)
