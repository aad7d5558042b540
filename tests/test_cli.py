"""The ``skeegfm`` command: benchmark, embed, models (tiny checkpoints, offline)."""

import json
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest
from _tiny import save_tiny

from skeegfm import __version__
from skeegfm.jobs import _weights, benchmark
from skeegfm.jobs.benchmark import hub_reachable, resolve_weights
from skeegfm.cli import main
from skeegfm.datasets import load_eegmat

EDF = Path(__file__).parent / "data" / "Subject00_2.edf"
FAMILIES = ("eegdino", "eegpt", "codebrain", "cbramod")


class _TinyCheckpoints(dict):
    """``tiny[family]``: a tiny save_pretrained directory, written on first use."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def __missing__(self, family):
        self[family] = str(save_tiny(family, self.root / family))
        return self[family]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _TinyCheckpoints(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def small_epo(tmp_path_factory):
    """4 subjects x 8 epochs of EEGMAT with a string label column, as -epo.fif."""
    epochs = load_eegmat(verbose="error")
    meta = epochs.metadata
    keep = np.flatnonzero(meta["subject"].isin(meta["subject"].unique()[:4]).to_numpy())
    keep = np.concatenate([keep[meta["label"].to_numpy()[keep] == k][::3] for k in (0, 1)])
    small = epochs[np.sort(keep)]
    small.metadata = small.metadata.assign(task=np.where(small.metadata["label"] == 1, "math", "rest"))
    path = tmp_path_factory.mktemp("data") / "small-epo.fif"
    small.save(path, verbose="error")
    return path, small


def _checkpoint_args(tiny, families=FAMILIES):
    args = []
    for family in families:
        args += ["--checkpoint", f"{family}={tiny[family]}"]
    return args


# --------------------------------------------------------------------------- benchmark


def test_benchmark_default_data_all_encoders(tiny, tmp_path, capsys):
    out = tmp_path / "bench"
    status = main(
        ["benchmark", "--n-splits", "2", "--output-dir", str(out), "-q", *_checkpoint_args(tiny)]
    )
    assert status == 0
    stdout = capsys.readouterr().out
    for name in ("EEG-DINO-Small", "EEGPT", "CodeBrain", "CBraMod", "Log band power (baseline)"):
        assert name in stdout
    results = pd.read_csv(out / "results.csv")
    assert list(results["model"]) == ["eegdino-small", "eegpt", "codebrain", "cbramod", "baseline"]
    assert list(results["weights_kind"]) == ["local"] * 4 + ["none"]
    assert results["weights"][1] == str(Path(tiny["eegpt"]).resolve())
    assert results["balanced_accuracy_mean"].between(0, 1).all()
    assert results["roc_auc_mean"].between(0, 1).all()  # binary task
    assert (results["windows_per_second"] > 0).all()
    # Embedding sizes are those of the tiny encoders given by --checkpoint.
    from skeegfm import CBraModEmbedder, CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

    one = load_eegmat(verbose="error")[:1]
    classes = (EEGDINOEmbedder, EEGPTEmbedder, CodeBrainEmbedder, CBraModEmbedder)
    sizes = [cls(checkpoint=tiny[family]).fit(one).n_features_out_ for cls, family in zip(classes, FAMILIES)]
    assert list(results["n_features"][:4]) == sizes
    assert results["n_features"][4] == 19 * 3  # 19 channels x theta/alpha/beta
    payload = json.loads((out / "results.json").read_text())
    assert payload["n_epochs"] == 192 and payload["groups_from"] == "subject"
    assert payload["cv"] == "GroupKFold(n_splits=2)"
    for key in ("eegdino-small", "eegpt", "codebrain", "cbramod", "baseline"):
        folds = payload["fold_scores"][key]["balanced_accuracy"]
        assert len(folds) == 2
        assert np.isclose(np.mean(folds), results.set_index("model").loc[key, "balanced_accuracy_mean"])
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_benchmark_baseline_matches_direct_cross_validation(tiny, tmp_path):
    """The baseline row is LogBandPower + StandardScaler + LogisticRegression in GroupKFold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skeegfm._baseline import LogBandPower

    results = benchmark.run_benchmark(
        ["eegpt"], checkpoints={"eegpt": tiny["eegpt"]}, n_splits=3, output_dir=tmp_path, progress=False
    )
    epochs, y, groups = load_eegmat(return_X_y=True, verbose="error")
    features = LogBandPower(sfreq=epochs.info["sfreq"]).fit_transform(epochs.get_data())
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    expected = cross_val_score(
        probe, features, y, groups=groups, cv=GroupKFold(3), scoring="balanced_accuracy"
    )
    row = results.set_index("model").loc["baseline"]
    assert np.isclose(row["balanced_accuracy_mean"], expected.mean())
    assert np.isclose(row["balanced_accuracy_std"], expected.std())


