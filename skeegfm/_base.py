"""What every skeegfm estimator shares.

:class:`_BaseFoundationEstimator` is the common base of the embedders
(:mod:`skeegfm.embedders`) and the fine-tuning classifiers. It holds no
parameters of its own (each estimator lists its parameters in its own
``__init__``, as scikit-learn requires) but provides, for the parameters the
estimators share (``checkpoint``, ``random_state``, ``sfreq``, ``ch_names``,
``unit``, ``on_missing``, ``on_unknown``, ``ch_aliases``, ``batch_size``, ``device``,
``precision``, ``verbose``):

- parameter validation (:meth:`_check_common_params`), called from ``fit``;
- checkpoint resolution: a registry name, a Hub id, a local path (e.g. a
  directory written by ``save_pretrained``) or ``None`` (the released
  architecture with random weights drawn from ``random_state``, by default
  from the fixed :data:`DEFAULT_RANDOM_STATE`), each tied to
  the :class:`~skeegfm._registry.ModelRecord` whose input contract applies
  (:meth:`_resolve_checkpoint`);
- encoder loading through a process-wide cache keyed by checkpoint,
  architecture overrides and device, so that clones share one frozen copy
  and read nothing from disk (:meth:`_frozen_encoder`), or a private trainable
  copy for fine-tuning (:func:`copy_encoder`);
- the input path through the shared adapter :mod:`skeegfm._inputs`
  (:meth:`_read`, :meth:`_check_input`, :meth:`_prepare`);
- device and precision resolution, batching with an optional progress bar;
- pickling that carries the encoder's weights (configuration + state_dict),
  so a fitted estimator unpickles on a machine without the checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state, check_scalar

from . import _cache
from ._channels import check_ch_aliases
from ._inputs import check_same_channels, prepare_for_model, read_eeg
from ._registry import get_record, resolve_checkpoint
from ._warnings import once_per_params
from .models._fast import autocast_context, optimize_for_inference

__all__ = [
    "FrozenEncoder",
    "copy_encoder",
    "resolve_device",
    "resolve_precision",
    "weights_hash",
]

# Docstring text of the parameters and fitted attributes every estimator
# shares (inserted into the embedders' and classifiers' class docstrings).
INPUT_PARAMETERS_DOC = """\
sfreq : float | None
        Sampling rate (Hz) of array inputs; ``None`` for ``mne.Epochs``.
    ch_names : list of str | None
        Channel names of array inputs, one per channel; ``None`` for Epochs.
        Channels are matched to the model by name, so their order does not
        matter. The conventions of public datasets are understood: case and
        spaces, ``"EEG "``/``"EEG-"``/``"EEG:"`` prefixes (TUH, BCI
        Competition IV), trailing dots (PhysioNet EEGMMI ``"Fc5."``),
        references (``"EEG FP1-REF"``, ``"C3-A1"``, ``"C3-M2"``) and the old
        names T3/T4/T5/T6. Channels typed EEG whose names say EOG, EMG or ECG
        are left out as such.
    unit : {"V", "mV", "uV", "µV"}
        Unit of array inputs (Epochs are always in volts).
    on_missing : {"raise", "interpolate", "zero"}
        For models with positional channel slots (their record's
        ``channel_matching`` is ``"positional"``, e.g. EEG-DINO, CodeBrain):
        what to do when some of the model's channels are absent.
        Interpolation needs Epochs with a montage. More than a quarter filled
        warns.
    on_unknown : {"auto", "raise", "drop"}
        EEG channels the model has no channel for. ``"auto"`` (default):
        electrodes of MNE's 10-05 montage without a model channel are left out
        with one warning (a 64-channel cap on a 19-channel model is normal
        and they carry nothing the model could take), while bipolar
        derivations (``"Fp1-F7"``) and names that are not electrodes
        (``"EEG-0"``) raise: they may hold a channel the model needs under a
        name skeegfm cannot read, and dropping them silently would lose it
        (name them with ``ch_aliases``). ``"drop"``: leave all of them out.
        ``"raise"``: raise for any of them.
    ch_aliases : dict of str to str | None
        ``{recorded name: electrode name}``, applied before any other rule,
        e.g. ``{"EEG-0": "Fz", "EEG-1": "FC3"}`` for number-coded channels.
        Entries matching no channel are reported in a warning."""

DEVICE_PARAMETERS_DOC = """\
device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"``.
    precision : {"auto", "float32", "bfloat16"}
        ``"auto"``: bfloat16 autocast on CUDA, float32 on the CPU."""

TRUST_PARAMETER_DOC = """\
trust_checkpoint : bool
        Default False: a pickled checkpoint file (``.pt``, ``.bin``,
        ``.ckpt``) is read with ``torch.load(weights_only=True)`` and an
        allow-list of harmless types, which covers the authors' released
        formats; a file holding other Python objects is refused
        (:class:`~skeegfm.models.UntrustedCheckpointError`). True unpickles
        it, which runs any code the file carries: only for files you trust.
        Hub repositories and safetensors files never need it."""

FITTED_INPUT_ATTRIBUTES_DOC = """\
record_ : skeegfm._registry.ModelRecord
        The input contract applied (sampling rate, unit, channels).
    device_ : str
        Device the encoder runs on.
    precision_ : str
        Resolved precision, ``"float32"`` or ``"bfloat16"``.
    ch_names_in_ : ndarray of str, shape (n_features_in_,)
        Channel names seen during fit, as recorded.
    sfreq_in_ : float
        Sampling rate (Hz) seen during fit.
    n_features_in_ : int
        Number of channels seen during fit.
    channels_used_ : list of str
        Input channels fed to the model, as recorded, in the model's order.
    channels_dropped_ : dict of str to str
        Input channels left out -> why (non-EEG type or name, marked bad,
        an electrode without a model channel, ``on_unknown="drop"``).
    channels_filled_ : dict of str to str
        Model channels absent from the input -> ``"interpolated"`` or
        ``"zero"`` (``on_missing``).
    channels_renamed_ : dict of str to str
        Used channels whose recorded name is not the model's name for them
        (``"Fc5."`` -> ``"FC5"``, ``"T3"`` -> ``"T7"``).
    ch_aliases_applied_ : dict of str to str
        The entries of ``ch_aliases`` that matched a channel.
    reference_ : str | None
        The reference the used channels' names state (``"A1"``, ``"REF"``),
        or ``None`` when they state none.
    resampled_from_ : float | None
        Sampling rate (Hz) the data were resampled from, ``None`` when they
        were at the model's rate.
    input_report_ : dict
        All of the above and the window adaptation, as one JSON-serialisable
        dict (:meth:`skeegfm._inputs.InputReport.to_dict`)."""

_UNITS = ("V", "mV", "uV", "\u00b5V", "\u03bcV")
_ON_MISSING = ("raise", "interpolate", "zero")
_ON_UNKNOWN = ("auto", "raise", "drop")

#: Seed of the random weights of ``checkpoint=None`` when ``random_state=None``:
#: drawn as with ``random_state=0``, so that every fit and clone builds the same
#: random encoder (cross-validation compares like with like, caches hit).
DEFAULT_RANDOM_STATE = 0
_PRECISIONS = ("auto", "float32", "bfloat16")


# --------------------------------------------------------------------------
# Devices, precision, weights identity
# --------------------------------------------------------------------------


def resolve_device(device) -> torch.device:
    """Turn the ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : str | torch.device
        ``"auto"`` (CUDA when available, else CPU), or anything
        :class:`torch.device` accepts (``"cpu"``, ``"cuda"``, ``"cuda:1"``).

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        If the string names no device, or CUDA is asked for but unavailable.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f'device must be "auto", "cpu", "cuda" or "cuda:<index>", got {device!r}.'
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use device=\"cpu\".")
    return resolved


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bfloat16"`` on CUDA, ``"float32"`` elsewhere."""
    if precision == "auto":
        return "bfloat16" if device.type == "cuda" else "float32"
    return precision


