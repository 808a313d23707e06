"""Design effects: how much more windows of a column vary than independent rows would.

A drift test compares a window of m consecutive rows with the reference. With independent
rows, the window's empirical distribution function deviates from the reference's by the
binomial amount ``F (1 - F) (1/m + 1/n)``; market features are autocorrelated, cluster in
volatility regimes and trend, so windows of consecutive rows deviate far more (on the
bundled S&P 500 features, 2 to 130 times as much for 250-row windows). The *design effect*
``tau(m)`` is that ratio, measured on the reference's own history: slide windows of m rows
over the reference in time order (overlapping, as overlapping batch means do), and for each
indicator ``1{x <= e_k}`` (e_k the reference deciles) or ``1{x == category_k}`` compare the
mean squared deviation of the window share from the rest of the history with the
independent-rows variance. Continuous columns average the nine decile ratios; categorical
columns use Rao and Scott's (1981) mean generalised design effect
``sum_k V_k / p_k / ((K - 1) (1/m + 1/(n - m)))``, the expected chi-square of a window
over its degrees of freedom.

A drift statistic of a window of m rows is then calibrated as if the window and the
reference had ``m / tau`` and ``n / tau`` independent rows: KS and chi-square p-values and
the null quantiles of the Wasserstein distance and PSI scale accordingly. For independent
rows ``tau`` is 1 up to estimation noise, which gives back the row-permutation calibration.

The computation is O(n) per column: the rows are cut at every window start and end, one
``bincount`` counts each indicator per segment, and prefix sums give every window's counts.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_WINDOWS",
    "MIN_WINDOWS",
    "WINDOW_GRID",
    "design_effects",
    "effect_at",
    "window_sizes",
]

WINDOW_GRID = np.array(
    [2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
)
"""Window sizes at which a profile stores design effects (plus ``n // MIN_WINDOWS``)."""

MIN_WINDOWS = 10
"""A size is measured only when the reference holds this many disjoint windows of it."""

MAX_WINDOWS = 2_000
"""Window starts used per size (evenly spaced; every row start when fewer fit)."""


def window_sizes(n: int) -> np.ndarray:
    """The grid sizes measurable on ``n`` rows, plus the largest one, ``n // MIN_WINDOWS``."""
    top = n // MIN_WINDOWS
    if top < 2:
        return np.zeros(0, dtype=np.int64)
    sizes = WINDOW_GRID[top > WINDOW_GRID]
    return np.append(sizes, top).astype(np.int64)


def _starts(n: int, size: int) -> np.ndarray:
    """Window starts: every row, or evenly spaced (at most MAX_WINDOWS, at least 1/32
    of a window apart: overlapping batch means lose little beyond that)."""
    stride = max(1, (n - size) // MAX_WINDOWS, size // 32)
    return np.arange(0, n - size + 1, stride, dtype=np.int64)


def design_effects(
    codes: np.ndarray, n_codes: int, sizes: np.ndarray, *, cumulative: bool
) -> np.ndarray:
    """Design effect of one column at each window size (unfloored; 1 = independent rows).

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        The non-missing values in time order, coded 0 .. n_codes - 1: the number of
        reference deciles below the value (continuous) or the category index.
    n_codes : int
    sizes : ndarray of int
        Window sizes, each at most ``n // 2``.
    cumulative : bool
        Continuous column: indicators ``code <= k`` (k < n_codes - 1), ratios averaged.
        Categorical: indicators ``code == k``, Rao-Scott mean generalised design effect.

    Returns
    -------
    ndarray, shape (len(sizes),)
        NaN where the column takes a single value (no indicator varies).
    """
    n = int(codes.size)
    out = np.full(len(sizes), np.nan)
    if n < 4 or len(sizes) == 0:
        return out
    starts = [_starts(n, int(b)) for b in sizes]
    cuts = np.sort(
        np.concatenate([np.concatenate([s, s + b]) for s, b in zip(starts, sizes, strict=True)])
    )
    cuts = cuts[(cuts > 0) & (cuts < n)]
    cuts = cuts[np.concatenate([[True], cuts[1:] != cuts[:-1]])] if cuts.size else cuts
    bounds = np.concatenate([[0], cuts, [n]])
    keys = np.repeat(np.arange(bounds.size - 1, dtype=np.int64) * n_codes, np.diff(bounds))
    keys += codes
    counts = np.bincount(keys, minlength=(bounds.size - 1) * n_codes)
    prefix = np.zeros((bounds.size, n_codes))
    np.cumsum(counts.reshape(-1, n_codes), axis=0, out=prefix[1:])
    if cumulative:
        prefix = np.cumsum(prefix, axis=1)[:, :-1]  # rows with code <= k
    total = prefix[-1] / n
    varying = (total > 0) & (total < 1)
    if not varying.any():
        return out
    total = total[varying]
    prefix = prefix[:, varying]
    for i, (s, b) in enumerate(zip(starts, sizes, strict=True)):
        b = int(b)
        window = (prefix[np.searchsorted(bounds, s + b)] - prefix[np.searchsorted(bounds, s)]) / b
        dev2 = np.mean(((window - total) * (n / (n - b))) ** 2, axis=0)  # window vs the rest
        scale = 1.0 / b + 1.0 / (n - b)
        if cumulative:
            out[i] = float(np.mean(dev2 / (total * (1 - total) * scale)))
        else:
            k = max(int(varying.sum()) - 1, 1)
            out[i] = float(np.sum(dev2 / total) / (k * scale))
    return out


def effect_at(sizes: np.ndarray, effects: np.ndarray, m: np.ndarray | float) -> np.ndarray:
    """Design effect for windows of ``m`` rows, floored at 1.

    Interpolated linearly in ``log m`` between the stored sizes (with ``tau(1) = 1``: a
    single row is an independent draw). Beyond the largest stored size it is extrapolated
    with the log-log slope from the largest stored size at most a quarter as long (clipped to
    [0, 1]: windows never vary less with length, and at most as one draw each), and
    capped at ``m`` (a window is at least one independent row). 1 where nothing was
    stored (independent rows).
    """
    m_arr = np.atleast_1d(np.asarray(m, dtype=np.float64))
    keep = np.isfinite(effects)
    if sizes.size == 0 or not keep.any():
        return np.ones_like(m_arr)
    size = np.concatenate([[1.0], sizes[keep].astype(np.float64)])
    x = np.log(size)
    y = np.log(np.maximum(np.concatenate([[1.0], effects[keep]]), 1e-12))
    at = np.log(np.maximum(m_arr, 1.0))
    log_tau = np.interp(at, x, y)
    below = np.flatnonzero(size <= size[-1] / 4)
    if below.size:
        j = int(below[-1])
        slope = float(np.clip((y[-1] - y[j]) / (x[-1] - x[j]), 0.0, 1.0))
        beyond = at > x[-1]
        log_tau[beyond] = y[-1] + slope * (at[beyond] - x[-1])
    tau = np.minimum(np.exp(log_tau), np.maximum(m_arr, 1.0))
    return np.asarray(np.maximum(tau, 1.0))