def test_benchmark_user_data_columns(tiny, small_epo, tmp_path, capsys):
    path, small = small_epo
    out = tmp_path / "user"
    status = main(
        [
            "benchmark", "--models", "eegpt", "--data", str(path), "--label-column", "task",
            "--group-column", "subject", "--output-dir", str(out), "-q",
            *_checkpoint_args(tiny, ["eegpt"]),
        ]
    )  # fmt: skip
    assert status == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["n_epochs"] == len(small)
    assert payload["classes"] == ["math", "rest"]
    assert payload["n_groups"] == 4
    assert payload["cv"] == "GroupKFold(n_splits=4)"  # min(5, n_subjects)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline mode on, no encoder kept in memory."""
    from huggingface_hub import constants

    from skeegfm._cache import clear_encoder_cache

    clear_encoder_cache()  # encoders are cached per Hub id, across tests
    monkeypatch.setattr(_weights, "_RANDOM_DIRS", {})

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield cache
    clear_encoder_cache()


def test_benchmark_random_rows_are_marked(tiny, tmp_path, capsys, monkeypatch, hub_cache):
    """Offline without cached weights: one line per model, rows say 'random'."""
    from skeegfm.embedders import EEGPTEmbedder

    made = []
    real = _weights._make_embedder

    def fake(spec, **kwargs):
        made.append(spec)
        if spec.kind == "random":  # a tiny architecture keeps the test fast
            return EEGPTEmbedder(checkpoint=tiny["eegpt"], **kwargs)
        return real(spec, **kwargs)

    monkeypatch.setattr(_weights, "_make_embedder", fake)
    out = tmp_path / "offline"
    status = main(["benchmark", "--models", "eegpt", "--n-splits", "2", "--output-dir", str(out)])
    assert status == 0
    captured = capsys.readouterr()
    notices = [line for line in captured.err.splitlines() if "RANDOM" in line]
    assert len(notices) == 1
    assert "eegpt" in notices[0] and "braindecode/eegpt-pretrained" in notices[0]
    assert "offline" in notices[0]
    # First the released weights were tried, then random ones.
    assert [(s.kind, s.checkpoint) for s in made] == [
        ("pretrained", "braindecode/eegpt-pretrained"),
        ("random", None),
    ]
    results = pd.read_csv(out / "results.csv")
    assert results.loc[0, "weights"] == "random" and results.loc[0, "weights_kind"] == "random"
    assert "use randomly initialised encoders" in captured.out


