"""EEGPT: parity with the golden fixtures, released key layout, channel lookup
by name, patching rules, head and checkpoint conversion."""

import argparse
import math
import warnings

import pytest
import torch
from _reference_cases import check_reference_case, reference_cases
from _weights import FIXTURES, fill_state_dict, load_case, load_manifest

from skeegfm._channels import EEGPT_CHANNELS, STANDARD_19_CHANNELS
from skeegfm.models import EEGPT, convert_eegpt_checkpoint
from skeegfm.models._fast import autocast_context, optimize_for_inference
from skeegfm.models.eegpt import _looks_like_original

MANIFEST = load_manifest()
CASES = sorted(c for c, spec in MANIFEST.items() if spec["model"] == "EEGPT")
TOL = dict(rtol=1e-4, atol=1e-4)
TINY = dict(embed_dim=32, depth=2, num_heads=4, embed_num=2)


def _kwargs(case, **extra):
    kwargs = dict(MANIFEST[case]["kwargs"])
    kwargs["chs_info"] = [{"ch_name": n} for n in kwargs.pop("ch_names")]
    kwargs.update(extra)
    return kwargs


def _build(kwargs, meta=False):
    if not meta:
        return EEGPT(**kwargs)
    with torch.device("meta"):  # no initialisation work: weights are assigned
        return EEGPT(**kwargs)


@pytest.fixture(scope="module", params=CASES)
def case(request):
    """Model of a fixture case with the fill-rule weights, and the case tensors."""
    name = request.param
    data = load_case(name)
    buffers = {k[len("buffer.") :]: v for k, v in data.items() if k.startswith("buffer.")}
    model = _build(_kwargs(name), meta=True).eval()
    state = fill_state_dict(model, buffers)
    model.load_state_dict(state, strict=True, assign=True)
    return name, model, state, data, buffers


def test_fixture_state_dict_layout(case):
    name, model, _, _, buffers = case
    expected = [entry[:2] for entry in MANIFEST[name]["state_dict"]]
    got = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    assert got == expected
    # chans_id computed from the names equals the reference's buffer (chans_id
    # does not depend on the width, so a narrow model shows it cheaply).
    narrow = EEGPT(**_kwargs(name, embed_dim=8, num_heads=2, depth=1))
    assert torch.equal(narrow.chans_id, buffers["chans_id"])


def test_fixture_parity(case):
    """Logits, encoder output (the head's input) and features of the fixture,
    through the summary-only last block (eval default) and the full block."""
    _, model, _, data, _ = case
    x = data["input"]
    x_before = x.clone()
    seen = {}
    hook = model.final_layer.register_forward_hook(lambda m, args, out: seen.update(z=args[0]))
    try:
        with torch.inference_mode():
            logits = model(x)
    finally:
        hook.remove()
    torch.testing.assert_close(logits, data["logits"], **TOL)
    torch.testing.assert_close(seen["z"], data["encoder_output"], **TOL)
    torch.testing.assert_close(seen["z"].flatten(2), data["features.features"], **TOL)

    model.target_encoder.summary_only_last_block = False
    try:
        with torch.inference_mode():
            features = model(x, return_features=True)
    finally:
        model.target_encoder.summary_only_last_block = True
    torch.testing.assert_close(features["features"], data["features.features"], **TOL)
    torch.testing.assert_close(features["features"], seen["z"].flatten(2), rtol=1e-5, atol=1e-5)
    assert features["cls_token"] is None
    assert torch.equal(x, x_before)  # the caller's data is not modified


def test_fixture_encoder_output_model():
    """``return_encoder_output=True`` built as the reference built it (tiny case)."""
    name = "eegpt_tiny_linear_8x512"
    data = load_case(name)
    buffers = {k[len("buffer.") :]: v for k, v in data.items() if k.startswith("buffer.")}
    encoder = EEGPT(**_kwargs(name, return_encoder_output=True)).eval()
    assert not any(k.startswith("final_layer.") for k in encoder.state_dict())
    encoder.load_state_dict(fill_state_dict(encoder, buffers), strict=True)
    with torch.inference_mode():
        torch.testing.assert_close(encoder(data["input"]), data["encoder_output"], **TOL)
        features = encoder(data["input"], return_features=True)["features"]
    torch.testing.assert_close(features, data["features.features"], **TOL)


