"""skeegfm: scikit-learn estimators around EEG foundation models.

Frozen-embedding transformers and fine-tuning classifiers for EEG-DINO,
EEGPT and CodeBrain, taking ``mne.Epochs`` or arrays.
"""

from ._registry import list_models
from .embedders import CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder
from .classifiers import CodeBrainClassifier, EEGDINOClassifier, EEGPTClassifier

__version__ = "0.1.0"

__all__ = ["__version__", "list_models"]
__all__ += ["CodeBrainEmbedder", "EEGDINOEmbedder", "EEGPTEmbedder"]
__all__ += ["CodeBrainClassifier", "EEGDINOClassifier", "EEGPTClassifier"]
