"""Configuration capture and Hugging Face Hub integration shared by all encoders.

Every encoder class inherits :class:`HubMixin`. The mixin records the
arguments each instance was constructed with (``_hub_config``) and gives the
class ``from_pretrained``, ``save_pretrained``, ``push_to_hub``,
``get_config`` and ``from_config``.

Design: the mixin is built on huggingface_hub's low-level functions
(:func:`huggingface_hub.hf_hub_download` for download and caching,
:meth:`huggingface_hub.HfApi.create_repo` and
:meth:`huggingface_hub.HfApi.upload_folder` for upload) rather than on
``huggingface_hub.PyTorchModelHubMixin``: our constructor-argument record
already exists, and the loader needs things that mixin does not do (strict key
checks with a head allowance, the authors' original checkpoints, the
config-merge rules of ``from_pretrained``). The files written and read are those of the
released braindecode repositories (braindecode's ``EEGModuleMixin`` on
``huggingface_hub.PyTorchModelHubMixin``): ``config.json`` with every
constructor argument (classes as dotted import paths, tuples as lists,
``chs_info`` as a list of dicts) and ``model.safetensors`` (read fallback:
``pytorch_model.bin``), so a round trip through either library works.

Class-level hooks read by the loader (override them in the encoder class):

- ``_head_prefixes``: state_dict keys that may be missing, shape-mismatched or
  unexpected at load time (the task head); they keep their fresh
  initialisation and the log says so.
- ``_pretraining_only_prefixes``: keys of pretraining-only modules, dropped
  from a file silently (DEBUG log). An entry containing ``*`` is a
  :func:`fnmatch.fnmatchcase` pattern (e.g. ``"*relative_position_index"``).
- ``_config_absent_defaults``: values for constructor arguments absent from a
  saved ``config.json`` (the value that reproduces the saved weights).
- ``_remap_state_dict(state_dict)``: renames applied to every incoming
  state_dict. A key of the model's own state_dict that this hook removes is a
  buffer the model recomputes (EEGPT's ``chans_id``): it is never read from a
  file and never reported missing.
- ``_config_from_state_dict(state_dict)``: constructor arguments inferred from
  tensor shapes, used for files that come without a ``config.json`` (the
  authors' original checkpoints).
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
import json
import logging
import numbers
import os
import re
import socket
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch

__all__ = ["HubMixin", "UntrustedCheckpointError", "WeightsNotAvailableError", "is_hub_id"]

logger = logging.getLogger("skeegfm")

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
PYTORCH_NAME = "pytorch_model.bin"
_WEIGHT_NAMES = (SAFETENSORS_NAME, PYTORCH_NAME)
#: Keys of a saved config.json that describe the writer, not the model.
_META_KEYS = ("braindecode_version", "skeegfm_version", "skeegfm_class")
#: File name endings that make a string a path, never a Hub repository id.
_PATH_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".json", ".npz", ".tar")
_DOTTED_TYPE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
#: Modules config.json type paths may be imported from.
_IMPORTABLE_PREFIXES = ("torch.", "skeegfm.")
_TIME_PARAMS = ("sfreq", "n_times", "input_window_seconds")  # fill order
_SIGNAL_PARAMS = ("n_outputs", "n_chans", "chs_info", "n_times", "input_window_seconds", "sfreq")


class WeightsNotAvailableError(OSError):
    """The requested pretrained weights are neither local nor downloadable.

    Raised by ``from_pretrained`` when the Hub cannot be reached (offline mode,
    ``HF_HUB_OFFLINE=1``, or no network) and the files are not in the local
    Hugging Face cache. The message says where the cache is and how to fetch
    the weights.
    """


def is_hub_id(name) -> bool:
    """Whether ``name`` is to be read as a Hugging Face Hub repository id.

    The one rule of the package: a string ``"owner/name"`` (exactly one
    ``/``) that :func:`huggingface_hub.utils.validate_repo_id` accepts and
    that does not end like a weights or config file (``.pt``, ``.safetensors``,
    ...). Anything else that is not an existing path is a local path that does
    not exist; it is never sent to the Hub. Callers check for an existing
    path first.

    Parameters
    ----------
    name : str | os.PathLike
        Candidate. ``os.PathLike`` objects are always paths (False).

    Returns
    -------
    is_hub_id : bool
    """
    if not isinstance(name, str) or name.count("/") != 1:
        return False
    if name.lower().endswith(_PATH_SUFFIXES) or name.startswith(("~", ".")):
        return False
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _no_such_path(name) -> FileNotFoundError:
    """The error for a string that is neither an existing path nor a Hub id."""
    where = Path(os.fspath(name)).expanduser().absolute()
    return FileNotFoundError(
        f"No such local path exists: {os.fspath(name)!r} (looked for {where}), and it is "
        "not a Hugging Face Hub repository id ('owner/name'). Check the spelling, or pass "
        "an existing directory (config.json + model.safetensors) or checkpoint file."
    )


# ---------------------------------------------------------------------------
# config.json encoding
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


def _import_type(name, path):
    """Import the class named by the dotted ``path`` (config value of ``name``)."""
    if not path.startswith(_IMPORTABLE_PREFIXES):
        raise ValueError(
            f"config.json sets {name!r} to {path!r}, which skeegfm does not import "
            f"(only classes from {', '.join(_IMPORTABLE_PREFIXES)}); pass "
            f"{name}=... to from_pretrained to override it."
        )
    module_name, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"config.json sets {name!r} to {path!r}, which cannot be imported "
            f"({err}); pass {name}=... to override it."
        ) from err
    if not isinstance(obj, type):
        raise ValueError(f"config.json sets {name!r} to {path!r}, which is not a class.")
    return obj


def _to_tuple(value):
    if isinstance(value, list):
        return tuple(_to_tuple(v) for v in value)
    return value


def _decode_value(name, value, default):
    """Turn a config.json value back into a constructor argument."""
    if isinstance(value, str) and _DOTTED_TYPE.match(value):
        if isinstance(default, type) or (
            default is None and value.rpartition(".")[2][:1].isupper()
        ):
            return _import_type(name, value)
    if isinstance(value, list) and isinstance(default, tuple):
        return _to_tuple(value)
    return value


def _init_parameters(cls) -> dict:
    """Named ``__init__`` parameters of ``cls`` (no ``self``, no ``*args``)."""
    params = inspect.signature(cls.__init__).parameters
    return {
        name: p
        for name, p in params.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


#: Expected JSON types of the signal parameters, whose defaults are None.
_SIGNAL_TYPES = {
    "n_outputs": "int", "n_chans": "int", "n_times": "int",
    "sfreq": "float", "input_window_seconds": "float", "chs_info": "list",
}


def _expected_kind(name, default) -> str | None:
    """``"bool"``, ``"int"``, ``"float"``, ``"str"``, ``"list"``, ``"dict"``
    or None (unchecked) for the constructor argument ``name``."""
    if name in _SIGNAL_TYPES:
        return _SIGNAL_TYPES[name]
    if default is inspect.Parameter.empty or default is None:
        return None
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, numbers.Integral):
        return "int"
    if isinstance(default, numbers.Real):
        return "float"
    if isinstance(default, str) or isinstance(default, type):
        return "str"
    if isinstance(default, (list, tuple)):
        return "list"
    if isinstance(default, Mapping):
        return "dict"
    return None


_KIND_WORDS = {
    "bool": "true or false", "int": "an integer", "float": "a finite number",
    "str": "a string", "list": "a list", "dict": "an object",
}


def _matches_kind(value, kind) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            and float(value) == float(value) and abs(float(value)) != float("inf")
        )
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "dict":
        return isinstance(value, Mapping)
    return True


def _check_config_types(cls, config: Mapping, origin, skip=()) -> None:
    """Raise ValueError for a config value of the wrong JSON type, naming the
    file, the key, the expected type and the value (``nhead: 2.5`` is refused,
    never truncated to 2; ``true`` is not an integer). ``None`` is accepted
    (the constructor decides)."""
    params = _init_parameters(cls)
    for name, value in config.items():
        if name not in params or value is None or name in skip:
            continue
        kind = _expected_kind(name, params[name].default)
        if kind is not None and not _matches_kind(value, kind):
            raise ValueError(
                f"{origin}: {name!r} must be {_KIND_WORDS[kind]} for {cls.__name__}, got "
                f"{json.dumps(value, default=repr)} ({type(value).__name__}). Fix the file, or "
                f"pass {name}=... to from_pretrained to override it."
            )


def _decode_config(cls, config: Mapping, origin="config", skip=()) -> dict:
    """Constructor kwargs from a saved config: meta and unknown keys dropped,
    types checked (except the keys in ``skip``, which the caller overrides),
    classes imported, lists turned back into tuples where the default is one."""
    _check_config_types(cls, config, origin, skip)
    params = _init_parameters(cls)
    unknown = sorted(k for k in config if k not in params and k not in _META_KEYS)
    if unknown:
        logger.debug("%s: config keys ignored (not constructor arguments): %s", cls.__name__, unknown)
    kwargs = {}
    for name, value in config.items():
        if name in params:
            kwargs[name] = _decode_value(name, value, params[name].default)
    return kwargs


def _check_config_fits(cls, config: Mapping, origin) -> None:
    """Raise when a config.json holds more arguments of another model than of
    ``cls`` (e.g. an EEGPT repository given to ``EEGDINO.from_pretrained``)."""
    params = set(_init_parameters(cls)) - set(_SIGNAL_PARAMS)
    keys = set(config) - set(_META_KEYS) - set(_SIGNAL_PARAMS)
    unknown = sorted(keys - params)
    if len(unknown) > len(keys & params):
        raise ValueError(
            f"{origin} is not a config of {cls.__name__}: most of its arguments are "
            f"unknown to it ({unknown[:10]}). Load it with the model class it was saved "
            "from (skeegfm._registry.load_pretrained tells them apart)."
        )


def _merge_config(cls, saved: dict, overrides: dict) -> dict:
    """Merge decoded saved kwargs and user overrides (overrides win).

    Signal parameters are merged so the result stays consistent:

    - a constructor argument absent from ``saved`` takes
      ``cls._config_absent_defaults`` (else the constructor default);
    - ``chs_info`` given without ``n_chans``: the saved ``n_chans`` is dropped
      (inferred from ``chs_info``); ``n_chans`` given without ``chs_info``:
      the saved ``chs_info`` is dropped, with a warning, when its length differs;
    - any of ``n_times``, ``sfreq``, ``input_window_seconds`` given: the saved
      ones are used only to complete the user's values, in the order
      ``sfreq``, ``n_times``, ``input_window_seconds``, until two are known
      (two determine the third): a new window length keeps the sampling rate.
    """
    merged = {k: v for k, v in cls._config_absent_defaults.items() if k not in saved}
    merged.update(saved)
    if "chs_info" in overrides and "n_chans" not in overrides:
        merged.pop("n_chans", None)
    if "n_chans" in overrides and "chs_info" not in overrides:
        chs = merged.get("chs_info")
        if chs is not None and overrides["n_chans"] is not None and len(chs) != overrides["n_chans"]:
            warnings.warn(
                f"n_chans={overrides['n_chans']} overrides the saved chs_info "
                f"({len(chs)} channels), which is dropped: the model gets no channel "
                "names. Pass chs_info=[{'ch_name': ...}, ...] to name the channels.",
                UserWarning,
                stacklevel=4,
            )
            merged["chs_info"] = None
    if any(name in overrides for name in _TIME_PARAMS):
        known = sum(overrides.get(name) is not None for name in _TIME_PARAMS)
        for name in _TIME_PARAMS:
            if name in overrides:
                continue
            value = merged.pop(name, None)
            if value is not None and known < 2:
                merged[name] = value
                known += 1
    merged.update(overrides)
    return merged


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


class UntrustedCheckpointError(ValueError):
    """A checkpoint file holds pickled Python objects that skeegfm will not unpickle.

    Unpickling can run arbitrary code, so files are read with
    ``torch.load(weights_only=True)`` and a short allow-list of harmless
    types (:func:`_safe_globals`). Anything beyond that needs an explicit,
    per-call opt-in: ``trust_checkpoint=True`` (``from_pretrained``, the
    estimators, the ``convert_*_checkpoint`` functions) or
    ``--trust-checkpoint`` on the command line.
    """


def _numpy_safe_globals() -> list:
    """numpy scalars, dtypes and arrays as numpy pickles them (both the
    numpy >= 2 ``numpy._core`` and the numpy 1 ``numpy.core`` names)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return []
    core = getattr(np, "_core", None) or np.core
    out = [np.dtype, np.ndarray]
    for name in ("scalar", "_reconstruct"):
        func = getattr(core.multiarray, name)
        out += [func, (func, f"numpy.core.multiarray.{name}"), (func, f"numpy._core.multiarray.{name}")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:  # numpy >= 1.25 pickles dtypes by their class
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return out


def _safe_globals() -> list:
    """The types that the authors' checkpoints hold besides tensors, all inert
    containers of plain values (see docs/security.rst):

    - ``argparse.Namespace`` (training arguments saved with EEG-DINO-style
      checkpoints);
    - Lightning's ``AttributeDict`` (``hyper_parameters`` of a
      PyTorch-Lightning checkpoint such as EEGPT's), read as a plain dict,
      under its three historical import paths, so Lightning need not be
      installed;
    - numpy scalars, dtypes and arrays (metrics, hyper-parameters).
    """
    import argparse

    lightning_names = (
        "pytorch_lightning.utilities.parsing.AttributeDict",
        "lightning.fabric.utilities.data.AttributeDict",
        "lightning_fabric.utilities.data.AttributeDict",
    )
    # NEWOBJ of an allow-listed class creates it; mapping the Lightning name to
    # ``dict`` makes the hyper-parameters an ordinary dict (torch lets only
    # dict, OrderedDict and Counter receive SETITEMS).
    return [argparse.Namespace, *[(dict, name) for name in lightning_names], *_numpy_safe_globals()]


def _unsafe_globals(path):
    """Globals of ``path``'s pickle outside torch's and our allow-lists, read
    statically (nothing is unpickled).

    Returns
    -------
    names : list of str | "corrupt" | None
        The sorted names (``[]`` when there are none); ``"corrupt"`` for a
        torch checkpoint cut short (a zip archive without its directory, or
        a pickle that ends early); None when the file cannot be scanned (not
        a torch checkpoint, or a pickle protocol the scanner does not read).
    """
    allowed = set()
    for entry in _safe_globals():
        if isinstance(entry, tuple):
            allowed.add(entry[1])
        else:
            allowed.add(f"{entry.__module__}.{entry.__qualname__}")
    with open(path, "rb") as f:
        head = f.read(4)
    try:
        if zipfile.is_zipfile(path):
            names = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        elif head == b"PK\x03\x04":
            return "corrupt"  # a zip archive whose end (its directory) is missing
        else:
            # torch.save's legacy format: pickles of the magic number, the
            # protocol version, system information and the object itself.
            from torch import _weights_only_unpickler as unpickler

            names = set()
            with open(path, "rb") as f:
                for _ in range(4):
                    names |= unpickler.get_globals_in_pkl(f)
            names -= set(unpickler._get_allowed_globals())
    except EOFError:
        return "corrupt"
    except Exception:  # noqa: BLE001 (a corrupt or foreign file raises many types)
        return None
    return sorted(n for n in names if n not in allowed)


def _trust_hint() -> str:
    return (
        "If you trust where the file comes from, opt in for this one load with "
        "trust_checkpoint=True (from_pretrained, the estimators, convert_*_checkpoint) or "
        "--trust-checkpoint (skeegfm embed/benchmark); better, re-save its tensors as "
        "model.safetensors."
    )


def _torch_load(path, *, trust_checkpoint: bool = False):
    """``torch.load`` on CPU: ``weights_only=True`` with the allow-list of
    :func:`_safe_globals`; full unpickling only with ``trust_checkpoint``.

    Raises
    ------
    UntrustedCheckpointError
        The file holds other Python objects and ``trust_checkpoint`` is False.
    ValueError
        The file is empty, incomplete or not a torch checkpoint.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes): the file is incomplete; download or copy it again.")
    try:
        with torch.serialization.safe_globals(_safe_globals()), warnings.catch_warnings():
            # torch's note on pickle protocols precedes the error said below.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (the unpickler raises many types)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = f"{type(err).__name__}: {first[:200]}"
    with torch.serialization.safe_globals(_safe_globals()):
        unsafe = _unsafe_globals(path)
    if unsafe == [] or unsafe == "corrupt":  # nothing beyond the allow-list: damaged
        raise ValueError(
            f"{path} cannot be read as a torch checkpoint: it is incomplete, corrupt or "
            f"not a checkpoint ({reason}). Download or copy it again."
        )
    if not trust_checkpoint:
        if unsafe:
            raise UntrustedCheckpointError(
                f"{path} was not loaded: besides tensors it holds pickled Python objects "
                f"({', '.join(unsafe[:6])}{', ...' if len(unsafe) > 6 else ''}), and unpickling "
                "them can run arbitrary code. " + _trust_hint()
            )
        raise UntrustedCheckpointError(
            f"{path} was not loaded: the safe loader cannot read it ({reason}). Either it is "
            "incomplete or not a checkpoint, or it holds pickled Python objects beyond tensors, "
            "and unpickling those can run arbitrary code. " + _trust_hint()
        )
    warnings.warn(
        f"{path}: fully unpickled because trust_checkpoint=True; this runs any code the "
        "file carries.",
        UserWarning,
        stacklevel=4,
    )
    # The one place that unpickles arbitrary objects: reached only with an
    # explicit trust_checkpoint=True for this load.
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 (the unpickler raises many types)
        raise ValueError(
            f"{path} cannot be read as a torch checkpoint, even fully unpickled: it is "
            f"incomplete, corrupt or not a checkpoint ({type(err).__name__}: {err})."
        ) from err


def load_checkpoint_file(path_or_dict, *, trust_checkpoint: bool = False):
    """An authors' original checkpoint as a mapping.

    Parameters
    ----------
    path_or_dict : str | os.PathLike | Mapping
        A torch pickle, or an already loaded checkpoint (returned as is).
    trust_checkpoint : bool
        Allow full unpickling (``weights_only`` off), which runs
        any code the file carries, when the file holds Python objects beyond
        tensors and the allow-listed harmless types. Default False.

    Returns
    -------
    checkpoint : Mapping
        What the file holds, read with ``torch.load(weights_only=True)`` and
        the allow-list of :func:`_safe_globals`.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    UntrustedCheckpointError
        (a ``ValueError``) If the file needs full unpickling and
        ``trust_checkpoint`` is False.
    ValueError
        If the file is empty, incomplete or not a torch checkpoint.
    """
    if isinstance(path_or_dict, Mapping):
        return path_or_dict
    path = Path(path_or_dict)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint file at {str(path)!r}.")
    return _torch_load(path, trust_checkpoint=trust_checkpoint)


def _read_safetensors(path: str) -> dict:
    """``safetensors.torch.load_file`` with the file named in every error."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    size = os.path.getsize(path)
    if size == 0:
        raise ValueError(f"{path} is empty (0 bytes): the file is incomplete; download or copy it again.")
    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, RuntimeError) as err:
        raise ValueError(
            f"{path} is not a complete safetensors file ({size} bytes; {err}): it was probably "
            "truncated by an interrupted download or copy. Download or copy it again."
        ) from None