@pytest.mark.parametrize("name", ["eegpt_tiny_linear_8x512", "eegpt_noproj_19x1024"])
def test_optimized_copy_matches(name):
    data = load_case(name)
    buffers = {k[len("buffer.") :]: v for k, v in data.items() if k.startswith("buffer.")}
    model = _build(_kwargs(name), meta=True)
    model.load_state_dict(fill_state_dict(model, buffers), assign=True)
    fast = optimize_for_inference(model, inplace=True)
    assert fast.state_dict().keys() == model.state_dict().keys()
    with torch.inference_mode():
        torch.testing.assert_close(fast(data["input"]), data["logits"], **TOL)


def test_chunked_inference_matches_fixture_and_one_pass():
    """In eval mode the per-patch sequences go through the blocks in groups of
    ``inference_chunk_tokens`` tokens: same output as one pass, on the fixture."""
    name = "eegpt_noproj_19x1024"
    data = load_case(name)
    buffers = {k[len("buffer.") :]: v for k, v in data.items() if k.startswith("buffer.")}
    model = _build(_kwargs(name), meta=True).eval()
    model.load_state_dict(fill_state_dict(model, buffers), assign=True)
    encoder = model.target_encoder
    n_seq = data["input"].shape[0] * encoder.n_patches
    outputs = {}
    for chunk_tokens in (10**9, 23 * 5, 1):  # one pass, uneven groups of 5, one sequence each
        encoder.inference_chunk_tokens = chunk_tokens
        with torch.inference_mode():
            outputs[chunk_tokens] = model(data["input"], return_features=True)["features"]
            logits = model(data["input"])
        torch.testing.assert_close(logits, data["logits"], **TOL)
    assert n_seq % 5 != 0  # the last group is shorter
    torch.testing.assert_close(outputs[23 * 5], outputs[10**9], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(outputs[1], outputs[10**9], rtol=1e-5, atol=1e-5)


def test_eval_with_autograd_runs_one_pass_with_the_same_output():
    """Frozen lower blocks in eval mode under partial fine-tuning run with autograd
    on: then the sequences go through in one pass (grouping only costs time when
    every activation is kept anyway), with the grouped inference output."""
    name = "eegpt_noproj_19x1024"
    data = load_case(name)
    buffers = {k[len("buffer.") :]: v for k, v in data.items() if k.startswith("buffer.")}
    model = _build(_kwargs(name), meta=True).eval()
    model.load_state_dict(fill_state_dict(model, buffers), assign=True)
    encoder = model.target_encoder
    encoder.inference_chunk_tokens = 23  # one sequence per group without autograd
    calls = []
    original = encoder._run_blocks

    def counting(seq, summary_only_last):
        calls.append(seq.shape[0])
        return original(seq, summary_only_last)

    encoder._run_blocks = counting
    with torch.inference_mode():
        grouped = model(data["input"])
    n_grouped = len(calls)
    calls.clear()
    x = data["input"].clone().requires_grad_(True)
    logits = model(x)
    assert n_grouped > 1 and len(calls) == 1
    torch.testing.assert_close(logits.detach(), grouped, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits.detach(), data["logits"], **TOL)
    logits.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def _read_keys_file(name):
    rows, header = [], []
    for line in (FIXTURES / "keys" / name).read_text().splitlines():
        if line.startswith("#"):
            header.append(line)
            continue
        key, shape, _, _ = line.split("\t")
        rows.append((key, tuple(int(s) for s in shape.strip("(,)").split(",") if s.strip())))
    return header, rows


@pytest.mark.parametrize(
    "filename, kwargs, n_params",
    [
        (
            "keys_eegpt.txt",
            dict(
                n_chans=62,
                n_outputs=1,
                n_times=1000,
                sfreq=250,
                chs_info=[{"ch_name": n} for n in EEGPT_CHANNELS],
                return_encoder_output=True,
                chan_proj_type="none",
            ),
            25_287_168,
        ),
        ("keys_eegpt_default_probe.txt", dict(n_chans=22, n_outputs=4, n_times=1024), 25_322_377),
    ],
)
def test_released_key_layout(filename, kwargs, n_params):
    header, expected = _read_keys_file(filename)
    model = _build(kwargs, meta=True)
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == expected
    assert sum(p.numel() for p in model.parameters()) == n_params
    assert any(str(n_params) in line for line in header)


# ----------------------------------------------------------------- channels by name


def _tiny(names=None, n_chans=None, **kw):
    """A tiny EEGPT; without ``names``, the first ``n_chans`` vocabulary names."""
    if names is None:
        names = EEGPT_CHANNELS[:n_chans]
    kw = {**TINY, "n_outputs": 2, "n_times": 256, "chan_proj_type": "none", **kw}
    return EEGPT(chs_info=[{"ch_name": n} for n in names], **kw)


def test_channel_ids_by_name_with_aliases():
    model = _tiny(["EEG Fp1-REF", "t3", "Oz.", "cz", "EEG T6-LE"])
    assert model.chans_id.tolist() == [[0, 25, 60, 29, 51]]
    assert model.chans_id.dtype == torch.int64
    # Plain name strings are accepted as chs_info entries too.
    assert _tiny(["FP1", "CZ"]).chans_id.tolist() == EEGPT(
        chs_info=["fp1", "Cz"], n_outputs=2, n_times=256, chan_proj_type="none", **TINY
    ).chans_id.tolist()


def test_unknown_channel_names_raise():
    with pytest.raises(ValueError) as err:
        _tiny(["Fp1", "Fp1-F7", "EKG"])
    msg = str(err.value)
    assert "'Fp1-F7'" in msg and "'EKG'" in msg and "'FPZ'" in msg


def test_too_many_channels_without_projection_raise():
    names = list(EEGPT_CHANNELS) + ["FP1"]
    with pytest.raises(ValueError, match="62 channel embeddings but 63"):
        EEGPT(n_chans=63, n_outputs=2, n_times=256, chan_proj_type="none", **TINY)
    with pytest.raises(ValueError, match="62 channel embeddings but 63"):
        _tiny(names)


def test_projection_uses_standard_ids_whatever_the_names():
    model = _tiny(["a", "b", "c"], chan_proj_type="conv1d_constraint")  # names unused
    assert model.chans_id.shape == (1, 19)
    assert model.chans_id.tolist() == [[EEGPT_CHANNELS.index(n) for n in STANDARD_19_CHANNELS]]
    with pytest.raises(ValueError, match="n_chans_target must be 19"):
        _tiny(["a", "b", "c"], chan_proj_type="linear", n_chans_target=12)


def test_positional_ids_without_chs_info():
    kwargs = dict(n_outputs=2, n_times=256, chan_proj_type="none", **TINY)
    with pytest.warns(UserWarning, match="by position"):
        model = EEGPT(n_chans=5, **kwargs)
    assert model.chans_id.shape == (5,) and model.chans_id.tolist() == list(range(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert EEGPT(n_chans=62, **kwargs).chans_id.shape == (62,)


def test_reordering_channels_and_names_together_gives_identical_outputs():
    names = ["FP1", "CZ", "O2", "T7", "PZ", "F4"]
    perm = [3, 0, 5, 1, 4, 2]
    torch.manual_seed(0)
    model = _tiny(names).eval()
    permuted = _tiny([names[i] for i in perm]).eval()
    state = {k: v for k, v in model.state_dict().items() if k != "chans_id"}
    permuted.load_state_dict(state, strict=False)
    x = torch.randn(3, len(names), 256)
    with torch.inference_mode():
        a = model(x, return_features=True)["features"]
        b = permuted(x[:, perm], return_features=True)["features"]
        c = model(x[:, perm], return_features=True)["features"]
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(a, c, atol=1e-3)  # the names, not the positions, matter


# ----------------------------------------------------------------- patching rules


@pytest.mark.parametrize(
    "n_times, stride, pad, n_patches",
    [
        (1024, 32, 0, 31),
        (1000, 32, 24, 31),
        (1055, 32, 1, 32),
        (1024, None, 0, 16),
        (1000, None, 24, 16),
        (537, 32, 7, 16),  # 2.1 s at 256 Hz: one more patch than the original code
    ],
)
def test_patch_geometry(n_times, stride, pad, n_patches):
    model = _tiny(n_chans=2, n_times=n_times, patch_stride=stride)
    assert model.target_encoder.patch_embed.pad == pad
    assert model.n_patches == n_patches
    assert model.get_probe_params() == {"n_patches": n_patches, "embed_num": 2, "embed_dim": 32}
    with torch.inference_mode():
        features = model.eval()(torch.randn(1, 2, n_times), return_features=True)["features"]
    assert features.shape == (1, n_patches, 64)


def test_patch_embedding_equals_the_strided_convolution():
    torch.manual_seed(1)
    model = _tiny(n_chans=4, n_times=300, patch_stride=48)
    embed = model.target_encoder.patch_embed
    x = torch.randn(2, 4, 300)
    conv = embed.proj(torch.nn.functional.pad(x, (0, embed.pad)).unsqueeze(1)).permute(0, 3, 2, 1)
    torch.testing.assert_close(embed(x), conv, rtol=1e-5, atol=1e-5)


def test_input_length_and_channel_errors():
    model = _tiny(n_chans=3, n_times=1024).eval()
    with pytest.raises(ValueError, match="gives 30 patches.*31 patches"):
        model(torch.randn(1, 3, 1000))
    with pytest.raises(ValueError, match="gives 0 patches"):
        model(torch.randn(1, 3, 32))
    with pytest.raises(ValueError, match="4 channels"):
        model(torch.randn(1, 4, 1024))
    with pytest.raises(ValueError, match="shape \\(batch, n_chans, n_times\\)"):
        model(torch.randn(3, 1024))
    with pytest.raises(ValueError, match="shorter than one patch"):
        _tiny(n_chans=3, n_times=32)
    # A slightly longer input giving the same patches ignores the trailing samples.
    x = torch.randn(2, 3, 1040)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), model(x[..., :1024]))


# ----------------------------------------------------------------- head and options


def test_head_max_norm_and_reset_head():
    model = _tiny(n_chans=3, chan_proj_type="conv1d_constraint")
    head = model.final_layer
    assert type(head).__name__ == "_LinearConstraintProbe"
    with torch.no_grad():
        head.probe1.parametrizations.weight.original.mul_(100.0)
        head.probe2.parametrizations.weight.original.mul_(100.0)
        model.chan_proj.proj.parametrizations.weight.original.mul_(100.0)
    assert head.probe1.weight.norm(dim=1).max() <= 1.0 + 1e-5
    assert head.probe2.weight.norm(dim=1).max() <= 0.25 + 1e-5
    assert model.chan_proj.proj.weight.flatten(1).norm(dim=1).max() <= 1.0 + 1e-5

    model.reset_head(5)
    assert model.n_outputs == 5 and model._hub_config["n_outputs"] == 5
    keys = [k for k in model.state_dict() if k.startswith("final_layer.")]
    assert keys == [
        "final_layer.probe1.bias",
        "final_layer.probe1.parametrizations.weight.original",
        "final_layer.probe2.bias",
        "final_layer.probe2.parametrizations.weight.original",
    ]
    assert model.final_layer.probe2.weight.shape == (5, model.n_patches * 16)
    assert model.eval()(torch.randn(2, 3, 256)).shape == (2, 5)


class _ThreeOutputs(torch.nn.LazyLinear):
    def __init__(self):
        super().__init__(3)


def test_head_options_and_errors():
    model = _tiny(n_chans=3, final_layer=_ThreeOutputs)
    assert model.eval()(torch.randn(2, 3, 256)).shape == (2, 3)
    with pytest.raises(ValueError, match="exclude each other"):
        _tiny(n_chans=3, final_layer=torch.nn.Identity, return_encoder_output=True)
    with pytest.raises(ValueError, match="needs n_outputs"):
        _tiny(n_chans=3, n_outputs=None)
    with pytest.raises(ValueError, match="chan_proj_type must be one of"):
        _tiny(n_chans=3, chan_proj_type="conv")
    with pytest.raises(ValueError, match="needs n_times"):
        EEGPT(n_chans=3, n_outputs=2)
    with pytest.raises(TypeError, match="patch_module"):
        _tiny(n_chans=3, patch_module=torch.nn.Identity)
    z = _tiny(n_chans=3, return_encoder_output=True).eval()(torch.randn(2, 3, 256))
    assert z.shape == (2, 7, 2, 32)


def test_init_follows_the_spec():
    torch.manual_seed(0)
    model = _tiny(n_chans=3, embed_dim=64, depth=3, num_heads=4)
    enc = model.target_encoder
    qkv = enc.blocks[0].attn.qkv.weight
    assert abs(qkv.std().item() - 0.02) < 0.002 and qkv.abs().max() < 0.1
    assert torch.all(enc.blocks[0].attn.qkv.bias == 0)
    std = [enc.blocks[i].mlp.fc2.weight.std().item() for i in range(3)]
    for i in range(3):  # divided by sqrt(2 * layer), layers 1-based
        assert abs(std[i] * math.sqrt(2 * (i + 1)) - 0.02) < 0.003
    assert torch.all(enc.norm.weight == 1) and torch.all(enc.blocks[1].norm2.bias == 0)


def test_train_mode_full_path_matches_eval():
    model = _tiny(n_chans=4)
    x = torch.randn(2, 4, 256)
    with torch.no_grad():
        train = model.train()(x, return_features=True)["features"]
        evaluated = model.eval()(x, return_features=True)["features"]
    torch.testing.assert_close(train, evaluated, rtol=1e-5, atol=1e-5)


def test_forward_until_goes_in_chunks_when_nothing_records_a_graph():
    """Frozen blocks (no parameter needing a gradient) on an input without
    gradient: chunked like inference, even with gradients enabled, with the
    one-pass result."""
    torch.manual_seed(0)
    model = _tiny(n_chans=4).eval()
    x = torch.randn(3, 4, 256)
    with torch.no_grad():
        one_pass = model.forward_until(x, 1)
    encoder = model.target_encoder
    encoder.inference_chunk_tokens = 1  # one sequence per chunk
    calls = []
    original = encoder._run_chunked
    encoder._run_chunked = lambda seq, stop: calls.append(seq.shape[0]) or original(seq, stop)
    for p in model.parameters():
        p.requires_grad_(False)
    chunked = model.forward_until(x, 1)  # gradients enabled, nothing to record
    assert calls and not chunked.requires_grad
    torch.testing.assert_close(chunked, one_pass, rtol=1e-5, atol=1e-6)
    model.target_encoder.blocks[0].norm1.weight.requires_grad_(True)
    calls.clear()
    assert model.forward_until(x, 1).requires_grad and not calls


def test_training_computes_only_the_summary_rows_of_the_last_block_when_exact():
    """In training mode the last block's other rows feed nothing: without
    attention dropout and drop path they are skipped, with the same output and
    gradients as the whole block; with either, the whole block runs."""
    torch.manual_seed(0)
    model = _tiny(n_chans=4).train()
    encoder = model.target_encoder
    assert encoder._summary_only_last()
    x = torch.randn(2, 4, 256)
    outputs, grads = [], []
    for skip in (True, False):
        encoder.summary_only_last_block = skip
        model.zero_grad()
        out = model(x, return_features=True)["features"]
        out.square().sum().backward()
        outputs.append(out.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-5, atol=1e-6)
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-6)
    encoder.summary_only_last_block = True
    for kwargs in (dict(drop_path_rate=0.1), dict(attn_drop_rate=0.1)):
        noisy = _tiny(n_chans=4, **kwargs)
        assert not noisy.train().target_encoder._summary_only_last()
        assert noisy.eval().target_encoder._summary_only_last()


