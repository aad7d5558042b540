"""Channel-name normalisation, the conventions of public datasets, the EEGPT vocabulary."""

import pytest

from skeegfm._channels import (
    EEGPT_CHANNELS,
    STANDARD_19_CHANNELS,
    TUEG_19_CHANNELS,
    channel_type_from_name,
    check_ch_aliases,
    eegpt_channel_ids,
    normalize_ch_name,
    normalize_ch_names,
    option_hint,
    option_style,
    parse_ch_name,
    standard_electrodes,
)


def test_vocabularies():
    assert len(EEGPT_CHANNELS) == 62 == len(set(EEGPT_CHANNELS))
    assert EEGPT_CHANNELS[:3] == ("FP1", "FPZ", "FP2") and EEGPT_CHANNELS[-1] == "O2"
    assert set(STANDARD_19_CHANNELS) == set(TUEG_19_CHANNELS)
    # ids of the 19 standard channels of the original probes (authors' repository BINE022/EEGPT)
    assert eegpt_channel_ids(STANDARD_19_CHANNELS) == [
        0, 2, 7, 9, 11, 13, 15, 25, 27, 29, 31, 33, 43, 45, 47, 49, 51, 59, 61
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Fp1", "FP1"),
        ("fp1", "FP1"),
        ("  FP1 ", "FP1"),
        ("EEG Fp1-REF", "FP1"),
        ("EEG FP1-LE", "FP1"),
        ("Cz-A1", "CZ"),
        ("Oz.", "OZ"),
        ("Fpz..", "FPZ"),
        ("T3", "T7"),
        ("EEG T4-REF", "T8"),
        ("t5", "P7"),
        ("T6-AVG", "P8"),
        ("Fp1-F7", None),  # bipolar derivation: never matched
        ("EKG", None),
        ("A1", None),
    ],
)
def test_normalize_ch_name(name, expected):
    assert normalize_ch_name(name) == expected


def test_normalize_with_vocabulary():
    assert normalize_ch_name("Fpz", vocabulary=TUEG_19_CHANNELS) is None
    assert normalize_ch_name("t3", vocabulary=TUEG_19_CHANNELS) == "T7"
    assert normalize_ch_names(["fp1", "xx", "EEG O2-REF"]) == ["FP1", None, "O2"]


def test_eegpt_channel_ids_aliases_and_order():
    assert eegpt_channel_ids(["EEG Fp1-REF", "t3", "Oz."]) == [0, 25, 60]
    assert eegpt_channel_ids(["O2", "Fp1"]) == [61, 0]
    assert eegpt_channel_ids(list(EEGPT_CHANNELS)) == list(range(62))


def test_eegpt_channel_ids_unknown_names_listed():
    with pytest.raises(ValueError) as err:
        eegpt_channel_ids(["Fp1", "Fp1-F7", "EKG", "Cz"])
    msg = str(err.value)
    assert "'Fp1-F7'" in msg and "'EKG'" in msg and "2 channel name(s)" in msg
    assert "'FPZ'" in msg and "'PO8'" in msg  # the accepted vocabulary is listed
    assert "'Cz'" not in msg


def test_eegpt_channel_ids_duplicates():
    with pytest.raises(ValueError, match="same EEGPT electrode"):
        eegpt_channel_ids(["T3", "T7"])


