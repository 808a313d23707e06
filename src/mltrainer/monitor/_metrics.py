"""Performance metrics of a window of predictions, NaN with a reason where undefined.

No MAPE: realised returns cross zero, so percentage errors divide by values near zero and
explode; directional accuracy and the information coefficient measure what a trading
signal needs instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from mltrainer.exceptions import ConfigError, DataError, did_you_mean
from mltrainer.vocabulary import CLASSIFICATION_METRICS, REGRESSION_METRICS, TRADING_METRICS

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "TRADING_METRICS",
    "Performance",
    "per_sample_loss",
    "performance",
]

KINDS = ("classification", "regression")


@dataclass(frozen=True)
class Performance:
    """Metric values of one window; ``perf["auc"]``, ``in``, ``len`` and iteration work.

    Attributes
    ----------
    values : dict of str to float
        NaN where a metric is undefined for this window.
    reasons : dict of str to str
        Why each NaN value is NaN (e.g. ``"one class in window"``).
    """

    values: dict[str, float]
    reasons: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def as_dict(self) -> dict[str, float]:
        """The values as a plain dict (NaN kept as float NaN)."""
        return dict(self.values)


def check_kind(kind: str) -> None:
    """Refuse an unknown ``kind`` with a did-you-mean hint."""
    if kind not in KINDS:
        hint = did_you_mean(kind, KINDS)
        raise ConfigError(f"kind '{kind}' is unknown{hint}; use one of {list(KINDS)}")


def _vector(values: Any, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise DataError(f"{name} has {arr.size} values but y_true has {n}: align them")
    return arr


def _proba_matrix(proba: Any, n: int) -> np.ndarray:
    """Probabilities as (n, k); a vector means P(positive class) of a binary task."""
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[0] != n:
        raise DataError(f"proba has shape {p.shape}; expected ({n},) or ({n}, n_classes)")
    if not np.isfinite(p).all():
        raise DataError("proba holds NaN or inf values: pass finite probabilities")
    return p


def _classes(y_true: np.ndarray, y_pred: np.ndarray, k: int | None) -> np.ndarray:
    seen = np.unique(np.concatenate([y_true, y_pred]))
    if k is None or seen.size == k:
        return seen
    if seen.size < k and np.isin(seen, np.arange(k)).all():
        return np.arange(k)
    raise DataError(
        f"proba has {k} columns but the labels take {seen.size} values {seen.tolist()[:10]}:"
        " pass labels=[...] naming the class of each column"
    )


def per_sample_loss(
    y_true: Any,
    y_pred: Any,
    *,
    kind: Literal["classification", "regression"],
    proba: Any = None,
    labels: Sequence[Any] | None = None,
) -> np.ndarray:
    """Loss of each sample: what streaming detectors watch.

    Classification: log loss of the true class when ``proba`` is given (probabilities
    clipped to [1e-15, 1 - 1e-15]), else the 0/1 error. Regression: squared error.
    """
    check_kind(kind)
    yt = _vector(y_true, "y_true")
    yp = _vector(y_pred, "y_pred", yt.size)
    if kind == "regression":
        diff = yp.astype(np.float64) - yt.astype(np.float64)
        return np.asarray(diff * diff)
    if proba is None:
        return np.asarray(yt != yp, dtype=np.float64)
    p = _proba_matrix(proba, yt.size)
    classes = np.asarray(labels) if labels is not None else _classes(yt, yp, p.shape[1])
    idx = np.searchsorted(classes, yt)
    idx = np.minimum(idx, classes.size - 1)
    if not np.array_equal(classes[idx], yt):
        raise DataError("y_true holds a class that proba has no column for: pass labels=[...]")
    picked = np.clip(p[np.arange(yt.size), idx], 1e-15, 1 - 1e-15)
    return np.asarray(-np.log(picked))


def _positions(
    y_pred: np.ndarray, proba: np.ndarray | None, classes: np.ndarray, kind: str
) -> np.ndarray:
    """Trading position per sample: sign of the prediction (see :func:`performance`)."""
    if kind == "regression":
        return np.sign(y_pred.astype(np.float64))
    if proba is not None and proba.shape[1] == 2:
        return np.sign(2.0 * proba[:, 1] - 1.0)
    numeric = np.issubdtype(classes.dtype, np.number)
    if numeric and classes.size <= 3 and classes.min() < 0:
        return np.sign(y_pred.astype(np.float64))  # classes such as {-1, 0, 1}
    if classes.size == 2:
        return np.where(y_pred == classes[1], 1.0, -1.0)
    raise DataError(
        "cannot map multiclass predictions to positions: pass numeric classes with"
        " negatives (e.g. -1/0/1) or binary probabilities"
    )


def _trading(
    positions: np.ndarray, returns: np.ndarray, periods_per_year: float | None
) -> tuple[dict[str, float], dict[str, str]]:
    """Hit rate and Sharpe ratio on the rows with a realised return (NaN = not yet known)."""
    known = np.isfinite(returns)
    missing = int(returns.size - known.sum())
    values: dict[str, float] = {"returns_missing": float(missing)}
    reasons: dict[str, str] = {}
    if not known.any():
        for name in ("hit_rate", "sharpe"):
            values[name] = math.nan
            reasons[name] = "no realised return in window"
        return values, reasons
    positions, returns = positions[known], returns[known]
    pnl = positions * returns
    active = positions != 0
    if active.any():
        values["hit_rate"] = float(np.mean(pnl[active] > 0))
    else:
        values["hit_rate"] = math.nan
        reasons["hit_rate"] = "no position taken in window"
    sd = float(np.std(pnl, ddof=1)) if pnl.size > 1 else math.nan
    if not sd > 0:
        values["sharpe"] = math.nan
        reasons["sharpe"] = "strategy returns have no variation in window"
    else:
        scale = math.sqrt(periods_per_year) if periods_per_year else 1.0
        values["sharpe"] = float(np.mean(pnl) / sd * scale)
    return values, reasons


def performance(
    y_true: Any,
    y_pred: Any,
    *,
    kind: Literal["classification", "regression"],
    proba: np.ndarray | None = None,
    returns: np.ndarray | None = None,
    labels: Sequence[Any] | None = None,
    periods_per_year: float | None = None,
) -> Performance:
    """Metrics of one window; undefined ones are NaN with a reason, never an exception.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Realised labels and predictions (classes for classification).
    kind : {"classification", "regression"}
    proba : ndarray, optional
        Probabilities: shape (n, k) (columns in ``labels`` order, default the sorted
        classes) or (n,) = P(positive class) of a binary task. Needed for ``roc_auc``,
        ``log_loss`` and ``brier``.
    returns : ndarray, optional
        Realised returns of each sample, NaN where not known yet; adds ``hit_rate``
        (share of positions with a positive return) and ``sharpe`` (mean / std of
        ``position * return``), both over the rows with a return, and
        ``returns_missing`` (how many rows had none). The position is
        ``sign(prediction)`` for regression; for classification ``sign(2 p - 1)`` with
        binary ``proba``, else the predicted class mapped to +1 / -1 (binary) or its
        sign (classes such as -1/0/1).
    labels : sequence, optional
        Class of each ``proba`` column.
    periods_per_year : float, optional
        Annualise the Sharpe ratio by ``sqrt(periods_per_year)`` (e.g. 252); default none.

    Returns
    -------
    Performance
        Classification: accuracy, precision, recall, f1 (binary, else macro averages),
        roc_auc (one-vs-rest for multiclass), log_loss, brier. Regression: mse, mae, r2,
        directional_accuracy (share of matching signs), ic (Spearman correlation).
    """
    check_kind(kind)
    yt = _vector(y_true, "y_true")
    yp = _vector(y_pred, "y_pred", yt.size)
    if yt.size == 0:
        raise DataError("the window is empty (0 samples): pass at least one prediction")
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    p = None
    classes = np.zeros(0)
    if kind == "classification":
        p = None if proba is None else _proba_matrix(proba, yt.size)
        if labels is not None:
            classes = np.asarray(labels)
        else:
            classes = _classes(yt, yp, None if p is None else p.shape[1])
        _classification(yt, yp, p, classes, values, reasons)
    else:
        _regression(yt.astype(np.float64), yp.astype(np.float64), values, reasons)
    if returns is not None:
        ret = _vector(returns, "returns", yt.size).astype(np.float64)
        more, why = _trading(_positions(yp, p, classes, kind), ret, periods_per_year)
        values.update(more)
        reasons.update(why)
    return Performance(values, reasons)


def _classification(
    yt: np.ndarray,
    yp: np.ndarray,
    p: np.ndarray | None,
    classes: np.ndarray,
    values: dict[str, float],
    reasons: dict[str, str],
) -> None:
    binary = classes.size <= 2
    average = "binary" if binary and classes.size == 2 else "macro"
    kw: dict[str, Any] = {"average": average, "zero_division": np.nan}
    if average == "binary":
        kw["pos_label"] = classes[1]
    else:
        kw["labels"] = classes
    values["accuracy"] = float(skm.accuracy_score(yt, yp))
    values["precision"] = float(skm.precision_score(yt, yp, **kw))
    values["recall"] = float(skm.recall_score(yt, yp, **kw))
    values["f1"] = float(skm.f1_score(yt, yp, **kw))
    for name in ("precision", "recall", "f1"):
        if math.isnan(values[name]):
            reasons[name] = "no predicted or no true positives in window"
    if p is None:
        for name in ("roc_auc", "log_loss", "brier"):
            values[name] = math.nan
            reasons[name] = "no probabilities given"
        return
    onehot = (yt[:, None] == classes[None, :]).astype(np.float64)
    values["log_loss"] = float(skm.log_loss(onehot, np.clip(p, 1e-15, 1 - 1e-15)))
    values["brier"] = float(np.mean(np.sum((p - onehot) ** 2, axis=1)) / (2 if binary else 1))
    present = np.unique(yt)
    if present.size < 2:
        values["roc_auc"] = math.nan
        reasons["roc_auc"] = "one class in window"
    elif binary:
        values["roc_auc"] = float(skm.roc_auc_score(onehot[:, 1], p[:, 1]))
    else:
        kept = np.isin(classes, present)
        values["roc_auc"] = float(
            skm.roc_auc_score(onehot[:, kept], p[:, kept], average="macro", multi_class="ovr")
        )


def _regression(
    yt: np.ndarray, yp: np.ndarray, values: dict[str, float], reasons: dict[str, str]
) -> None:
    err = yp - yt
    values["mse"] = float(np.mean(err * err))
    values["mae"] = float(np.mean(np.abs(err)))
    if yt.size < 2 or np.ptp(yt) == 0:
        values["r2"] = math.nan
        reasons["r2"] = "constant target in window"
    else:
        values["r2"] = float(skm.r2_score(yt, yp))
    values["directional_accuracy"] = float(np.mean(np.sign(yp) == np.sign(yt)))
    if yt.size < 2 or np.ptp(yt) == 0 or np.ptp(yp) == 0:
        values["ic"] = math.nan
        reasons["ic"] = "constant target or prediction in window"
    else:
        values["ic"] = float(stats.spearmanr(yp, yt).statistic)
