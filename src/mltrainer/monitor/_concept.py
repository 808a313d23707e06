"""Concept drift: has a performance metric changed between a reference and a current window?

Each window is resampled with a circular block bootstrap (``arch.bootstrap``), which keeps
the serial dependence of overlapping labels and volatility clusters; the block length is
``arch.bootstrap.optimal_block_length`` of the per-sample loss unless given. The metric
is computed for every resample at once (index matrix of shape (n_boot, n)): means of
per-sample scores for accuracy, MSE, MAE, log loss, Brier and directional accuracy;
row-wise ranks for ROC AUC and the information coefficient. Drift means the percentile
interval of ``current - reference`` excludes zero *and* ``|difference| >= threshold`` *and*
(with ``window_null``) the change is larger than ``confidence`` of the windows of the same
size within the reference moved: the bootstrap resamples blocks inside a window, so it
sees serial dependence there but not that a model's accuracy itself wanders from one
market regime to the next, which the reference's own windows show (chunk thresholds as in
NannyML, computed on windows of the current window's length).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from arch.bootstrap import CircularBlockBootstrap, optimal_block_length

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
    window_threshold : float
        The ``confidence`` quantile of ``|window - reference|`` over windows of the
        current window's length inside the reference (NaN when not measured).
    n_windows : int
        Reference windows behind ``window_threshold`` (0 when not measured).
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
    window_threshold: float = math.nan
    n_windows: int = 0

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


def resample_ranks(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values[idx], axis=1)`` (average ranks) without sorting rows.

    The values are sorted once; each row of ``idx`` then only counts how often it drew
    each distinct value (one ``bincount``), and a cumulative sum over those counts gives
    every drawn value its average rank: O(rows x n) instead of O(rows x n log n).
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    group = np.empty(values.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1  # dense rank of each value
    k = int(new.sum())
    rows = idx.shape[0]
    drawn = group[idx]
    keys = drawn + (np.arange(rows, dtype=np.int64) * k)[:, None]
    counts = np.bincount(keys.ravel(), minlength=rows * k).reshape(rows, k).astype(np.float64)
    average = np.cumsum(counts, axis=1) - (counts - 1) / 2
    return np.asarray(np.take_along_axis(average, drawn, axis=1))


def _rank_metric(metric: str, y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """ROC AUC or Spearman IC of every resample (rows of ``idx``), via row-wise ranks."""
    yb = y[idx].astype(np.float64)
    rp = resample_ranks(pred, idx)
    if metric == "roc_auc":
        pos = yb.sum(axis=1)
        neg = yb.shape[1] - pos
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = ((rp * yb).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg)
        return np.asarray(np.where((pos > 0) & (neg > 0), auc, np.nan))
    ry = resample_ranks(y, idx)
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
MIN_WINDOWS = 5
"""The window null needs the reference to hold this many disjoint windows of its size."""
_MAX_STARTS = 100


def window_spread(
    metric: str, y: np.ndarray, pred: np.ndarray, size: int, confidence: float
) -> tuple[float, int]:
    """``confidence`` quantile of ``|metric(window) - metric(reference)|`` over windows.

    Windows of ``size`` consecutive rows (at most 100 starts, overlapping) slide over the
    reference in time order; each deviation from the whole reference is scaled by
    ``n / (n - size)``, its deviation from the rest (exact for mean scores). A reference
    shorter than ``MIN_WINDOWS`` windows is measured at ``n // MIN_WINDOWS`` rows (a
    shorter window varies more, so this errs towards fewer flags). ``(nan, 0)`` when the
    reference is too short or the metric is undefined in the windows.
    """
    n = y.size
    size = min(size, n // MIN_WINDOWS)
    if size < 10:
        return math.nan, 0
    stride = max(1, (n - size) // _MAX_STARTS)
    starts = np.arange(0, n - size + 1, stride)
    whole = float(_metric(metric, y, pred, np.arange(n)[None, :])[0])
    rows = max(1, _CELLS // size)
    windows = [
        _metric(metric, y, pred, starts[i : i + rows, None] + np.arange(size)[None, :])
        for i in range(0, starts.size, rows)
    ]
    dev = np.abs(np.concatenate(windows) - whole) * n / (n - size)
    dev = dev[np.isfinite(dev)]
    if dev.size < MIN_WINDOWS:
        return math.nan, 0
    return float(np.quantile(dev, confidence)), int(dev.size)


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
    window_null: bool = True,
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
    window_null : bool, default True
        Also require the change to exceed the ``confidence`` quantile of how much windows
        of the current window's length inside the reference (in time order) differed
        from the whole reference; False keeps the bootstrap interval alone (as for
        independent windows).

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
    spread, n_windows = math.nan, 0
    if window_null:
        spread, n_windows = window_spread(metric, yr, pr, yc.size, confidence)
    excludes = low > 0 or high < 0
    big = abs(diff) >= threshold
    unusual = not abs(diff) <= spread  # True when no window null was measured
    drifted = excludes and big and unusual
    interval = f"CI [{low:.4g}, {high:.4g}]"
    if drifted:
        reason = f"{metric} changed by {diff:+.4g} ({interval} excludes 0, >= {threshold:g}"
        reason += f", beyond the reference's windows' {spread:.4g})" if n_windows else ")"
    elif excludes and not big:
        reason = f"{metric} changed by {diff:+.4g}, significant but below threshold {threshold:g}"
    elif excludes:
        reason = (
            f"{metric} changed by {diff:+.4g}, within what {confidence:.0%} of the reference's"
            f" {n_windows} windows of {yc.size} rows moved ({spread:.4g})"
        )
    else:
        reason = f"{metric} change {diff:+.4g} is within noise ({interval} contains 0)"
    return ConceptDriftResult(
        metric, ref_value, cur_value, diff, low, high, drifted, reason, block, spread, n_windows
    )
