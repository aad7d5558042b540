"""The Hub mixin of every encoder: huggingface_hub's ``PyTorchModelHubMixin``
with our constructor-argument record, coders and strict loader.

Every encoder class inherits :class:`HubMixin`, a
:class:`huggingface_hub.PyTorchModelHubMixin`. The mixin records the
arguments each instance was constructed with (``_hub_config``, the exact
values) and gives the class ``from_pretrained``, ``save_pretrained``,
``push_to_hub``, ``get_config`` and ``from_config``.

What comes from huggingface_hub and what is ours:

- huggingface_hub's hooks: ``_save_pretrained(directory)`` writes
  ``config.json`` and ``model.safetensors``; ``_from_pretrained(model_id=...)``
  loads a directory or a Hub repository through our strict loader
  (:mod:`skeegfm.models._loading`); ``save_pretrained`` is the mixin's (it
  calls the hook, then writes the model card); the model card data
  (``library_name``) and the ``coders`` of non-JSON constructor arguments
  (classes as dotted import paths, tuples as lists, numpy arrays in
  ``chs_info`` as lists) are declared at class creation.
- ours: ``from_pretrained`` is overridden because the mixin's reads neither
  single files (the authors' original checkpoints, bare state_dicts) nor
  in-memory state_dicts, decodes ``config.json`` by annotations (ours are
  strings) and merges the saved configuration and the caller's arguments
  without our rules; it hands directories and Hub ids to ``_from_pretrained``.
  ``push_to_hub`` keeps its signature (``revision``) and uploads the
  ``save_pretrained`` layout in one commit.

The files written and read are those of braindecode's Hub repositories
(braindecode's ``EEGModuleMixin`` is also a ``PyTorchModelHubMixin``):
``config.json`` with every constructor argument and ``model.safetensors``
(read fallback: ``pytorch_model.bin``). We write ``skeegfm_version`` and
``skeegfm_class`` where braindecode writes ``braindecode_version``. Reading
braindecode's files is guaranteed (tested); braindecode reading ours is best
effort (it works as far as the constructor arguments are also its own).

The class-level loading hooks (``_head_prefixes``, ``_pretraining_only_prefixes``,
``_config_absent_defaults``, ``_state_dict_roots``, ``_remap_state_dict``,
``_config_from_state_dict``, ``_original_hooks``) are described in
:mod:`skeegfm.models._loading`; each encoder class sets its own.
"""

from __future__ import annotations

import functools
import inspect
import json
import numbers
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from huggingface_hub import PyTorchModelHubMixin

from ._loading import (
    _WEIGHT_NAMES,
    CONFIG_NAME,
    PYTORCH_NAME,
    SAFETENSORS_NAME,
    UntrustedCheckpointError,
    WeightsNotAvailableError,
    _decode_config,
    _import_type,
    _load_directory,
    _load_file,
    _load_hub,
    _load_tensors,
    _merge_config,
    _no_such_path,
    _to_tuple,
    is_hub_id,
    load_checkpoint_file,
    read_config,
)

__all__ = [
    "HubMixin",
    "UntrustedCheckpointError",
    "WeightsNotAvailableError",
    "is_hub_id",
    "load_checkpoint_file",
    "read_config",
    "CONFIG_NAME",
    "SAFETENSORS_NAME",
    "PYTORCH_NAME",
]


# ---------------------------------------------------------------------------
# config.json encoding: the coders of non-JSON constructor arguments
# ---------------------------------------------------------------------------


def _encode_value(value, name):
    """Turn a constructor argument into a JSON-able value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_encode_value(v, name) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode_value(v, name) for k, v in value.items()}
    if hasattr(value, "tolist"):  # numpy arrays and scalars, tensors
        return _encode_value(value.tolist(), name)
    raise TypeError(
        f"Constructor argument {name!r} holds a {type(value).__name__}, which "
        "config.json cannot store; constructors must hold plain values "
        "(numbers, strings, None, lists, dicts, classes)."
    )



def _encode(value):
    return _encode_value(value, "a constructor argument")


#: ``PyTorchModelHubMixin`` coders (type -> (encoder, decoder)): the encoder
#: turns a value into JSON (recursively: tuples and numpy arrays inside a list
#: become lists, classes dotted paths), the decoder turns it back.
#: ``get_config`` and ``from_pretrained`` apply the same functions, choosing
#: the decoder by the constructor default's type (our annotations are strings,
#: which the mixin's annotation-driven decoding cannot read).
_CODERS = {
    type: (_encode, lambda path: _import_type("a class argument", path)),
    tuple: (_encode, _to_tuple),
    list: (_encode, list),
    dict: (_encode, dict),
}


def _package_version() -> str:
    """skeegfm's installed version (``importlib.metadata``; ``"unknown"`` when
    the package is not installed, e.g. run from a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("skeegfm")
    except PackageNotFoundError:
        return "unknown"


