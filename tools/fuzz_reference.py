"""Randomized differential test: braindecode reference encoders vs skeegfm's.

A maintainer's tool, not part of the package or of the tests: it needs the
reference implementation (``pip install braindecode``, which skeegfm does not
depend on; braindecode 1.8.1 was used on 2026-12-01, with torchaudio replaced
by a stub module where its binary did not match torch). Usage:

    HF_HUB_OFFLINE=1 python tools/fuzz_reference.py --enc EEGDINO --n 300 \
        [--root .] [--start 0] [--out fuzz_EEGDINO.jsonl] [--only 17]

For each sampled constructor configuration (seeded by encoder name and index):
build the reference; build ours with the same kwargs; compare state_dict keys
and shapes; load the reference's state_dict into ours with strict=True;
compare eval-mode outputs (logits / encoder output / features / mask path /
pretrain outputs), buffers after forward, train-mode features when the
encoder has no dropout, ``reset_head`` and the get_config/from_config round
trip. One JSON line per configuration, with a list of findings
(``{"kind": ..., "detail": ...}``); an empty list means everything matched.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import os
import random
import re
import sys
import time
import traceback
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_ap = argparse.ArgumentParser()
_ap.add_argument("--enc", required=True)
_ap.add_argument("--n", type=int, default=50)
_ap.add_argument("--start", type=int, default=0)
_ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ap.add_argument("--out", default=None)
_ap.add_argument("--only", type=int, nargs="*", default=None)
_ap.add_argument("--verbose", action="store_true")
ARGS = _ap.parse_args()
sys.path.insert(0, ARGS.root)

import logging  # noqa: E402

logging.disable(logging.WARNING)

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)

import braindecode.models as bdm  # noqa: E402
import skeegfm.models as skm  # noqa: E402
from braindecode.models.eegpt import EEGPT_CHANNELS as REF_EEGPT_CHANNELS  # noqa: E402

assert os.path.realpath(skm.__file__).startswith(os.path.realpath(ARGS.root)), skm.__file__

TUEG19 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4",
          "T5", "P3", "Pz", "P4", "T6", "O1", "O2"]


# ----------------------------------------------------------------------------- helpers
class _LazyHead3(nn.Module):
    """A head class instantiable without arguments (EEGPT final_layer)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.LazyLinear(3)

    def forward(self, x):
        return self.lin(x)


ACTS = [nn.GELU, nn.ReLU, nn.ELU, nn.SiLU, nn.Tanh, nn.Identity, nn.LeakyReLU, nn.Mish]


def short(v):
    if isinstance(v, type):
        return v.__name__
    if isinstance(v, functools.partial):
        return f"partial({short(v.func)}, {v.args}, {v.keywords})"
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return [d.get("ch_name") for d in v]
    if isinstance(v, (list, tuple)):
        return type(v)(short(x) for x in v)
    return v


def norm_msg(e):
    msg = f"{type(e).__name__}: {e}".split("\n")[0]
    msg = re.sub(r"\d+(\.\d+)?", "N", msg)
    return msg[:110]


def signal_kwargs(rng, n_chans, n_times, names=None, sfreq_choices=(200.0,), allow_no_times=False):
    """Signal parameters in one of several equivalent forms."""
    mode = rng.choice(["n", "n", "n", "info", "both", "secs", "all3"])
    kw = {}
    chs_info = [{"ch_name": n} for n in names] if names is not None else None
    if mode in ("info", "both") and chs_info is not None:
        kw["chs_info"] = chs_info
        if mode == "both":
            kw["n_chans"] = n_chans
    else:
        kw["n_chans"] = n_chans
        if chs_info is not None and rng.random() < 0.3:
            kw["chs_info"] = chs_info
    sfreq = rng.choice(sfreq_choices)
    if n_times is None:
        return kw
    if mode == "secs":
        kw["input_window_seconds"] = n_times / sfreq
        kw["sfreq"] = sfreq
    elif mode == "all3":
        kw["n_times"] = n_times
        kw["input_window_seconds"] = n_times / sfreq
        kw["sfreq"] = sfreq
    else:
        kw["n_times"] = n_times
        if rng.random() < 0.2:
            kw["sfreq"] = sfreq
    return kw


