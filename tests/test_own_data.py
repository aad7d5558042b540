"""Your own recordings: the naming conventions, montages and rates of public EEG data.

Small synthetic recordings named as real datasets name their channels
(PhysioNet EEGMMI, a referential sleep montage at 50 Hz, TUH, BCI Competition
IV 2a/2b, bipolar derivations) go through all three encoders (tiny
configurations) with default options; what each estimator used, dropped,
filled, renamed and resampled is checked in its fitted attributes and its
warnings, and the same facts in ``skeegfm embed``'s .npz.
"""

from __future__ import annotations

import json
import warnings

import mne
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone

from skeegfm import EEGPTClassifier
from skeegfm._channels import TUEG_19_CHANNELS, option_style
from skeegfm._recording import (
    add_template_positions,
    apply_ch_aliases,
    read_recording,
    rescale_to_unit,
    set_types_from_names,
)
from skeegfm._registry import get_record
from skeegfm.cli import main
from skeegfm.embedders import CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

EMBEDDERS = [EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder]
FAMILY = {EEGDINOEmbedder: "eegdino", EEGPTEmbedder: "eegpt", CodeBrainEmbedder: "codebrain"}
by_class = pytest.mark.parametrize("cls", EMBEDDERS, ids=lambda c: c.__name__)

#: The 64 channels of PhysioNet's EEG Motor Movement/Imagery dataset, as its
#: EDF files name them (10-10 names padded with dots to 4 characters).
EEGMMI = [
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz..",
]  # fmt: skip

#: BCI Competition IV 2a: 22 EEG channels, most numbered, and 3 EOG channels.
BCI_IV_2A = [
    "EEG-Fz", "EEG-0", "EEG-1", "EEG-2", "EEG-3", "EEG-4", "EEG-5", "EEG-C3", "EEG-6",
    "EEG-Cz", "EEG-7", "EEG-C4", "EEG-8", "EEG-9", "EEG-10", "EEG-11", "EEG-12", "EEG-13",
    "EEG-14", "EEG-Pz", "EEG-15", "EEG-16", "EOG-left", "EOG-central", "EOG-right",
]  # fmt: skip
#: Their electrodes (the dataset's description: a 10-20 subset around C3/Cz/C4).
BCI_IV_2A_ALIASES = dict(zip(
    [f"EEG-{i}" for i in range(17)],
    ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C1", "C2", "C6", "CP3", "CP1", "CPz", "CP2",
     "CP4", "P1", "POz", "P2"],
))  # fmt: skip

#: TUH EEG corpus names (the average-reference "-REF" montage) and extras.
TUH = [f"EEG {n}-REF" for n in (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T3", "T4", "T5",
    "T6", "FZ", "CZ", "PZ", "A1", "EKG1",
)]  # fmt: skip


def _data(n_chans, sfreq, seconds=4.0, n_epochs=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_epochs, n_chans, int(round(seconds * sfreq)))) * 1e-5


def _epochs(names, sfreq, types="eeg", seconds=4.0, n_epochs=3):
    info = mne.create_info(list(names), sfreq, types)
    return mne.EpochsArray(_data(len(names), sfreq, seconds, n_epochs), info, verbose=False)