def _read_weights(path, *, trust_checkpoint: bool = False):
    """Read a weights file: safetensors by content, else a torch pickle."""
    path = str(path)
    with open(path, "rb") as f:
        head = f.read(9)
    # safetensors: 8-byte little-endian header length, then a JSON object.
    if path.endswith(".safetensors") or head[8:9] == b"{":
        return _read_safetensors(path)
    return _torch_load(path, trust_checkpoint=trust_checkpoint)


def _check_finite(state_dict, origin) -> None:
    """Refuse weights holding NaN or infinity, naming the tensors."""
    floats = [(k, v) for k, v in state_dict.items() if isinstance(v, torch.Tensor) and v.is_floating_point()]
    if not floats:
        return
    # One float64 sum per tensor (NaN and infinity propagate; no overflow below
    # 1e308) is ~10x cheaper than isfinite(); the exact check runs on suspects.
    with torch.no_grad():
        sums = torch.stack([v.detach().sum(dtype=torch.float64).cpu() for _, v in floats])
    suspects = torch.nonzero(~torch.isfinite(sums)).flatten().tolist()
    bad = [floats[i][0] for i in suspects if not bool(torch.isfinite(floats[i][1]).all())]
    if bad:
        raise ValueError(
            f"{origin} holds non-finite values (NaN or infinity) in {len(bad)} tensor(s): "
            f"{sorted(bad)[:10]}{' ...' if len(bad) > 10 else ''}. The weights are corrupt "
            "(or come from a diverged training run); use another copy."
        )


