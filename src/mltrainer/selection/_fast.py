"""Vectorised scores of many permuted blocks at once, for the common scorer names.

A scikit-learn scorer validates its inputs on every call (a few milliseconds); with
``features x repeats x folds`` calls that dominates permutation importance. For the
scorers below, the score of every block of a batch is computed in one NumPy pass,
with the same formulas (``neg_log_loss`` clips probabilities at the dtype's eps;
``roc_auc`` is the Mann-Whitney statistic with mid-ranks, equal to the trapezoidal AUC).
Other scorers go through scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = ["FAST_SCORERS", "fast_scores"]


def _average(values: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """Mean over the last axis (rows of each block), weighted when given."""
    if weight is None:
        return values.mean(axis=-1)
    return (values * weight).sum(axis=-1) / weight.sum()


def _accuracy(model: Any, batch: Any, y: np.ndarray, w: np.ndarray | None, nb: int) -> Any:
    pred = np.asarray(model.predict(batch)).reshape(nb, -1)
    return _average((pred == y).astype(float), w)


def _neg_log_loss(model: Any, batch: Any, y: np.ndarray, w: np.ndarray | None, nb: int) -> Any:
    proba = np.asarray(model.predict_proba(batch))
    classes = np.asarray(model.classes_)
    index = np.searchsorted(classes, y)
    if (index >= classes.size).any() or not np.array_equal(classes[index], y):
        return None  # a test label the model never saw: let scikit-learn say so
    eps = np.finfo(proba.dtype).eps if proba.dtype.kind == "f" else np.finfo(float).eps
    proba = np.clip(proba, eps, 1 - eps).reshape(nb, y.size, classes.size)
    picked = proba[:, np.arange(y.size), index]
    return -_average((-np.log(picked)).astype(float), w)


def _roc_auc(model: Any, batch: Any, y: np.ndarray, w: np.ndarray | None, nb: int) -> Any:
    classes = np.asarray(model.classes_)
    if classes.size != 2 or w is not None:
        return None  # multi-class and weighted AUC: scikit-learn
    positive = y == classes[-1]
    n_pos = int(positive.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    proba = np.asarray(model.predict_proba(batch))[:, -1].reshape(nb, y.size)
    ranks = rankdata(proba, axis=1)
    return (ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _regression(kind: str) -> Callable[..., Any]:
    def score(model: Any, batch: Any, y: np.ndarray, w: np.ndarray | None, nb: int) -> Any:
        pred = np.asarray(model.predict(batch), dtype=float).reshape(nb, -1)
        err = pred - y
        if kind == "mse":
            return -_average(err**2, w)
        if kind == "mae":
            return -_average(np.abs(err), w)
        weight = np.ones_like(y, dtype=float) if w is None else w
        mean = (y * weight).sum() / weight.sum()
        total = ((y - mean) ** 2 * weight).sum()
        if total == 0:
            return None
        return 1.0 - (err**2 * weight).sum(axis=1) / total

    return score


#: Scorer name -> vectorised implementation.
FAST_SCORERS: dict[str, Callable[..., Any]] = {
    "accuracy": _accuracy,
    "neg_log_loss": _neg_log_loss,
    "roc_auc": _roc_auc,
    "r2": _regression("r2"),
    "neg_mean_squared_error": _regression("mse"),
    "neg_mean_absolute_error": _regression("mae"),
}


def fast_scores(
    name: str, model: Any, batch: Any, y: np.ndarray, weight: np.ndarray | None, n_blocks: int
) -> np.ndarray | None:
    """Scores of the ``n_blocks`` stacked blocks of ``batch``, or None to use scikit-learn."""
    if not isinstance(name, str) or name not in FAST_SCORERS:
        return None
    out = FAST_SCORERS[name](model, batch, y, weight, n_blocks)
    return None if out is None else np.asarray(out, dtype=float)
