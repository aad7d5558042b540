"""CBraMod: parity with the golden fixtures, key layout, the inference fusions,
Hub round trips, the authors' checkpoint, shape inference, head handling and
errors."""

from __future__ import annotations

import json
import re

import pytest
import torch
from _reference_cases import check_reference_case, reference_cases
from _weights import fill_state_dict, load_case, load_manifest

from skeegfm._registry import load_pretrained
from skeegfm.models import CBraMod, convert_cbramod_checkpoint
from skeegfm.models._fast import PackedLinear, autocast_context, optimize_for_inference
from skeegfm.models.cbramod import LORA_TARGET_MODULES, _infer_cbramod, _looks_like_original

MANIFEST = load_manifest()
CASES = sorted(name for name, entry in MANIFEST.items() if entry["model"] == "CBraMod")
OUTPUTS = ("logits", "encoder_output", "features.features")
RTOL = ATOL = 1e-4
# small width for behavioural tests: d_model = 4 conv channels x 8 = 32
CONV = ((4, 49, 25, 24, (2, 4)), (4, 3, 1, 1, (2, 4)), (4, 3, 1, 1, (2, 4)))
TINY = dict(
    n_outputs=3,
    n_chans=5,
    n_times=600,
    n_layer=2,
    nhead=4,
    dim_feedforward=24,
    emb_dim=12,
    channels_kernel_stride_padding_norm=CONV,
)


def _tiny(seed=0, **overrides):
    torch.manual_seed(seed)
    model = CBraMod(**{**TINY, **overrides})
    with torch.no_grad():  # non-zero, distinct values everywhere (some biases start at 0)
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return model.eval()


def _encoder_state(model):
    return {k: v for k, v in model.state_dict().items() if not k.startswith("final_layer.")}


@pytest.fixture(scope="module")
def case_outputs():
    """Our outputs of every case with the fixture weights, eager and fused."""
    out = {}
    for case in CASES:
        kwargs = MANIFEST[case]["kwargs"]
        model = CBraMod(**kwargs).eval()
        model.load_state_dict(fill_state_dict(model), strict=True)
        encoder = CBraMod(**kwargs, return_encoder_output=True).eval()
        encoder.load_state_dict(_encoder_state(model), strict=True)
        x = load_case(case)["input"]
        with torch.inference_mode():
            for name, module in (("eager", model), ("fused", optimize_for_inference(model))):
                enc = encoder if name == "eager" else optimize_for_inference(encoder)
                features = module(x, return_features=True)
                out[case, name] = {
                    "logits": module(x),
                    "encoder_output": enc(x),
                    "features.features": features["features"],
                    "cls_token": features["cls_token"],
                }
    return out


# ----------------------------------------------------------------------------- fixtures
@pytest.mark.parametrize("case", CASES)
def test_state_dict_keys_shapes_and_order_match_manifest(case):
    model = CBraMod(**MANIFEST[case]["kwargs"])
    got = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in model.state_dict().items()]
    expected = [(k, list(shape), dtype) for k, shape, dtype, _ in MANIFEST[case]["state_dict"]]
    assert got == expected
    params = {k for k, _ in model.named_parameters()}
    assert params == {k for k, _, _, kind in MANIFEST[case]["state_dict"] if kind == "param"}
    assert not model.patch_embedding.mask_encoding.requires_grad  # frozen, as the reference
    encoder = CBraMod(**MANIFEST[case]["kwargs"], return_encoder_output=True)
    missing = set(model.state_dict()) - set(encoder.state_dict())
    assert missing == {"final_layer.1.weight", "final_layer.1.bias"}
    assert MANIFEST[case]["encoder_missing_keys"] == []


