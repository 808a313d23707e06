"""``load_bars``: one entry point for bundled names, lists of names, CSV and Parquet files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mltrainer._logging import logger
from mltrainer.data._bundled import BUNDLED, read_bundled
from mltrainer.data._files import SUFFIXES, read_file
from mltrainer.data._schema import SYMBOL, canonicalise
from mltrainer.data._timestamps import check_tz, to_utc_timestamp
from mltrainer.data._validate import check_min_rows, check_min_rows_arg, validate
from mltrainer.exceptions import ConfigError, DataError, NotFoundError, did_you_mean

__all__ = ["list_datasets", "load_bars"]

_Source = str | os.PathLike[str] | Sequence[str]


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(
        f"no bundled dataset or file named {name!r}{did_you_mean(name, BUNDLED)}; bundled "
        f"datasets are {list(BUNDLED)}, files must be one of {list(SUFFIXES)}"
    )


def _read(source: _Source) -> tuple[pd.DataFrame, str]:
    """Return the raw frame of ``source`` and its name for messages."""
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if isinstance(source, str) and text in BUNDLED:
            return read_bundled(text), text
        path = Path(text)
        if not path.is_file():
            raise _not_found(text)
        return read_file(path), str(path)
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
    parts = [read_bundled(n).assign(**{SYMBOL: n}) for n in names]
    return pd.concat(parts), "+".join(names)


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
    min_rows: int = 1,
    min_rows_reason: str = "",
) -> pd.DataFrame:
    """Load and validate market bars.

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
        Keep bars with ``start <= timestamp <= end``; naive bounds are read in ``tz``.
    tz : str, default "UTC"
        Time zone of naive timestamps in the source; the result is always UTC.
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
        An invalid option (``columns``, ``symbols``, ``start``/``end``, ``tz``, ``min_rows``).
    DataError
        The data fail validation (see :func:`validate_bars`) or have too few rows.

    Examples
    --------
    >>> bars = load_bars("sp500", start="2010-01-01")
    >>> bars.index[0]
    Timestamp('2010-01-04 00:00:00+0000', tz='UTC')
    """
    check_tz(tz)
    check_min_rows_arg(min_rows)
    lo = None if start is None else to_utc_timestamp(start, tz=tz, name="start")
    hi = None if end is None else to_utc_timestamp(end, tz=tz, name="end")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"start={start!r} is after end={end!r}; swap them")
    raw, name = _read(source)
    if len(raw) == 0:
        raise DataError(f"{name}: file has no rows; write at least one bar")
    bars = validate(canonicalise(raw, columns=columns, source=name), tz=tz, source=name)
    expected = sorted(bars[SYMBOL].unique()) if SYMBOL in bars.columns else None
    if symbols is not None:
        bars = _filter_symbols(bars, symbols, name)
        expected = list(symbols)
    if lo is not None or hi is not None:
        keep = np.ones(len(bars), dtype=bool)
        if lo is not None:
            keep &= bars.index >= lo
        if hi is not None:
            keep &= bars.index <= hi
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
