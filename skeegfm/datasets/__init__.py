"""Bundled example data."""

from ._eegmat import load_eegmat

__all__ = ["load_eegmat"]