def test_benchmark_uses_cached_hub_weights(tiny, tmp_path, hub_cache):
    """Weights in the Hub cache are used offline and labelled with their commit."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = hub_cache / "models--braindecode--eegpt-pretrained"
    save_tiny("eegpt", repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    results = benchmark.run_benchmark(
        ["eegpt"], n_splits=2, output_dir=tmp_path / "cached", progress=False
    )
    row = results.iloc[0]
    assert row["weights"] == f"braindecode/eegpt-pretrained@{commit[:12]}"
    assert row["weights_kind"] == "pretrained"
    from skeegfm import EEGPTEmbedder

    tiny_size = EEGPTEmbedder(checkpoint=tiny["eegpt"]).fit(load_eegmat(verbose="error")[:1])
    assert row["n_features"] == tiny_size.n_features_out_  # the tiny encoder from the cache


def test_resolve_weights(tiny, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reachable() is False
    specs = resolve_weights(["eegdino", "eegpt", "codebrain"])
    assert list(specs) == ["eegdino-small", "eegpt", "codebrain"]
    assert [s.kind for s in specs.values()] == ["pretrained"] * 3
    assert specs["eegpt"].checkpoint == "braindecode/eegpt-pretrained"
    specs = resolve_weights(
        ["eegpt", "eegdino", "eegdino-medium"],
        "random",
        {"eegpt": tiny["eegpt"], "eegdino-medium": "someone/my-eegdino"},
    )
    assert specs["eegpt"].kind == "local" and specs["eegpt"].label == str(Path(tiny["eegpt"]).resolve())
    assert specs["eegdino-small"].kind == "random" and specs["eegdino-small"].checkpoint is None
    assert specs["eegdino-medium"].kind == "pretrained"
    assert specs["eegdino-medium"].checkpoint == "someone/my-eegdino"
    assert resolve_weights(["eegpt"], checkpoints={"eegpt": "random"})["eegpt"].kind == "random"
    with pytest.raises(ValueError, match="No such local path exists"):
        resolve_weights(["eegpt"], checkpoints={"eegpt": "./no/such/dir"})
    with pytest.raises(ValueError, match="not among the models"):
        resolve_weights(["eegpt"], checkpoints={"eegdino": tiny["eegdino"]})
    with pytest.raises(ValueError, match="known"):
        resolve_weights(["eegnet"])
    with pytest.raises(ValueError, match="pretrained"):
        resolve_weights(["eegpt"], "imagenet")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["benchmark", "--checkpoint", "eegpt"], "MODEL=PATH"),
        (["benchmark", "--models", "eegnet"], "eegnet"),
        (["benchmark", "--models", ","], "--models is empty"),
        (["benchmark", "--data", "/no/such-epo.fif"], "no such file"),
        (["benchmark", "--models", "eegpt", "--weights", "random", "--label-column", "nope"], "nope"),
    ],
)
def test_benchmark_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("skeegfm benchmark: error:")


# --------------------------------------------------------------------------- embed


def _recording_epochs():
    """The EDF's 19 EEG channels cut into 4 s windows, as embed should do it."""
    raw = mne.io.read_raw(EDF, preload=True, verbose="error")
    raw.pick([name for name in raw.ch_names if name not in ("EEG A2-A1", "ECG ECG")])
    return mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose="error")


@pytest.mark.parametrize("family", ["eegpt", "eegdino"])
def test_embed_edf(family, tiny, tmp_path, capsys):
    from skeegfm import embedders

    out = tmp_path / "sub.npz"
    status = main(
        ["embed", str(EDF), "--model", family, "--checkpoint", tiny[family], "-o", str(out), "-q"]
    )
    assert status == 0
    err = capsys.readouterr().err
    # Reasons of the adapter, one notice line (the new channel rules: an ear
    # electrode is left out by default, an ECG channel typed by its name).
    assert "'EEG A2-A1' (an electrode" in err and "'ECG ECG' (typed 'ecg' by its name" in err
    with np.load(out) as npz:
        assert set(npz.files) >= {
            "embeddings", "onsets_s", "ch_names", "model", "checkpoint", "skeegfm_version"
        }  # fmt: skip
        embeddings, onsets, ch_names = npz["embeddings"], npz["onsets_s"], list(npz["ch_names"])
        assert str(npz["checkpoint"]) == str(Path(tiny[family]).resolve())
        assert str(npz["skeegfm_version"]) == __version__
        assert str(npz["model"]) == ("eegdino-small" if family == "eegdino" else family)
    # 62 s at 500 Hz in 4 s windows; old names T3..T6 are kept, A2-A1 and ECG dropped.
    assert embeddings.shape[0] == 15 and embeddings.dtype == np.float32
    np.testing.assert_allclose(onsets, 4.0 * np.arange(15))
    assert len(ch_names) == 19 and "EEG T3" in ch_names and "ECG ECG" not in ch_names
    # The same windows through the embedder directly give the same embeddings.
    cls = embedders.EEGPTEmbedder if family == "eegpt" else embedders.EEGDINOEmbedder
    expected = cls(checkpoint=tiny[family]).fit_transform(_recording_epochs())
    np.testing.assert_allclose(embeddings, expected, rtol=1e-5, atol=1e-6)


