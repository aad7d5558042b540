"""``skeegfm benchmark`` on recordings as public datasets name and sample them.

Small synthetic ``-epo.fif`` files with the conventions of real datasets (a
64-channel 10-10 cap with PhysioNet EEGMMI's dotted names at 160 Hz; three
referential channels at 50 Hz next to EOG, EMG and ECG; one subject), run
through the command line with tiny local checkpoints (offline, fast).
"""

import json

import mne
import numpy as np
import pandas as pd
import pytest
from _tiny import save_tiny

from skeegfm.jobs import benchmark
from skeegfm.cli import main

FAMILIES = ("eegdino", "eegpt", "codebrain", "cbramod")
MODELS = ["eegdino-small", "eegpt", "codebrain", "cbramod", "baseline"]

#: PhysioNet EEG Motor Movement/Imagery (EEGMMI) channel names, as MNE reads its EDF files.
EEGMMI = (
    "Fc5. Fc3. Fc1. Fcz. Fc2. Fc4. Fc6. C5.. C3.. C1.. Cz.. C2.. C4.. C6.. Cp5. Cp3. Cp1. "
    "Cpz. Cp2. Cp4. Cp6. Fp1. Fpz. Fp2. Af7. Af3. Afz. Af4. Af8. F7.. F5.. F3.. F1.. Fz.. "
    "F2.. F4.. F6.. F8.. Ft7. Ft8. T7.. T8.. T9.. T10. Tp7. Tp8. P7.. P5.. P3.. P1.. Pz.. "
    "P2.. P4.. P6.. P8.. Po7. Po3. Poz. Po4. Po8. O1.. Oz.. O2.. Iz.."
).split()

