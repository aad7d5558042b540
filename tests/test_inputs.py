"""The input adapter (skeegfm._inputs) on real EEG: EEGMAT epochs and a raw EDF."""

import hashlib
from pathlib import Path

import mne
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.utils import _safe_indexing

from skeegfm._channels import TUEG_19_CHANNELS
from skeegfm._inputs import (
    EEGInput,
    check_same_channels,
    prepare,
    prepare_for_model,
    read_eeg,
)
from skeegfm._registry import get_record
from skeegfm.datasets import load_eegmat

EDF = Path(__file__).parent / "data" / "Subject00_2.edf"
RECORDS = ["eegpt", "eegdino-small", "codebrain"]


@pytest.fixture(scope="module")
def all_epochs():
    return load_eegmat(verbose=False)


@pytest.fixture
def epochs(all_epochs):
    # 6 epochs (3 rest, 3 arithmetic) of 19 channels x 1000 samples at 250 Hz.
    return all_epochs[[0, 1, 2, 100, 101, 102]]


@pytest.fixture(scope="module")
def edf_epochs():
    raw = mne.io.read_raw_edf(EDF, preload=True, verbose=False)
    raw.set_channel_types({"ECG ECG": "ecg"}, verbose=False)
    return mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose=False)[:5]


def _digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# ----------------------------------------------------------------- read_eeg


def test_read_eeg_epochs_is_a_view(epochs):
    eeg = read_eeg(epochs)
    assert isinstance(eeg, EEGInput)
    assert eeg.data.shape == (6, 19, 1000)
    assert np.shares_memory(eeg.data, epochs.get_data(copy=False))
    assert eeg.ch_names == epochs.ch_names and eeg.sfreq == 250.0
    assert eeg.ch_types == ["eeg"] * 19 and eeg.info is epochs.info


def test_sklearn_indexing_gives_list_of_epochs(all_epochs):
    # sklearn 1.9's CV machinery slices X with _safe_indexing: an Epochs has no
    # ``shape``, so it is indexed element-wise into a list of one-epoch Epochs.
    idx = np.array([5, 0, 150, 77])
    sliced = _safe_indexing(all_epochs, idx)
    assert isinstance(sliced, list) and len(sliced) == 4
    assert all(isinstance(e, mne.BaseEpochs) and len(e) == 1 for e in sliced)
    eeg = read_eeg(sliced)
    np.testing.assert_array_equal(eeg.data, all_epochs.get_data(copy=False)[idx])
    for name in RECORDS:
        record = get_record(name)
        a = prepare(sliced, record).data
        b = prepare(all_epochs[idx], record).data
        np.testing.assert_array_equal(a, b)


class _PreparedMean(TransformerMixin, BaseEstimator):
    """Tiny estimator: fit/transform go through the adapter like the real ones."""

    def fit(self, X, y=None):
        eeg = read_eeg(X)
        self.ch_names_in_, self.sfreq_in_ = eeg.ch_names, eeg.sfreq
        self.received_ = type(X).__name__
        return self

    def transform(self, X):
        eeg = read_eeg(X)
        check_same_channels(self.ch_names_in_, self.sfreq_in_, eeg)
        data = prepare_for_model(eeg, get_record("eegdino-small")).data
        return np.log(data.var(axis=-1))


def test_cross_val_score_passes_epochs_through_the_adapter(all_epochs):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklearn.preprocessing import StandardScaler

    epochs = all_epochs[np.flatnonzero(all_epochs.metadata["subject"].isin(
        ["Subject00", "Subject01", "Subject02", "Subject03"]))]  # fmt: skip
    y = epochs.metadata["label"].to_numpy()
    groups = epochs.metadata["subject"].to_numpy()
    pipe = make_pipeline(_PreparedMean(), StandardScaler(), LogisticRegression())
    scores = cross_val_score(pipe, epochs, y, groups=groups, cv=GroupKFold(2))
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    pipe.fit(_safe_indexing(epochs, np.arange(0, 96, 4)), y[::4])
    assert pipe[0].received_ == "list"


