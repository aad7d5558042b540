"""Bad input gets a clear outcome (issue 14, items 5-7).

Every element of a list of Epochs counts (its bad channels and channel
types), implausible amplitudes and flat channels are reported, overflow
raises instead of giving NaN embeddings, and the messages the fault matrix
found misleading now name the problem and the fix.
"""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils import _safe_indexing

from skeegfm._inputs import check_amplitude, prepare_for_model, read_eeg
from skeegfm._registry import get_record
from skeegfm.classifiers import EEGDINOClassifier, EEGPTClassifier
from skeegfm.embedders import CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

CH_NAMES = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7",
            "P3", "Pz", "P4", "P8", "O1", "O2"]  # fmt: skip
SFREQ = 200.0
FAMILY = {EEGDINOEmbedder: "eegdino", EEGPTEmbedder: "eegpt", CodeBrainEmbedder: "codebrain"}


def make_data(n_epochs=6, n_times=400, seed=0, scale=20e-6):
    return np.random.default_rng(seed).normal(scale=scale, size=(n_epochs, len(CH_NAMES), n_times))


def make_epochs(n_epochs=6, n_times=400, seed=0):
    info = mne.create_info(CH_NAMES, SFREQ, "eeg")
    epochs = mne.EpochsArray(make_data(n_epochs, n_times, seed), info, verbose=False)
    epochs.set_montage("colin27_1020", verbose=False)
    return epochs


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from _tiny import save_tiny

    made = {}

    def get(family):
        if family not in made:
            made[family] = str(save_tiny(family, tmp_path_factory.mktemp(family)))
        return made[family]

    return get


# --------------------------------------------------------------------------
# Item 5: every element of a list of Epochs counts
# --------------------------------------------------------------------------


def _bad(epochs):
    epochs.info["bads"] = ["Fz"]


def _eog(epochs):
    epochs.set_channel_types({"Fz": "eog"})


CHANGES = pytest.mark.parametrize("change", [_bad, _eog], ids=["bad", "eog-typed"])


