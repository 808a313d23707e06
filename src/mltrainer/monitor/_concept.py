"""Concept drift: has a performance metric changed between a reference and a current window?

Each window is resampled with a circular block bootstrap (``arch.bootstrap``), which keeps
the serial dependence of overlapping labels and volatility clusters; the block length is
``arch.bootstrap.optimal_block_length`` of the per-sample loss unless given. The metric
is computed for every resample at once (index matrix of shape (n_boot, n)): means of
per-sample scores for accuracy, MSE, MAE, log loss, Brier and directional accuracy;
row-wise ranks for ROC AUC and the information coefficient. Drift means the percentile
interval of ``current - reference`` excludes zero *and* ``|difference| >= threshold``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from arch.bootstrap import CircularBlockBootstrap, optimal_block_length
from scipy import stats

from mltrainer.exceptions import ConfigError, DataError, did_you_mean
from mltrainer.monitor._metrics import check_kind

__all__ = ["CONCEPT_METRICS", "ConceptDriftResult", "concept_drift"]

CONCEPT_METRICS = {
    "classification": ("accuracy", "log_loss", "brier", "roc_auc"),
    "regression": ("mse", "mae", "directional_accuracy", "ic"),
}
_DEFAULT_METRIC = {"classification": "accuracy", "regression": "ic"}


@dataclass(frozen=True)
class ConceptDriftResult:
    """Outcome of :func:`concept_drift`.

    Attributes
    ----------
    metric : str
    reference, current : float
        The metric on each window.
    difference : float
        ``current - reference``.
    ci_low, ci_high : float
        Block-bootstrap percentile interval of the difference.
    drifted : bool
        The interval excludes zero and ``|difference| >= threshold``.
    reason : str
        One line saying why (or why not), e.g. why the metric is undefined.
    block_size : int
    """

    metric: str
    reference: float
    current: float
    difference: float
    ci_low: float
    ci_high: float
    drifted: bool
    reason: str
    block_size: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN as ``None``)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def _scores(metric: str, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-sample scores whose mean is the metric (decomposable metrics only)."""
    if metric == "accuracy":
        return np.asarray(y == pred, dtype=np.float64)
    if metric in ("log_loss", "brier"):
        p = np.asarray(pred, dtype=np.float64)
        if p.ndim != 1 or np.any((p < 0) | (p > 1)):
            raise DataError(f"metric '{metric}' needs P(positive class) in [0, 1] as predictions")
        if metric == "brier":
            return np.asarray((p - y) ** 2)
        q = np.clip(np.where(y == 1, p, 1 - p), 1e-15, 1 - 1e-15)
        return np.asarray(-np.log(q))
    yf, pf = y.astype(np.float64), pred.astype(np.float64)
    if metric == "mse":
        return np.asarray((pf - yf) ** 2)
    if metric == "mae":
        return np.asarray(np.abs(pf - yf))
    return np.asarray(np.sign(pf) == np.sign(yf), dtype=np.float64)  # directional_accuracy


def _rank_metric(metric: str, y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """ROC AUC or Spearman IC of every resample (rows of ``idx``), via row-wise ranks."""
    yb = y[idx].astype(np.float64)
    rp = stats.rankdata(pred[idx], axis=1)
    if metric == "roc_auc":
        pos = yb.sum(axis=1)
        neg = yb.shape[1] - pos
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = ((rp * yb).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg)
        return np.asarray(np.where((pos > 0) & (neg > 0), auc, np.nan))
    ry = stats.rankdata(yb, axis=1)
    rp = rp - rp.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rp * rp).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(denom > 0, (rp * ry).sum(axis=1) / denom, np.nan))