@pytest.mark.parametrize("name", RECORDS)
def test_epochs_list_and_arrays_give_identical_data(epochs, name):
    record = get_record(name)
    data = epochs.get_data()
    ref = prepare(epochs, record)
    assert ref.data.dtype == np.float32 and ref.data.flags.c_contiguous
    assert ref.sfreq == record.sfreq
    from_list = prepare([epochs[i] for i in range(len(epochs))], record)
    from_volts = prepare(data, record, sfreq=250.0, ch_names=epochs.ch_names)
    from_uv = prepare(data * 1e6, record, sfreq=250, ch_names=epochs.ch_names, unit="uV")
    from_mu = prepare(data * 1e6, record, sfreq=250, ch_names=epochs.ch_names, unit="µV")
    from_mv = prepare(data * 1e3, record, sfreq=250, ch_names=epochs.ch_names, unit="mV")
    np.testing.assert_array_equal(from_list.data, ref.data)
    np.testing.assert_array_equal(from_volts.data, ref.data)
    for other in (from_uv, from_mu, from_mv):
        atol = 1e-6 * np.abs(ref.data).max()
        np.testing.assert_allclose(other.data, ref.data, rtol=1e-5, atol=atol)
        assert other.ch_names == ref.ch_names
    f32 = prepare(data.astype(np.float32), record, sfreq=250.0, ch_names=epochs.ch_names)
    np.testing.assert_allclose(f32.data, ref.data, rtol=1e-4, atol=1e-4 * np.abs(ref.data).max())


@pytest.mark.parametrize("name", RECORDS)
def test_channel_order_does_not_matter(epochs, name):
    record = get_record(name)
    perm = np.random.default_rng(0).permutation(19)
    shuffled = epochs.copy().reorder_channels([epochs.ch_names[i] for i in perm])
    a, b = prepare(epochs, record), prepare(shuffled, record)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.ch_names == b.ch_names
    expected = list(TUEG_19_CHANNELS) if name != "eegpt" else a.ch_names
    assert a.ch_names == expected
    # Each model row is the input channel of the same name.
    data = epochs.get_data()
    names = [n.upper() for n in epochs.ch_names]
    if name != "eegpt":  # no re-referencing: row k is channel k, resampled and scaled
        k = a.ch_names.index("O1")
        direct = mne.filter.resample(data[:, names.index("O1")], up=200, down=250,
                                     method="polyphase", pad="edge", verbose=False)  # fmt: skip
        np.testing.assert_allclose(a.data[:, k, :800], direct * record.scale_from_volts,
                                   rtol=1e-5, atol=1e-5)  # fmt: skip


# --------------------------------------------------------------- resampling


@pytest.mark.parametrize("name", RECORDS)
def test_resampling_matches_mne(epochs, name):
    record = get_record(name)
    prepared = prepare(epochs, record)
    expected = epochs.copy().resample(record.sfreq, method="polyphase", pad="edge", verbose=False)
    expected = expected.reorder_channels(
        [epochs.ch_names[[c.upper() for c in epochs.ch_names].index(n)] for n in prepared.ch_names]
    ).get_data()
    if record.reference == "average":
        expected = expected - expected.mean(axis=1, keepdims=True)
    expected = expected * record.scale_from_volts
    n = expected.shape[-1]
    assert n == round(1000 * record.sfreq / 250)
    np.testing.assert_allclose(prepared.data[..., :n], expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())  # fmt: skip
    # EEG-DINO pads 800 -> 800 (already whole patches); EEGPT keeps 1024.
    assert prepared.data.shape[-1] in (n, n + (-n) % record.patch_size)