def read_config(path) -> dict:
    """Read a ``config.json``: a JSON object, or a ValueError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a UTF-8 text file ({err}); expected a JSON config.") from None
    if not text.strip():
        raise ValueError(f"{path} is empty: the file is incomplete; write or download it again.")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
            "fix or replace the file."
        ) from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds a JSON {type(config).__name__}, not an object of constructor arguments.")
    return config


def _tensor_dict(obj) -> dict | None:
    """The flat tensor dict held by a loaded checkpoint object, if any."""
    if not isinstance(obj, Mapping):
        return None
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if tensors and len(tensors) >= len(obj) / 2:
        return dict(obj)
    for key in ("state_dict", "model", "module", "model_state_dict"):
        inner = obj.get(key)
        if isinstance(inner, Mapping) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            return dict(inner)
    return None


def _describe_keys(keys, limit=8) -> str:
    keys = sorted(keys)
    prefixes = sorted({k.split(".")[0] for k in keys})
    shown = ", ".join(keys[:limit]) + (", ..." if len(keys) > limit else "")
    return f"{len(keys)} tensors, top-level names {prefixes[:12]}; first keys: {shown}"


# ---------------------------------------------------------------------------
# The Hub
# ---------------------------------------------------------------------------


def _is_offline() -> bool:
    """Offline mode, as huggingface_hub saw it at import or as set since."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return bool(constants.HF_HUB_OFFLINE) or env.strip().upper() in {"1", "ON", "YES", "TRUE"}


