"""The distribution version (also in sdk/python/pyproject.toml)."""

__version__ = "0.1.0"
