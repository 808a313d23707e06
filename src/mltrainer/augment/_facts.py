"""Windows of bar moves, and the stylized facts of returns measured on them.

A window is ``W`` consecutive bars as three channels: the close-to-close log return, the
log range ``log(high / low)`` and the change in ``log(1 + volume)``. Facts are measured
on many windows at once, pooling the pairs of every window (so windows of real data,
of a bootstrap and of a generator are measured the same way; return autocorrelations
take each window's pairs about that window's own means, the others the pooled means):

- ``kurtosis``: excess kurtosis of the returns (heavy tails: well above 0 for markets);
- ``acf_returns``: autocorrelation of returns at lags 1.. (near zero for markets);
- ``acf_abs``: autocorrelation of absolute returns at lags 1.. (positive, slowly
  decaying: volatility clustering);
- ``leverage``: correlation of ``r_t`` with ``|r_{t+k}|`` (negative for equities: falls
  raise later volatility).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mltrainer.augment._paths import bar_moves
from mltrainer.exceptions import DataError

__all__ = [
    "CHANNELS",
    "StylizedFacts",
    "bar_channels",
    "holdout_windows",
    "stylized_facts",
    "windows_from_bars",
    "windows_of",
]

#: Channels of a window.
CHANNELS = ("log_return", "log_range", "log_volume_change")


def windows_of(series: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Every ``window`` consecutive rows of ``series`` (rows x channels), ``stride`` apart.

    Returns
    -------
    ndarray, shape (n_windows, window, n_channels)
    """
    series = np.asarray(series, dtype=float)
    if series.ndim == 1:
        series = series[:, None]
    if series.shape[0] < window:
        return np.zeros((0, window, series.shape[1]))
    view = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)
    return np.ascontiguousarray(view[::stride].transpose(0, 2, 1))


def bar_channels(bars: pd.DataFrame) -> np.ndarray:
    """The three channels of every bar after the first, shape ``(len(bars) - 1, 3)``."""
    moves = bar_moves(bars)
    gap, body, upper, lower, volume_change = moves.T
    return np.column_stack([gap + body, upper + np.abs(body) + lower, volume_change])


def windows_from_bars(bars: pd.DataFrame, window: int, stride: int = 1) -> np.ndarray:
    """Windows (see :data:`CHANNELS`) of ``bars``; too few bars give an empty array."""
    return windows_of(bar_channels(bars), window, stride)


def holdout_windows(
    channels: np.ndarray, window: int, holdout: float, *, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out windows of one contiguous series of bar channels.

    The series is cut into blocks of ``4 * window`` bars; every ``round(1 / holdout)``-th
    block (the last of each group) is held out. A window lies entirely inside one block,
    so no held-out bar is in a training window, and held-out windows come from the same
    era as the training ones (a held-out tail would judge a generator by a regime change).

    Returns
    -------
    (train, heldout) : ndarrays of shape (n, window, channels)
    """
    channels = np.asarray(channels, dtype=float)
    block = 4 * window
    period = max(2, round(1.0 / holdout))
    train: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for k, start in enumerate(range(0, channels.shape[0], block)):
        part = windows_of(channels[start : start + block], window, stride)
        (held if k % period == period - 1 else train).append(part)
    shape = (0, window, channels.shape[1] if channels.ndim == 2 else 1)
    stack = [np.concatenate(p) if p else np.zeros(shape) for p in (train, held)]
    return stack[0], stack[1]


def _pooled_corr(a: np.ndarray, b: np.ndarray, *, within: bool) -> float:
    # within: each window's pairs about that window's own means (for returns, whose
    # autocorrelation should not pick up level differences between windows); else about
    # the pooled means, so volatility that persists across a whole window still counts as
    # clustering (a window is short next to the memory of volatility)
    if within:
        a = (a - a.mean(axis=1, keepdims=True)).ravel()
        b = (b - b.mean(axis=1, keepdims=True)).ravel()
    else:
        a = a.ravel() - a.mean()
        b = b.ravel() - b.mean()
    den = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / den) if den > 0 else 0.0


@dataclass(frozen=True)
class StylizedFacts:
    """Stylized facts of the returns in a set of windows (see the module docstring)."""

    kurtosis: float
    acf_returns: np.ndarray
    acf_abs: np.ndarray
    leverage: np.ndarray
    volatility: float
    n_windows: int

    def as_dict(self) -> dict[str, object]:
        """JSON-able values."""
        return {
            "kurtosis": self.kurtosis,
            "acf_returns": self.acf_returns.tolist(),
            "acf_abs": self.acf_abs.tolist(),
            "leverage": self.leverage.tolist(),
            "volatility": self.volatility,
            "n_windows": self.n_windows,
        }


def stylized_facts(windows: np.ndarray, *, max_lag: int = 20) -> StylizedFacts:
    """The stylized facts of the returns (channel 0) of ``windows``.

    Parameters
    ----------
    windows : ndarray, shape (n, W) or (n, W, channels)
        Return windows (raw, not standardised).
    max_lag : int, default 20
        Largest lag of the autocorrelations (at most ``W - 2``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> facts = stylized_facts(rng.standard_normal((200, 64)), max_lag=5)
    >>> abs(facts.kurtosis) < 0.2, facts.acf_abs.shape
    (True, (5,))
    """
    w = np.asarray(windows, dtype=float)
    r = w[..., 0] if w.ndim == 3 else w
    if r.ndim != 2 or r.shape[0] < 1 or r.shape[1] < 4:
        raise DataError(f"stylized facts need windows of at least 4 returns, got {r.shape}")
    lags = np.arange(1, min(max_lag, r.shape[1] - 2) + 1)
    x = r - r.mean()
    var = np.mean(x * x)
    kurt = float(np.mean(x**4) / var**2 - 3.0) if var > 0 else 0.0
    a = np.abs(r)
    acf_r = np.array([_pooled_corr(r[:, :-k], r[:, k:], within=True) for k in lags])
    acf_a = np.array([_pooled_corr(a[:, :-k], a[:, k:], within=False) for k in lags])
    lev = np.array(
        [_pooled_corr(r[:, :-k], a[:, k:], within=False) for k in lags[: min(10, lags.size)]]
    )
    return StylizedFacts(kurt, acf_r, acf_a, lev, float(np.sqrt(var)), int(r.shape[0]))
