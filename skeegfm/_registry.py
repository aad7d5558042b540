"""Checkpoint records: where each released encoder lives and what input it expects.

One :class:`ModelRecord` per released checkpoint, in the spirit of timm's
``PretrainedCfg``: the Hub repository, the architecture preset, and the input
contract (sampling rate, amplitude unit, reference, channel vocabulary and how
channels are matched), each with its source. The input adapter
(:mod:`skeegfm._inputs`) reads its preprocessing from here and nowhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ._channels import EEGPT_CHANNELS, TUEG_19_CHANNELS

__all__ = ["ModelRecord", "get_record", "list_models"]

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
        ``"CodeBrain"``).
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
    sources: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return the record as a plain dict (lists instead of tuples)."""
        out = asdict(self)
        out["ch_names"] = list(self.ch_names)
        return out


_TUEG_SOURCES = {
    "sfreq": "MODELS.md 1.2: CBraMod's TUEG pipeline resamples to 200 Hz; model card: 200 Hz",
    "unit": "MODELS.md 1.2: CBraMod's trainer divides microvolts by 100",
    "reference": "MODELS.md 1.2: TUEG recordings used as recorded (no re-referencing step)",
    "ch_names": "MODELS.md 1.2: CBraMod's 19-channel TUEG order, modern names (an inference)",
}

_EEGDINO_SMALL = dict(
    n_layer=12,
    nhead=8,
    dim_feedforward=512,
    channels_kernel_stride_padding_norm=(
        (25, 49, 25, 24, (5, 25)),
        (25, 3, 1, 1, (5, 25)),
        (25, 3, 1, 1, (5, 25)),
    ),
)
_EEGDINO_MEDIUM = dict(
    n_layer=16,
    nhead=8,
    dim_feedforward=1024,
    channels_kernel_stride_padding_norm=(
        (64, 49, 25, 24, (8, 64)),
        (128, 3, 1, 1, (8, 128)),
        (64, 3, 1, 1, (8, 64)),
    ),
)

_RECORDS = (
    ModelRecord(
        name="eegdino-small",
        model="EEGDINO",
        hub_id="braindecode/eegdino-small-pretrained",
        preset=_EEGDINO_SMALL,
        sfreq=200.0,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=200,
        n_params=4_433_944,
        licence=_UNKNOWN_LICENCE,
        paper=(
            "Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via "
            "Hierarchical Self-Distillation. MICCAI 2025."
        ),
        sources=dict(_TUEG_SOURCES, n_params="MODELS.md 1.5", preset="MODELS.md 1.3"),
    ),
    ModelRecord(
        name="eegdino-medium",
        model="EEGDINO",
        hub_id="braindecode/eegdino-medium-pretrained",
        preset=_EEGDINO_MEDIUM,
        sfreq=200.0,
        patch_size=200,
        min_n_times=200,
        unit="microvolts / 100",
        scale_from_volts=1e6 / 100,
        reference="none",
        ch_names=TUEG_19_CHANNELS,
        channel_matching="positional",
        emb_dim=512,
        n_params=33_755_456,
        licence=_UNKNOWN_LICENCE,
        paper=(
            "Wang, X. et al. (2025). EEG-DINO: Learning EEG Foundation Models via "
            "Hierarchical Self-Distillation. MICCAI 2025."
        ),
        sources=dict(_TUEG_SOURCES, n_params="MODELS.md 1.5", preset="MODELS.md 1.3"),
    ),
    ModelRecord(
        name="eegpt",
        model="EEGPT",
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
            "sfreq": "MODELS.md 2.2/4.3: pretrained at 256 Hz on 1024-sample windows "
            "(the uploaded config's 250 Hz is not the pretraining rate)",
            "unit": "MODELS.md 2.2: millivolts in the original pretraining code",
            "reference": "MODELS.md 2.2: average reference in pretraining",
            "ch_names": "MODELS.md 2.2: the original CHANNEL_DICT (62 names)",
            "n_params": "MODELS.md 2.5 (target encoder, 62-row channel embedding)",
            "preset": "MODELS.md 2.3 (released large4E encoder)",
        },
    ),
    ModelRecord(
        name="codebrain",
        model="CodeBrain",
        hub_id="braindecode/codebrain-pretrained",
        preset=dict(),
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
            unit="MODELS.md 3.2: presumably CBraMod's microvolts / 100 (not verified "
            "from CodeBrain's own code)",
            n_params="MODELS.md 3.6 (backbone without head and codebook heads)",
            preset="MODELS.md 3.3 (constructor defaults)",
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
    raise KeyError(f"No released checkpoint called {name!r}; known: {sorted(_BY_NAME)}.")


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
    ['eegdino-small', 'eegdino-medium', 'eegpt', 'codebrain']
    """
    return list(_RECORDS)
