"""Stamping other files' times (realised labels...) exactly as bars are stamped.

A file of values keyed by decision time (a labels file) must use the bars' clock: a naive
time is read in the bars' zone, and a date names a trading day whose bar closes at the
session close, so ``2017-01-03`` lines up with the S&P 500 bar stamped 2017-01-03 21:00
UTC. :func:`stamp_times` applies the rules of :func:`~mltrainer.data.load_bars` (see
``docs/config.md``, "Bar time stamps") to a column of such times.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.data._bar_time import check_bar_time, check_session_close, close_stamps
from mltrainer.data._bundled import BUNDLED
from mltrainer.data._files import CSV_SUFFIXES
from mltrainer.data._rows import CsvLines, RowNamer, position
from mltrainer.data._timestamps import check_tz, is_dates, localize, parse_times
from mltrainer.exceptions import DataError

__all__ = ["stamp_times"]


def _bundled_exchange(bars: Any) -> tuple[str, str] | None:
    """``(tz, session_close)`` of a bundled source (a name or a list of names), else None."""
    names = [bars] if isinstance(bars, str) else bars
    if not isinstance(names, Sequence) or not names:
        return None
    if not all(isinstance(n, str) and n in BUNDLED for n in names):
        return None
    first = BUNDLED[names[0]]
    return first.tz, first.session_close


def stamp_times(
    values: Any,
    *,
    source: str,
    tz: str | None,
    bar_time: str = "close",
    session_close: str | None = None,
    bars: Any = None,
    path: str | Path | None = None,
    fix: str = "pass the time zone they are written in",
) -> pd.DatetimeIndex:
    """Each value as the UTC close stamp of the bar it names, by the bars' own rules.

    Parameters
    ----------
    values : array-like
        Times as written: ISO strings or datetimes, with or without a UTC offset, or dates.
    source : str
        Name of the file or frame, for messages.
    tz : str or None
        Zone of naive times and dates (the bars' ``data.tz``). None: no zone is known, and
        naive times are refused rather than guessed.
    bar_time, session_close : str, optional
        The bars' ``data.bar_time`` and ``data.session_close``.
    bars : str or list of str, optional
        The bars' ``data.source``: a bundled dataset's exchange zone and close replace
        ``tz`` and ``session_close``, as :func:`~mltrainer.data.load_bars` does.
    path : str or Path, optional
        The file the values came from: a CSV file's rows are then named by line.
    fix : str
        What to do about naive times when ``tz`` is None (ends the error message).

    Returns
    -------
    pandas.DatetimeIndex
        UTC, named ``timestamp``, in the order of ``values``.

    Raises
    ------
    DataError
        A value is not a time, times mix naive and offset ones, a naive time cannot be read
        in ``tz`` (or ``tz`` is None), or with ``bar_time="open"`` the bar length is unclear.
    ConfigError
        An invalid ``tz``, ``bar_time`` or ``session_close``.

    Examples
    --------
    >>> stamp_times(["2017-01-03"], source="labels", tz="UTC", bars="sp500")[0]
    Timestamp('2017-01-03 21:00:00+0000', tz='UTC')
    >>> stamp_times(["2021-01-04"], source="labels", tz="UTC")[0]  # end of the date
    Timestamp('2021-01-05 00:00:00+0000', tz='UTC')
    """
    exchange = _bundled_exchange(bars)
    if exchange is not None:
        tz, session_close, bar_time = exchange[0], exchange[1], "close"
    if tz is not None:
        check_tz(tz)
    when = check_bar_time(bar_time)
    close = check_session_close(session_close)
    rows: RowNamer = position
    if path is not None and Path(path).name.lower().endswith(CSV_SUFFIXES):
        rows = CsvLines(Path(path))
    raw = pd.Index(values)
    if len(raw) == 0:
        return pd.DatetimeIndex([], tz="UTC", name="timestamp")
    parsed = parse_times(raw, tz=tz or "UTC", source=source, rows=rows)
    dates = is_dates(parsed)
    if parsed.tz is None:
        if tz is None:
            kind = "a date" if dates else "a naive time"
            raise DataError(
                f"{source}: timestamp {raw[0]!r} at {rows(0)} is {kind} with no UTC offset and"
                f" no time zone is known for it; {fix}"
            )
        if not dates:
            parsed = localize(parsed, tz=tz, source=source, what="naive timestamps")
    order = np.argsort(parsed.asi8, kind="stable")
    stamped = close_stamps(
        parsed[order],
        np.zeros(len(parsed), dtype=np.intp),
        dates=dates,
        tz=tz or "UTC",
        bar_time=when,
        session_close=close,
        source=source,
    )
    out = np.empty(len(order), dtype=np.int64)
    out[order] = stamped.asi8
    return pd.DatetimeIndex(out.view("M8[ns]"), name="timestamp").tz_localize("UTC")
