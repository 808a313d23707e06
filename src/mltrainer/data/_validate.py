"""Validation of bars: every check vectorised, every failure one line naming row and fix.

A message names a CSV row by its line in the file ("line 5", the header being line 1) and a
row of a Parquet file or frame by its 0-based position ("row 3"); see :mod:`._rows`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mltrainer.data._bar_time import BarTime, check_bar_time, check_session_close, close_stamps
from mltrainer.data._rows import RowNamer, position
from mltrainer.data._schema import BAR_COLUMNS, PRICE_COLUMNS, SYMBOL, TIMESTAMP
from mltrainer.data._timestamps import check_tz, is_dates, localize, parse_times
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["check_min_rows", "check_min_rows_arg", "validate", "validate_bars"]

#: Relative tolerance of the OHLC consistency checks (float noise of stored prices).
OHLC_RTOL = 1e-9


class _Locator:
    """Describe a row of the input as ``line i (timestamp t, symbol 's')`` (or ``row i``).

    The timestamp is shown as written: a date for date-only bars, else the UTC instant.
    """

    def __init__(
        self,
        index: pd.DatetimeIndex,
        symbols: np.ndarray | None,
        rows: RowNamer,
        *,
        dates: bool = False,
    ) -> None:
        self.index = index
        self.symbols = symbols
        self.rows = rows
        self.dates = dates

    def stamp(self, pos: int) -> str:
        """The timestamp of row ``pos`` as written."""
        value = self.index[pos]
        return str(value.date()) if self.dates else str(value)

    def __call__(self, pos: int) -> str:
        where = f"{self.rows(pos)} (timestamp {self.stamp(pos)}"
        if self.symbols is not None:
            where += f", symbol {self.symbols[pos]!r}"
        return where + ")"


def _first(mask: np.ndarray) -> tuple[int, int]:
    """Return (position of the first True, number of True) of a boolean mask."""
    hits = np.flatnonzero(mask)
    return (int(hits[0]), int(hits.size)) if hits.size else (-1, 0)


def _numeric(frame: pd.DataFrame, at: _Locator, source: str) -> dict[str, np.ndarray]:
    """Convert the bar columns to float64, naming the first value that is not a number."""
    out: dict[str, np.ndarray] = {}
    for col in BAR_COLUMNS:
        raw = frame[col]
        if pd.api.types.is_numeric_dtype(raw.dtype):
            num = raw
        else:
            num = pd.to_numeric(raw, errors="coerce")
            pos, n = _first((num.isna() & raw.notna()).to_numpy())
            if n:
                raise DataError(
                    f"{source}: column {col!r} has {n} non-numeric value(s), first "
                    f"{raw.iloc[pos]!r} at {at(pos)}; write plain numbers (no thousands "
                    "separators or units)"
                )
        out[col] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _check_order(ts: np.ndarray, codes: np.ndarray, at: _Locator, source: str) -> None:
    """Timestamps must strictly increase within each symbol: no going back, no duplicates."""
    order = np.argsort(codes, kind="stable")  # rows grouped by symbol, input order kept
    same = codes[order][1:] == codes[order][:-1]
    step = np.diff(ts[order])
    back = np.flatnonzero(same & (step < 0))
    if back.size:
        rows = order[1:][back]
        k = int(np.argmin(rows))
        row, prev = int(rows[k]), int(order[back[k]])
        raise DataError(
            f"{source}: timestamps not sorted: {at(row)} is earlier than {at.rows(prev)} "
            f"({at.stamp(prev)}); sort the bars by time (per symbol) before loading"
        )
    dup = np.flatnonzero(same & (step == 0))
    if dup.size:
        row = int(order[1:][dup].min())
        times = int(np.count_nonzero((codes == codes[row]) & (ts == ts[row])))
        raise DataError(
            f"{source}: duplicated timestamp at {at(row)}: it appears {times} times "
            f"({dup.size} duplicate row(s) in all); keep one bar per timestamp"
            f"{' and symbol' if at.symbols is not None else ''}, e.g. drop or aggregate them"
        )


def _check_values(values: dict[str, np.ndarray], at: _Locator, source: str) -> None:
    """Prices finite and positive, volume finite and >= 0, low <= open, close <= high."""
    for col in PRICE_COLUMNS:
        v = values[col]
        pos, n = _first(~np.isfinite(v) | (v <= 0))
        if n:
            raise DataError(
                f"{source}: column {col!r} has {n} NaN/inf/non-positive price(s), first "
                f"{float(v[pos])} at {at(pos)}; drop or repair those bars before loading"
            )
    vol = values["volume"]
    pos, n = _first(~np.isfinite(vol) | (vol < 0))
    if n:
        raise DataError(
            f"{source}: column 'volume' has {n} NaN/inf/negative value(s), first {float(vol[pos])} "
            f"at {at(pos)}; volume must be >= 0, fill or drop those bars"
        )
    high, low = values["high"], values["low"]
    upper, lower = high * (1 + OHLC_RTOL), low * (1 - OHLC_RTOL)
    pos, n = _first(high < lower)
    if n:
        raise DataError(
            f"{source}: column 'high' is below 'low' in {n} bar(s), first at {at(pos)} "
            f"(high={float(high[pos])}, low={float(low[pos])}); check the column mapping or fix "
            "the bars"
        )
    for col in ("open", "close"):
        v = values[col]
        pos, n = _first((v > upper) | (v < lower))
        if n:
            raise DataError(
                f"{source}: column {col!r} is outside [low, high] in {n} bar(s), first at "
                f"{at(pos)} ({col}={float(v[pos])}, low={float(low[pos])}, "
                f"high={float(high[pos])}); check the column mapping or fix the bars"
            )


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def check_min_rows_arg(min_rows: int) -> None:
    """Raise :class:`ConfigError` unless ``min_rows`` is an integer >= 1."""
    if isinstance(min_rows, bool) or not isinstance(min_rows, int | np.integer) or min_rows < 1:
        raise ConfigError(f"min_rows={min_rows!r} must be an integer >= 1; pass e.g. min_rows=1")


def check_min_rows(
    frame: pd.DataFrame,
    *,
    min_rows: int,
    min_rows_reason: str,
    source: str,
    symbols: Sequence[str] | None = None,
) -> None:
    """Raise :class:`DataError` when ``frame`` (each symbol of a panel) has < ``min_rows`` rows.

    ``symbols`` lists the symbols expected in a panel, so that one with no rows left after a
    time filter is reported with 0 rows.
    """
    check_min_rows_arg(min_rows)
    why = f" ({min_rows_reason})" if min_rows_reason else ""
    fix = "load a longer span (widen start/end) or lower min_rows"
    if SYMBOL not in frame.columns:
        if len(frame) < min_rows:
            raise DataError(
                f"{source}: needs at least {_rows(min_rows)}{why}, got {len(frame)}; {fix}"
            )
        return
    expected = list(symbols) if symbols is not None else []
    counts = (
        frame[SYMBOL]
        .value_counts()
        .reindex(sorted({*expected, *frame[SYMBOL].unique()}), fill_value=0)
    )
    short = counts[counts < min_rows]
    if len(short):
        raise DataError(
            f"{source}: symbol {short.index[0]!r} needs at least {_rows(min_rows)}{why}, got "
            f"{int(short.iloc[0])} ({len(short)} of {len(counts)} symbol(s) short); {fix}"
        )


def validate(
    frame: pd.DataFrame,
    *,
    tz: str,
    source: str,
    rows: RowNamer = position,
    bar_time: BarTime = "close",
    session_close: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Run every check but ``min_rows`` on a frame with canonical names; return a new frame.

    Timestamps are parsed, checked for order on the times as written, then moved to each
    bar's close (:func:`~mltrainer.data._bar_time.close_stamps`).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"{source}: expected a pandas DataFrame of bars, got {type(frame).__name__}; pass "
            "a DataFrame indexed by time"
        )
    if len(frame) == 0:
        raise DataError(f"{source}: no bars (0 rows); pass at least one bar")
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}; found {[str(c) for c in frame.columns]}; "
            f"pass columns={{'<source name>': {missing[0]!r}}} to load_bars to map names"
        )
    if isinstance(frame.index, pd.RangeIndex):
        raise DataError(
            f"{source}: the index is a RangeIndex, not time; index the bars by their timestamps, "
            "e.g. frame.set_index('timestamp')"
        )
    parsed = parse_times(frame.index, tz=tz, source=source, rows=rows)
    dates = is_dates(parsed)
    if parsed.tz is None and not dates:
        parsed = localize(parsed, tz=tz, source=source, what="naive timestamps")
    panel = SYMBOL in frame.columns
    sym: np.ndarray | None = None
    at = _Locator(parsed, None, rows, dates=dates)
    if panel:
        raw_sym = frame[SYMBOL]
        pos, n = _first(raw_sym.isna().to_numpy())
        if n:
            raise DataError(
                f"{source}: column 'symbol' is missing at {at(pos)}, {n} row(s) in all; fill "
                "in the symbol or drop those rows"
            )
        sym = raw_sym.astype(str).to_numpy(dtype=object)
        at = _Locator(parsed, sym, rows, dates=dates)
    values = _numeric(frame, at, source)
    codes = pd.factorize(sym, sort=True)[0] if sym is not None else np.zeros(len(parsed), np.intp)
    _check_order(parsed.asi8, codes, at, source)
    _check_values(values, at, source)
    index = close_stamps(
        parsed,
        codes,
        dates=dates,
        tz=tz,
        bar_time=bar_time,
        session_close=session_close,
        source=source,
    )

    data: dict[str, object] = {SYMBOL: pd.array(sym, dtype="str")} if sym is not None else {}
    data.update(values)
    out = pd.DataFrame(data, index=index.rename(TIMESTAMP))
    if panel:
        out = out.iloc[np.lexsort((codes, index.asi8))]  # lexsort is stable
    return out


def validate_bars(
    frame: pd.DataFrame,
    *,
    min_rows: int = 1,
    min_rows_reason: str = "",
    source: str = "frame",
    tz: str = "UTC",
    bar_time: str = "close",
    session_close: str | None = None,
) -> pd.DataFrame:
    """Check bars and return them normalised (a new frame; the input is not modified).

    Checks, in order: rows present; columns ``open, high, low, close, volume`` present;
    timestamps parse (naive ones are read in ``tz``; a mix of naive and offset times is
    refused); timestamps strictly increase (per symbol in a panel), so none go backwards or
    repeat; prices finite and > 0; volume finite and >= 0; ``low <= open, close <= high``
    up to a relative ``1e-9``; at least ``min_rows`` rows (per symbol). Each bar is then
    stamped at its close, by the rules of :func:`load_bars`. Messages name a row by its
    0-based position (``row 0`` is the first).

    Parameters
    ----------
    frame : pandas.DataFrame
        Bars indexed by time, with columns ``open, high, low, close, volume`` and, for a
        panel, ``symbol``. Other columns are dropped.
    min_rows : int, default 1
        The fewest rows accepted (per symbol in a panel).
    min_rows_reason : str, default ""
        Why ``min_rows`` are needed, quoted in the error (e.g. ``"5 CV folds of 50 rows"``).
    source : str, default "frame"
        Name of the data, used in error messages.
    tz : str, default "UTC"
        Time zone of naive timestamps (and of dates and ``session_close``).
    bar_time : {"close", "open"}, default "close"
        Whether a timestamp is the bar's close or its open (see :func:`load_bars`).
    session_close : str, optional
        ``"HH:MM"`` in ``tz`` at which a date-only bar closes; default the end of the day.

    Returns
    -------
    pandas.DataFrame
        Indexed by a UTC ``DatetimeIndex`` named ``timestamp`` (unit ``ns``), float64 bar
        columns, ``symbol`` (str) first in a panel, rows sorted by (timestamp, symbol).

    Raises
    ------
    DataError
        One line naming ``source``, the column, the row/timestamp (and symbol) and the fix.
    ConfigError
        ``min_rows``, ``tz``, ``bar_time`` or ``session_close`` is invalid.
    """
    check_min_rows_arg(min_rows)
    check_tz(tz)
    out = validate(
        frame,
        tz=tz,
        source=source,
        bar_time=check_bar_time(bar_time),
        session_close=check_session_close(session_close),
    )
    check_min_rows(out, min_rows=min_rows, min_rows_reason=min_rows_reason, source=source)
    return out
