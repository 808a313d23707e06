"""Mean-reversion features: distance of the close from its recent mean and range.

Each function takes the bars of ONE instrument (a frame indexed by time) and returns a new
float64 frame with the same index. Values at row ``t`` use rows ``<= t`` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._numeric import column, rolling_max, rolling_mean, rolling_min, rolling_std, safe_divide
from ._params import FeatureDef, number_param, window_param, windows_param

__all__ = ["DEFINITIONS", "bollinger", "ma_zscore", "stochastic"]


def ma_zscore(bars: pd.DataFrame, *, windows: Sequence[int] = (20,)) -> pd.DataFrame:
    """Z-score of the close against its simple moving average: ``(close - SMA) / std``.

    The standard deviation is the sample one (``ddof=1``) of the same ``w`` closes.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    windows : sequence of int, default (20,)
        Window lengths (each >= 2).

    Returns
    -------
    pandas.DataFrame
        Columns ``ma_zscore_{w}``; the first ``w - 1`` rows are NaN, and so is any row whose
        window is flat.
    """
    close = column(bars, "close", feature="ma_zscore")
    data = {
        f"ma_zscore_{w}": safe_divide(close - rolling_mean(close, w), rolling_std(close, w))
        for w in windows
    }
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def _band_suffix(window: int, n_std: float) -> str:
    return f"{window}" if n_std == 2.0 else f"{window}_{n_std:g}".replace(".", "p")


def bollinger(bars: pd.DataFrame, *, window: int = 20, n_std: float = 2.0) -> pd.DataFrame:
    """Bollinger %B and band width.

    Bands are ``SMA ± n_std * std`` with the population standard deviation (``ddof=0``), as
    John Bollinger and TA-Lib define them. ``%B = (close - lower) / (upper - lower)`` (0 at
    the lower band, 1 at the upper); ``width = (upper - lower) / SMA``.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``close`` column.
    window : int, default 20
        Window length (>= 2).
    n_std : float, default 2.0
        Band half-width in standard deviations (> 0).

    Returns
    -------
    pandas.DataFrame
        Columns ``bb_pctb_{window}`` and ``bb_width_{window}`` (with ``_{n_std}`` appended,
        ``.`` written ``p``, when ``n_std != 2``); the first ``window - 1`` rows are NaN and
        %B is NaN on a flat window.
    """
    close = column(bars, "close", feature="bollinger")
    mean = rolling_mean(close, window)
    half = n_std * rolling_std(close, window, ddof=0)
    suffix = _band_suffix(window, n_std)
    data = {
        f"bb_pctb_{suffix}": safe_divide(close - (mean - half), 2.0 * half),
        f"bb_width_{suffix}": safe_divide(2.0 * half, mean),
    }
    return pd.DataFrame(data, index=bars.index, dtype=np.float64)


def stochastic(bars: pd.DataFrame, *, window: int = 14) -> pd.DataFrame:
    """Stochastic %K on a 0-1 scale: where the close sits in the ``window``-bar high-low range.

    ``(close - lowest low) / (highest high - lowest low)``, NaN when the range is zero.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with ``high``, ``low`` and ``close`` columns.
    window : int, default 14
        Window length (>= 1).

    Returns
    -------
    pandas.DataFrame
        Column ``stoch_k_{window}``; the first ``window - 1`` rows are NaN.
    """
    high = column(bars, "high", feature="stochastic")
    low = column(bars, "low", feature="stochastic")
    close = column(bars, "close", feature="stochastic")
    lowest = rolling_min(low, window)
    values = safe_divide(close - lowest, rolling_max(high, window) - lowest)
    return pd.DataFrame({f"stoch_k_{window}": values}, index=bars.index, dtype=np.float64)


def _bollinger_columns(p: Mapping[str, Any]) -> list[str]:
    suffix = _band_suffix(p["window"], p["n_std"])
    return [f"bb_pctb_{suffix}", f"bb_width_{suffix}"]


DEFINITIONS = (
    FeatureDef(
        name="ma_zscore",
        func=ma_zscore,
        params={"windows": windows_param(2)},
        columns=lambda p: [f"ma_zscore_{w}" for w in p["windows"]],
        lookback=lambda p: max(p["windows"]) - 1,
        inputs=("close",),
    ),
    FeatureDef(
        name="bollinger",
        func=bollinger,
        params={"window": window_param(2), "n_std": number_param()},
        columns=_bollinger_columns,
        lookback=lambda p: p["window"] - 1,
        inputs=("close",),
    ),
    FeatureDef(
        name="stochastic",
        func=stochastic,
        params={"window": window_param(1)},
        columns=lambda p: [f"stoch_k_{p['window']}"],
        lookback=lambda p: p["window"] - 1,
        inputs=("high", "low", "close"),
    ),
)