_REACHABLE: dict = {}  # endpoint -> (time.monotonic() of the probe, result)


def _endpoint_reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout`` s.

    Without this probe huggingface_hub retries an unreachable Hub for about
    25 s before falling back to its cache. The answer is reused for 60 s.
    Skipped (assumed reachable) when a proxy is configured, since the proxy is
    then the only way out.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    cached = _REACHABLE.get(endpoint)
    if cached is not None and time.monotonic() - cached[0] < 60:
        return cached[1]
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            reachable = True
    except OSError:
        reachable = False
    _REACHABLE[endpoint] = (time.monotonic(), reachable)
    return reachable


def _not_available(repo_id, revision, cache_dir, why) -> WeightsNotAvailableError:
    from huggingface_hub import constants

    cache = Path(cache_dir) if cache_dir is not None else Path(constants.HF_HUB_CACHE)
    rev = f" --revision {revision}" if revision else ""
    return WeightsNotAvailableError(
        f"The weights of {repo_id!r} (revision {revision or 'main'}) are not in the local "
        f"Hugging Face cache ({cache}) and {why}. Fetch them once on a machine with "
        f"network access: `huggingface-cli download {repo_id}{rev}` (or `hf download "
        f"{repo_id}{rev}`; add --cache-dir {cache} if you use this cache_dir), or pass a "
        "local path: a directory with config.json and model.safetensors, or the authors' "
        "checkpoint file. Without the weights, checkpoint=None in the estimators (--weights "
        "random in the CLI) runs the released architecture with random weights: a baseline, "
        "not pretrained features."
    )