def test_bfloat16_autocast_close_to_float32():
    torch.manual_seed(0)
    model = _tiny(n_chans=4).eval()
    x = torch.randn(2, 4, 256)
    with torch.inference_mode():
        ref = model(x, return_features=True)["features"]
        with autocast_context("cpu", "bfloat16"):
            low = model(x, return_features=True)["features"]
    cos = torch.nn.functional.cosine_similarity(low.float().flatten(1), ref.flatten(1))
    assert cos.min() > 0.99


# ----------------------------------------------------------------- Hub hooks, converter


def test_hub_hooks():
    assert EEGPT._head_prefixes == ("final_layer.", "chan_proj.")
    assert EEGPT._config_absent_defaults == {"chan_proj_type": "none"}
    assert EEGPT._pretraining_only_prefixes == ("encoder.", "predictor.", "reconstructor.")
    sd = {"chans_id": torch.arange(3)[None], "target_encoder.norm.weight": torch.ones(2)}
    assert list(EEGPT._remap_state_dict(sd)) == ["target_encoder.norm.weight"]
    assert "chans_id" in sd  # the input dict is left alone


def _synthetic_lightning_checkpoint(model):
    """A checkpoint in the authors' layout built from ``model``'s weights."""
    state = model.state_dict()
    sd = {k: v.clone() for k, v in state.items() if k.startswith("target_encoder.")}
    for k, v in list(sd.items()):  # the online encoder and the pretraining heads
        sd["encoder." + k[len("target_encoder.") :]] = torch.randn_like(v)
    sd["predictor.mask_token"] = torch.randn(1, 1, 32)
    sd["reconstructor.time_embed.weight"] = torch.randn(4, 32)
    sd["chan_conv.weight"] = state["chan_proj.proj.parametrizations.weight.original"].clone()
    sd["chan_conv.bias"] = state["chan_proj.proj.bias"].clone()
    for i in (1, 2):
        original = state[f"final_layer.probe{i}.parametrizations.weight.original"]
        sd[f"linear_probe{i}.weight"] = original.clone()
        sd[f"linear_probe{i}.bias"] = state[f"final_layer.probe{i}.bias"].clone()
    return {"state_dict": sd, "epoch": 7, "hyper_parameters": argparse.Namespace(lr=4e-4)}


