"""Argument checks shared by the backends, raised before any I/O."""

from __future__ import annotations

from numbers import Integral
from typing import Any

from mltrainer.exceptions import ConfigError

__all__ = ["check_count", "check_name"]


def check_name(value: Any, *, name: str, allow_empty: bool = False) -> str:
    """Return `value` when it is a (non-empty) string, else raise ``ConfigError``.

    Parameters
    ----------
    value : Any
        A key, series, list name or prefix.
    name : str
        The parameter name, used in the error message.
    allow_empty : bool, default False
        Whether ``""`` is accepted.
    """
    if not isinstance(value, str) or not (value or allow_empty):
        kind = "a string" if allow_empty else "a non-empty string"
        raise ConfigError(f"{name}={value!r} is invalid; pass {kind}")
    return value


def check_count(value: Any, *, name: str, minimum: int) -> int:
    """Return `value` when it is an integer >= `minimum`, else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name}={value!r} is invalid; pass an integer >= {minimum}")
    return int(value)
