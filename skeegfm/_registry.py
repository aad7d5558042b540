"""Checkpoint records: where each released encoder lives and what input it expects.

One :class:`ModelRecord` per released checkpoint, in the spirit of timm's
``PretrainedCfg``: the Hub repository, the architecture preset, and the input
contract (sampling rate, amplitude unit, reference, channel vocabulary and how
channels are matched), each with its source. The input adapter
(:mod:`skeegfm._inputs`) reads its preprocessing from here and nowhere else.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._channels import EEGPT_CHANNELS, TUEG_19_CHANNELS
from .models._presets import EEGDINO_CONFIGS  # plain data: no torch import

__all__ = [
    "ModelRecord",
    "ResolvedCheckpoint",
    "get_record",
    "list_models",
    "load_pretrained",
    "resolve_checkpoint",
]

_UNKNOWN_LICENCE = "unknown: see the model card"


@dataclass(frozen=True)
class ModelRecord:
    """The input contract and provenance of one released checkpoint.

    Attributes
    ----------
    name : str
        Short name used by the estimators and the command line
        (e.g. ``"eegdino-small"``).
    model : str
        Encoder class in :mod:`skeegfm.models` (``"EEGDINO"``, ``"EEGPT"``,
        ``"CodeBrain"``, ``"CBraMod"``).
    hub_id : str
        Hugging Face Hub repository of the weights.
    preset : dict
        Architecture constructor arguments the weights need.
    sfreq : float
        Sampling rate of the pretraining data, Hz. Inputs are resampled to it.
    patch_size : int
        Samples per patch.
    min_n_times : int
        Shortest window, in samples at ``sfreq``, that the encoder accepts.
    unit : str
        Amplitude unit the model expects, in words (e.g. ``"microvolts / 100"``).
    scale_from_volts : float
        Factor that converts volts to ``unit``.
    reference : str
        ``"average"`` when the data were average-referenced for pretraining,
        ``"none"`` when used as recorded.
    ch_names : tuple of str
        Channel vocabulary, in the model's slot order.
    channel_matching : str
        ``"by name"`` (a learned embedding per name: any subset, any order) or
        ``"positional"`` (slots by position: inputs are reordered to
        ``ch_names``).
    emb_dim : int
        Size of the default (``pooling="mean"``) embedding.
    n_params : int
        Encoder parameters (head excluded).
    licence : str
        Licence of the weights, or ``"unknown: see the model card"``.
    paper : str
        The paper the architecture implements.
    window : {"pad", "trim", "keep"}
        What the encoder does with a window that is not a whole number of
        patches, as the reference implementation does: zero-pad to whole
        patches, drop the tail, or keep it (the model pads it itself).
    display_name : str
        Name in tables and plots (e.g. ``"EEG-DINO-Small"``).
    default_benchmark : bool
        Whether ``skeegfm benchmark`` runs it when no ``--models`` is given.
    sources : dict
        Where each value above came from.
    """

    name: str
    model: str
    hub_id: str
    preset: dict
    sfreq: float
    patch_size: int
    min_n_times: int
    unit: str
    scale_from_volts: float
    reference: str
    ch_names: tuple
    channel_matching: str
    emb_dim: int
    n_params: int
    licence: str
    paper: str
    window: str = "keep"
    display_name: str = ""
    default_benchmark: bool = False
    sources: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return the record as a plain dict (lists instead of tuples)."""
        out = asdict(self)
        out["ch_names"] = list(self.ch_names)
        return out


