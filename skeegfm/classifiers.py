"""Fine-tuning classifiers: EEG epochs and labels in, a fine-tuned model out.

:class:`EEGDINOClassifier`, :class:`EEGPTClassifier`,
:class:`CodeBrainClassifier` and :class:`CBraModClassifier` put each
encoder's own classification head on a
pretrained encoder and train it inside ``fit``, in one of four modes:

- ``"linear_probe"``: the encoder is frozen; its features are computed once
  per ``fit`` (under :func:`torch.inference_mode`, in eval mode) and only the
  head trains on them (EEGPT with a channel projection also trains the
  projection, in front of the encoder, so the encoder then runs every epoch);
- ``"partial"``: the last ``n_trainable_blocks`` blocks, what follows them
  and the head train; the frozen lower blocks run once per ``fit`` (their
  outputs are kept in memory, up to ``activation_cache_bytes``);
- ``"lora"``: low-rank adapters [7]_ (through the ``peft`` library) on the
  linear layers of every encoder block, and the head, train; the encoder's
  weights stay frozen, and the adapters are merged into them after training;
- ``"full"``: everything trains, with layer-wise learning-rate decay [4]_ [5]_.

Every ``fit`` starts again from the checkpoint (unless ``warm_start``): the
trained model is a private copy, and the frozen encoder shared through the
process-wide cache (:mod:`skeegfm._base`) is never modified, so pretrained
weights survive ``GridSearchCV``. The input path (channels by name,
resampling, re-referencing, scaling) is the shared adapter
:mod:`skeegfm._inputs`; the training loop is :mod:`skeegfm._training`.

References
----------
.. [1] Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via
       Hierarchical Self-Distillation. MICCAI 2025.
.. [2] Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal
       and reliable representation of EEG signals. NeurIPS 37.
.. [3] Ma, J. et al. (2026). CodeBrain: Bridging Decoupled Tokenizer and
       Multi-Scale Architecture for EEG Foundation Model. ICLR 2026.
.. [4] Bao, H. et al. (2022). BEiT: BERT Pre-Training of Image Transformers.
       ICLR 2022.
.. [5] Jiang, W. et al. (2024). Large Brain Model for Learning Generic
       Representations with Tremendous EEG Data in BCI. ICLR 2024.
.. [6] Wang, J. et al. (2025). CBraMod: A Criss-Cross Brain Foundation Model
       for EEG Decoding. ICLR 2025.
.. [7] Hu, E. J. et al. (2022). LoRA: Low-Rank Adaptation of Large Language
       Models. ICLR 2022.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import warnings

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _training
from ._base import (
    DEVICE_PARAMETERS_DOC,
    FITTED_INPUT_ATTRIBUTES_DOC,
    INPUT_PARAMETERS_DOC,
    TRUST_PARAMETER_DOC,
    _BaseFoundationEstimator,
    _check_choice,
    _check_int,
    _check_real,
    _freeze,
    copy_encoder,
    resolve_device,
)

__all__ = ["CBraModClassifier", "CodeBrainClassifier", "EEGDINOClassifier", "EEGPTClassifier"]

_TUNINGS = ("linear_probe", "partial", "lora", "full")
#: Default memory budget of the activations kept by ``tuning="partial"``.
_ACTIVATION_CACHE_BYTES = 2 * 1024**3
_CHAN_PROJ_TYPES = ("none", "conv1d_constraint", "linear")

_PARAMETERS = """\
tuning : {"linear_probe", "partial", "lora", "full"}
        What trains. ``"linear_probe"``: the head only, on frozen features
        computed once per fit. ``"partial"``: the last ``n_trainable_blocks``
        encoder blocks, the layers after them and the head; the outputs of
        the frozen blocks below are computed once per fit. ``"lora"``:
        low-rank adapters (LoRA [7]_, through ``peft``; ``pip install
        skeegfm[lora]``) on the encoder's linear layers, and the head; the
        encoder's weights stay frozen, the adapters are merged into them after
        training, so prediction costs what the plain encoder costs.
        ``"full"``: everything. See :doc:`/fine_tuning` for their time and
        memory.
    n_trainable_blocks : int
        Blocks trained with ``tuning="partial"`` (the last ones).
    lora_rank : int
        Rank ``r`` of the LoRA update ``B @ A`` of each adapted layer.
        Default 8.
    lora_alpha : float
        LoRA scale numerator: the update is ``(lora_alpha / lora_rank) B @ A``.
        Default 16 (twice the rank, a common choice; the scale is then 2).
    lora_dropout : float
        Dropout on the input of the LoRA branch (training only). Default
        0.0 (peft's default).
    lora_target : None | str | list of str
        Linear layers of the encoder that get adapters. Each entry is a
        regular expression matched against the end of the module names (after
        a ``.``), e.g. ``"attn.qkv"`` or ``"blocks.[67].mlp.fc[12]"``;
        every entry must match at least one linear layer (the head's layers
        never match; they train fully). ``None``: the model's
        ``lora_target_modules`` (attention projections and MLP layers of every
        block; for CodeBrain, the attention output projection and the linear
        layer after the global convolution; for CBraMod, the attention output
        projections and the feed-forward layers). See :doc:`/fine_tuning`.
    activation_cache_bytes : int
        Memory budget (bytes) of ``tuning="partial"``'s kept activations: the
        outputs of the frozen blocks for all training epochs. When they would
        need more, the frozen blocks run again at every step instead (with a
        warning). 0 always recomputes. Default 2 GiB.
    max_epochs : int
        Passes over the training data. Default: %(max_epochs)s.
    batch_size : int
        Epochs per optimizer step and per forward pass at prediction.
        Default 64 (EEGPT's probe, LaBraM [5]_).
    lr : float
        Peak learning rate of AdamW (of the head, and of the last layers
        with ``layer_decay``). Default: %(lr)s.
    weight_decay : float
        AdamW's decoupled weight decay (not applied to biases, norms and
        learned tokens). Default: %(weight_decay)s.
    layer_decay : float
        Layer-wise learning-rate decay for ``"full"`` and ``"partial"``:
        block ``i`` of ``L`` trains at ``lr * layer_decay ** (L - i)``, the
        embeddings at ``lr * layer_decay ** (L + 1)``, the head at ``lr``
        (BEiT [4]_). Default 0.65 (LaBraM's fine-tuning [5]_); 1.0 turns it off.
    warmup_epochs : float | "auto"
        Epochs of linear learning-rate warm-up, followed by a cosine decay
        to zero over the remaining epochs of the schedule (per optimizer
        step). ``"auto"``: %(warmup)s of the schedule's length.
    schedule_epochs : int | None
        Length of the learning-rate schedule, in epochs counted from the first
        epoch of a ``fit`` that starts from the checkpoint. ``None``: the
        schedule ends with the fit (with ``warm_start``: the epochs trained so
        far plus ``max_epochs``). Set it to the total number of epochs when
        training in several warm-started fits: two fits of ``max_epochs=5``
        with ``schedule_epochs=10`` train as one fit of ``max_epochs=10``.
    validation_fraction : float | None
        Fraction of the training epochs held out (stratified by class) to
        monitor the validation loss; the weights of the epoch with the lowest
        validation loss are restored at the end. ``None``: train on
        everything for ``max_epochs``.
    patience : int | None
        Stop when the validation loss has not improved for this many
        epochs. ``None``: no early stopping (the best epoch is still
        restored).
    class_weight : None | "balanced" | dict
        Weights of the classes in the cross-entropy; ``"balanced"``:
        ``n_epochs / (n_classes * count(class))`` on the training epochs.
    gradient_checkpointing : bool
        Recompute the activations of each encoder block in the backward pass
        instead of storing them (:mod:`torch.utils.checkpoint`): less memory
        for long windows, about one more forward pass of time.
    warm_start : bool
        Continue from the previous ``fit`` (same classes and channels)
        instead of starting again from the checkpoint: from its last weights,
        AdamW's moments, the position in the learning-rate schedule, the
        early-stopping record (best validation loss and weights, epochs
        without improvement) and the random state, so that with the same
        ``random_state`` and data two fits of 5 epochs equal one of 10 (see
        ``schedule_epochs``); ``history_`` grows. A fit with
        ``warm_start=True`` keeps that state in ``training_state_`` (the
        optimizer's moments are twice the trained parameters). Changing
        ``tuning`` (or the LoRA parameters, or ``n_trainable_blocks``)
        between fits continues from the weights with a new optimizer and
        schedule.""" + "\n    " + INPUT_PARAMETERS_DOC + "\n    " + DEVICE_PARAMETERS_DOC + """
    verbose : bool
        Show a progress bar per epoch with the training loss, validation
        loss and validation accuracy.
    random_state : int | numpy.random.RandomState | None
        Drives every random draw of ``fit``: the head's (and projection's)
        initialisation, the validation split, the shuffling, dropout, and
        the random weights of ``checkpoint=None``. The caller's global
        random state (torch, numpy, python) is left as it was. ``None``: the
        training draws are fresh in every fit, but the random weights of
        ``checkpoint=None`` come from the fixed seed ``0``
        (``skeegfm._base.DEFAULT_RANDOM_STATE``): every fit and clone starts
        from the same random encoder.
    """ + TRUST_PARAMETER_DOC

_ATTRIBUTES = """\
classes_ : ndarray of shape (n_classes,)
        The class labels.
    encoder_ : torch.nn.Module
        The fine-tuned model (encoder and head), in eval mode, private to
        this estimator.
    encoder_hash_ : str
        Hash of the fine-tuned weights.
    pretrained_source_ : dict
        Where the starting weights came from (Hub id or path, revision,
        number of tensors), or ``{"random_init": seed}``.
    history_ : list of dict
        One per epoch: ``epoch``, ``train_loss``, ``valid_loss``,
        ``valid_score`` (accuracy on the validation epochs; NaN without
        validation), ``lr`` (peak learning rate of the epoch), ``dur``
        (seconds the epoch took).
        ``pandas.DataFrame(history_)`` makes a table of it.
    n_iter_ : int
        Epochs trained (over all fits when ``warm_start``).
    best_epoch_ : int
        Epoch (counted over warm-started fits) whose weights were kept.
    lora_weights_ : dict of str to torch.Tensor
        ``tuning="lora"`` only: the trained adapter matrices (``lora_A``,
        ``lora_B``) by parameter name, on the CPU, before merging
        (``encoder_`` holds the merged weights).
    training_state_ : dict
        ``warm_start=True`` only: what the next warm-started fit resumes from
        (optimizer state, last weights, schedule step, early stopping,
        random state).""" + "\n    " + FITTED_INPUT_ATTRIBUTES_DOC


def _fill_doc(**defaults):
    def decorate(cls):
        cls.__doc__ = cls.__doc__.replace(
            "%(parameters)s", _PARAMETERS % defaults
        ).replace("%(attributes)s", _ATTRIBUTES)
        return cls

    return decorate


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device):
    """Seed torch's generators of ``device`` (and the CPU) inside
    :func:`torch.random.fork_rng`, so the caller's state is restored on exit."""
    cuda = device.type == "cuda"
    devices = [device.index if device.index is not None else torch.cuda.current_device()] if cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(devices[0]):
                torch.cuda.manual_seed(seed)
        yield


@contextlib.contextmanager
def _no_fast_paths(model, enabled: bool):
    """Turn off the encoders' cached evaluation paths (``fast_inference``) for
    the duration, e.g. while LoRA wrappers sit on layers those paths read the
    weights of directly."""
    if not enabled:
        yield
        return
    switched = [m for m in model.modules() if getattr(m, "fast_inference", False) is True]
    for module in switched:
        module.fast_inference = False
    try:
        yield
    finally:
        for module in switched:
            module.fast_inference = True


@contextlib.contextmanager
def _grad_checkpointing(model, enabled: bool):
    """Activation checkpointing of ``model``'s blocks for the duration
    (``model.set_grad_checkpointing``)."""
    if not enabled:
        yield
        return
    model.set_grad_checkpointing(True)
    try:
        yield
    finally:
        model.set_grad_checkpointing(False)


def _to_cpu(value):
    """``value`` with every tensor inside (dicts, lists, tuples) moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu")
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _check_no_missing_labels(y) -> None:
    """Raise a clear ValueError if ``y`` holds None or NaN (a missing label)."""
    import pandas as pd

    missing = np.flatnonzero(pd.isna(np.asarray(y)))
    if missing.size:
        shown = missing[:10].tolist()
        raise ValueError(
            f"y has {missing.size} missing label(s) (None or NaN) at positions {shown}"
            f"{' ...' if missing.size > 10 else ''}: every epoch needs a class. Drop those "
            "epochs (and their labels) or fill the labels before fitting."
        )


class _BaseClassifier(ClassifierMixin, _BaseFoundationEstimator):
    """fit / predict of the fine-tuning classifiers, for any encoder.

    Everything about the encoder comes from its class, through the members
    of :class:`skeegfm.models._protocol.EncoderProtocol`: its ``blocks``,
    ``layer_id`` (layer-wise decay, partial tuning), ``head_prefixes``,
    ``lora_target_modules``, ``forward_features`` / ``forward_head`` (frozen
    features for the linear probe), ``forward_until`` / ``forward_from``
    (partial tuning on kept activations), ``set_grad_checkpointing`` and
    ``reset_classifier``. A subclass only sets ``_model_class_name``,
    ``_default_record``, ``_warmup_fraction`` (of the schedule, for
    ``warmup_epochs="auto"``) and, where some, ``_model_params`` (see
    :class:`~skeegfm._base._BaseFoundationEstimator`).
    """

    _trains_head = True
    _warmup_fraction = 0.1

    # ------------------------------------------------------------ model hooks

    def _reset_head(self, model, n_classes: int) -> None:
        """Give ``model`` a fresh head with ``n_classes`` outputs (seeded by the caller)."""
        model.reset_classifier(n_classes)

    def _head_logits(self, model, features):
        """The head on ``model.forward_features(x)``."""
        return model.forward_head(features)

    def _features(self, model, x):
        return model.forward_features(x)

    def _logits_of(self, model, x):
        return self._head_logits(model, self._features(model, x))

    @staticmethod
    def _splits(model) -> bool:
        """Whether ``model`` can run up to a block and on from it (the encoder
        protocol's optional ``forward_until`` / ``forward_from``)."""
        return callable(getattr(model, "forward_until", None)) and callable(
            getattr(model, "forward_from", None)
        )

    def _to_cut(self, model, x, cut):
        """What enters block ``cut`` (0-based) for the batch ``x``: ``model.forward_until``."""
        return model.forward_until(x, cut)

    def _through_cut(self, model, x, cut):
        """Logits of the batch ``x`` with the frozen blocks below ``cut`` run
        without autograd (partial tuning when their outputs are not kept)."""
        with torch.no_grad():
            h = model.forward_until(x, cut)
        return model.forward_from(h, cut)

    @staticmethod
    def _writable(data):
        """``data`` as a tensor sharing memory when it can (a copy when read-only)."""
        return torch.from_numpy(np.ascontiguousarray(data) if data.flags.writeable else data.copy())

    def _from_cut(self, model, h, cut):
        """Logits from ``h = _to_cut(model, x, cut)``: ``model.forward_from``."""
        return model.forward_from(h, cut)

    # ------------------------------------------------------------ parameters

    def _check_params(self) -> None:
        self._check_common_params()
        _check_choice("tuning", self.tuning, _TUNINGS)
        _check_int("n_trainable_blocks", self.n_trainable_blocks, 1)
        _check_int("max_epochs", self.max_epochs, 1)
        _check_int("schedule_epochs", self.schedule_epochs, 1, allow_none=True)
        if self.schedule_epochs is not None and self.schedule_epochs < self.max_epochs:
            raise ValueError(
                f"schedule_epochs={self.schedule_epochs} is shorter than max_epochs="
                f"{self.max_epochs}; pass schedule_epochs >= max_epochs, or None."
            )
        _check_int("lora_rank", self.lora_rank, 1)
        _check_real("lora_alpha", self.lora_alpha, 0.0, include_boundaries="neither")
        _check_real("lora_dropout", self.lora_dropout, 0.0, 1.0, include_boundaries="left")
        target = self.lora_target
        if target is not None and (
            isinstance(target, str) is False
            and (
                not isinstance(target, (list, tuple))
                or not target
                or not all(isinstance(t, str) and t for t in target)
            )
        ):
            raise TypeError(
                "lora_target must be None, a module-name pattern (str) or a non-empty list of "
                f"them, got {target!r}."
            )
        _check_int("activation_cache_bytes", self.activation_cache_bytes, 0)
        _check_real("lr", self.lr, 0.0, include_boundaries="neither")
        _check_real("weight_decay", self.weight_decay, 0.0)
        _check_real("layer_decay", self.layer_decay, 0.0, 1.0, include_boundaries="right")
        if not (isinstance(self.warmup_epochs, str) and self.warmup_epochs == "auto"):
            _check_real("warmup_epochs", self.warmup_epochs, 0.0, self.schedule_epochs or self.max_epochs)
        _check_real(
            "validation_fraction", self.validation_fraction, 0.0, 1.0,
            include_boundaries="neither", allow_none=True,
        )
        _check_int("patience", self.patience, 1, allow_none=True)
        if not (self.class_weight is None or self.class_weight == "balanced"
                or isinstance(self.class_weight, dict)):
            raise ValueError(
                f'class_weight must be None, "balanced" or a dict, got {self.class_weight!r}.'
            )
        for name in ("gradient_checkpointing", "warm_start"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")

    def _warmup(self, done: int = 0) -> float:
        """Warm-up epochs, given ``done`` epochs already trained (resumed)."""
        if isinstance(self.warmup_epochs, str):
            return self._warmup_fraction * (self.schedule_epochs or done + self.max_epochs)
        return float(self.warmup_epochs)

    def _state_signature(self) -> dict:
        """What a resumed training state must have been saved with."""
        signature = {"tuning": self.tuning}
        signature.update({name: getattr(self, name) for name in self._model_params})
        if self.tuning == "partial":
            signature["n_trainable_blocks"] = int(self.n_trainable_blocks)
        if self.tuning == "lora":
            target = self.lora_target
            signature.update(
                lora=(int(self.lora_rank), float(self.lora_alpha), float(self.lora_dropout)),
                lora_target=[target] if isinstance(target, str) else target and list(target),
                base=self.encoder_hash_,  # LoRA resumes on the frozen checkpoint
            )
        return signature

    # ------------------------------------------------------------ fit

    def fit(self, X, y):
        """Fine-tune the model on EEG epochs and their labels.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs. Arrays need ``sfreq`` and ``ch_names`` and are in
            ``unit`` (volts by default).
        y : array-like of shape (n_epochs,)
            Class labels (any type scikit-learn accepts, strings included).

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            If a parameter is invalid; ``X`` is empty, not 3-D, holds NaN or
            inf, or has channels the model cannot take; ``y`` has another
            length, missing labels (None or NaN), one class only, or a class too small for the validation
            split; ``n_trainable_blocks`` exceeds the encoder's blocks; or,
            with ``warm_start``, the classes or channels changed.
        """
        self._check_params()
        eeg = self._read(X)
        y = column_or_1d(y, warn=True)
        if len(y) != eeg.data.shape[0]:
            raise ValueError(
                f"X has {eeg.data.shape[0]} epochs but y has {len(y)} labels; pass one label "
                "per epoch."
            )
        _check_no_missing_labels(y)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has a single class ({classes[0]!r}); a classifier needs at least 2 classes."
            )
        warm = self.warm_start and hasattr(self, "encoder_") and hasattr(self, "classes_")
        saved = None
        if warm:
            if not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"warm_start=True but y has the classes {list(classes)} while the previous "
                    f"fit had {list(self.classes_)}; use warm_start=False to start again."
                )
            self._check_input(eeg)
            previous, history = self.encoder_, list(self.history_)
            saved = getattr(self, "training_state_", None)
            if saved is not None and saved["signature"]["tuning"] == self.tuning:
                self._check_schedule_left(saved["train"]["epoch"])
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device)
        with _seeded(seed, device):  # loading may draw (a new module's init)
            self._fit_encoder(eeg)
        shared, source = self.encoder_, dict(self.pretrained_source_)
        resume = None
        if saved is not None:
            if saved["signature"] == self._state_signature():
                resume = saved["train"]
            else:
                warnings.warn(
                    f"warm_start=True: the previous fit trained with other settings "
                    f"({saved['signature']}); this fit continues from its weights with a new "
                    "optimizer and learning-rate schedule.",
                    UserWarning,
                    stacklevel=2,
                )
        prepared = self._prepare(eeg)
        # Seeded again: the draws below do not depend on whether the loader ran.
        with _seeded(seed, device):
            # LoRA resumes its adapters on the frozen checkpoint; the other
            # modes (and LoRA without a saved state) on the previous weights.
            lora_resume = resume is not None and self.tuning == "lora"
            start = previous if warm and not lora_resume else shared
            model = copy_encoder(start)
            if not warm or lora_resume:
                self._reset_head(model, len(classes))
            model.to(device)
            history_fit, best_epoch, state, model = self._train(
                model, start, prepared.data, y_enc, classes, seed, device, resume
            )
        fitted = _freeze(model, device, source)
        self.classes_ = classes
        self.encoder_ = fitted.module
        self.encoder_hash_ = fitted.weights_hash
        self.history_ = (history if warm else []) + history_fit
        self.n_iter_ = len(self.history_)
        self.best_epoch_ = best_epoch
        if state is not None:
            self.training_state_ = {"signature": state.pop("signature"), "train": state}
        elif hasattr(self, "training_state_"):
            del self.training_state_
        return self

    def _check_schedule_left(self, done: int) -> None:
        if self.schedule_epochs is not None and done + self.max_epochs > self.schedule_epochs:
            raise ValueError(
                f"warm_start=True: {done} epochs are trained and max_epochs={self.max_epochs} "
                f"more would pass the end of the learning-rate schedule (schedule_epochs="
                f"{self.schedule_epochs}); raise schedule_epochs, or pass warm_start=False to "
                "start again."
            )

    def _trainable(self, model, fixed=None):
        """Names of the trained parameters, modules in train mode, layer ids
        (the head's at the top) and number of blocks.

        ``fixed``: names of parameters frozen by design (``requires_grad``
        False before LoRA froze everything else); default: read from ``model``.
        """
        n_blocks = len(model.blocks)
        head_prefixes = tuple(model.head_prefixes)
        # BEiT's layer numbers, the head (trained in every mode) at the top;
        # None: unused outside pretraining.
        ids = {
            name: n_blocks + 1 if name.startswith(head_prefixes) else model.layer_id(name)
            for name, _ in model.named_parameters()
        }
        if fixed is None:
            fixed = {n for n, p in model.named_parameters() if not p.requires_grad}
        usable = {n for n, i in ids.items() if n not in fixed and i is not None}
        head = {n for n in ids if n.startswith(head_prefixes)}
        modules = dict(model.named_modules())
        roots = [modules[p.rstrip(".")] for p in head_prefixes if p.rstrip(".") in modules]
        if self.tuning == "linear_probe":
            names = head
        elif self.tuning == "partial":
            k = int(self.n_trainable_blocks)
            if k > n_blocks:
                raise ValueError(
                    f"n_trainable_blocks={k} but the encoder has {n_blocks} blocks; use at "
                    f"most {n_blocks}, or tuning=\"full\"."
                )
            names = {n for n, i in ids.items() if i is not None and i > n_blocks - k} | head
            roots += list(model.blocks[n_blocks - k :])
        elif self.tuning == "lora":
            # peft's adapter matrices and the head; the whole model runs in
            # train mode (dropout as in pretraining), as peft's fine-tuning does.
            names = {n for n in ids if ".lora_A." in n or ".lora_B." in n} | head
            roots = [model]
        else:
            names = {n for n, i in ids.items() if i is not None}
            roots = [model]
        return names & usable, roots, ids, n_blocks

    # ------------------------------------------------------------ LoRA

    def _lora_targets(self, model) -> list:
        """Full names of the linear layers ``lora_target`` selects in ``model``."""
        patterns = self.lora_target
        if patterns is None:
            patterns = getattr(model, "lora_target_modules", None)
            if not patterns:
                raise ValueError(
                    f"{type(model).__name__} names no default LoRA target modules "
                    "(lora_target_modules); pass lora_target."
                )
        if isinstance(patterns, str):
            patterns = [patterns]
        head_prefixes = tuple(model.head_prefixes)
        # The head trains fully; layers unused outside pretraining never train.
        linear = [
            name
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear)
            and name
            and not (name + ".").startswith(head_prefixes)
            and model.layer_id(name + ".weight") is not None
        ]
        targets = set()
        for pattern in patterns:
            try:
                regex = re.compile(rf"(?:.*\.)?(?:{pattern})")
            except re.error as err:
                raise ValueError(
                    f"lora_target entry {pattern!r} is not a valid regular expression ({err})."
                ) from None
            hits = [name for name in linear if regex.fullmatch(name)]
            if not hits:
                shown = ", ".join(linear[:8]) + (", ..." if len(linear) > 8 else "")
                raise ValueError(
                    f"lora_target entry {pattern!r} matches no linear layer of the "
                    f"{type(model).__name__} encoder (its linear layers: {shown}); pass the "
                    "end of such a name (e.g. 'attn.qkv') or a regular expression matching it."
                )
            targets.update(hits)
        return sorted(targets)

    def _add_lora(self, model):
        """Inject LoRA adapters (peft) into ``model``; returns the PeftModel wrapper."""
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as err:
            raise ImportError(
                'tuning="lora" needs the peft library: pip install "skeegfm[lora]" '
                "(or pip install peft)."
            ) from err
        config = LoraConfig(
            r=int(self.lora_rank),
            lora_alpha=float(self.lora_alpha),
            lora_dropout=float(self.lora_dropout),
            target_modules=self._lora_targets(model),
            bias="none",
        )
        return get_peft_model(model, config)

    # ------------------------------------------------------------ training

    def _train(self, model, start, data, y_enc, classes, seed, device, resume=None):
        """Train ``model`` (a private copy) in place; returns ``(history,
        best_epoch, state, model)``, the last being the model to keep (LoRA:
        the adapters merged into the weights)."""
        fixed = {n for n, p in model.named_parameters() if not p.requires_grad}
        peft_model = self._add_lora(model) if self.tuning == "lora" else None
        names, roots, ids, n_blocks = self._trainable(model, fixed)
        for name, param in model.named_parameters():
            param.requires_grad_(name in names)
        params = {n: p for n, p in model.named_parameters() if n in names}
        # Where each trained parameter runs (0: before the blocks, e.g. a
        # channel projection; n_blocks + 1: after them).
        depth = {n: model.layer_id(n) for n in names}

        def set_mode(training):
            model.eval()
            if training:
                for root in roots:
                    root.train()

        inputs, forward, cached = None, None, False
        cut = n_blocks - int(self.n_trainable_blocks)
        if all(n.startswith(tuple(model.head_prefixes)) and depth[n] > n_blocks for n in names):
            # Frozen features once per fit when nothing in front of the head trains.
            cached = True
            inputs = torch.from_numpy(self._run(start, data, self._features))
            forward = functools.partial(self._head_logits, model)
        elif (
            self.tuning == "partial"
            and self._splits(model)
            and all(depth[n] > cut for n in names)  # nothing trains below the cut
        ):
            inputs = self._kept_activations(start, data, cut)
            if inputs is not None:
                forward = functools.partial(self._from_cut, model, cut=cut)
            else:  # recomputed at every step, without autograd below the cut
                inputs = self._writable(data)
                forward = functools.partial(self._through_cut, model, cut=cut)
        if inputs is None:
            inputs = self._writable(data)
            forward = functools.partial(self._logits_of, model)

        y_t = torch.from_numpy(np.asarray(y_enc, dtype=np.int64))
        train_index, valid_index = self._split(y_enc, seed)
        weight = self._class_weights(classes, y_enc[train_index])
        groups = _training.param_groups(
            model,
            names,
            ids,
            weight_decay=self.weight_decay,
            layer_decay=self.layer_decay if self.tuning in ("partial", "full") else 1.0,
            n_blocks=n_blocks,
        )
        generator = torch.Generator().manual_seed(seed)
        done = resume["epoch"] if resume is not None else 0
        checkpointing = bool(self.gradient_checkpointing) and not cached
        with _grad_checkpointing(model, checkpointing), _no_fast_paths(
            model, peft_model is not None
        ):
            history, best_epoch, state = _training.train(
                forward=forward,
                set_mode=set_mode,
                inputs=inputs,
                y=y_t,
                train_index=train_index,
                valid_index=valid_index,
                groups=groups,
                trainable_params=params,
                lr=float(self.lr),
                max_epochs=int(self.max_epochs),
                warmup_epochs=self._warmup(done),
                batch_size=int(self.batch_size),
                patience=self.patience,
                class_weight=weight,
                generator=generator,
                autocast=self._autocast,
                device=device,
                progress=self._progress() if self.verbose else None,
                schedule_epochs=self.schedule_epochs,
                resume=resume,
                keep_state=bool(self.warm_start),
            )
        if state is not None:
            state = _to_cpu(state)
            state["signature"] = self._state_signature()
        if peft_model is not None:
            self.lora_weights_ = {
                n: p.detach().to("cpu").clone() for n, p in params.items() if ".lora_" in n
            }
            # peft folds each B @ A * alpha / r into its layer's weight and puts
            # the plain layer back: the kept model is an ordinary encoder.
            model = peft_model.merge_and_unload()
        elif hasattr(self, "lora_weights_"):
            del self.lora_weights_
        return history, best_epoch, state, model

    def _kept_activations(self, start, data, cut):
        """Outputs of the frozen blocks below ``cut`` for every epoch (a float32
        tensor), computed once in inference mode; None (recompute) when they
        exceed ``activation_cache_bytes``."""
        budget = int(self.activation_cache_bytes)
        if budget == 0:
            return None
        fn = functools.partial(self._to_cut, cut=cut)
        one = self._run(start, data[:1], fn)
        need = one.nbytes * len(data)
        if need > budget:
            warnings.warn(
                f'tuning="partial": the outputs of the {cut} frozen blocks for {len(data)} epochs '
                f"need {need / 2**20:.0f} MiB, more than activation_cache_bytes={budget} "
                f"({budget / 2**20:.0f} MiB); the frozen blocks run again at every step "
                "(slower). Raise activation_cache_bytes to keep them.",
                UserWarning,
                stacklevel=4,
            )
            return None
        return torch.from_numpy(self._run(start, data, fn))

    def _class_weights(self, classes, y_train):
        """Per-class weights of the loss (float32 tensor) or None."""
        cw = self.class_weight
        if cw is None:
            return None
        if isinstance(cw, dict):
            unknown = set(cw) - set(classes.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has labels {sorted(map(str, unknown))} that are not in y "
                    f"(classes: {list(classes)})."
                )
            values = [float(cw.get(c, 1.0)) for c in classes.tolist()]
        else:
            values = compute_class_weight("balanced", classes=np.arange(len(classes)), y=y_train)
        return torch.as_tensor(np.asarray(values), dtype=torch.float32)

    def _split(self, y_enc, seed):
        n = len(y_enc)
        if self.validation_fraction is None:
            return np.arange(n), np.arange(0)
        n_classes = int(y_enc.max()) + 1
        n_valid = max(int(math.ceil(self.validation_fraction * n)), n_classes)
        counts = np.bincount(y_enc)
        if counts.min() < 2 or n - n_valid < n_classes:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} needs at least 2 epochs of "
                f"every class (smallest class: {counts.min()}) and {n_classes} epochs left "
                f"for training (of {n}); pass validation_fraction=None to train on all epochs."
            )
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
        train_index, valid_index = next(splitter.split(np.zeros(n), y_enc))
        return np.sort(train_index), np.sort(valid_index)

    def _progress(self):
        from tqdm.auto import tqdm

        name = type(self).__name__

        def start(epoch, n_batches):
            bar = tqdm(total=n_batches, desc=f"{name} epoch {epoch}/{self.max_epochs}", unit="batch")

            def update(loss):
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}")

            def close(record):
                bar.set_postfix(
                    loss=f"{record['train_loss']:.4f}",
                    valid_loss=f"{record['valid_loss']:.4f}",
                    valid_score=f"{record['valid_score']:.3f}",
                )
                bar.close()

            return update, close

        return start

    # ------------------------------------------------------------ running

    def _decision(self, X) -> np.ndarray:
        """Logits (n_epochs, n_classes), float64."""
        check_is_fitted(self)
        eeg = self._read(X)
        self._check_input(eeg)
        data = self._prepare(eeg).data
        return self._run(self.encoder_, data, self._logits_of).astype(np.float64)

    def decision_function(self, X):
        """Logits of the fine-tuned head.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs with the channels (any order) and sampling rate seen
            at fit.

        Returns
        -------
        scores : ndarray of shape (n_epochs,) or (n_epochs, n_classes)
            float64. Binary: the log-odds of ``classes_[1]``; otherwise one
            logit per class.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` is empty, not 3-D, holds NaN or inf, or has other
            channels or another sampling rate than at fit.
        """
        check_is_fitted(self)
        logits = self._decision(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs as for :meth:`decision_function`.

        Returns
        -------
        proba : ndarray of shape (n_epochs, n_classes)
            float64, rows sum to 1, columns in the order of ``classes_``.
        """
        logits = self._decision(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class of each epoch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs as for :meth:`decision_function`.

        Returns
        -------
        y_pred : ndarray of shape (n_epochs,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[self._decision(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        tags.target_tags.required = True
        return tags


@_fill_doc(
    max_epochs="50 (LaBraM's and CBraMod's fine-tuning)",
    lr="5e-4 (LaBraM's fine-tuning [5]_; EEG-DINO's recipe was not published)",
    weight_decay="0.05 (LaBraM [5]_)",
    warmup="10% (5 of LaBraM's 50 epochs [5]_)",
)
class EEGDINOClassifier(_BaseClassifier):
    """Fine-tuned EEG-DINO classifier of EEG epochs.

    EEG-DINO [1]_ (a ViT-style encoder pretrained by hierarchical
    self-distillation on TUEG: 19 channels of the 10-20 montage at 200 Hz,
    in microvolts / 100, 1 s patches) with its own classification head:
    per-token projection, mean over channels, projection, mean over patches,
    then a three-layer MLP with dropout. Inputs are put in the model's form
    by the shared adapter before training and prediction.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"eegdino-small"``, ``"eegdino-medium"``), Hub id,
        or local path (a directory written by ``save_pretrained``, or the
        authors' checkpoint file). ``None``: the released small architecture
        with random weights drawn from ``random_state`` (a fixed seed by
        default; a baseline; warns).
    %(parameters)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    EEGPTClassifier, CodeBrainClassifier, skeegfm.embedders.EEGDINOEmbedder

    Notes
    -----
    Input: ``mne.Epochs``, the list of one-epoch Epochs of scikit-learn's
    splitters, or an array of shape (n_epochs, n_chans, n_times). The head
    pools over channels and patches, so prediction accepts other window
    lengths than fit. The encoder has dropout and stochastic depth
    (``drop_prob`` of the checkpoint, 0.1 by default), active in the blocks
    that train.

    References
    ----------
    .. [1] Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via
           Hierarchical Self-Distillation. MICCAI 2025.
    .. [2] Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal
           and reliable representation of EEG signals. NeurIPS 37.
    .. [4] Bao, H. et al. (2022). BEiT: BERT Pre-Training of Image
           Transformers. ICLR 2022.
    .. [5] Jiang, W. et al. (2024). Large Brain Model for Learning Generic
           Representations with Tremendous EEG Data in BCI. ICLR 2024.
    .. [7] Hu, E. J. et al. (2022). LoRA: Low-Rank Adaptation of Large
           Language Models. ICLR 2022.

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold, cross_val_score
    >>> clf = EEGDINOClassifier(tuning="linear_probe")  # doctest: +SKIP
    >>> cross_val_score(clf, epochs, y, groups=groups, cv=GroupKFold(4))  # doctest: +SKIP
    """

    _model_class_name = "EEGDINO"
    _default_record = "eegdino-small"
    _warmup_fraction = 0.1

    def __init__(
        self,
        checkpoint="braindecode/eegdino-small-pretrained",
        *,
        tuning="linear_probe",
        n_trainable_blocks=2,
        lora_rank=8,
        lora_alpha=16,
        lora_dropout=0.0,
        lora_target=None,
        activation_cache_bytes=_ACTIVATION_CACHE_BYTES,
        max_epochs=50,
        batch_size=64,
        lr=5e-4,
        weight_decay=0.05,
        layer_decay=0.65,
        warmup_epochs="auto",
        schedule_epochs=None,
        validation_fraction=0.1,
        patience=10,
        class_weight=None,
        gradient_checkpointing=False,
        warm_start=False,
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        device="auto",
        precision="auto",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.tuning = tuning
        self.n_trainable_blocks = n_trainable_blocks
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target = lora_target
        self.activation_cache_bytes = activation_cache_bytes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.layer_decay = layer_decay
        self.warmup_epochs = warmup_epochs
        self.schedule_epochs = schedule_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.gradient_checkpointing = gradient_checkpointing
        self.warm_start = warm_start
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


@_fill_doc(
    max_epochs="100 (EEGPT's probe [2]_)",
    lr="4e-4 (the maximum rate of EEGPT's one-cycle probe schedule [2]_)",
    weight_decay="0.01 (EEGPT's probe [2]_)",
    warmup="20% (``pct_start=0.2`` of EEGPT's one-cycle schedule [2]_)",
)
class EEGPTClassifier(_BaseClassifier):
    """Fine-tuned EEGPT classifier of EEG epochs.

    EEGPT [2]_ (a channel-wise patch transformer pretrained on 58 channels at
    256 Hz, average-referenced, in millivolts, 64-sample patches, with a
    learned embedding per channel name) with its own head, the original
    two-stage linear probe: dropout 0.5, a linear map of each patch's summary
    tokens to 16 values (rows max-norm 1.0), then a linear map of all
    patches to the classes (rows max-norm 0.25). The defaults follow the
    original probe's recipe: AdamW, weight decay 0.01, a warm-up/cosine
    schedule peaking at 4e-4, 100 epochs, batch 64.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"eegpt"``), Hub id, or local path (a directory
        written by ``save_pretrained``, or the authors' Lightning checkpoint).
        ``None``: the released architecture with random weights drawn from
        ``random_state`` (a fixed seed by default; a baseline; warns).
    chan_proj_type : {"none", "conv1d_constraint", "linear"}
        ``"none"``: channels enter the encoder as they are, their embedding
        chosen by name. ``"conv1d_constraint"``: the original probes'
        trainable 1x1 convolution (rows max-norm 1.0) maps the input channels
        to the 19 standard 10-20 channels; ``"linear"``: the same without
        the constraint. The projection trains in every tuning mode; it sits
        in front of the encoder, so ``"linear_probe"`` then runs the frozen
        encoder every epoch instead of once.
    patch_stride : int | None
        Samples between patch starts. ``None``: non-overlapping 64-sample
        patches, the pretraining geometry.
    %(parameters)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    EEGDINOClassifier, CodeBrainClassifier, skeegfm.embedders.EEGPTEmbedder

    Notes
    -----
    The probe's second stage depends on the number of patches, so new data
    must have the window length seen at fit. EEGPT's one-cycle schedule is
    rendered as a linear warm-up over the first 20% of the epochs and a
    cosine decay (one-cycle's shape, without its 1/25 starting rate).

    References
    ----------
    .. [2] Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal
           and reliable representation of EEG signals. NeurIPS 37.
    .. [4] Bao, H. et al. (2022). BEiT: BERT Pre-Training of Image
           Transformers. ICLR 2022.
    .. [5] Jiang, W. et al. (2024). Large Brain Model for Learning Generic
           Representations with Tremendous EEG Data in BCI. ICLR 2024.
    .. [7] Hu, E. J. et al. (2022). LoRA: Low-Rank Adaptation of Large
           Language Models. ICLR 2022.

    Examples
    --------
    >>> clf = EEGPTClassifier(tuning="linear_probe")  # doctest: +SKIP
    >>> clf.fit(epochs, y).predict_proba(epochs_test)  # doctest: +SKIP
    """

    _model_class_name = "EEGPT"
    _default_record = "eegpt"
    _model_params = ("patch_stride", "chan_proj_type")
    _warmup_fraction = 0.2

    def __init__(
        self,
        checkpoint="braindecode/eegpt-pretrained",
        *,
        chan_proj_type="none",
        patch_stride=None,
        tuning="linear_probe",
        n_trainable_blocks=2,
        lora_rank=8,
        lora_alpha=16,
        lora_dropout=0.0,
        lora_target=None,
        activation_cache_bytes=_ACTIVATION_CACHE_BYTES,
        max_epochs=100,
        batch_size=64,
        lr=4e-4,
        weight_decay=0.01,
        layer_decay=0.65,
        warmup_epochs="auto",
        schedule_epochs=None,
        validation_fraction=0.1,
        patience=10,
        class_weight=None,
        gradient_checkpointing=False,
        warm_start=False,
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        device="auto",
        precision="auto",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.chan_proj_type = chan_proj_type
        self.patch_stride = patch_stride
        self.tuning = tuning
        self.n_trainable_blocks = n_trainable_blocks
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target = lora_target
        self.activation_cache_bytes = activation_cache_bytes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.layer_decay = layer_decay
        self.warmup_epochs = warmup_epochs
        self.schedule_epochs = schedule_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.gradient_checkpointing = gradient_checkpointing
        self.warm_start = warm_start
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint

    def _check_params(self):
        super()._check_params()
        _check_choice("chan_proj_type", self.chan_proj_type, _CHAN_PROJ_TYPES)
        _check_int("patch_stride", self.patch_stride, 1, allow_none=True)


@_fill_doc(
    max_epochs="50 (CBraMod's fine-tuning; CodeBrain's recipe was not published)",
    lr="5e-4 (as for EEG-DINO; chosen to train the head on the EEGMAT data)",
    weight_decay="0.05 (CBraMod, LaBraM [5]_)",
    warmup="10% (5 of LaBraM's 50 epochs [5]_)",
)
class CodeBrainClassifier(_BaseClassifier):
    """Fine-tuned CodeBrain classifier of EEG epochs.

    CodeBrain [3]_ (a multi-scale state-space backbone pretrained by masked
    code prediction on TUEG: 19 channels of the 10-20 montage at 200 Hz,
    1 s patches) with its own head: the features of every channel and patch,
    flattened, through a three-layer MLP with ELU and dropout. Windows are
    trimmed to whole seconds (with a warning).

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"codebrain"``), Hub id, or local path (a directory
        written by ``save_pretrained``, or the authors' checkpoint file).
        ``None``: the released architecture with random weights drawn from
        ``random_state`` (a fixed seed by default; a baseline; warns).
    %(parameters)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    EEGDINOClassifier, EEGPTClassifier, skeegfm.embedders.CodeBrainEmbedder

    Notes
    -----
    The head's input size depends on the number of patches, so new data
    must have the window length seen at fit. Its first layer maps
    19 x n_patches x 200 features to 200 (3 M weights for 4 s windows).

    References
    ----------
    .. [2] Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal
           and reliable representation of EEG signals. NeurIPS 37.
    .. [3] Ma, J. et al. (2026). CodeBrain: Bridging Decoupled Tokenizer and
           Multi-Scale Architecture for EEG Foundation Model. ICLR 2026.
    .. [4] Bao, H. et al. (2022). BEiT: BERT Pre-Training of Image
           Transformers. ICLR 2022.
    .. [5] Jiang, W. et al. (2024). Large Brain Model for Learning Generic
           Representations with Tremendous EEG Data in BCI. ICLR 2024.
    .. [7] Hu, E. J. et al. (2022). LoRA: Low-Rank Adaptation of Large
           Language Models. ICLR 2022.

    Examples
    --------
    >>> clf = CodeBrainClassifier(tuning="partial", n_trainable_blocks=2)  # doctest: +SKIP
    >>> clf.fit(epochs, y).score(epochs_test, y_test)  # doctest: +SKIP
    """

    _model_class_name = "CodeBrain"
    _default_record = "codebrain"
    _warmup_fraction = 0.1

    def __init__(
        self,
        checkpoint="braindecode/codebrain-pretrained",
        *,
        tuning="linear_probe",
        n_trainable_blocks=2,
        lora_rank=8,
        lora_alpha=16,
        lora_dropout=0.0,
        lora_target=None,
        activation_cache_bytes=_ACTIVATION_CACHE_BYTES,
        max_epochs=50,
        batch_size=64,
        lr=5e-4,
        weight_decay=0.05,
        layer_decay=0.65,
        warmup_epochs="auto",
        schedule_epochs=None,
        validation_fraction=0.1,
        patience=10,
        class_weight=None,
        gradient_checkpointing=False,
        warm_start=False,
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        device="auto",
        precision="auto",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.tuning = tuning
        self.n_trainable_blocks = n_trainable_blocks
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target = lora_target
        self.activation_cache_bytes = activation_cache_bytes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.layer_decay = layer_decay
        self.warmup_epochs = warmup_epochs
        self.schedule_epochs = schedule_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.gradient_checkpointing = gradient_checkpointing
        self.warm_start = warm_start
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


@_fill_doc(
    max_epochs="50 (CBraMod's fine-tuning)",
    lr="5e-4 (as for EEG-DINO and CodeBrain; LaBraM's fine-tuning [5]_)",
    weight_decay="0.05 (CBraMod, LaBraM [5]_)",
    warmup="10% (5 of LaBraM's 50 epochs [5]_)",
)
class CBraModClassifier(_BaseClassifier):
    """Fine-tuned CBraMod classifier of EEG epochs.

    CBraMod [6]_ (a criss-cross transformer pretrained by masked patch
    reconstruction on TUEG: 19 channels of the 10-20 montage at 200 Hz, in
    microvolts / 100, 1 s patches) with the reference's head: the features
    of every channel and patch, flattened, through one linear layer. Windows
    are trimmed to whole seconds (with a warning). The encoder's blocks are
    its criss-cross layers (``encoder.layers``); ``proj_out`` counts as the
    layer after them.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"cbramod"``), Hub id, or local path (a directory
        written by ``save_pretrained``, or the authors'
        ``pretrained_weights.pth``). ``None``: the released architecture
        with random weights drawn from ``random_state`` (a baseline; warns).
    %(parameters)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    EEGDINOClassifier, CodeBrainClassifier, skeegfm.embedders.CBraModEmbedder

    Notes
    -----
    The head's input size depends on the number of patches, so new data
    must have the window length seen at fit (19 x n_patches x 200 features
    into the classes). The encoder has dropout (``drop_prob`` of the
    checkpoint, 0.1 by default), active in the layers that train.

    References
    ----------
    .. [4] Bao, H. et al. (2022). BEiT: BERT Pre-Training of Image
           Transformers. ICLR 2022.
    .. [5] Jiang, W. et al. (2024). Large Brain Model for Learning Generic
           Representations with Tremendous EEG Data in BCI. ICLR 2024.
    .. [6] Wang, J., Zhao, S., Luo, Z., Zhou, Y., Jiang, H., Li, S., Li, T.,
           & Pan, G. (2025). CBraMod: A Criss-Cross Brain Foundation Model for
           EEG Decoding. ICLR 2025.
    .. [7] Hu, E. J. et al. (2022). LoRA: Low-Rank Adaptation of Large
           Language Models. ICLR 2022.

    Examples
    --------
    >>> clf = CBraModClassifier(tuning="partial", n_trainable_blocks=2)  # doctest: +SKIP
    >>> clf.fit(epochs, y).score(epochs_test, y_test)  # doctest: +SKIP
    """

    _model_class_name = "CBraMod"
    _default_record = "cbramod"
    _warmup_fraction = 0.1

    def __init__(
        self,
        checkpoint="braindecode/cbramod-pretrained",
        *,
        tuning="linear_probe",
        n_trainable_blocks=2,
        lora_rank=8,
        lora_alpha=16,
        lora_dropout=0.0,
        lora_target=None,
        activation_cache_bytes=_ACTIVATION_CACHE_BYTES,
        max_epochs=50,
        batch_size=64,
        lr=5e-4,
        weight_decay=0.05,
        layer_decay=0.65,
        warmup_epochs="auto",
        schedule_epochs=None,
        validation_fraction=0.1,
        patience=10,
        class_weight=None,
        gradient_checkpointing=False,
        warm_start=False,
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        device="auto",
        precision="auto",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.tuning = tuning
        self.n_trainable_blocks = n_trainable_blocks
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target = lora_target
        self.activation_cache_bytes = activation_cache_bytes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.layer_decay = layer_decay
        self.warmup_epochs = warmup_epochs
        self.schedule_epochs = schedule_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.gradient_checkpointing = gradient_checkpointing
        self.warm_start = warm_start
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint
