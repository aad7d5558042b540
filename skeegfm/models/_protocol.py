"""What the estimators above ``models/`` may ask of an encoder class.

Every encoder of :mod:`skeegfm.models` (the classes of
``skeegfm.models._encoder_classes()``) implements :class:`EncoderProtocol`,
at the end of its class body. The embedders and the fine-tuning classifiers
(:mod:`skeegfm.embedders`, :mod:`skeegfm.classifiers`) use only these
members, so that they hold no knowledge of any one encoder: adding an encoder
means writing these members for it, never editing the estimators' bases.

The names follow timm's where timm has one (``forward_features``,
``forward_head``, ``set_grad_checkpointing``, ``reset_classifier``) and
BEiT's layer numbering for layer-wise learning-rate decay (``layer_id``,
after BEiT's ``get_layer_id_for_vit``) [1]_ [2]_.

Structure (fine-tuning):

- ``blocks``: the encoder's repeated blocks, in order (an ``nn.ModuleList``);
  ``tuning="partial"`` trains the last ones, gradient checkpointing wraps them.
- ``layer_id(name)``: BEiT's layer number of a parameter: 0 for what runs
  before the blocks (embeddings, tokens, a channel projection), ``i + 1`` for
  block ``i``, ``len(blocks) + 1`` for what follows them (final norm,
  projections, the head); ``None`` for parameters the model never uses
  outside pretraining (never trained).
- ``head_prefixes``: parameter-name prefixes of the parts no pretrained
  checkpoint provides (the head, and e.g. EEGPT's channel projection); they
  train in every tuning mode, at the full learning rate.
- ``lora_target_modules``: the default LoRA targets, regular expressions
  matched against the end of module names (a str or a tuple of str).

Forward passes:

- ``forward_features(x)``: the features the head reads, as
  ``forward(x, return_features=True)["features"]``;
- ``forward_head(features)``: the head's logits from those features;
- ``forward_until(x, cut)``: the input of block ``cut`` (0-based; ``cut =
  len(blocks)`` is the output of the last block), one tensor with the epochs
  along the first axis, so that activations can be computed once and kept;
- ``forward_from(h, cut)``: logits from ``h = forward_until(x, cut)``: blocks
  ``cut`` onwards, what follows them and the head, exactly as ``forward``
  runs them, so ``forward_from(forward_until(x, k), k)`` equals
  ``forward_head(forward_features(x))`` for every ``k``;
- ``set_grad_checkpointing(enable=True)``: recompute each block's
  activations in the backward pass instead of storing them
  (:func:`torch.utils.checkpoint.checkpoint`), for blocks with trainable
  parameters while gradients are computed;
- ``reset_classifier(n_outputs)``: a fresh head with ``n_outputs`` outputs,
  everything under ``head_prefixes`` freshly initialised, and ``forward``
  returning logits.

Input and features (embedding):

- ``input_config(ch_names, n_times, sfreq, *, head)`` (classmethod): the
  constructor arguments that adapt a pretrained encoder to the input
  (channels by name, window), with or without a head to train;
- ``fixed_n_times`` / ``fixed_ch_names``: the window length and channels an
  instance was built for and requires (``None``: any length, the record's
  channel slots);
- ``poolings``, ``pool(features, pooling)``, ``pooled_size(pooling,
  n_chans)``: the poolings of ``forward(x, return_features=True)`` into one
  vector per epoch (first: the default), and their sizes.

Optional: a module whose cached evaluation path reads weights directly
(past the layers LoRA wraps) exposes a boolean ``fast_inference``; the
classifiers turn it off while adapters are in place (CodeBrain).

References
----------
.. [1] Bao, H., Dong, L., Piao, S. & Wei, F. (2022). BEiT: BERT Pre-Training
       of Image Transformers. ICLR 2022.
.. [2] Wightman, R. (2019). PyTorch Image Models (timm).
       https://github.com/huggingface/pytorch-image-models
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["EncoderProtocol", "checkpoint_blocks", "layer_id_of"]


@runtime_checkable
class EncoderProtocol(Protocol):
    """The members every encoder class implements (see the module docstring)."""

    head_prefixes: tuple
    lora_target_modules: tuple | str
    poolings: tuple
    grad_checkpointing: bool

    @property
    def blocks(self) -> nn.ModuleList: ...

    def layer_id(self, name: str) -> int | None: ...

    def forward_features(self, x: torch.Tensor) -> torch.Tensor: ...

    def forward_head(self, features: torch.Tensor) -> torch.Tensor: ...

    def forward_until(self, x: torch.Tensor, cut: int) -> torch.Tensor: ...

    def forward_from(self, h: torch.Tensor, cut: int) -> torch.Tensor: ...

    def set_grad_checkpointing(self, enable: bool = True) -> None: ...

    def reset_classifier(self, n_outputs: int) -> None: ...

    @classmethod
    def input_config(cls, ch_names, n_times: int, sfreq: float, *, head: bool) -> dict: ...

    @property
    def fixed_n_times(self) -> int | None: ...

    @property
    def fixed_ch_names(self) -> list | None: ...

    def pool(self, features: dict, pooling: str) -> torch.Tensor: ...

    def pooled_size(self, pooling: str, n_chans: int) -> int: ...


def layer_id_of(name: str, blocks_prefix: str, n_blocks: int, stem=(), unused=()) -> int | None:
    """BEiT layer number of the parameter ``name`` (the usual ``layer_id`` rule).

    Parameters
    ----------
    name : str
        Parameter name (LoRA's inserted ``base_layer`` / ``lora_A`` parts
        keep the prefixes, so adapted layers number as their blocks).
    blocks_prefix : str
        Name prefix of the blocks' ``ModuleList``, with its dot, e.g.
        ``"encoder_layers."``.
    n_blocks : int
        Number of blocks ``L``.
    stem : tuple of str
        Prefixes of what runs before the blocks (layer 0).
    unused : tuple of str
        Prefixes of parameters unused outside pretraining (``None``).

    Returns
    -------
    layer : int | None
        ``0`` for ``stem``, ``i + 1`` for block ``i``, ``L + 1`` for anything
        else; ``None`` for ``unused``.
    """
    if name.startswith(blocks_prefix):
        return int(name[len(blocks_prefix) :].split(".", 1)[0]) + 1
    if unused and name.startswith(tuple(unused)):
        return None
    if name.startswith(tuple(stem)):
        return 0
    return n_blocks + 1


def checkpoint_blocks(blocks, enable: bool) -> None:
    """Switch activation checkpointing of every module of ``blocks`` on or off.

    On: each block's ``forward`` runs through
    :func:`torch.utils.checkpoint.checkpoint` (non-reentrant) while gradients
    are computed and the block has parameters that require them; otherwise
    (inference, frozen blocks: nothing to recompute for) it runs as usual.
    Off: the blocks' own ``forward`` methods are back.
    """
    for block in blocks:
        if "forward" in vars(block):
            del block.forward
        if not enable:
            continue
        original = block.forward

        def forward(*args, _original=original, _block=block, **kwargs):
            if torch.is_grad_enabled() and any(p.requires_grad for p in _block.parameters()):
                return checkpoint(_original, *args, use_reentrant=False, **kwargs)
            return _original(*args, **kwargs)

        block.forward = forward