def weights_hash(module: torch.nn.Module) -> str:
    """Hex digest of a module's ``state_dict`` (names, dtypes, shapes, bytes).

    Identifies weights in cache keys: two modules with the same hash compute
    the same function (given the same configuration).
    """
    digest = hashlib.blake2b(digest_size=16)
    with torch.inference_mode():
        for name, tensor in sorted(module.state_dict().items()):
            flat = tensor.detach().to("cpu").contiguous().reshape(-1)
            digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)};".encode())
            digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _state_dict_copy(module: torch.nn.Module) -> dict:
    """CPU copy of a ``state_dict``, made of ordinary (not inference) tensors."""
    with torch.inference_mode(False), torch.no_grad():
        return {k: v.detach().to("cpu").clone() for k, v in module.state_dict().items()}


def _rebuild(module_class, config: dict, state_dict: dict) -> torch.nn.Module:
    module = module_class(**config)
    module.load_state_dict(state_dict, strict=True)
    return module


def copy_encoder(encoder: torch.nn.Module) -> torch.nn.Module:
    """A private, trainable copy of a (possibly shared, frozen) encoder.

    Rebuilt from the recorded constructor arguments (``_hub_config``) and the
    ``state_dict``, so the copy has plain ``nn.Linear`` layers even when the
    source went through :func:`~skeegfm.models._fast.optimize_for_inference`.
    The fine-tuning classifiers train such a copy; the shared one is never
    modified.

    Parameters
    ----------
    encoder : nn.Module
        An encoder of :mod:`skeegfm.models`.

    Returns
    -------
    copy : nn.Module
        Same class, configuration and weights; ``requires_grad=True``; on the
        CPU, in train mode.
    """
    copy = _rebuild(type(encoder), dict(encoder._hub_config), _state_dict_copy(encoder))
    source = getattr(encoder, "pretrained_source_", None)
    if source is not None:
        copy.pretrained_source_ = dict(source)
    return copy.train()


