"""Causal numeric building blocks shared by the feature modules.

Every function here is a forward pass: the value at position ``i`` depends on inputs at
positions ``<= i`` only. Divisions by zero and logs of non-positive numbers give NaN,
never ``inf``, and never a warning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError

__all__ = [
    "column",
    "lagged_diff",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_std",
    "safe_divide",
    "safe_log",
    "seeded_ewm",
]

FloatArray = np.ndarray


def column(bars: pd.DataFrame, name: str, *, feature: str) -> FloatArray:
    """Return ``bars[name]`` as a float64 array, after checking that it is one instrument.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars of a single instrument.
    name : str
        Column to read (``open``, ``high``, ``low``, ``close`` or ``volume``).
    feature : str
        Name of the calling feature, for the error message.

    Returns
    -------
    numpy.ndarray
        The column as float64 (read-only view when no conversion was needed).

    Raises
    ------
    DataError
        When the column is missing, not numeric, or ``bars`` is a multi-symbol panel.
    """
    if "symbol" in bars.columns:
        raise DataError(
            f"feature '{feature}': bars has a 'symbol' column; catalogue functions take one "
            "instrument, call compute_features(bars, spec) for a panel"
        )
    if name not in bars.columns:
        raise DataError(
            f"feature '{feature}': bars has no column '{name}'; add it "
            f"(columns present: {list(map(str, bars.columns))})"
        )
    try:
        return bars[name].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"feature '{feature}': column '{name}' is not numeric ({bars[name].dtype}); "
            "convert it to float64"
        ) from exc


def safe_divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """Return ``num / den`` with NaN wherever ``den`` is zero or not finite."""
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=np.isfinite(den) & (den != 0.0))
    return out


def safe_log(x: FloatArray) -> FloatArray:
    """Return ``log(x)`` with NaN wherever ``x`` is not strictly positive (or is NaN)."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    np.log(x, out=out, where=x > 0.0)
    return out


def lagged_diff(x: FloatArray, lag: int) -> FloatArray:
    """Return ``x[t] - x[t - lag]``, NaN for the first ``lag`` positions."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    if lag < x.shape[0]:
        out[lag:] = x[lag:] - x[:-lag]
    return out


def rolling_mean(x: FloatArray, window: int) -> FloatArray:
    """Trailing mean over ``window`` values; NaN until a full window of non-NaN values."""
    return pd.Series(x, copy=False).rolling(window, min_periods=window).mean().to_numpy()


def rolling_std(x: FloatArray, window: int, *, ddof: int = 1) -> FloatArray:
    """Trailing standard deviation over ``window`` values (exactly 0 on a constant window)."""
    s = pd.Series(x, copy=False).rolling(window, min_periods=window)
    return s.std(ddof=ddof).to_numpy()


def rolling_max(x: FloatArray, window: int) -> FloatArray:
    """Trailing maximum over ``window`` values."""
    return pd.Series(x, copy=False).rolling(window, min_periods=window).max().to_numpy()


def rolling_min(x: FloatArray, window: int) -> FloatArray:
    """Trailing minimum over ``window`` values."""
    return pd.Series(x, copy=False).rolling(window, min_periods=window).min().to_numpy()


def seeded_ewm(x: FloatArray, *, window: int, alpha: float) -> FloatArray:
    """Exponential moving average seeded with the simple mean of the first full window.

    This is the classic definition behind Wilder's smoothing (``alpha = 1 / window``) and
    TA-Lib's EMA (``alpha = 2 / (window + 1)``): the first value is the mean of the first
    ``window`` consecutive non-NaN inputs, then ``y[t] = (1 - alpha) * y[t-1] + alpha * x[t]``.
    A NaN input gives a NaN output at that position and is skipped by the recursion.

    Parameters
    ----------
    x : numpy.ndarray
        Input values, possibly with leading NaNs.
    window : int
        Length of the seeding window (the warm-up).
    alpha : float
        Smoothing factor in ``(0, 1]``.

    Returns
    -------
    numpy.ndarray
        Smoothed values, NaN before the seed.
    """
    x = np.asarray(x, np.float64)
    seed = rolling_mean(x, window)
    valid = ~np.isnan(seed)
    if not valid.any():
        return np.full(x.shape, np.nan)
    start = int(np.argmax(valid))
    head = np.full(start, np.nan)
    y = np.concatenate([head, seed[start : start + 1], x[start + 1 :]])
    out = pd.Series(y, copy=False).ewm(alpha=alpha, adjust=False, ignore_na=True).mean()
    return np.where(np.isnan(y), np.nan, out.to_numpy())