def test_embed_stride_epochs_file_and_output_dir(tiny, small_epo, tmp_path):
    """Several inputs go to one store; an -epo.fif file's epochs are its windows."""
    from skeegfm.jobs import open_store, windows_index

    path, small = small_epo
    out_dir = tmp_path / "many"
    status = main(
        [
            "embed", str(EDF), str(path), "--model", "eegpt", "--checkpoint", tiny["eegpt"],
            "--window", "4", "--stride", "2", "--output-dir", str(out_dir), "-q",
            "--scheduler", "synchronous", "--chunk-windows", "7",
        ]
    )  # fmt: skip
    assert status == 0
    store = open_store(out_dir / "embeddings_eegpt.zarr")
    index = windows_index(store)
    edf = index[index["recording"] == str(EDF)]
    assert len(edf) == 30  # (62 - 4) / 2 + 1
    np.testing.assert_allclose(np.diff(edf["onset_s"]), 2.0)
    epo = index[index["recording"] == str(path)]
    assert len(epo) == len(small)  # the file's epochs as they are
    (facts,) = [a for _, g in store["recordings"].groups() if (a := g.attrs)["path"] == str(path)]
    assert facts["channels_used"] == small.ch_names
    assert store["embeddings"].shape == (62, 32)


def test_embed_errors(tiny, tmp_path, capsys, monkeypatch):
    garbage = tmp_path / "broken.edf"
    garbage.write_bytes(b"not an EDF file at all")
    assert main(["embed", str(garbage), "--model", "eegpt", "--checkpoint", tiny["eegpt"]]) == 2
    assert "MNE cannot read" in capsys.readouterr().err

    info = mne.create_info(["EEG A2-A1", "ECG ECG"], 250.0, "eeg")
    raw = mne.io.RawArray(np.zeros((2, 2500)), info, verbose="error")
    no_eeg = tmp_path / "no_eeg_raw.fif"
    raw.save(no_eeg, verbose="error")
    assert main(["embed", str(no_eeg), "--model", "eegpt", "--checkpoint", tiny["eegpt"]]) == 2
    assert "none of the channels" in capsys.readouterr().err.lower()

    assert main(["embed", str(EDF), str(EDF), "--model", "eegpt", "-o", "x.npz"]) == 2
    assert "-o OUT.npz takes one INPUT file" in capsys.readouterr().err
    assert main(["embed", str(EDF), "--model", "eegpt", "-o", "x.h5"]) == 2
    assert "must end in .npz (one recording) or .zarr" in capsys.readouterr().err

    assert main(["embed", str(EDF), "--model", "eegpt", "--window", "0.1"]) == 2


