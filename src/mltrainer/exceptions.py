"""The package's errors: one base class, a few subclasses with one-line messages.

Every message names the column, row, parameter or setting at fault and says what to do.
Subclasses also inherit ``ValueError``/``LookupError`` where they replace one, so callers
that catch the built-in keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DataError",
    "MltrainerError",
    "NotFoundError",
    "SchemaError",
    "StoreError",
    "did_you_mean",
]


class MltrainerError(Exception):
    """Base class of every error raised on purpose by mltrainer."""


class ConfigError(MltrainerError, ValueError):
    """A configuration value or parameter is invalid (names the setting and the fix)."""


class DataError(MltrainerError, ValueError):
    """Input data are invalid (names the column, row or timestamp and the fix)."""


class SchemaError(MltrainerError, ValueError):
    """A frame's columns do not match what a model was trained on."""


class ChecksumError(MltrainerError):
    """A stored artifact does not match the SHA-256 recorded when it was written."""


class NotFoundError(MltrainerError, LookupError):
    """A model, version, alias, dataset or stored key does not exist."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class StoreError(MltrainerError):
    """A store backend could not be reached or returned something unusable."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