#: The 19 electrodes of the 10-20 system, with their 10-10 names.
TEN_TWENTY = (
    "Fp1 Fp2 F7 F3 Fz F4 F8 T7 C3 Cz C4 T8 P7 P3 Pz P4 P8 O1 O2".split()
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-own")
    return {family: str(save_tiny(family, root / family)) for family in FAMILIES}


def _checkpoints(tiny):
    return [arg for f in FAMILIES for arg in ("--checkpoint", f"{f}={tiny[f]}")]


def _epochs_file(path, ch_names, sfreq, *, ch_types="eeg", subjects=("S1", "S2", "S3"),
                 per_subject=6, seconds=2.0):  # fmt: skip
    """Epochs of random EEG-sized data, two classes per subject, saved as -epo.fif."""
    rng = np.random.default_rng(0)
    n = per_subject * len(subjects)
    n_times = int(round(seconds * sfreq))
    info = mne.create_info(list(ch_names), sfreq, ch_types)
    data = rng.standard_normal((n, len(ch_names), n_times)) * 10e-6
    codes = np.tile([1, 2], n // 2)
    data[codes == 2, :, :] *= 1.5  # something to learn
    events = np.column_stack([np.arange(n) * (n_times + 10), np.zeros(n, int), codes])
    metadata = pd.DataFrame({"subject": np.repeat(list(subjects), per_subject)})
    epochs = mne.EpochsArray(
        data, info, events=events, event_id={"left": 1, "right": 2}, metadata=metadata,
        verbose="error",
    )  # fmt: skip
    epochs.save(path, verbose="error")
    return path


def _run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _results(out):
    return pd.read_csv(out / "results.csv"), json.loads((out / "results.json").read_text())


def test_eegmmi_64_channel_cap_dotted_names(tiny, tmp_path, capsys):
    """160 Hz, names such as 'Fc5.', 'Afz.', 'T9..': every encoder takes the cap."""
    path = _epochs_file(tmp_path / "eegmmi-epo.fif", EEGMMI, 160.0)
    out = tmp_path / "out"
    argv = ["benchmark", "--data", str(path), "--output-dir", str(out), *_checkpoints(tiny)]
    status, stdout, err = _run(argv, capsys)
    assert status == 0, err
    results, payload = _results(out)
    assert list(results["model"]) == MODELS
    assert list(results["status"]) == ["ok"] * 5, results["error"].tolist()
    assert payload["cv"] == "GroupKFold(n_splits=3)"
    # The adaptation facts: 19 positional channels used, the rest dropped, 160 -> 200 Hz.
    dino = payload["adaptations"]["eegdino-small"]
    assert len(dino["channels_used"]) == 19 and not dino["channels_filled"]
    assert len(dino["channels_dropped"]) == 64 - 19
    assert dino["resampled_from"] == 160.0
    eegpt = payload["adaptations"]["eegpt"]
    assert len(eegpt["channels_used"]) + len(eegpt["channels_dropped"]) == 64
    assert payload["adaptations"]["baseline"]["bands_hz"]["beta"] == [13.0, 30.0]


def test_three_referential_channels_at_50_hz(tiny, tmp_path, capsys):
    """'C3-A1', 'O1-A1', 'FP1-A1' + EOG/EMG/ECG at 50 Hz, all typed EEG as an EDF
    conversion leaves them: beta clipped, positional encoders fail in their own
    rows (16 of 19 channels missing), the rest is scored."""
    names = ["C3-A1", "O1-A1", "FP1-A1", "EOG horizontal", "EMG submental", "ECG"]
    path = _epochs_file(tmp_path / "sleep-epo.fif", names, 50.0, seconds=4.0)
    out = tmp_path / "out"
    argv = ["benchmark", "--data", str(path), "--output-dir", str(out), *_checkpoints(tiny)]
    status, stdout, err = _run(argv, capsys)
    assert status == 0, err
    assert "beta clipped to 13-25 Hz" in err  # a notice, not a crash
    assert "'EOG horizontal' (eog)" in err  # typed by its name
    results, payload = _results(out)
    assert list(results["model"]) == MODELS
    by_model = results.set_index("model")
    for model in ("eegdino-small", "codebrain", "cbramod"):
        assert by_model.loc[model, "status"] == "failed"
        assert "--on-missing" in by_model.loc[model, "error"]  # names the way out
        assert model in payload["failed"]
    assert by_model.loc["eegpt", "status"] == "ok"
    assert by_model.loc["baseline", "status"] == "ok"
    assert by_model.loc["baseline", "n_features"] == 3 * 3  # EEG channels only, 3 bands
    assert "failed (see below)" in stdout and "Failed rows" in stdout
    eegpt = payload["adaptations"]["eegpt"]
    assert eegpt["channels_used"] == ["FP1-A1", "C3-A1", "O1-A1"]  # in the model's order
    assert eegpt["resampled_from"] == 50.0 and eegpt["reference"] == "A1"
    assert set(eegpt["channels_dropped"]) == {"EOG horizontal", "EMG submental", "ECG"}
    assert payload["adaptations"]["baseline"]["bands_hz"]["beta"] == [13.0, 25.0]

    # --on-missing zero: every encoder runs, and the filled channels are reported.
    out = tmp_path / "zero"
    argv = ["benchmark", "--data", str(path), "--output-dir", str(out), "--on-missing", "zero"]
    status, _, err = _run([*argv, *_checkpoints(tiny)], capsys)
    assert status == 0, err
    results, payload = _results(out)
    assert list(results["status"]) == ["ok"] * 5, results["error"].tolist()
    filled = payload["adaptations"]["codebrain"]["channels_filled"]
    assert len(filled) == 16


def test_one_subject_file_is_cross_validated_within_subject(tiny, tmp_path, capsys):
    path = _epochs_file(tmp_path / "one-epo.fif", EEGMMI[:32], 160.0, subjects=("S7",),
                        per_subject=12)  # fmt: skip
    out = tmp_path / "out"
    argv = ["benchmark", "--data", str(path), "--output-dir", str(out), "--on-missing", "zero"]
    status, _, err = _run([*argv, *_checkpoints(tiny)], capsys)
    assert status == 0, err
    assert "one group" in err and "optimistic" in err
    results, payload = _results(out)
    assert any("optimistic" in line for line in payload["notices"])
    assert list(results["model"]) == MODELS
    assert payload["cv"] == "StratifiedKFold(n_splits=5)"
    # Asking for cross-subject folds on it is an error naming the fix.
    status, _, err = _run([*argv, "--cv", "group", *_checkpoints(tiny)], capsys)
    assert status == 2 and "--cv stratified" in err


@pytest.fixture
def no_encoder(monkeypatch):
    """Fail the test if an encoder is fitted (checks must come before)."""

    def fail(*args, **kwargs):
        raise AssertionError("an encoder ran before the checks")

    monkeypatch.setattr(benchmark, "_fit_embedder", fail)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bands", "theta=4-8,gamma=30-45"], "Nyquist"),
        (["--bands", "alpha"], "NAME=LOW-HIGH"),
        (["--n-splits", "7"], "between 2 and the 3 groups"),
        (["--cv", "stratified", "--n-splits", "20"], "smallest class"),
        (["--ch-alias", "Fz"], "OLD=NEW"),
    ],
)
def test_checks_come_before_any_encoder(extra, message, tiny, tmp_path, capsys, no_encoder):
    path = _epochs_file(tmp_path / "x-epo.fif", ["C3", "C4", "Cz"], 50.0, seconds=4.0)
    argv = ["benchmark", "--data", str(path), "--output-dir", str(tmp_path / "o"), *extra]
    status, _, err = _run([*argv, *_checkpoints(tiny)], capsys)
    assert status == 2
    assert message in err and err.startswith("skeegfm benchmark: error:")
    assert not (tmp_path / "o").exists()


