"""EEG-DINO encoder (Wang et al., MICCAI 2025).

EEG-DINO is a ViT-style EEG foundation model pretrained with DINOv2-style
hierarchical self-distillation on the Temple University EEG corpus (TUEG).
Only the encoder was released; the classification head here is always
randomly initialised.

- Paper: Wang, X., Liu, X., Liu, X., Si, Q., Xu, Z., Li, Y., & Zhen, X.
  (2025). EEG-DINO: Learning EEG Foundation Models via Hierarchical
  Self-Distillation. MICCAI 2025.
- Original weights: ``eegdino/EEG-DINO`` on Hugging Face
  (``pre-trained-models/model_EEG_DINO_{S,M,L}.pt``); re-hosted in the
  reference layout as ``braindecode/eegdino-{small,medium}-pretrained``.
  The state_dict layout here is that of the re-hosted checkpoints, so they
  load with ``strict=True``.

Architecture: CBraMod's time-frequency patch embedding
(:class:`~skeegfm.models._layers.TimeFrequencyEmbedding`) plus a decoupled
positional embedding (a one-hot channel embedding and a depthwise temporal
convolution over the patch axis), ``n_layer`` pre-norm transformer blocks
with BEiT-style query/value biases, and learnable global tokens prepended
after block ``global_token_layer``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import torch
from torch import nn

from ._hub import HubMixin
from ._layers import TimeFrequencyEmbedding, TransformerBlock, resolve_signal_params
from ._protocol import checkpoint_blocks, layer_id_of
from ._layers import as_conv_config as _as_conv_config
from ._loading import _count_indexed, _need, load_checkpoint_file
from ._pretrained import TUEG_SOURCES, UNKNOWN_LICENCE, ModelRecord, register_pretrained
from ._vocabulary import TUEG_19_CHANNELS

__all__ = ["EEGDINO", "EEGDINO_CONFIGS", "convert_eegdino_checkpoint"]

logger = logging.getLogger("skeegfm")

_PRETRAINED_SFREQ = 200.0

_SMALL_CONV = ((25, 49, 25, 24, (5, 25)), (25, 3, 1, 1, (5, 25)), (25, 3, 1, 1, (5, 25)))

#: Constructor keyword arguments of the three EEG-DINO sizes (the reference
#: implementation's presets, braindecode's ``EEGDINO``).
#: Weights were released for ``"small"`` (D=200) and ``"medium"`` (D=512).
EEGDINO_CONFIGS = {
    "small": dict(
        n_layer=12,
        nhead=8,
        dim_feedforward=512,
        channels_kernel_stride_padding_norm=_SMALL_CONV,
    ),
    "medium": dict(
        n_layer=16,
        nhead=8,
        dim_feedforward=1024,
        channels_kernel_stride_padding_norm=(
            (64, 49, 25, 24, (8, 64)),
            (128, 3, 1, 1, (8, 128)),
            (64, 3, 1, 1, (8, 64)),
        ),
    ),
    "large": dict(
        n_layer=24,
        nhead=8,
        dim_feedforward=2048,
        channels_kernel_stride_padding_norm=(
            (128, 49, 25, 24, (16, 128)),
            (256, 3, 1, 1, (16, 256)),
            (128, 3, 1, 1, (16, 128)),
        ),
    ),
}


class _PatchEmbedding(TimeFrequencyEmbedding):
    """Time-frequency embedding plus EEG-DINO's decoupled positional embedding.

    Adds to :class:`TimeFrequencyEmbedding` a one-hot channel embedding
    (``channel_embedding``, a Linear over ``n_channel_embeddings`` slots; input
    channel ``i`` uses slot ``i``) and a depthwise convolution over the patch
    axis (``time_encoding``), added residually.
    """

    def __init__(self, patch_size, conv_config, activation, drop_prob, n_channel_embeddings):
        super().__init__(patch_size, conv_config, activation, spectral_dropout=drop_prob)
        dim = self.emb_dim
        self.channel_embedding = nn.Linear(n_channel_embeddings, dim)
        self.time_encoding = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=(1, 5), padding=(0, 2), groups=dim)
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, n_chans, n_patches, patch_size)`` to tokens
        ``(batch, n_chans * n_patches, emb_dim)``, channel-major."""
        B, C, N, _ = patches.shape
        emb = self.embed(patches)
        # One-hot row c times the Linear is column c of its weight plus bias.
        slots = self.channel_embedding.weight[:, :C].t() + self.channel_embedding.bias
        emb = emb + slots[None, :, None, :].to(emb.dtype)
        # Depthwise conv over the patch axis of (B, D, C, N), added residually.
        temporal = self.time_encoding(emb.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        emb = emb + temporal.to(emb.dtype)
        return emb.reshape(B, C * N, emb.shape[-1])


class _ClassificationHead(nn.Module):
    """EEG-DINO's fine-tuning head.

    Per-token projection, mean over channels, projection, mean over patches,
    then a three-layer MLP. Input ``(batch, n_chans * n_patches, emb_dim)``
    (channel-major tokens), output ``(batch, n_outputs)``.
    """

    def __init__(self, emb_dim, n_outputs, activation=nn.GELU):
        super().__init__()
        self.token_proj = nn.Sequential(nn.Linear(emb_dim, emb_dim), activation())
        self.time_proj = nn.Sequential(nn.Linear(emb_dim, emb_dim), activation())
        self.classifier = nn.Sequential(
            nn.Linear(emb_dim, emb_dim // 2),
            activation(),
            nn.Dropout(0.5),
            nn.Linear(emb_dim // 2, emb_dim // 4),
            activation(),
            nn.Dropout(0.3),
            nn.Linear(emb_dim // 4, n_outputs),
        )

    def forward(self, tokens: torch.Tensor, n_chans: int) -> torch.Tensor:
        B, L, D = tokens.shape
        h = self.token_proj(tokens).reshape(B, n_chans, L // n_chans, D).mean(dim=1)
        h = self.time_proj(h).mean(dim=1)
        return self.classifier(h)


class EEGDINO(HubMixin, nn.Module):
    r"""EEG-DINO encoder with an optional classification head [1]_.

    A ViT-style EEG foundation model: the signal is cut into patches of
    ``patch_size`` samples per channel, embedded with CBraMod's time-frequency
    embedding [2]_ plus a decoupled (channel, time) positional embedding,
    and processed by ``n_layer`` pre-norm transformer blocks; learnable global
    tokens join the sequence after block ``global_token_layer``.

    Parameters
    ----------
    n_outputs : int | None
        Number of outputs (classes) of the head. Required unless
        ``return_encoder_output=True``.
    n_chans : int | None
        Number of EEG channels, at most ``n_channel_embeddings``. Required
        (or inferred from ``chs_info``). Channel ``i`` uses channel-embedding
        slot ``i``: the mapping is positional, not by name.
    chs_info : list of dict | None
        Per-channel information (``mne.Info["chs"]``-like).
    n_times : int | None
        Samples per window (at ``sfreq``). Used for the configuration and a
        warning only; any length is accepted at forward time. A window that
        is not a whole number of patches, also one shorter than a single
        patch, is zero-padded on the right, as in the reference.
    input_window_seconds : float | None
        Window length in seconds.
    sfreq : float | None
        Sampling frequency in Hz. The released weights expect 200 Hz; another
        value only warns (nothing is resampled).
    patch_size : int
        Samples per patch (200 = 1 s at 200 Hz; fixed for released weights).
    n_layer : int
        Number of transformer blocks.
    nhead : int
        Attention heads (8 for every released size).
    dim_feedforward : int
        Hidden width of the transformer MLPs.
    channels_kernel_stride_padding_norm : sequence of tuple
        Time-branch convolutions of the patch embedding, each
        ``(out_channels, kernel, stride, padding, (groups, group_channels))``.
        The embedding width ``emb_dim`` follows from it (200 for small).
    n_channel_embeddings : int
        Slots of the one-hot channel embedding (19 for released weights).
    n_global_tokens : int
        Number of learnable global tokens (at least 1).
    global_token_layer : int
        1-based index of the block after which the global tokens are
        prepended, in ``[1, n_layer]``.
    activation : type[nn.Module]
        Activation of the transformer MLPs and of the head.
    patch_activation : type[nn.Module]
        Activation after each GroupNorm of the patch embedding.
    drop_prob : float
        Dropout and stochastic-depth probability used throughout the encoder.
    return_features : bool
        Default of ``forward(return_features=None)``.
    return_encoder_output : bool
        If True, there is no head (``final_layer`` is an identity) and
        ``forward`` returns the mean of the patch tokens (linear probing).

    Attributes
    ----------
    emb_dim : int
        Token width ``D``.
    n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        The (inferred) signal parameters.
    lora_target_modules : tuple of str
        Default LoRA targets (module-name suffixes): ``attn.qkv``,
        ``attn.proj``, ``mlp.fc1``, ``mlp.fc2`` of every block.
    blocks, layer_id, forward_until, forward_from, set_grad_checkpointing
        The fine-tuning members of the encoder protocol
        (``skeegfm.models._protocol``): the blocks are ``encoder_layers``;
        layer 0 is the patch embedding and the global tokens.

    Raises
    ------
    ValueError
        If ``n_chans`` (or ``n_outputs`` without ``return_encoder_output``)
        is missing, ``n_chans > n_channel_embeddings``, the signal parameters
        disagree, ``drop_prob`` is outside ``[0, 1)`` (the reference accepts
        1.0, which only a model in eval mode survives), or another
        architecture argument is out of range.

    Warns
    -----
    UserWarning
        If ``sfreq`` is given and is not 200 Hz, or ``n_times`` is not a
        multiple of ``patch_size`` (inputs are then zero-padded; a window
        shorter than one patch becomes one patch).

    Notes
    -----
    The model does not rescale its input: the released weights were
    pretrained on EEG in microvolts divided by 100.

    References
    ----------
    .. [1] Wang, X., Liu, X., Liu, X., Si, Q., Xu, Z., Li, Y., & Zhen, X.
           (2025). EEG-DINO: Learning EEG Foundation Models via Hierarchical
           Self-Distillation. MICCAI 2025.
    .. [2] Wang, J. et al. (2025). CBraMod: A criss-cross brain foundation
           model for EEG decoding. ICLR 2025.

    Examples
    --------
    >>> import torch
    >>> model = EEGDINO(n_outputs=2, n_chans=19, n_times=800).eval()
    >>> model(torch.zeros(1, 19, 800)).shape
    torch.Size([1, 2])
    """

    _head_prefixes = ("final_layer.",)
    _config_absent_defaults: dict = {}
    _pretraining_only_prefixes = ("mask_projector.",)
    _state_dict_roots = ("global_tokens", "patch_embedding", "encoder_layers")

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        patch_size=200,
        n_layer=12,
        nhead=8,
        dim_feedforward=512,
        channels_kernel_stride_padding_norm=_SMALL_CONV,
        n_channel_embeddings=19,
        n_global_tokens=1,
        global_token_layer=1,
        activation=nn.GELU,
        patch_activation=nn.GELU,
        drop_prob=0.1,
        return_features=False,
        return_encoder_output=False,
    ):
        super().__init__()
        params = resolve_signal_params(
            n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        )
        for name, value in params.items():
            setattr(self, name, value)
        if self.n_chans is None:
            raise ValueError("EEGDINO needs n_chans (or chs_info): the number of EEG channels.")
        if self.n_outputs is None and not return_encoder_output:
            raise ValueError(
                "EEGDINO needs n_outputs (number of classes), or return_encoder_output=True "
                "for an encoder without a head."
            )
        patch_size = int(patch_size)
        if patch_size < 1:
            raise ValueError(f"patch_size must be a positive number of samples, got {patch_size}.")
        if not 1 <= int(self.n_chans) <= int(n_channel_embeddings):
            raise ValueError(
                f"n_chans={self.n_chans} but EEGDINO has n_channel_embeddings="
                f"{n_channel_embeddings} channel slots; use at most {n_channel_embeddings} "
                "channels (the released weights know the 19 channels of the 10-20 montage)."
            )
        if int(n_global_tokens) < 1:
            raise ValueError(f"n_global_tokens must be >= 1, got {n_global_tokens}.")
        if not 1 <= int(global_token_layer) <= int(n_layer):
            raise ValueError(
                f"global_token_layer must be in [1, n_layer={n_layer}], got {global_token_layer}."
            )
        if not 0.0 <= float(drop_prob) < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}.")
        if sfreq is not None and float(sfreq) != _PRETRAINED_SFREQ:
            warnings.warn(
                f"EEGDINO was pretrained at {_PRETRAINED_SFREQ:g} Hz but sfreq={sfreq}; "
                "the model does not resample, so resample your data to 200 Hz.",
                UserWarning,
                stacklevel=3,
            )
        if self.n_times is not None and self.n_times % patch_size:
            warnings.warn(
                f"n_times={self.n_times} is not a multiple of patch_size={patch_size}; "
                "inputs will be zero-padded on the right to a whole number of patches.",
                UserWarning,
                stacklevel=3,
            )

        conv_config = _as_conv_config(channels_kernel_stride_padding_norm)
        self.patch_size = patch_size
        self.n_global_tokens = int(n_global_tokens)
        self.global_token_layer = int(global_token_layer)
        self.return_features = bool(return_features)
        self.return_encoder_output = bool(return_encoder_output)
        self._activation = activation

        self.patch_embedding = _PatchEmbedding(
            patch_size, conv_config, patch_activation, drop_prob, int(n_channel_embeddings)
        )
        self.emb_dim = dim = self.patch_embedding.emb_dim
        if not 1 <= int(nhead) <= dim:
            raise ValueError(f"nhead must be in [1, emb_dim={dim}], got {nhead}.")
        self.global_tokens = nn.Parameter(torch.zeros(1, self.n_global_tokens, dim))
        self.encoder_layers = nn.ModuleList(
            TransformerBlock(
                dim,
                int(nhead),
                int(dim_feedforward),
                qkv_bias="qv",
                drop=drop_prob,
                attn_drop=drop_prob,
                drop_path=drop_prob,
                activation=activation,
                norm_eps=1e-5,
            )
            for _ in range(int(n_layer))
        )
        if self.return_encoder_output:
            self.final_layer = nn.Identity()
        else:
            self.final_layer = _ClassificationHead(dim, int(self.n_outputs), activation)
        nn.init.trunc_normal_(self.global_tokens, std=0.02, a=-2.0, b=2.0)

    def _check_input(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"EEGDINO expects a torch.Tensor of shape (batch, n_chans, n_times), "
                f"got {type(x).__name__}."
            )
        if x.ndim != 3:
            raise ValueError(
                f"EEGDINO expects input of shape (batch, n_chans, n_times), got a "
                f"{x.ndim}-D tensor of shape {tuple(x.shape)}."
            )
        if x.shape[1] != self.n_chans:
            raise ValueError(
                f"Input has {x.shape[1]} channels but the model was built with "
                f"n_chans={self.n_chans}; pass channels in the model's order."
            )
        if x.shape[2] < 1:
            raise ValueError("Input has no time samples (n_times=0).")
        if not x.is_floating_point():
            raise TypeError(f"EEGDINO expects a floating-point input, got {x.dtype}.")
        return x

    def forward(self, x: torch.Tensor, return_features: bool | None = None):
        """Encode EEG windows.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_chans, n_times)
            EEG at 200 Hz, in the scale the weights were trained on
            (microvolts / 100 for the released weights). A length that is not
            a multiple of ``patch_size`` is zero-padded on the right (with a
            warning).
        return_features : bool | None
            Overrides ``self.return_features`` for this call.

        Returns
        -------
        out : torch.Tensor | dict
            Logits ``(batch, n_outputs)``; with ``return_encoder_output=True``
            the mean of the patch tokens ``(batch, emb_dim)``; with features
            a dict ``{"features": (batch, n_chans * n_patches, emb_dim),
            "cls_token": (batch, emb_dim)}`` (tokens channel-major, global
            tokens averaged into ``cls_token``).

        Raises
        ------
        TypeError
            If ``x`` is not a floating-point tensor.
        ValueError
            If ``x`` is not 3-D, has the wrong number of channels, or no
            samples.
        """
        x = self._check_input(x)
        if return_features is None:
            return_features = self.return_features
        B, C, T = x.shape
        P = self.patch_size
        n_patches = -(-T // P)
        if n_patches * P != T:
            warnings.warn(
                f"Input length {T} is not a multiple of patch_size={P}; zero-padding "
                f"{n_patches * P - T} samples on the right.",
                UserWarning,
                stacklevel=2,
            )
            x = nn.functional.pad(x, (0, n_patches * P - T))
        tokens = self.patch_embedding(x.reshape(B, C, n_patches, P))
        tokens = self._run_blocks(tokens, 0, len(self.encoder_layers))
        G = self.n_global_tokens
        patch_tokens = tokens[:, G:]
        if return_features:
            return {"features": patch_tokens, "cls_token": tokens[:, :G].mean(dim=1)}
        if self.return_encoder_output:
            return patch_tokens.mean(dim=1)
        return self.final_layer(patch_tokens, C)

    def reset_head(self, n_outputs: int) -> None:
        """Replace ``final_layer`` with a freshly initialised head.

        Also sets ``return_encoder_output=False`` (a head implies a
        classifier), in the attributes and in the recorded configuration.

        Parameters
        ----------
        n_outputs : int
            Number of outputs (classes) of the new head.

        Raises
        ------
        ValueError
            If ``n_outputs`` is not a positive integer.
        """
        if isinstance(n_outputs, bool) or int(n_outputs) != n_outputs or n_outputs < 1:
            raise ValueError(f"n_outputs must be a positive integer, got {n_outputs!r}.")
        n_outputs = int(n_outputs)
        ref = self.global_tokens
        self.final_layer = _ClassificationHead(self.emb_dim, n_outputs, self._activation).to(
            device=ref.device, dtype=ref.dtype
        )
        self.n_outputs = n_outputs
        self.return_encoder_output = False
        config = getattr(self, "_hub_config", None)
        if config is not None:
            config["n_outputs"] = n_outputs
            config["return_encoder_output"] = False

    @classmethod
    def _remap_state_dict(cls, state_dict):
        """Drop ``relative_position_index`` buffers of original checkpoints
        (integer buffers without a bias table; never used)."""
        return {
            k: v for k, v in state_dict.items() if not k.endswith("relative_position_index")
        }

    @classmethod
    def _config_from_state_dict(cls, state_dict) -> dict:
        """EEG-DINO preset (small / medium / large) from widths and depth (the
        reference implementation's presets), for files without config.json.

        The geometry is that of braindecode's uploads (19 channels, 5 s at
        200 Hz), encoder only.

        Raises
        ------
        ValueError
            If a needed tensor is absent or the shapes match no preset.
        """
        n_layer = _count_indexed(state_dict, "encoder_layers.")
        dim_ff = _need(state_dict, "encoder_layers.0.mlp.fc1.weight", "EEG-DINO feed-forward width")[0]
        convs = [
            _need(state_dict, f"patch_embedding.proj_in.{i}.weight", "EEG-DINO patch convs")[0] for i in (0, 3, 6)
        ]
        n_emb = _need(state_dict, "patch_embedding.channel_embedding.weight", "EEG-DINO channel slots")[1]
        for name, preset in EEGDINO_CONFIGS.items():
            widths = [c[0] for c in preset["channels_kernel_stride_padding_norm"]]
            if preset["n_layer"] == n_layer and preset["dim_feedforward"] == dim_ff and widths == convs:
                logger.info("EEGDINO checkpoint recognised as the %r preset.", name)
                return dict(
                    preset, n_channel_embeddings=n_emb, n_chans=n_emb, n_times=1000, return_encoder_output=True
                )
        raise ValueError(
            f"EEG-DINO checkpoint with {n_layer} layers, feed-forward width {dim_ff} and patch-conv "
            f"widths {convs} matches none of the presets {sorted(EEGDINO_CONFIGS)}."
        )

    @classmethod
    def _original_hooks(cls):
        """Recogniser and converter of the authors' original checkpoints."""
        return _looks_like_original, convert_eegdino_checkpoint

    # -- encoder protocol (skeegfm.models._protocol): fine-tuning and pooling --

    #: Parts no pretrained checkpoint provides: the head.
    head_prefixes = _head_prefixes
    #: Default LoRA targets (``tuning="lora"`` of
    #: :class:`skeegfm.classifiers.EEGDINOClassifier`): in every block, the
    #: packed query/key/value projection, the attention output projection and
    #: the two MLP layers, matched as suffixes of the module names.
    lora_target_modules = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")
    #: Poolings of :meth:`pool` (first: the default): the mean of the patch
    #: tokens, the global token, or both concatenated.
    poolings = ("mean", "cls", "mean+cls")
    grad_checkpointing = False

    @property
    def blocks(self) -> nn.ModuleList:
        """The transformer blocks (``encoder_layers``)."""
        return self.encoder_layers

    def layer_id(self, name: str) -> int | None:
        """BEiT layer number of a parameter: 0 for the patch embedding and the
        global tokens (which join after block ``global_token_layer``), ``i + 1``
        for block ``i``, ``n_layer + 1`` for the head."""
        return layer_id_of(
            name,
            "encoder_layers.",
            len(self.encoder_layers),
            stem=("patch_embedding.", "global_tokens"),
            unused=self._pretraining_only_prefixes,
        )

    def _run_blocks(self, tokens: torch.Tensor, first: int, stop: int) -> torch.Tensor:
        """Blocks ``first`` .. ``stop - 1``, the global tokens joining after
        block ``global_token_layer`` (1-based)."""
        for index in range(first + 1, stop + 1):
            tokens = self.encoder_layers[index - 1](tokens)
            if index == self.global_token_layer:
                glob = self.global_tokens.expand(tokens.shape[0], -1, -1).to(tokens.dtype)
                tokens = torch.cat((glob, tokens), dim=1)
        return tokens

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens ``(batch, n_chans * n_patches, emb_dim)``, the head's input."""
        return self(x, return_features=True)["features"]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_outputs)`` from :meth:`forward_features`."""
        return self.final_layer(features, self.n_chans)

    def forward_until(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Tokens entering block ``cut`` (0-based; with the global tokens in
        front once they joined), ``(batch, n_tokens, emb_dim)``. A partial
        last patch is zero-padded without a warning."""
        B, C, T = self._check_input(x).shape
        P = self.patch_size
        n_patches = -(-T // P)
        if n_patches * P != T:
            x = nn.functional.pad(x, (0, n_patches * P - T))
        tokens = self.patch_embedding(x.reshape(B, C, n_patches, P))
        return self._run_blocks(tokens, 0, cut)

    def forward_from(self, h: torch.Tensor, cut: int) -> torch.Tensor:
        """Logits from ``h = forward_until(x, cut)``: blocks ``cut`` onwards and the head."""
        tokens = self._run_blocks(h, cut, len(self.encoder_layers))
        return self.forward_head(tokens[:, self.n_global_tokens :])

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass (see
        :func:`~skeegfm.models._protocol.checkpoint_blocks`)."""
        checkpoint_blocks(self.encoder_layers, enable)
        self.grad_checkpointing = bool(enable)

    def reset_classifier(self, n_outputs: int) -> None:
        """A fresh head with ``n_outputs`` outputs (:meth:`reset_head`)."""
        self.reset_head(n_outputs)

    @classmethod
    def input_config(cls, ch_names, n_times: int, sfreq: float, *, head: bool) -> dict:
        """No constructor argument depends on the input: the channels fill
        the positional slots, any window length works, the head pools."""
        return {}

    @property
    def fixed_n_times(self) -> int | None:
        """None: any window length works (the head pools over patches)."""
        return None

    @property
    def fixed_ch_names(self) -> list | None:
        """None: the channel slots are positional (the record's channels)."""
        return None

    def pool(self, features: dict, pooling: str) -> torch.Tensor:
        """One vector per epoch from ``forward(x, return_features=True)``."""
        tokens, cls_token = features["features"], features["cls_token"]
        if pooling == "mean":
            return tokens.mean(dim=1)
        if pooling == "cls":
            return cls_token
        return torch.cat((tokens.mean(dim=1), cls_token), dim=1)

    def pooled_size(self, pooling: str, n_chans: int) -> int:
        """Size of :meth:`pool`'s vectors."""
        return self.emb_dim * (2 if pooling == "mean+cls" else 1)


# --------------------------------------------------------------------------
# Original (authors') checkpoints
# --------------------------------------------------------------------------

#: The default LoRA targets (``EEGDINO.lora_target_modules``).
LORA_TARGET_MODULES = EEGDINO.lora_target_modules

_ENCODER_PREFIXES = ("patch_embedding.", "encoder_layers.", "global_tokens")
_FINETUNED_HEAD = {
    "full_linear.": "final_layer.token_proj.0.",
    "channel_linear.": "final_layer.time_proj.0.",
    "classifier.": "final_layer.classifier.",
}


def _unwrap(checkpoint) -> dict:
    if not isinstance(checkpoint, Mapping):
        raise TypeError(
            f"Expected a checkpoint dict or a path to one, got {type(checkpoint).__name__}."
        )
    inner = checkpoint.get("state_dict")
    if isinstance(inner, Mapping):
        return dict(inner)
    return dict(checkpoint)


def _looks_like_original(state_dict) -> bool:
    """Whether ``state_dict`` is in the authors' EEG-DINO layout.

    True for pretraining checkpoints (``module.teacher.*`` / ``module.student.*``,
    possibly inside ``{"state_dict": ...}``) and fine-tuned ones
    (``[module.]encoder.patch_embedding.*``).
    """
    try:
        keys = list(_unwrap(state_dict))
    except TypeError:
        return False
    return any(
        isinstance(k, str)
        and k.startswith(("module.teacher.", "module.student.", "encoder.patch_embedding.",
                          "module.encoder.patch_embedding."))
        for k in keys
    )


def convert_eegdino_checkpoint(
    path_or_dict, source="teacher", *, include_head=False, trust_checkpoint=False
):
    """Convert an original EEG-DINO checkpoint to this module's state_dict keys.

    Handles the authors' pretraining checkpoints (``model_EEG_DINO_{S,M,L}.pt``:
    ``{"state_dict": {"module.teacher.<key>", "module.student.<key>",
    "module.mask_projector.*", ...}}``) and fine-tuned ones (encoder under
    ``encoder.``; head ``full_linear``, ``channel_linear``, ``classifier``).

    Parameters
    ----------
    path_or_dict : str | os.PathLike | dict
        Checkpoint file (a torch pickle) or an already loaded dict (the
        checkpoint or its ``"state_dict"``).
    source : {"teacher", "student"}
        Which DINO network to take from a pretraining checkpoint. The
        re-hosted Hub weights are the teacher's.
    include_head : bool
        Also return a fine-tuned checkpoint's head, renamed to
        ``final_layer.*`` (pretraining checkpoints have no head).
    trust_checkpoint : bool
        Default False: the file is read with ``torch.load(weights_only=True)``
        and an allow-list of harmless types, which covers the authors'
        released formats. True unpickles a file holding other Python objects,
        which runs any code it carries (only for files you trust).

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        Encoder entries (``global_tokens``, ``patch_embedding.*``,
        ``encoder_layers.*``) in this module's names; pretraining-only modules
        (``mask_projector``, the other DINO network, ``relative_position_index``
        buffers) are left out. Load with ``model.load_state_dict(sd,
        strict=False)`` and check that only ``final_layer.*`` is missing.

    Raises
    ------
    ValueError
        If ``source`` is unknown or no EEG-DINO encoder weights are found.
    FileNotFoundError
        If a path does not exist.
    UntrustedCheckpointError
        (a ``ValueError``) If the file holds Python objects beyond the
        allow-list and ``trust_checkpoint`` is False.
    """
    if source not in ("teacher", "student"):
        raise ValueError(f'source must be "teacher" or "student", got {source!r}.')
    state = _unwrap(load_checkpoint_file(path_or_dict, trust_checkpoint=trust_checkpoint))
    keys = [k for k in state if isinstance(k, str)]

    candidates = (f"module.{source}.", f"{source}.", "module.encoder.", "encoder.", "module.", "")
    prefix = None
    for cand in candidates:
        if any(k.startswith(cand + p) for k in keys for p in _ENCODER_PREFIXES):
            prefix = cand
            break
    if prefix is None:
        seen = sorted({".".join(k.split(".")[:2]) for k in keys})[:10]
        raise ValueError(
            "No EEG-DINO encoder weights found (expected keys like "
            f"'module.{source}.patch_embedding.*' or 'patch_embedding.*'); key prefixes "
            f"seen: {seen}."
        )
    out = {}
    for key in keys:
        if not key.startswith(prefix) or key.endswith("relative_position_index"):
            continue
        name = key[len(prefix):]
        if name.startswith(_ENCODER_PREFIXES):
            out[name] = state[key]
    if include_head and prefix.endswith("encoder."):
        head_prefix = prefix[: -len("encoder.")]
        for key in keys:
            if not key.startswith(head_prefix):
                continue
            name = key[len(head_prefix):]
            for old, new in _FINETUNED_HEAD.items():
                if name.startswith(old):
                    out[new + name[len(old):]] = state[key]
    return out


# --------------------------------------------------------------------------
# Pretrained records
# --------------------------------------------------------------------------

_EEGDINO_SOURCES = dict(
    TUEG_SOURCES,
    hub_id="braindecode re-hosted the authors' teacher weights (eegdino/EEG-DINO on the Hub), "
        "converted to its layout",
    preset="reference implementation's presets (braindecode EEGDINO_CONFIGS; 8 heads as there, "
        "the authors' code is not public)",
    n_params="counted on the reference architecture (encoder only, head excluded)",
    emb_dim="D = last conv width x 8 (patch-embedding geometry; return_encoder_output pools patch "
        "tokens)",
    paper="Wang et al., MICCAI 2025",
    window="reference implementation (braindecode EEGDINO): zero-pads the window to whole "
        "patches",
)  # fmt: skip


def _eegdino_record(size: str, emb_dim: int, n_params: int) -> ModelRecord:
    """Record of a released EEG-DINO size; only the architecture differs."""
    return ModelRecord(
        name=f"eegdino-{size}",
        model="EEGDINO",
        window="pad",
        display_name=f"EEG-DINO-{size.capitalize()}",
        default_benchmark=size == "small",
        hub_id=f"braindecode/eegdino-{size}-pretrained",
        preset=dict(EEGDINO_CONFIGS[size]),
        sfreq=_PRETRAINED_SFREQ,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=emb_dim,
        n_params=n_params,
        licence=UNKNOWN_LICENCE,
        paper=(
            "Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via "
            "Hierarchical Self-Distillation. MICCAI 2025."
        ),
        sources=_EEGDINO_SOURCES,
    )


register_pretrained(_eegdino_record("small", emb_dim=200, n_params=4_433_944), aliases=("eegdino",))
register_pretrained(_eegdino_record("medium", emb_dim=512, n_params=33_755_456))
