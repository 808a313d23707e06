"""Real market data shipped with the ``arch`` package, loaded by name."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pandas as pd

__all__ = ["BUNDLED", "read_bundled"]


@dataclass(frozen=True)
class _Dataset:
    """A bundled dataset: ``module.load()`` returns its bars, one row per trading date.

    Each bar is stamped at its exchange's close: ``session_close`` (wall-clock) in ``tz``.
    """

    name: str
    module: str
    description: str
    frequency: str
    tz: str = "America/New_York"
    session_close: str = "16:00"


BUNDLED: dict[str, _Dataset] = {
    d.name: d
    for d in (
        _Dataset(
            "sp500",
            "arch.data.sp500",
            "S&P 500 index, daily OHLCV 1999-2018 (arch.data.sp500; close is Close, not Adj "
            "Close), stamped at the NYSE close, 16:00 America/New_York",
            "daily",
        ),
        _Dataset(
            "nasdaq",
            "arch.data.nasdaq",
            "NASDAQ Composite index, daily OHLCV 1999-2018 (arch.data.nasdaq; close is Close, "
            "not Adj Close), stamped at the Nasdaq close, 16:00 America/New_York",
            "daily",
        ),
    )
}


def read_bundled(name: str) -> pd.DataFrame:
    """Return the raw bundled frame ``name`` (a naive ``DatetimeIndex`` named ``Date``).

    The caller has checked that ``name`` is in :data:`BUNDLED`. The module is imported on
    first use so that importing :mod:`mltrainer.data` stays light.
    """
    frame: pd.DataFrame = importlib.import_module(BUNDLED[name].module).load()
    return frame