def test_folds_with_a_single_training_class_are_refused_first(tiny, tmp_path, capsys,
                                                              no_encoder):  # fmt: skip
    """Labels that are the groups (one class per subject): no training fold has two classes."""
    path = _epochs_file(tmp_path / "x-epo.fif", ["C3", "C4", "Cz"], 50.0, seconds=4.0,
                        subjects=("S1", "S2"))  # fmt: skip
    argv = ["benchmark", "--data", str(path), "--label-column", "subject", *_checkpoints(tiny)]
    status, _, err = _run(argv, capsys)
    assert status == 2 and "training epochs hold only class" in err


def test_an_encoder_failing_at_run_time_leaves_the_other_rows(tiny, tmp_path, capsys,
                                                              monkeypatch):  # fmt: skip
    path = _epochs_file(tmp_path / "x-epo.fif", TEN_TWENTY, 160.0)
    real = benchmark._fit_embedder

    def flaky(spec, epochs, **kwargs):
        if spec.model == "eegpt":
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(spec, epochs, **kwargs)

    monkeypatch.setattr(benchmark, "_fit_embedder", flaky)
    out = tmp_path / "out"
    argv = ["benchmark", "--data", str(path), "--output-dir", str(out), "-q"]
    status, stdout, _ = _run([*argv, *_checkpoints(tiny)], capsys)
    assert status == 0
    results, payload = _results(out)
    by_model = results.set_index("model")
    assert list(results["model"]) == MODELS
    assert by_model.loc["eegpt", "status"] == "failed"
    assert by_model.loc["eegpt", "error"] == "RuntimeError: CUDA out of memory (simulated)"
    assert (by_model.drop(index="eegpt")["status"] == "ok").all()
    assert "RuntimeError: CUDA out of memory" in stdout
    assert (out / "results.png").exists()


def test_invalid_embedder_option_stops_everything_first(tmp_path, no_encoder):
    path = _epochs_file(tmp_path / "x-epo.fif", TEN_TWENTY, 160.0)
    with pytest.raises(ValueError, match="on_missing must be one of"):
        benchmark.run_benchmark(
            ["eegpt"], data=path, on_missing="guess", output_dir=tmp_path / "o", progress=False
        )
    assert not (tmp_path / "o").exists()