def conv_config(rng, patch_size, max_emb=96):
    """A random (out_ch, kernel, stride, padding, (groups, gn_ch)) stack."""
    for _ in range(200):
        n = rng.choice([1, 2, 3, 3])
        layers, length = [], patch_size
        for i in range(n):
            out = rng.choice([1, 2, 3, 4, 6, 8])
            groups = rng.choice([g for g in (1, 2, 3, 4) if out % g == 0])
            gn = out
            if rng.random() < 0.03:
                gn = out + 2  # GroupNorm that does not fit: reference fails at forward
            if i == 0:
                kernel = rng.choice([1, 2, 3, 5, 9, min(49, patch_size)])
                stride = rng.choice([1, 2, 3, 5, max(1, patch_size // 8), max(1, patch_size // 4)])
            else:
                kernel = rng.choice([1, 2, 3, 5])
                stride = rng.choice([1, 1, 1, 2])
            padding = rng.choice([0, kernel // 2, (kernel - 1) // 2, 1])
            layers.append((out, kernel, stride, padding, (groups, gn)))
            length = (length + 2 * padding - kernel) // stride + 1
        if 1 <= length and 2 <= out * length <= max_emb:
            return tuple(layers), out * length
    raise RuntimeError("no conv config")


# ----------------------------------------------------------------------------- samplers
def sample_eegdino(rng):
    patch_size = rng.choice([200, 64, 50, 37, 16, 10, 8])
    conv, emb = conv_config(rng, patch_size)
    n_layer = rng.choice([1, 2, 3])
    n_chans = rng.randint(1, 19)
    n_channel_embeddings = rng.choice([19, 19, n_chans, 24])
    if rng.random() < 0.05:
        n_chans = n_channel_embeddings + 1
    k = rng.choice([1, 2, 3, 4])
    n_times = rng.choice([patch_size * k, patch_size * k, patch_size * k + rng.randint(1, patch_size - 1)])
    if rng.random() < 0.08:
        n_times = max(1, patch_size - rng.randint(1, patch_size - 1))
    if rng.random() < 0.1:
        n_times = None
    roe = rng.random() < 0.3
    kw = dict(
        patch_size=patch_size,
        n_layer=n_layer,
        nhead=rng.choice([1, 2, 3, 4, 5, 8, emb, emb + 1]),
        dim_feedforward=rng.choice([1, 8, 16, 33]),
        channels_kernel_stride_padding_norm=conv,
        n_channel_embeddings=n_channel_embeddings,
        n_global_tokens=rng.choice([1, 1, 2, 3]),
        global_token_layer=rng.choice(list(range(1, n_layer + 1)) + ([0, n_layer + 1] if rng.random() < 0.05 else [])),
        activation=rng.choice(ACTS),
        patch_activation=rng.choice(ACTS),
        drop_prob=rng.choice([0.0, 0.0, 0.1, 0.5]),
        return_features=rng.random() < 0.2,
        return_encoder_output=roe,
    )
    if not roe or rng.random() < 0.5:
        kw["n_outputs"] = rng.choice([1, 2, 3, 5])
    names = rng.sample(TUEG19, min(n_chans, 19)) + [f"X{i}" for i in range(max(0, n_chans - 19))]
    kw.update(signal_kwargs(rng, n_chans, n_times, names, sfreq_choices=(200.0, 200.0, 256.0)))
    return kw


def sample_eegpt(rng):
    patch_size = rng.choice([64, 32, 16, 10, 8, 7])
    stride = rng.choice([None, patch_size, max(1, patch_size // 2), patch_size + 3, 32])
    embed_dim = rng.choice([8, 12, 16, 24, 32])
    divisors = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
    num_heads = rng.choice(divisors) if rng.random() < 0.95 else rng.choice([3, 5, 7])
    k = rng.choice([1, 2, 3, 4])
    n_times = rng.choice([patch_size * k, patch_size * k + rng.randint(1, patch_size - 1), patch_size])
    if rng.random() < 0.03:
        n_times = patch_size - 1
    chan_proj_type = rng.choice(["conv1d_constraint", "linear", "none", "none"])
    n_chans = rng.randint(1, 24)
    vocab = list(REF_EEGPT_CHANNELS)
    names = [rng.choice([n, n.lower(), n.capitalize(), n + "."]) for n in rng.sample(vocab, n_chans)]
    if rng.random() < 0.15:  # names outside the vocabulary / aliases / duplicates
        i = rng.randrange(n_chans)
        names[i] = rng.choice(["T3", "T5", "EEG Fp1-REF", "X1", "A1", names[(i + 1) % n_chans]])
    final_layer = None
    roe = rng.random() < 0.3
    if not roe and rng.random() < 0.15:
        final_layer = rng.choice([nn.Identity, _LazyHead3])
    norm_layer = rng.choice([None, None, None, nn.LayerNorm, functools.partial(nn.LayerNorm, eps=1e-2),
                             functools.partial(nn.LayerNorm, elementwise_affine=False), nn.RMSNorm])
    kw = dict(
        patch_size=patch_size,
        patch_stride=stride,
        embed_num=rng.choice([1, 2, 3, 4]),
        embed_dim=embed_dim,
        depth=rng.choice([1, 2, 3]),
        num_heads=num_heads,
        mlp_ratio=rng.choice([4.0, 2.0, 1.0, 0.5, 1.5, 0.3]),
        drop_prob=rng.choice([0.0, 0.0, 0.1]),
        attn_drop_rate=rng.choice([0.0, 0.0, 0.1]),
        drop_path_rate=rng.choice([0.0, 0.0, 0.1]),
        init_std=rng.choice([0.02, 0.2]),
        qkv_bias=rng.random() < 0.7,
        norm_layer=norm_layer,
        layer_norm_eps=rng.choice([1e-6, 1e-6, 1e-5, 0.5]),
        return_encoder_output=roe,
        chan_proj_type=chan_proj_type,
        n_chans_target=rng.choice([19, 19, 19, 1, 5]),
        chan_conv_max_norm=rng.choice([1.0, 0.5, 3.0]),
        final_layer=final_layer,
    )
    if rng.random() < 0.05:
        kw.pop("final_layer")
        kw["patch_module"] = None
    if not roe or rng.random() < 0.5:
        kw["n_outputs"] = rng.choice([1, 2, 3])
    kw.update(signal_kwargs(rng, n_chans, n_times, names, sfreq_choices=(256.0, 128.0)))
    return kw


def sample_codebrain(rng):
    patch_size = rng.choice([200, 64, 50, 40, 20, 16])
    for _ in range(200):
        coc = rng.choice([2, 4, 5, 8])
        groups = rng.choice([g for g in (1, 2, 4, 5) if coc % g == 0] + ([3] if rng.random() < 0.03 else []))
        pk = rng.choice([1, 3, 5, 9, min(49, patch_size)])
        pp = rng.choice([0, pk // 2, 1])
        L = (patch_size + 2 * pp - pk) // coc + 1
        if L >= 1 and 2 <= coc * L <= 96:
            break
    res = rng.choice([2, 4, 6, 8, 16]) if rng.random() < 0.95 else 3
    k = rng.choice([1, 2, 3])
    n_times = rng.choice([patch_size * k, patch_size * k, patch_size * k + rng.randint(1, patch_size - 1)])
    if rng.random() < 0.04:
        n_times = patch_size - 1
    n_chans = rng.randint(1, 24)
    kw = dict(
        patch_size=patch_size,
        res_channels=res,
        skip_channels=rng.choice([4, 8, 12, res]),
        out_channels=rng.choice([4, 8, 16]),
        num_res_layers=rng.choice([1, 2, 3]) if rng.random() < 0.97 else 0,
        drop_prob=rng.choice([0.0, 0.0, 0.1]),
        s4_bidirectional=rng.random() < 0.6,
        s4_layernorm=rng.random() < 0.4,
        s4_lmax=rng.choice([1, 2, 3, 5, 8, 16, 33, 100]),
        s4_d_state=rng.choice([64, 4]),
        conv_out_chans=coc,
        conv_groups=groups,
        proj_kernel_size=pk,
        proj_padding=pp,
        proj_refine_kernel=rng.choice([1, 3, 3, 5, 2]),
        pos_kernel=rng.choice([(19, 7), (3, 3), (1, 1), (5, 3), (2, 3), (3, 4), [3, 5]]),
        spectral_dropout=rng.choice([0.0, 0.1]),
        mlp_hidden_multiplier=rng.choice([1, 2, 4]),
        swa_window_size=rng.choice([1, 1, 3, 5]) if rng.random() < 0.95 else 2,
        codebook_size_t=rng.choice([4, 8]),
        codebook_size_f=rng.choice([4, 8]),
        pretrain_mode=rng.random() < 0.2,
        activation=rng.choice(ACTS),
    )
    kw["n_outputs"] = rng.choice([1, 2, 3])
    names = [f"E{i}" for i in range(n_chans)]
    kw.update(signal_kwargs(rng, n_chans, n_times, names))
    return kw


def sample_cbramod(rng):
    patch_size = 200 if rng.random() < 0.85 else rng.choice([201, 100])
    for _ in range(500):
        conv, d_model = conv_config(rng, patch_size, max_emb=96)
        if d_model % 2 == 0 or rng.random() < 0.05:
            break
    half = d_model // 2
    if rng.random() < 0.8:
        hh = rng.choice([h for h in range(1, half + 1) if half % h == 0][:4])
        nhead = 2 * hh + (1 if rng.random() < 0.2 else 0)
    else:
        nhead = rng.choice([1, 2, 3, 4, 6, 8])
    k = rng.choice([1, 2, 3])
    n_times = rng.choice([patch_size * k, patch_size * k, patch_size * k + rng.randint(1, 50)])
    n_chans = rng.randint(1, 20)
    roe = rng.random() < 0.3
    kw = dict(
        patch_size=patch_size,
        dim_feedforward=rng.choice([1, 8, 16, 33]),
        n_layer=rng.choice([1, 2, 3]) if rng.random() < 0.95 else 0,
        nhead=nhead,
        activation=rng.choice(ACTS),
        emb_dim=rng.choice([4, 8, 16, 7]),
        channels_kernel_stride_padding_norm=conv,
        drop_prob=rng.choice([0.0, 0.0, 0.1]),
        return_encoder_output=roe,
    )
    if not roe or rng.random() < 0.5:
        kw["n_outputs"] = rng.choice([1, 2, 3])
    names = rng.sample(TUEG19, min(n_chans, 19)) + [f"X{i}" for i in range(max(0, n_chans - 19))]
    kw.update(signal_kwargs(rng, n_chans, n_times, names))
    return kw


ENCODERS = {
    "EEGDINO": sample_eegdino,
    "EEGPT": sample_eegpt,
    "CodeBrain": sample_codebrain,
    "CBraMod": sample_cbramod,
}


# ----------------------------------------------------------------------------- comparison
def has_lazy(model):
    return any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters())


def n_times_of(kw):
    if kw.get("n_times") is not None:
        return kw["n_times"]
    if kw.get("input_window_seconds") is not None and kw.get("sfreq") is not None:
        return int(round(kw["input_window_seconds"] * kw["sfreq"]))
    return None


def n_chans_of(kw):
    if kw.get("n_chans") is not None:
        return kw["n_chans"]
    return len(kw["chs_info"])


def flat_outputs(out, prefix="out"):
    """Tensor leaves of a forward output, by path."""
    if isinstance(out, torch.Tensor):
        return {prefix: out}
    if out is None:
        return {prefix: None}
    if isinstance(out, dict):
        res = {}
        for k in sorted(out):
            res.update(flat_outputs(out[k], f"{prefix}.{k}"))
        return res
    if isinstance(out, (tuple, list)):
        res = {}
        for i, v in enumerate(out):
            res.update(flat_outputs(v, f"{prefix}[{i}]"))
        return res
    return {prefix: repr(type(out))}


def compare_outputs(ref_out, our_out, tag, findings, rtol=1e-4):
    a, b = flat_outputs(ref_out), flat_outputs(our_out)
    if set(a) != set(b):
        findings.append(dict(kind=f"{tag}:structure", detail=f"ref {sorted(a)} ours {sorted(b)}"))
        return
    for k in a:
        x, y = a[k], b[k]
        if x is None or y is None:
            if (x is None) != (y is None):
                findings.append(dict(kind=f"{tag}:none-mismatch", detail=f"{k}: ref {x is None} ours {y is None}"))
            continue
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            findings.append(dict(kind=f"{tag}:type", detail=f"{k}: {type(x)} vs {type(y)}"))
            continue
        if x.shape != y.shape:
            findings.append(dict(kind=f"{tag}:shape", detail=f"{k}: ref {tuple(x.shape)} ours {tuple(y.shape)}"))
            continue
        if x.numel() == 0:
            continue
        x, y = x.detach().double(), y.detach().double()
        if not torch.isfinite(x).all() or not torch.isfinite(y).all():
            same_nan = torch.equal(torch.isnan(x), torch.isnan(y))
            if not same_nan:
                findings.append(dict(kind=f"{tag}:nonfinite", detail=f"{k}: nan pattern differs"))
            fin = torch.isfinite(x) & torch.isfinite(y)
            x, y = x[fin], y[fin]
            if x.numel() == 0:
                continue
        scale = max(x.abs().max().item(), 1e-6)
        err = (x - y).abs().max().item()
        if err > rtol * scale:
            findings.append(dict(kind=f"{tag}:values", detail=f"{k}: max err {err:.3g} scale {scale:.3g}"))


def compare_state(ref_sd, our_sd, tag, findings, values=False):
    rk, ok = set(ref_sd), set(our_sd)
    if rk - ok:
        findings.append(dict(kind=f"{tag}:missing-in-ours", detail=sorted(rk - ok)[:8]))
    if ok - rk:
        findings.append(dict(kind=f"{tag}:extra-in-ours", detail=sorted(ok - rk)[:8]))
    bad = [(k, tuple(ref_sd[k].shape), tuple(our_sd[k].shape)) for k in rk & ok
           if tuple(ref_sd[k].shape) != tuple(our_sd[k].shape)]
    if bad:
        findings.append(dict(kind=f"{tag}:shape", detail=bad[:8]))
    bad_dtype = [(k, str(ref_sd[k].dtype), str(our_sd[k].dtype)) for k in rk & ok
                 if ref_sd[k].dtype != our_sd[k].dtype]
    if bad_dtype:
        findings.append(dict(kind=f"{tag}:dtype", detail=bad_dtype[:8]))
    if values:
        diff = []
        for k in rk & ok:
            a, b = ref_sd[k], our_sd[k]
            if a.shape != b.shape:
                continue
            if a.is_floating_point():
                if not torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-6):
                    diff.append(k)
            elif not torch.equal(a, b.to(a.dtype)):
                diff.append(k)
        if diff:
            findings.append(dict(kind=f"{tag}:values", detail=sorted(diff)[:8]))


def run_fwd(model, x, **kw):
    with torch.no_grad():
        return model(x, **kw)


def try_(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001
        return None, e


def check_one(enc, idx):
    rng = random.Random(f"{enc}-{idx}")
    kwargs = ENCODERS[enc](rng)
    seed = int(hashlib.md5(f"{enc}-{idx}".encode()).hexdigest()[:8], 16)
    rec = dict(enc=enc, idx=idx, kwargs={k: short(v) for k, v in kwargs.items()}, findings=[])
    F = rec["findings"]
    RefCls, OurCls = getattr(bdm, enc), getattr(skm, enc)

    torch.manual_seed(seed)
    ref, ref_err = try_(lambda: RefCls(**copy.deepcopy(kwargs)))
    torch.manual_seed(seed)
    ours, our_err = try_(lambda: OurCls(**copy.deepcopy(kwargs)))
    C, T = n_chans_of(kwargs), n_times_of(kwargs)
    T_in = T if T is not None else 2 * kwargs.get("patch_size", 200)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, C, T_in, generator=g)
    n_patch = T_in // kwargs.get("patch_size", 200)
    mask = (torch.rand(2, C, max(n_patch, 1), generator=g) < 0.4).float()

    if ref_err is not None:
        rec["status"] = "ref-rejects" if our_err is not None else "ref-rejects-ours-builds"
        rec["ref_err"] = norm_msg(ref_err)
        if our_err is not None:
            rec["our_err"] = norm_msg(our_err)
        return rec
    ref.eval()
    # Does the reference run its default forward? (on a copy: CodeBrain sets
    # its kernel_norm buffers at the first call)
    probe = ref if has_lazy(ref) else copy.deepcopy(ref)
    _, fe = try_(lambda: run_fwd(probe, x))
    del probe
    if fe is not None:
        rec["ref_fwd_err"] = norm_msg(fe)
    if our_err is not None:
        rec["our_err"] = norm_msg(our_err)
        if fe is not None:
            rec["status"] = "ours-rejects-ref-fails-at-forward"
            rec["ref_fwd_err"] = norm_msg(fe)
        else:
            rec["status"] = "ours-rejects-ref-runs"
            F.append(dict(kind="ours-rejects-ref-runs", detail=norm_msg(our_err)))
        return rec
    ours.eval()

    if fe is not None:
        # The reference cannot run this configuration: nothing to match.
        _, oe0 = try_(lambda: run_fwd(ours, x))
        rec["status"] = "ref-fails-at-forward-ours-runs" if oe0 is None else "ref-fails-at-forward"
        if oe0 is not None:
            rec["our_fwd_err"] = norm_msg(oe0)
        return rec
    ref_sd = {k: v.detach().clone() for k, v in ref.state_dict().items()}
    if has_lazy(ours):
        try_(lambda: run_fwd(ours, x))
    compare_state(ref_sd, ours.state_dict(), "sd", F)
    # Buffers follow from the configuration: compare their values before loading.
    ref_buf = {k: v for k, v in ref.named_buffers() if k in ref_sd}
    our_buf = {k: v for k, v in ours.named_buffers() if k in ours.state_dict()}
    compare_state(ref_buf, our_buf, "buffers-before-load", F, values=True)
    _, le = try_(lambda: ours.load_state_dict(ref_sd, strict=True))
    if le is not None:
        F.append(dict(kind="load-strict-fails", detail=norm_msg(le)))
        rec["status"] = "compared"
        return rec

    ref_t, ours_t = copy.deepcopy(ref), copy.deepcopy(ours)

    # eval forward, default path
    ref_out, re_ = try_(lambda: run_fwd(ref, x))
    our_out, oe = try_(lambda: run_fwd(ours, x))
    if re_ is not None:
        rec["status"] = "harness-error"
        rec["error"] = "ref forward failed after the probe ran: " + norm_msg(re_)
        return rec
    rec["status"] = "compared"
    if os.environ.get("FUZZ_MUTATE") and oe is None:  # self-test of the comparison
        with torch.no_grad():
            p = max(ours.parameters(), key=lambda t: t.numel())
            p.add_(0.05 * torch.randn_like(p))
        our_out = run_fwd(ours, x)
    if oe is not None:
        F.append(dict(kind="fwd:ours-raises", detail=norm_msg(oe)))
    else:
        compare_outputs(ref_out, our_out, "fwd", F)
    compare_state({k: v for k, v in ref.state_dict().items()}, ours.state_dict(), "sd-after-fwd", F, values=True)

    # another input: batch 1, one patch longer (where the reference runs it)
    P = kwargs.get("patch_size", 200)
    x2 = torch.randn(1, C, T_in + P, generator=g)
    for kw2 in ({}, {"return_features": True}):
        r, re7 = try_(lambda: run_fwd(ref, x2, **kw2))
        if re7 is not None:
            continue
        o, oe7 = try_(lambda: run_fwd(ours, x2, **kw2))
        tag = "longer-input" + ("-features" if kw2 else "")
        if oe7 is not None:
            F.append(dict(kind=f"{tag}:ours-raises", detail=norm_msg(oe7)))
        else:
            compare_outputs(r, o, tag, F)

    # features path
    if enc != "EEGDINO" or True:
        r, re2 = try_(lambda: run_fwd(ref, x, return_features=True))
        o, oe2 = try_(lambda: run_fwd(ours, x, return_features=True))
        if re2 is None and oe2 is not None:
            F.append(dict(kind="features:ours-raises", detail=norm_msg(oe2)))
        elif re2 is not None and oe2 is None:
            rec["features_ref_err"] = norm_msg(re2)
        elif re2 is None:
            compare_outputs(r, o, "features", F)
    if enc == "EEGDINO":
        r, _ = try_(lambda: run_fwd(ref, x, return_features=False))
        o, oe2 = try_(lambda: run_fwd(ours, x, return_features=False))
        if r is not None:
            if oe2 is not None:
                F.append(dict(kind="nofeatures:ours-raises", detail=norm_msg(oe2)))
            else:
                compare_outputs(r, o, "nofeatures", F)

    # mask path
    if enc in ("CodeBrain", "CBraMod"):
        r, re3 = try_(lambda: run_fwd(ref, x, mask=mask))
        o, oe3 = try_(lambda: run_fwd(ours, x, mask=mask))
        if re3 is None and oe3 is not None:
            F.append(dict(kind="mask:ours-raises", detail=norm_msg(oe3)))
        elif re3 is None:
            compare_outputs(r, o, "mask", F)
        else:
            rec["mask_ref_err"] = norm_msg(re3)
            if oe3 is None:
                rec["mask_ours_runs"] = True

    # train mode, features path, when nothing is random
    no_dropout = {
        "EEGDINO": kwargs.get("drop_prob") == 0.0,
        "EEGPT": all(kwargs.get(k) == 0.0 for k in ("drop_prob", "attn_drop_rate", "drop_path_rate")),
        "CodeBrain": kwargs.get("drop_prob") == 0.0 and kwargs.get("spectral_dropout") == 0.0,
        "CBraMod": kwargs.get("drop_prob") == 0.0,
    }[enc]
    if no_dropout:
        # on copies made before any forward (CodeBrain sets kernel_norm at the first call)
        ref_t.train(), ours_t.train()
        r, re4 = try_(lambda: ref_t(x, return_features=True))
        o, oe4 = try_(lambda: ours_t(x, return_features=True))
        if re4 is None and oe4 is not None:
            F.append(dict(kind="train-features:ours-raises", detail=norm_msg(oe4)))
        elif re4 is None:
            compare_outputs(r, o, "train-features", F)
            compare_state(ref_t.state_dict(), ours_t.state_dict(), "train-sd-after", F, values=True)
    del ref_t, ours_t

    # eval mode with autograd on (other code paths in ours)
    r, re8 = try_(lambda: ref(x))
    o, oe8 = try_(lambda: ours(x))
    if re8 is None and oe8 is not None:
        F.append(dict(kind="eval-grad:ours-raises", detail=norm_msg(oe8)))
    elif re8 is None:
        compare_outputs(r, o, "eval-grad", F)

    # input one sample longer than n_times
    x3 = torch.randn(2, C, T_in + 1, generator=g)
    r, re9 = try_(lambda: run_fwd(ref, x3))
    if re9 is None:
        o, oe9 = try_(lambda: run_fwd(ours, x3))
        if oe9 is not None:
            F.append(dict(kind="plus-one-input:ours-raises", detail=norm_msg(oe9)))
        else:
            compare_outputs(r, o, "plus-one-input", F)

    # the reference's state_dict after its first calls, into a fresh model of ours
    torch.manual_seed(seed + 1)
    fresh2, fe2 = try_(lambda: OurCls(**copy.deepcopy(kwargs)))
    if fresh2 is not None:
        fresh2.eval()
        if has_lazy(fresh2):
            try_(lambda: run_fwd(fresh2, x))
        _, le4 = try_(lambda: fresh2.load_state_dict(ref.state_dict(), strict=True))
        if le4 is not None:
            F.append(dict(kind="reload:load-fails", detail=norm_msg(le4)))
        else:
            r, _ = try_(lambda: run_fwd(ref, x))
            o, oe10 = try_(lambda: run_fwd(fresh2, x))
            if oe10 is not None:
                F.append(dict(kind="reload:ours-raises", detail=norm_msg(oe10)))
            else:
                compare_outputs(r, o, "reload", F)

    # the reference's save_pretrained directory, read by our from_pretrained
    if not os.environ.get("FUZZ_NO_HUB"):
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix=f"hub_{enc}_{idx}_", dir=None)
        try:
            _, se = try_(lambda: ref.save_pretrained(tmp))
            if se is not None:
                rec["hub_ref_save_err"] = norm_msg(se)
            else:
                loaded, he = try_(lambda: OurCls.from_pretrained(tmp))
                if he is not None:
                    F.append(dict(kind="hub:from_pretrained-fails", detail=norm_msg(he)))
                else:
                    r, re11 = try_(lambda: run_fwd(ref, x))
                    o, oe11 = try_(lambda: run_fwd(loaded.eval(), x))
                    if re11 is None and oe11 is not None:
                        F.append(dict(kind="hub:ours-raises", detail=norm_msg(oe11)))
                    elif re11 is None:
                        compare_outputs(r, o, "hub-fwd", F)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # reset_head
    if hasattr(ref, "reset_head"):
        n_new = 4
        _, re5 = try_(lambda: ref.reset_head(n_new))
        _, oe5 = try_(lambda: ours.reset_head(n_new))
        if re5 is None and oe5 is not None:
            F.append(dict(kind="reset_head:ours-raises", detail=norm_msg(oe5)))
        elif re5 is not None:
            rec["reset_head_ref_err"] = norm_msg(re5)
        else:
            ref.eval(), ours.eval()
            if has_lazy(ref):
                try_(lambda: run_fwd(ref, x))
            if has_lazy(ours):
                try_(lambda: run_fwd(ours, x))
            sd2 = {k: v.detach().clone() for k, v in ref.state_dict().items()}
            compare_state(sd2, ours.state_dict(), "reset_head-sd", F)
            _, le2 = try_(lambda: ours.load_state_dict(sd2, strict=True))
            if le2 is not None:
                F.append(dict(kind="reset_head:load-fails", detail=norm_msg(le2)))
            else:
                r, re6 = try_(lambda: run_fwd(ref, x))
                o, oe6 = try_(lambda: run_fwd(ours, x))
                if re6 is None and oe6 is not None:
                    F.append(dict(kind="reset_head-fwd:ours-raises", detail=norm_msg(oe6)))
                elif re6 is None:
                    compare_outputs(r, o, "reset_head-fwd", F)
                elif oe6 is None:
                    rec["reset_head_ref_fwd_err"] = norm_msg(re6)

    # config round trip (ours only): same architecture, same outputs with the same weights
    if hasattr(ours, "get_config") and hasattr(type(ours), "from_config"):
        torch.manual_seed(seed)
        fresh, fe = try_(lambda: OurCls(**copy.deepcopy(kwargs)))
        if fresh is not None:
            fresh.eval()
            if has_lazy(fresh):
                try_(lambda: run_fwd(fresh, x))
            cfg, ce = try_(lambda: json.loads(json.dumps(fresh.get_config())))
            if ce is not None:
                F.append(dict(kind="config:get_config-fails", detail=norm_msg(ce)))
            else:
                again, ae = try_(lambda: type(fresh).from_config(cfg))
                if ae is not None:
                    F.append(dict(kind="config:from_config-fails", detail=norm_msg(ae)))
                else:
                    again.eval()
                    if has_lazy(again):
                        try_(lambda: run_fwd(again, x))
                    _, le3 = try_(lambda: again.load_state_dict(fresh.state_dict(), strict=True))
                    if le3 is not None:
                        F.append(dict(kind="config:load-fails", detail=norm_msg(le3)))
                    else:
                        a, e1 = try_(lambda: run_fwd(fresh, x))
                        b, e2 = try_(lambda: run_fwd(again, x))
                        if (e1 is None) != (e2 is None):
                            F.append(dict(kind="config:fwd-raises", detail=f"{e1!r} {e2!r}"[:200]))
                        elif e1 is None:
                            compare_outputs(a, b, "config-fwd", F, rtol=1e-6)
    return rec


def main():
    out = open(ARGS.out, "a") if ARGS.out else None
    idxs = ARGS.only if ARGS.only else range(ARGS.start, ARGS.start + ARGS.n)
    t0 = time.time()
    for idx in idxs:
        t = time.time()
        try:
            rec = check_one(ARGS.enc, idx)
        except Exception as e:  # noqa: BLE001
            rec = dict(enc=ARGS.enc, idx=idx, status="harness-error", error=norm_msg(e),
                       tb=traceback.format_exc()[-1500:], findings=[])
        rec["secs"] = round(time.time() - t, 2)
        line = json.dumps(rec, default=repr)
        if out:
            out.write(line + "\n")
            out.flush()
        if ARGS.verbose or not out:
            print(line, flush=True)
    if out:
        out.close()
    print(f"done {ARGS.enc} {len(list(idxs))} in {time.time() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
