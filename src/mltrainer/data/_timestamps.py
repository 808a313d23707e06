"""Turning raw time values into datetimes, with errors that name the bad value and its row.

The rules:

- a value written with a UTC offset (``2020-01-02T09:30:00-05:00``, ``...Z``) is that
  instant;
- a naive value (no offset) is wall-clock time in ``tz``;
- a column mixing both is refused, naming the first row of each kind: the naive ones
  would otherwise be read in some zone the file never states.
"""

from __future__ import annotations

import re
import warnings
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.data._rows import RowNamer, position
from mltrainer.exceptions import ConfigError, DataError, did_you_mean

__all__ = ["check_tz", "is_dates", "localize", "parse_times", "to_utc_bound"]

#: Every index is normalised to this unit: lossless for all inputs and equal to ``Timestamp.value``.
UNIT = "ns"
_DAY = 86_400 * 10**9
#: Formats tried in turn; the first two keep naive values naive and fail on a mix.
_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {},  # the format inferred from the first value
    {"format": "ISO8601"},  # ISO 8601 with varying precision
    {"utc": True},  # mixed UTC offsets
    {"format": "ISO8601", "utc": True},
)
#: A time of day followed by a UTC offset or zone letter: the text of an aware timestamp.
_OFFSET = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?|UTC|GMT)\s*$"


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


def _parse(values: pd.Index, attempts: tuple[dict[str, Any], ...]) -> pd.DatetimeIndex | None:
    """Parse with the first of ``attempts`` that fits every value, or return ``None``."""
    for kwargs in attempts:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # "could not infer format" -> failure
            try:
                return pd.DatetimeIndex(pd.to_datetime(values, **kwargs))
            except (ValueError, TypeError, OverflowError, UserWarning):
                continue
    return None


def _first_unparseable(values: pd.Index, rows: RowNamer) -> tuple[int, str]:
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
    return pos, f"does not match the format of {rows(0)} ({values[0]!r})"


def _is_aware(value: Any) -> bool:
    if isinstance(value, str):
        return re.search(_OFFSET, value) is not None
    return getattr(value, "tzinfo", None) is not None


def _aware_mask(values: pd.Index) -> np.ndarray:
    """Which values carry a UTC offset (missing values: False)."""
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        found = pd.Series(values, dtype=object).str.contains(_OFFSET, regex=True, na=False)
        return np.asarray(found, dtype=bool)
    # datetime objects: only reached when a vectorised parse has already failed
    return np.fromiter((_is_aware(v) for v in values), dtype=bool, count=len(values))


def _check_not_mixed(values: pd.Index, *, tz: str, source: str, rows: RowNamer) -> None:
    """Refuse a column that mixes naive timestamps with ones written with an offset."""
    aware = _aware_mask(values)
    naive = ~aware & np.asarray(pd.notna(values), dtype=bool)
    if not aware.any() or not naive.any():
        return
    i, j = int(np.flatnonzero(naive)[0]), int(np.flatnonzero(aware)[0])
    raise DataError(
        f"{source}: timestamps mix naive times and times with a UTC offset: {rows(i)} "
        f"({values[i]!r}) has no offset but {rows(j)} ({values[j]!r}) has one "
        f"({int(naive.sum())} naive, {int(aware.sum())} with an offset); write every timestamp "
        f"with an offset, or none (naive ones are read in tz={tz!r})"
    )


def parse_times(
    values: pd.Index, *, tz: str, source: str, rows: RowNamer = position
) -> pd.DatetimeIndex:
    """Parse raw time values into a ``DatetimeIndex``: naive if all are naive, else UTC.

    Parameters
    ----------
    values : pandas.Index
        Datetimes, or strings such as ``"2020-01-02"`` or ``"2020-01-02T09:30:00-05:00"``.
    tz : str
        Time zone of naive timestamps (named in the message about a mix).
    source : str
        Name of the source, used in error messages.
    rows : RowNamer, default :func:`position`
        Names a row in messages (a CSV file's line, or a position).

    Returns
    -------
    pandas.DatetimeIndex
        Naive (wall-clock, to be read in ``tz``) when no value has an offset; else UTC.

    Raises
    ------
    DataError
        A value is missing, not a timestamp or a number (epochs are not supported), or the
        values mix naive times with times written with an offset.
    """
    if isinstance(values, pd.DatetimeIndex):
        parsed: pd.DatetimeIndex | None = values
    elif pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(
            f"{source}: timestamps are numbers ({rows(0)}: {values[0]!r}); epoch timestamps are "
            "not supported, convert them with pd.to_datetime(..., unit='s') or write dates as text"
        )
    else:
        parsed = _parse(values, _ATTEMPTS[:2])
        if parsed is None:
            parsed = _parse(values, _ATTEMPTS[2:])
            if parsed is not None:  # several offsets, or offsets mixed with naive times
                _check_not_mixed(values, tz=tz, source=source, rows=rows)
    if parsed is None:
        pos, why = _first_unparseable(values, rows)
        raise DataError(
            f"{source}: timestamp {values[pos]!r} at {rows(pos)} {why}; write ISO 8601 "
            "timestamps such as '2020-01-02' or '2020-01-02T14:30:00Z'"
        )
    missing = np.flatnonzero(parsed.isna())
    if missing.size:
        raise DataError(
            f"{source}: timestamp missing at {rows(int(missing[0]))} ({missing.size} missing in "
            "all); drop those rows or fill in their time"
        )
    if parsed.tz is not None:
        parsed = parsed.tz_convert("UTC")
    return parsed.as_unit(UNIT).rename("timestamp")


def is_dates(index: pd.DatetimeIndex) -> bool:
    """Whether every value of a naive index is a midnight: the index holds dates only."""
    return index.tz is None and bool((index.asi8 % _DAY == 0).all())


def localize(index: pd.DatetimeIndex, *, tz: str, source: str, what: str) -> pd.DatetimeIndex:
    """Read naive wall-clock times in ``tz`` and return them in UTC.

    Raises
    ------
    DataError
        A time falls in a daylight-saving gap or overlap of ``tz``; ``what`` says which
        times (e.g. ``"naive timestamps"``).
    """
    try:
        local = index.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception as exc:  # pytz / zoneinfo errors for DST gaps and overlaps
        raise DataError(
            f"{source}: {what} cannot be read in tz={tz!r} ({exc}); write them in UTC or "
            "with a UTC offset"
        ) from None
    return local.tz_convert("UTC")


def to_utc_bound(
    value: str | pd.Timestamp, *, tz: str, name: str, end: bool = False
) -> tuple[pd.Timestamp, bool]:
    """Parse a ``start``/``end`` bound; naive values are read in ``tz``.

    A date (a naive value at midnight, e.g. ``"2018-12-28"``) covers that whole day in
    ``tz``: as ``end`` it keeps every bar stamped before the next midnight, so a daily bar
    stamped at its close still belongs to its date.

    Returns
    -------
    stamp : pandas.Timestamp
        The bound in UTC.
    inclusive : bool
        Whether a bar stamped exactly at ``stamp`` is kept (False only for a date ``end``).

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
    if stamp.tz is not None:
        return stamp.tz_convert("UTC"), True
    date = stamp == stamp.normalize()
    if end and date:
        stamp += pd.Timedelta(days=1)
    try:
        local = stamp.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception:  # a DST gap or overlap: a date's midnight moves to the nearest instant
        local = stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert("UTC"), not (end and date)