def test_convert_synthetic_lightning_checkpoint(tmp_path):
    torch.manual_seed(0)
    source = _tiny(n_chans=5, chan_proj_type="conv1d_constraint").eval()
    ckpt = _synthetic_lightning_checkpoint(source)
    assert _looks_like_original(ckpt) and _looks_like_original(ckpt["state_dict"])
    assert not _looks_like_original(source.state_dict())

    path = tmp_path / "eegpt_probe.ckpt"
    torch.save(ckpt, path)
    # argparse.Namespace is allow-listed: no unpickling opt-in, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converted = convert_eegpt_checkpoint(path)
    assert not any(k.startswith(("encoder.", "predictor.", "reconstructor.")) for k in converted)
    assert "chans_id" not in converted

    target = _tiny(n_chans=5, chan_proj_type="conv1d_constraint").eval()
    missing, unexpected = target.load_state_dict(converted, strict=False)
    assert missing == ["chans_id"] and unexpected == []
    x = torch.randn(2, 5, 256)
    with torch.inference_mode():
        torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)

    # An already loaded dict works too; unknown keys are dropped with a warning.
    ckpt["state_dict"]["loss_fn.weight"] = torch.ones(1)
    with pytest.warns(UserWarning, match="loss_fn.weight"):
        again = convert_eegpt_checkpoint(ckpt)
    assert again.keys() == converted.keys()
    with pytest.raises(ValueError, match="target_encoder"):
        convert_eegpt_checkpoint({"state_dict": {"encoder.norm.weight": torch.ones(2)}})


