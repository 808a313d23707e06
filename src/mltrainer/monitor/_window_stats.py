"""The statistics of one window against the profile, column by column.

:func:`continuous_stats` sorts the window once and reads, per continuous column, the KS
statistic, PSI and scaled Wasserstein distance, their p-values and the effect threshold,
all calibrated with the column's design effect for the window's size;
:func:`categorical_stats` does the same with chi-square and PSI for one categorical
column. :mod:`mltrainer.monitor._drift` adjusts the p-values and decides the flags.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError
from mltrainer.monitor._calibration import (
    psi_null_quantile,
    wasserstein_pvalues,
    wasserstein_threshold,
)
from mltrainer.monitor._column import ColumnProfile
from mltrainer.monitor._statistics import (
    chi2_homogeneity,
    ks_pvalues,
    ks_statistic,
    psi,
    wasserstein_sorted,
)

__all__ = ["categorical_stats", "continuous_stats"]


def _one_continuous(col: ColumnProfile, cur: np.ndarray, jn: np.ndarray) -> dict[str, Any]:
    """KS statistic, PSI and scaled Wasserstein of one column's sorted current values."""
    m = cur.size
    ref = col.sample
    cut = np.searchsorted(cur, col.bin_edges, side="right")
    freq = np.diff(np.concatenate([[0], cut, [m]])) / m
    return {
        "test": "ks",
        "statistic": ks_statistic(ref, cur, jn=jn),
        "psi": psi(col.bin_freq, freq),
        "wasserstein": wasserstein_sorted(ref, cur) / col.spread,
        "n_ref": col.n_reference,
        "n_current": int(m),
    }


def continuous_stats(
    cols: list[ColumnProfile],
    frame: pd.DataFrame,
    level: float,
    floor: float,
    n_jobs: int,
    calibration: str,
) -> list[dict[str, Any]]:
    """KS, Wasserstein and PSI of every continuous column (one sort of the window)."""
    names = [c.name for c in cols]
    ordered = np.array(frame[names].to_numpy(dtype=np.float64, na_value=np.nan).T, order="C")
    ordered.sort(axis=1)  # in place, one row per feature; NaN sort last
    counts = np.full(len(cols), ordered.shape[1])
    with_nan = np.flatnonzero(np.isnan(ordered[:, -1]))
    counts[with_nan] -= np.isnan(ordered[with_nan]).sum(axis=1)
    if (counts == 0).any():
        bad = names[int(np.flatnonzero(counts == 0)[0])]
        raise DataError(f"feature '{bad}' has no non-missing values in the current window")
    ends = ordered[np.arange(len(cols)), counts - 1]
    infinite = np.isinf(ordered[:, 0]) | np.isinf(ends)
    if infinite.any():
        bad = names[int(np.flatnonzero(infinite)[0])]
        raise DataError(f"feature '{bad}' holds inf values in the current window: use NaN or clip")
    steps: dict[tuple[int, int], np.ndarray] = {}  # arange(m) * n, shared by equal sizes
    jobs = []
    for col, row, m in zip(cols, ordered, counts, strict=True):
        key = (int(m), col.sample.size)
        if key not in steps:
            steps[key] = np.arange(0, key[0] * key[1], key[1], dtype=np.int64)
        jobs.append((col, row[: key[0]], steps[key]))
    if n_jobs > 1 and len(jobs) > 1:  # searchsorted and sorts release the GIL
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            rows = list(pool.map(lambda job: _one_continuous(*job), jobs))
    else:
        rows = [_one_continuous(*job) for job in jobs]
    d = np.array([r["statistic"] for r in rows])
    n = np.array([r["n_ref"] for r in rows], dtype=np.float64)
    m_arr = counts.astype(np.float64)
    tau = _taus(cols, m_arr, calibration)
    p_ks = ks_pvalues(d, n / tau, m_arr / tau)
    null = np.vstack([c.null_w1 for c in cols])
    w1 = np.array([r["wasserstein"] for r in rows])
    p_w1 = wasserstein_pvalues(null, w1 / np.sqrt(tau * (1.0 / n + 1.0 / m_arr)))
    pvals = np.minimum(1.0, 2.0 * np.minimum(p_ks, p_w1))
    thresholds = np.maximum(floor, wasserstein_threshold(null, level, n, m_arr) * np.sqrt(tau))
    for r, p, t, k in zip(rows, pvals, thresholds, tau, strict=True):
        r.update(
            p_value=float(p), effect=r["wasserstein"], effect_threshold=float(t),
            design_effect=float(k),
        )  # fmt: skip
    return rows


def _taus(cols: Sequence[ColumnProfile], m: np.ndarray, calibration: str) -> np.ndarray:
    """Each column's design effect for its window size (1 under ``calibration="rows"``)."""
    if calibration == "rows":
        return np.ones(len(cols))
    return np.array([float(c.tau(size)[0]) for c, size in zip(cols, m, strict=True)])


def categorical_stats(
    col: ColumnProfile, values: pd.Series, level: float, floor: float, calibration: str
) -> dict:
    """Chi-square, PSI (and Wasserstein for numeric categories) of one categorical column.

    With a design effect ``tau`` the chi-square statistic is divided by it (Rao and
    Scott's first-order correction) and the PSI null quantile multiplied by it.
    """
    values = values[values.notna()]
    m = values.size
    if m == 0:
        raise DataError(f"feature '{col.name}' has no non-missing values in the current window")
    ref_counts = np.append(col.counts, 0.0)  # last cell: categories unseen in the reference
    wasserstein = math.nan
    if col.numeric:
        if not pd.api.types.is_numeric_dtype(values.dtype):
            raise DataError(
                f"feature '{col.name}' is {values.dtype} in the current window but numeric in"
                " the reference: convert it to numbers"
            )
        cats = np.asarray(col.categories, dtype=np.float64)
        cur = np.sort(values.to_numpy(dtype=np.float64))
        pos = np.clip(np.searchsorted(cats, cur), 0, cats.size - 1)
        codes = np.where(cats[pos] == cur, pos, cats.size)
        grid = np.union1d(cats, pd.unique(cur))
        ref_cdf = np.concatenate([[0.0], np.cumsum(col.counts) / col.n])
        f_ref = ref_cdf[np.searchsorted(cats, grid, side="right")]
        f_cur = np.searchsorted(cur, grid, side="right") / m
        wasserstein = float(np.dot(np.abs(f_ref - f_cur)[:-1], np.diff(grid))) / col.spread
    else:
        codes = pd.Index(col.categories).get_indexer(values.astype(str).to_numpy())
        codes = np.where(codes < 0, len(col.categories), codes)
    cur_counts = np.bincount(codes, minlength=len(col.categories) + 1).astype(np.float64)
    tau = float(_taus([col], np.array([float(m)]), calibration)[0])
    statistic, p_value = chi2_homogeneity(ref_counts, cur_counts, design_effect=tau)
    value = psi(ref_counts / col.n, cur_counts / m)
    cells = int(np.count_nonzero(ref_counts + cur_counts))
    null = psi_null_quantile(level, np.array([cells]), np.array([col.n]), np.array([m]))[0]
    null *= tau
    return {
        "test": "chi2",
        "statistic": statistic,
        "p_value": p_value,
        "psi": value,
        "wasserstein": wasserstein,
        "effect": value,
        "effect_threshold": float(max(floor**2, null)),
        "n_current": int(m),
        "design_effect": tau,
    }
