"""skeegfm: scikit-learn estimators around EEG foundation models.

Frozen-embedding transformers and fine-tuning classifiers for EEG-DINO,
EEGPT and CodeBrain, taking ``mne.Epochs`` or arrays.
"""

from ._registry import list_models
from .classifiers import CodeBrainClassifier, EEGDINOClassifier, EEGPTClassifier
from .embedders import CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

__version__ = "0.1.0"

__all__ = [
    "CodeBrainClassifier",
    "CodeBrainEmbedder",
    "EEGDINOClassifier",
    "EEGDINOEmbedder",
    "EEGPTClassifier",
    "EEGPTEmbedder",
    "__version__",
    "list_models",
]
