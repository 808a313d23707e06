"""Volume features.

Each function takes the bars of ONE instrument (a frame indexed by time) and returns a new
float64 frame with the same index. Values at row ``t`` use rows ``<= t`` only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._numeric import column, rolling_mean, rolling_std, safe_divide
from ._params import FeatureDef, window_param

__all__ = ["DEFINITIONS", "volume_zscore"]


def volume_zscore(bars: pd.DataFrame, *, window: int = 20) -> pd.DataFrame:
    """Z-score of ``log1p(volume)`` against its trailing mean and sample standard deviation.

    ``log1p`` keeps zero volume finite; a window with constant volume (e.g. all zero) gives
    NaN rather than a division by zero. Negative volume is treated as missing (NaN).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of one instrument with a ``volume`` column.
    window : int, default 20
        Window length (>= 2).

    Returns
    -------
    pandas.DataFrame
        Column ``volume_zscore_{window}``; the first ``window - 1`` rows are NaN.
    """
    volume = column(bars, "volume", feature="volume_zscore")
    log_volume = np.log1p(np.where(volume >= 0.0, volume, np.nan))
    values = safe_divide(
        log_volume - rolling_mean(log_volume, window), rolling_std(log_volume, window)
    )
    return pd.DataFrame({f"volume_zscore_{window}": values}, index=bars.index, dtype=np.float64)


DEFINITIONS = (
    FeatureDef(
        name="volume_zscore",
        func=volume_zscore,
        params={"window": window_param(2)},
        columns=lambda p: [f"volume_zscore_{p['window']}"],
        lookback=lambda p: p["window"] - 1,
        inputs=("volume",),
    ),
)