def _hub_files(repo_id, *, revision, cache_dir, local_files_only, token) -> tuple[Path, Path]:
    """Download (or find in the cache) config.json and the weights of ``repo_id``."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    why = None
    if local_files_only:
        why = "local_files_only=True was passed"
    elif _is_offline():
        why = "offline mode is on (HF_HUB_OFFLINE=1)"
        local_files_only = True
    elif not _endpoint_reachable(constants.ENDPOINT):
        why = f"the Hub ({constants.ENDPOINT}) cannot be reached"
        local_files_only = True
    common = dict(
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        library_name="skeegfm",
    )
    try:
        config_path = hf_hub_download(repo_id, CONFIG_NAME, **common)
    except LocalEntryNotFoundError as err:
        raise _not_available(repo_id, revision, cache_dir, why or "the Hub cannot be reached") from err
    for name in _WEIGHT_NAMES:
        try:
            return Path(config_path), Path(hf_hub_download(repo_id, name, **common))
        except LocalEntryNotFoundError as err:
            last = err
        except EntryNotFoundError as err:  # not in the repo: try the next name
            last = err
    if isinstance(last, LocalEntryNotFoundError):
        raise _not_available(repo_id, revision, cache_dir, why or "the Hub cannot be reached") from last
    raise OSError(
        f"{repo_id!r} (revision {revision or 'main'}) has a config.json but neither "
        f"{SAFETENSORS_NAME} nor {PYTORCH_NAME}."
    ) from last


def _commit_of(path: Path) -> str | None:
    """Commit hash of a file inside a huggingface_hub cache snapshot."""
    parts = Path(path).parts
    if "snapshots" in parts:
        i = len(parts) - 1 - parts[::-1].index("snapshots")
        if i + 1 < len(parts):
            return parts[i + 1]
    return None


def _model_card(model, config) -> str:
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


class HubMixin:
    """Constructor-argument record and pretrained-weight I/O for encoders.

    Subclasses get their ``__init__`` wrapped once at class creation so that,
    after construction, ``self._hub_config`` holds every ``__init__`` argument
    (defaults included) by name, as bound by the signature. The class-level
    hooks below (see the module docstring) tell the loader which keys are the
    head, which belong to pretraining-only modules, and how to read older
    files.
    """

    _head_prefixes: tuple = ("final_layer.",)
    _pretraining_only_prefixes: tuple = ()
    _config_absent_defaults: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
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

    # -- hooks ------------------------------------------------------------

    @classmethod
    def _remap_state_dict(cls, state_dict: dict) -> dict:
        """Model-specific renames applied to any incoming state_dict (identity)."""
        return state_dict

    @classmethod
    def _config_from_state_dict(cls, state_dict: dict) -> dict:
        """Constructor kwargs inferred from the tensor shapes of ``state_dict``.

        Used for files without a config.json. The default dispatches to the
        rules for EEG-DINO, EEGPT and CodeBrain in this module; other classes
        get ``{}`` (their constructor defaults).
        """
        infer = _CONFIG_INFERENCE.get(cls.__name__)
        return infer(state_dict) if infer is not None else {}

    @classmethod
    def _original_hooks(cls):
        """``(looks_like_original, convert)`` functions of the class's module.

        By convention the module defines ``_looks_like_original(state_dict)``
        and ``convert_<classname lower>_checkpoint(path_or_dict)``; either may
        be ``None``.
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

    def save_pretrained(self, save_directory, *, model_card: bool = True) -> Path:
        """Write ``config.json``, ``model.safetensors`` and a model card.

        The layout is that of braindecode's Hugging Face repositories, so our
        :meth:`from_pretrained` reads it back (braindecode's too, as far as the
        constructor arguments are also its own: see the models page of the
        documentation).
        Loading the directory gives a bit-identical ``state_dict``.

        Parameters
        ----------
        save_directory : str | Path
            Directory to write into (created if needed; existing files with
            these names are replaced).
        model_card : bool
            Also write a short ``README.md`` (not overwriting an existing one).

        Returns
        -------
        save_directory : Path
        """
        from safetensors.torch import save_model

        from .._version import __version__

        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = self.get_config()
        config["skeegfm_version"] = __version__
        config["skeegfm_class"] = type(self).__name__
        (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2))
        save_model(self, str(directory / SAFETENSORS_NAME), metadata={"format": "pt"})
        readme = directory / "README.md"
        if model_card and not readme.exists():
            readme.write_text(_model_card(self, config))
        return directory

    def _save_pretrained(self, save_directory) -> None:
        """``huggingface_hub.ModelHubMixin``'s saving hook: write
        ``config.json`` (with our ``skeegfm_version`` key) and
        ``model.safetensors`` into ``save_directory``, as
        :meth:`save_pretrained` does, without a model card."""
        self.save_pretrained(save_directory, model_card=False)

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

        Creates the repository if needed (:meth:`huggingface_hub.HfApi.create_repo`)
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
            return cls._from_tensors(
                repo_id_or_path, source={"path": "<in-memory state_dict>"}, overrides=overrides, strict=strict
            )
        path = Path(os.fspath(repo_id_or_path)).expanduser()
        if path.is_dir():
            return cls._from_directory(path, overrides=overrides, strict=strict, trust=trust)
        if path.is_file():
            if path.name in _WEIGHT_NAMES and (path.parent / CONFIG_NAME).is_file():
                return cls._from_directory(
                    path.parent, weights=path, overrides=overrides, strict=strict, trust=trust
                )
            return cls._from_file(path, overrides=overrides, strict=strict, trust=trust)
        name = os.fspath(repo_id_or_path)
        if isinstance(repo_id_or_path, os.PathLike) or not is_hub_id(name):
            raise _no_such_path(name)
        config_path, weights_path = _hub_files(
            name, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token
        )
        source = {"repo_id": name, "revision": revision or "main", "commit": _commit_of(weights_path)}
        return cls._from_config_and_weights(config_path, weights_path, source, overrides, strict, trust)

    @classmethod
    def _from_directory(cls, directory: Path, *, overrides, strict, trust=False, weights: Path | None = None):
        if weights is None:
            weights = next((directory / n for n in _WEIGHT_NAMES if (directory / n).is_file()), None)
        if weights is None:
            raise FileNotFoundError(
                f"{directory} holds neither {SAFETENSORS_NAME} nor {PYTORCH_NAME} "
                f"(found: {sorted(p.name for p in directory.iterdir())[:20]})."
            )
        if not (directory / CONFIG_NAME).is_file():
            return cls._from_file(weights, overrides=overrides, strict=strict, trust=trust)
        source = {"path": str(directory)}
        return cls._from_config_and_weights(directory / CONFIG_NAME, weights, source, overrides, strict, trust)

    @classmethod
    def _from_config_and_weights(cls, config_path, weights_path, source, overrides, strict, trust=False):
        config = read_config(config_path)
        saved_class = config.get("skeegfm_class")
        if saved_class is not None and saved_class != cls.__name__:
            raise ValueError(
                f"{config_path} was saved from a {saved_class}, not a {cls.__name__}; "
                f"use skeegfm.models.{saved_class}.from_pretrained."
            )
        _check_config_fits(cls, config, config_path)
        saved = _decode_config(cls, config, config_path, skip=overrides)
        obj = _read_weights(weights_path, trust_checkpoint=trust)
        state_dict = _tensor_dict(obj)  # a flat state_dict, or one wrapped in {"state_dict": ...}
        if state_dict is None:
            raise ValueError(
                f"{weights_path} holds no state_dict (a {type(obj).__name__}); expected a "
                "mapping of parameter names to tensors."
            )
        source = dict(source, format="hub")
        return cls._build_and_load(saved, state_dict, overrides, source, strict, weights_path)

    @classmethod
    def _from_file(cls, path: Path, *, overrides, strict, trust=False):
        obj = _read_weights(path, trust_checkpoint=trust)
        return cls._from_tensors(obj, source={"path": str(path)}, overrides=overrides, strict=strict, origin=path)

    @classmethod
    def _from_tensors(cls, obj, *, source, overrides, strict, origin=None):
        """Load from a checkpoint object without config: original or native layout."""
        origin = origin or source["path"]
        looks, convert = cls._original_hooks()
        tensors = _tensor_dict(obj)
        is_original = looks is not None and any(
            _safe_call(looks, candidate) for candidate in (obj, tensors) if candidate is not None
        )
        if is_original:
            if convert is None:
                raise ValueError(f"{origin}: recognised as an original {cls.__name__} checkpoint, but no converter exists.")
            try:
                state_dict = convert(obj)
            except (TypeError, ValueError) as err:
                raise ValueError(f"{origin}: {err}") from err
            fmt = "original"
        else:
            if tensors is None:
                raise ValueError(
                    f"{origin} holds no state_dict (a {type(obj).__name__} with keys "
                    f"{sorted(map(str, obj))[:10] if isinstance(obj, Mapping) else '-'}); expected "
                    f"an original {cls.__name__} checkpoint or a state_dict."
                )
            state_dict = tensors
            fmt = "state_dict"
            if not _overlaps_native(cls, state_dict):
                raise ValueError(
                    f"{origin} is not a recognised {cls.__name__} checkpoint: it holds "
                    f"{_describe_keys(state_dict)}. Expected the authors' original layout "
                    f"or {cls.__name__}'s own key names (e.g. a model.safetensors)."
                )
        source = dict(source, format=fmt)
        try:
            inferred = cls._config_from_state_dict(cls._remap_state_dict(dict(state_dict)))
        except ValueError as err:
            raise ValueError(f"{origin}: {err}") from err
        return cls._build_and_load(inferred, state_dict, overrides, source, strict, origin)

    @classmethod
    def _build_and_load(cls, saved: dict, state_dict, overrides: dict, source, strict, origin):
        """Construct from the merged kwargs, load strictly, apply the n_outputs rule."""
        overrides = dict(overrides)
        requested_n_outputs = overrides.pop("n_outputs", None) if "n_outputs" in overrides else None
        has_n_outputs = requested_n_outputs is not None
        saved_n_outputs = saved.get("n_outputs")
        reset = (
            has_n_outputs
            and saved_n_outputs is not None
            and requested_n_outputs != saved_n_outputs
            and overrides.get("return_encoder_output") is not True
        )
        if has_n_outputs and not reset:
            overrides["n_outputs"] = requested_n_outputs
            if saved.get("return_encoder_output") and "return_encoder_output" not in overrides:
                overrides["return_encoder_output"] = False  # asking for outputs means a head
        kwargs = _merge_config(cls, saved, overrides)
        try:
            model = cls(**kwargs)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{origin}: cannot build a {cls.__name__} from the saved configuration and "
                f"the arguments given ({type(err).__name__}: {err}). Fix the config.json "
                "value or the argument named."
            ) from err
        n_tensors = _load_strict(model, state_dict, strict=strict, origin=origin)
        if reset:
            if not hasattr(model, "reset_head"):
                raise ValueError(
                    f"{cls.__name__} does not support changing n_outputs "
                    f"({saved_n_outputs} saved, {requested_n_outputs} asked)."
                )
            model.reset_head(requested_n_outputs)
            if getattr(model, "return_encoder_output", False) and "return_encoder_output" not in overrides:
                model.return_encoder_output = False
                model._hub_config["return_encoder_output"] = False
            logger.info(
                "%s: head rebuilt for n_outputs=%d (saved: %s); it is freshly initialised.",
                cls.__name__,
                requested_n_outputs,
                saved_n_outputs,
            )
        source = dict(source, n_tensors=n_tensors)
        where = source.get("repo_id") or source.get("path")
        if "repo_id" in source:
            where = f"{where} (revision {source['revision']}, commit {source.get('commit') or '?'})"
        logger.info("Loaded %s weights from %s [%s layout]: %d tensors.", cls.__name__, where, source["format"], n_tensors)
        model.pretrained_source_ = source
        return model.eval()