@pytest.mark.parametrize("sfreq_in", [250.0, 500.0])
@pytest.mark.parametrize("name", ["eegpt", "codebrain"])
def test_sine_frequency_survives_resampling(sfreq_in, name):
    record = get_record(name)
    n_times = int(8 * sfreq_in)  # 8 s
    t = np.arange(n_times) / sfreq_in
    ch_names = ["Fp1", "Cz", "O2"]
    # 10 Hz on Cz, 23 Hz on O2, a DC-free mix on Fp1, 20 uV amplitude.
    sig = np.stack([np.sin(2 * np.pi * 3 * t), np.sin(2 * np.pi * 10 * t),
                    np.sin(2 * np.pi * 23 * t)]) * 20e-6  # fmt: skip
    X = np.broadcast_to(sig, (2, 3, n_times))
    if record.channel_matching == "positional":
        out = prepare(X, record, sfreq=sfreq_in, ch_names=ch_names, on_missing="zero")
    else:
        out = prepare(X, record, sfreq=sfreq_in, ch_names=ch_names)
    assert out.data.shape[-1] == int(8 * record.sfreq)
    freqs = np.fft.rfftfreq(out.data.shape[-1], 1 / record.sfreq)
    for name_, f in (("CZ", 10), ("O2", 23)):
        spectrum = np.abs(np.fft.rfft(out.data[0, out.ch_names.index(name_)]))
        assert freqs[np.argmax(spectrum)] == pytest.approx(f, abs=0.2)
    if record.reference == "none":
        # Amplitude survives too: 20 uV = 0.2 in microvolts / 100.
        assert np.abs(out.data[0, out.ch_names.index("CZ"), 100:-100]).max() == pytest.approx(
            20e-6 * record.scale_from_volts, rel=0.02
        )


def test_resampling_500hz_matches_mne(all_epochs):
    up = all_epochs[:3].copy().resample(500.0, verbose=False)
    record = get_record("eegdino-small")
    prepared = prepare(up, record)
    expected = mne.filter.resample(up.get_data(), up=200, down=500,
                                   method="polyphase", pad="edge", verbose=False)  # fmt: skip
    order = [[c.upper() for c in up.ch_names].index(n) for n in prepared.ch_names]
    np.testing.assert_allclose(prepared.data, expected[:, order] * record.scale_from_volts,
                               rtol=1e-5, atol=1e-5)  # fmt: skip


# ------------------------------------------------------ reference and scale


def test_eegpt_average_reference_and_millivolts(epochs):
    record = get_record("eegpt")
    out = prepare(epochs, record)
    assert out.data.shape == (6, 19, 1024)
    # Average reference: the channel mean is ~0 at every sample.
    assert np.abs(out.data.mean(axis=1)).max() < 1e-6 * np.abs(out.data).max() * 19
    # Millivolts: EEG of tens of microvolts -> hundredths of a millivolt.
    assert 1e-3 < out.data.std() < 1e-1
    # By name: vocabulary order (FP1, FP2, F7, F3, FZ, ...), not input order.
    from skeegfm._channels import EEGPT_CHANNELS

    assert out.ch_names == sorted(out.ch_names, key=EEGPT_CHANNELS.index)


def test_tueg_models_scale_to_microvolts_over_100(epochs):
    out = prepare(epochs, get_record("codebrain"))
    assert out.data.shape == (6, 19, 800)
    ratio = out.data.std() / (epochs.get_data().std())
    assert ratio == pytest.approx(1e4, rel=0.05)  # resampling to 200 Hz changes little


# ---------------------------------------------------------- window rules


def test_window_rules(all_epochs):
    # 5.5 s at 200 Hz = 1100 samples: not a multiple of 200 (or of 64 at 256 Hz).
    short = all_epochs[:2].copy().resample(200.0, verbose=False)
    X = np.concatenate([short.get_data(), short.get_data()[..., :300]], axis=-1)
    kw = dict(sfreq=200.0, ch_names=short.ch_names)
    dino = prepare(X, get_record("eegdino-small"), **kw)
    assert dino.data.shape[-1] == 1200
    assert np.all(dino.data[..., 1100:] == 0) and np.any(dino.data[..., 1099] != 0)
    with pytest.warns(UserWarning, match="dropping the last 100 samples"):
        cb = prepare(X, get_record("codebrain"), **kw)
    assert cb.data.shape[-1] == 1000
    np.testing.assert_array_equal(cb.data, dino.data[..., :1000])
    eegpt = prepare(X, get_record("eegpt"), **kw)
    assert eegpt.data.shape[-1] == round(1100 * 256 / 200)
    # Too short after resampling: 180 samples at 200 Hz < 200.
    with pytest.raises(ValueError, match="shorter than the 200 samples"):
        prepare(X[..., :180], get_record("eegdino-small"), **kw)
    with pytest.raises(ValueError, match="shorter than the 64 samples"):
        prepare(X[..., :40], get_record("eegpt"), **kw)
    with pytest.raises(ValueError, match="1000 are expected"):
        prepare(X, get_record("eegdino-small"), n_times=1000, **kw)
    assert prepare(X, get_record("eegdino-small"), n_times=1200, **kw).data.shape[-1] == 1200


