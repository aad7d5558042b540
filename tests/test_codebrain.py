"""CodeBrain: parity with the golden fixtures, key layout, original-key loading,
input-length rules, dtypes, head handling and the cached evaluation path."""

from __future__ import annotations

import math
import re
import warnings

import pytest
import torch
from _weights import FIXTURES, fill_state_dict, load_case, load_manifest

from skeegfm.models.codebrain import CodeBrain, _looks_like_original, convert_codebrain_checkpoint

MANIFEST = load_manifest()
CASES = sorted(name for name, entry in MANIFEST.items() if entry["model"] == "CodeBrain")
RTOL = ATOL = 1e-4

# a small configuration for the behavioural tests (emb_dim stays 200: the patch embedding is fixed)
TINY = dict(
    n_chans=4,
    n_times=600,
    n_outputs=3,
    res_channels=16,
    skip_channels=12,
    out_channels=8,
    num_res_layers=2,
    s4_lmax=12,
    pos_kernel=(3, 3),
    codebook_size_t=32,
    codebook_size_f=24,
)

_BUILT: dict = {}


def _buffers(case):
    tensors = load_case(case)
    return {k[len("buffer.") :]: v for k, v in tensors.items() if k.startswith("buffer.")}


def _fixture_model(case):
    """Model of ``case`` with the fixture weights and buffers, in eval mode
    (built once per test session: the default case holds a 91 M head)."""
    if case not in _BUILT:
        torch.manual_seed(0)
        model = CodeBrain(**MANIFEST[case]["kwargs"]).eval()
        model.load_state_dict(fill_state_dict(model, _buffers(case)))
        _BUILT[case] = model
    return _BUILT[case]


def _tiny(seed=0, **overrides):
    torch.manual_seed(seed)
    return CodeBrain(**{**TINY, **overrides}).eval()


def _upstream_name(key):
    """Our key -> the authors' original name (inverse of the reference's
    ``CodeBrain.load_state_dict`` renames)."""
    key = key.replace(".sgconv.", ".S41.").replace(".rms_norm.", ".sn.")
    key = re.sub(r"\.skip_weight$", ".D", key)
    key = re.sub(r"\.kernel_list\.(\d+)$", r".kernel_list.\1.kernel", key)
    key = key.replace(".parametrizations.weight.original0", ".weight_g")
    key = key.replace(".parametrizations.weight.original1", ".weight_v")
    return "module." + key


# ----------------------------------------------------------------------------- fixtures
@pytest.mark.parametrize("case", CASES)
def test_state_dict_keys_and_shapes_match_manifest(case):
    model = _fixture_model(case)
    got = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in model.state_dict().items()]
    expected = [(k, list(shape), dtype) for k, shape, dtype, _ in MANIFEST[case]["state_dict"]]
    assert got == expected
    params = {k for k, _ in model.named_parameters()}
    kinds = {k: kind for k, _, _, kind in MANIFEST[case]["state_dict"]}
    assert {k for k, kind in kinds.items() if kind == "param"} == params


def test_keys_file_matches_default_model():
    lines = (FIXTURES / "keys" / "keys_codebrain.txt").read_text().splitlines()
    listed = [line.split("\t")[0] for line in lines if line and not line.startswith("#")]
    assert listed == [k for k, *_ in MANIFEST["codebrain_default_19x6000"]["state_dict"]]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fast", [True, False], ids=["cached", "plain"])
