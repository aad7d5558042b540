"""Reading checkpoints and loading them strictly (generic: no encoder is named here).

Everything between "a name, a path or a Hub id" and "a model with those
weights", for any encoder class built on :class:`skeegfm.models._hub.HubMixin`:

- locating the files: a local directory or file, or a Hugging Face Hub
  repository (the local cache first, then a download; offline mode and
  connection errors become :class:`WeightsNotAvailableError`);
- reading them: safetensors, or ``torch.load(weights_only=True)`` with a short
  allow-list, full unpickling only with the per-call ``trust_checkpoint``
  opt-in (:class:`UntrustedCheckpointError` otherwise); empty, truncated and
  non-finite files are refused with the file named;
- reading ``config.json`` (ours, or one written by braindecode) back into
  constructor arguments, with the override rules of ``from_pretrained``;
- unwrapping the authors' formats through the class hooks, and the strict load
  with the head allowance (:func:`_load_strict`);
- recognising the encoder class of a file or config (:func:`load_pretrained`).

Class-level hooks read here (defaults on ``HubMixin``; each encoder class sets
its own):

- ``_head_prefixes``: state_dict keys that may be missing, shape-mismatched or
  unexpected at load time (the task head); they keep their fresh
  initialisation and the log says so.
- ``_pretraining_only_prefixes``: keys of pretraining-only modules, dropped
  from a file silently (DEBUG log). An entry containing ``*`` is a
  :func:`fnmatch.fnmatchcase` pattern (e.g. ``"*relative_position_index"``).
- ``_config_absent_defaults``: values for constructor arguments absent from a
  saved ``config.json`` (the value that reproduces the saved weights).
- ``_state_dict_roots``: the top-level names of the class's own state_dict
  (used to recognise a bare state_dict in its key names; None: any).
- ``_remap_state_dict(state_dict)``: renames applied to every incoming
  state_dict. A key of the model's own state_dict that this hook removes is a
  buffer the model recomputes (EEGPT's ``chans_id``): it is never read from a
  file and never reported missing.
- ``_config_from_state_dict(state_dict)``: constructor arguments inferred from
  tensor shapes, used for files that come without a ``config.json`` (the
  authors' original checkpoints).
- ``_original_hooks()``: ``(looks_like_original, convert)``, the recogniser
  and converter of the authors' original checkpoint format.

Only torch, safetensors and huggingface_hub (imported where needed) are used:
this module imports nothing outside :mod:`skeegfm.models`.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
import logging
import numbers
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

__all__ = [
    "UntrustedCheckpointError",
    "WeightsNotAvailableError",
    "is_hub_id",
    "load_checkpoint_file",
    "load_pretrained",
    "read_config",
]

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
# config.json: back to constructor arguments
# ---------------------------------------------------------------------------


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
            default is None and value.rpartition(".")[2].lstrip("_")[:1].isupper()
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
# The Hub: the local cache first, then a download
# ---------------------------------------------------------------------------


def _is_offline() -> bool:
    """Offline mode, as huggingface_hub saw it at import or as set since."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return bool(constants.HF_HUB_OFFLINE) or env.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers within ``timeout`` seconds.

    False at once in offline mode, without any connection; otherwise one
    ``HEAD`` request to the endpoint through huggingface_hub's own HTTP
    session (its proxies, headers and certificates).
    """
    if _is_offline():
        return False
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception:  # noqa: BLE001 (requests' or httpx' connection errors, by version)
        return False
    return True


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


def _cached_files(repo_id, *, revision, cache_dir) -> tuple[Path, Path] | None:
    """``config.json`` and the weights of ``repo_id`` at ``revision`` in the local
    cache (:func:`huggingface_hub.try_to_load_from_cache`: no network), or None."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name):
        found = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir, revision=revision)
        return Path(found) if isinstance(found, str) else None  # None or "known absent"

    config = cached(CONFIG_NAME)
    if config is None:
        return None
    for name in _WEIGHT_NAMES:
        weights = cached(name)
        if weights is not None:
            return config, weights
    return None