# ----------------------------------------------------------------- fidelity outside the released configuration
def _reference_layout(n_chans, n_patches, n_outputs, embed_num, embed_dim, depth, mlp_ratio=4.0, patch_size=64,
                      qkv_bias=True, chan_proj="none", head="probe"):
    """``[(key, shape)]`` of the reference implementation's state_dict
    (braindecode's ``EEGPT``), written out from its construction rules: the
    ``qkv`` projection always has ``3 * embed_dim`` rows."""
    D, E, hidden = embed_dim, embed_num, int(embed_dim * mlp_ratio)
    keys = [("chans_id", (1, 19 if chan_proj != "none" else n_chans))]
    if chan_proj == "conv1d_constraint":
        keys += [("chan_proj.proj.bias", (19,)), ("chan_proj.proj.parametrizations.weight.original", (19, n_chans, 1))]
    enc_chans = 19 if chan_proj != "none" else n_chans
    t = "target_encoder."
    keys += [
        (t + "summary_token", (1, E, D)),
        (t + "patch_embed.proj.weight", (D, 1, 1, patch_size)),
        (t + "patch_embed.proj.bias", (D,)),
        (t + "chan_embed.weight", (max(62, enc_chans), D)),
    ]
    for i in range(depth):
        b = f"{t}blocks.{i}."
        keys += [(b + "norm1.weight", (D,)), (b + "norm1.bias", (D,)), (b + "attn.qkv.weight", (3 * D, D))]
        keys += [(b + "attn.qkv.bias", (3 * D,))] if qkv_bias else []
        keys += [
            (b + "attn.proj.weight", (D, D)), (b + "attn.proj.bias", (D,)),
            (b + "norm2.weight", (D,)), (b + "norm2.bias", (D,)),
            (b + "mlp.fc1.weight", (hidden, D)), (b + "mlp.fc1.bias", (hidden,)),
            (b + "mlp.fc2.weight", (D, hidden)), (b + "mlp.fc2.bias", (D,)),
        ]
    keys += [(t + "norm.weight", (D,)), (t + "norm.bias", (D,))]
    if head == "probe":
        keys += [
            ("final_layer.probe1.bias", (16,)),
            ("final_layer.probe1.parametrizations.weight.original", (16, E * D)),
            ("final_layer.probe2.bias", (n_outputs,)),
            ("final_layer.probe2.parametrizations.weight.original", (n_outputs, n_patches * 16)),
        ]
    return keys