def _metric(metric: str, y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    if metric in ("roc_auc", "ic"):
        return _rank_metric(metric, y, pred, idx)
    return np.asarray(_scores(metric, y, pred)[idx].mean(axis=1))


_CELLS = 2_000_000  # resampled values held at once (bounds memory for long windows)


def _bootstrap(
    metric: str, y: np.ndarray, pred: np.ndarray, block: int, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """The metric on ``n_boot`` circular-block resamples, in chunks of index rows."""
    n = y.size
    bs = CircularBlockBootstrap(block, np.empty(n), seed=rng)
    chunk = max(1, min(n_boot, _CELLS // n))
    out = []
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        idx = np.vstack([np.asarray(bs.update_indices(), dtype=np.intp) for _ in range(rows)])
        out.append(_metric(metric, y, pred, idx))
    return np.concatenate(out)


def _block(series: np.ndarray) -> int:
    if series.size < 10 or np.ptp(series) == 0:
        return 1
    est = optimal_block_length(series)
    value = float(est["circular"].iloc[0])
    return max(1, min(math.ceil(value), series.size // 2)) if math.isfinite(value) else 1


def concept_drift(
    y_ref: Any,
    pred_ref: Any,
    y_cur: Any,
    pred_cur: Any,
    *,
    kind: str,
    metric: str | None = None,
    threshold: float = 0.05,
    block_size: int | None = None,
    n_boot: int = 500,
    confidence: float = 0.95,
    random_state: int | None = None,
) -> ConceptDriftResult:
    """Test whether a performance metric changed from a reference to a current window.

    Parameters
    ----------
    y_ref, pred_ref, y_cur, pred_cur : array-like, shape (n,)
        Realised labels and predictions of each window, in time order. Predictions are
        classes for ``accuracy``, P(positive class) for ``log_loss``, ``brier`` and
        ``roc_auc``, values for regression metrics.
    kind : {"classification", "regression"}
    metric : str, optional
        One of :data:`CONCEPT_METRICS` for the kind; default ``accuracy`` (classification)
        or ``ic`` (regression).
    threshold : float, default 0.05
        Smallest absolute change that counts (in the metric's units).
    block_size : int, optional
        Bootstrap block length; default ``optimal_block_length`` of the per-sample scores.
    n_boot : int, default 500
    confidence : float, default 0.95
    random_state : int, optional

    Returns
    -------
    ConceptDriftResult
    """
    check_kind(kind)
    choices = CONCEPT_METRICS[kind]
    metric = metric or _DEFAULT_METRIC[kind]
    if metric not in choices:
        raise ConfigError(
            f"metric '{metric}' is not available for {kind}{did_you_mean(metric, choices)};"
            f" use one of {list(choices)}"
        )
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence={confidence} must be in (0, 1), e.g. 0.95")
    if n_boot < 10:
        raise ConfigError(f"n_boot={n_boot} is too few; use at least 100 (default 500)")
    if block_size is not None and block_size < 1:
        raise ConfigError(f"block_size={block_size} must be a positive integer (or None)")
    if not threshold >= 0:
        raise ConfigError(f"threshold={threshold} must be >= 0")
    arrays = []
    for name, values in (
        ("y_ref", y_ref),
        ("pred_ref", pred_ref),
        ("y_cur", y_cur),
        ("pred_cur", pred_cur),
    ):
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
        arrays.append(arr)
    yr, pr, yc, pc = arrays
    for (y, p), window in (((yr, pr), "reference"), ((yc, pc), "current")):
        if y.size != p.size:
            raise DataError(f"{window} window: {y.size} labels but {p.size} predictions")
        if y.size < 2:
            raise DataError(f"{window} window has {y.size} samples: need at least 2")
    rng = np.random.default_rng(random_state)
    everything = [np.arange(yr.size)[None, :], np.arange(yc.size)[None, :]]
    ref_value = float(_metric(metric, yr, pr, everything[0])[0])
    cur_value = float(_metric(metric, yc, pc, everything[1])[0])
    diff = cur_value - ref_value
    if not (math.isfinite(ref_value) and math.isfinite(cur_value)):
        why = "one class in a window" if metric == "roc_auc" else "constant values in a window"
        nan = math.nan
        return ConceptDriftResult(
            metric, ref_value, cur_value, diff, nan, nan, False, f"{metric} undefined: {why}"
        )
    blocks = []
    for y, p in ((yr, pr), (yc, pc)):
        if metric in ("roc_auc", "ic"):  # agreement of the two around their medians
            yf, pf = y.astype(np.float64), p.astype(np.float64)
            loss = np.asarray(np.sign(pf - np.median(pf)) == np.sign(yf - np.median(yf)), float)
        else:
            loss = _scores(metric, y, p)
        blocks.append(block_size or _block(loss))
    block = max(blocks)
    boot_ref = _bootstrap(metric, yr, pr, block, n_boot, rng)
    boot_cur = _bootstrap(metric, yc, pc, block, n_boot, rng)
    delta = boot_cur - boot_ref
    delta = delta[np.isfinite(delta)]
    if delta.size < n_boot // 2:
        nan = math.nan
        return ConceptDriftResult(
            metric,
            ref_value,
            cur_value,
            diff,
            nan,
            nan,
            False,
            f"{metric} undefined in most resamples",
            block,
        )
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(delta, [tail, 1 - tail]))
    excludes = low > 0 or high < 0
    big = abs(diff) >= threshold
    drifted = excludes and big
    interval = f"CI [{low:.4g}, {high:.4g}]"
    if drifted:
        reason = f"{metric} changed by {diff:+.4g} ({interval} excludes 0, >= {threshold:g})"
    elif excludes:
        reason = f"{metric} changed by {diff:+.4g}, significant but below threshold {threshold:g}"
    else:
        reason = f"{metric} change {diff:+.4g} is within noise ({interval} contains 0)"
    return ConceptDriftResult(metric, ref_value, cur_value, diff, low, high, drifted, reason, block)
