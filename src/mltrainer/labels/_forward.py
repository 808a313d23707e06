"""Fixed-horizon labels: direction, forward return and forward volatility.

Each uses the closes of bars ``t .. t+h`` of the row's symbol and is known at bar ``t+h``
(``t1``). A symbol's last ``h`` rows get ``NaN``/``NaT``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mltrainer.labels._base import (
    FloatArray,
    IntArray,
    Labels,
    Layout,
    check_float,
    check_int,
    layout,
    log_returns,
)

__all__ = ["direction", "forward_return", "forward_volatility"]


def _forward_log_return(
    bars: pd.DataFrame, horizon: int, label: str
) -> tuple[Layout, FloatArray, IntArray]:
    """Return the layout, sorted-space ``log(close[t+h] / close[t])`` and end rows."""
    lay = layout(bars, ["close"], label=label)
    log_close = np.log(lay.column(bars, "close"))
    rows = np.flatnonzero(lay.ahead >= horizon)
    ret = np.full(lay.n, np.nan)
    ret[rows] = log_close[rows + horizon] - log_close[rows]
    end = np.full(lay.n, -1, dtype=np.intp)
    end[rows] = rows + horizon
    return lay, ret, end


def direction(bars: pd.DataFrame, *, horizon: int = 5, threshold: float = 0.0) -> Labels:
    """Up/down target for signal detection: 1.0 if the forward log return beats a threshold.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars with a ``close`` column, indexed by a tz-aware UTC DatetimeIndex; an optional
        ``symbol`` column makes it a panel (shifts stay within a symbol).
    horizon : int, default 5
        Bars ahead, ``h >= 1``.
    threshold : float, default 0.0
        ``y = 1.0`` if ``log(close[t+h] / close[t]) > threshold`` else ``0.0``.

    Returns
    -------
    Labels
        Classification labels with classes ``[0.0, 1.0]``; ``t1`` = timestamp of bar
        ``t+h``; the last ``h`` rows of each symbol are ``NaN``/``NaT``.
    """
    horizon = check_int("direction", "horizon", horizon, minimum=1)
    threshold = check_float("direction", "threshold", threshold)
    lay, ret, end = _forward_log_return(bars, horizon, "direction")
    y = np.where(np.isnan(ret), np.nan, (ret > threshold).astype(np.float64))
    return lay.labels(
        y,
        end,
        kind="classification",
        name="direction",
        horizon=horizon,
        class_values=(0.0, 1.0),
    )


def forward_return(bars: pd.DataFrame, *, horizon: int = 5) -> Labels:
    """Forward log return ``log(close[t+h] / close[t])`` for price prediction.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars with a ``close`` column (optional ``symbol`` column for panels).
    horizon : int, default 5
        Bars ahead, ``h >= 1``.

    Returns
    -------
    Labels
        Regression labels; ``t1`` = timestamp of bar ``t+h``.
    """
    horizon = check_int("forward_return", "horizon", horizon, minimum=1)
    lay, ret, end = _forward_log_return(bars, horizon, "forward_return")
    return lay.labels(ret, end, kind="regression", name="forward_return", horizon=horizon)


def forward_volatility(
    bars: pd.DataFrame, *, horizon: int = 20, annualize: int | None = None
) -> Labels:
    """Realised volatility over the next ``h`` bars, for risk assessment.

    ``y = sqrt(mean(r[t+1]^2, ..., r[t+h]^2))`` where ``r[i] = log(close[i] / close[i-1])``
    (zero-mean realised volatility), times ``sqrt(annualize)`` when given.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars with a ``close`` column (optional ``symbol`` column for panels).
    horizon : int, default 20
        Bars ahead, ``h >= 1``.
    annualize : int, optional
        Bars per year (e.g. 252 for daily bars); ``None`` leaves per-bar volatility.

    Returns
    -------
    Labels
        Regression labels; ``t1`` = timestamp of bar ``t+h``.
    """
    horizon = check_int("forward_volatility", "horizon", horizon, minimum=1)
    if annualize is not None:
        annualize = check_int("forward_volatility", "annualize", annualize, minimum=1)
    lay = layout(bars, ["close"], label="forward_volatility")
    r = log_returns(np.log(lay.column(bars, "close")), lay)
    rows = np.flatnonzero(lay.ahead >= horizon)
    total = np.zeros(len(rows))
    for step in range(1, horizon + 1):  # loop over steps, not rows; same sum order per row
        total += r[rows + step] ** 2
    y = np.full(lay.n, np.nan)
    y[rows] = np.sqrt(total / horizon) * (np.sqrt(annualize) if annualize else 1.0)
    end = np.full(lay.n, -1, dtype=np.intp)
    end[rows] = rows + horizon
    return lay.labels(y, end, kind="regression", name="forward_volatility", horizon=horizon)
