"""Momentum features: log returns, risk-adjusted returns, RSI and MACD.

Each function takes the bars of ONE instrument (a frame indexed by time) and returns a new
float64 frame with the same index. Values at row ``t`` use rows ``<= t`` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._numeric import (
    EWM_TIME_CONSTANTS,
    column,
    ewm_span,
    lagged_diff,
    rolling_std,
    safe_divide,
    safe_log,
    seeded_ewm,
)
from ._params import FeatureDef, number_param, window_param, windows_param

__all__ = ["DEFINITIONS", "log_return", "macd", "return_zscore", "rsi"]


def log_return(bars: pd.DataFrame, *, windows: Sequence[int] = (1, 5, 20)) -> pd.DataFrame:
    """Log return of the close over each window: ``log(close[t] / close[t - w])``.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    windows : sequence of int, default (1, 5, 20)
        Horizons in bars (each >= 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``log_return_{w}``; the first ``w`` rows are NaN.
    """
    log_close = safe_log(column(bars, "close", feature="log_return"))
    data = {f"log_return_{w}": lagged_diff(log_close, w) for w in windows}
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def return_zscore(bars: pd.DataFrame, *, windows: Sequence[int] = (20,)) -> pd.DataFrame:
    """Risk-adjusted momentum: the ``w``-bar log return over ``sqrt(w)`` times the sample
    standard deviation of the ``w`` one-bar log returns inside it.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    windows : sequence of int, default (20,)
        Horizons in bars (each >= 2).

    Returns
    -------
    pandas.DataFrame
        Columns ``return_zscore_{w}``; the first ``w`` rows are NaN, and so is any row whose
        window has zero volatility.
    """
    log_close = safe_log(column(bars, "close", feature="return_zscore"))
    step = lagged_diff(log_close, 1)
    data = {
        f"return_zscore_{w}": safe_divide(
            lagged_diff(log_close, w), rolling_std(step, w) * np.sqrt(w)
        )
        for w in windows
    }
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def rsi(
    bars: pd.DataFrame, *, window: int = 14, time_constants: float = EWM_TIME_CONSTANTS
) -> pd.DataFrame:
    """Wilder's relative strength index, on a 0-100 scale.

    Average gain and loss of the close-to-close changes are smoothed with Wilder's method
    (``alpha = 1 / window``) seeded with the simple mean of ``window`` changes, over a fixed
    window of ``L = window + ewm_steps(1 / window, time_constants)`` changes (41 smoothing
    steps for 14; see :func:`~mltrainer.features._numeric.seeded_ewm`), so the value at
    ``t`` does not depend on where the history starts. ``RSI = 100 * gain / (gain + loss)``,
    NaN where both are zero (a flat window).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    window : int, default 14
        Smoothing window (>= 1).
    time_constants : float, default 3.0
        Smoothing after the seed, in time constants (the seed weighs ``exp(-tc)``, 5 %);
        6 stays within ~0.02 RSI points of an average seeded decades earlier, at twice
        the warm-up.

    Returns
    -------
    pandas.DataFrame
        Column ``rsi_{window}``; the first ``L`` rows are NaN.
    """
    change = lagged_diff(column(bars, "close", feature="rsi"), 1)
    alpha, tc = 1.0 / window, time_constants
    gain = seeded_ewm(np.maximum(change, 0.0), window=window, alpha=alpha, time_constants=tc)
    loss = seeded_ewm(np.maximum(-change, 0.0), window=window, alpha=alpha, time_constants=tc)
    values = 100.0 * safe_divide(gain, gain + loss)
    return pd.DataFrame({f"rsi_{window}": values}, index=bars.index, dtype=np.float64)


def macd(
    bars: pd.DataFrame,
    *,
    fast: int = 12,
    slow: int = 26,
    signal: int = 9,
    time_constants: float = EWM_TIME_CONSTANTS,
) -> pd.DataFrame:
    """Moving average convergence divergence, divided by the close so it is scale-free.

    ``line = (EMA_fast(close) - EMA_slow(close)) / close``, ``signal = EMA_signal(line)``,
    ``hist = line - signal``. Each EMA (``alpha = 2 / (span + 1)``) is seeded with the simple
    mean of ``span`` inputs, as in TA-Lib, and runs over a fixed window of
    ``span + ewm_steps(alpha, time_constants)`` inputs, so no value depends on where the
    history starts.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    fast, slow : int, default 12, 26
        Spans of the two price EMAs (``1 <= fast < slow``).
    signal : int, default 9
        Span of the signal EMA (>= 1).
    time_constants : float, default 3.0
        Smoothing after each EMA's seed, in time constants (see :func:`rsi`).

    Returns
    -------
    pandas.DataFrame
        Columns ``macd_{f}_{s}_{g}`` (first ``Ls - 1`` rows NaN, ``Ls`` the slow EMA's
        window), ``macd_signal_{f}_{s}_{g}`` and ``macd_hist_{f}_{s}_{g}`` (first
        ``Ls + Lg - 2`` rows NaN, ``Lg`` the signal EMA's window).
    """
    close = column(bars, "close", feature="macd")
    tc = time_constants
    ema_fast = seeded_ewm(close, window=fast, alpha=2.0 / (fast + 1), time_constants=tc)
    ema_slow = seeded_ewm(close, window=slow, alpha=2.0 / (slow + 1), time_constants=tc)
    line = safe_divide(ema_fast - ema_slow, close)
    sig = seeded_ewm(line, window=signal, alpha=2.0 / (signal + 1), time_constants=tc)
    suffix = f"{fast}_{slow}_{signal}"
    data = {f"macd_{suffix}": line, f"macd_signal_{suffix}": sig, f"macd_hist_{suffix}": line - sig}
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def _macd_columns(p: Mapping[str, Any]) -> list[str]:
    suffix = f"{p['fast']}_{p['slow']}_{p['signal']}"
    return [f"macd_{suffix}", f"macd_signal_{suffix}", f"macd_hist_{suffix}"]


def _macd_lookback(p: Mapping[str, Any]) -> int:
    tc = p["time_constants"]
    slow = ewm_span(p["slow"], 2.0 / (p["slow"] + 1), tc)
    return slow + ewm_span(p["signal"], 2.0 / (p["signal"] + 1), tc) - 2


def _macd_relation(p: Mapping[str, Any]) -> str | None:
    if p["fast"] < p["slow"]:
        return None
    return f"needs fast < slow, got fast={p['fast']} slow={p['slow']}; swap or change them"


DEFINITIONS = (
    FeatureDef(
        name="log_return",
        func=log_return,
        params={"windows": windows_param(1)},
        columns=lambda p: [f"log_return_{w}" for w in p["windows"]],
        lookback=lambda p: max(p["windows"]),
        inputs=("close",),
    ),
    FeatureDef(
        name="return_zscore",
        func=return_zscore,
        params={"windows": windows_param(2)},
        columns=lambda p: [f"return_zscore_{w}" for w in p["windows"]],
        lookback=lambda p: max(p["windows"]),
        inputs=("close",),
    ),
    FeatureDef(
        name="rsi",
        func=rsi,
        params={"window": window_param(1), "time_constants": number_param()},
        columns=lambda p: [f"rsi_{p['window']}"],
        lookback=lambda p: ewm_span(p["window"], 1.0 / p["window"], p["time_constants"]),
        inputs=("close",),
    ),
    FeatureDef(
        name="macd",
        func=macd,
        params={
            "fast": window_param(1),
            "slow": window_param(2),
            "signal": window_param(1),
            "time_constants": number_param(),
        },
        columns=_macd_columns,
        lookback=_macd_lookback,
        inputs=("close",),
        relation=_macd_relation,
    ),
)