def _safe_call(func, arg) -> bool:
    try:
        return bool(func(arg))
    except Exception:  # noqa: BLE001 (a layout probe must not raise)
        return False


def _overlaps_native(cls, state_dict) -> bool:
    """Whether ``state_dict`` is mostly in ``cls``'s own key names (always True
    for classes without a known list of top-level names)."""
    roots = getattr(cls, "_native_roots", None) or _NATIVE_ROOTS.get(cls.__name__)
    if roots is None:
        return True
    try:
        keys = list(cls._remap_state_dict(dict(state_dict)))
    except Exception:  # noqa: BLE001
        return False
    hits = sum(k.split(".")[0] in roots for k in keys)
    return bool(keys) and hits >= len(keys) / 2


#: Top-level state_dict names of each encoder (the reference layout), used
#: only to recognise a bare state_dict in our key names.
_NATIVE_ROOTS = {
    "EEGDINO": ("global_tokens", "patch_embedding", "encoder_layers"),
    "EEGPT": ("target_encoder", "chans_id", "chan_proj"),
    "CodeBrain": ("patch_embedding", "init_conv", "residual_layer", "final_conv", "norm", "lm_head_t", "lm_head_f"),
}


def _matches(key: str, patterns) -> bool:
    for pattern in patterns:
        if "*" in pattern:
            if fnmatch.fnmatchcase(key, pattern):
                return True
        elif key.startswith(pattern):
            return True
    return False


