"""EEG-DINO encoder: parity with the golden fixtures, key layout, head, errors,
the original-checkpoint converter and the inference fast path."""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from _reference_cases import check_reference_case, reference_cases
from _weights import FIXTURES, fill_state_dict, load_case, load_manifest

from skeegfm.models import EEGDINO, EEGDINO_CONFIGS, convert_eegdino_checkpoint
from skeegfm.models._fast import PackedLinear, autocast_context, optimize_for_inference
from skeegfm.models.eegdino import _looks_like_original

MANIFEST = load_manifest()
CASES = sorted(k for k, v in MANIFEST.items() if v["model"] == "EEGDINO")
OUTPUTS = ("logits", "encoder_output", "features.features", "features.cls_token")
TINY = dict(n_layer=2, dim_feedforward=64)


def _kwargs(case):
    kwargs = dict(MANIFEST[case]["kwargs"])
    conv = kwargs.get("channels_kernel_stride_padding_norm")
    if conv is not None:  # JSON lists -> the tuples a user would pass
        kwargs["channels_kernel_stride_padding_norm"] = tuple(
            (*c[:4], tuple(c[4])) for c in conv
        )
    return kwargs


def _build(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return EEGDINO(**kwargs).eval()


def _tiny(**kwargs):
    return _build(**{"n_outputs": 3, "n_chans": 19, "n_times": 400, **TINY, **kwargs})


def _read_keys_file(name):
    rows, header = [], ""
    for line in (FIXTURES / "keys" / name).read_text().splitlines():
        if line.startswith("#"):
            header += line
            continue
        key, shape = line.split("\t")[:2]
        rows.append((key, tuple(int(s) for s in re.findall(r"\d+", shape))))
    n_params = int(re.search(r"total parameters[^:]*: (\d+)", header).group(1))
    return rows, n_params


def _compute_case(case):
    kwargs = _kwargs(case)
    model = _build(**kwargs)
    state = fill_state_dict(model)
    model.load_state_dict(state, strict=True)
    encoder = _build(**kwargs, return_encoder_output=True)
    encoder.load_state_dict(
        {k: v for k, v in state.items() if not k.startswith("final_layer.")}, strict=True
    )
    x = load_case(case)["input"]
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        features = model(x, return_features=True)
        return {
            "model": model,
            "logits": model(x),
            "encoder_output": encoder(x),
            "features.features": features["features"],
            "features.cls_token": features["cls_token"],
        }


class _LazyCases(dict):
    def __missing__(self, case):
        self[case] = _compute_case(case)
        return self[case]


@pytest.fixture(scope="module")
def case_outputs():
    """Outputs of our model on the EEG-DINO fixture cases (each computed once)."""
    return _LazyCases()


@pytest.mark.parametrize("case", CASES)
def test_state_dict_matches_manifest(case):
    model = _build(**_kwargs(case))
    got = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in model.state_dict().items()]
    expected = [(k, list(shape), dtype) for k, shape, dtype, _ in MANIFEST[case]["state_dict"]]
    assert got == expected
    params = {k for k, _ in model.named_parameters()}
    assert all((kind == "param") == (k in params) for k, _, _, kind in MANIFEST[case]["state_dict"])


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("case", CASES)
def test_parity_with_fixtures(case, output, case_outputs):
    expected = load_case(case)[output]
    got = case_outputs[case][output]
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size, keys_file", [("small", "keys_eegdino_small.txt"),
                                             ("medium", "keys_eegdino_medium.txt")])
def test_released_layout_loads_strictly(size, keys_file):
    rows, n_params = _read_keys_file(keys_file)
    model = EEGDINO(n_chans=19, n_outputs=2, n_times=1000, **EEGDINO_CONFIGS[size])
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == rows
    assert sum(p.numel() for p in model.parameters()) == n_params
    state = {k: torch.full(shape, 0.5) for k, shape in rows}
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    inferred = EEGDINO._config_from_state_dict(state)
    assert inferred["n_layer"] == EEGDINO_CONFIGS[size]["n_layer"]
    assert inferred["channels_kernel_stride_padding_norm"] == EEGDINO_CONFIGS[size]["channels_kernel_stride_padding_norm"]


def test_large_preset_builds_encoder_only():
    with torch.device("meta"):
        model = EEGDINO(n_chans=19, return_encoder_output=True, **EEGDINO_CONFIGS["large"])
    assert model.emb_dim == 1024
    assert sum(p.numel() for p in model.parameters()) == 201_908_864


