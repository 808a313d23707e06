"""Stamping every bar at its close: the instant its open, high, low, close and volume are known.

A feature computed from a bar is usable from the bar's close on, so the close is the bar's
decision time. The rules (``docs/config.md``, "Bar time stamps"):

- **dates only** (every timestamp a naive midnight, e.g. ``2020-01-02``): the date names the
  bar's trading day; the bar is stamped at ``session_close`` (wall-clock in ``tz``) of that
  day, or at the end of the day (the next midnight in ``tz``) when no session close is
  given. With ``bar_time="open"`` the date is the bar's first day and its close falls on
  its last day, ``bar length - 1`` days later (daily bars: the same day).
- **a time of day** (intraday bars, or any stamp with an offset): ``bar_time="close"`` takes
  the stamp as the close; ``bar_time="open"`` adds the bar length. The bar length is the
  most common step between consecutive bars (per symbol); when no step makes up more than
  half of them, the length is ambiguous and the file is refused.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import pandas as pd

from mltrainer.data._timestamps import localize
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["BAR_TIMES", "BarTime", "check_bar_time", "check_session_close", "close_stamps"]

BarTime = Literal["open", "close"]
BAR_TIMES: tuple[str, ...] = ("open", "close")
_DAY = pd.Timedelta(days=1)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def check_bar_time(bar_time: Any) -> BarTime:
    """Return ``bar_time`` if it is ``"open"`` or ``"close"``, else raise ConfigError."""
    if bar_time not in BAR_TIMES:
        raise ConfigError(
            f"bar_time={bar_time!r} is not one of {list(BAR_TIMES)}: 'close' when each "
            "timestamp is the bar's close, 'open' when it is the bar's open"
        )
    return "open" if bar_time == "open" else "close"


def check_session_close(value: Any) -> pd.Timedelta | None:
    """Parse ``session_close`` (``"HH:MM"`` or ``"HH:MM:SS"``) into a time of day.

    Raises
    ------
    ConfigError
        Not a time of day; a number gets a hint, since YAML reads an unquoted ``16:00`` as
        the integer 960.
    """
    if value is None:
        return None
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        hint = (
            " (YAML reads an unquoted 16:00 as the number 960: quote it, session_close: '16:00')"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else ""
        )
        raise ConfigError(
            f"session_close={value!r} is not a time of day{hint}; write the exchange's daily "
            "close in tz as 'HH:MM', e.g. '16:00' with tz America/New_York"
        )
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return pd.Timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _clock(time_of_day: pd.Timedelta) -> str:
    """``"16:00"`` (or ``"16:00:30"``) for a time of day."""
    text = str(time_of_day)[-8:]
    return text[:5] if text.endswith(":00") else text


def _bar_length(key: np.ndarray, codes: np.ndarray, source: str) -> int:
    """The most common positive step between consecutive bars of a symbol, in ns."""
    order = np.argsort(codes, kind="stable")
    same = codes[order][1:] == codes[order][:-1]
    steps = np.diff(key[order])[same]
    if steps.size == 0:
        raise DataError(
            f"{source}: bar_time='open' needs the bar length to find each bar's close, and "
            "one bar (per symbol) does not show it; load at least 2 bars, or write the "
            "bars' close times and set bar_time: close"
        )
    counts = pd.Series(steps).value_counts()
    top = int(counts.max())
    step = int(counts.index[counts.to_numpy() == top].min())
    if 2 * top <= steps.size:
        raise DataError(
            f"{source}: bar_time='open' needs the bar length to find each bar's close, but the "
            f"steps between bars are irregular (the most common, {pd.Timedelta(step)}, is "
            f"{top} of {steps.size}); write the bars' close times and set bar_time: close"
        )
    return step


def close_stamps(
    parsed: pd.DatetimeIndex,
    codes: np.ndarray,
    *,
    dates: bool,
    tz: str,
    bar_time: BarTime,
    session_close: pd.Timedelta | None,
    source: str,
) -> pd.DatetimeIndex:
    """Each bar's close in UTC (see the module docstring for the rules).

    Parameters
    ----------
    parsed : pandas.DatetimeIndex
        The timestamps as written: naive dates (``dates=True``), else UTC; sorted per symbol.
    codes : ndarray of intp
        Symbol code of each row (all zeros for one instrument).
    dates : bool
        Whether ``parsed`` holds dates only.
    tz : str
        Time zone of the dates and of ``session_close``.
    bar_time : {"open", "close"}
        What a timestamp marks.
    session_close : pandas.Timedelta or None
        Time of day of the close of a date-only bar; None means the end of the day.
    source : str
        Name of the source, used in error messages.

    Returns
    -------
    pandas.DatetimeIndex
        UTC, named ``timestamp``.
    """
    if not dates:
        if bar_time == "close":
            return parsed
        return parsed + pd.Timedelta(_bar_length(parsed.asi8, codes, source))
    last_day = parsed
    if bar_time == "open":
        length = _bar_length(parsed.asi8, codes, source)
        last_day = parsed + (pd.Timedelta(length) - _DAY)
    close = last_day + (_DAY if session_close is None else session_close)
    what = "the end of each date" if session_close is None else f"{_clock(session_close)}"
    return localize(close, tz=tz, source=source, what=f"dates at {what}").rename("timestamp")