def _hub_files(
    repo_id, *, revision=None, cache_dir=None, local_files_only=False, token=None, force_download=False
) -> tuple[Path, Path]:
    """``config.json`` and the weights of ``repo_id``: the local cache first, then a download.

    A complete cached copy is used without any connection (unless
    ``force_download``). Otherwise, with ``local_files_only`` or in offline
    mode, :class:`WeightsNotAvailableError` is raised at once, without a
    connection; else huggingface_hub downloads the files, and a connection
    error (the Hub cannot be reached) becomes :class:`WeightsNotAvailableError`.
    """
    if not force_download:
        cached = _cached_files(repo_id, revision=revision, cache_dir=cache_dir)
        if cached is not None:
            return cached
    if local_files_only:
        raise _not_available(repo_id, revision, cache_dir, "local_files_only=True was passed")
    if _is_offline():
        raise _not_available(repo_id, revision, cache_dir, "offline mode is on (HF_HUB_OFFLINE=1)")
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    unreachable = f"the Hub ({constants.ENDPOINT}) cannot be reached"
    common = dict(
        revision=revision, cache_dir=cache_dir, token=token, force_download=force_download, library_name="skeegfm"
    )
    # LocalEntryNotFoundError: huggingface_hub could not connect and has no cached copy.
    try:
        config_path = hf_hub_download(repo_id, CONFIG_NAME, **common)
    except LocalEntryNotFoundError as err:
        raise _not_available(repo_id, revision, cache_dir, unreachable) from err
    last = None
    for name in _WEIGHT_NAMES:
        try:
            return Path(config_path), Path(hf_hub_download(repo_id, name, **common))
        except LocalEntryNotFoundError as err:
            raise _not_available(repo_id, revision, cache_dir, unreachable) from err
        except EntryNotFoundError as err:  # not in the repository: try the next name
            last = err
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


# ---------------------------------------------------------------------------
# The strict load
# ---------------------------------------------------------------------------


def _safe_call(func, arg) -> bool:
    try:
        return bool(func(arg))
    except Exception:  # noqa: BLE001 (a layout probe must not raise)
        return False


def _overlaps_native(cls, state_dict) -> bool:
    """Whether ``state_dict`` is mostly in ``cls``'s own key names (always True
    for classes without a known list of top-level names)."""
    roots = getattr(cls, "_state_dict_roots", None)
    if roots is None:
        return True
    try:
        keys = list(cls._remap_state_dict(dict(state_dict)))
    except Exception:  # noqa: BLE001
        return False
    hits = sum(k.split(".")[0] in roots for k in keys)
    return bool(keys) and hits >= len(keys) / 2


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
# Loading into an encoder class (what HubMixin.from_pretrained runs)
# ---------------------------------------------------------------------------


def _load_hub(cls, repo_id, *, revision, cache_dir, force_download, local_files_only, token, overrides, strict, trust):
    """``cls`` with the weights of the Hub repository ``repo_id``."""
    config_path, weights_path = _hub_files(
        repo_id,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        force_download=force_download,
    )
    source = {"repo_id": repo_id, "revision": revision or "main", "commit": _commit_of(weights_path)}
    return _load_config_and_weights(cls, config_path, weights_path, source, overrides, strict, trust)


def _load_directory(cls, directory: Path, *, overrides, strict, trust=False, weights: Path | None = None):
    """``cls`` from a directory in the Hub layout (a weights file without
    config.json is read like a single file)."""
    if weights is None:
        weights = next((directory / n for n in _WEIGHT_NAMES if (directory / n).is_file()), None)
    if weights is None:
        raise FileNotFoundError(
            f"{directory} holds neither {SAFETENSORS_NAME} nor {PYTORCH_NAME} "
            f"(found: {sorted(p.name for p in directory.iterdir())[:20]})."
        )
    if not (directory / CONFIG_NAME).is_file():
        return _load_file(cls, weights, overrides=overrides, strict=strict, trust=trust)
    source = {"path": str(directory)}
    return _load_config_and_weights(cls, directory / CONFIG_NAME, weights, source, overrides, strict, trust)