@pytest.mark.parametrize("path", ["eager", "fused"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("case", CASES)
def test_parity_with_fixtures(case, output, path, case_outputs):
    expected = load_case(case)[output]
    got = case_outputs[case, path][output]
    assert got.shape == expected.shape == torch.Size(MANIFEST[case]["outputs"][output])
    torch.testing.assert_close(got, expected, rtol=RTOL, atol=ATOL)
    assert case_outputs[case, path]["cls_token"] is None


def test_default_parameter_count():
    # ~4.95 M at 19 channels x 4 s with 2 outputs; 4,924,000 without the head
    model = CBraMod(n_outputs=2, n_chans=19, n_times=800)
    assert sum(p.numel() for p in model.parameters()) == 4_954_402
    assert sum(p.numel() for p in CBraMod(return_encoder_output=True).parameters()) == 4_924_000


# ----------------------------------------------------------------------------- fast path
def test_fused_copy_keeps_parameters_and_state_dict():
    model = _tiny()
    fast = optimize_for_inference(model)
    assert list(fast.state_dict()) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(fast.state_dict()[key], value)
    layer = fast.encoder.layers[0]
    assert type(layer).__name__ == "_FusedCrissCrossLayer"
    assert isinstance(layer.linear1, PackedLinear) and layer.linear1.fused_activation == "gelu"
    assert type(model.encoder.layers[0]).__name__ == "_CrissCrossLayer"  # original untouched
    x = torch.randn(3, 5, 600)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), model(x), rtol=1e-5, atol=1e-5)
        # a second optimisation of the fused copy changes nothing
        again = optimize_for_inference(fast)
        torch.testing.assert_close(again(x), model(x), rtol=1e-5, atol=1e-5)
    # long inputs run the fused feed-forward layers in chunks of tokens
    long = torch.randn(2, 5, 600 * 300)  # 2 x 5 x 900 = 9000 tokens > 4096
    with torch.inference_mode():
        torch.testing.assert_close(
            fast(long, return_features=True)["features"],
            model(long, return_features=True)["features"],
            rtol=1e-5,
            atol=1e-5,
        )
    # in train mode the fused layers fall back to the reference computation
    fast.train()
    torch.manual_seed(1)
    a = fast.encoder.layers[0](torch.randn(2, 5, 3, 32))
    assert a.shape == (2, 5, 3, 32)


def test_bfloat16_autocast_is_close_to_float32(case_outputs):
    case = "cbramod_tiny_odd_8x600"
    model = CBraMod(**MANIFEST[case]["kwargs"]).eval()
    model.load_state_dict(fill_state_dict(model))
    fast = optimize_for_inference(model)
    x = load_case(case)["input"]
    with torch.inference_mode(), autocast_context("cpu", "bfloat16"):
        feats = fast(x, return_features=True)["features"].float()
    ref = case_outputs[case, "eager"]["features.features"]
    cosine = torch.nn.functional.cosine_similarity(feats.flatten(), ref.flatten(), dim=0)
    assert cosine > 0.999