def test_parity_with_fixtures(case, fast):
    model = _fixture_model(case)
    expected = load_case(case)
    model.fast_inference = fast
    try:
        with torch.inference_mode():
            logits = model(expected["input"])
            features = model(expected["input"], return_features=True)
    finally:
        model.fast_inference = True
    torch.testing.assert_close(logits, expected["logits"], rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(features["features"], expected["features.features"], rtol=RTOL, atol=ATOL)
    assert features["cls_token"] is None


@pytest.mark.parametrize("case", CASES)
def test_kernel_norm_is_computed_lazily_like_the_reference(case):
    # kernel_norm depends on the kernels only: build without the (large) head
    kwargs = {**MANIFEST[case]["kwargs"], "return_encoder_output": True}
    model = CodeBrain(**kwargs).eval()
    model.load_state_dict(fill_state_dict(model))  # buffers as initialised: flag False
    flags = [k for k in model.state_dict() if k.endswith("kernel_norm_initialized")]
    assert flags and not any(bool(model.state_dict()[k]) for k in flags)
    x = load_case(case)["input"][:1, :, :400]
    with torch.inference_mode():
        model(x)
    state = model.state_dict()
    for key, value in _buffers(case).items():
        if key.endswith("kernel_norm"):
            torch.testing.assert_close(state[key], value, rtol=1e-5, atol=1e-6)
            assert not state[key].is_inference()
        elif key.endswith("kernel_norm_initialized"):
            assert bool(state[key]) and bool(value)


def test_model_first_called_in_inference_mode_can_still_train():
    model = _tiny()
    x = torch.randn(2, 4, 600)
    with torch.inference_mode():
        model(x)
    model.train()
    loss = model(x).square().mean()
    loss.backward()
    assert model.residual_layer.residual_blocks[0].sgconv.kernel_list[0].grad is not None


# ----------------------------------------------------------------------------- original key names
def test_original_names_round_trip_and_load_strictly():
    model = CodeBrain(n_chans=19, n_times=6000, return_encoder_output=True)
    ours = model.state_dict()
    upstream = {_upstream_name(k): v for k, v in ours.items()}
    lines = (FIXTURES / "keys" / "keys_codebrain_upstream_names.txt").read_text().splitlines()
    listed = [line.split("\t")[0] for line in lines if line and not line.startswith("#")]
    assert sorted(upstream) == sorted(listed)
    assert _looks_like_original(upstream) and not _looks_like_original(ours)
    fresh = CodeBrain(n_chans=19, n_times=6000, return_encoder_output=True)
    fresh.load_state_dict(upstream, strict=True)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, ours[key]), key
    # the lowercase ".s41." spelling is accepted too
    lower = {k.replace(".S41.", ".s41."): v for k, v in upstream.items()}
    assert set(CodeBrain._remap_state_dict(lower)) == set(ours)


def test_missing_key_after_remap_is_an_error():
    model = _tiny(return_encoder_output=True)
    upstream = {_upstream_name(k): v for k, v in model.state_dict().items()}
    dropped = "module.residual_layer.residual_blocks.1.S41.kernel_list.3.kernel"
    del upstream[dropped]
    with pytest.raises(RuntimeError, match=r"residual_blocks\.1\.sgconv\.kernel_list\.3"):
        _tiny(seed=1, return_encoder_output=True).load_state_dict(upstream)
    # non-strict loading reports it
    result = _tiny(seed=1, return_encoder_output=True).load_state_dict(upstream, strict=False)
    assert result.missing_keys == ["residual_layer.residual_blocks.1.sgconv.kernel_list.3"]


def test_convert_codebrain_checkpoint(tmp_path):
    model = _tiny()
    upstream = {_upstream_name(k): v for k, v in model.state_dict().items() if not k.startswith("final_layer.")}
    converted = convert_codebrain_checkpoint(upstream)
    expected = {k for k in model.state_dict() if not k.startswith(("final_layer.", "lm_head_t.", "lm_head_f."))}
    assert set(converted) == expected
    path = tmp_path / "CodeBrain.pth"
    torch.save(upstream, path)
    from_file = convert_codebrain_checkpoint(path)
    assert set(from_file) == expected
    fresh = _tiny(seed=3)
    result = fresh.load_state_dict(from_file, strict=False)
    assert all(k.startswith(("final_layer.", "lm_head_")) for k in result.missing_keys)
    with pytest.raises(TypeError, match="state_dict"):
        convert_codebrain_checkpoint({"a": 1})


def test_hub_hooks():
    assert CodeBrain._head_prefixes == ("final_layer.",)
    assert CodeBrain._pretraining_only_prefixes == ("lm_head_t.", "lm_head_f.")
    assert _tiny()._pretraining_only_prefixes == ("lm_head_t.", "lm_head_f.")
    assert _tiny(pretrain_mode=True)._pretraining_only_prefixes == ()