def test_reference_layout_rules_reproduce_the_fixture_layouts():
    for name, proj in (("eegpt_default_22x1024", "conv1d_constraint"), ("eegpt_noproj_19x1024", "none")):
        kwargs = MANIFEST[name]["kwargs"]
        layout = _reference_layout(kwargs["n_chans"], 31, kwargs["n_outputs"], 4, 512, 8, chan_proj=proj)
        assert layout == [(k, tuple(shape)) for k, shape, *_ in MANIFEST[name]["state_dict"]]


def test_reset_head_keeps_returning_the_encoder_output_like_the_reference():
    """A model built with ``return_encoder_output=True`` gets the reference's
    probe keys from ``reset_head`` but keeps returning ``z``."""
    torch.manual_seed(0)
    encoder = _tiny(n_chans=3, n_outputs=None, return_encoder_output=True).eval()
    encoder.reset_head(5)
    layout = _reference_layout(3, encoder.n_patches, 5, 2, 32, 2)
    assert [(k, tuple(v.shape)) for k, v in encoder.state_dict().items()] == layout
    g = torch.Generator().manual_seed(1)
    state = {k: torch.randn(shape, generator=g) * 0.3 for k, shape in layout if k != "chans_id"}
    state["chans_id"] = encoder.chans_id.clone()
    encoder.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 256, generator=g)
    encoder.final_layer.eval()  # a fresh head is in training mode, as in the reference
    with torch.no_grad():
        z = encoder(x)
        assert z.shape == (2, encoder.n_patches, 2, 32)
        torch.testing.assert_close(z.flatten(2), encoder(x, return_features=True)["features"])
        encoder.return_encoder_output = False
        logits = encoder(x)
    # the probe recomputed from the state_dict: max-norm rows, no nonlinearity
    w1 = state["final_layer.probe1.parametrizations.weight.original"].renorm(2, 0, 1.0)
    w2 = state["final_layer.probe2.parametrizations.weight.original"].renorm(2, 0, 0.25)
    h = torch.nn.functional.linear(z.flatten(2), w1, state["final_layer.probe1.bias"])
    expected = torch.nn.functional.linear(h.flatten(1), w2, state["final_layer.probe2.bias"])
    assert logits.shape == (2, 5)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-5)