def _load_config_and_weights(cls, config_path, weights_path, source, overrides, strict, trust=False):
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
    return _build_and_load(cls, saved, state_dict, overrides, source, strict, weights_path)


def _load_file(cls, path: Path, *, overrides, strict, trust=False):
    obj = _read_weights(path, trust_checkpoint=trust)
    return _load_tensors(cls, obj, source={"path": str(path)}, overrides=overrides, strict=strict, origin=path)


def _load_tensors(cls, obj, *, source, overrides, strict, origin=None):
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
    return _build_and_load(cls, inferred, state_dict, overrides, source, strict, origin)


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

# ---------------------------------------------------------------------------
# Helpers of the encoders' _config_from_state_dict
# ---------------------------------------------------------------------------


def _count_indexed(state_dict, prefix) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for k in state_dict if (m := pattern.match(k))}
    return max(found) + 1 if found else 0


def _need(state_dict, key, what):
    if key not in state_dict:
        raise ValueError(f"cannot infer the {what}: {key!r} is not in the checkpoint ({_describe_keys(state_dict)}).")
    return tuple(state_dict[key].shape)




# ---------------------------------------------------------------------------
# Which encoder class a file or config belongs to; load_pretrained
# ---------------------------------------------------------------------------


def _model_class(name_or_class):
    """The encoder class called ``name_or_class`` (or the class itself)."""
    if isinstance(name_or_class, type):
        return name_or_class
    from . import _encoder_class

    return _encoder_class(name_or_class)


def _class_from_config(config: dict, origin) -> type:
    """Encoder class a saved config.json belongs to: its ``skeegfm_class`` entry,
    else the class whose constructor knows the most of its keys (keys it does
    not know count against it); between equals, the class with the fewest
    constructor arguments absent from the config (a saved config lists every
    argument, so an encoder whose arguments are a subset of another's is told
    apart from it)."""
    from . import _encoder_classes

    classes = _encoder_classes()
    if config.get("skeegfm_class") in classes:
        return classes[config["skeegfm_class"]]
    keys = set(config) - set(_SIGNAL_PARAMS)
    scores = {}
    for name, cls in classes.items():
        params = set(_init_parameters(cls)) - set(_SIGNAL_PARAMS)
        known = len(keys & params) - len(keys - params - set(_META_KEYS))
        scores[name] = (known, -len(params - keys))
    best = max(scores, key=scores.get)
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0][0] <= 0 or (len(ranked) > 1 and ranked[0] == ranked[1]):
        raise ValueError(
            f"{origin}: cannot tell which encoder its config.json describes (keys: "
            f"{sorted(keys)[:12]}); pass model=" + " | ".join(repr(n) for n in classes) + "."
        )
    return classes[best]


def _class_from_file(path: Path, trust_checkpoint: bool = False) -> type:
    """Encoder class of a checkpoint file without config.json: the class whose
    original-checkpoint recogniser accepts it, else the one whose own key
    names it uses (``_state_dict_roots``)."""
    from . import _encoder_classes

    classes = _encoder_classes()
    obj = _read_weights(path, trust_checkpoint=trust_checkpoint)
    tensors = _tensor_dict(obj)
    for cls in classes.values():
        looks, _ = cls._original_hooks()
        if looks is not None and any(_safe_call(looks, c) for c in (obj, tensors) if c is not None):
            return cls
    for cls in classes.values():
        if tensors is not None and _overlaps_native(cls, tensors):
            return cls
    found = _describe_keys(tensors) if tensors else f"a {type(obj).__name__}"
    raise ValueError(
        f"{path} is not a recognised checkpoint of any encoder ({', '.join(classes)}): it holds {found}."
    )