def test_embed_offline_without_weights_is_an_error(hub_cache, tmp_path, capsys):
    """Never silently random embeddings: embed stops and says what to pass."""
    assert main(["embed", str(EDF), "--model", "eegpt", "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "--weights random" in err and not (tmp_path / "x.npz").exists()


def test_run_embed_python_api(tiny, tmp_path, hub_cache):
    """The embed job from Python: a report, errors in the estimators' spelling."""
    from skeegfm.jobs import run_embed
    from skeegfm.models import WeightsNotAvailableError

    said = []
    out = tmp_path / "a.npz"
    report = run_embed([EDF], out, model="eegpt", checkpoint=tiny["eegpt"], progress=False,
                       say=said.append)  # fmt: skip
    assert (report.kind, report.model, report.n_windows, report.failed) == ("npz", "eegpt", 15, {})
    assert str(report) == f"{out}: 15 windows x {report.n_features} features"
    with np.load(out) as npz:
        assert npz["embeddings"].shape == (15, report.n_features)
        assert list(npz["ch_names"]) == report.input_report["channels_used"]
    assert any("19 channel(s) used" in line for line in said)
    with pytest.raises(ValueError, match="holds one recording"):
        run_embed([EDF, EDF], tmp_path / "b.npz", model="eegpt")
    with pytest.raises(ValueError, match="must end in .npz"):
        run_embed([EDF], tmp_path / "b.h5", model="eegpt")
    with pytest.raises(ValueError, match="Unknown model 'eegnet'; known: eegdino-small"):
        run_embed([EDF], tmp_path / "c.npz", model="eegnet")
    with pytest.raises(WeightsNotAvailableError, match="checkpoint='PATH', or weights='random'"):
        run_embed([EDF], tmp_path / "d.npz", model="eegpt", progress=False)
    assert not (tmp_path / "d.npz").exists()


def test_models_and_defaults_come_from_the_records(tmp_path, monkeypatch, capsys):
    """A record registered at run time is a model of the jobs and the command,
    without an edit to cli.py or jobs/: names, aliases, default benchmark rows."""
    import dataclasses

    import skeegfm
    from skeegfm.jobs import _records
    from skeegfm.models._pretrained import _unregister_pretrained, get_record, register_pretrained

    toy = dataclasses.replace(
        get_record("eegpt"), name="toy-eegpt", hub_id="someone/toy-eegpt",
        display_name="Toy-EEGPT", default_benchmark=True,
    )  # fmt: skip
    missing = str(tmp_path / "none.edf")
    register_pretrained(toy, aliases=("toy",))
    try:
        records = skeegfm.list_models()
        expected = tuple(r.name for r in records if r.default_benchmark)
        assert "toy-eegpt" in expected and benchmark.DEFAULT_MODELS == expected
        assert _records.model_names()[: len(records)] == [r.name for r in records]
        assert {"toy-eegpt", "toy"} <= set(_records.model_names())
        # The benchmark's default rows are the records': what it resolves weights for.
        asked = []

        def stop(models, *args, **kwargs):
            asked.append(list(models))
            raise ValueError("stopped before any encoder runs")

        with monkeypatch.context() as patch:
            patch.setattr(benchmark, "resolve_weights", stop)
            assert main(["benchmark", "--output-dir", str(tmp_path / "b")]) == 2
        assert asked == [list(expected)]
        capsys.readouterr()
        # Both commands accept the new name and alias (they stop later, on other things).
        assert main(["benchmark", "--models", "toy", "--weights", "random", "--n-splits", "1"]) == 2
        err = capsys.readouterr().err
        assert "--n-splits must be between 2" in err and "Unknown model" not in err
        assert main(["embed", missing, "--model", "toy", "-o", str(tmp_path / "x.npz")]) == 2
        err = capsys.readouterr().err
        assert "no such file" in err and "Unknown model" not in err
    finally:
        _unregister_pretrained("toy-eegpt")
    assert "toy-eegpt" not in benchmark.DEFAULT_MODELS
    assert main(["embed", missing, "--model", "toy", "-o", str(tmp_path / "x.npz")]) == 2
    assert "Unknown model 'toy'" in capsys.readouterr().err
    assert main(["benchmark", "--models", "toy-eegpt"]) == 2
    assert "Unknown model 'toy-eegpt'" in capsys.readouterr().err


# --------------------------------------------------------------------------- misc


def test_models_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "braindecode/eegpt-pretrained" in out and "256" in out


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "skeegfm", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"skeegfm {__version__}"


def test_random_weights_of_a_non_default_size(monkeypatch):
    """Random EEG-DINO-Medium is the medium architecture, not the default small one."""
    monkeypatch.setattr(_weights, "_RANDOM_DIRS", {})
    spec = benchmark.WeightsSpec("eegdino-medium", None, "random", "random")
    embedder = _weights._make_embedder(
        spec, device="cpu", batch_size=4, random_state=0, verbose=False
    )
    config = json.loads((Path(embedder.checkpoint) / "config.json").read_text())
    assert config["n_layer"] == 16 and config["dim_feedforward"] == 1024
    small = _weights._make_embedder(
        benchmark.WeightsSpec("eegdino-small", None, "random", "random"),
        device="cpu", batch_size=4, random_state=0, verbose=False,
    )  # fmt: skip
    assert small.checkpoint is None  # the embedder's own random initialisation


def test_benchmark_multiclass_without_groups(tiny, tmp_path, capsys):
    """Three classes from events, no subject column: stratified folds, a warning, no AUC."""
    rng = np.random.default_rng(0)
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]
    info = mne.create_info(names, 256.0, "eeg")
    events = np.column_stack([np.arange(30) * 1024, np.zeros(30, int), np.repeat([1, 2, 3], 10)])
    epochs = mne.EpochsArray(
        rng.standard_normal((30, len(names), 512)) * 1e-5, info, events=events,
        event_id={"left": 1, "right": 2, "feet": 3}, verbose="error",
    )  # fmt: skip
    path = tmp_path / "three-epo.fif"
    epochs.save(path, verbose="error")
    out = tmp_path / "three"
    argv = ["benchmark", "--models", "eegpt", "--data", str(path), "--output-dir", str(out)]
    assert main([*argv, *_checkpoint_args(tiny, ["eegpt"])]) == 0
    captured = capsys.readouterr()
    assert "no group column" in captured.err
    assert "ROC AUC" not in captured.out
    payload = json.loads((out / "results.json").read_text())
    assert payload["classes"] == ["feet", "left", "right"]
    assert payload["cv"] == "StratifiedKFold(n_splits=5)"
    assert set(payload["fold_scores"]["eegpt"]) == {"balanced_accuracy"}


def test_embed_missing_positional_channels(tiny, tmp_path, capsys):
    """EEG-DINO needs its 19 channels: an error naming them, or --on-missing zero."""
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]  # its first 10 slots
    info = mne.create_info(names, 250.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((10, 2500)) * 1e-5, info)
    path = tmp_path / "ten_raw.fif"
    raw.save(path, verbose="error")
    base = ["embed", str(path), "--model", "eegdino", "--checkpoint", tiny["eegdino"], "-q"]
    assert main([*base, "-o", str(tmp_path / "a.npz")]) == 2
    err = capsys.readouterr().err
    assert "'PZ'" in err and "--on-missing interpolate" in err and "on_missing=" not in err
    assert main([*base, "-o", str(tmp_path / "b.npz"), "--on-missing", "zero"]) == 0
    with np.load(tmp_path / "b.npz") as npz:
        assert npz["embeddings"].shape[0] == 2 and list(npz["ch_names"]) == names
    # The file has no positions: embed takes template ones to interpolate, as
    # setting the template montage on the epochs oneself would.
    assert main([*base, "-o", str(tmp_path / "c.npz"), "--on-missing", "interpolate"]) == 0
    assert "template 10-05 positions" in capsys.readouterr().err
    from skeegfm import EEGDINOEmbedder
    from skeegfm._inputs import _standard_montage

    epochs = mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose="error")
    epochs.set_montage(_standard_montage())
    expected = EEGDINOEmbedder(checkpoint=tiny["eegdino"], on_missing="interpolate")
    with np.load(tmp_path / "c.npz") as npz:
        np.testing.assert_allclose(
            npz["embeddings"], expected.fit_transform(epochs), rtol=1e-4, atol=1e-5
        )
        zero = np.load(tmp_path / "b.npz")["embeddings"]
        assert not np.allclose(npz["embeddings"], zero)  # interpolation is not zero-filling
