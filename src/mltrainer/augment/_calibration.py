"""Probability calibration on purged out-of-fold predictions, and how to measure it.

Over-sampling changes the class balance a model learns, so its probabilities are off
(van den Goorbergh et al. 2022). A calibration map (isotonic, or Platt's sigmoid of the
logit) is fitted on the out-of-fold probabilities of the augmented cross-validation; the
final model is then the classifier plus that map
(:class:`mltrainer.models.CalibratedComposite`). To score the map honestly, the
out-of-fold rows are cut into contiguous blocks and each block is calibrated by a map
fitted on the other blocks' rows less those whose label span overlaps the block's span
(purged, as in the fold loop).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.models import apply_calibration, check_calibration

__all__ = [
    "CALIBRATION_METHODS",
    "brier_score",
    "cross_fitted_calibration",
    "fit_calibration",
    "reliability",
]

#: ``augment.recalibrate`` values that fit a map.
CALIBRATION_METHODS = ("isotonic", "platt")


def _fit_column(method: str, p: np.ndarray, hit: np.ndarray) -> dict[str, Any]:
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, hit)
        return {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    from sklearn.linear_model import LogisticRegression

    q = np.clip(p, 1e-12, 1.0 - 1e-12)
    logit = np.log(q / (1.0 - q))[:, None]
    if np.unique(hit).size < 2:
        return {"a": 1.0, "b": 0.0}
    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(logit, hit)
    return {"a": float(fitted.coef_[0, 0]), "b": float(fitted.intercept_[0])}


def fit_calibration(proba: np.ndarray, y: np.ndarray, method: str) -> dict[str, Any]:
    """A calibration map (see :func:`mltrainer.models.check_calibration`) for ``proba``.

    Parameters
    ----------
    proba : ndarray, shape (n, K)
        Predicted probabilities, columns = classes ``0..K-1``.
    y : ndarray, shape (n,)
        True classes ``0..K-1``.
    method : {"isotonic", "platt"}

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=500)
    >>> y = (rng.uniform(size=500) < p**2).astype(int)  # overconfident probabilities
    >>> cal = fit_calibration(np.column_stack([1 - p, p]), y, "isotonic")
    >>> cal["method"], cal["n_classes"], len(cal["maps"])
    ('isotonic', 2, 1)
    """
    if method not in CALIBRATION_METHODS:
        raise ConfigError(
            f"augment.recalibrate={method!r} is unknown: choose none, isotonic or platt"
        )
    proba = np.asarray(proba, dtype=float)
    y = np.asarray(y).astype(np.int64)
    k = proba.shape[1]
    columns = [1] if k == 2 else range(k)
    maps = [_fit_column(method, proba[:, c], (y == c).astype(float)) for c in columns]
    return check_calibration({"method": method, "n_classes": k, "maps": maps}, k)


def cross_fitted_calibration(
    proba: np.ndarray,
    y: np.ndarray,
    t0: pd.Index,
    t1: pd.Series | pd.Index,
    method: str,
    *,
    n_blocks: int = 5,
) -> np.ndarray:
    """Each row's probabilities calibrated by a map that never saw its block (purged).

    Rows are sorted by ``t0`` and cut into ``n_blocks`` contiguous blocks; a block's map
    is fitted on the other rows whose ``[t0, t1]`` does not overlap the block's span.
    """
    proba = np.asarray(proba, dtype=float)
    y = np.asarray(y)
    start = pd.DatetimeIndex(t0).as_unit("ns").asi8
    end = pd.DatetimeIndex(t1).as_unit("ns").asi8
    order = np.argsort(start, kind="stable")
    out = np.empty_like(proba)
    for block in np.array_split(order, max(1, min(n_blocks, order.size // 20 or 1))):
        lo, hi = start[block].min(), end[block].max()
        train = (end < lo) | (start > hi)
        if np.unique(y[train]).size < 2:
            out[block] = proba[block]
            continue
        out[block] = apply_calibration(
            fit_calibration(proba[train], y[train], method), proba[block]
        )
    return out


def brier_score(proba: np.ndarray, y: np.ndarray) -> float:
    """Brier score: two classes ``mean((p1 - y)^2)``; more ``mean(sum_k (p_k - y_k)^2)``.

    Examples
    --------
    >>> round(brier_score(np.array([[0.8, 0.2], [0.3, 0.7]]), np.array([0, 1])), 6)
    0.065
    """
    proba = np.asarray(proba, dtype=float)
    y = np.asarray(y).astype(np.int64)
    onehot = np.zeros_like(proba)
    onehot[np.arange(y.size), y] = 1.0
    if proba.shape[1] == 2:
        return float(np.mean((proba[:, 1] - onehot[:, 1]) ** 2))
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def reliability(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> dict[str, Any]:
    """Reliability of the probabilities: bins of predicted vs observed, and their ECE.

    Two classes: the second class's probability against its frequency; more: the top
    class's probability (confidence) against accuracy. ``ece`` is the count-weighted
    mean absolute gap between a bin's mean prediction and its observed frequency.
    """
    proba = np.asarray(proba, dtype=float)
    y = np.asarray(y).astype(np.int64)
    if proba.shape[1] == 2:
        p, hit = proba[:, 1], (y == 1).astype(float)
    else:
        top = np.argmax(proba, axis=1)
        p, hit = proba[np.arange(y.size), top], (top == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(float)
    mean_p = np.bincount(which, weights=p, minlength=n_bins).astype(float)
    mean_hit = np.bincount(which, weights=hit, minlength=n_bins).astype(float)
    filled = count > 0
    mean_p[filled] /= count[filled]
    mean_hit[filled] /= count[filled]
    ece = float(np.sum(count[filled] * np.abs(mean_p[filled] - mean_hit[filled])) / count.sum())
    return {
        "ece": ece,
        "bins": [
            {"predicted": float(a), "observed": float(b), "count": int(c)}
            for a, b, c, f in zip(mean_p, mean_hit, count, filled, strict=True)
            if f
        ],
    }
