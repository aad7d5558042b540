"""The encoder protocol (skeegfm.models._protocol), checked on every encoder class.

Generic over ``skeegfm.models._encoder_classes()``, on tiny configurations
(tests/_tiny.py) deepened to 3 blocks: the split forward pass equals the
whole one at every cut, every parameter has a layer, the default LoRA
targets name linear layers of every block, gradient checkpointing gives the
same gradients and is switched off again, the poolings have the sizes they
say, and the input hooks agree with the models they build.
"""

from __future__ import annotations

import re

import pytest
import torch

from _tiny import TINY_CONFIGS
from skeegfm import models
from skeegfm.models._protocol import EncoderProtocol

FAMILY = {"EEGDINO": "eegdino", "EEGPT": "eegpt", "CodeBrain": "codebrain", "CBraMod": "cbramod"}
DEPTH_ARG = {"EEGDINO": "n_layer", "EEGPT": "depth", "CodeBrain": "num_res_layers", "CBraMod": "n_layer"}
N_BLOCKS = 3
TOL = dict(rtol=1e-4, atol=1e-5)


def _build(name, seed=0):
    """A tiny encoder of 3 blocks with a fresh 3-class head, in eval mode."""
    cls = models._encoder_class(name)
    config = dict(TINY_CONFIGS[FAMILY[name]], **{DEPTH_ARG[name]: N_BLOCKS})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(**config)
        with torch.no_grad():
            for param in model.parameters():
                param.add_(0.02 * torch.randn_like(param))
        model.reset_classifier(3)
    return model.eval()


def _input(model, n=2, seed=0):
    n_times = TINY_CONFIGS[FAMILY[type(model).__name__]]["n_times"]
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, model.n_chans, n_times, generator=generator)


@pytest.fixture(params=sorted(models._ENCODER_MODULES))
def name(request):
    return request.param


def test_every_encoder_implements_the_protocol(name):
    model = _build(name)
    assert isinstance(model, EncoderProtocol)
    assert len(model.blocks) == N_BLOCKS
    assert isinstance(model.blocks, torch.nn.ModuleList)
    assert model.poolings and all(isinstance(p, str) for p in model.poolings)
    assert model.head_prefixes and all(p.endswith(".") for p in model.head_prefixes)


@pytest.mark.parametrize("grad", [False, True])
def test_split_forward_equals_forward_at_every_cut(name, grad):
    torch.manual_seed(0)
    model = _build(name)
    x = _input(model)
    with torch.set_grad_enabled(grad):
        expected = model(x)
        whole = model.forward_head(model.forward_features(x))
        torch.testing.assert_close(whole, expected, **TOL)
        assert expected.shape == (2, 3)
        for cut in range(N_BLOCKS + 1):
            h = model.forward_until(x, cut)
            assert h.shape[0] == 2
            torch.testing.assert_close(model.forward_from(h, cut), expected, **TOL)


def test_layer_id_covers_every_parameter(name):
    model = _build(name)
    n = len(model.blocks)
    ids = {p: model.layer_id(p) for p, _ in model.named_parameters()}
    assert all(i is None or 0 <= i <= n + 1 for i in ids.values())
    # None only for pretraining-only parameters (unused by forward).
    unused = {p for p, i in ids.items() if i is None}
    assert all(p.startswith(tuple(model._pretraining_only_prefixes)) for p in unused)
    # The blocks number 1..n in order, each block's parameters alike.
    for index, block in enumerate(model.blocks):
        block_params = {id(p) for p in block.parameters()}
        names = [p for p, param in model.named_parameters() if id(param) in block_params]
        assert names and {ids[p] for p in names} == {index + 1}
    assert 0 in ids.values()  # an embedding before the blocks
    # The head is after the blocks, or before them (a channel projection).
    for p, i in ids.items():
        if p.startswith(tuple(model.head_prefixes)):
            assert i in (0, n + 1), p


def test_lora_targets_match_linear_layers_of_every_block(name):
    model = _build(name)
    patterns = model.lora_target_modules
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    linear = [m for m, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    hits = set()
    for pattern in patterns:
        regex = re.compile(rf"(?:.*\.)?(?:{pattern})")
        matched = [m for m in linear if regex.fullmatch(m)]
        assert matched, pattern
        hits.update(matched)
    for m in hits:
        assert not (m + ".").startswith(tuple(model.head_prefixes)), m
        assert 1 <= model.layer_id(m + ".weight") <= len(model.blocks), m
    # Every block has adapted layers.
    assert {model.layer_id(m + ".weight") for m in hits} == set(range(1, len(model.blocks) + 1))


def test_grad_checkpointing_same_gradients_and_switched_off(name):
    x = _input(_build(name))
    grads = []
    for enable in (False, True):
        model = _build(name)
        model.train()
        model.set_grad_checkpointing(enable)
        assert model.grad_checkpointing is enable
        torch.manual_seed(1)  # the same dropout draws
        model(x).sum().backward()
        grads.append({p: t.grad.clone() for p, t in model.named_parameters() if t.grad is not None})
        if enable:
            assert all("forward" in vars(b) for b in model.blocks)
            model.set_grad_checkpointing(False)
            assert model.grad_checkpointing is False
            assert all("forward" not in vars(b) for b in model.blocks)
    assert grads[0].keys() == grads[1].keys()
    for p in grads[0]:
        torch.testing.assert_close(grads[1][p], grads[0][p], rtol=1e-4, atol=1e-6)


def test_poolings_have_their_sizes(name):
    model = _build(name)
    x = _input(model)
    with torch.no_grad():
        features = model(x, return_features=True)
    for pooling in model.poolings:
        pooled = model.pool(features, pooling)
        assert pooled.shape == (2, model.pooled_size(pooling, x.shape[1])), pooling


def test_input_config_builds_a_model_for_the_input(name):
    cls = models._encoder_class(name)
    base = dict(TINY_CONFIGS[FAMILY[name]], return_encoder_output=True)
    ch_names = [ch["ch_name"] for ch in base.get("chs_info") or []] or [
        f"ch{i}" for i in range(base.get("n_chans", 19))
    ]
    n_times = base["n_times"]
    for head in (False, True):
        config = cls.input_config(ch_names[:19], n_times, 200.0, head=head)
        assert isinstance(config, dict)
        model = cls(**dict(base, **config))
        assert model.fixed_n_times in (None, n_times)
        fixed = model.fixed_ch_names
        assert fixed is None or list(fixed) == ch_names[:19]
        if head:
            model.reset_classifier(2)
            assert model.fixed_n_times in (None, n_times)
