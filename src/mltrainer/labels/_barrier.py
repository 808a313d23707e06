"""Triple-barrier labels (López de Prado, *Advances in Financial Machine Learning*, ch. 3).

Each row opens a position at ``close[t]`` with a profit-taking barrier above, a stop-loss
barrier below, both scaled by the causal volatility ``sigma_t``, and a vertical barrier
``h`` bars later. The label is the barrier touched first; ``t1`` is the bar that touched.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from mltrainer.labels._base import (
    FloatArray,
    Labels,
    Layout,
    check_choice,
    check_float,
    check_int,
    layout,
    log_returns,
)

__all__ = ["rolling_volatility", "triple_barrier"]


def rolling_volatility(r: FloatArray, lay: Layout, *, window: int) -> FloatArray:
    """Causal rolling sample std (``ddof=1``) of sorted-space 1-bar log returns.

    ``sigma[t]`` uses ``r[t-window+1 .. t]`` of the same symbol; it is NaN until a symbol
    has ``window`` returns (its first ``window`` rows), since each symbol's first return is
    NaN and NaN spreads to every window that crosses into the previous symbol. Each value
    depends only on its own window (a two-pass sum in a fixed order), so it is the same
    whatever rows precede or follow it.
    """
    sigma = np.full(lay.n, np.nan)
    if lay.n < window:
        return sigma
    stop = lay.n - window + 1  # number of full windows; window k ends at row k + window - 1
    total = np.zeros(stop)
    for lag in range(window):  # loop over window lags, not rows
        total += r[lag : lag + stop]
    mean = total / window
    squares = np.zeros(stop)
    for lag in range(window):
        squares += (r[lag : lag + stop] - mean) ** 2
    sigma[window - 1 :] = np.sqrt(squares / (window - 1))
    return sigma


def triple_barrier(
    bars: pd.DataFrame,
    *,
    horizon: int = 10,
    vol_window: int = 20,
    upper: float = 2.0,
    lower: float = 2.0,
    use_high_low: bool = True,
    vertical: Literal["zero", "sign"] = "zero",
) -> Labels:
    """Label each bar by which of three barriers its forward path touches first.

    With ``sigma_t`` the rolling std (``vol_window`` bars, up to and including ``t``) of
    1-bar log returns, the barriers are ``close[t] * exp(+upper * sigma_t * sqrt(h))`` and
    ``close[t] * exp(-lower * sigma_t * sqrt(h))``. Bars ``t+1 .. t+h`` are scanned in
    order: the first whose high (close if not ``use_high_low``) reaches the upper barrier
    gives ``+1``, whose low (close) reaches the lower barrier gives ``-1``. When neither is
    touched the label is ``0`` (``vertical="zero"``) or the sign of ``log(close[t+h] /
    close[t])`` with a zero return counted as ``-1`` (``vertical="sign"``).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars with ``close`` (and ``high``, ``low`` when ``use_high_low``), indexed by a
        tz-aware UTC DatetimeIndex; an optional ``symbol`` column makes it a panel.
    horizon : int, default 10
        Vertical barrier, in bars (``>= 1``).
    vol_window : int, default 20
        Bars of returns in ``sigma_t`` (``>= 2``); the first ``vol_window`` rows of each
        symbol have no ``sigma_t`` and get ``NaN``.
    upper, lower : float, default 2.0
        Barrier widths in units of ``sigma_t * sqrt(h)`` (finite, ``>= 0``).
    use_high_low : bool, default True
        Test barriers against the bar's high/low (intrabar touches) or only its close.
    vertical : {"zero", "sign"}, default "zero"
        Label when the vertical barrier is reached first.

    Returns
    -------
    Labels
        Classification labels with classes ``[-1, 0, 1]`` (``[-1, 1]`` with
        ``vertical="sign"``). ``t1`` is the touching bar, else bar ``t+h``. A row is
        ``NaN`` when ``sigma_t`` is undefined or when bar ``t+h`` is beyond its symbol's
        data, even if a barrier is touched earlier: whether a row is labelled must not
        depend on its outcome (nothing is filled).

    Notes
    -----
    A bar that reaches both barriers gives ``-1``: bars do not say which came first, and
    assuming the stop was hit is the conservative choice for a strategy's backtest.
    """
    label = "triple_barrier"
    horizon = check_int(label, "horizon", horizon, minimum=1)
    vol_window = check_int(label, "vol_window", vol_window, minimum=2)
    upper = check_float(label, "upper", upper, minimum=0.0)
    lower = check_float(label, "lower", lower, minimum=0.0)
    use_high_low = check_choice(label, "use_high_low", use_high_low, (True, False))
    vertical = check_choice(label, "vertical", vertical, ("zero", "sign"))

    lay = layout(bars, ["close", "high", "low"] if use_high_low else ["close"], label=label)
    close = lay.column(bars, "close")
    high = lay.column(bars, "high") if use_high_low else close
    low = lay.column(bars, "low") if use_high_low else close
    sigma = rolling_volatility(log_returns(np.log(close), lay), lay, window=vol_window)

    # A row is labelled only when its whole horizon exists: keeping rows whose barrier was
    # touched early near the data end, and dropping the rest, would select rows by outcome.
    rows = np.flatnonzero(~np.isnan(sigma) & (lay.ahead >= horizon))
    width = sigma[rows] * math.sqrt(horizon)
    top = close[rows] * np.exp(upper * width)
    bottom = close[rows] * np.exp(-lower * width)
    y = np.full(lay.n, np.nan)
    end = np.full(lay.n, -1, dtype=np.intp)

    active = np.arange(len(rows))  # positions in `rows` still waiting for a touch
    for step in range(1, horizon + 1):  # loop over horizon steps, not rows
        if not len(active):
            break
        bar = rows[active] + step
        down = low[bar] <= bottom[active]
        hit = down | (high[bar] >= top[active])
        y[rows[active[hit]]] = np.where(down[hit], -1.0, 1.0)  # both in one bar -> -1
        end[rows[active[hit]]] = bar[hit]
        active = active[~hit]

    start = rows[active]  # untouched after h bars
    if vertical == "sign":
        y[start] = np.where(close[start + horizon] > close[start], 1.0, -1.0)
    else:
        y[start] = 0.0
    end[start] = start + horizon
    classes = (-1.0, 1.0) if vertical == "sign" else (-1.0, 0.0, 1.0)
    return lay.labels(
        y, end, kind="classification", name=label, horizon=horizon, class_values=classes
    )