# -------------------------------------------------------- missing channels


@pytest.mark.parametrize("name", ["eegdino-small", "codebrain"])
def test_missing_channel_policies(epochs, name):
    record = get_record(name)
    full = prepare(epochs, record)
    partial = epochs.copy().drop_channels(["Fz", "O1"])
    with pytest.raises(ValueError, match=r"\['O1', 'FZ'\]"):
        prepare(partial, record)
    zero = prepare(partial, record, on_missing="zero")
    slots = [record.ch_names.index(n) for n in ("O1", "FZ")]
    assert np.all(zero.data[:, slots] == 0)
    assert zero.filled == {"O1": "zero", "FZ": "zero"}
    others = [k for k in range(19) if k not in slots]
    np.testing.assert_array_equal(zero.data[:, others], full.data[:, others])

    interp = prepare(partial, record, on_missing="interpolate")
    assert interp.filled == {"O1": "interpolated", "FZ": "interpolated"}
    np.testing.assert_array_equal(interp.data[:, others], full.data[:, others])
    for k in slots:
        est, true = interp.data[:, k], full.data[:, k]
        assert np.all(np.isfinite(est))
        assert np.corrcoef(est.ravel(), true.ravel())[0, 1] > 0.5
        assert 0.3 < est.std() / true.std() < 3

    # Arrays carry no electrode positions: interpolation is refused.
    with pytest.raises(ValueError, match="no electrode positions"):
        prepare(partial.get_data(), record, sfreq=250, ch_names=partial.ch_names,
                on_missing="interpolate")  # fmt: skip
    no_montage = partial.copy().set_montage(None)
    with pytest.raises(ValueError, match="no electrode positions"):
        prepare(no_montage, record, on_missing="interpolate")


def test_bad_channels_count_as_missing(epochs):
    record = get_record("eegdino-small")
    marked = epochs.copy()
    marked.info["bads"] = ["Cz"]
    with pytest.raises(ValueError, match=r"\['CZ'\]"):
        prepare(marked, record)
    out = prepare(marked, record, on_missing="zero")
    assert out.dropped == ["Cz"] and "bad" in out.drop_reasons["Cz"]
    assert np.all(out.data[:, record.ch_names.index("CZ")] == 0)
    eegpt = prepare(marked, get_record("eegpt"))
    assert "CZ" not in eegpt.ch_names and len(eegpt.ch_names) == 18


def test_non_eeg_channels_are_left_out(epochs):
    typed = epochs.copy().set_channel_types({"Fp1": "eog"}, verbose=False)
    out = prepare(typed, get_record("eegpt"))
    assert "FP1" not in out.ch_names and out.dropped == ["Fp1"]
    assert "eog" in out.drop_reasons["Fp1"]


# --------------------------------------------------------------- raw EDF