@dataclasses.dataclass(frozen=True)
class FrozenEncoder:
    """One loaded, frozen encoder and its identity.

    Attributes
    ----------
    module : nn.Module
        In eval mode, ``requires_grad=False``, on its device; shared, never to
        be modified.
    weights_hash : str
        :func:`weights_hash` of ``module``.
    source : dict
        Where the weights came from (``pretrained_source_`` of the loader, or
        ``{"random_init": seed}``).
    """

    module: torch.nn.Module
    weights_hash: str
    source: dict


def _freeze(module: torch.nn.Module, device: torch.device, source: dict) -> FrozenEncoder:
    module.eval().requires_grad_(False)
    digest = weights_hash(module)
    module = optimize_for_inference(module.to(device), inplace=True)
    return FrozenEncoder(module, digest, dict(source))


class _EncoderPayload:
    """What a pickled estimator stores in place of its encoder.

    Class, constructor arguments and CPU ``state_dict``: enough to rebuild the
    encoder anywhere, without the checkpoint. Unpickling goes through the
    process-wide cache, so several unpickled copies share one module.
    """

    def __init__(self, module, digest, source):
        self.module_class = type(module)
        self.config = dict(module._hub_config)
        self.state_dict = _state_dict_copy(module)
        self.weights_hash = digest
        self.source = dict(source)

    def restore(self, device: torch.device) -> FrozenEncoder:
        key = (
            "restored",
            self.module_class.__qualname__,
            self.weights_hash,
            _cache.stable_hash(self.config),
            str(device),
        )

        def build():
            module = _rebuild(self.module_class, self.config, self.state_dict)
            module.pretrained_source_ = dict(self.source)
            frozen = _freeze(module, device, self.source)
            # Keep the identity recorded at fit (buffers computed lazily on a
            # first forward, e.g. CodeBrain's kernel_norm, may differ since).
            return dataclasses.replace(frozen, weights_hash=self.weights_hash)

        return _cache.get_or_build(key, build)


#: The files of a checkpoint folder the loader reads.
_CHECKPOINT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


def _identity_files(path: Path) -> list:
    """The files whose contents make the checkpoint at ``path``."""
    if path.is_file():
        files = [path]
        if path.name in _CHECKPOINT_FILES and (path.parent / "config.json").is_file():
            files.append(path.parent / "config.json")
        return files
    return [path / name for name in _CHECKPOINT_FILES if (path / name).is_file()]