# ----------------------------------------------------------------------------- input rules
def test_trailing_samples_are_trimmed_with_a_warning():
    model = _tiny()
    x = torch.randn(2, 4, 650)
    with pytest.warns(UserWarning, match="last 50 of 650 samples"):
        out = model(x, return_features=True)["features"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = model(x[..., :600].clone(), return_features=True)["features"]
    torch.testing.assert_close(out, ref)


def test_shorter_than_one_patch_raises():
    model = _tiny()
    with pytest.raises(ValueError, match="fewer than one patch"):
        model(torch.randn(1, 4, 150))
    with pytest.raises(ValueError, match="shorter than one patch"):
        CodeBrain(n_chans=4, n_times=100, n_outputs=2)
    with pytest.raises(ValueError, match=r"\(batch, n_chans, n_times\)"):
        model(torch.randn(4, 600))


def test_head_geometry_mismatch_raises_but_features_work():
    model = _tiny()
    x = torch.randn(1, 4, 800)
    with pytest.raises(ValueError, match="head was built for 4 channels x 3 patches"):
        model(x)
    assert model(x, return_features=True)["features"].shape == (1, 4, 4, 8)


def test_caller_data_is_not_modified():
    model = _tiny()
    x = torch.randn(2, 4, 600)
    before = x.clone()
    with torch.inference_mode():
        model(x)
    model(x, mask=torch.ones(2, 4, 3))
    assert torch.equal(x, before)


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("fast", [True, False], ids=["cached", "plain"])
def test_float64(fast):
    model = _tiny()
    model.fast_inference = fast
    x = torch.randn(2, 4, 600)
    with torch.inference_mode():
        ref = model(x)
        from_double_input = model(x.double())  # cast to the model's dtype
        model.double()
        double = model(x.double())
    assert from_double_input.dtype == torch.float32
    assert double.dtype == torch.float64
    torch.testing.assert_close(double.float(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fast", [True, False], ids=["cached", "plain"])
def test_bfloat16_autocast_and_bfloat16_model(fast):
    model = _tiny()
    model.fast_inference = fast
    x = torch.randn(2, 4, 600)
    with torch.inference_mode():
        ref = model(x, return_features=True)["features"]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            auto = model(x, return_features=True)["features"]
        model.bfloat16()
        pure = model(x.bfloat16(), return_features=True)["features"]
    for out in (auto, pure):
        assert torch.isfinite(out.float()).all()
        # LayerNorm'd features of unit scale: bf16 keeps about 2-3 digits
        assert (out.float() - ref).abs().mean() < 0.05


# ----------------------------------------------------------------------------- heads and modes
def test_reset_head():
    model = _tiny()
    model.reset_head(5)
    assert model.final_layer[7].out_features == 5
    assert model.n_outputs == 5 and model._hub_config["n_outputs"] == 5
    assert model(torch.randn(2, 4, 600)).shape == (2, 5)
    encoder = _tiny(return_encoder_output=True)
    encoder.reset_head(2)
    assert encoder._hub_config["return_encoder_output"] is False
    assert encoder(torch.randn(1, 4, 600)).shape == (1, 2)
    with pytest.raises(ValueError, match="positive integer"):
        model.reset_head(0)


def test_return_encoder_output():
    model = _tiny(return_encoder_output=True)
    assert isinstance(model.final_layer, torch.nn.Identity)
    assert model._hub_config["return_encoder_output"] is True
    assert not any(k.startswith("final_layer.") for k in model.state_dict())
    x = torch.randn(3, 4, 600)
    with torch.inference_mode():
        pooled = model(x)
        feats = model(x, return_features=True)["features"]
    assert pooled.shape == (3, 8)
    torch.testing.assert_close(pooled, feats.mean(dim=(1, 2)))
    # no head, so neither n_outputs nor n_times is needed
    CodeBrain(n_chans=4, return_encoder_output=True, **{k: TINY[k] for k in ("res_channels", "out_channels")})
    with pytest.raises(ValueError, match="needs n_outputs"):
        CodeBrain(n_chans=4, n_times=600)


def test_pretrain_mode_and_mask():
    model = _tiny(pretrain_mode=True)
    x = torch.randn(2, 4, 600)
    mask = torch.zeros(2, 4, 3)
    mask[0, 1, 2] = mask[1, 3, 0] = 1
    with torch.no_grad():
        logits_t, logits_f = model(x, mask=mask)
        assert logits_t.shape == (2, 32) and logits_f.shape == (2, 24)
        # a masked patch no longer depends on the signal in it
        y = x.clone()
        y[0, 1, 400:600] = 123.0
        a = model(x, mask=mask, return_features=True)["features"]
        b = model(y, mask=mask, return_features=True)["features"]
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="mask must have shape"):
        model(x, mask=torch.zeros(2, 4, 2))


# ----------------------------------------------------------------------------- cached evaluation path
def test_cache_follows_weight_changes_and_matches_plain_path():
    model = _tiny()
    x = torch.randn(2, 4, 600)

    def both():
        with torch.inference_mode():
            model.fast_inference = True
            fast = model(x, return_features=True)["features"]
            model.fast_inference = False
            plain = model(x, return_features=True)["features"]
        model.fast_inference = True
        return fast, plain

    fast, plain = both()
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    block = model.residual_layer.residual_blocks[1]
    with torch.no_grad():
        block.sgconv.kernel_list[2].mul_(3.0)
        block.attention.in_proj_weight.add_(0.5)
        block.res_conv.parametrizations.weight.original0.mul_(2.0)
        model.final_conv[0].conv.bias.add_(1.0)
    fast2, plain2 = both()
    torch.testing.assert_close(fast2, plain2, rtol=1e-5, atol=1e-5)
    assert (fast2 - fast).abs().max() > 1e-3
    # another length uses another cached spectrum
    with torch.inference_mode():
        longer = model(torch.randn(1, 4, 1000), return_features=True)["features"]
    assert longer.shape == (1, 4, 5, 8)


def test_sliding_window_wider_than_one_token():
    model = _tiny(swa_window_size=3, num_res_layers=1)
    x = torch.randn(2, 4, 600)
    with torch.inference_mode():
        fast = model(x)
        model.fast_inference = False
        plain = model(x)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    # a window of three tokens mixes neighbours: the output differs from w=1
    narrow = _tiny(num_res_layers=1)
    narrow.load_state_dict(model.state_dict())
    with torch.inference_mode():
        assert (narrow(x) - fast).abs().max() > 1e-4
    with pytest.raises(ValueError, match="odd"):
        _tiny(swa_window_size=2)


def test_training_mode_uses_autograd_path():
    model = _tiny()
    model.train()
    x = torch.randn(2, 4, 600)
    model(x).sum().backward()
    no_grad = {n for n, p in model.named_parameters() if p.requires_grad and p.grad is None}
    # the last block's residual output is unused (only its skip output is), as in the reference
    last = "residual_layer.residual_blocks.1."
    assert no_grad == {
        last + "rms_norm.scale",
        last + "res_conv.bias",
        last + "res_conv.parametrizations.weight.original0",
        last + "res_conv.parametrizations.weight.original1",
        "lm_head_t.weight",
        "lm_head_f.weight",
    }


def test_reset_head_on_an_encoder_built_without_n_outputs():
    model = CodeBrain(n_chans=4, n_times=400, num_res_layers=1, return_encoder_output=True).eval()
    model.reset_head(3)
    assert model.n_outputs == 3 and not model.return_encoder_output
    assert model(torch.randn(2, 4, 400)).shape == (2, 3)


# ----------------------------------------------------------------------------- fidelity outside the released configuration
# The expected layout is written out from the reference implementation's
# construction rules (braindecode's ``CodeBrain``), independently of our
# module, and the outputs are recomputed from the state_dict alone.
def _reference_layout(
    n_chans,
    n_times,
    n_outputs,
    patch_size=200,
    res_channels=200,
    skip_channels=200,
    out_channels=200,
    num_res_layers=8,
    s4_bidirectional=True,
    s4_layernorm=False,
    s4_lmax=570,
    conv_out_chans=25,
    conv_groups=5,
    proj_kernel_size=49,
    proj_padding=24,
    proj_refine_kernel=3,
    pos_kernel=(19, 7),
    mlp_hidden_multiplier=4,
    codebook_size_t=4096,
    codebook_size_f=4096,
    **_,
):
    """``[(key, shape)]`` of the reference's state_dict, in its order."""
    import math as _m

    c, k, rk = conv_out_chans, proj_kernel_size, proj_refine_kernel
    emb = c * ((patch_size + 2 * proj_padding - k) // c + 1)
    R, S, O, H = res_channels, skip_channels, out_channels, 2 * res_channels
    n_kern = 8 if s4_bidirectional else 4
    n_scales = 1 + _m.ceil(_m.log2(s4_lmax / 2))

    def wn(prefix, out, inp, ks=1):
        return [
            (prefix + "bias", (out,)),
            (prefix + "parametrizations.weight.original0", (out, 1, 1)),
            (prefix + "parametrizations.weight.original1", (out, inp, ks)),
        ]

    keys = [("patch_embedding.mask_encoding", (emb,))]
    for i, (w, inp) in enumerate([((c, 1, 1, k), 1), ((c, c, 1, rk), c), ((c, c, 1, rk), c)]):
        keys += [
            (f"patch_embedding.proj_in.{3 * i}.weight", w),
            (f"patch_embedding.proj_in.{3 * i}.bias", (c,)),
            (f"patch_embedding.proj_in.{3 * i + 1}.weight", (c,)),
            (f"patch_embedding.proj_in.{3 * i + 1}.bias", (c,)),
        ]
    keys += [
        ("patch_embedding.spectral_proj.0.weight", (emb, patch_size // 2 + 1)),
        ("patch_embedding.spectral_proj.0.bias", (emb,)),
        ("patch_embedding.positional_encoding.0.weight", (emb, 1, *pos_kernel)),
        ("patch_embedding.positional_encoding.0.bias", (emb,)),
    ]
    keys += wn("init_conv.0.conv.", R, emb)
    for b in range(num_res_layers):
        p = f"residual_layer.residual_blocks.{b}."
        keys += [(p + "rms_norm.scale", (1, R, 1))]
        keys += wn(p + "conv_layer.conv.", H, R, 3)
        keys += [
            (p + "sgconv.skip_weight", (4, H)),
            (p + "sgconv.multiplier", (1, H, 1)),
            (p + "sgconv.kernel_norm", (n_kern, H, 1)),
            (p + "sgconv.kernel_norm_initialized", ()),
        ]
        keys += [(p + f"sgconv.kernel_list.{j}", (n_kern, H, 2)) for j in range(n_scales)]
        if s4_layernorm:
            keys += [(p + "sgconv.norm.weight", (4 * H,)), (p + "sgconv.norm.bias", (4 * H,))]
        keys += [
            (p + "sgconv.output_linear.weight", (H, 4 * H)),
            (p + "sgconv.output_linear.bias", (H,)),
            (p + "attention.in_proj_weight", (3 * H, H)),
            (p + "attention.in_proj_bias", (3 * H,)),
            (p + "attention.out_proj.weight", (H, H)),
            (p + "attention.out_proj.bias", (H,)),
        ]
        keys += wn(p + "res_conv.", R, R) + wn(p + "skip_conv.", S, R)
    keys += wn("final_conv.0.conv.", S, S)
    keys += [
        ("final_conv.2.conv.weight", (O, S, 1)),
        ("final_conv.2.conv.bias", (O,)),
        ("norm.weight", (O,)),
        ("norm.bias", (O,)),
        ("lm_head_t.weight", (codebook_size_t, O)),
        ("lm_head_f.weight", (codebook_size_f, O)),
    ]
    hidden, flat = mlp_hidden_multiplier * O, n_chans * (n_times // patch_size) * O
    for idx, shape in ((1, (hidden, flat)), (4, (O, hidden)), (7, (n_outputs, O))):
        keys += [(f"final_layer.{idx}.weight", shape), (f"final_layer.{idx}.bias", (shape[0],))]
    return keys


def _reference_state_dict(layout, seed=0):
    """Random tensors of the reference's shapes, scaled to keep activations O(1)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in layout:
        if key.endswith("kernel_norm_initialized"):
            out[key] = torch.tensor(True)
        elif key.endswith(("kernel_norm", "multiplier")):
            out[key] = 1.0 + torch.rand(shape, generator=g)
        elif key.endswith(("original0", "norm.weight", "scale")) or ".proj_in.1." in key or ".proj_in.4." in key:
            out[key] = 1.0 + 0.1 * torch.randn(shape, generator=g) if shape else torch.tensor(1.0)
        else:
            fan_in = max(1, math.prod(shape[1:])) if len(shape) > 1 else 1
            out[key] = torch.randn(shape, generator=g) / math.sqrt(fan_in)
    return out


def _wn_weight(sd, prefix):
    g, v = sd[prefix + "parametrizations.weight.original0"], sd[prefix + "parametrizations.weight.original1"]
    return g * v / v.flatten(1).norm(dim=1).reshape(-1, 1, 1), sd[prefix + "bias"]


def _functional_codebrain(sd, cfg, x, mask=None):
    """CodeBrain's forward written from the state_dict alone (float64)."""
    import torch.nn.functional as F

    sd = {k: (v.double() if v.is_floating_point() else v) for k, v in sd.items()}
    x = x.double()
    P = cfg.get("patch_size", 200)
    c = cfg.get("conv_out_chans", 25)
    groups = cfg.get("conv_groups", 5)
    pad, rk = cfg.get("proj_padding", 24), cfg.get("proj_refine_kernel", 3)
    kh, kw = cfg.get("pos_kernel", (19, 7))
    window = cfg.get("swa_window_size", 1)
    bidir = cfg.get("s4_bidirectional", True)
    B, C, T = x.shape
    S = T // P
    patches = x[..., : S * P].reshape(B, C, S, P)
    if mask is not None:
        patches = torch.where((mask == 1)[..., None], sd["patch_embedding.mask_encoding"], patches)
    h = patches.reshape(B, 1, C * S, P)
    for i, (stride, padding) in enumerate([(c, pad), (1, rk // 2), (1, rk // 2)]):
        p = f"patch_embedding.proj_in.{3 * i}."
        h = F.conv2d(h, sd[p + "weight"], sd[p + "bias"], stride=(1, stride), padding=(0, padding))
        q = f"patch_embedding.proj_in.{3 * i + 1}."
        h = F.gelu(F.group_norm(h, groups, sd[q + "weight"], sd[q + "bias"]))
    L_emb = h.shape[-1]
    e = h.reshape(B, c, C, S, L_emb).permute(0, 2, 3, 1, 4).reshape(B, C, S, c * L_emb)
    spec = torch.fft.rfft(patches, dim=-1, norm="forward").abs()
    e = e + F.linear(spec, sd["patch_embedding.spectral_proj.0.weight"], sd["patch_embedding.spectral_proj.0.bias"])
    D = e.shape[-1]
    grid = e.permute(0, 3, 1, 2)
    pos = F.conv2d(grid, sd["patch_embedding.positional_encoding.0.weight"],
                   sd["patch_embedding.positional_encoding.0.bias"], padding=(kh // 2, kw // 2), groups=D)
    z = (grid + pos).reshape(B, D, C * S)
    L = C * S
    w, b = _wn_weight(sd, "init_conv.0.conv.")
    orig = F.relu(F.conv1d(z, w, b))
    hcur, skip = orig, 0.0
    n_blocks = sum(1 for k in sd if k.endswith("rms_norm.scale"))
    for i in range(n_blocks):
        p = f"residual_layer.residual_blocks.{i}."
        R = hcur.shape[1]
        xn = sd[p + "rms_norm.scale"] * hcur / (hcur.norm(dim=1, keepdim=True) / math.sqrt(R) + 1e-8)
        w, b = _wn_weight(sd, p + "conv_layer.conv.")
        u = F.gelu(F.conv1d(hcur + orig, w, b, padding=1))
        # multi-scale global convolution
        n_scales = sum(1 for k in sd if k.startswith(p + "sgconv.kernel_list."))
        pieces = []
        for j in range(n_scales):
            kj = F.interpolate(sd[p + f"sgconv.kernel_list.{j}"], scale_factor=2 ** max(0, j - 1), mode="linear")
            pieces.append(kj * sd[p + "sgconv.multiplier"] ** (n_scales - 1 - j))
        K = torch.cat(pieces, dim=-1)
        K = K[..., :L] if K.shape[-1] >= L else F.pad(K, (0, L - K.shape[-1]))
        K = K / sd[p + "sgconv.kernel_norm"]
        K = F.pad(K[:4], (0, L)) + F.pad(K[4:].flip(-1), (L, 0)) if bidir else F.pad(K, (0, L))
        y = torch.fft.irfft(torch.fft.rfft(u, n=2 * L)[:, None] * torch.fft.rfft(K, n=2 * L)[None], n=2 * L)[..., :L]
        y = y + u[:, None] * sd[p + "sgconv.skip_weight"][None, :, :, None]
        y = F.gelu(y.reshape(B, -1, L)).transpose(1, 2)
        if p + "sgconv.norm.weight" in sd:
            y = F.layer_norm(y, (y.shape[-1],), sd[p + "sgconv.norm.weight"], sd[p + "sgconv.norm.bias"])
        s = F.linear(y, sd[p + "sgconv.output_linear.weight"], sd[p + "sgconv.output_linear.bias"])  # (B, L, 2R)
        # sliding-window attention, 4 heads
        E = s.shape[-1]
        qkv = F.linear(s, sd[p + "attention.in_proj_weight"], sd[p + "attention.in_proj_bias"])
        q, k, v = (t.reshape(B, L, 4, E // 4).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(E // 4)
        idx = torch.arange(L)
        scores = scores.masked_fill((idx[:, None] - idx[None, :]).abs() > window // 2, float("-inf"))
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, L, E)
        a = F.linear(a, sd[p + "attention.out_proj.weight"], sd[p + "attention.out_proj.bias"])
        cmb = (s + a).transpose(1, 2)
        gate = torch.tanh(cmb[:, :R]) * torch.sigmoid(cmb[:, R:])
        wr, br = _wn_weight(sd, p + "res_conv.")
        ws, bs = _wn_weight(sd, p + "skip_conv.")
        hcur, skip = (xn + F.conv1d(gate, wr, br)) * math.sqrt(0.5), skip + F.conv1d(gate, ws, bs)
    skip = skip * math.sqrt(1.0 / n_blocks)
    w, b = _wn_weight(sd, "final_conv.0.conv.")
    out = F.conv1d(F.relu(F.conv1d(skip, w, b)), sd["final_conv.2.conv.weight"], sd["final_conv.2.conv.bias"])
    feats = out.reshape(B, -1, C, S).permute(0, 2, 3, 1)
    feats = F.layer_norm(feats, (feats.shape[-1],), sd["norm.weight"], sd["norm.bias"])
    h = feats.flatten(1)
    h = F.elu(F.linear(h, sd["final_layer.1.weight"], sd["final_layer.1.bias"]))
    h = F.elu(F.linear(h, sd["final_layer.4.weight"], sd["final_layer.4.bias"]))
    return F.linear(h, sd["final_layer.7.weight"], sd["final_layer.7.bias"]), feats


_FIDELITY_CASES = {
    # skip_channels != out_channels (final_conv: skip -> skip, then skip -> out)
    "skip_ne_out": dict(
        n_chans=4, n_times=600, n_outputs=3, res_channels=16, skip_channels=12, out_channels=8,
        num_res_layers=2, s4_lmax=12, pos_kernel=(3, 3), codebook_size_t=32, codebook_size_f=24,
    ),
    # patch_size=60: emb_dim = 75 != patch_size, so mask_encoding has 75 entries;
    # also a one-directional global convolution, its LayerNorm and a 3-token window
    "patch60": dict(
        n_chans=3, n_times=300, n_outputs=2, patch_size=60, res_channels=8, skip_channels=6,
        out_channels=10, num_res_layers=2, s4_lmax=15, pos_kernel=(3, 5), s4_bidirectional=False,
        s4_layernorm=True, swa_window_size=3, codebook_size_t=16, codebook_size_f=8,
    ),
}


def test_reference_layout_rules_reproduce_the_released_layout():
    """The hand-written rules give the fixture manifest's keys and shapes."""
    case = "codebrain_default_19x6000"
    expected = [(k, tuple(shape)) for k, shape, *_ in MANIFEST[case]["state_dict"]]
    assert _reference_layout(**MANIFEST[case]["kwargs"]) == expected


@pytest.mark.parametrize("name", sorted(_FIDELITY_CASES))
def test_reference_layout_loads_strictly_and_matches_functional_forward(name):
    cfg = _FIDELITY_CASES[name]
    layout = _reference_layout(**cfg)
    model = CodeBrain(**cfg).eval()
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == layout
    sd = _reference_state_dict(layout)
    model.load_state_dict(sd, strict=True)
    x = torch.randn(2, cfg["n_chans"], cfg["n_times"], generator=torch.Generator().manual_seed(1))
    logits_ref, feats_ref = _functional_codebrain(sd, cfg, x)
    for fast in (True, False):
        model.fast_inference = fast
        with torch.no_grad():
            logits = model(x)
            feats = model(x, return_features=True)["features"]
        torch.testing.assert_close(feats.double(), feats_ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(logits.double(), logits_ref, rtol=1e-4, atol=1e-4)
    assert logits_ref.abs().max() > 1e-2  # not a trivially zero comparison


def test_final_conv_is_skip_to_skip_then_skip_to_out():
    model = CodeBrain(**_FIDELITY_CASES["skip_ne_out"])
    first, act, last = model.final_conv
    assert first.conv.in_channels == first.conv.out_channels == 12
    assert hasattr(first.conv, "parametrizations")  # weight-normalised
    assert isinstance(act, torch.nn.ReLU)
    assert (last.conv.in_channels, last.conv.out_channels) == (12, 8)
    assert not hasattr(last.conv, "parametrizations")


def test_mask_token_has_the_embedding_width():
    cfg = _FIDELITY_CASES["skip_ne_out"]  # emb_dim == patch_size == 200
    layout = _reference_layout(**cfg)
    sd = _reference_state_dict(layout, seed=3)
    sd["patch_embedding.mask_encoding"] = torch.randn(200)  # non-zero, to see it used
    model = CodeBrain(**cfg).eval()
    model.load_state_dict(sd, strict=True)
    x = torch.randn(2, 4, 600)
    mask = torch.zeros(2, 4, 3, dtype=torch.long)
    mask[0, 1, 2] = mask[1, 3, 0] = 1
    with torch.no_grad():
        masked = model(x, mask=mask, return_features=True)["features"]
        replaced = x.clone().reshape(2, 4, 3, 200)
        replaced[mask == 1] = sd["patch_embedding.mask_encoding"]
        assert torch.equal(model(replaced.reshape(2, 4, 600), return_features=True)["features"], masked)
    _, feats_ref = _functional_codebrain(sd, cfg, x, mask=mask)
    torch.testing.assert_close(masked.double(), feats_ref, rtol=1e-4, atol=1e-4)

    odd = CodeBrain(**_FIDELITY_CASES["patch60"]).eval()
    assert odd.patch_embedding.mask_encoding.shape == (75,) and odd.emb_dim == 75
    with pytest.raises(ValueError, match="patch_size"):
        odd(torch.randn(1, 3, 300), mask=torch.ones(1, 3, 5))


def test_odd_res_channels_is_a_construction_error():
    with pytest.raises(ValueError, match="even res_channels"):
        CodeBrain(**{**_FIDELITY_CASES["skip_ne_out"], "res_channels": 9})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(proj_refine_kernel=2), "proj_refine_kernel must be a positive odd integer"),
        (dict(pos_kernel=(4, 7)), "pos_kernel must be two positive odd integers"),
        (dict(pos_kernel=(19, 6)), "pos_kernel must be two positive odd integers"),
        (dict(s4_lmax=1), "gives no kernel scale"),
        (dict(num_res_layers=0), "num_res_layers must be at least 1"),
    ],
)
def test_configurations_the_reference_cannot_run_are_construction_errors(kwargs, match):
    """The reference builds these and fails at the first call (shape error,
    empty kernel list, division by zero); found by a differential fuzz."""
    with pytest.raises(ValueError, match=match):
        CodeBrain(**{**_FIDELITY_CASES["skip_ne_out"], **kwargs})