def test_init_and_signal_params():
    torch.manual_seed(0)
    model = EEGDINO(n_outputs=2, chs_info=[{"ch_name": f"E{i}"} for i in range(8)],
                    input_window_seconds=4.0, sfreq=200, **TINY)
    assert (model.n_chans, model.n_times, model.sfreq) == (8, 800, 200)
    assert model.input_window_seconds == 4.0
    tokens = model.global_tokens
    assert tokens.shape == (1, 1, 200) and tokens.abs().max() <= 2.0
    assert 0.005 < tokens.std() < 0.05
    attn = model.encoder_layers[0].attn
    assert not attn.q_bias.any() and not attn.v_bias.any()
    assert model._hub_config["n_chans"] is None and model._hub_config["sfreq"] == 200


def test_forward_shapes_and_no_input_modification():
    model = _tiny(n_chans=8, n_times=600)
    x = torch.randn(2, 8, 600)
    x_before = x.clone()
    with torch.inference_mode():
        logits = model(x)
        feats = model(x, return_features=True)
    assert logits.shape == (2, 3)
    assert feats["features"].shape == (2, 8 * 3, 200) and feats["cls_token"].shape == (2, 200)
    torch.testing.assert_close(x, x_before, rtol=0, atol=0)


def test_training_mode_backward():
    model = _tiny().train()
    x = torch.randn(2, 19, 400)
    model(x).sum().backward()
    assert model.global_tokens.grad is not None and model.global_tokens.grad.abs().sum() > 0
    assert model.patch_embedding.proj_in[0].weight.grad.abs().sum() > 0


