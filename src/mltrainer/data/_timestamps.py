"""Turning raw time values into a UTC ``DatetimeIndex``, with errors that name the bad value."""

from __future__ import annotations

import warnings
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, DataError, did_you_mean

__all__ = ["check_tz", "to_utc_index", "to_utc_timestamp"]

#: Every index is normalised to this unit: lossless for all inputs and equal to ``Timestamp.value``.
UNIT = "ns"
_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {},  # the format inferred from the first value
    {"format": "ISO8601"},  # ISO 8601 with varying precision
    {"utc": True},  # mixed UTC offsets
    {"format": "ISO8601", "utc": True},
)


def check_tz(tz: str) -> str:
    """Return ``tz`` if pandas understands it, else raise :class:`ConfigError`."""
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception as exc:  # zoneinfo, pytz and dateutil raise different types
        hint = did_you_mean(str(tz), zoneinfo.available_timezones())
        raise ConfigError(
            f"tz={tz!r} is not a time zone{hint}; use an IANA name such as 'UTC' or "
            f"'America/New_York' ({type(exc).__name__})"
        ) from None
    return tz


def _parse(values: pd.Index) -> pd.DatetimeIndex | None:
    """Parse strings with the first format that fits all of them, or return ``None``."""
    for kwargs in _ATTEMPTS:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # "could not infer format" -> failure
            try:
                return pd.DatetimeIndex(pd.to_datetime(values, **kwargs))
            except (ValueError, TypeError, OverflowError, UserWarning):
                continue
    return None


def _first_unparseable(values: pd.Index) -> tuple[int, str]:
    """Locate the first value that does not parse, and say why."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        each = pd.to_datetime(values, format="mixed", utc=True, errors="coerce")
        bad = np.flatnonzero(pd.isna(each) & pd.notna(values))
        if bad.size:
            return int(bad[0]), "is not a timestamp"
        # Every value parses on its own, so the formats differ: find the first misfit.
        same = pd.to_datetime(values, errors="coerce")
    bad = np.flatnonzero(pd.isna(same) & pd.notna(values))
    pos = int(bad[0]) if bad.size else 0
    return pos, f"does not match the format of row 0 ({values[0]!r})"


def to_utc_index(values: pd.Index, *, tz: str, source: str) -> pd.DatetimeIndex:
    """Parse ``values`` into a ``DatetimeIndex`` in UTC named ``timestamp``.

    Naive timestamps are interpreted in ``tz``; aware ones are converted.

    Parameters
    ----------
    values : pandas.Index
        Datetimes, or strings such as ``"2020-01-02"`` or ``"2020-01-02T09:30:00-05:00"``.
    tz : str
        Time zone of naive timestamps.
    source : str
        Name of the source, used in error messages.

    Returns
    -------
    pandas.DatetimeIndex
        UTC, unit ``ns``, named ``timestamp``.

    Raises
    ------
    DataError
        A value is missing, not a timestamp, a number (epochs are not supported), or does
        not exist in ``tz`` (a daylight-saving gap or overlap).
    """
    if isinstance(values, pd.DatetimeIndex):
        parsed: pd.DatetimeIndex | None = values
    elif pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(
            f"{source}: timestamps are numbers (row 0: {values[0]!r}); epoch timestamps are not "
            "supported, convert them with pd.to_datetime(..., unit='s') or write dates as text"
        )
    else:
        parsed = _parse(values)
    if parsed is None:
        pos, why = _first_unparseable(values)
        raise DataError(
            f"{source}: timestamp {values[pos]!r} at row {pos} {why}; write ISO 8601 timestamps "
            "such as '2020-01-02' or '2020-01-02T14:30:00Z'"
        )
    missing = np.flatnonzero(parsed.isna())
    if missing.size:
        raise DataError(
            f"{source}: timestamp missing at row {int(missing[0])} ({missing.size} missing in "
            "all); drop those rows or fill in their time"
        )
    if parsed.tz is None:
        try:
            parsed = parsed.tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except Exception as exc:  # pytz / zoneinfo errors for DST gaps and overlaps
            raise DataError(
                f"{source}: naive timestamps cannot be read in tz={tz!r} ({exc}); write them "
                "in UTC or with a UTC offset"
            ) from None
    return parsed.tz_convert("UTC").as_unit(UNIT).rename("timestamp")


def to_utc_timestamp(value: str | pd.Timestamp, *, tz: str, name: str) -> pd.Timestamp:
    """Parse a ``start``/``end`` bound; naive values are read in ``tz``.

    Raises
    ------
    ConfigError
        ``value`` is not a timestamp; the message names the parameter ``name``.
    """
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ConfigError(f"{name}={value!r} is not a timestamp; pass e.g. '2015-01-01'")
    if stamp.tz is None:
        stamp = stamp.tz_localize(tz)
    return stamp.tz_convert("UTC")