def test_edf_maps_to_tueg_channels(edf_epochs):
    assert "EEG T3" in edf_epochs.ch_names and "EEG A2-A1" in edf_epochs.ch_names
    # 'EEG A2-A1' (an ear electrode against the other ear) is a 10-05 electrode
    # no model has a channel for: left out by default (on_unknown="auto"),
    # an error only when asked for strictness.
    for name in RECORDS:
        with pytest.raises(ValueError, match=r"EEG A2-A1.*electrode"):
            prepare(edf_epochs, get_record(name), on_unknown="raise")
    record = get_record("eegdino-small")
    with pytest.warns(UserWarning, match=r"1 electrode\(s\).*\['EEG A2-A1'\]"):
        out = prepare(edf_epochs, record)
    assert out.ch_names == list(TUEG_19_CHANNELS)
    assert out.dropped == ["EEG A2-A1", "ECG ECG"]
    assert "ecg" in out.drop_reasons["ECG ECG"]
    assert out.report.reference is None  # only the dropped 'EEG A2-A1' states one
    assert out.report.channels_renamed["EEG T3"] == "T7"
    assert out.report.channels_dropped == out.drop_reasons
    assert out.report.resampled_from == 500.0 and out.report.sfreq == 200.0
    assert out.data.shape == (5, 19, 800)
    # Old names map to new slots: T3 -> T7, T6 -> P8.
    data = edf_epochs.get_data()
    for old, new in (("EEG T3", "T7"), ("EEG T6", "P8"), ("EEG Fp1", "FP1")):
        direct = mne.filter.resample(data[:, edf_epochs.ch_names.index(old)], up=200,
                                     down=500, method="polyphase", pad="edge", verbose=False)  # fmt: skip
        got = out.data[:, out.ch_names.index(new)]
        np.testing.assert_allclose(got, direct * record.scale_from_volts, rtol=1e-5, atol=1e-5)
    with pytest.warns(UserWarning, match="EEG A2-A1"):
        eegpt = prepare(edf_epochs, get_record("eegpt"), on_unknown="drop")
    assert len(eegpt.ch_names) == 19 and "T7" in eegpt.ch_names
    assert eegpt.data.shape == (5, 19, 1024)
    # EDF files carry no electrode positions: interpolation is refused.
    no_cz = edf_epochs.copy().drop_channels(["EEG Cz"])
    with pytest.raises(ValueError, match=r"\['CZ'\].*no electrode positions"):
        with pytest.warns(UserWarning, match="EEG A2-A1"):
            prepare(no_cz, record, on_unknown="drop", on_missing="interpolate")


# ------------------------------------------------------------ bad input


