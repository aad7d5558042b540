"""PyTorch encoders: EEG-DINO, EEGPT and CodeBrain (no scikit-learn or MNE here)."""

__all__: list[str] = []