@CHANGES
@pytest.mark.parametrize("cls", [EEGDINOEmbedder, CodeBrainEmbedder], ids=lambda c: c.__name__)
def test_list_element_with_its_own_bads_or_types(cls, change, ckpt):
    """Positional models: the element is embedded as if passed alone."""
    epochs = make_epochs()
    est = cls(checkpoint=ckpt(FAMILY[cls]), on_missing="zero").fit(epochs)
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    change(as_list[2])
    got = est.transform(as_list)
    alone = epochs[2:3].copy()
    change(alone)
    assert_allclose(got[2], est.transform(alone)[0], rtol=1e-5, atol=1e-6)
    others = [0, 1, 3, 4, 5]
    assert_allclose(got[others], est.transform(epochs[others]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(got[2], est.transform(epochs[2:3])[0], rtol=1e-3, atol=1e-4)


@CHANGES
def test_list_element_eegpt_cannot_reconcile(change, ckpt):
    epochs = make_epochs()
    est = EEGPTEmbedder(checkpoint=ckpt("eegpt")).fit(epochs)
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    change(as_list[4])
    reason = "marked bad" if change is _bad else "channel type 'eog' is not EEG"
    with pytest.raises(ValueError, match=rf"feed different channels to eegpt: element 4 leaves "
                                         rf"out FZ \('Fz': {reason}"):  # fmt: skip
        est.transform(as_list)


def test_list_elements_disagree_at_fit_naming_both(ckpt):
    epochs = make_epochs()
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    as_list[3].info["bads"] = ["Cz"]
    with pytest.raises(
        ValueError,
        match=r"elements of the list of Epochs feed different channels to eegpt: "
        r"element 3 leaves out CZ \('Cz': marked bad",
    ):
        EEGPTEmbedder(checkpoint=ckpt("eegpt")).fit_transform(as_list)


def test_list_element_bad_with_on_missing_raise_names_the_element(ckpt):
    epochs = make_epochs()
    est = EEGDINOEmbedder(checkpoint=ckpt("eegdino")).fit(epochs)
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    as_list[5].info["bads"] = ["O1"]
    match = r"Element 5 of the list.*\['O1'\].*needs channels \['O1'\]"
    with pytest.raises(ValueError, match=match):
        est.transform(as_list)


def test_read_eeg_parts_and_take():
    epochs = make_epochs()
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    as_list[1].info["bads"] = ["Fz"]
    as_list[4].info["bads"] = ["Fz"]
    as_list[5].set_channel_types({"O2": "misc"})
    eeg = read_eeg(as_list)
    assert [p.elements.tolist() for p in eeg.parts] == [[0, 2, 3], [1, 4], [5]]
    assert eeg.parts[1].info["bads"] == ["Fz"] and eeg.parts[2].ch_types[-1] == "misc"
    sub = eeg.take(np.array([4, 0]))
    assert [p.epochs.tolist() for p in sub.parts] == [[1], [0]]
    assert [p.elements.tolist() for p in sub.parts] == [[0], [4]]
    assert sub.info["bads"] == [] and sub.parts[1].info["bads"] == ["Fz"]
    single = eeg.take(slice(5, 6))
    assert single.parts is None and single.ch_types[-1] == "misc"
    assert read_eeg(_safe_indexing(epochs, np.arange(6))).parts is None  # the usual case


def test_list_parts_on_a_classifier(ckpt):
    epochs = make_epochs(8)
    y = np.array([0, 1] * 4)
    as_list = _safe_indexing(epochs, np.arange(len(epochs)))
    as_list[2].info["bads"] = ["Fz"]
    clf = EEGDINOClassifier(checkpoint=ckpt("eegdino"), on_missing="zero", max_epochs=1,
                            batch_size=4, random_state=0)  # fmt: skip
    clf.fit(as_list, y)
    assert clf.predict(as_list).shape == (8,)


# --------------------------------------------------------------------------
# Item 6: amplitude plausibility, flat channels, overflow
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scale, unit, phrase",
    [
        (1.0, "V", "look like microvolts passed with unit='V'; pass unit='uV'"),
        (1e-6, "uV", "look like volts passed with unit='uV'; pass unit='V'"),
        (1.0, "mV", "look like microvolts passed with unit='mV'; pass unit='uV'"),
        (1e-3, "V", "look like millivolts passed with unit='V'; pass unit='mV'"),
        (1e-6, "mV", "look like volts passed with unit='mV'; pass unit='V'"),
    ],
)
def test_amplitude_unit_mistakes_are_named(scale, unit, phrase, ckpt):
    X = make_data(scale=20 * scale)  # 20 µV EEG, in the unit named by `scale`
    est = EEGDINOEmbedder(checkpoint=ckpt("eegdino"), sfreq=SFREQ, ch_names=CH_NAMES, unit=unit)
    with pytest.warns(UserWarning, match="implausibly") as record:
        est.fit_transform(X)
    messages = [str(w.message) for w in record if "implausibly" in str(w.message)]
    assert len(messages) == 1 and phrase in messages[0]


@pytest.mark.parametrize("unit, scale", [("V", 1e-6), ("uV", 1.0), ("mV", 1e-3)])
def test_plausible_amplitude_gives_no_warning(unit, scale):
    X = make_data(scale=20 * scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eeg = read_eeg(X, sfreq=SFREQ, ch_names=CH_NAMES, unit=unit)
    report = check_amplitude(X, CH_NAMES, unit=unit)
    assert 5 < report["median_abs_uv"] < 30 and report["suggested_unit"] is None
    assert_allclose(eeg.data, X * {"V": 1, "uV": 1e-6, "mV": 1e-3}[unit], rtol=1e-12)


def test_epochs_in_microvolts_name_the_edf_unit_fix():
    epochs = mne.EpochsArray(make_data(scale=20.0), mne.create_info(CH_NAMES, SFREQ, "eeg"),
                             verbose=False)  # fmt: skip
    with pytest.warns(UserWarning, match=r"look like microvolts, but mne.Epochs hold volts.*"
                                         r"units='uV'"):  # fmt: skip
        read_eeg(epochs)


def test_amplitude_warned_once_per_call_not_per_batch(ckpt):
    X = make_data(n_epochs=8) * 1e6  # µV as V
    est = EEGDINOEmbedder(checkpoint=ckpt("eegdino"), sfreq=SFREQ, ch_names=CH_NAMES,
                          batch_size=1)  # fmt: skip
    with pytest.warns(UserWarning) as record:
        est.fit_transform(X)
        est.transform(X)
    assert sum("implausibly" in str(w.message) for w in record) == 2  # one per call


@pytest.mark.parametrize("fill", [0.0, 3e-6], ids=["zeros", "constant"])
def test_flat_channels_are_named(fill):
    X = make_data()
    X[:, CH_NAMES.index("Cz")] = fill
    X[:2, CH_NAMES.index("O1")] = 0.0  # flat in 2 of 6 epochs
    with pytest.warns(UserWarning, match=r"Flat EEG channels.*\['Cz'\] in every epoch; "
                                         r"'O1' in 2 of 6 epochs") as record:  # fmt: skip
        read_eeg(X, sfreq=SFREQ, ch_names=CH_NAMES)
    assert not [w for w in record if "implausibly" in str(w.message)]  # Cz not in the median


def test_flat_bad_or_non_eeg_channels_are_not_reported():
    epochs = mne.EpochsArray(make_data(), mne.create_info(CH_NAMES, SFREQ, "eeg"), verbose=False)
    epochs._data[:, 0] = 0.0
    epochs._data[:, 1] = 0.0
    epochs.info["bads"] = ["Fp1"]
    epochs.set_channel_types({"Fp2": "misc"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_eeg(epochs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overflow_after_preprocessing_raises(dtype, ckpt):
    X = make_data().astype(dtype)
    X[0, 3] *= 1e40 if dtype == np.float64 else 1.0  # 1e35 V: x 1e4 overflows float32
    if dtype == np.float32:
        X[0, 3] = 3e38  # float32 max: times 1e4 (µV / 100) overflows
    record = get_record("eegdino-small")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eeg = read_eeg(X, sfreq=SFREQ, ch_names=CH_NAMES)
        with pytest.raises(ValueError, match="non-finite values.*overflows float32"):
            prepare_for_model(eeg, record)
        est = EEGDINOEmbedder(checkpoint=ckpt("eegdino"), sfreq=SFREQ, ch_names=CH_NAMES)
        with pytest.raises(ValueError, match="non-finite values"):
            est.fit_transform(X)
    assert np.isfinite(X).all()  # the caller's data untouched


def test_caller_data_unmodified_by_checks():
    X = make_data()
    X[:, 4] = 0.0
    copy = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_eeg(X * 1e6, sfreq=SFREQ, ch_names=CH_NAMES, unit="uV")
        read_eeg(X, sfreq=SFREQ, ch_names=CH_NAMES)
    assert_array_equal(X, copy)


# --------------------------------------------------------------------------
# Item 7: clear messages
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [EEGPTEmbedder, EEGPTClassifier], ids=lambda c: c.__name__)
def test_bads_changed_between_fit_and_transform_are_named(cls, ckpt):
    epochs = make_epochs(8, n_times=512)
    kwargs = dict(max_epochs=1, batch_size=4, random_state=0) if cls is EEGPTClassifier else {}
    est = cls(checkpoint=ckpt("eegpt"), **kwargs)
    y = np.array([0, 1] * 4)
    est.fit(epochs, y) if cls is EEGPTClassifier else est.fit(epochs)
    later = epochs.copy()
    later.info["bads"] = ["C3", "O2"]
    call = est.predict if cls is EEGPTClassifier else est.transform
    with pytest.raises(
        ValueError,
        match=r"channels fed to eegpt differ from those at fit: C3 was fed at fit but is left "
        r"out now \('C3': marked bad in info\['bads'\]\); O2 was fed",
    ):
        call(later)
    # The reverse: bad at fit, good now.
    bad_then = epochs.copy()
    bad_then.info["bads"] = ["Cz"]
    est.fit(bad_then, y) if cls is EEGPTClassifier else est.fit(bad_then)
    with pytest.raises(ValueError, match="CZ is fed now but was not at fit"):
        call(epochs)


@pytest.mark.parametrize("n_times", [1, 2, 10, 15])
@pytest.mark.parametrize("sfreq", [100.0, 250.0, 512.0])
def test_eegpt_epochs_shorter_than_one_patch(n_times, sfreq, ckpt):
    X = make_data(n_epochs=2, n_times=n_times)
    est = EEGPTEmbedder(checkpoint=ckpt("eegpt"), sfreq=sfreq, ch_names=CH_NAMES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # amplitude of 1-sample epochs
        with pytest.raises(ValueError, match=r"shorter than the 64 samples \(0.25 s, one patch\) "
                                             r"eegpt needs"):  # fmt: skip
            est.fit(X)


@pytest.mark.parametrize(
    "y",
    [
        np.array(["rest", "task", None, "task", "rest", "task", "rest", "task"], dtype=object),
        np.array([0.0, 1.0, np.nan, 1.0, 0.0, 1.0, 0.0, 1.0]),
        [0, 1, None, 1, 0, 1, 0, 1],
    ],
    ids=["None-among-str", "NaN-among-float", "None-among-int"],
)
def test_missing_labels_are_a_clear_error(y, ckpt):
    epochs = make_epochs(8)
    clf = EEGDINOClassifier(checkpoint=ckpt("eegdino"), max_epochs=1)
    match = r"y has 1 missing label\(s\) \(None or NaN\) at positions \[2\]"
    with pytest.raises(ValueError, match=match):
        clf.fit(epochs, y)
