"""Conversion between the accepted time types and epoch seconds (UTC)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from mltrainer.exceptions import ConfigError

if TYPE_CHECKING:
    from ._protocol import TimeLike

__all__ = ["from_epoch", "now_epoch", "to_epoch"]


def now_epoch() -> float:
    """Return the current time as epoch seconds."""
    return datetime.now(UTC).timestamp()


def to_epoch(value: TimeLike, *, name: str) -> float:
    """Convert a time to epoch seconds (UTC).

    Parameters
    ----------
    value : datetime, pd.Timestamp, np.datetime64 or float
        Aware datetimes are converted from their zone; naive ones are read as UTC (the
        project's convention), never as local time. Numbers are epoch seconds.
    name : str
        The parameter name, used in the error message.

    Returns
    -------
    float
        Seconds since 1970-01-01T00:00:00Z, precise to about a microsecond.

    Raises
    ------
    ConfigError
        `value` is of another type, NaT, NaN or infinite.
    """
    try:
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            seconds = aware.timestamp()
        elif isinstance(value, np.datetime64):
            seconds = float((value - np.datetime64(0, "s")) / np.timedelta64(1, "s"))
        elif isinstance(value, Real) and not isinstance(value, bool | np.bool_):
            seconds = float(value)
        else:
            raise TypeError(type(value).__qualname__)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(
            f"{name}={value!r} is not a time ({exc}); pass a datetime, pd.Timestamp, "
            "np.datetime64 or epoch seconds as a float"
        ) from None
    if not math.isfinite(seconds):
        raise ConfigError(f"{name}={value!r} is not a finite time; pass a real timestamp")
    return seconds


def from_epoch(seconds: float) -> datetime:
    """Return the tz-aware UTC datetime of epoch `seconds` (rounded to the microsecond)."""
    return datetime.fromtimestamp(seconds, tz=UTC)