_TUEG_SOURCES = {
    "sfreq": "CBraMod's TUEG preprocessing (authors' repository wjq-learning/CBraMod) resamples "
        "to 200 Hz; Hub model card: 200 Hz",
    "unit": "CBraMod's pretraining code (wjq-learning/CBraMod) divides microvolts by 100",
    "scale_from_volts": "follows from unit: 1 V = 1e6 uV, divided by 100",
    "reference": "CBraMod's TUEG preprocessing has no re-referencing step (recordings used as "
        "recorded)",
    "ch_names": "CBraMod's 19-channel TUEG order (wjq-learning/CBraMod), modern names; EEG-DINO's "
        "and CodeBrain's own preprocessing is not public, so this is an inference",
    "channel_matching": "reference implementation (braindecode): EEG-DINO's one-hot slot i is "
        "input channel i; CodeBrain has only a positional conv over channels",
    "patch_size": "reference implementation (braindecode) defaults: 200-sample (1 s) patches; the "
        "released FFT branch has 101 bins",
    "min_n_times": "one patch (200 samples): shorter windows give no token",
    "licence": "not stated by the authors' repository; see the Hub model card",
}
_EEGDINO_SOURCES = dict(
    _TUEG_SOURCES,
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
)


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
        sfreq=200.0,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=emb_dim,
        n_params=n_params,
        licence=_UNKNOWN_LICENCE,
        paper=(
            "Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via "
            "Hierarchical Self-Distillation. MICCAI 2025."
        ),
        sources=_EEGDINO_SOURCES,
    )