# ----------------------------------------------------------------------------- forward
def test_encoder_takes_any_channel_count_and_whole_seconds():
    encoder = _tiny(return_encoder_output=True)
    with torch.inference_mode():
        for n_chans, n_times in ((1, 200), (5, 600), (22, 1000)):
            out = encoder(torch.randn(2, n_chans, n_times))
            assert out.shape == (2, n_chans, n_times // 200, 12)


def test_forward_shapes_and_no_input_modification():
    model = _tiny()
    x = torch.randn(2, 5, 600)
    before = x.clone()
    with torch.inference_mode():
        assert model(x).shape == (2, 3)
        out = model(x, return_features=True)
    assert out["features"].shape == (2, 5, 3, 12) and out["cls_token"] is None
    assert torch.equal(x, before)


def test_mask_replaces_patches_by_the_mask_encoding():
    model = _tiny()
    x = torch.randn(2, 5, 600)
    mask = torch.zeros(2, 5, 3, dtype=torch.long)
    mask[0, 1, 2] = mask[1, 4, 0] = 1
    assert not CBraMod(**TINY).patch_embedding.mask_encoding.any()  # zeros at construction
    fill = model.patch_embedding.mask_encoding.detach()  # (perturbed by _tiny)
    replaced = x.clone()
    replaced[0, 1, 400:600] = fill
    replaced[1, 4, 0:200] = fill
    with torch.inference_mode():
        torch.testing.assert_close(model(x, mask=mask), model(replaced), rtol=0, atol=0)
        with pytest.raises(ValueError, match="mask must have shape"):
            model(x, mask=mask[:, :, :2])


def test_training_mode_backward_and_dropout():
    model = _tiny(drop_prob=0.5).train()
    x = torch.randn(4, 5, 600)
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    b = model(x)
    assert not torch.allclose(a, b)  # dropout is active in training
    a.sum().backward()
    grads = {k: p.grad for k, p in model.named_parameters() if p.requires_grad}
    assert all(g is not None for g in grads.values())
    assert model.patch_embedding.mask_encoding.grad is None


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m: m(torch.randn(2, 5, 650)), ValueError, "multiple of patch_size"),
        (lambda m: m(torch.randn(2, 5, 100)), ValueError, "multiple of patch_size"),
        (lambda m: m(torch.randn(5, 600)), ValueError, "got a 2-D tensor"),
        (lambda m: m(torch.zeros(2, 5, 600, dtype=torch.long)), TypeError, "floating-point"),
        (lambda m: m([[0.0]]), TypeError, "torch.Tensor"),
        (lambda m: m(torch.randn(2, 4, 600)), ValueError, "head was built for 5 channels x 3"),
        (lambda m: m(torch.randn(2, 5, 800)), ValueError, "head was built for 5 channels x 3"),
    ],
)
def test_forward_errors(call, error, match):
    model = _tiny()
    with pytest.raises(error, match=match):
        call(model)
    # features do not depend on the head's geometry
    assert model(torch.randn(1, 4, 800), return_features=True)["features"].shape == (1, 4, 4, 12)


