"""PyTorch encoders: EEG-DINO, EEGPT, CodeBrain and CBraMod (no scikit-learn or MNE here)."""

from ._hub import UntrustedCheckpointError, WeightsNotAvailableError
from .cbramod import CBraMod, convert_cbramod_checkpoint
from .codebrain import CodeBrain, convert_codebrain_checkpoint
from .eegdino import EEGDINO, EEGDINO_CONFIGS, convert_eegdino_checkpoint
from .eegpt import EEGPT, convert_eegpt_checkpoint

__all__ = [
    "CBraMod",
    "EEGDINO",
    "EEGDINO_CONFIGS",
    "EEGPT",
    "CodeBrain",
    "UntrustedCheckpointError",
    "WeightsNotAvailableError",
    "convert_cbramod_checkpoint",
    "convert_codebrain_checkpoint",
    "convert_eegdino_checkpoint",
    "convert_eegpt_checkpoint",
]