def test_num_heads_must_divide_embed_dim():
    with pytest.raises(ValueError, match="num_heads=5 must be a positive divisor of embed_dim=32"):
        _tiny(n_chans=3, num_heads=5)
    # a divisor gives the reference's 3 * embed_dim rows
    model = _tiny(n_chans=3, num_heads=8)
    assert model.target_encoder.blocks[0].attn.qkv.weight.shape == (96, 32)


# ----------------------------------------------------------------------------- reference cases
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", reference_cases("EEGPT"))
def test_reference_case(case):
    """A configuration the reference accepts and runs (found by a differential
    fuzz against it): its state_dict loads strictly and gives its outputs."""
    check_reference_case(EEGPT, case)


@pytest.mark.parametrize("proj", ["conv1d_constraint", "linear"])
def test_projection_to_one_channel_gives_it_each_of_the_19_embeddings(proj):
    """As in the reference: the one projected channel is broadcast over the 19
    standard channel ids, so every patch has 19 channel tokens."""
    model = _tiny(["a", "b", "c"], chan_proj_type=proj, n_chans_target=1).eval()
    assert model.chans_id.shape == (1, 19)
    enc = model.target_encoder
    x = torch.randn(2, 3, 256)
    seq, n_patches = enc._sequences(model.chan_proj(x), model.chans_id)
    assert seq.shape == (2 * n_patches, 19 + enc.embed_num, enc.embed_dim)
    one = model.chan_proj(x)  # (2, 1, 256): the same patch under every embedding
    tokens = enc.patch_embed(one)[:, :, 0]  # (2, N, D)
    ids = model.chans_id.reshape(-1)
    expected = tokens[:, :, None] + enc.chan_embed(ids)
    torch.testing.assert_close(seq[:, :19].reshape(2, n_patches, 19, -1), expected)
    with torch.no_grad():
        assert model(x).shape == (2, 2)