# ----------------------------------------------------------------------------- construction
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(patch_size=100), "patch_size=200"),
        (dict(patch_size=202), "101 rfft bins"),
        (dict(patch_size=201), "not a positive multiple of patch_size=201"),
        (dict(n_times=650), "not a positive multiple"),
        (dict(n_times=100), "not a positive multiple"),
        (dict(nhead=6), "nhead=6 does not fit"),  # 3 heads do not divide 16
        (dict(nhead=1), "nhead must be an integer >= 2"),
        (dict(n_times=None), "needs n_times"),
        (dict(n_chans=None), "needs n_chans"),
        (dict(n_outputs=None), "needs n_outputs"),
        (dict(drop_prob=1.0), "drop_prob"),
        (dict(emb_dim=0), "emb_dim must be"),
        (dict(channels_kernel_stride_padding_norm=((4, 49, 25, 24, (3, 4)),)), "GroupNorm"),
        (dict(chs_info=[{"ch_name": "C3"}]), "chs_info describes 1 channels"),
        (dict(input_window_seconds=2.0, sfreq=200), "disagrees"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CBraMod(**{**TINY, **kwargs})


def test_constructor_signal_params_and_sfreq_warning():
    model = CBraMod(n_outputs=2, chs_info=[{"ch_name": f"E{i}"} for i in range(4)], input_window_seconds=2, sfreq=200)
    assert (model.n_chans, model.n_times, model.d_model, model.emb_dim) == (4, 400, 200, 200)
    with pytest.warns(UserWarning, match="pretrained at 200 Hz"):
        CBraMod(return_encoder_output=True, sfreq=250)
    encoder = CBraMod(return_encoder_output=True)  # the encoder needs no signal parameters
    assert isinstance(encoder.final_layer, torch.nn.Identity)


def test_reset_head():
    model = _tiny()
    model.reset_head(7)
    assert model(torch.randn(2, 5, 600)).shape == (2, 7)
    encoder = _tiny(return_encoder_output=True)
    encoder.reset_head(2)
    assert encoder.return_encoder_output is False and encoder.n_outputs == 2
    assert encoder._hub_config["n_outputs"] == 2 and encoder._hub_config["return_encoder_output"] is False
    assert encoder(torch.randn(1, 5, 600)).shape == (1, 2)
    with pytest.raises(ValueError, match="positive integer"):
        model.reset_head(0)
    with pytest.raises(ValueError, match="needs n_chans, n_times"):
        CBraMod(return_encoder_output=True).reset_head(2)


def test_lora_target_names_the_block_linears():
    names = [n for n, m in _tiny().named_modules() if isinstance(m, torch.nn.Linear)]
    targeted = [n for n in names if re.fullmatch(LORA_TARGET_MODULES, n)]
    assert len(targeted) == 2 * 4  # 2 layers x (2 out_proj + linear1 + linear2)
    assert not any(n.startswith(("patch_embedding.", "proj_out.", "final_layer.")) for n in targeted)


# ----------------------------------------------------------------------------- Hub
def test_save_and_from_pretrained_round_trip(tmp_path):
    model = _tiny()
    model.save_pretrained(tmp_path / "repo")
    config = json.loads((tmp_path / "repo" / "config.json").read_text())
    assert config["skeegfm_class"] == "CBraMod" and config["emb_dim"] == 12
    loaded = CBraMod.from_pretrained(tmp_path / "repo")
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    x = torch.randn(2, 5, 600)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert isinstance(load_pretrained(tmp_path / "repo"), CBraMod)
    # another n_outputs rebuilds the head; the encoder is kept
    other = CBraMod.from_pretrained(tmp_path / "repo", n_outputs=4)
    assert other.n_outputs == 4 and other(x).shape == (2, 4)
    assert all(torch.equal(other.state_dict()[k], v) for k, v in _encoder_state(model).items())
    # encoder only, for other channels and lengths
    encoder = CBraMod.from_pretrained(tmp_path / "repo", return_encoder_output=True, n_chans=8, n_times=1000)
    assert encoder(torch.randn(1, 8, 1000)).shape == (1, 8, 5, 12)


def test_reads_a_reference_config_json(tmp_path):
    """A repository written by the reference: its config.json keys (classes
    as dotted paths, tuples as lists, braindecode_version) and safetensors."""
    from safetensors.torch import save_file

    model = _tiny()
    config = {
        "n_outputs": 3, "n_chans": 5, "chs_info": None, "n_times": 600,
        "input_window_seconds": None, "sfreq": None, "patch_size": 200,
        "dim_feedforward": 24, "n_layer": 2, "nhead": 4,
        "activation": "torch.nn.modules.activation.GELU", "emb_dim": 12,
        "channels_kernel_stride_padding_norm": [[4, 49, 25, 24, [2, 4]], [4, 3, 1, 1, [2, 4]], [4, 3, 1, 1, [2, 4]]],
        "drop_prob": 0.1, "return_encoder_output": False, "braindecode_version": "1.8.1",
    }  # fmt: skip
    repo = tmp_path / "bd"
    repo.mkdir()
    (repo / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(repo / "model.safetensors"))
    loaded = load_pretrained(repo)
    assert isinstance(loaded, CBraMod)
    x = torch.randn(2, 5, 600)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


# ----------------------------------------------------------------------------- authors' checkpoint
def test_authors_checkpoint_converts_and_loads(tmp_path):
    model = _tiny()
    original = _encoder_state(model)  # the authors' file: same names, no head
    path = tmp_path / "pretrained_weights.pth"
    torch.save(original, path)
    assert _looks_like_original(original)
    converted = convert_cbramod_checkpoint(path)
    assert list(converted) == list(original)
    assert all(torch.equal(converted[k], v) for k, v in original.items())
    # DataParallel prefix, wrapped in {"state_dict": ...}, with extra entries
    wrapped = {"state_dict": {"module." + k: v for k, v in original.items()}, "epoch": 3}
    assert _looks_like_original(wrapped)
    assert list(convert_cbramod_checkpoint(wrapped)) == list(original)
    # the widths of the tiny model are not the reference's: the file needs them passed
    with pytest.raises(ValueError, match="differ from CBraMod's"):
        CBraMod.from_pretrained(path)


def test_authors_checkpoint_of_the_released_architecture_loads_without_config(tmp_path):
    torch.manual_seed(0)
    ref = CBraMod(return_encoder_output=True, n_layer=2, dim_feedforward=32, emb_dim=8)
    path = tmp_path / "pretrained_weights.pth"
    torch.save(ref.state_dict(), path)
    model = CBraMod.from_pretrained(path)
    assert model.pretrained_source_["format"] == "original"
    assert (model.n_chans, model.n_times, model.return_encoder_output) == (19, 6000, True)
    x = torch.randn(1, 19, 400)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), ref.eval()(x), rtol=0, atol=0)
    assert isinstance(load_pretrained(path), CBraMod)
    clf = CBraMod.from_pretrained(path, n_outputs=3, n_chans=4, n_times=400)
    assert clf(torch.randn(2, 4, 400)).shape == (2, 3)
    # a bare state_dict in our names, head included, is recognised too
    full = tmp_path / "model.pt"
    torch.save(clf.state_dict(), full)
    assert not _looks_like_original(clf.state_dict())
    assert isinstance(load_pretrained(full, n_chans=4, n_times=400, n_outputs=3), CBraMod)


