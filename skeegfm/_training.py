"""The fine-tuning loop of the skeegfm classifiers (no scikit-learn API here).

Pieces, each usable on its own:

- :func:`param_groups`: AdamW parameter groups with per-layer learning-rate
  scales (from BEiT's layer numbers, which each encoder gives through its
  ``layer_id``: embeddings 0, block ``i`` ``i + 1``, what follows the blocks
  ``L + 1``) and no weight decay on biases, norms and tokens;
- :func:`lr_factor`: linear warm-up then cosine annealing, per optimizer step;
- :func:`train`: mini-batch AdamW training with an optional validation set,
  early stopping and restoration of the best weights.

References
----------
.. [1] Bao, H., Dong, L., Piao, S. & Wei, F. (2022). BEiT: BERT Pre-Training
       of Image Transformers. ICLR 2022 (layer-wise learning-rate decay).
.. [2] Jiang, W., Zhao, L. & Lu, B. (2024). Large Brain Model for Learning
       Generic Representations with Tremendous EEG Data in BCI. ICLR 2024
       (LaBraM: layer decay 0.65, warm-up then cosine schedule).
.. [3] Loshchilov, I. & Hutter, F. (2019). Decoupled Weight Decay
       Regularization. ICLR 2019 (AdamW).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["lr_factor", "param_groups", "train"]


def _no_decay(name: str, param: torch.Tensor) -> bool:
    # BEiT / timm convention: biases, norm scales and learned tokens are not decayed.
    return param.ndim <= 1 or name.endswith(".bias") or "token" in name


def param_groups(model, trainable, ids, *, weight_decay, layer_decay, n_blocks):
    """AdamW parameter groups with layer-wise learning-rate scales.

    Parameters
    ----------
    model : nn.Module
    trainable : set of str
        Names of the parameters to train.
    ids : dict of str to int
        BEiT layer number of each trained parameter (embeddings 0, block
        ``i`` ``i + 1``, after the blocks ``L + 1``).
    weight_decay : float
        Decoupled weight decay of matrices and convolution kernels.
    layer_decay : float
        Parameters of layer ``i`` get ``layer_decay ** (L + 1 - i)`` times the
        base learning rate (1.0: the same rate everywhere).
    n_blocks : int
        Number of blocks ``L``.

    Returns
    -------
    groups : list of dict
        Each with ``params``, ``weight_decay``, ``lr_scale`` and ``layer``.
    """
    groups = {}
    for name, param in model.named_parameters():
        if name not in trainable:
            continue
        layer = ids[name]
        decay = 0.0 if _no_decay(name, param) else float(weight_decay)
        key = (layer, decay)
        if key not in groups:
            groups[key] = {
                "params": [],
                "names": [],
                "weight_decay": decay,
                "lr_scale": float(layer_decay) ** (n_blocks + 1 - layer),
                "layer": layer,
            }
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    return [groups[key] for key in sorted(groups)]


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate multiplier at optimizer step ``step`` (0-based).

    Linear warm-up over ``warmup_steps`` steps (from ``1 / warmup_steps``),
    then cosine annealing from 1 towards 0 over the remaining steps.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    remaining = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / remaining, 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _batches(n: int, batch_size: int, order=None):
    index = np.arange(n) if order is None else order
    for start in range(0, n, batch_size):
        yield index[start : start + batch_size]


def train(
    *,
    forward,
    set_mode,
    inputs,
    y,
    train_index,
    valid_index,
    groups,
    trainable_params,
    lr,
    max_epochs,
    warmup_epochs,
    batch_size,
    patience,
    class_weight,
    generator,
    autocast,
    device,
    progress=None,
    schedule_epochs=None,
    resume=None,
    keep_state=False,
):
    """Mini-batch AdamW training with early stopping on a validation set.

    Parameters
    ----------
    forward : callable
        ``forward(batch_inputs) -> logits (batch, n_classes)``.
    set_mode : callable
        ``set_mode(training: bool)``: puts the model in train or eval mode.
    inputs : torch.Tensor
        Everything ``forward`` takes, indexed along the first axis (epochs of
        EEG, or frozen features), on CPU or on ``device``.
    y : torch.Tensor of int64, shape (n_epochs,)
        Encoded labels.
    train_index, valid_index : ndarray of int
        Rows of ``inputs`` to train on and to validate on (may be empty: no
        validation, no early stopping).
    groups : list of dict
        Parameter groups (:func:`param_groups`).
    trainable_params : dict of str to Parameter
        The trained parameters (their best values are kept and restored).
    lr : float
        Peak learning rate (scaled per group by ``lr_scale``).
    max_epochs : int
    warmup_epochs : float
        Epochs of linear warm-up before the cosine decay.
    batch_size : int
    patience : int | None
        Stop after this many epochs without improvement of the validation
        loss; ``None``: train ``max_epochs`` and still restore the best.
    class_weight : torch.Tensor | None
        Per-class weights of the cross-entropy.
    generator : torch.Generator
        Draws the shuffling of every epoch.
    autocast : callable
        Zero-argument function returning the autocast context.
    device : torch.device
    progress : callable | None
        ``progress(epoch, n_batches) -> (update(loss), close(record))``, the
        per-epoch progress display.
    schedule_epochs : int | None
        Length of the learning-rate schedule (warm-up then cosine), counted
        from the first epoch of the first (non-resumed) call. ``None``: the
        schedule ends with this call (epochs of ``resume`` plus
        ``max_epochs``).
    resume : dict | None
        The ``state`` returned by an earlier call: training continues from
        its optimizer moments, schedule position (optimizer step), epoch
        count, early-stopping record (best loss, best epoch, best weights,
        epochs without improvement), last weights, and the random state of
        the shuffling ``generator`` and of torch's default generators, so
        that two calls of 5 epochs give the same weights as one of 10.
    keep_state : bool
        Return that state (it holds the optimizer's moments and up to two
        copies of the trained parameters).

    Returns
    -------
    history : list of dict
        One per epoch: ``epoch`` (counted over resumed calls), ``train_loss``,
        ``valid_loss``, ``valid_score`` (accuracy), ``lr`` (peak rate of the
        epoch), ``dur`` (seconds, training and validation).
    best_epoch : int
        1-based epoch whose weights were restored (the last one without a
        validation set).
    state : dict | None
        The state to resume from (``keep_state``), else None.

    Raises
    ------
    ValueError
        If ``resume`` was saved for other parameters (names or groups).
    """
    weight = None if class_weight is None else class_weight.to(device)
    cpu_weight = None if class_weight is None else class_weight.float().cpu()
    optimizer = torch.optim.AdamW(
        [{k: v for k, v in g.items() if k != "names"} for g in groups], lr=lr, betas=(0.9, 0.999)
    )
    layout = [list(g["names"]) for g in groups]
    n_train = len(train_index)
    steps_per_epoch = math.ceil(n_train / batch_size)
    done = 0
    history, best_loss, best_epoch, best_state, waited, step = [], math.inf, 0, None, 0, 0
    if resume is not None:
        if resume["layout"] != layout:
            raise ValueError(
                "The saved training state is for other trained parameters; it cannot be resumed."
            )
        optimizer.load_state_dict(resume["optimizer"])
        with torch.no_grad():
            for name, param in trainable_params.items():
                param.copy_(resume["last"][name])
        done, step = resume["epoch"], resume["step"]
        best_loss, best_epoch, waited = resume["best_loss"], resume["best_epoch"], resume["waited"]
        best_state = resume["best"]
        generator.set_state(resume["generator"])
        _set_rng_state(resume["rng"], device)
    horizon = done + max_epochs if schedule_epochs is None else int(schedule_epochs)
    total_steps = steps_per_epoch * horizon
    warmup_steps = int(round(warmup_epochs * steps_per_epoch))

    def loss_of(index):
        batch = inputs[torch.as_tensor(index)].to(device, non_blocking=True)
        with autocast():
            logits = forward(batch)
        target = y[torch.as_tensor(index)].to(device)
        return F.cross_entropy(logits.float(), target, weight=weight, reduction="sum"), logits

    for epoch in range(done + 1, done + max_epochs + 1):
        started = time.perf_counter()
        set_mode(True)
        order = torch.randperm(n_train, generator=generator).numpy()
        update, close = progress(epoch, steps_per_epoch) if progress else (None, None)
        total, peak = 0.0, 0.0
        for index in _batches(n_train, batch_size, train_index[order]):
            factor = lr_factor(step, warmup_steps, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"] * factor
            peak = max(peak, lr * factor)
            loss, _ = loss_of(index)
            norm = float(cpu_weight[y[index]].sum()) if weight is not None else float(len(index))
            optimizer.zero_grad(set_to_none=True)
            (loss / norm).backward()
            optimizer.step()
            total += float(loss.detach())
            step += 1
            if update:
                update(float(loss.detach()) / norm)
        train_weight = float(cpu_weight[y[train_index]].sum()) if weight is not None else n_train
        record = {"epoch": epoch, "train_loss": total / train_weight, "lr": peak}
        if len(valid_index):
            set_mode(False)
            v_loss, correct = 0.0, 0
            with torch.no_grad():
                for index in _batches(len(valid_index), batch_size, valid_index):
                    loss, logits = loss_of(index)
                    v_loss += float(loss)
                    correct += int((logits.argmax(1).cpu() == y[index]).sum())
            v_weight = float(cpu_weight[y[valid_index]].sum()) if weight is not None else len(valid_index)
            record["valid_loss"] = v_loss / v_weight
            record["valid_score"] = correct / len(valid_index)
        else:
            record["valid_loss"] = math.nan
            record["valid_score"] = math.nan
        record["dur"] = time.perf_counter() - started
        history.append(record)
        if close:
            close(record)
        if len(valid_index):
            if record["valid_loss"] < best_loss:
                best_loss, best_epoch, waited = record["valid_loss"], epoch, 0
                best_state = {k: p.detach().clone() for k, p in trainable_params.items()}
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    break
        else:
            best_epoch = epoch
    last_epoch = history[-1]["epoch"]
    state = None
    if keep_state:
        state = {
            "layout": layout,
            "optimizer": optimizer.state_dict(),
            "last": {k: p.detach().clone() for k, p in trainable_params.items()},
            "epoch": last_epoch,
            "step": step,
            "best_loss": best_loss,
            "best_epoch": best_epoch,
            "waited": waited,
            "best": best_state,
            "generator": generator.get_state(),
            "rng": _get_rng_state(device),
        }
    if best_state is not None and best_epoch != last_epoch:
        with torch.no_grad():
            for name, param in trainable_params.items():
                param.copy_(best_state[name])
    set_mode(False)
    return history, best_epoch, state


def _get_rng_state(device):
    """torch's default generator states (CPU, and ``device`` when CUDA)."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state, device):
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