def _checkpoint_location(source: str):
    """Where a checkpoint is and which version of its files: a Hub id, or a
    local path with each file's device, inode, size, modification and
    status-change times.

    This only decides whether a load can be skipped: the encoder cache itself
    is keyed by the hash of the loaded weights (see :meth:`_frozen_encoder`).
    Any rewrite of a file changes its status-change time (``st_ctime``),
    which, unlike the modification time, ``cp -p``, ``rsync -t`` or
    :func:`os.utime` cannot restore; a rewritten folder is therefore read
    again, and its new weights get their own cache entry.
    """
    path = Path(source)
    if not path.exists():
        return ("hub", str(source))
    stamps = []
    for file in _identity_files(path):
        st = file.stat()
        stamps.append((file.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return ("path", str(path.resolve()), tuple(stamps))


def _freeze_key(value):
    """Hashable form of constructor overrides (lists, dicts, tuples)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze_key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze_key(v) for v in value)
    return value


# --------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------


class _BaseFoundationEstimator(BaseEstimator):
    """Shared machinery of the skeegfm estimators (not an estimator itself).

    Subclasses set the class attributes ``_model_class_name`` (the encoder
    class in :mod:`skeegfm.models`, e.g. ``"EEGPT"``), ``_default_record``
    (the :class:`~skeegfm._registry.ModelRecord` whose input contract applies
    to checkpoints outside the registry) and, where some, ``_model_params``
    (estimator parameters passed as they are to the encoder's constructor,
    e.g. EEGPT's ``patch_stride``). Everything else about the encoder comes
    from its class, through the members of
    :class:`skeegfm.models._protocol.EncoderProtocol` (``input_config``,
    ``fixed_n_times``, ``fixed_ch_names``, ...).

    Fitted attributes set by :meth:`_fit_encoder`: ``record_``, ``encoder_``,
    ``encoder_hash_``, ``pretrained_source_``, ``device_``, ``precision_``,
    ``ch_names_in_``, ``sfreq_in_``, ``n_features_in_`` (= number of input
    channels), and the adaptations of the input (``input_report_``,
    ``channels_used_``, ``channels_dropped_``, ``channels_filled_``,
    ``channels_renamed_``, ``ch_aliases_applied_``, ``reference_``,
    ``resampled_from_``).
    """

    _model_class_name: str = ""
    _default_record: str = ""
    #: Estimator parameters that are constructor arguments of the encoder.
    _model_params: tuple = ()
    #: Whether the estimator trains a head on the encoder (the encoder is then
    #: built for the head's input, see ``input_config``).
    _trains_head: bool = False

    # ------------------------------------------------------------ parameters

    def _check_common_params(self) -> None:
        """Validate the shared parameters; raise ValueError/TypeError naming the fix."""
        checkpoint = self.checkpoint
        if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(
                "checkpoint must be a registry name, a Hub id, a local path or None, "
                f"got {type(checkpoint).__name__}."
            )
        _check_real("sfreq", self.sfreq, 0.0, include_boundaries="neither", allow_none=True)
        if self.ch_names is not None and (
            isinstance(self.ch_names, str)
            or not all(isinstance(name, str) for name in self.ch_names)
        ):
            raise TypeError(
                f"ch_names must be None or a list of channel names (str), got {self.ch_names!r}."
            )
        _check_choice("unit", self.unit, _UNITS)
        _check_choice("on_missing", self.on_missing, _ON_MISSING)
        _check_choice("on_unknown", self.on_unknown, _ON_UNKNOWN)
        check_ch_aliases(self.ch_aliases)
        _check_choice("precision", self.precision, _PRECISIONS)
        resolve_device(self.device)
        _check_int("batch_size", self.batch_size, 1)
        if not isinstance(self.verbose, (bool, numbers.Integral)):
            raise TypeError(f"verbose must be a bool, got {self.verbose!r}.")
        check_random_state(self.random_state)
        trust = getattr(self, "trust_checkpoint", False)
        if not isinstance(trust, (bool, np.bool_)):
            raise TypeError(f"trust_checkpoint must be True or False, got {trust!r}.")

    # ------------------------------------------------------------ checkpoint

    def _resolve_checkpoint(self):
        """Return ``(record, source)`` for ``self.checkpoint``.

        ``source`` is what ``from_pretrained`` loads (a Hub id or a local
        path), or ``None`` for random weights. A registry name resolves to its
        Hub id; a released Hub id to its record; anything else takes the
        record ``_default_record`` (the model family's input contract).
        Resolution is :func:`skeegfm._registry.resolve_checkpoint`'s: a
        misspelt name or a missing local path raises FileNotFoundError.
        """
        checkpoint = self.checkpoint
        default = get_record(self._default_record)
        if checkpoint is None:
            return default, None
        resolved = resolve_checkpoint(checkpoint)  # the package's one rule
        record = resolved.record
        if record is not None:
            if record.model != self._model_class_name:
                raise ValueError(
                    f"checkpoint={os.fspath(checkpoint)!r} is a {record.model} checkpoint, but "
                    f"{type(self).__name__} runs {self._model_class_name}; use the "
                    f"estimator of {record.model} or another checkpoint."
                )
            return record, record.hub_id
        return default, resolved.target

    def _model_class(self):
        """The encoder class (:func:`skeegfm.models._encoder_class`)."""
        from . import models

        return models._encoder_class(self._model_class_name)

    def _encoder_overrides(self, prepared) -> dict:
        """Constructor arguments that adapt a loaded encoder to the data: the
        encoder class's ``input_config`` for the prepared input, the
        estimator's ``_model_params``, and no head (``return_encoder_output``;
        a classifier gives it a fresh one)."""
        overrides = self._model_class().input_config(
            list(prepared.ch_names),
            int(prepared.data.shape[-1]),
            float(prepared.sfreq),
            head=self._trains_head,
        )
        overrides = dict(overrides, **{name: getattr(self, name) for name in self._model_params})
        overrides["return_encoder_output"] = True
        return overrides

    def _random_init_kwargs(self, record, prepared) -> dict:
        """Constructor arguments of the released architecture for
        ``checkpoint=None``: the record's preset, the input's channel count,
        window and the record's rate, then :meth:`_encoder_overrides`."""
        n_chans, n_times = prepared.data.shape[1:]
        base = dict(record.preset, n_chans=int(n_chans), n_times=int(n_times), sfreq=record.sfreq)
        overrides = self._encoder_overrides(prepared)
        if "chs_info" in overrides:
            base.pop("n_chans")  # the channels' number follows their list
        return dict(base, **overrides)

    def _fixed_n_times(self):
        """Window length (samples at the model's rate) the fitted encoder
        requires (its ``fixed_n_times``), or None when any length works."""
        return self.encoder_.fixed_n_times

    def _random_weights_seed(self) -> int:
        """Seed of the random weights of ``checkpoint=None``: drawn from
        ``random_state``, or from :data:`DEFAULT_RANDOM_STATE` when it is None."""
        random_state = DEFAULT_RANDOM_STATE if self.random_state is None else self.random_state
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))

    def _fixed_ch_names(self):
        """Canonical channels (model order) the fitted encoder was built for
        (its ``fixed_ch_names``), or None when its channel slots are fixed by
        the record."""
        return self.encoder_.fixed_ch_names

    def _frozen_encoder(self, record, source, prepared, device) -> FrozenEncoder:
        """Load (or fetch from the process-wide cache) the frozen encoder.

        Parameters
        ----------
        record : ModelRecord
            The input contract of the checkpoint.
        source : str | None
            Hub id or local path, or None for random weights.
        prepared : PreparedInput
            A prepared sample of the data (for data-dependent architecture,
            e.g. EEGPT's channels and window).
        device : torch.device
            Where the encoder runs.

        Returns
        -------
        frozen : FrozenEncoder
        """
        model_class = self._model_class()
        if source is None:
            seed = self._random_weights_seed()
            kwargs = self._random_init_kwargs(record, prepared)
            warnings.warn(
                f"checkpoint=None: {self._model_class_name} with the released architecture "
                f"({record.name}) and random weights (seed {seed}). Its embeddings are a "
                "baseline, not pretrained features; pass a checkpoint for those.",
                UserWarning,
                stacklevel=4,
            )
            key = ("random", self._model_class_name, _freeze_key(kwargs), seed, str(device))

            def build():
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    module = model_class(**kwargs)
                return _freeze(module, device, {"random_init": seed, "record": record.name})

        else:
            overrides = self._encoder_overrides(prepared)
            trust = bool(getattr(self, "trust_checkpoint", False))
            common = (_freeze_key(overrides), str(device), trust)  # trust: an untrusted load
            # never reuses what a trusted one unpickled

            def build():
                module = model_class.from_pretrained(source, trust_checkpoint=trust, **overrides)
                origin = getattr(module, "pretrained_source_", None) or {"path": source}
                return _freeze(module, device, origin)

            def content_key(frozen):
                # The weights' hash (computed by _freeze for every load) and the
                # architecture: identical weights share one encoder, other
                # weights never do, whatever the files' names and times.
                config = _cache.stable_hash(frozen.module._hub_config)
                return ("pretrained", self._model_class_name, frozen.weights_hash, config) + common

            location = ("pretrained", self._model_class_name, _checkpoint_location(source)) + common
            return _cache.get_or_build_by_content(location, build, content_key)

        return _cache.get_or_build(key, build)

    # ------------------------------------------------------------ input path

    def _read(self, X):
        """Validate ``X`` through the shared adapter (:func:`~skeegfm._inputs.read_eeg`)."""
        return read_eeg(X, sfreq=self.sfreq, ch_names=self.ch_names, unit=self.unit)

    def _check_input(self, eeg) -> None:
        """Check new data against what was seen at fit (channel set and rate)."""
        if len(eeg.ch_names) != self.n_features_in_:
            raise ValueError(
                f"X has {len(eeg.ch_names)} channels, but {type(self).__name__} was fitted "
                f"on {self.n_features_in_} channels ({list(self.ch_names_in_)}). Pass the "
                "channels used at fit (in any order), or refit."
            )
        check_same_channels(list(self.ch_names_in_), self.sfreq_in_, eeg)

    @once_per_params
    def _prepare(self, eeg, record=None):
        """Model-ready float32 data through :func:`~skeegfm._inputs.prepare_for_model`."""
        fitted = hasattr(self, "encoder_")
        # Adaptations were warned about once, at fit (same channels and rate).
        return prepare_for_model(
            eeg,
            self.record_ if record is None else record,
            on_missing=self.on_missing,
            on_unknown=self.on_unknown,
            ch_aliases=self.ch_aliases,
            n_times=self._fixed_n_times() if fitted else None,
            model_ch_names=self._fixed_ch_names() if fitted else None,
            warn=False,
        )

    @once_per_params
    def _fit_encoder(self, eeg):
        """Resolve the checkpoint, load the encoder and record the input seen.

        Called by ``fit`` after parameter validation; prepares only the first
        epoch (to learn the model's channels and window), not the whole data.
        """
        record, source = self._resolve_checkpoint()
        # The one place an estimator warns about adaptations: once per fit.
        probe = prepare_for_model(
            _first_epochs(eeg, 1),
            record,
            on_missing=self.on_missing,
            on_unknown=self.on_unknown,
            ch_aliases=self.ch_aliases,
        )
        device = resolve_device(self.device)
        frozen = self._frozen_encoder(record, source, probe, device)
        self.record_ = record
        self.encoder_ = frozen.module
        self.encoder_hash_ = frozen.weights_hash
        self.pretrained_source_ = dict(frozen.source)
        self.device_ = str(device)
        self.precision_ = resolve_precision(self.precision, device)
        self.ch_names_in_ = np.asarray(eeg.ch_names, dtype=object)
        self.sfreq_in_ = float(eeg.sfreq)
        self.n_features_in_ = len(eeg.ch_names)
        self._set_report(probe.report)
        return probe

    def _set_report(self, report) -> None:
        """Fitted attributes of an :class:`~skeegfm._inputs.InputReport`."""
        self.input_report_ = report.to_dict()
        self.channels_used_ = list(report.channels_used)
        self.channels_dropped_ = dict(report.channels_dropped)
        self.channels_filled_ = dict(report.channels_filled)
        self.channels_renamed_ = dict(report.channels_renamed)
        self.ch_aliases_applied_ = dict(report.ch_aliases_applied)
        self.reference_ = report.reference
        self.resampled_from_ = report.resampled_from

    # ------------------------------------------------------------ running

    def _autocast(self):
        return autocast_context(self.device_, self.precision_)

    def _batches(self, n_epochs: int, desc: str = ""):
        """Slices of at most ``batch_size`` epochs, of near-equal sizes (CPU
        kernels run a lone small remainder batch slowly), with a tqdm bar when
        ``verbose``."""
        n_batches = -(-n_epochs // int(self.batch_size))
        bounds = np.linspace(0, n_epochs, n_batches + 1).round().astype(int)
        pairs = zip(bounds[:-1], bounds[1:])
        if self.verbose:
            from tqdm.auto import tqdm

            pairs = tqdm(pairs, total=n_batches, desc=desc or type(self).__name__, unit="batch")
        for start, stop in pairs:
            yield slice(int(start), int(stop))

    def _run(self, model, data, fn) -> np.ndarray:
        """``fn(model, batch)`` over model-ready ``data``, in eval mode under
        inference mode; float32 ndarray of shape (n_epochs, ...)."""
        if not data.flags.writeable:
            data = data.copy()  # torch.from_numpy needs a writable array
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        out = None
        try:
            with torch.inference_mode(), self._autocast():
                for batch in self._batches(len(data)):
                    x = torch.from_numpy(data[batch]).to(device, non_blocking=True)
                    result = fn(model, x).float()
                    if out is None:
                        out = np.empty((len(data),) + tuple(result.shape[1:]), dtype=np.float32)
                    out[batch] = result.cpu().numpy()
        finally:
            model.train(was_training)
        return out

    # ------------------------------------------------------------ tags, pickling

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # EEG epochs are 3-D (n_epochs, n_chans, n_times) or mne.Epochs;
        # scikit-learn's common checks, which feed 2-D data, do not apply.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        # Same weights, same input -> same output (frozen encoder in eval
        # mode; random weights are drawn from random_state).
        tags.non_deterministic = False
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())
        encoder = state.get("encoder_")
        if isinstance(encoder, torch.nn.Module):
            state["encoder_"] = _EncoderPayload(
                encoder, state["encoder_hash_"], state.get("pretrained_source_", {})
            )
        return state

    def __setstate__(self, state):
        payload = state.get("encoder_")
        if isinstance(payload, _EncoderPayload):
            device = torch.device(state.get("device_", "cpu"))
            if device.type == "cuda" and not torch.cuda.is_available():
                warnings.warn(
                    f"{type(self).__name__} was fitted on {device} but CUDA is not available "
                    "here; its encoder runs on the CPU.",
                    UserWarning,
                    stacklevel=2,
                )
                device = torch.device("cpu")
                state["device_"] = "cpu"
                state["precision_"] = resolve_precision(state.get("precision", "auto"), device)
            state["encoder_"] = payload.restore(device).module
        super().__setstate__(state)


def _check_int(name, value, min_val, *, allow_none=False) -> None:
    """:func:`sklearn.utils.check_scalar` for an integer parameter ``>= min_val``
    (bools refused); ``allow_none``: None passes."""
    if allow_none and value is None:
        return
    if isinstance(value, (bool, np.bool_)):
        none = "None or " if allow_none else ""
        raise TypeError(f"{name} must be {none}an integer >= {min_val}, got {value!r}.")
    check_scalar(value, name, numbers.Integral, min_val=min_val)


def _check_real(
    name, value, min_val=None, max_val=None, *, include_boundaries="both", allow_none=False
) -> None:
    """:func:`sklearn.utils.check_scalar` for a finite real parameter in the
    interval given (bools, NaN and infinities refused); ``allow_none``: None
    passes."""
    if allow_none and value is None:
        return
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    check_scalar(
        value, name, numbers.Real, min_val=min_val, max_val=max_val,
        include_boundaries=include_boundaries,
    )
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")


def _check_choice(name, value, choices) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}.")


def _first_epochs(eeg, n: int):
    """The first ``n`` epochs of an :class:`~skeegfm._inputs.EEGInput` (a view)."""
    return eeg.take(slice(0, n))


def _subset_epochs(eeg, index):
    return eeg.take(index)

