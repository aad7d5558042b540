"""Channel-name normalisation and the EEGPT vocabulary lookup."""

import pytest

from skeegfm._channels import (
    EEGPT_CHANNELS,
    STANDARD_19_CHANNELS,
    TUEG_19_CHANNELS,
    eegpt_channel_ids,
    normalize_ch_name,
    normalize_ch_names,
)


def test_vocabularies():
    assert len(EEGPT_CHANNELS) == 62 == len(set(EEGPT_CHANNELS))
    assert EEGPT_CHANNELS[:3] == ("FP1", "FPZ", "FP2") and EEGPT_CHANNELS[-1] == "O2"
    assert set(STANDARD_19_CHANNELS) == set(TUEG_19_CHANNELS)
    # MODELS.md 2.2: ids of the 19 standard channels used by the original probes.
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