def load_pretrained(source, *, model=None, **overrides):
    """Resolve a checkpoint name, Hub id or local path to a loaded encoder.

    This is how the estimators turn their ``checkpoint`` argument into a
    :mod:`skeegfm.models` encoder with pretrained weights.

    Parameters
    ----------
    source : str | os.PathLike | ModelRecord
        One of: a record name from :func:`skeegfm.list_models` (e.g.
        ``"eegpt"``; ``"eegdino"`` means ``"eegdino-small"``) or its record; a
        released Hub id (``"braindecode/eegpt-pretrained"``); any other Hub id
        whose ``config.json`` names or implies the encoder; a local directory
        in the Hub layout (``save_pretrained`` output); or a checkpoint file,
        including the authors' original releases (the encoder is recognised by
        the file's keys).
    model : str | type | None
        Name of an encoder class in :mod:`skeegfm.models` (e.g. ``"EEGPT"``),
        or the class, to skip the recognition, e.g. for a Hub id that is not
        in the registry.
    **overrides
        Arguments of ``from_pretrained`` (``trust_checkpoint``, ``revision``,
        ``cache_dir``, ...) and constructor arguments (they win over the
        saved configuration; see :meth:`skeegfm.models._hub.HubMixin.from_pretrained`).

    Returns
    -------
    encoder : torch.nn.Module
        The encoder in eval mode; ``encoder.pretrained_source_`` says where its
        weights came from.

    Raises
    ------
    WeightsNotAvailableError
        (an ``OSError``) If the weights are neither cached nor downloadable.
    FileNotFoundError
        If ``source`` is neither a record, an existing path nor a Hub id
        (see :func:`~skeegfm.models._pretrained.resolve_checkpoint`: lists
        the registry names, suggests the nearest).
    UntrustedCheckpointError
        (a ``ValueError``) If a pickled file holds Python objects beyond the
        allow-list and ``trust_checkpoint=True`` was not passed.
    ValueError
        If the encoder cannot be recognised, ``model`` disagrees with a
        registry record, or the weights do not match the architecture.

    Examples
    --------
    >>> from skeegfm.models._loading import load_pretrained
    >>> encoder = load_pretrained("eegpt", return_encoder_output=True)  # doctest: +SKIP
    """
    from ._pretrained import resolve_checkpoint

    trust = bool(overrides.get("trust_checkpoint", False))
    resolved = resolve_checkpoint(source)
    record = resolved.record
    if record is not None:
        cls = _model_class(record.model)
        if model is not None and _model_class(model) is not cls:
            raise ValueError(f"{record.name!r} is a {record.model} checkpoint, not a {model}.")
        return cls.from_pretrained(record.hub_id, **overrides)
    if model is not None:
        return _model_class(model).from_pretrained(resolved.target, **overrides)

    if resolved.kind == "path":
        path = Path(resolved.target)
        if path.is_dir() and (path / CONFIG_NAME).is_file():
            cls = _class_from_config(read_config(path / CONFIG_NAME), path)
        elif path.is_dir():
            weights = next((path / n for n in _WEIGHT_NAMES if (path / n).is_file()), None)
            if weights is None:
                raise FileNotFoundError(f"{path} holds no config.json and no weights file.")
            cls = _class_from_file(weights, trust)
        else:
            sibling = path.parent / CONFIG_NAME
            if path.name in _WEIGHT_NAMES and sibling.is_file():
                cls = _class_from_config(read_config(sibling), sibling)
            else:
                cls = _class_from_file(path, trust)
    else:
        name = resolved.target
        config_path, _ = _hub_files(
            name,
            revision=overrides.get("revision"),
            cache_dir=overrides.get("cache_dir"),
            local_files_only=overrides.get("local_files_only", False),
            token=overrides.get("token"),
            force_download=overrides.get("force_download", False),
        )
        cls = _class_from_config(read_config(config_path), name)
    return cls.from_pretrained(resolved.target, **overrides)
