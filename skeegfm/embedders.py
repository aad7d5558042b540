"""Frozen-embedding transformers: EEG epochs in, foundation-model features out.

:class:`EEGDINOEmbedder`, :class:`EEGPTEmbedder`, :class:`CodeBrainEmbedder`
and :class:`CBraModEmbedder` run a pretrained encoder, frozen and in eval
mode, over EEG epochs and pool its tokens into one feature vector per
epoch, ready for any scikit-learn
estimator (``make_pipeline(EEGPTEmbedder(), StandardScaler(),
LogisticRegression())``). The input path (channels matched by name,
resampling, re-referencing, scaling to the model's unit) is the shared
adapter :mod:`skeegfm._inputs`; the shared estimator machinery (checkpoint
resolution, process-wide encoder cache, devices, pickling) is
:mod:`skeegfm._base`; the per-epoch embedding cache is
:class:`skeegfm._cache.EmbeddingStore`.

References
----------
.. [1] Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via
       Hierarchical Self-Distillation. MICCAI 2025.
.. [2] Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal
       and reliable representation of EEG signals. NeurIPS 37.
.. [3] Ma, J. et al. (2026). CodeBrain: Bridging Decoupled Tokenizer and
       Multi-Scale Architecture for EEG Foundation Model. ICLR 2026.
.. [4] Wang, J. et al. (2025). CBraMod: A Criss-Cross Brain Foundation Model
       for EEG Decoding. ICLR 2025.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_memory

from . import _cache
from ._base import (
    DEVICE_PARAMETERS_DOC,
    FITTED_INPUT_ATTRIBUTES_DOC,
    INPUT_PARAMETERS_DOC,
    TRUST_PARAMETER_DOC,
    _BaseFoundationEstimator,
    _check_choice,
    _check_int,
    _subset_epochs,
)

__all__ = ["CBraModEmbedder", "CodeBrainEmbedder", "EEGDINOEmbedder", "EEGPTEmbedder"]

_DTYPES = ("float32", "float64")

_COMMON_PARAMETERS = INPUT_PARAMETERS_DOC + """
    batch_size : int
        Epochs per forward pass.""" + "\n    " + DEVICE_PARAMETERS_DOC + """
    memory : None | str | joblib.Memory
        Where to cache embeddings, one verified file per epoch (inside the
        folder ``Memory.clear()`` empties), keyed by the encoder's weights
        and configuration, the preprocessing (channels, bad channels, types,
        rate), the pooling, the precision and the epoch's data. A
        cross-validation then runs the encoder on each epoch once. Damaged
        entries are recomputed; an unwritable folder warns once and caches
        nothing (docs: caching). ``None``: no caching.
    dtype : {"float32", "float64"}
        dtype of the output.
    verbose : bool
        Show a progress bar over batches.
    random_state : int | numpy.random.RandomState | None
        Seed of the random weights when ``checkpoint=None``; unused otherwise.
        ``None``: the fixed seed ``0`` (``skeegfm._base.DEFAULT_RANDOM_STATE``),
        so that every fit and clone (e.g. each cross-validation fold) builds
        the same random encoder and ``memory`` caches hit.
    """ + TRUST_PARAMETER_DOC

_COMMON_ATTRIBUTES = """\
encoder_ : torch.nn.Module
        The frozen encoder, in eval mode; shared with the estimator's clones
        (never modify it).
    encoder_hash_ : str
        Hash of the encoder's weights (the embedding cache's key).
    pretrained_source_ : dict
        Where the weights came from (Hub id or path, revision, number of
        tensors), or ``{"random_init": seed}``.""" + "\n    " + FITTED_INPUT_ATTRIBUTES_DOC + """
    n_features_out_ : int
        Number of output features."""


def _fill_doc(cls):
    cls.__doc__ = cls.__doc__.replace("%(common_parameters)s", _COMMON_PARAMETERS).replace(
        "%(common_attributes)s", _COMMON_ATTRIBUTES
    )
    return cls


def _memory_location(memory):
    """Folder of the embedding store for the ``memory`` parameter, or None.

    The store lives inside the folder that ``Memory.clear()`` empties (the
    store backend's location: ``<location>/joblib`` for a ``str`` location),
    so clearing the memory clears the embeddings too. A folder that cannot be
    created gives one warning and no caching (``None``).
    """
    if memory is None:
        return None
    try:
        memory = check_memory(memory)
    except OSError as err:  # joblib creates the folder: read-only or full disk
        warnings.warn(
            f"Cannot use memory={memory!r} ({type(err).__name__}: {err.strerror or err}); "
            "embeddings are computed without caching. Pass a writable folder.",
            UserWarning,
            stacklevel=4,
        )
        return None
    if memory.location is None:
        return None
    location = getattr(getattr(memory, "store_backend", None), "location", None)
    if not isinstance(location, (str, os.PathLike)):
        location = memory.location
    return location


def _check_embeddings(embeddings, index=None):
    """Raise if the encoder returned NaN or inf (never cached, never returned)."""
    if embeddings.size and np.isfinite(embeddings.min()) and np.isfinite(embeddings.max()):
        return embeddings
    rows = np.flatnonzero(~np.isfinite(embeddings).all(axis=tuple(range(1, embeddings.ndim))))
    epochs = rows if index is None else np.asarray(index)[rows]
    raise ValueError(
        f"The encoder returned non-finite embeddings (NaN or inf) for epochs "
        f"{epochs[:10].tolist()}{' ...' if len(epochs) > 10 else ''}: their amplitudes are "
        "far outside EEG (check unit= and the data's scaling), or precision='bfloat16' "
        "overflowed (try precision='float32')."
    )


def _montage_digest(info):
    """Electrode positions of an Epochs' info, for the cache key of interpolation."""
    if info is None:
        return None
    return [[ch["ch_name"], np.round(ch["loc"][:3], 6).tolist()] for ch in info["chs"]]


class _BaseEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseFoundationEstimator):
    """fit / transform of the frozen embedders, for any encoder.

    A subclass sets ``_model_class_name``, ``_default_record`` and, where
    some, ``_model_params`` (see
    :class:`~skeegfm._base._BaseFoundationEstimator`). The poolings are the
    encoder class's (``poolings``, ``pool``, ``pooled_size`` of
    :class:`skeegfm.models._protocol.EncoderProtocol`).
    """

    def _pool(self, features) -> torch.Tensor:
        """``encoder(x, return_features=True)`` -> tensor (batch, n_features)."""
        return self.encoder_.pool(features, self.pooling)

    def _n_features(self, prepared) -> int:
        """Size of :meth:`_pool`'s output for the fitted encoder (no forward pass)."""
        return int(self.encoder_.pooled_size(self.pooling, prepared.data.shape[1]))

    def _check_params(self) -> None:
        self._check_common_params()
        _check_choice("pooling", self.pooling, self._model_class().poolings)
        _check_choice("dtype", self.dtype, _DTYPES)
        try:
            check_memory(self.memory)
        except OSError:
            pass  # a folder that cannot be created: one warning at embedding, no caching

    # ------------------------------------------------------------ estimator API

    def fit(self, X, y=None):
        """Load the encoder and record the channels and rate of ``X``.

        Only the first epoch is prepared (to learn the model's channels and
        window); the encoder is neither run nor trained.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs. Arrays need ``sfreq`` and ``ch_names`` and are in
            ``unit`` (volts by default).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted embedder.

        Raises
        ------
        ValueError
            If a parameter is invalid, or ``X`` is empty, not 3-D, holds
            NaN or inf, or has channels the model cannot take (see
            ``on_missing`` and ``on_unknown``).
        """
        self._fit(self._read_for_fit(X))
        return self

    def fit_transform(self, X, y=None):
        """Fit to ``X`` and embed it, reading ``X`` once.

        Same result as ``fit(X).transform(X)``; scikit-learn's pipelines call
        this on the training data of every split.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs, as for :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_epochs, n_features_out_)
            Pooled encoder features, as for :meth:`transform`.

        Raises
        ------
        ValueError
            As :meth:`fit`.
        """
        eeg = self._read_for_fit(X)
        self._fit(eeg)
        return self._embed(eeg).astype(self.dtype, copy=False)

    def _read_for_fit(self, X):
        self._check_params()
        return self._read(X)

    def _fit(self, eeg) -> None:
        probe = self._fit_encoder(eeg)
        self.n_features_out_ = int(self._n_features(probe))

    def transform(self, X):
        """Embed EEG epochs with the frozen encoder.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs with the channels (any order) and sampling rate seen
            at fit.

        Returns
        -------
        X_new : ndarray of shape (n_epochs, n_features_out_)
            Pooled encoder features, float32 (``dtype="float64"``: float64).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` is empty, not 3-D, holds NaN or inf, or has other
            channels or another sampling rate than at fit.
        """
        check_is_fitted(self)
        _check_choice("dtype", self.dtype, _DTYPES)
        eeg = self._read(X)
        self._check_input(eeg)
        return self._embed(eeg).astype(self.dtype, copy=False)

    @property
    def _n_features_out(self):
        # Read by ClassNamePrefixFeaturesOutMixin.get_feature_names_out.
        return self.n_features_out_

    # ------------------------------------------------------------ embedding

    #: Parameters that cannot change an embedding, left out of the store's key
    #: (``checkpoint`` and ``random_state`` act through the weights' hash).
    _UNKEYED_PARAMS = ("memory", "batch_size", "verbose", "dtype", "device", "checkpoint",
                       "random_state")  # fmt: skip

    def _store(self, eeg):
        """The embedding store for this input, or None without ``memory``.

        The namespace lists every input of an embedding besides the epoch's
        data (docs/caching.rst lists them too); per-epoch facts of a list of
        Epochs whose elements differ (bad channels, channel types) salt the
        epochs' keys instead (:meth:`_store_salts`).
        """
        location = _memory_location(self.memory)
        if location is None:
            return None
        import mne

        from ._version import __version__

        params = {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name not in self._UNKEYED_PARAMS
        }
        namespace = {
            "format": 3,  # 3: verified entries (.npy + SHA-256 trailer)
            "versions": {
                "skeegfm": __version__,
                "torch": torch.__version__,
                "mne": mne.__version__,
                "numpy": np.__version__,
            },
            "encoder": self._model_class_name,
            "weights": self.encoder_hash_,
            "config": _cache.stable_hash(self.encoder_._hub_config),
            "record": _cache.stable_hash(dataclasses.asdict(self.record_)),
            "params": params,
            "precision": self.precision_,
            "device_type": torch.device(self.device_).type,
            "n_times": self._fixed_n_times(),
            "ch_names": list(eeg.ch_names),
            "ch_types": list(eeg.ch_types),
            "bads": sorted(eeg.info["bads"]) if eeg.info is not None else [],
            "sfreq": float(eeg.sfreq),
        }
        if self.on_missing == "interpolate":
            namespace["positions"] = _montage_digest(eeg.info)
        return _cache.EmbeddingStore(
            location, namespace, shape=(self.n_features_out_,), dtype=np.float32
        )

    @staticmethod
    def _store_salts(eeg):
        """Per-epoch key salts for the elements of a list of Epochs that differ
        from its first element in bad channels or channel types, else None."""
        parts = getattr(eeg, "parts", None)
        if not parts:
            return None
        salts = np.empty(eeg.n_epochs, dtype=object)
        for part in parts:
            salts[part.epochs] = _cache.stable_hash(
                {"bads": sorted(part.info["bads"]), "ch_types": list(part.ch_types)}
            )
        return salts

    def _embed(self, eeg) -> np.ndarray:
        """Embeddings (float32) of every epoch of ``eeg``, through the store."""
        store = self._store(eeg)
        if store is None:
            return _check_embeddings(self._embed_prepared(self._prepare(eeg).data))
        keys = store.keys(eeg.data, self._store_salts(eeg))
        found = store.load(keys)
        todo = {}  # key -> first position, each distinct epoch once
        for i, key in enumerate(keys):
            if i not in found and key not in todo:
                todo[key] = i
        computed = {}
        if todo:
            index = np.fromiter(todo.values(), dtype=np.intp, count=len(todo))
            new = self._embed_prepared(self._prepare(_subset_epochs(eeg, index)).data)
            _check_embeddings(new, index)
            store.save(list(todo), new)
            computed = dict(zip(todo, new))
        return np.stack([found[i] if i in found else computed[key] for i, key in enumerate(keys)])

    def _embed_prepared(self, data: np.ndarray) -> np.ndarray:
        """Run the frozen encoder over model-ready data (n_epochs, n_chans, n_times)."""
        return self._run(self.encoder_, data, self._pooled)

    def _pooled(self, encoder, x: torch.Tensor) -> torch.Tensor:
        return self._pool(encoder(x, return_features=True))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        dtype = self.dtype
        tags.transformer_tags.preserves_dtype = [dtype] if dtype in _DTYPES else []
        return tags