def test_invalid_arrays_raise(epochs):
    data = epochs.get_data()
    kw = dict(sfreq=250.0, ch_names=epochs.ch_names)
    nan = data.copy()
    nan[1, 3, 10] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*\['F3'\]"):
        read_eeg(nan, **kw)
    inf = data.copy()
    inf[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        read_eeg(inf, **kw)
    with pytest.raises(ValueError, match=r"3-D.*np.newaxis"):
        read_eeg(data[0], **kw)
    with pytest.raises(ValueError, match="3-D"):
        read_eeg(data[None], **kw)
    with pytest.raises(ValueError, match="empty"):
        read_eeg(data[:0], **kw)
    with pytest.raises(ValueError, match="empty"):
        read_eeg([], **kw)
    with pytest.raises(ValueError, match="needs sfreq"):
        read_eeg(data, ch_names=epochs.ch_names)
    with pytest.raises(ValueError, match="needs ch_names"):
        read_eeg(data, sfreq=250.0)
    with pytest.raises(ValueError, match="len\\(ch_names\\) = 18"):
        read_eeg(data, sfreq=250.0, ch_names=epochs.ch_names[:18])
    with pytest.raises(ValueError, match="duplicates"):
        read_eeg(data, sfreq=250.0, ch_names=["Cz"] * 19)
    with pytest.raises(ValueError, match="positive"):
        read_eeg(data, sfreq=-1, ch_names=epochs.ch_names)
    with pytest.raises(ValueError, match="unit must be one of"):
        read_eeg(data, unit="nV", **kw)
    with pytest.raises(TypeError, match="numeric array"):
        read_eeg(np.array([["a"]]), **kw)
    with pytest.raises(ValueError, match="'EEG FP2' and 'Fp2' both map to FP2"):
        prepare(data, get_record("eegpt"), sfreq=250, ch_names=["EEG FP2"] + epochs.ch_names[1:])
    names = list(epochs.ch_names)
    names[4] = "Foo"
    with pytest.raises(ValueError, match=r"\['Foo'\].*on_unknown='drop'"):
        prepare(data, get_record("eegpt"), sfreq=250, ch_names=names)
    with pytest.raises(ValueError, match="on_missing must be"):
        prepare(data, get_record("eegpt"), on_missing="ignore", **kw)
    with pytest.raises(ValueError, match="on_unknown must be"):
        prepare(data, get_record("eegpt"), on_unknown="ignore", **kw)
    with pytest.raises(ValueError, match="None of the channels"):
        prepare(data[:, :2], get_record("eegpt"), sfreq=250, ch_names=["a", "b"],
                on_unknown="drop")  # fmt: skip


def test_invalid_epochs_raise(epochs):
    with pytest.raises(ValueError, match="Epochs are sampled at 250.0 Hz"):
        read_eeg(epochs, sfreq=200)
    read_eeg(epochs, sfreq=250.0, ch_names=epochs.ch_names)  # agreeing is fine
    with pytest.raises(ValueError, match="Leave ch_names=None"):
        read_eeg(epochs, ch_names=epochs.ch_names[::-1])
    with pytest.raises(ValueError, match="only to arrays"):
        read_eeg(epochs, unit="uV")
    with pytest.raises(ValueError, match="non-finite"):
        bad = epochs.copy()
        bad._data[0, 0, 0] = np.nan
        read_eeg(bad)
    pieces = [epochs[0], epochs[1].copy().drop_channels(["Cz"])]
    with pytest.raises(ValueError, match="do not share channels"):
        read_eeg(pieces)
    pieces = [epochs[0], epochs[1].copy().resample(200.0, verbose=False)]
    with pytest.raises(ValueError, match="do not share a sampling rate"):
        read_eeg(pieces)
    with pytest.raises(TypeError, match="list X must hold mne.Epochs"):
        read_eeg([epochs[0], np.zeros((1, 19, 1000))])
    raw = mne.io.RawArray(epochs.get_data()[0], epochs.info, verbose=False)
    with pytest.raises(TypeError, match="make_fixed_length_epochs"):
        read_eeg(raw)


# ----------------------------------------------- the caller's data is safe


@pytest.mark.parametrize("name", RECORDS)
def test_caller_data_unmodified(epochs, name):
    record = get_record(name)
    partial = epochs.copy().drop_channels(["Fz"])
    arr = partial.get_data()
    arr_before = _digest(arr)
    ep_before = _digest(partial.get_data(copy=False))
    info_before = (list(partial.info["bads"]), list(partial.ch_names), partial.info["sfreq"])
    policy = "interpolate" if record.channel_matching == "positional" else "raise"
    prepare(arr, record, sfreq=250, ch_names=partial.ch_names,
            on_missing="zero" if policy == "interpolate" else "raise")  # fmt: skip
    prepare(arr * 1e6, record, sfreq=250, ch_names=partial.ch_names, unit="uV",
            on_missing="zero" if policy == "interpolate" else "raise")  # fmt: skip
    prepare(partial, record, on_missing=policy)
    prepare([partial[i] for i in range(3)], record, on_missing=policy)
    assert _digest(arr) == arr_before
    assert _digest(partial.get_data(copy=False)) == ep_before
    info_after = (list(partial.info["bads"]), list(partial.ch_names), partial.info["sfreq"])
    assert info_after == info_before
    # Already at the model's rate with nothing to reorder: still a copy.
    at_rate = epochs.copy().resample(record.sfreq, verbose=False)
    out = prepare(at_rate, record)
    assert not np.shares_memory(out.data, at_rate.get_data(copy=False))


# -------------------------------------------------- fit/transform channels


def test_check_same_channels(epochs):
    eeg = read_eeg(epochs)
    shuffled = read_eeg(epochs.copy().reorder_channels(epochs.ch_names[::-1]))
    check_same_channels(eeg.ch_names, eeg.sfreq, shuffled)
    prefixed = ["EEG " + n for n in epochs.ch_names]
    renamed = read_eeg(epochs.get_data(), sfreq=250, ch_names=prefixed)
    check_same_channels(eeg.ch_names, eeg.sfreq, renamed)
    fewer = read_eeg(epochs.copy().drop_channels(["O2"]))
    with pytest.raises(ValueError, match=r"fitted on \['Fp1'.*got \['Fp1'"):
        check_same_channels(eeg.ch_names, eeg.sfreq, fewer)
    with pytest.raises(ValueError, match="fitted on 200.0 Hz"):
        check_same_channels(eeg.ch_names, 200.0, eeg)