def test_padding_warns_and_equals_explicit_zero_padding():
    model = _tiny()
    x = torch.randn(2, 19, 450)
    padded = torch.nn.functional.pad(x, (0, 150))
    with torch.inference_mode():
        with pytest.warns(UserWarning, match="zero-padding 150 samples"):
            got = model(x, return_features=True)["features"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            expected = model(padded, return_features=True)["features"]
    assert got.shape == (2, 19 * 3, 200)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_construction_warnings():
    with pytest.warns(UserWarning, match="pretrained at 200 Hz"):
        EEGDINO(n_outputs=2, n_chans=19, n_times=1000, sfreq=250, **TINY)
    with pytest.warns(UserWarning, match="not a multiple of patch_size"):
        EEGDINO(n_outputs=2, n_chans=19, n_times=850, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EEGDINO(n_outputs=2, n_chans=19, n_times=800, sfreq=200, **TINY)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_outputs=2), "n_chans"),
        (dict(n_chans=19), "n_outputs"),
        (dict(n_outputs=2, n_chans=20), "n_channel_embeddings"),
        (dict(n_outputs=2, n_chans=19, global_token_layer=3), "global_token_layer"),
        (dict(n_outputs=2, n_chans=19, n_global_tokens=0), "n_global_tokens"),
        (dict(n_outputs=2, n_chans=4, chs_info=[{"ch_name": "Cz"}]), "chs_info"),
        (dict(n_outputs=2, n_chans=19,
              channels_kernel_stride_padding_norm=((25, 49, 25, 24, (5, 20)),)), "GroupNorm"),
        # the second convolution gets 1 sample and leaves none (the reference
        # fails at the first call)
        (dict(n_outputs=2, n_chans=19, patch_size=50,
              channels_kernel_stride_padding_norm=((8, 49, 3, 0, (1, 8)), (8, 2, 2, 0, (1, 8)))),
         "convolution 1 .* leaves none"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EEGDINO(**{**TINY, **kwargs})


def test_encoder_only_needs_no_n_outputs():
    model = EEGDINO(n_chans=19, return_encoder_output=True, **TINY).eval()
    assert isinstance(model.final_layer, torch.nn.Identity)
    assert not any(k.startswith("final_layer.") for k in model.state_dict())
    with torch.inference_mode():
        assert model(torch.randn(1, 19, 200)).shape == (1, 200)


def test_forward_errors():
    model = _tiny()
    with pytest.raises(ValueError, match="3-D|shape"):
        model(torch.randn(19, 400))
    with pytest.raises(ValueError, match="channels"):
        model(torch.randn(1, 18, 400))
    with pytest.raises(ValueError, match="no time samples"):
        model(torch.randn(1, 19, 0))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model(torch.randn(1, 19, 400).numpy())


def test_reset_head():
    model = _build(n_chans=19, return_encoder_output=True, **TINY)
    encoder_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_head(5)
    assert model.n_outputs == 5 and not model.return_encoder_output
    assert model._hub_config["n_outputs"] == 5
    assert model._hub_config["return_encoder_output"] is False
    state = model.state_dict()
    assert state["final_layer.classifier.6.weight"].shape == (5, 50)
    for key, value in encoder_state.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    model.eval()
    with torch.inference_mode():
        assert model(torch.randn(2, 19, 400)).shape == (2, 5)
    with pytest.raises(ValueError, match="positive integer"):
        model.reset_head(0)


def _synthetic_original(model):
    """An authors'-layout pretraining checkpoint of ``model``'s encoder."""
    encoder = {k: v for k, v in model.state_dict().items() if not k.startswith("final_layer.")}
    original = {}
    for key, value in encoder.items():
        original[f"module.teacher.{key}"] = value.clone()
        original[f"module.student.{key}"] = value.clone() + 1.0
    for i in range(len(model.encoder_layers)):
        for net in ("teacher", "student"):
            original[f"module.{net}.encoder_layers.{i}.attn.relative_position_index"] = (
                torch.zeros(5, 5, dtype=torch.long)
            )
    original["module.mask_projector.weight"] = torch.randn(4, 200)
    original["module.mask_projector.bias"] = torch.randn(4)
    return {"state_dict": original, "epoch": 3}, encoder


def test_convert_original_checkpoint(tmp_path):
    model = _tiny()
    checkpoint, encoder = _synthetic_original(model)
    assert _looks_like_original(checkpoint) and _looks_like_original(checkpoint["state_dict"])
    assert not _looks_like_original(model.state_dict())

    teacher = convert_eegdino_checkpoint(checkpoint)
    assert list(teacher) == list(encoder)
    for key, value in encoder.items():
        torch.testing.assert_close(teacher[key], value, rtol=0, atol=0)
    student = convert_eegdino_checkpoint(checkpoint["state_dict"], source="student")
    torch.testing.assert_close(student["global_tokens"], encoder["global_tokens"] + 1.0)

    path = tmp_path / "model_EEG_DINO_S.pt"
    torch.save(checkpoint, path)
    from_file = convert_eegdino_checkpoint(path)
    assert set(from_file) == set(encoder)

    fresh = _tiny()
    result = fresh.load_state_dict(teacher, strict=False)
    assert not result.unexpected_keys
    assert all(k.startswith("final_layer.") for k in result.missing_keys)
    assert EEGDINO._remap_state_dict(
        {"a.relative_position_index": torch.zeros(1), "global_tokens": torch.zeros(1)}
    ).keys() == {"global_tokens"}


def test_convert_finetuned_checkpoint_and_errors():
    model = _tiny()
    state = model.state_dict()
    finetuned = {f"encoder.{k}": v for k, v in state.items() if not k.startswith("final_layer.")}
    finetuned["full_linear.weight"] = state["final_layer.token_proj.0.weight"]
    finetuned["channel_linear.bias"] = state["final_layer.time_proj.0.bias"]
    finetuned["classifier.6.weight"] = state["final_layer.classifier.6.weight"]
    assert _looks_like_original(finetuned)
    out = convert_eegdino_checkpoint(finetuned, include_head=True)
    assert {"final_layer.token_proj.0.weight", "final_layer.time_proj.0.bias",
            "final_layer.classifier.6.weight", "global_tokens"} <= set(out)
    assert not any(k.startswith("final_layer.") for k in convert_eegdino_checkpoint(finetuned))
    with pytest.raises(ValueError, match="No EEG-DINO encoder weights"):
        convert_eegdino_checkpoint({"state_dict": {"foo.weight": torch.zeros(1)}})
    with pytest.raises(ValueError, match="source"):
        convert_eegdino_checkpoint(finetuned, source="ema")
    with pytest.raises(FileNotFoundError):
        convert_eegdino_checkpoint("/nonexistent/model_EEG_DINO_S.pt")


@pytest.mark.parametrize("min_rows", [None, 0])  # default routing; oneDNN for every call
def test_fast_path_matches_eager(case_outputs, min_rows, monkeypatch):
    if min_rows is not None:
        monkeypatch.setattr(PackedLinear, "min_rows", min_rows)
    model = case_outputs["eegdino_small_19x800"]["model"]
    fast = optimize_for_inference(model)
    assert list(fast.state_dict()) == list(model.state_dict())
    assert type(model.encoder_layers[0].mlp.fc1) is torch.nn.Linear  # original untouched
    if torch.backends.mkldnn.is_available():
        assert isinstance(fast.encoder_layers[0].mlp.fc1, PackedLinear)
    x = load_case("eegdino_small_19x800")["input"]
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), case_outputs["eegdino_small_19x800"]["logits"],
                                   rtol=1e-4, atol=1e-4)
        features = fast(x, return_features=True)["features"]
        with autocast_context("cpu", "bfloat16"):
            bf16 = fast(x, return_features=True)["features"].float()
    torch.testing.assert_close(features, case_outputs["eegdino_small_19x800"]["features.features"],
                               rtol=1e-4, atol=1e-4)
    cosine = torch.nn.functional.cosine_similarity(bf16.flatten(1), features.flatten(1))
    assert cosine.min() > 0.99


