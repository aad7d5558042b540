"""The package version, in a module that imports nothing (read by
``skeegfm/__init__.py``, the Hub config writer and the build backend)."""

__version__ = "0.1.0"