# --------------------------------------------------------------------------
# The conventions of public datasets (parse_ch_name), each as the data name it
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kind, electrode, reference",
    [
        # PhysioNet EEG Motor Movement/Imagery: 10-10 names padded with dots.
        ("Fc5.", "electrode", "FC5", None),
        ("Afz.", "electrode", "AFZ", None),
        ("T9..", "electrode", "T9", None),
        ("Iz..", "electrode", "IZ", None),
        ("T10.", "electrode", "T10", None),
        # BCI Competition IV 2a ('EEG-' prefix, numbered channels) and 2b ('EEG:').
        ("EEG-Fz", "electrode", "FZ", None),
        ("EEG-C3", "electrode", "C3", None),
        ("EEG:C3", "electrode", "C3", None),
        ("EEG-0", "other", None, None),
        ("EEG-16", "other", None, None),
        # TUH EEG: 'EEG <name>-REF' and '-LE', old 10-20 names.
        ("EEG FP1-REF", "electrode", "FP1", "REF"),
        ("EEG FP1-LE", "electrode", "FP1", "LE"),
        ("EEG T3-REF", "electrode", "T7", "REF"),
        ("EEG 26-REF", "other", None, "REF"),
        # Referential sleep montages: active electrode first, then the reference.
        ("C3-A1", "electrode", "C3", "A1"),
        ("C3-M2", "electrode", "C3", "M2"),
        ("FP1-A1", "electrode", "FP1", "A1"),
        ("EEG C4-A1", "electrode", "C4", "A1"),
        # Bipolar derivations between two scalp electrodes (double banana,
        # Sleep-EDF): not electrodes.
        ("Fp1-F7", "bipolar", "FP1", "F7"),
        ("F7-T3", "bipolar", "F7", "T7"),
        ("EEG Fpz-Cz", "bipolar", "FPZ", "CZ"),
        ("EEG Pz-Oz", "bipolar", "PZ", "OZ"),
        # Old 10-20 names, case and spaces.
        ("T3", "electrode", "T7", None),
        ("t6", "electrode", "P8", None),
        (" fp 1 ", "electrode", "FP1", None),
        ("C3 - A1", "electrode", "C3", "A1"),
        # Ear/mastoid sites are electrodes (of no model); other words are not.
        ("A1", "electrode", "A1", None),
        ("Resp oro-nasal", "other", None, None),
        ("STI 014", "other", None, None),
    ],
)
def test_parse_ch_name_conventions(name, kind, electrode, reference):
    parsed = parse_ch_name(name)
    assert (parsed.kind, parsed.electrode, parsed.reference) == (kind, electrode, reference)
    assert parsed.name == name


def test_bipolar_and_numbered_names_never_match():
    for name in ("Fp1-F7", "EEG Fpz-Cz", "EEG-0"):
        assert normalize_ch_name(name) is None
        assert normalize_ch_name(name, TUEG_19_CHANNELS) is None


def test_old_and_new_names_match_both_ways():
    modern = ("T7", "T8", "P7", "P8")
    old = ("T3", "T4", "T5", "T6")
    assert [normalize_ch_name(n, modern) for n in old] == list(modern)
    assert [normalize_ch_name(n, old) for n in modern] == list(old)
    assert normalize_ch_name("EEG T5-REF", old) == "T5"


def test_validity_is_mne_10_05_montage():
    valid = standard_electrodes()
    assert set(EEGPT_CHANNELS) <= valid and {"AFZ", "T9", "IZ", "A1", "M2"} <= valid
    assert "EEG-0" not in valid and "0" not in valid


@pytest.mark.parametrize(
    "name, expected",
    [
        ("EOG horizontal", "eog"), ("EOG-left", "eog"), ("EOG:ch01", "eog"), ("HEOG", "eog"),
        ("LOC", "eog"), ("EEG ROC-REF", "eog"), ("EMG submental", "emg"), ("ECG", "ecg"),
        ("EEG EKG1-REF", "ecg"), ("Cz", None), ("EEG Fpz-Cz", None), ("EEG-0", None),
    ],
)  # fmt: skip
def test_channel_type_from_name(name, expected):
    assert channel_type_from_name(name) == expected


def test_option_hints_follow_the_context():
    assert option_hint("on_unknown", "drop") == "on_unknown='drop'"
    assert option_hint("ch_aliases", {"EEG-0": "Fz"}) == "ch_aliases={'EEG-0': 'Fz'}"
    with option_style("cli"):
        assert option_hint("on_unknown", "drop") == "--on-unknown drop"
        assert option_hint("on_missing", "zero") == "--on-missing zero"
        assert option_hint("ch_aliases", {"EEG-0": "Fz"}) == "--ch-alias EEG-0=Fz"
    assert option_hint("on_missing", "zero") == "on_missing='zero'"  # restored
    with pytest.raises(ValueError, match="style"):
        with option_style("R"):
            pass


def test_check_ch_aliases():
    assert check_ch_aliases(None) == {}
    assert check_ch_aliases({"EEG-0": "Fz"}) == {"EEG-0": "Fz"}
    with pytest.raises(TypeError, match="dict"):
        check_ch_aliases([("EEG-0", "Fz")])
    with pytest.raises(TypeError, match="dict"):
        check_ch_aliases({"EEG-0": 3})
    with pytest.raises(ValueError, match="same name"):
        check_ch_aliases({"a": "Fz", "b": "FZ"})