def _load_strict(model, state_dict, *, strict: bool, origin) -> int:
    """Load ``state_dict`` into ``model`` with the head allowance; return the
    number of tensors taken from the file."""
    cls = type(model)
    incoming = cls._remap_state_dict(dict(state_dict))
    own = model.state_dict()
    derived = set(own) - set(cls._remap_state_dict(dict(own)))  # recomputed by the model
    heads, pretraining = model._head_prefixes, model._pretraining_only_prefixes  # may be per instance

    dropped = sorted(k for k in incoming if k not in own and _matches(k, pretraining))
    unexpected = sorted(k for k in incoming if k not in own and k not in dropped)
    missing = sorted(k for k in own if k not in incoming and k not in derived)
    mismatched = sorted(
        k for k in incoming if k in own and tuple(incoming[k].shape) != tuple(own[k].shape)
    )
    head_unexpected = [k for k in unexpected if _matches(k, heads)]
    head_missing = [k for k in missing if _matches(k, heads)]
    head_mismatched = [k for k in mismatched if _matches(k, heads)]
    pre_missing = [k for k in missing if _matches(k, pretraining) and k not in head_missing]
    bad_unexpected = [k for k in unexpected if k not in head_unexpected]
    bad_missing = [k for k in missing if k not in head_missing and k not in pre_missing]
    bad_mismatched = [k for k in mismatched if k not in head_mismatched]

    if bad_unexpected or bad_missing or bad_mismatched:
        lines = []
        if bad_missing:
            lines.append(f"missing from the file ({len(bad_missing)}): {bad_missing}")
        if bad_unexpected:
            lines.append(f"not in the model ({len(bad_unexpected)}): {bad_unexpected}")
        if bad_mismatched:
            shapes = [f"{k}: file {tuple(incoming[k].shape)} vs model {tuple(own[k].shape)}" for k in bad_mismatched]
            lines.append(f"shape mismatch ({len(shapes)}): {shapes}")
        message = (
            f"{origin} does not match {cls.__name__}'s encoder:\n  " + "\n  ".join(lines)
            + "\nCheck the architecture arguments (or pass strict=False to load what matches)."
        )
        if strict:
            raise ValueError(message)
        logger.warning("%s", message)

    if dropped:
        logger.debug("%s: dropped pretraining-only tensors: %s", cls.__name__, dropped)
    if head_unexpected or head_missing or head_mismatched:
        logger.info(
            "%s: head tensors not taken from %s (fresh initialisation kept): missing %s, "
            "shape mismatch %s; head tensors in the file but not in the model (dropped): %s",
            cls.__name__, origin, head_missing, head_mismatched, head_unexpected,
        )
    if pre_missing:
        logger.info("%s: pretraining-only tensors not in %s (fresh initialisation kept): %s", cls.__name__, origin, pre_missing)

    skip = set(dropped) | set(unexpected) | set(mismatched)
    to_load = {k: v for k, v in incoming.items() if k not in skip}
    _check_finite(to_load, origin)
    result = model.load_state_dict(to_load, strict=False)
    leftover = [k for k in result.unexpected_keys]
    if leftover:  # load_state_dict overrides (remaps) must not lose tensors
        raise ValueError(f"{cls.__name__}.load_state_dict did not use {leftover} from {origin}.")
    return len(to_load)


