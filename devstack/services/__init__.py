"""Embedded servers started from pip-installed binaries (no Docker, no cloud account)."""
