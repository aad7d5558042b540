"""skeegfm: scikit-learn estimators around EEG foundation models.

Frozen-embedding transformers and fine-tuning classifiers for EEG-DINO,
EEGPT, CodeBrain and CBraMod, taking ``mne.Epochs`` or arrays.
"""

from ._registry import list_models
from .classifiers import CBraModClassifier, CodeBrainClassifier, EEGDINOClassifier, EEGPTClassifier
from .embedders import CBraModEmbedder, CodeBrainEmbedder, EEGDINOEmbedder, EEGPTEmbedder

__version__ = "0.1.0"

__all__ = [
    "CBraModClassifier",
    "CBraModEmbedder",
    "CodeBrainClassifier",
    "CodeBrainEmbedder",
    "EEGDINOClassifier",
    "EEGDINOEmbedder",
    "EEGPTClassifier",
    "EEGPTEmbedder",
    "__version__",
    "list_models",
]