# ---------------------------------------------------------------------------
# Architecture inference from tensor shapes (files without config.json)
# ---------------------------------------------------------------------------


def _count_indexed(state_dict, prefix) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for k in state_dict if (m := pattern.match(k))}
    return max(found) + 1 if found else 0


def _need(state_dict, key, what):
    if key not in state_dict:
        raise ValueError(f"cannot infer the {what}: {key!r} is not in the checkpoint ({_describe_keys(state_dict)}).")
    return tuple(state_dict[key].shape)


def _infer_eegdino(state_dict) -> dict:
    """EEG-DINO preset (small / medium / large) from widths and depth (the
    reference implementation's presets)."""
    from .eegdino import EEGDINO_CONFIGS

    n_layer = _count_indexed(state_dict, "encoder_layers.")
    dim_ff = _need(state_dict, "encoder_layers.0.mlp.fc1.weight", "EEG-DINO feed-forward width")[0]
    convs = [_need(state_dict, f"patch_embedding.proj_in.{i}.weight", "EEG-DINO patch convs")[0] for i in (0, 3, 6)]
    n_emb = _need(state_dict, "patch_embedding.channel_embedding.weight", "EEG-DINO channel slots")[1]
    for name, preset in EEGDINO_CONFIGS.items():
        widths = [c[0] for c in preset["channels_kernel_stride_padding_norm"]]
        if preset["n_layer"] == n_layer and preset["dim_feedforward"] == dim_ff and widths == convs:
            logger.info("EEGDINO checkpoint recognised as the %r preset.", name)
            # the geometry of braindecode's uploads (19 channels, 5 s), encoder only
            return dict(
                preset, n_channel_embeddings=n_emb, n_chans=n_emb, n_times=1000, return_encoder_output=True
            )
    raise ValueError(
        f"EEG-DINO checkpoint with {n_layer} layers, feed-forward width {dim_ff} and patch-conv "
        f"widths {convs} matches none of the presets {sorted(EEGDINO_CONFIGS)}."
    )


def _infer_eegpt(state_dict) -> dict:
    """EEGPT encoder (the authors' released large4E: 62-channel vocabulary) from shapes."""
    from .._channels import EEGPT_CHANNELS

    summary = _need(state_dict, "target_encoder.summary_token", "EEGPT summary tokens")
    patch = _need(state_dict, "target_encoder.patch_embed.proj.weight", "EEGPT patch size")
    depth = _count_indexed(state_dict, "target_encoder.blocks.")
    fc1 = _need(state_dict, "target_encoder.blocks.0.mlp.fc1.weight", "EEGPT MLP width")
    embed_dim = summary[-1]
    return dict(
        n_chans=len(EEGPT_CHANNELS),
        chs_info=[{"ch_name": name} for name in EEGPT_CHANNELS],
        n_times=1024,  # 4 s at 256 Hz: the pretraining window of BINE022/EEGPT
        sfreq=256.0,
        embed_num=summary[1],
        embed_dim=embed_dim,
        depth=depth,
        patch_size=patch[-1],
        mlp_ratio=fc1[0] / embed_dim,
        qkv_bias="target_encoder.blocks.0.attn.qkv.bias" in state_dict,
        chan_proj_type="none",
        return_encoder_output=True,
    )


def _infer_codebrain(state_dict) -> dict:
    """CodeBrain backbone (the released weights use the reference's constructor defaults)."""
    n_layers = _count_indexed(state_dict, "residual_layer.residual_blocks.")
    res = _need(state_dict, "init_conv.0.conv.bias", "CodeBrain residual width")[0]
    out = _need(state_dict, "norm.weight", "CodeBrain output width")[0]
    skip = _need(state_dict, "final_conv.0.conv.bias", "CodeBrain skip width")[0]
    return dict(
        n_chans=19,  # pretraining geometry: 19 channels x 30 s at 200 Hz (s4_lmax = 570 tokens)
        n_times=6000,
        num_res_layers=n_layers,
        res_channels=res,
        skip_channels=skip,
        out_channels=out,
        return_encoder_output=True,
    )


_CONFIG_INFERENCE = {"EEGDINO": _infer_eegdino, "EEGPT": _infer_eegpt, "CodeBrain": _infer_codebrain}
