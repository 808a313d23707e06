"""Volatility features: realised volatility, ATR and high-low range estimators.

Each function takes the bars of ONE instrument (a frame indexed by time) and returns a new
float64 frame with the same index. Values at row ``t`` use rows ``<= t`` only. All outputs
are per bar (not annualised) and scale-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._numeric import (
    EWM_TIME_CONSTANTS,
    column,
    ewm_span,
    lagged_diff,
    rolling_mean,
    rolling_std,
    safe_divide,
    safe_log,
    seeded_ewm,
)
from ._params import FeatureDef, number_param, window_param, windows_param

__all__ = ["DEFINITIONS", "atr", "high_low_range", "parkinson", "volatility"]


def volatility(bars: pd.DataFrame, *, windows: Sequence[int] = (20,)) -> pd.DataFrame:
    """Realised volatility: sample standard deviation of the one-bar log returns.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    windows : sequence of int, default (20,)
        Number of returns in each window (each >= 2).

    Returns
    -------
    pandas.DataFrame
        Columns ``volatility_{w}``; the first ``w`` rows are NaN.
    """
    step = lagged_diff(safe_log(column(bars, "close", feature="volatility")), 1)
    data = {f"volatility_{w}": rolling_std(step, w) for w in windows}
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def atr(
    bars: pd.DataFrame, *, window: int = 14, time_constants: float = EWM_TIME_CONSTANTS
) -> pd.DataFrame:
    """Wilder's average true range divided by the close.

    The true range is ``max(high - low, |high - prev close|, |low - prev close|)`` from the
    second bar on; it is smoothed with Wilder's method (``alpha = 1 / window``) seeded with
    the mean of ``window`` true ranges, as in TA-Lib, over a fixed window of
    ``L = window + ewm_steps(1 / window, time_constants)`` true ranges, so the value at ``t``
    does not depend on where the history starts.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with ``high``, ``low`` and ``close`` columns.
    window : int, default 14
        Smoothing window (>= 1).
    time_constants : float, default 3.0
        Smoothing after the seed, in time constants (the seed weighs ``exp(-tc)``).

    Returns
    -------
    pandas.DataFrame
        Column ``atr_{window}``; the first ``L`` rows are NaN.
    """
    high = column(bars, "high", feature="atr")
    low = column(bars, "low", feature="atr")
    close = column(bars, "close", feature="atr")
    prev = np.concatenate([[np.nan], close[:-1]])
    true_range = np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))
    smoothed = seeded_ewm(
        true_range, window=window, alpha=1.0 / window, time_constants=time_constants
    )
    values = safe_divide(smoothed, close)
    return pd.DataFrame({f"atr_{window}": values}, index=bars.index, dtype=np.float64)


def high_low_range(bars: pd.DataFrame, *, windows: Sequence[int] = (20,)) -> pd.DataFrame:
    """Mean log high-low range, ``mean(log(high / low))`` over each window.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with ``high`` and ``low`` columns.
    windows : sequence of int, default (20,)
        Window lengths (each >= 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``range_{w}``; the first ``w - 1`` rows are NaN.
    """
    spread = _log_range(bars, "range")
    data = {f"range_{w}": rolling_mean(spread, w) for w in windows}
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def parkinson(bars: pd.DataFrame, *, windows: Sequence[int] = (20,)) -> pd.DataFrame:
    """Parkinson's high-low volatility estimator, ``sqrt(mean(log(high/low)^2) / (4 ln 2))``.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with ``high`` and ``low`` columns.
    windows : sequence of int, default (20,)
        Window lengths (each >= 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``parkinson_{w}``; the first ``w - 1`` rows are NaN.
    """
    squared = _log_range(bars, "parkinson") ** 2 / (4.0 * np.log(2.0))
    data = {f"parkinson_{w}": np.sqrt(np.maximum(rolling_mean(squared, w), 0.0)) for w in windows}
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def _log_range(bars: pd.DataFrame, feature: str) -> np.ndarray:
    high = column(bars, "high", feature=feature)
    low = column(bars, "low", feature=feature)
    return safe_log(safe_divide(high, low))


DEFINITIONS = (
    FeatureDef(
        name="volatility",
        func=volatility,
        params={"windows": windows_param(2)},
        columns=lambda p: [f"volatility_{w}" for w in p["windows"]],
        lookback=lambda p: max(p["windows"]),
        inputs=("close",),
    ),
    FeatureDef(
        name="atr",
        func=atr,
        params={"window": window_param(1), "time_constants": number_param()},
        columns=lambda p: [f"atr_{p['window']}"],
        lookback=lambda p: ewm_span(p["window"], 1.0 / p["window"], p["time_constants"]),
        inputs=("high", "low", "close"),
    ),
    FeatureDef(
        name="range",
        func=high_low_range,
        params={"windows": windows_param(1)},
        columns=lambda p: [f"range_{w}" for w in p["windows"]],
        lookback=lambda p: max(p["windows"]) - 1,
        inputs=("high", "low"),
    ),
    FeatureDef(
        name="parkinson",
        func=parkinson,
        params={"windows": windows_param(1)},
        columns=lambda p: [f"parkinson_{w}" for w in p["windows"]],
        lookback=lambda p: max(p["windows"]) - 1,
        inputs=("high", "low"),
    ),
)