def test_packed_linear_small_float32_matmul_uses_f_linear(monkeypatch):
    """Few rows on a small weight go through F.linear; both routes agree."""
    linear = torch.nn.Linear(16, 24)
    packed = PackedLinear(linear, fused_activation="gelu")
    x = torch.randn(5, 16)
    calls = []
    real_linear = torch.nn.functional.linear
    monkeypatch.setattr(torch.nn.functional, "linear",
                        lambda *a: calls.append(1) or real_linear(*a))
    expected = torch.nn.functional.gelu(real_linear(x, linear.weight, linear.bias))
    with torch.inference_mode():
        small = packed(x)
        assert calls  # F.linear route
        calls.clear()
        monkeypatch.setattr(PackedLinear, "min_rows", 0)
        large = packed(x)
    torch.testing.assert_close(small, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(large, expected, rtol=1e-5, atol=1e-5)
    if torch.backends.mkldnn.is_available():
        assert not calls  # oneDNN route
        assert packed._packed  # weights were packed


def test_autocast_context_validation():
    assert autocast_context("cpu", "float32").__class__.__name__ == "nullcontext"
    with pytest.raises(ValueError, match="precision"):
        autocast_context("cpu", "int8")
    with pytest.raises(ValueError, match="bfloat16"):
        autocast_context("cpu", "float16")


def test_fast_path_falls_back_without_mkldnn(monkeypatch):
    import skeegfm.models._fast as fast_module

    model = _tiny()
    x = torch.randn(2, 19, 400)
    with torch.inference_mode():
        expected = model(x)
    packed = optimize_for_inference(model)  # built while oneDNN is usable
    monkeypatch.setattr(fast_module, "_MKLDNN", False)
    plain = optimize_for_inference(model)
    assert type(plain.encoder_layers[0].mlp.fc1) is torch.nn.Linear
    with torch.inference_mode():
        torch.testing.assert_close(plain(x), expected, rtol=1e-5, atol=1e-5)
        # Already converted layers take the F.linear path when oneDNN is off.
        torch.testing.assert_close(packed(x), expected, rtol=1e-5, atol=1e-5)
    # With gradients (weights trainable again) PackedLinear falls back too.
    packed.requires_grad_(True)
    packed.train()
    packed(x).sum().backward()
    assert packed.encoder_layers[0].mlp.fc1.weight.grad is not None


def test_from_pretrained_reads_original_checkpoint(tmp_path):
    # The Hub loader infers the preset from the shapes: use the real small one.
    source = _build(n_chans=19, n_outputs=2, n_times=1000, **EEGDINO_CONFIGS["small"])
    checkpoint, encoder = _synthetic_original(source)
    path = tmp_path / "model_EEG_DINO_S.pt"
    torch.save(checkpoint, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = EEGDINO.from_pretrained(path, n_chans=19, n_outputs=4)
    assert model.pretrained_source_["n_tensors"] == len(encoder)
    state = model.state_dict()
    for key, value in encoder.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    assert model.n_outputs == 4 and state["final_layer.classifier.6.weight"].shape[0] == 4


# ----------------------------------------------------------------------------- reference cases
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", reference_cases("EEGDINO"))
def test_reference_case(case):
    """A configuration the reference accepts and runs (found by a differential
    fuzz against it): its state_dict loads strictly and gives its outputs."""
    check_reference_case(EEGDINO, case)


def test_window_shorter_than_one_patch_is_zero_padded_like_the_reference():
    with pytest.warns(UserWarning, match="not a multiple of patch_size"):
        model = EEGDINO(n_outputs=2, n_chans=19, n_times=150, **TINY).eval()
    x = torch.randn(1, 19, 150)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.equal(model(x), model(torch.nn.functional.pad(x, (0, 50))))
