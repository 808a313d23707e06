"""Downsampling of a time series for charts: M4 (first, last, min, max per time bucket).

M4 keeps, in each of ``max_points / 4`` equal time buckets, the first and last point and
the points of the smallest and largest value, so a line chart of the result draws the same
pixels as one of every point (Jugel et al., "M4: a visualization-oriented time series data
aggregation", VLDB 2014) while a response never holds more than ``max_points`` points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["m4_indices"]


def _extreme(values: np.ndarray, buckets: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Index of the smallest value in each bucket (NaN last), by one stable sort."""
    order = np.lexsort((np.where(np.isnan(values), np.inf, values), buckets))
    return order[starts]


def m4_indices(times: np.ndarray, values: np.ndarray, max_points: int) -> np.ndarray:
    """Positions of the points to keep, ascending; all of them when they fit.

    Parameters
    ----------
    times : ndarray of float, ascending
        Epoch seconds of each point.
    values : ndarray of float
        The values (NaN for an undefined point).
    max_points : int
        The most points to return (at least 4 for M4; fewer keeps evenly spaced points).

    Returns
    -------
    ndarray of int

    Examples
    --------
    >>> t = np.arange(10.0)
    >>> m4_indices(t, np.sin(t), 100).tolist() == list(range(10))
    True
    >>> len(m4_indices(np.arange(1000.0), np.arange(1000.0), 40)) <= 40
    True
    """
    n = len(times)
    if n <= max_points:
        return np.arange(n)
    if max_points < 4:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    n_buckets = max_points // 4
    span = float(times[-1] - times[0])
    position = np.arange(n, dtype=np.float64) / n if span <= 0 else (times - times[0]) / span
    buckets = np.minimum((position * n_buckets).astype(np.int64), n_buckets - 1)
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], n] - 1
    low = _extreme(values, buckets, starts)
    high = _extreme(-values, buckets, starts)
    return np.unique(np.concatenate([starts, ends, low, high]))