@_fill_doc
class EEGDINOEmbedder(_BaseEmbedder):
    """Frozen EEG-DINO embeddings of EEG epochs.

    EEG-DINO [1]_ is a ViT-style encoder pretrained by hierarchical
    self-distillation on the TUEG corpus: 19 channels of the 10-20 montage at
    200 Hz, in microvolts / 100, one token per channel and 1 s patch. Inputs
    are put in that form (channels by name into the model's 19 slots,
    resampled, scaled, zero-padded to whole seconds) before the frozen
    encoder runs.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"eegdino-small"``, ``"eegdino-medium"``), Hub id,
        or local path (a directory written by ``save_pretrained``, or the
        authors' checkpoint file). The checkpoint decides the size (small:
        D=200, medium: D=512). ``None``: the released small architecture
        with random weights drawn from ``random_state`` (a fixed seed by
        default; a baseline; warns).
    pooling : {"mean", "cls", "mean+cls"}
        ``"mean"``: mean of the patch tokens (D features); ``"cls"``: the
        global token (D); ``"mean+cls"``: both, concatenated (2D).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    EEGPTEmbedder : Frozen EEGPT embeddings.
    CodeBrainEmbedder : Frozen CodeBrain embeddings.

    Notes
    -----
    Input: ``mne.Epochs``, the list of one-epoch Epochs of scikit-learn's
    splitters, or an array of shape (n_epochs, n_chans, n_times); output:
    ndarray of shape (n_epochs, n_features_out_). The released weights'
    licence is not stated (see the model card). scikit-learn's common checks
    feed 2-D data and do not apply; ``tests/test_sklearn_compliance.py`` runs
    their intent on 3-D EEG.

    References
    ----------
    .. [1] Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via
           Hierarchical Self-Distillation. MICCAI 2025.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(EEGDINOEmbedder(), LogisticRegression())  # doctest: +SKIP
    >>> pipe.fit(epochs, y).score(epochs_test, y_test)  # doctest: +SKIP
    """

    _model_class_name = "EEGDINO"
    _default_record = "eegdino-small"
    # Bound here so that set_output wraps it: scikit-learn wraps only the
    # transform a TransformerMixin subclass defines in its own body.
    transform = _BaseEmbedder.transform

    def __init__(
        self,
        checkpoint="braindecode/eegdino-small-pretrained",
        *,
        pooling="mean",
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        batch_size=32,
        device="auto",
        precision="auto",
        memory=None,
        dtype="float32",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.pooling = pooling
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.memory = memory
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


@_fill_doc
class EEGPTEmbedder(_BaseEmbedder):
    """Frozen EEGPT embeddings of EEG epochs.

    EEGPT [1]_ is a channel-wise patch transformer pretrained on 58 channels
    at 256 Hz, average-referenced, in millivolts, with 64-sample patches; a
    learned embedding per channel name lets it take any subset of its
    62-name vocabulary in any order. The encoder is built for the data seen at
    fit: its channels (looked up by name; no channel projection, whose random
    initialisation would make frozen features meaningless) and its window.

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"eegpt"``), Hub id, or local path (a directory
        written by ``save_pretrained``, or the authors' Lightning checkpoint).
        ``None``: the released architecture with random weights drawn from
        ``random_state`` (a fixed seed by default; a baseline; warns).
    pooling : {"mean", "flatten"}
        ``"mean"``: the 4 summary tokens (512 each) averaged over time
        patches, 2048 features; ``"flatten"``: every patch's summary tokens,
        n_patches x 2048 features.
    patch_stride : int | None
        Samples between patch starts. ``None``: non-overlapping 64-sample
        patches, the pretraining geometry (the original probes of some tasks
        used 32).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    EEGDINOEmbedder : Frozen EEG-DINO embeddings.
    CodeBrainEmbedder : Frozen CodeBrain embeddings.

    Notes
    -----
    Input: ``mne.Epochs``, the list of one-epoch Epochs of scikit-learn's
    splitters, or an array of shape (n_epochs, n_chans, n_times); output:
    ndarray of shape (n_epochs, n_features_out_). New data must have the
    window length seen at fit (the patch layout is fixed). The released
    weights' licence is not stated (see the model card).

    References
    ----------
    .. [1] Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal
           and reliable representation of EEG signals. NeurIPS 37.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(EEGPTEmbedder(), LogisticRegression())  # doctest: +SKIP
    >>> pipe.fit(epochs, y).score(epochs_test, y_test)  # doctest: +SKIP
    """

    _model_class_name = "EEGPT"
    _default_record = "eegpt"
    _model_params = ("patch_stride",)
    # Bound here so that set_output wraps it: scikit-learn wraps only the
    # transform a TransformerMixin subclass defines in its own body.
    transform = _BaseEmbedder.transform

    def __init__(
        self,
        checkpoint="braindecode/eegpt-pretrained",
        *,
        pooling="mean",
        patch_stride=None,
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        batch_size=32,
        device="auto",
        precision="auto",
        memory=None,
        dtype="float32",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.pooling = pooling
        self.patch_stride = patch_stride
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.memory = memory
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint

    def _check_params(self):
        super()._check_params()
        _check_int("patch_stride", self.patch_stride, 1, allow_none=True)


@_fill_doc
class CodeBrainEmbedder(_BaseEmbedder):
    """Frozen CodeBrain embeddings of EEG epochs.

    CodeBrain [1]_ is a multi-scale state-space backbone pretrained (masked
    token prediction) on the TUEG corpus: 19 channels of the 10-20 montage at
    200 Hz, presumably in microvolts / 100, one token per channel and 1 s
    patch. It has no channel embedding: spatial information comes from a
    convolution over the channel axis, so channels are put in the model's
    order. Windows are trimmed to whole seconds (with a warning).

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"codebrain"``), Hub id, or local path (a directory
        written by ``save_pretrained``, or the authors' checkpoint file).
        ``None``: the released architecture with random weights drawn from
        ``random_state`` (a fixed seed by default; a baseline; warns).
    pooling : {"mean", "channel"}
        ``"mean"``: mean over channels and patches, 200 features;
        ``"channel"``: mean over patches per channel, 19 x 200 features
        (channel-major, in the model's channel order).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    EEGDINOEmbedder : Frozen EEG-DINO embeddings.
    EEGPTEmbedder : Frozen EEGPT embeddings.

    Notes
    -----
    Input: ``mne.Epochs``, the list of one-epoch Epochs of scikit-learn's
    splitters, or an array of shape (n_epochs, n_chans, n_times); output:
    ndarray of shape (n_epochs, n_features_out_). The released weights'
    licence is not stated (see the model card).

    References
    ----------
    .. [1] Ma, J. et al. (2026). CodeBrain: Bridging Decoupled Tokenizer and
           Multi-Scale Architecture for EEG Foundation Model. ICLR 2026.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(CodeBrainEmbedder(), LogisticRegression())  # doctest: +SKIP
    >>> pipe.fit(epochs, y).score(epochs_test, y_test)  # doctest: +SKIP
    """

    _model_class_name = "CodeBrain"
    _default_record = "codebrain"
    # Bound here so that set_output wraps it: scikit-learn wraps only the
    # transform a TransformerMixin subclass defines in its own body.
    transform = _BaseEmbedder.transform

    def __init__(
        self,
        checkpoint="braindecode/codebrain-pretrained",
        *,
        pooling="mean",
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        batch_size=32,
        device="auto",
        precision="auto",
        memory=None,
        dtype="float32",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.pooling = pooling
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.memory = memory
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


@_fill_doc
class CBraModEmbedder(_BaseEmbedder):
    """Frozen CBraMod embeddings of EEG epochs.

    CBraMod [1]_ is a criss-cross transformer pretrained by masked patch
    reconstruction on the TUEG corpus: 19 channels of the 10-20 montage at
    200 Hz, in microvolts / 100, one token per channel and 1 s patch; half of
    each token attends across channels, half across patches. It has no
    channel embedding: spatial information comes from a convolution over the
    channel axis, so channels are put in the model's order. Windows are
    trimmed to whole seconds (with a warning).

    Parameters
    ----------
    checkpoint : str | os.PathLike | None
        Registry name (``"cbramod"``), Hub id, or local path (a directory
        written by ``save_pretrained``, or the authors'
        ``pretrained_weights.pth``). ``None``: the released architecture
        with random weights drawn from ``random_state`` (a baseline; warns).
    pooling : {"mean", "channel"}
        ``"mean"``: mean of the tokens over channels and patches, 200
        features; ``"channel"``: mean over patches per channel, 19 x 200
        features (channel-major, in the model's channel order).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    EEGDINOEmbedder : Frozen EEG-DINO embeddings.
    CodeBrainEmbedder : Frozen CodeBrain embeddings.

    Notes
    -----
    Input: ``mne.Epochs``, the list of one-epoch Epochs of scikit-learn's
    splitters, or an array of shape (n_epochs, n_chans, n_times); output:
    ndarray of shape (n_epochs, n_features_out_). The features are the
    encoder's output tokens after ``proj_out`` (the reference's
    ``return_features``). The released weights' licence is not stated (see
    the model card).

    References
    ----------
    .. [1] Wang, J., Zhao, S., Luo, Z., Zhou, Y., Jiang, H., Li, S., Li, T.,
           & Pan, G. (2025). CBraMod: A Criss-Cross Brain Foundation Model for
           EEG Decoding. ICLR 2025.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(CBraModEmbedder(), LogisticRegression())  # doctest: +SKIP
    >>> pipe.fit(epochs, y).score(epochs_test, y_test)  # doctest: +SKIP
    """

    _model_class_name = "CBraMod"
    _default_record = "cbramod"
    # Bound here so that set_output wraps it: scikit-learn wraps only the
    # transform a TransformerMixin subclass defines in its own body.
    transform = _BaseEmbedder.transform

    def __init__(
        self,
        checkpoint="braindecode/cbramod-pretrained",
        *,
        pooling="mean",
        sfreq=None,
        ch_names=None,
        unit="V",
        on_missing="raise",
        on_unknown="auto",
        ch_aliases=None,
        batch_size=32,
        device="auto",
        precision="auto",
        memory=None,
        dtype="float32",
        verbose=False,
        random_state=None,
        trust_checkpoint=False,
    ):
        self.checkpoint = checkpoint
        self.pooling = pooling
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.unit = unit
        self.on_missing = on_missing
        self.on_unknown = on_unknown
        self.ch_aliases = ch_aliases
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.memory = memory
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state
        self.trust_checkpoint = trust_checkpoint