def _model_card(model) -> str:
    """The README.md that save_pretrained writes (YAML front matter, usage)."""
    name = type(model).__name__
    n_params = sum(p.numel() for p in model.parameters())
    source = getattr(model, "pretrained_source_", None)
    origin = ""
    if source:
        origin = f"\nWeights initialised from `{source.get('repo_id') or source.get('path')}`.\n"
    return (
        "---\n"
        f"library_name: skeegfm\ntags:\n- skeegfm\n- {name}\n- eeg\n"
        "---\n\n"
        f"# {name}\n\n"
        f"A `skeegfm.models.{name}` encoder ({n_params:,} parameters), saved with "
        "`save_pretrained`.\n"
        f"{origin}\n"
        "```python\n"
        f"from skeegfm.models import {name}\n"
        f'model = {name}.from_pretrained("<this repo or directory>")\n'
        "```\n\n"
        "`config.json` holds every constructor argument; `model.safetensors` the "
        "weights (the layout of braindecode's Hub repositories).\n"
    )


# ---------------------------------------------------------------------------
# The mixin
# ---------------------------------------------------------------------------


class HubMixin(PyTorchModelHubMixin, library_name="skeegfm", tags=["skeegfm", "eeg"], coders=_CODERS):
    """Constructor-argument record and pretrained-weight I/O for encoders.

    A :class:`huggingface_hub.PyTorchModelHubMixin`. Subclasses get their
    ``__init__`` wrapped once at class creation so that, after construction,
    ``self._hub_config`` holds every ``__init__`` argument (defaults
    included) by name, as bound by the signature. The class-level hooks below
    (see :mod:`skeegfm.models._loading`) tell the loader which keys are the
    head, which belong to pretraining-only modules, and how to read older
    files.
    """

    _head_prefixes: tuple = ("final_layer.",)
    _pretraining_only_prefixes: tuple = ()
    _config_absent_defaults: dict = {}
    #: Top-level names of the class's own state_dict (None: not checked).
    _state_dict_roots: tuple | None = None

    def __init_subclass__(cls, **kwargs):
        kwargs.setdefault("coders", _CODERS)  # the mixin resets them per class otherwise
        if "__init__" in cls.__dict__:
            init = cls.__dict__["__init__"]
            signature = inspect.signature(init)

            @functools.wraps(init)
            def __init__(self, *args, **kw):
                init(self, *args, **kw)
                if type(self) is cls:  # only the most derived class records
                    bound = signature.bind(self, *args, **kw)
                    bound.apply_defaults()
                    config = dict(bound.arguments)
                    config.pop("self")
                    for name, param in signature.parameters.items():
                        if param.kind is inspect.Parameter.VAR_KEYWORD:
                            config.update(config.pop(name, {}))
                        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
                            config.pop(name, None)
                    object.__setattr__(self, "_hub_config", config)

            cls.__init__ = __init__
        super().__init_subclass__(**kwargs)

    @property
    def _hub_mixin_config(self):
        """The config ``PyTorchModelHubMixin`` writes: ours (:meth:`get_config`
        plus the writer's keys), always in step with ``_hub_config``."""
        if "_hub_config" not in self.__dict__:  # inside __new__, before __init__
            return None
        return self._config_to_save()

    @_hub_mixin_config.setter
    def _hub_mixin_config(self, value):
        """Ignored: the record is ``_hub_config``, taken by the ``__init__`` wrapper."""

    # -- hooks ------------------------------------------------------------

    @classmethod
    def _remap_state_dict(cls, state_dict: dict) -> dict:
        """Model-specific renames applied to any incoming state_dict (identity)."""
        return state_dict

    @classmethod
    def _config_from_state_dict(cls, state_dict: dict) -> dict:
        """Constructor kwargs inferred from the tensor shapes of ``state_dict``.

        Used for files without a config.json. Each encoder class overrides
        it; the default infers nothing (``{}``: the constructor defaults).
        """
        return {}

    @classmethod
    def _original_hooks(cls):
        """``(looks_like_original, convert)``: the recogniser and converter of the
        authors' original checkpoint format; either may be ``None``.

        Each encoder class overrides it; the default follows a convention: the
        class's module defines ``_looks_like_original(state_dict)`` and
        ``convert_<classname lower>_checkpoint(path_or_dict)``.
        """
        module = sys.modules.get(cls.__module__)
        looks = getattr(module, "_looks_like_original", None)
        convert = getattr(module, f"convert_{cls.__name__.lower()}_checkpoint", None)
        return looks, convert

    # -- config -----------------------------------------------------------

    def get_config(self) -> dict:
        """Return the constructor arguments of this model as a JSON-able dict.

        Classes become dotted import paths (``"torch.nn.modules.activation.GELU"``),
        tuples become lists, numpy arrays (e.g. in ``chs_info``) become lists.
        ``type(model).from_config(model.get_config())`` builds the same
        architecture.

        Returns
        -------
        config : dict
            One entry per ``__init__`` argument.

        Raises
        ------
        TypeError
            If an argument holds a value JSON cannot store (e.g. a module).
        """
        return {name: _encode_value(value, name) for name, value in self._hub_config.items()}

    @classmethod
    def from_config(cls, config: Mapping):
        """Build a randomly initialised model from a config dict.

        Parameters
        ----------
        config : dict
            As returned by :meth:`get_config` or read from a ``config.json``.
            Unknown keys (and ``"braindecode_version"``) are ignored; absent
            constructor arguments take ``cls._config_absent_defaults``, else the
            constructor default; class paths are imported; lists become tuples
            where the constructor default is a tuple.

        Returns
        -------
        model : nn.Module
            A new model (random weights, training mode).

        Raises
        ------
        ValueError
            If a class path cannot be imported, or the constructor rejects the
            values.
        """
        return cls(**_merge_config(cls, _decode_config(cls, config), {}))

    # -- saving -----------------------------------------------------------

    def _config_to_save(self) -> dict:
        config = self.get_config()
        config["skeegfm_version"] = _package_version()
        config["skeegfm_class"] = type(self).__name__
        return config

    def save_pretrained(
        self, save_directory, *, model_card: bool = True, config=None, model_card_kwargs=None
    ) -> Path:
        """Write ``config.json``, ``model.safetensors`` and a model card.

        ``PyTorchModelHubMixin.save_pretrained``: it calls the
        :meth:`_save_pretrained` hook, then writes the model card. The layout
        is that of braindecode's Hugging Face repositories, so our
        :meth:`from_pretrained` reads it back (braindecode's too, as far as the
        constructor arguments are also its own: see the models page of the
        documentation). Loading the directory gives a bit-identical
        ``state_dict``.

        Parameters
        ----------
        save_directory : str | Path
            Directory to write into (created if needed; existing files with
            these names are replaced).
        model_card : bool
            Also write a short ``README.md`` (not overwriting an existing one).
        config : None
            Must be None: ``config.json`` holds this model's constructor
            arguments (:meth:`get_config`); present for the mixin's interface.
        model_card_kwargs : dict | None
            Ignored (our model card has no template variables); present for
            the mixin's interface.

        Returns
        -------
        save_directory : Path

        Raises
        ------
        TypeError
            If ``config`` is given, or a constructor argument holds a value
            JSON cannot store.
        """
        if config is not None:
            raise TypeError(
                "save_pretrained writes the model's own constructor arguments to config.json; "
                "config= is not accepted. Build the model with the arguments you want saved."
            )
        directory = Path(save_directory)
        if not model_card:
            directory.mkdir(parents=True, exist_ok=True)
            self._save_pretrained(directory)
            return directory
        super().save_pretrained(directory, model_card_kwargs=model_card_kwargs)
        return directory

    def _save_pretrained(self, save_directory) -> None:
        """``PyTorchModelHubMixin``'s saving hook: write ``config.json`` (every
        constructor argument, plus ``skeegfm_version`` and ``skeegfm_class``)
        and ``model.safetensors`` into ``save_directory``, without a model card."""
        from safetensors.torch import save_model

        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_NAME).write_text(json.dumps(self._config_to_save(), indent=2), encoding="utf-8")
        save_model(self, str(directory / SAFETENSORS_NAME), metadata={"format": "pt"})

    def generate_model_card(self, *args, **kwargs):
        """The model card ``save_pretrained`` writes (a :class:`huggingface_hub.ModelCard`)."""
        from huggingface_hub import ModelCard

        return ModelCard(_model_card(self))

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: str = "Upload skeegfm model",
        private: bool | None = None,
        token: str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
    ):
        """Upload the model to the Hugging Face Hub (``save_pretrained`` layout).

        Overrides ``PyTorchModelHubMixin.push_to_hub`` to keep skeegfm's
        parameters (``revision`` where the mixin says ``branch``). Creates the repository if needed (:meth:`huggingface_hub.HfApi.create_repo`)
        and uploads ``config.json``, ``model.safetensors`` and ``README.md`` in
        one commit (:meth:`huggingface_hub.HfApi.upload_folder`).

        Parameters
        ----------
        repo_id : str
            ``"user/name"`` of the model repository.
        commit_message : str
            Message of the commit.
        private : bool | None
            Visibility of a newly created repository (None: the Hub default).
        token : str | None
            Hub token; None uses the one saved by ``huggingface-cli login``.
        revision : str | None
            Branch to push to (default: ``main``).
        create_pr : bool
            Open a pull request instead of committing directly.

        Returns
        -------
        commit_info : huggingface_hub.CommitInfo
            Holds the commit URL and id.
        """
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp)
            return api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                commit_message=commit_message,
                revision=revision,
                create_pr=create_pr,
                repo_type="model",
            )

    # -- loading ----------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path,
        *,
        revision: str | None = None,
        cache_dir=None,
        force_download: bool = False,
        local_files_only: bool = False,
        token: str | None = None,
        strict: bool = True,
        trust_checkpoint: bool = False,
        **overrides,
    ):
        """Load pretrained weights from the Hub, a local directory or a file.

        Parameters
        ----------
        repo_id_or_path : str | Path | dict
            One of

            - a Hugging Face Hub repository id, e.g.
              ``"braindecode/eegpt-pretrained"`` (downloaded and cached by
              huggingface_hub; offline, the cached copy is used);
            - a local directory in the Hub layout (``config.json`` plus
              ``model.safetensors`` or ``pytorch_model.bin``), e.g. from
              :meth:`save_pretrained`;
            - a checkpoint file: the authors' original release (layout
              recognised by its keys and converted; the architecture preset is
              inferred from tensor shapes) or a bare state_dict in our key names
              (``.safetensors`` / ``.bin`` / ``.pt``). A sibling ``config.json``
              is used when present;
            - an already loaded state_dict / checkpoint dict (same rules as a
              file), e.g. ``convert_eegdino_checkpoint(path, source="student")``.
        revision : str | None
            Hub branch, tag or commit (default ``main``).
        cache_dir : str | Path | None
            huggingface_hub cache directory (default: its standard cache).
        force_download : bool
            Download the files of a Hub repository even when they are in the
            local cache. By default a complete cached copy is used without
            any connection (the cache first, then a download).
        local_files_only : bool
            Never use the network; only the cache.
        token : str | None
            Hub token for private repositories.
        strict : bool
            If True (default), every encoder parameter and buffer must come
            from the file and every tensor of the file must be used: only keys
            under ``cls._head_prefixes`` may be missing, unexpected or of
            another shape (they keep their fresh initialisation, and the log
            says so), and keys of pretraining-only modules
            (``cls._pretraining_only_prefixes``) are dropped. If False, the
            remaining mismatches are logged as warnings instead of raised.
        trust_checkpoint : bool
            Default False: pickled files (``.bin``, ``.pt``, ``.ckpt``, ...)
            are read with ``torch.load(weights_only=True)`` and an allow-list
            of harmless types (``argparse.Namespace``, Lightning's
            ``AttributeDict``, numpy scalars and arrays), which covers the
            authors' released formats; a file holding other Python objects is
            refused with :class:`UntrustedCheckpointError`. True unpickles it
            fully, which runs any code the file carries: only for files you
            trust, and only for this call. safetensors files never need it.
        **overrides
            Constructor arguments; they win over the saved config. Rules:
            unknown config keys are ignored; an argument absent from the config
            takes ``cls._config_absent_defaults`` (the value that reproduces
            the saved weights), else the constructor default. Signal
            parameters merge consistently: overriding ``chs_info`` drops the
            saved ``n_chans``; overriding ``n_chans`` alone drops a saved
            ``chs_info`` of another length (with a warning); overriding any of
            ``n_times``, ``sfreq``, ``input_window_seconds`` keeps the saved
            ones only to complete yours (``sfreq`` first, then ``n_times``)
            until two of the three are known, so ``n_times=800`` or
            ``input_window_seconds=4`` keeps the saved sampling rate. A different ``n_outputs`` builds
            the saved head, loads, then calls ``reset_head(n_outputs)`` (a
            fresh head; for a model saved with ``return_encoder_output=True``
            this also switches it to classification unless you pass
            ``return_encoder_output=True``).

        Returns
        -------
        model : nn.Module
            In eval mode, with ``model.pretrained_source_`` = dict with
            ``"repo_id"`` (and ``"revision"``, ``"commit"``) or ``"path"``,
            ``"format"`` (``"hub"`` or ``"original"``) and ``"n_tensors"``.

        Raises
        ------
        WeightsNotAvailableError
            (an ``OSError``) If the Hub cannot be reached or offline mode is on
            and the weights are not in the cache; says how to fetch them.
        FileNotFoundError
            If ``repo_id_or_path`` is neither an existing path nor a valid
            repository id (see :func:`is_hub_id`): says no such local path
            exists.
        UntrustedCheckpointError
            (a ``ValueError``) If a pickled file holds Python objects beyond
            the allow-list and ``trust_checkpoint`` is False; names the file.
        ValueError
            If encoder tensors are missing, unexpected or of the wrong shape
            (``strict=True``), listing them; if a file's layout is not
            recognised (the message names the file and what it holds); if a
            file is empty, truncated or corrupt; if ``config.json`` is not
            valid JSON or a value has the wrong type (file, key, expected
            type, value); or if weights hold NaN or infinity (naming the
            tensors).
        """
        trust = bool(trust_checkpoint)
        if isinstance(repo_id_or_path, Mapping):
            return _load_tensors(
                cls, repo_id_or_path, source={"path": "<in-memory state_dict>"}, overrides=overrides, strict=strict
            )
        path = Path(os.fspath(repo_id_or_path)).expanduser()
        if path.is_file():
            if path.name in _WEIGHT_NAMES and (path.parent / CONFIG_NAME).is_file():
                return _load_directory(cls, path.parent, weights=path, overrides=overrides, strict=strict, trust=trust)
            return _load_file(cls, path, overrides=overrides, strict=strict, trust=trust)
        name = os.fspath(repo_id_or_path)
        if not path.is_dir() and (isinstance(repo_id_or_path, os.PathLike) or not is_hub_id(name)):
            raise _no_such_path(name)
        return cls._from_pretrained(
            model_id=str(path) if path.is_dir() else name,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
            strict=strict,
            trust_checkpoint=trust,
            **overrides,
        )

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None = None,
        cache_dir=None,
        force_download: bool = False,
        local_files_only: bool = False,
        token=None,
        proxies=None,
        resume_download=None,
        map_location: str = "cpu",
        strict: bool = True,
        trust_checkpoint: bool = False,
        config: dict | None = None,
        **model_kwargs,
    ):
        """``PyTorchModelHubMixin``'s loading hook: a directory in the Hub layout or
        a Hub repository id, through the strict loader of :mod:`skeegfm.models._loading`.

        ``model_kwargs`` are constructor arguments that win over the saved
        configuration (the rules of :meth:`from_pretrained`). ``config`` is
        the raw ``config.json`` the mixin's own ``from_pretrained`` passes
        with its values copied into ``model_kwargs``: those copies are not
        taken as the caller's arguments. ``proxies`` and ``resume_download``
        (older huggingface_hub) are not used; ``map_location`` moves the
        loaded model (it is read on the CPU).
        """
        overrides = dict(model_kwargs)
        if config is not None:
            overrides = {k: v for k, v in overrides.items() if k not in config or config[k] != v}
        if os.path.isdir(model_id):
            model = _load_directory(
                cls, Path(model_id), overrides=overrides, strict=strict, trust=bool(trust_checkpoint)
            )
        else:
            model = _load_hub(
                cls,
                model_id,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                local_files_only=local_files_only,
                token=token,
                overrides=overrides,
                strict=strict,
                trust=bool(trust_checkpoint),
            )
        if str(map_location) != "cpu":
            model.to(map_location)
        return model
