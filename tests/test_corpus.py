"""Corpus embedding: streaming windows, one Zarr store, resuming, Dask (tiny encoders)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mne
import numpy as np
import pytest

from skeegfm import EEGDINOEmbedder, EEGPTEmbedder
from skeegfm._channels import normalize_ch_name
from skeegfm.cli import main
from skeegfm.jobs import (
    EmbedOptions,
    RecordingError,
    embed_recording,
    embed_recordings,
    find_recordings,
    open_store,
    windows_index,
)

zarr = pytest.importorskip("zarr")

NAMES = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
         "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]  # fmt: skip


def _raw(seconds, sfreq=250.0, names=NAMES, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    data = rng.standard_normal((len(names), n)) * 2e-5
    data += 3e-5 * np.sin(2 * np.pi * 10 * np.arange(n) / sfreq)  # alpha, for EDF's range
    return mne.io.RawArray(data, mne.create_info(list(names), sfreq, "eeg"), verbose="error")


def _edf(path, seconds, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, _raw(seconds, **kwargs), fmt="edf", overwrite=True, verbose="error")
    return path


def _options(tiny_checkpoint, family="eegpt", **kwargs):
    model = {"eegpt": "eegpt", "eegdino": "eegdino-small"}[family]
    return EmbedOptions(model=model, checkpoint=str(tiny_checkpoint(family)), device="cpu", **kwargs)


def _rows(store, name):
    (attrs,) = [g.attrs for _, g in store["recordings"].groups() if g.attrs["name"] == name]
    assert attrs["status"] == "complete"
    return store["embeddings"][attrs["row_start"] : attrs["row_stop"]], attrs


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("family", ["eegpt", "eegdino"])
def test_streaming_equals_whole_recording(family, tiny_checkpoint, tmp_path):
    """Chunks of 5 overlapping windows (boundaries inside windows, 250 Hz resampled
    to the model's rate window by window) give the whole-recording embeddings."""
    raw = _raw(61.3, sfreq=250.0)
    raw.set_annotations(mne.Annotations([20.5], [1.0], ["BAD_movement"]))
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    options = _options(tiny_checkpoint, family, window=4.0, stride=1.5, chunk_windows=5)
    result = embed_recording(path, options)

    epochs = mne.make_fixed_length_epochs(raw, duration=4.0, overlap=2.5, preload=True,
                                          verbose="error")  # fmt: skip
    cls = EEGPTEmbedder if family == "eegpt" else EEGDINOEmbedder
    expected = cls(checkpoint=str(tiny_checkpoint(family))).fit_transform(epochs)
    assert result.embeddings.shape == expected.shape and len(expected) < 39  # BAD windows gone
    np.testing.assert_allclose(result.embeddings, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.onsets_s, epochs.events[:, 0] / 250.0)
    facts = result.facts
    assert facts["n_rejected"] == 39 - len(expected) and facts["n_windows"] == len(expected)
    assert facts["resampled_from"] == 250.0 and facts["sfreq"] == options.record.sfreq
    # One chunk of everything gives the same numbers.
    whole = embed_recording(path, _options(tiny_checkpoint, family, window=4.0, stride=1.5,
                                           chunk_windows=1000))  # fmt: skip
    np.testing.assert_array_equal(whole.embeddings, result.embeddings)


def test_streaming_reports_adaptations_and_errors(tiny_checkpoint, tmp_path):
    names = NAMES[:10] + ["ECG", "EOG left"]
    path = _edf(tmp_path / "ten.edf", 20, names=names)
    result = embed_recording(path, _options(tiny_checkpoint, "eegdino", on_missing="zero"))
    facts = result.facts
    assert set(facts["channels_dropped"]) == {"ECG", "EOG left"}
    assert sorted(facts["channels_used"]) == sorted(NAMES[:10])
    assert set(facts["channels_filled"].values()) == {"zero"} and len(facts["channels_filled"]) == 9
    assert any("channels" in note for note in facts["notes"])  # the adapter's warnings, kept
    # The embedder given the same windows reports the same.
    raw = mne.io.read_raw(path, preload=True, verbose="error")
    epochs = mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose="error")
    embedder = EEGDINOEmbedder(checkpoint=str(tiny_checkpoint("eegdino")), on_missing="zero")
    with pytest.warns(UserWarning):
        expected = embedder.fit_transform(epochs)
    np.testing.assert_allclose(result.embeddings, expected, rtol=1e-5, atol=1e-6)
    assert facts["channels_filled"] == embedder.input_report_["channels_filled"]
    with pytest.raises(RecordingError, match="PZ"):
        embed_recording(path, _options(tiny_checkpoint, "eegdino"))
    short = _edf(tmp_path / "short.edf", 2)
    with pytest.raises(RecordingError, match="shorter than one window"):
        embed_recording(short, _options(tiny_checkpoint))


