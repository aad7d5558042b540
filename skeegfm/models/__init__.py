"""PyTorch encoders: EEG-DINO, EEGPT and CodeBrain (no scikit-learn or MNE here)."""

from .eegdino import EEGDINO, EEGDINO_CONFIGS, convert_eegdino_checkpoint
from .eegpt import EEGPT, convert_eegpt_checkpoint
from .codebrain import CodeBrain, convert_codebrain_checkpoint
from ._hub import WeightsNotAvailableError

__all__: list[str] = ["EEGPT", "convert_eegpt_checkpoint"]
__all__ += ["EEGDINO", "EEGDINO_CONFIGS", "convert_eegdino_checkpoint"]
__all__ += ["WeightsNotAvailableError"]
__all__ += ["CodeBrain", "convert_codebrain_checkpoint"]