def test_converter_and_inference_errors():
    with pytest.raises(ValueError, match="No CBraMod encoder weights"):
        convert_cbramod_checkpoint({"global_tokens": torch.zeros(1, 1, 4)})
    with pytest.raises(TypeError, match="checkpoint dict"):
        convert_cbramod_checkpoint([1, 2])
    with pytest.raises(FileNotFoundError):
        convert_cbramod_checkpoint("/nonexistent/pretrained_weights.pth")
    assert not _looks_like_original({"patch_embedding.proj_in.0.weight": torch.zeros(1)})
    assert not _looks_like_original("not a dict")
    sd = CBraMod(return_encoder_output=True, n_layer=3, dim_feedforward=40, emb_dim=16).state_dict()
    inferred = _infer_cbramod(sd)
    assert (inferred["n_layer"], inferred["dim_feedforward"], inferred["emb_dim"]) == (3, 40, 16)
    assert CBraMod._config_from_state_dict(sd) == inferred
    del sd["proj_out.0.weight"]
    with pytest.raises(ValueError, match="proj_out.0.weight"):
        _infer_cbramod(sd)


class _Opaque:
    """A Python object a weights-only torch.load refuses."""


def test_untrusted_pickle_is_refused_unless_trusted(tmp_path):
    from skeegfm.models import UntrustedCheckpointError

    original = _encoder_state(_tiny())
    path = tmp_path / "pretrained_weights.pth"
    torch.save({"state_dict": original, "args": _Opaque()}, path)
    with pytest.raises(UntrustedCheckpointError):
        convert_cbramod_checkpoint(path)
    with pytest.warns(UserWarning):
        converted = convert_cbramod_checkpoint(path, trust_checkpoint=True)
    assert list(converted) == list(original)


# ----------------------------------------------------------------------------- reference cases
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", reference_cases("CBraMod"))
def test_reference_case(case):
    """A configuration the reference accepts and runs (found by a differential
    fuzz against it): its state_dict loads strictly and gives its outputs."""
    check_reference_case(CBraMod, case)


def test_odd_nhead_gives_each_direction_nhead_floor_half_heads_like_the_reference():
    with pytest.warns(UserWarning, match="nhead=5 is odd"):
        odd = _tiny(nhead=5)
    even = _tiny(nhead=4)
    even.load_state_dict(odd.state_dict(), strict=True)
    assert odd.encoder.layers[0].self_attn_s.num_heads == 2
    x = torch.randn(2, 5, 600)
    with torch.no_grad():
        torch.testing.assert_close(odd(x), even(x), rtol=0, atol=0)


def test_patch_size_201_has_the_same_101_spectral_bins():
    model = _tiny(patch_size=201, n_times=603)
    assert model.patch_embedding.spectral_proj[0].in_features == 101
    assert model.patch_embedding.mask_encoding.shape == (201,)
    with torch.no_grad():
        assert model(torch.randn(2, 5, 603)).shape == (2, 3)
        assert model(torch.randn(1, 5, 402), return_features=True)["features"].shape == (1, 5, 2, 12)
