"""``load_bars``: one entry point for bundled names, lists of names, CSV and Parquet files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mltrainer._logging import logger
from mltrainer.data._bar_time import check_bar_time, check_session_close
from mltrainer.data._bundled import BUNDLED, read_bundled
from mltrainer.data._files import CSV_SUFFIXES, SUFFIXES, read_file
from mltrainer.data._rows import CsvLines, RowNamer, position
from mltrainer.data._schema import SYMBOL, canonicalise
from mltrainer.data._timestamps import check_tz, to_utc_bound
from mltrainer.data._validate import check_min_rows, check_min_rows_arg, validate
from mltrainer.exceptions import ConfigError, DataError, NotFoundError, did_you_mean

__all__ = ["list_datasets", "load_bars"]

_Source = str | os.PathLike[str] | Sequence[str]


@dataclass(frozen=True)
class _Raw:
    """A source as read: its frame, its name and how its rows and times are read."""

    frame: pd.DataFrame
    name: str
    rows: RowNamer = position
    #: Set for bundled data, whose exchange and close time are known.
    tz: str | None = None
    session_close: str | None = None


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(
        f"no bundled dataset or file named {name!r}{did_you_mean(name, BUNDLED)}; bundled "
        f"datasets are {list(BUNDLED)}, files must be one of {list(SUFFIXES)}"
    )


def _directory(path: Path) -> DataError:
    inside = sorted(p.name for p in path.iterdir() if p.name.lower().endswith(SUFFIXES))
    shown = f"; it holds {inside[:3]}{' ...' if len(inside) > 3 else ''}" if inside else ""
    return DataError(
        f"{path}: is a directory, not a bars file{shown}; pass one file of type {list(SUFFIXES)}"
    )


def _read(source: _Source) -> _Raw:
    """Read ``source`` (a bundled name, a file, or a list of bundled names)."""
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if isinstance(source, str) and text in BUNDLED:
            d = BUNDLED[text]
            return _Raw(read_bundled(text), text, tz=d.tz, session_close=d.session_close)
        path = Path(text)
        if path.is_dir():
            raise _directory(path)
        if not path.is_file():
            raise _not_found(text)
        frame = read_file(path)
        rows: RowNamer = CsvLines(path) if path.name.lower().endswith(CSV_SUFFIXES) else position
        return _Raw(frame, str(path), rows)
    if not isinstance(source, Sequence) or not source:
        raise ConfigError(
            f"source={source!r} is not a dataset name, a path or a non-empty list of names; "
            f"pass e.g. 'sp500' or {list(BUNDLED)}"
        )
    names = list(source)
    for name in names:
        if not isinstance(name, str) or name not in BUNDLED:
            raise _not_found(str(name))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"source lists {repeated[0]!r} twice; name each dataset once")
    exchanges = {(BUNDLED[n].tz, BUNDLED[n].session_close) for n in names}
    if len(exchanges) > 1:  # not the case for the datasets shipped today
        raise ConfigError(
            f"source lists datasets of different exchanges {names}; load them one at a time"
        )
    tz, close = exchanges.pop()
    parts = [read_bundled(n).assign(**{SYMBOL: n}) for n in names]
    return _Raw(pd.concat(parts), "+".join(names), tz=tz, session_close=close)


def _filter_symbols(bars: pd.DataFrame, symbols: Sequence[str], source: str) -> pd.DataFrame:
    if SYMBOL not in bars.columns:
        raise ConfigError(
            f"symbols={symbols!r} given but {source} is a single instrument (no 'symbol' "
            "column); drop symbols= or load a panel"
        )
    if isinstance(symbols, str):
        raise ConfigError(f"symbols={symbols!r} must be a list of names; pass [{symbols!r}]")
    present = sorted(bars[SYMBOL].unique())
    unknown = [s for s in symbols if s not in present]
    if unknown:
        raise NotFoundError(
            f"symbol {unknown[0]!r} not in {source}{did_you_mean(str(unknown[0]), present)}; "
            f"its symbols are {present}"
        )
    return bars[bars[SYMBOL].isin(list(symbols))]


def load_bars(
    source: _Source,
    *,
    columns: Mapping[str, str] | None = None,
    symbols: Sequence[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    tz: str = "UTC",
    bar_time: str = "close",
    session_close: str | None = None,
    min_rows: int = 1,
    min_rows_reason: str = "",
) -> pd.DataFrame:
    """Load and validate market bars, each stamped at its close.

    A bar's features are known once it closes, so its timestamp (its decision time) is its
    close, in UTC. Bundled datasets are stamped at their exchange's close (16:00
    America/New_York for ``sp500`` and ``nasdaq``: 21:00 UTC in winter, 20:00 UTC in
    summer). A file's timestamps are read with ``tz``, ``bar_time`` and ``session_close``:

    - a timestamp written with a UTC offset is that instant; a naive one is wall-clock
      time in ``tz``; a file mixing both is refused;
    - **dates only** (every timestamp a naive midnight): the bar closes on that date at
      ``session_close`` in ``tz``, or at the end of that date (the next midnight in
      ``tz``) when ``session_close`` is not given;
    - **a time of day**: with ``bar_time="close"`` it is the close; with
      ``bar_time="open"`` the close is the open plus the bar length, the most common step
      between consecutive bars (refused when no step makes up more than half of them).

    Parameters
    ----------
    source : str, path-like or sequence of str
        A bundled dataset name (see :func:`list_datasets`), a ``.csv``/``.parquet`` path,
        or a list of bundled names, which gives a panel whose ``symbol`` is the name.
    columns : Mapping[str, str], optional
        Source column name -> canonical name (``timestamp``, ``symbol``, ``open``, ``high``,
        ``low``, ``close``, ``volume``), applied before validation, e.g.
        ``{"Adj Close": "close", "Vol": "volume"}``. Other names match case-insensitively;
        the time column is ``timestamp``/``date``/``datetime``/``time`` or a Parquet index.
    symbols : sequence of str, optional
        Keep only these symbols of a panel.
    start, end : str or pandas.Timestamp, optional
        Keep bars with ``start <= timestamp <= end``; naive bounds are read in ``tz``, and
        a date (``"2018-12-28"``) covers its whole day, so ``end`` keeps that date's bar.
    tz : str, default "UTC"
        Time zone of naive timestamps, dates and ``session_close`` in a file; the result is
        always UTC.
    bar_time : {"close", "open"}, default "close"
        Whether a file's timestamps mark each bar's close or its open. Bundled datasets
        (one bar per date) are the same either way.
    session_close : str, optional
        ``"HH:MM"`` wall-clock time in ``tz`` at which a date-only bar closes, e.g.
        ``"16:00"`` with ``tz="America/New_York"``; default the end of the date.
    min_rows : int, default 1
        The fewest rows accepted after filtering (per symbol in a panel).
    min_rows_reason : str, default ""
        Why ``min_rows`` are needed, quoted in the error.

    Returns
    -------
    pandas.DataFrame
        A new frame indexed by a UTC ``DatetimeIndex`` named ``timestamp`` with float64
        ``open, high, low, close, volume``; a panel has ``symbol`` (str) first and rows
        sorted by (timestamp, symbol). Other source columns are dropped.

    Raises
    ------
    NotFoundError
        Unknown dataset name, missing file, or unknown symbol.
    ConfigError
        An invalid option (``columns``, ``symbols``, ``start``/``end``, ``tz``,
        ``bar_time``, ``session_close``, ``min_rows``).
    DataError
        The data fail validation (see :func:`validate_bars`) or have too few rows. A CSV
        row is named by its line in the file (the header is line 1), a Parquet row by its
        0-based position.

    Examples
    --------
    >>> bars = load_bars("sp500", start="2010-01-01")
    >>> bars.index[0]
    Timestamp('2010-01-04 21:00:00+0000', tz='UTC')
    """
    check_tz(tz)
    when = check_bar_time(bar_time)
    close = check_session_close(session_close)
    check_min_rows_arg(min_rows)
    lo = None if start is None else to_utc_bound(start, tz=tz, name="start")
    hi = None if end is None else to_utc_bound(end, tz=tz, name="end", end=True)
    if lo is not None and hi is not None and lo[0] >= hi[0] and (lo[0] > hi[0] or not hi[1]):
        raise ConfigError(f"start={start!r} is after end={end!r}; swap them")
    raw = _read(source)
    name = raw.name
    if len(raw.frame) == 0:
        raise DataError(f"{name}: file has no rows; write at least one bar")
    if raw.tz is not None:  # bundled: the exchange's own zone and close
        if close is not None and close != check_session_close(raw.session_close):
            raise ConfigError(
                f"session_close={session_close!r} is for files: {name} is stamped at its "
                f"exchange's close ({raw.session_close} {raw.tz}); drop session_close"
            )
        tz_bars, when, close = raw.tz, "close", check_session_close(raw.session_close)
    else:
        tz_bars = tz
    bars = validate(
        canonicalise(raw.frame, columns=columns, source=name),
        tz=tz_bars,
        source=name,
        rows=raw.rows,
        bar_time=when,
        session_close=close,
    )
    expected = sorted(bars[SYMBOL].unique()) if SYMBOL in bars.columns else None
    if symbols is not None:
        bars = _filter_symbols(bars, symbols, name)
        expected = list(symbols)
    if lo is not None or hi is not None:
        keep = np.ones(len(bars), dtype=bool)
        if lo is not None:
            keep &= bars.index >= lo[0]
        if hi is not None:
            keep &= (bars.index <= hi[0]) if hi[1] else (bars.index < hi[0])
        bars = bars[keep]
    check_min_rows(
        bars, min_rows=min_rows, min_rows_reason=min_rows_reason, source=name, symbols=expected
    )
    logger.info("loaded %s: %d bars from %s to %s", name, len(bars), bars.index[0], bars.index[-1])
    return bars


def list_datasets() -> pd.DataFrame:
    """List the bundled datasets that :func:`load_bars` accepts by name.

    Returns
    -------
    pandas.DataFrame
        One row per dataset with columns ``name, description, rows, start, end,
        frequency``; ``start``/``end`` are the UTC timestamps of the first and last bar.
    """
    rows = []
    for d in BUNDLED.values():
        bars = load_bars(d.name)
        rows.append(
            {
                "name": d.name,
                "description": d.description,
                "rows": len(bars),
                "start": bars.index[0],
                "end": bars.index[-1],
                "frequency": d.frequency,
            }
        )
    return pd.DataFrame(rows, columns=["name", "description", "rows", "start", "end", "frequency"])
