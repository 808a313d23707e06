"""Causal numeric building blocks shared by the feature modules.

Every function here is a forward pass: the value at position ``i`` depends on inputs at
positions ``<= i`` only. Divisions by zero and logs of non-positive numbers give NaN,
never ``inf``, and never a warning.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError

__all__ = [
    "EWM_TIME_CONSTANTS",
    "column",
    "ewm_span",
    "ewm_steps",
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
    """Trailing standard deviation over ``window`` values (exactly 0 on a constant window).

    pandas' running sums leave a residue of the values before a constant window (so 0
    would become ``1e-17`` or so, depending on where the history starts); a window whose
    maximum equals its minimum, tested exactly, gets 0.
    """
    series = pd.Series(x, copy=False)
    rolling = series.rolling(window, min_periods=window)
    out = rolling.std(ddof=ddof).to_numpy(copy=True)
    out[(rolling.max() == rolling.min()).to_numpy()] = 0.0
    return out


def rolling_max(x: FloatArray, window: int) -> FloatArray:
    """Trailing maximum over ``window`` values."""
    return pd.Series(x, copy=False).rolling(window, min_periods=window).max().to_numpy()


def rolling_min(x: FloatArray, window: int) -> FloatArray:
    """Trailing minimum over ``window`` values."""
    return pd.Series(x, copy=False).rolling(window, min_periods=window).min().to_numpy()


#: Default time constants of smoothing after an exponential average's seed (the features'
#: ``time_constants`` parameter): the seed then weighs ``exp(-3)`` (5 %) of the value.
EWM_TIME_CONSTANTS = 3.0


def ewm_steps(alpha: float, time_constants: float = EWM_TIME_CONSTANTS) -> int:
    """Smoothing steps an exponential average runs after its seed: its fixed warm-up.

    The smallest ``m`` with ``(1 - alpha) ** m <= exp(-time_constants)``: after ``m`` steps
    the seed weighs at most ``exp(-time_constants)`` of the value. ``0`` for ``alpha >= 1``
    (no memory).

    Examples
    --------
    >>> ewm_steps(1 / 14)  # Wilder's RSI(14), 3 time constants
    41
    >>> ewm_steps(1 / 14, 6.0)
    81
    >>> ewm_steps(1.0)
    0
    """
    if alpha >= 1.0:
        return 0
    return math.ceil(time_constants / -math.log1p(-alpha) - 1e-9)


def ewm_span(window: int, alpha: float, time_constants: float = EWM_TIME_CONSTANTS) -> int:
    """Number of inputs behind one value of :func:`seeded_ewm`: ``window + ewm_steps(...)``."""
    return window + ewm_steps(alpha, time_constants)


def seeded_ewm(
    x: FloatArray, *, window: int, alpha: float, time_constants: float = EWM_TIME_CONSTANTS
) -> FloatArray:
    """Exponential moving average over a fixed window, seeded with a simple mean.

    The value at ``t`` is the classic seeded average (Wilder's smoothing with
    ``alpha = 1 / window``, TA-Lib's EMA with ``alpha = 2 / (window + 1)``) run over exactly
    the last ``L = window + m`` inputs, ``m = ewm_steps(alpha, time_constants)``: seed
    ``S = mean(x[t-L+1 .. t-m])``, then ``m`` steps ``y = (1 - alpha) * y + alpha * x``.
    In closed form ``y[t] = (1-alpha)^m * S + alpha * sum_{k<m} (1-alpha)^k * x[t-k]``: a
    fixed-length filter, computed for all ``t`` at once by one convolution. So the value at
    ``t`` depends on those ``L`` inputs only, never on where the history starts (an
    average seeded at the first bar would give training and live prediction different
    values for the same bar). A NaN input makes the ``L`` values whose window holds it NaN.

    Parameters
    ----------
    x : numpy.ndarray
        Input values, possibly with leading NaNs.
    window : int
        Length of the seeding mean.
    alpha : float
        Smoothing factor in ``(0, 1]``.
    time_constants : float, default 3.0
        Length of the smoothing after the seed, in time constants ``-1 / log(1 - alpha)``:
        the seed weighs at most ``exp(-time_constants)`` of a value. More is closer to an
        average seeded at the start of a long history, and a longer warm-up.

    Returns
    -------
    numpy.ndarray
        Smoothed values; the first ``L - 1`` positions (and windows with a NaN) are NaN.
    """
    x = np.asarray(x, np.float64)
    steps = ewm_steps(alpha, time_constants)
    decay = 1.0 - alpha
    kernel = np.empty(steps + window)  # kernel[k] weighs x[t - k]
    kernel[:steps] = alpha * decay ** np.arange(steps)
    kernel[steps:] = decay**steps / window
    out = np.full(x.shape, np.nan)
    if x.shape[0] >= kernel.shape[0]:
        out[kernel.shape[0] - 1 :] = np.convolve(x, kernel, mode="valid")
    return out