_RECORDS = (
    _eegdino_record("small", emb_dim=200, n_params=4_433_944),
    _eegdino_record("medium", emb_dim=512, n_params=33_755_456),
    ModelRecord(
        name="eegpt",
        model="EEGPT",
        window="keep",
        display_name="EEGPT",
        default_benchmark=True,
        hub_id="braindecode/eegpt-pretrained",
        preset=dict(
            patch_size=64,
            embed_num=4,
            embed_dim=512,
            depth=8,
            num_heads=8,
            mlp_ratio=4.0,
            chan_proj_type="none",
        ),
        sfreq=256.0,
        patch_size=64,
        min_n_times=64,
        unit="millivolts",
        scale_from_volts=1e3,
        reference="average",
        ch_names=EEGPT_CHANNELS,
        channel_matching="by name",
        emb_dim=4 * 512,
        n_params=25_287_168,
        licence=_UNKNOWN_LICENCE,
        paper=(
            "Wang, G. et al. (2024). EEGPT: Pretrained transformer for universal and "
            "reliable representation of EEG signals. NeurIPS 37."
        ),
        sources={
            "hub_id": "pushed by braindecode's scripts/push_eegpt_to_hub.py from the authors' "
                "checkpoint (BINE022/EEGPT)",
            "sfreq": "authors' repository (BINE022/EEGPT): pretrained at 256 Hz on 1024-sample "
                "windows (the uploaded config's 250 Hz is not the pretraining rate)",
            "patch_size": "authors' repository and paper: 64-sample patches (250 ms at 256 Hz)",
            "min_n_times": "reference implementation (braindecode EEGPT): n_times >= patch_size "
                "at construction",
            "unit": "authors' pretraining code (BINE022/EEGPT): millivolts",
            "scale_from_volts": "follows from unit: 1 V = 1e3 mV",
            "reference": "authors' pretraining code (BINE022/EEGPT): average reference",
            "ch_names": "authors' repository (BINE022/EEGPT): CHANNEL_DICT, 62 names",
            "channel_matching": "paper and authors' repository: a learned embedding per channel "
                "name",
            "emb_dim": "released large4E encoder: embed_num x embed_dim = 4 x 512 per patch",
            "n_params": "counted on the released target encoder (62-row channel embedding)",
            "preset": "authors' released large4E encoder (BINE022/EEGPT); chan_proj_type 'none' "
                "as in braindecode's upload",
            "licence": "not stated by the authors' repository; see the Hub model card",
            "paper": "Wang et al., NeurIPS 2024",
            "window": "reference implementation (braindecode EEGPT): pads the window once to "
                "the patch count fixed at construction",
        },
    ),
    ModelRecord(
        name="codebrain",
        model="CodeBrain",
        window="trim",
        display_name="CodeBrain",
        default_benchmark=True,
        hub_id="braindecode/codebrain-pretrained",
        preset=dict(
            patch_size=200,
            res_channels=200,
            skip_channels=200,
            out_channels=200,
            num_res_layers=8,
            s4_bidirectional=True,
            s4_layernorm=False,
            s4_lmax=570,
            swa_window_size=1,
        ),
        sfreq=200.0,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=200,
        n_params=13_529_200,
        licence=_UNKNOWN_LICENCE,
        paper=(
            "Ma, J. et al. (2026). CodeBrain: Bridging Decoupled Tokenizer and "
            "Multi-Scale Architecture for EEG Foundation Model. ICLR 2026."
        ),
        sources=dict(
            _TUEG_SOURCES,
            hub_id="Hub commit of braindecode/codebrain-pretrained: 'Add CodeBrain pretrained "
                "weights (TUEG, 19ch 10-20, 200Hz)'",
            unit="presumably CBraMod's microvolts / 100, whose TUEG layout CodeBrain follows "
                "(not verified from CodeBrain's own code)",
            emb_dim="reference implementation (braindecode CodeBrain): emb_dim = 25 x 8 = 200 "
                "(out_channels)",
            n_params="counted on the reference architecture (backbone without head and codebook "
                "heads)",
            preset="reference implementation's constructor defaults (braindecode CodeBrain); the "
                "released weights need them",
            paper="Ma et al., ICLR 2026, arXiv 2506.09110",
            window="reference implementation (braindecode CodeBrain): drops the samples after "
                "the last whole patch",
        ),
    ),
    ModelRecord(
        name="cbramod",
        model="CBraMod",
        window="trim",
        display_name="CBraMod",
        default_benchmark=True,
        hub_id="braindecode/cbramod-pretrained",
        preset=dict(
            patch_size=200,
            dim_feedforward=800,
            n_layer=12,
            nhead=8,
            emb_dim=200,
        ),
        sfreq=200.0,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=200,
        n_params=4_924_000,
        licence=_UNKNOWN_LICENCE,
        paper=(
            "Wang, J., Zhao, S., Luo, Z., Zhou, Y., Jiang, H., Li, S., Li, T., & Pan, G. "
            "(2025). CBraMod: A Criss-Cross Brain Foundation Model for EEG Decoding. "
            "ICLR 2025. arXiv:2412.07236."
        ),
        sources=dict(
            _TUEG_SOURCES,
            hub_id="braindecode's CBraMod documentation: CBraMod.from_pretrained("
            "'braindecode/cbramod-pretrained', return_encoder_output=True)",
            sfreq="CBraMod paper and the authors' TUEG preprocessing: resampled to 200 Hz",
            unit="the authors' pretraining code divides microvolts by 100",
            patch_size="CBraMod: 1-s patches of 200 samples; the spectral projection reads "
            "101 rfft bins",
            min_n_times="one patch (200 samples); n_times must be a multiple of 200 (the "
            "reference reshapes without padding): the input adapter trims to whole patches",
            ch_names="pretrained on TUEG's 19 channels in CBraMod's order (modern names); "
            "the positional convolution takes any channel count",
            channel_matching="no channel vocabulary: a depth-wise convolution over the "
            "(channel, patch) grid, so channels are positional",
            emb_dim="proj_out: emb_dim = 200 features per (channel, patch) token",
            n_params="skeegfm.models.CBraMod(return_encoder_output=True) (head excluded)",
            preset="the reference's constructor defaults (the released weights need them)",
            licence="not verified: copies of the authors' code (github.com/wjq-learning/"
            "CBraMod) state an MIT licence for the code; the weights' licence: see the model card",
            paper="Wang et al., ICLR 2025, arXiv:2412.07236",
            window="the reference reshapes into whole patches without padding: the tail after "
                "the last whole patch is dropped",
        ),
    ),
)

_BY_NAME = {r.name: r for r in _RECORDS}
_ALIASES = {"eegdino": "eegdino-small"}


def get_record(name: str) -> ModelRecord:
    """Return the :class:`ModelRecord` called ``name``.

    Parameters
    ----------
    name : str
        Record name, e.g. ``"eegpt"``; ``"eegdino"`` means ``"eegdino-small"``.
        A Hub id of a released checkpoint is accepted too.

    Returns
    -------
    record : ModelRecord

    Raises
    ------
    KeyError
        If no record has that name; the message lists the known names.
    """
    key = _ALIASES.get(name, name)
    if key in _BY_NAME:
        return _BY_NAME[key]
    for record in _RECORDS:
        if record.hub_id == name:
            return record
    raise KeyError(
        f"No released checkpoint called {name!r}; known: {sorted(_BY_NAME)}."
        + _did_you_mean(name)
    )


