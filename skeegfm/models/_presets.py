"""Architecture presets as plain data (no PyTorch import), shared by the
model files and the model records."""

__all__ = ["EEGDINO_CONFIGS"]

_SMALL_CONV = ((25, 49, 25, 24, (5, 25)), (25, 3, 1, 1, (5, 25)), (25, 3, 1, 1, (5, 25)))

#: Constructor keyword arguments of the three EEG-DINO sizes (the reference
#: implementation's presets, braindecode's ``EEGDINO``).
#: Weights were released for ``"small"`` (D=200) and ``"medium"`` (D=512).
EEGDINO_CONFIGS = {
    "small": dict(
        n_layer=12,
        nhead=8,
        dim_feedforward=512,
        channels_kernel_stride_padding_norm=_SMALL_CONV,
    ),
    "medium": dict(
        n_layer=16,
        nhead=8,
        dim_feedforward=1024,
        channels_kernel_stride_padding_norm=(
            (64, 49, 25, 24, (8, 64)),
            (128, 3, 1, 1, (8, 128)),
            (64, 3, 1, 1, (8, 64)),
        ),
    ),
    "large": dict(
        n_layer=24,
        nhead=8,
        dim_feedforward=2048,
        channels_kernel_stride_padding_norm=(
            (128, 49, 25, 24, (16, 128)),
            (256, 3, 1, 1, (16, 256)),
            (128, 3, 1, 1, (16, 128)),
        ),
    ),
}