def test_streaming_unit_override(tiny_checkpoint, tmp_path):
    """--unit rescales every chunk as the preloaded path does."""
    raw = _raw(20, names=NAMES[:4])
    raw.apply_function(lambda x: x * 1e6)  # µV numbers stored as volts
    path = tmp_path / "uv_raw.fif"
    raw.save(path, verbose="error")
    result = embed_recording(path, _options(tiny_checkpoint, unit="uV", chunk_windows=2))
    assert result.facts["unit_factors"] == {name: 1e-6 for name in NAMES[:4]}
    assert any("rescaled by 1e-06" in note for note in result.facts["notes"])
    plain = embed_recording(_save(_raw(20, names=NAMES[:4]), tmp_path / "v_raw.fif"),
                            _options(tiny_checkpoint))
    np.testing.assert_allclose(result.embeddings, plain.embeddings, rtol=1e-4, atol=1e-5)


def _save(raw, path):
    raw.save(path, verbose="error")
    return path


# --------------------------------------------------------------------------- one store


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder of two EDF files (one in a sub-folder), a FIF file and a BIDS root."""
    from mne_bids import BIDSPath, write_raw_bids

    root = tmp_path_factory.mktemp("corpus")
    _edf(root / "site" / "a.edf", 30, seed=1)
    _edf(root / "site" / "deep" / "b.edf", 22, seed=2)
    single = root / "single_raw.fif"
    _raw(17, sfreq=256.0, seed=3).save(single, verbose="error")
    bids_root = root / "bids"
    for subject in ("01", "02"):
        raw = _raw(16 + int(subject), seed=int(subject) + 10)
        raw.info["line_freq"] = 50
        raw.info["bads"] = ["O2"] if subject == "02" else []
        bids_path = BIDSPath(subject=subject, task="rest", datatype="eeg", root=bids_root)
        write_raw_bids(raw, bids_path, format="EDF", allow_preload=True, overwrite=True,
                       verbose="error")  # fmt: skip
    return root


def test_files_folder_and_bids_into_one_store(corpus, tiny_checkpoint, tmp_path):
    options = dict(model="eegpt", checkpoint=str(tiny_checkpoint("eegpt")), device="cpu")
    inputs = [corpus / "site", corpus / "single_raw.fif", corpus / "bids"]
    names = [r.name for r in find_recordings(inputs)]
    assert names[:3] == ["a.edf", "deep/b.edf", str(corpus / "single_raw.fif")]
    assert [n.split("/")[-1] for n in names[3:]] == [
        "sub-01_task-rest_eeg.edf", "sub-02_task-rest_eeg.edf"
    ]  # fmt: skip

    store, summary = embed_recordings(
        inputs, tmp_path / "x.zarr", scheduler="synchronous", progress=False, **options
    )
    assert summary.done == names and not summary.failed and not summary.skipped
    assert list(summary.adapted) == [names[4]] and list(summary.adapted[names[4]]["dropped"]) == [
        "O2"
    ]  # fmt: skip
    assert "channels dropped in 1 and made up in 0 recording(s)" in str(summary)
    index = windows_index(store)
    assert list(index["row"]) == list(range(len(index))) == list(range(store["embeddings"].shape[0]))
    assert index.groupby("recording", sort=False).size().to_dict() == {
        names[0]: 7, names[1]: 5, names[2]: 4, names[3]: 4, names[4]: 4
    }  # fmt: skip
    assert store.attrs["model"]["name"] == "eegpt" and store.attrs["options"]["window"] == 4.0
    assert store.attrs["checkpoint"] == store.attrs["checkpoint_loaded"] == str(
        Path(options["checkpoint"]).resolve()
    )
    assert store["recording"][:].tolist() == index["recording"].map(
        {n: i for i, n in enumerate(names)}
    ).tolist()
    # Each recording's rows are its embed_recording result.
    for name, path in [(names[1], corpus / "site" / "deep" / "b.edf"),
                       (names[2], corpus / "single_raw.fif")]:  # fmt: skip
        rows, attrs = _rows(store, name)
        alone = embed_recording(path, EmbedOptions(**options))
        np.testing.assert_array_equal(rows, alone.embeddings)
        assert attrs["n_windows"] == len(alone.embeddings)
    # The BIDS sidecar's bad channel is applied and reported.
    _, attrs = _rows(store, names[4])
    assert "bad" in attrs["channels_dropped"]["O2"] and "O2" not in attrs["channels_used"]


def test_resume_skips_complete_recordings(corpus, tiny_checkpoint, tmp_path, monkeypatch):
    from skeegfm.jobs import corpus as corpus_job

    ckpt = str(tiny_checkpoint("eegpt"))
    kwargs = dict(model="eegpt", checkpoint=ckpt, device="cpu", scheduler="synchronous",
                  progress=False)  # fmt: skip
    folder = corpus / "site"
    clean, _ = embed_recordings([folder, corpus / "single_raw.fif"], tmp_path / "clean.zarr",
                                **kwargs)  # fmt: skip

    # A crash after a recording's rows are written but before it is marked.
    out = tmp_path / "crash.zarr"
    real_mark = corpus_job._Writer._mark

    def crash_on_b(self, recording, attrs):
        if recording.name == "deep/b.edf" and attrs["status"] == "complete":
            raise KeyboardInterrupt
        return real_mark(self, recording, attrs)

    monkeypatch.setattr(corpus_job._Writer, "_mark", crash_on_b)
    with pytest.raises(KeyboardInterrupt):
        embed_recordings([folder, corpus / "single_raw.fif"], out, **kwargs)
    monkeypatch.setattr(corpus_job._Writer, "_mark", real_mark)
    half = open_store(out)
    assert half["embeddings"].shape[0] == 12  # b's rows are there, but not trusted:
    assert set(windows_index(half)["recording"]) == {"a.edf"}

    store, summary = embed_recordings([folder, corpus / "single_raw.fif"], out, **kwargs)
    assert summary.skipped == ["a.edf"]
    assert summary.done == ["deep/b.edf", str(corpus / "single_raw.fif")]
    for name in ["a.edf", "deep/b.edf", str(corpus / "single_raw.fif")]:
        np.testing.assert_array_equal(_rows(store, name)[0], _rows(clean, name)[0])
    _, again = embed_recordings([folder, corpus / "single_raw.fif"], out, **kwargs)
    assert not again.done and len(again.skipped) == 3

    # One job per store at a time.
    import socket

    lock = Path(str(out) + ".lock")
    lock.write_text(f"{socket.gethostname()} {os.getpid()}")
    with pytest.raises(ValueError, match="being written by another skeegfm embed"):
        embed_recordings([folder], out, **kwargs)
    lock.unlink()
    # Other options into the same store: refused, the store is left as it was.
    with pytest.raises(ValueError, match="other options"):
        embed_recordings([folder], out, **{**kwargs, "window": 2.0})
    _, fresh = embed_recordings([folder], out, **{**kwargs, "window": 2.0}, overwrite=True)
    assert len(fresh.done) == 2


def test_kill_and_resume(tiny_checkpoint, tmp_path):
    """kill -9 while a long recording is being embedded; the rerun completes the rest."""
    folder = tmp_path / "recs"
    _edf(folder / "1_short.edf", 12, names=NAMES[:4])
    _edf(folder / "2_long.edf", 7200, sfreq=128.0, names=NAMES[:2])
    _edf(folder / "3_short.edf", 12, names=NAMES[:4], seed=4)
    out = tmp_path / "killed.zarr"
    ckpt = str(tiny_checkpoint("eegpt"))
    argv = ["embed", str(folder), "--model", "eegpt", "--checkpoint", ckpt, "-o", str(out),
            "--scheduler", "synchronous", "--device", "cpu", "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "skeegfm", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        marked = False
        while time.monotonic() < deadline and proc.poll() is None:
            groups = list((out / "recordings").glob("1_short*/zarr.json"))
            if groups and '"complete"' in groups[0].read_text():
                marked = True
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert marked and proc.returncode == -signal.SIGKILL
    assert Path(str(out) + ".lock").exists()  # left by the killed job, taken over below
    assert set(windows_index(open_store(out))["recording"]) == {"1_short.edf"}

    assert main(argv) == 0
    store = open_store(out)
    clean_out = tmp_path / "clean.zarr"
    assert main([*argv[:7], str(clean_out), *argv[8:]]) == 0
    clean = open_store(clean_out)
    for name in ["1_short.edf", "2_long.edf", "3_short.edf"]:
        np.testing.assert_array_equal(_rows(store, name)[0], _rows(clean, name)[0])
    assert len(windows_index(store)) == len(windows_index(clean)) == 3 + 1800 + 3


def test_bad_file_does_not_stop_the_corpus(corpus, tiny_checkpoint, tmp_path, capsys):
    folder = tmp_path / "mixed"
    _edf(folder / "good1.edf", 10, seed=5)
    (folder / "broken.edf").write_bytes(b"not an EDF file at all")
    _edf(folder / "good2.edf", 10, seed=6)
    _edf(folder / "short.edf", 2, seed=7)
    out = tmp_path / "mixed.zarr"
    argv = ["embed", str(folder), "--model", "eegpt", "--checkpoint",
            str(tiny_checkpoint("eegpt")), "-o", str(out), "--scheduler", "synchronous", "-q",
            "--store-dtype", "float16"]  # fmt: skip
    assert main(argv) == 3  # some recordings failed
    captured = capsys.readouterr()
    assert "2 recording(s) embedded, 0 already complete (skipped), 2 failed" in captured.out
    assert "broken.edf: RecordingError" in captured.out and "MNE cannot read" in captured.out
    assert "short.edf" in captured.out and "shorter than one window" in captured.out
    store = open_store(out)
    status = {g.attrs["name"]: g.attrs["status"] for _, g in store["recordings"].groups()}
    assert status == {"broken.edf": "failed", "good1.edf": "complete",
                      "good2.edf": "complete", "short.edf": "failed"}  # fmt: skip
    failed = [g.attrs for _, g in store["recordings"].groups() if g.attrs["status"] == "failed"]
    assert all(a["error"] for a in failed)
    assert store["embeddings"].dtype == np.float16 and store["embeddings"].shape[0] == 4
    # A rerun skips the good ones and tries the failed ones again.
    assert main(argv) == 3
    assert "0 recording(s) embedded, 2 already complete (skipped), 2 failed" in (
        capsys.readouterr().out
    )


def test_local_cluster_with_two_workers(corpus, tiny_checkpoint, tmp_path):
    """Two worker processes, and two threads, give what the in-process loop gives."""
    pytest.importorskip("distributed")
    kwargs = dict(model="eegpt", checkpoint=str(tiny_checkpoint("eegpt")), device="cpu",
                  progress=False)  # fmt: skip
    inputs = [corpus / "site", corpus / "single_raw.fif"]
    local, _ = embed_recordings(inputs, tmp_path / "local.zarr", scheduler="synchronous",
                                **kwargs)  # fmt: skip
    dist, summary = embed_recordings(inputs, tmp_path / "dist.zarr", scheduler="processes",
                                     n_workers=2, **kwargs)  # fmt: skip
    assert sorted(summary.done) == sorted(["a.edf", "deep/b.edf", str(corpus / "single_raw.fif")])
    for name in summary.done:
        np.testing.assert_allclose(_rows(dist, name)[0], _rows(local, name)[0], rtol=1e-5,
                                   atol=1e-6)  # fmt: skip
    threads, summary = embed_recordings(inputs, tmp_path / "threads.zarr", scheduler="threads",
                                        n_workers=2, **kwargs)  # fmt: skip
    for name in summary.done:
        np.testing.assert_allclose(_rows(threads, name)[0], _rows(local, name)[0], rtol=1e-5,
                                   atol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match="scheduler must be one of"):
        embed_recordings(inputs, tmp_path / "bad.zarr", scheduler="gpu", **kwargs)


def _malloc_trim_threshold():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_cluster_workers_keep_glibc_trim_threshold(monkeypatch):
    """Dask's nanny would start workers with MALLOC_TRIM_THRESHOLD_=65536, which
    slowed every window by ~40 %: our local cluster leaves it unset."""
    pytest.importorskip("distributed")
    import dask

    from skeegfm.jobs.corpus import _client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    default = dask.config.get("distributed.nanny.pre-spawn-environ").get("MALLOC_TRIM_THRESHOLD_")
    with _client("processes", 1) as client:
        seen = client.run(_malloc_trim_threshold)
    assert list(seen.values()) == [None]
    # the setting is restored after the cluster started
    assert dask.config.get("distributed.nanny.pre-spawn-environ").get(
        "MALLOC_TRIM_THRESHOLD_"
    ) == default


# --------------------------------------------------------------------------- model selection


def test_grid_search_on_a_dask_cluster(tiny_checkpoint, tmp_path):
    """GridSearchCV under joblib's Dask backend: the best parameters of a sequential
    search, one shared embedding cache, each worker's warnings shown once."""
    import uuid
    import warnings

    import joblib
    from distributed import Client, LocalCluster
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skeegfm.jobs.cluster import WorkerWarnings

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 12)
    t = np.arange(800) / 200.0
    X = rng.standard_normal((24, 19, 800)) * 1e-5
    X[y == 1] += 2e-5 * np.sin(2 * np.pi * 10 * t)  # class 1: alpha
    memory = tmp_path / "cache"
    pipe = make_pipeline(
        EEGDINOEmbedder(checkpoint=str(tiny_checkpoint("eegdino")), sfreq=200.0, ch_names=NAMES,
                        memory=str(memory), device="cpu"),
        StandardScaler(),
        LogisticRegression(max_iter=200),
    )  # fmt: skip
    grid = {"logisticregression__C": [1e-3, 1e-1, 10.0]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        with warnings.catch_warnings():
            client.register_plugin(WorkerWarnings("once"))
            with joblib.parallel_config(backend="dask"):
                distributed_search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
            message = f"skeegfm test {uuid.uuid4().hex}: the same warning"

            def first_filter():
                action, _, category, _, _ = warnings.filters[0]
                return action, category.__name__

            def noisy():
                with warnings.catch_warnings(record=True) as got:
                    for _ in range(20):
                        warnings.warn(message, UserWarning, stacklevel=1)
                return sum(message in str(w.message) for w in got)

            installed = client.run(first_filter)
            n_shown = client.submit(noisy, pure=False).result()
    # Both workers fed one cache: one file per distinct epoch.
    assert len(list(memory.rglob("*.npy"))) == len(X)
    sequential = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
    assert distributed_search.best_params_ == sequential.best_params_
    np.testing.assert_allclose(
        distributed_search.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    # Every worker has the plugin's filter first; a task's 20 identical warnings
    # are shown at most once. (Not "exactly once": catch_warnings is not
    # thread-safe, and the cluster's own threads may swap the recorder while
    # the task runs.)
    assert set(installed.values()) == {("once", "Warning")}
    assert n_shown <= 1


def test_repeated_notices_are_said_once(tiny_checkpoint, tmp_path, capsys):
    folder = tmp_path / "ecg"
    for i in range(3):
        _edf(folder / f"r{i}.edf", 8, names=NAMES[5:9] + ["ECG"], seed=i)
    store, summary = embed_recordings([folder], tmp_path / "n.zarr", model="eegpt",
                                      checkpoint=str(tiny_checkpoint("eegpt")), device="cpu",
                                      scheduler="synchronous", progress=False)  # fmt: skip
    err = capsys.readouterr().err
    attrs = [_rows(store, name)[1] for name in summary.done]
    assert len(summary.done) == 3 and all(list(a["channels_dropped"]) == ["ECG"] for a in attrs)
    (note,) = attrs[0]["notes"]
    assert "ECG" in note and err.count(note) == 1


def test_store_with_a_foreign_codec_is_refused(tmp_path):
    """A store is a file handed to us: arrays whose codecs are not the ones
    ``embed`` writes (a pickle codec would run code on read) are not decoded."""
    import warnings

    import zarr

    from skeegfm.jobs.corpus import open_store

    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="w")
    group.attrs["skeegfm_store_format"] = 1
    group.create_array("fine", shape=(2,), dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from zarr.codecs.numcodecs import Delta

        group.create_array("odd", shape=(2,), dtype="float32", filters=[Delta(dtype="float32")])
    with pytest.raises(ValueError, match=r"odd: codec\(s\) \['numcodecs.delta'\] .* can run code"):
        open_store(tmp_path / "s.zarr")
    del group["odd"]
    assert "fine" in open_store(tmp_path / "s.zarr")
