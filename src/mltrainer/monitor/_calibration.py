"""Size-aware effect thresholds: the null spread of a drift statistic for a window size.

Under no drift, two samples of sizes n and m from a distribution F have a Wasserstein-1
distance W with ``sqrt(n m / (n + m)) * W -> integral |B(F(x))| dx``, B a Brownian
bridge (del Barrio, Gine & Matran 1999). Its law depends on F only through the quantile
function, so it is simulated once per reference column on the reference's quantile grid
and stored as quantiles; a window of m rows then has the null threshold
``q(1 - alpha) * sqrt(1/n + 1/m)``: small windows get larger thresholds, large windows
smaller ones, with no resampling at monitoring time. For categorical columns PSI is
asymptotically ``chi2(k - 1) * (1/n + 1/m)`` under no drift.

Rows that are not independent (see :mod:`mltrainer.monitor._dependence`) enter through a
design effect ``tau``: the same laws hold with ``n / tau`` and ``m / tau`` rows, so the
thresholds are multiplied by ``sqrt(tau)`` (Wasserstein) or ``tau`` (PSI).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "NULL_LEVELS",
    "psi_null_quantile",
    "simulate_bridges",
    "wasserstein_null_quantiles",
    "wasserstein_pvalues",
    "wasserstein_threshold",
]

NULL_LEVELS = np.array([0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9995, 0.9999])
"""Levels at which the null quantiles of the scaled Wasserstein distance are stored."""

_GRID = 128
_SIMS = 20_000


def simulate_bridges(random_state: int = 0) -> np.ndarray:
    """|B(u)| of 20,000 Brownian bridges, averaged over the steps of a 128-point u grid.

    Shape (20_000, 126): column k is the mean of ``|B|`` at ``k/128`` and ``(k+1)/128``,
    for k = 1..126. Simulated once per profile and shared by its columns, in float32
    (ample for quantiles, half the time and memory).
    """
    u = (np.arange(1, _GRID) / _GRID).astype(np.float32)
    rng = np.random.default_rng(random_state)
    steps = rng.standard_normal((_SIMS, _GRID), dtype=np.float32)
    steps *= np.float32(1 / np.sqrt(_GRID))
    walk = np.cumsum(steps, axis=1)
    bridge = np.abs(walk[:, :-1] - u * walk[:, -1:])
    return np.asarray((bridge[:, 1:] + bridge[:, :-1]) * np.float32(0.5))


def wasserstein_null_quantiles(
    sorted_samples: list[np.ndarray], *, bridges: np.ndarray | None = None, random_state: int = 0
) -> np.ndarray:
    """Quantiles (at :data:`NULL_LEVELS`) of ``integral |B(F(x))| dx`` for each sample's F.

    The integral is ``integral_0^1 |B(u)| dQ(u)``, evaluated on a grid of 128 quantiles
    (the outer 1/128 of each tail is left out) over the simulated ``bridges``
    (:func:`simulate_bridges`, made here when not given): one matrix product for all
    columns. Returns shape (len(sorted_samples), len(NULL_LEVELS)).
    """
    out = np.zeros((len(sorted_samples), NULL_LEVELS.size))
    if not sorted_samples:
        return out
    if bridges is None:
        bridges = simulate_bridges(random_state)
    u = np.arange(1, _GRID) / _GRID
    steps = np.zeros((_GRID - 2, len(sorted_samples)), dtype=bridges.dtype)
    for k, sample in enumerate(sorted_samples):
        n = sample.size
        if n >= 2:
            steps[:, k] = np.diff(sample[np.minimum((u * n).astype(np.int64), n - 1)])
    integral = bridges @ steps
    return np.asarray(np.quantile(integral, NULL_LEVELS, axis=0).T, dtype=np.float64)


def wasserstein_threshold(
    null_quantiles: np.ndarray, level: float, n: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Null quantile at ``level`` for samples of sizes n and m (vectorised over columns).

    ``null_quantiles`` has shape (k, len(NULL_LEVELS)); levels between the stored ones are
    interpolated, beyond them clipped.
    """
    null_quantiles = np.atleast_2d(null_quantiles)
    lvl = float(np.clip(level, NULL_LEVELS[0], NULL_LEVELS[-1]))
    i = int(np.searchsorted(NULL_LEVELS, lvl, side="right") - 1)
    j = min(i + 1, NULL_LEVELS.size - 1)
    w = 0.0 if i == j else (lvl - NULL_LEVELS[i]) / (NULL_LEVELS[j] - NULL_LEVELS[i])
    q = (1 - w) * null_quantiles[:, i] + w * null_quantiles[:, j]
    return np.asarray(q * np.sqrt(1.0 / n + 1.0 / m), dtype=np.float64)


_Z_LEVELS = stats.norm.isf(1.0 - NULL_LEVELS)


def wasserstein_pvalues(null_quantiles: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """P(null >= scaled) for each column, from its stored null quantiles.

    ``scaled`` is the spread-scaled Wasserstein distance divided by
    ``sqrt(tau (1/n + 1/m))``, i.e. on the size-free scale of ``null_quantiles`` (shape
    (k, len(NULL_LEVELS))). Between stored levels the normal score of the level is
    interpolated linearly in the distance; beyond the last level the last segment is
    extended (a Gaussian tail, as the norm of a Gaussian process has); below the median
    the p-value falls linearly from 1 to 0.5.
    """
    null_quantiles = np.atleast_2d(null_quantiles)
    scaled = np.asarray(scaled, dtype=np.float64)
    out = np.ones(scaled.size)
    for j, (q, w) in enumerate(zip(null_quantiles, scaled, strict=True)):
        if not w > 0:
            continue
        if not q[-1] > 0:  # a constant reference: any distance is drift
            out[j] = 0.0
            continue
        if w <= q[0]:
            out[j] = 1.0 - 0.5 * w / q[0] if q[0] > 0 else 0.5
            continue
        if w >= q[-1]:
            slope = (_Z_LEVELS[-1] - _Z_LEVELS[-2]) / max(q[-1] - q[-2], 1e-12 * q[-1])
            z = _Z_LEVELS[-1] + slope * (w - q[-1])
        else:
            z = float(np.interp(w, q, _Z_LEVELS))
        out[j] = float(stats.norm.sf(z))
    return out


def psi_null_quantile(
    level: float, n_categories: np.ndarray, n: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Null quantile of PSI over ``n_categories`` cells for samples of sizes n and m."""
    dof = np.maximum(np.asarray(n_categories, dtype=np.float64) - 1, 1)
    return np.asarray(stats.chi2.ppf(level, dof) * (1.0 / n + 1.0 / m), dtype=np.float64)