def _fit(est, X, **kwargs):
    """Fit ``est``; return it and the texts of the UserWarnings of fit."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, **kwargs)
    return est, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _tiny(cls, tiny_checkpoint, **params):
    return cls(checkpoint=str(tiny_checkpoint(FAMILY[cls])), device="cpu", **params)


# --------------------------------------------------------------------------
# A 64-channel 10-10 cap with EEGMMI's dotted names, 160 Hz
# --------------------------------------------------------------------------


@by_class
def test_eegmmi_cap_runs_with_defaults(cls, tiny_checkpoint):
    epochs = _epochs(EEGMMI, 160.0)
    est, warned = _fit(_tiny(cls, tiny_checkpoint), epochs)
    record = get_record(FAMILY[cls] if cls is not EEGDINOEmbedder else "eegdino-small")
    if record.channel_matching == "positional":
        # The 19 TUEG channels are all on the cap; the other 45 are dropped.
        assert len(est.channels_used_) == 19 and len(est.channels_dropped_) == 45
        assert {"Afz.", "T9..", "Iz..", "Fc5."} <= set(est.channels_dropped_)
    else:
        # EEGPT's 62 names lack AFz, T9, T10 and Iz; the cap lacks PO5 and PO6.
        assert len(est.channels_used_) == 60
        assert sorted(est.channels_dropped_) == ["Afz.", "Iz..", "T10.", "T9.."]
        assert est.channels_renamed_["Fc5."] == "FC5"
    assert all("has no channel for" in why for why in est.channels_dropped_.values())
    assert est.channels_filled_ == {} and est.resampled_from_ == 160.0
    assert est.channels_renamed_["Fp1."] == "FP1" and est.reference_ is None
    # One summary warning for the dropped electrodes; upsampling is warned
    # about from a factor of 1.5 (160 -> 256 Hz), not for 160 -> 200 Hz.
    summary = [w for w in warned if "leaving out" in w]
    assert len(summary) == 1 and "'Afz.'" in summary[0] and "'Iz..'" in summary[0]
    upsampled = [w for w in warned if "upsampled" in w]
    assert len(upsampled) == (1 if record.sfreq == 256 else 0)
    Z = est.transform(epochs)
    assert Z.shape == (3, est.n_features_out_) and np.isfinite(Z).all()
    report = est.input_report_
    assert json.loads(json.dumps(report)) == report  # JSON-safe, as written to files
    assert report["channels_dropped"] == est.channels_dropped_
    assert report["sfreq_in"] == 160.0 and report["model"] == record.name
    assert report["model_unit"] == record.unit and report["model_reference"] == record.reference


def test_strict_on_unknown_raises_for_valid_electrodes(tiny_checkpoint):
    est = _tiny(EEGPTEmbedder, tiny_checkpoint, on_unknown="raise")
    with pytest.raises(ValueError, match=r"'Afz.'.*electrodes eegpt has no channel for"):
        est.fit(_epochs(EEGMMI, 160.0))


def test_warnings_once_per_fit(tiny_checkpoint):
    epochs = _epochs(EEGMMI, 160.0)
    est = _tiny(CodeBrainEmbedder, tiny_checkpoint)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit_transform(epochs)
        est.transform(epochs)
        est.transform(epochs[:1])
    texts = [str(w.message) for w in caught]
    assert sum("leaving out" in t for t in texts) == 1


# --------------------------------------------------------------------------
# A sleep recording: three referential channels at 50 Hz, EOG, EMG, ECG
# --------------------------------------------------------------------------

SLEEP = ["C3-A1", "O1-A1", "FP1-A1", "EOG horizontal", "EMG submental", "ECG"]


@by_class
def test_sleep_montage_at_50_hz(cls, tiny_checkpoint):
    # An array, as from a sleep toolbox: every channel typed EEG.
    X = _data(len(SLEEP), 50.0, seconds=30.0, n_epochs=2)
    params = dict(sfreq=50.0, ch_names=SLEEP)
    positional = cls is not EEGPTEmbedder
    if positional:
        with pytest.raises(ValueError, match=r"on_missing='interpolate'.*on_missing='zero'"):
            _tiny(cls, tiny_checkpoint, **params).fit(X)
        params["on_missing"] = "zero"
    est, warned = _fit(_tiny(cls, tiny_checkpoint, **params), X)
    assert sorted(est.channels_used_) == ["C3-A1", "FP1-A1", "O1-A1"]
    assert est.reference_ == "A1" and est.resampled_from_ == 50.0
    assert est.channels_renamed_ == {"C3-A1": "C3", "O1-A1": "O1", "FP1-A1": "FP1"}
    # EOG/EMG/ECG are typed by their names, as skeegfm embed does.
    assert est.channels_dropped_ == {
        "EOG horizontal": "typed 'eog' by its name (not EEG)",
        "EMG submental": "typed 'emg' by its name (not EEG)",
        "ECG": "typed 'ecg' by its name (not EEG)",
    }
    assert any("upsampled to" in w and "50 Hz" in w for w in warned)
    filled = [w for w in warned if "were filled" in w]
    if positional:
        assert len(est.channels_filled_) == 16
        assert set(est.channels_filled_.values()) == {"zero"}
        assert len(filled) == 1 and "16 of the 19" in filled[0] and "degrade" in filled[0]
    else:
        assert est.channels_filled_ == {} and not filled
    assert np.isfinite(est.transform(X)).all()


def test_few_filled_channels_do_not_warn(tiny_checkpoint):
    names = [n for n in TUEG_19_CHANNELS if n not in ("PZ", "O2")]
    epochs = _epochs(names, 200.0)
    est, warned = _fit(_tiny(EEGDINOEmbedder, tiny_checkpoint, on_missing="zero"), epochs)
    assert est.channels_filled_ == {"O2": "zero", "PZ": "zero"}
    assert not any("were filled" in w for w in warned)  # 2 of 19: below a quarter


# --------------------------------------------------------------------------
# TUH, BCI Competition IV, bipolar derivations, aliases
# --------------------------------------------------------------------------


def test_tuh_names(tiny_checkpoint):
    epochs = _epochs(TUH, 250.0)
    est, warned = _fit(_tiny(EEGDINOEmbedder, tiny_checkpoint), epochs)
    assert len(est.channels_used_) == 19 and est.reference_ == "REF"
    assert est.channels_renamed_["EEG T3-REF"] == "T7"
    assert est.channels_renamed_["EEG T6-REF"] == "P8"
    assert set(est.channels_dropped_) == {"EEG A1-REF", "EEG EKG1-REF"}
    assert "ecg" in est.channels_dropped_["EEG EKG1-REF"]
    assert len([w for w in warned if "leaving out" in w]) == 1


def test_bci_iv_2a_numbered_channels_need_aliases(tiny_checkpoint):
    types = ["eeg"] * 22 + ["eog"] * 3
    epochs = _epochs(BCI_IV_2A, 250.0, types=types)
    with pytest.raises(ValueError) as err:
        _tiny(EEGPTEmbedder, tiny_checkpoint).fit(epochs)
    message = str(err.value)
    assert "'EEG-0'" in message and "are not electrode names" in message
    assert "ch_aliases={'EEG-0': '<electrode>'}" in message and "on_unknown='drop'" in message
    est, _ = _fit(_tiny(EEGPTEmbedder, tiny_checkpoint, ch_aliases=BCI_IV_2A_ALIASES), epochs)
    assert len(est.channels_used_) == 22
    assert est.ch_aliases_applied_ == BCI_IV_2A_ALIASES
    assert est.channels_renamed_["EEG-0"] == "FC3" and est.channels_renamed_["EEG-Fz"] == "FZ"
    assert set(est.channels_dropped_) == {"EOG-left", "EOG-central", "EOG-right"}
    # Or leave the numbered ones out.
    est, warned = _fit(_tiny(EEGPTEmbedder, tiny_checkpoint, on_unknown="drop"), epochs)
    assert sorted(est.channels_used_) == ["EEG-C3", "EEG-C4", "EEG-Cz", "EEG-Fz", "EEG-Pz"]
    assert any("17 channel(s) that are not electrodes" in w for w in warned)


def test_bci_iv_2b_colon_names(tiny_checkpoint):
    names = ["EEG:C3", "EEG:Cz", "EEG:C4", "EOG:ch01", "EOG:ch02", "EOG:ch03"]
    X = _data(6, 250.0)
    est = _tiny(EEGPTEmbedder, tiny_checkpoint, sfreq=250.0, ch_names=names).fit(X)
    assert est.channels_used_ == ["EEG:C3", "EEG:Cz", "EEG:C4"]
    assert set(est.channels_dropped_) == {"EOG:ch01", "EOG:ch02", "EOG:ch03"}


@by_class
def test_bipolar_derivations_raise_and_can_be_aliased(cls, tiny_checkpoint):
    names = ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"]  # Sleep-EDF
    X = _data(3, 100.0, seconds=30.0, n_epochs=2)
    params = dict(sfreq=100.0, ch_names=names, on_missing="zero")
    with pytest.raises(ValueError, match=r"'EEG Fpz-Cz' \(FPZ-CZ\).*bipolar derivation"):
        _tiny(cls, tiny_checkpoint, **params).fit(X)
    with pytest.raises(ValueError, match="None of the channels"):
        _tiny(cls, tiny_checkpoint, on_unknown="drop", **params).fit(X)
    # The user decides that Pz-Oz stands for Pz (EEG-DINO and CodeBrain have
    # no Fpz and no Oz channel; EEGPT has both).
    aliases = {"EEG Fpz-Cz": "Fpz", "EEG Pz-Oz": "Pz"}
    est, _ = _fit(_tiny(cls, tiny_checkpoint, ch_aliases=aliases, on_unknown="drop", **params), X)
    assert est.ch_aliases_applied_ == aliases
    assert "EEG Pz-Oz" in est.channels_used_


def test_aliases_not_found_and_invalid(tiny_checkpoint):
    epochs = _epochs(["Fp1", "Cz", "O2"], 256.0)
    est, warned = _fit(_tiny(EEGPTEmbedder, tiny_checkpoint, ch_aliases={"EEG-9": "Pz"}), epochs)
    assert any("ch_aliases names channels the data do not have: ['EEG-9']" in w for w in warned)
    assert est.ch_aliases_applied_ == {}
    with pytest.raises(TypeError, match="ch_aliases must be None or a dict"):
        _tiny(EEGPTEmbedder, tiny_checkpoint, ch_aliases=["Fp1"]).fit(epochs)
    with pytest.raises(ValueError, match="same name"):
        _tiny(EEGPTEmbedder, tiny_checkpoint, ch_aliases={"a": "Cz", "b": "cz"}).fit(epochs)
    with pytest.raises(ValueError, match="'Cz' and 'x' both map to CZ"):
        _tiny(EEGPTEmbedder, tiny_checkpoint, ch_aliases={"x": "Cz"}).fit(
            _epochs(["Fp1", "Cz", "x"], 256.0)
        )


def test_messages_name_the_options_of_the_context(tiny_checkpoint):
    epochs = _epochs(["Fp1", "Cz", "EEG-0"], 256.0)
    with pytest.raises(ValueError) as python_err:
        _tiny(EEGPTEmbedder, tiny_checkpoint).fit(epochs)
    with option_style("cli"), pytest.raises(ValueError) as cli_err:
        _tiny(EEGPTEmbedder, tiny_checkpoint).fit(epochs)
    assert "on_unknown='drop'" in str(python_err.value)
    assert "--on-unknown drop" in str(cli_err.value) and "--ch-alias EEG-0=" in str(cli_err.value)
    assert "on_unknown=" not in str(cli_err.value) and "ch_aliases=" not in str(cli_err.value)


def test_classifier_reports_adaptations(tiny_checkpoint):
    epochs = _epochs(SLEEP[:3] + ["Afz", "ECG"], 128.0, n_epochs=6)
    y = np.array([0, 1] * 3)
    clf = EEGPTClassifier(
        checkpoint=str(tiny_checkpoint("eegpt")), max_epochs=1, random_state=0, device="cpu"
    )
    clf, warned = _fit(clf, epochs, y=y)
    assert sorted(clf.channels_used_) == ["C3-A1", "FP1-A1", "O1-A1"]
    assert set(clf.channels_dropped_) == {"Afz", "ECG"} and clf.resampled_from_ == 128.0
    assert any("upsampled" in w for w in warned)  # 128 -> 256 Hz
    assert clf.predict(epochs).shape == (6,)


# --------------------------------------------------------------------------
# Random-weight encoders: one fixed seed by default
# --------------------------------------------------------------------------


def test_random_weights_are_reproducible_by_default():
    epochs = _epochs(list(TUEG_19_CHANNELS), 200.0, n_epochs=2)
    base = EEGDINOEmbedder(checkpoint=None, device="cpu")
    with pytest.warns(UserWarning, match="random weights"):
        a = clone(base).fit(epochs)
        b = clone(base).fit(epochs)
        seeded = EEGDINOEmbedder(checkpoint=None, device="cpu", random_state=0).fit(epochs)
        other = EEGDINOEmbedder(checkpoint=None, device="cpu", random_state=1).fit(epochs)
    assert a.encoder_hash_ == b.encoder_hash_ == seeded.encoder_hash_
    assert a.pretrained_source_["random_init"] == seeded.pretrained_source_["random_init"]
    assert_array_equal(a.transform(epochs), b.transform(epochs))
    assert other.encoder_hash_ != a.encoder_hash_  # random_state still overrides


def test_random_weights_default_seed_lets_the_cache_hit(tmp_path):
    epochs = _epochs(list(TUEG_19_CHANNELS), 200.0, n_epochs=2)
    base = EEGDINOEmbedder(checkpoint=None, device="cpu", memory=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        first = clone(base).fit_transform(epochs)
        second = clone(base).fit(epochs)
    calls = []
    handle = second.encoder_.register_forward_hook(lambda *args: calls.append(1))
    try:
        assert_array_equal(second.transform(epochs), first)
    finally:
        handle.remove()
    assert calls == []  # every epoch came from the cache of the first clone


# --------------------------------------------------------------------------
# Recording helpers and skeegfm embed
# --------------------------------------------------------------------------


def test_types_aliases_and_template_positions_on_raw():
    names = ["EEG-0", "C3-A1", "EOG left", "EMG1", "ROC"]
    raw = mne.io.RawArray(_data(5, 100.0, n_epochs=1)[0], mne.create_info(names, 100.0, "eeg"))
    assert set_types_from_names(raw) == {"EOG left": "eog", "EMG1": "emg", "ROC": "eog"}
    assert raw.get_channel_types() == ["eeg", "eeg", "eog", "emg", "eog"]
    aliased = raw.copy()
    assert apply_ch_aliases(aliased, {"EEG-0": "Cz", "nope": "Pz"}) == {"EEG-0": "Cz"}
    assert aliased.ch_names[0] == "Cz" and raw.ch_names[0] == "EEG-0"
    record = get_record("eegdino-small")
    assert add_template_positions(raw, record, ch_aliases={"EEG-0": "Cz"})
    positions = {ch["ch_name"]: ch["loc"][:3] for ch in raw.info["chs"]}
    assert np.linalg.norm(positions["EEG-0"]) > 0 and np.linalg.norm(positions["C3-A1"]) > 0
    assert not add_template_positions(raw, record, ch_aliases={"EEG-0": "Cz"})  # now present


def test_rescale_to_unit():
    names = ["Fp1", "Cz", "STI"]
    info = mne.create_info(names, 100.0, ["eeg", "eeg", "stim"])
    raw = mne.io.RawArray(np.full((3, 100), 20.0), info, verbose=False)  # µV numbers as "V"
    raw._orig_units = {"Fp1": "V", "Cz": "uV", "STI": "V"}
    factors = rescale_to_unit(raw, "uV")
    assert factors == {"Fp1": 1e-6}  # Cz was already read from µV; stim untouched
    np.testing.assert_allclose(raw.get_data()[:, 0], [20e-6, 20.0, 20.0])
    # A spelling MNE's EDF reader does not know ("uv") was read as volts.
    raw._orig_units = {"Fp1": "uv", "Cz": "\u00b5V", "STI": "V"}
    assert rescale_to_unit(raw, "mV") == pytest.approx({"Fp1": 1e-3, "Cz": 1e3})


@pytest.fixture(scope="module")
def sleep_edf(tmp_path_factory):
    """A 50 Hz EDF with three referential channels and EOG/EMG/ECG, in µV."""
    names = SLEEP
    info = mne.create_info(names, 50.0, "eeg")
    raw = mne.io.RawArray(_data(len(names), 50.0, seconds=40.0, n_epochs=1)[0], info, verbose=False)
    path = tmp_path_factory.mktemp("edf") / "night.edf"
    mne.export.export_raw(path, raw, physical_range=(-1e-3, 1e-3), verbose="error")
    return path


def test_embed_sleep_edf_reports_adaptations(sleep_edf, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "night.npz"
    base = ["embed", str(sleep_edf), "--model", "eegdino", "-q", "-o", str(out),
            "--checkpoint", str(tiny_checkpoint("eegdino")), "--window", "4"]  # fmt: skip
    assert main(base) == 2
    assert "--on-missing interpolate" in capsys.readouterr().err
    assert main([*base, "--on-missing", "zero", "--encoding", "latin1"]) == 0
    err = capsys.readouterr().err
    assert "16 of the 19 channels" in err and "upsampled" in err
    with np.load(out) as npz:
        report = json.loads(str(npz["input_report"]))
        assert sorted(npz["ch_names"]) == ["C3-A1", "FP1-A1", "O1-A1"]
        assert len(npz["filled_ch_names"]) == 16
        assert set(npz["dropped_ch_names"]) == {"EOG horizontal", "EMG submental", "ECG"}
    assert report["resampled_from"] == 50.0 and report["reference"] == "A1"
    assert report["channels_filled"]["PZ"] == "zero"
    # --ch-alias and --on-unknown reach the estimator.
    assert main([*base, "--on-missing", "zero", "--ch-alias", "ECG=Pz"]) == 0
    with np.load(out) as npz:
        report = json.loads(str(npz["input_report"]))
    assert report["ch_aliases_applied"] == {"ECG": "Pz"} and "PZ" not in report["channels_filled"]


def test_embed_unit_and_encoding_options(sleep_edf, tiny_checkpoint, tmp_path, capsys):
    base = ["embed", str(sleep_edf), "--model", "eegpt", "-q", "--window", "4",
            "--checkpoint", str(tiny_checkpoint("eegpt"))]  # fmt: skip
    assert main([*base, "-o", str(tmp_path / "a.npz")]) == 0
    # The file says µV: --unit uV changes nothing; --unit V rescales by 10^6.
    assert main([*base, "-o", str(tmp_path / "b.npz"), "--unit", "uV"]) == 0
    assert "rescaled" not in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "c.npz"), "--unit", "V"]) == 0
    assert "6 channel(s) rescaled by 1e+06" in capsys.readouterr().err
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert_array_equal(a["embeddings"], b["embeddings"])
    fif = tmp_path / "x_raw.fif"
    read_recording(sleep_edf).save(fif, verbose="error")
    assert main(["embed", str(fif), "--model", "eegpt", "--encoding", "latin1"]) == 2
    assert "encoding applies to the headers of EDF" in capsys.readouterr().err
    assert main([*base, "--ch-alias", "nonsense"]) == 2
    assert "--ch-alias expects OLD=NEW" in capsys.readouterr().err