def _did_you_mean(name) -> str:
    """`` Did you mean 'eegpt'?`` for the nearest registry name, or ``""``."""
    names = sorted(_BY_NAME) + sorted(_ALIASES)
    close = difflib.get_close_matches(str(name).lower(), names, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """What a checkpoint argument refers to (see :func:`resolve_checkpoint`).

    Attributes
    ----------
    kind : {"path", "hub"}
        An existing local file or directory, or a Hub repository id.
    target : str
        What ``from_pretrained`` loads: the absolute path, or the Hub id
        (a registry name is replaced by its record's Hub id).
    record : ModelRecord | None
        The registry record when ``source`` is a registry name or a released
        Hub id, else None.
    """

    kind: str
    target: str
    record: ModelRecord | None = None


def resolve_checkpoint(source) -> ResolvedCheckpoint:
    """The one rule that turns a checkpoint argument into a path or a Hub id.

    In order: an existing local path (file or directory) wins; then a
    registry name or alias (``"eegpt"``, ``"eegdino"``) or a released Hub id;
    then any other Hub repository id ``"owner/name"`` (the rule of
    :func:`skeegfm.models._hub.is_hub_id`). Anything else is a local path
    that does not exist, never sent to the Hub.

    Parameters
    ----------
    source : str | os.PathLike | ModelRecord
        Estimator ``checkpoint``, CLI ``--checkpoint`` or
        :func:`load_pretrained` source.

    Returns
    -------
    resolved : ResolvedCheckpoint

    Raises
    ------
    FileNotFoundError
        If ``source`` is neither an existing path, a registry name nor a Hub
        id. The message says that no such local path exists, lists the
        registry names and suggests the nearest one.
    TypeError
        If ``source`` is not a string, path or record.
    """
    from .models._hub import is_hub_id

    if isinstance(source, ModelRecord):
        return ResolvedCheckpoint("hub", source.hub_id, source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "checkpoint must be a registry name, a Hub id or a local path, got "
            f"{type(source).__name__}."
        )
    text = os.fspath(source)
    path = Path(text).expanduser()
    if text and path.exists():
        return ResolvedCheckpoint("path", str(path.resolve()))
    if isinstance(source, str):
        try:
            record = get_record(text)
        except KeyError:
            record = None
        if record is not None:
            return ResolvedCheckpoint("hub", record.hub_id, record)
        if is_hub_id(text):
            return ResolvedCheckpoint("hub", text)
    raise FileNotFoundError(
        f"No such local path exists: {text!r} (looked for {path.absolute()}), and it is "
        f"neither a registry name ({', '.join(sorted(_BY_NAME))}; alias 'eegdino') nor a "
        "Hugging Face Hub repository id ('owner/name')." + _did_you_mean(path.name or text)
    )


def list_models() -> list[ModelRecord]:
    """List the released checkpoints and their input contracts.

    Returns
    -------
    records : list of ModelRecord
        One record per released checkpoint: Hub id, architecture preset,
        sampling rate (Hz), patch size, expected amplitude unit, reference,
        channel vocabulary and order, embedding size, parameter count,
        licence and paper, with the source of every value in ``sources``.

    Examples
    --------
    >>> import skeegfm
    >>> [r.name for r in skeegfm.list_models()]
    ['eegdino-small', 'eegdino-medium', 'eegpt', 'codebrain', 'cbramod']
    """
    return list(_RECORDS)


#: Names that live in skeegfm.models._loading (which imports torch), re-exported
#: here on first access so that reading records stays light.
_LOADING_NAMES = ("load_pretrained", "_model_class", "_class_from_config", "_class_from_file")


def __getattr__(name):
    if name in _LOADING_NAMES:
        from .models import _loading

        return getattr(_loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
