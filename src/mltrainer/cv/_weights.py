"""Average label uniqueness (Lopez de Prado, AFML ch. 4), with optional linear time decay."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, DataError

__all__ = ["uniqueness_weights"]


def _as_int64(values: Any, name: str) -> tuple[np.ndarray, bool]:
    """Times as int64 (ns since the epoch, UTC, for datetimes) and whether they were datetimes."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array  # keeps a tz-aware dtype (to_numpy would give Timestamps)
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        values = np.asarray(values)
        dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        ns = np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8, dtype=np.int64)
        if ns.size and ns.min() == np.iinfo(np.int64).min:
            row = int(np.flatnonzero(ns == np.iinfo(np.int64).min)[0])
            raise DataError(f"{name}[{row}] is missing (NaT): drop rows whose time is unknown")
        return ns, True
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise DataError(f"{name} holds {arr.dtype} values: pass datetimes or integer bar numbers")
    return arr.astype(np.int64), False


def _time_decay(uniqueness: np.ndarray, t0: np.ndarray, decay: float) -> np.ndarray:
    """Linear decay over cumulative uniqueness: 1 for the newest row (AFML snippet 4.11)."""
    order = np.argsort(t0, kind="stable")
    cumulative = np.empty_like(uniqueness)
    cumulative[order] = np.cumsum(uniqueness[order])
    total = float(cumulative[order[-1]])
    slope = (1.0 - decay) / total if decay >= 0 else 1.0 / ((decay + 1.0) * total)
    factor = 1.0 - slope * total + slope * cumulative
    return np.clip(factor, 0.0, None)


def uniqueness_weights(
    t0: Any,
    t1: Any,
    *,
    decay: float = 1.0,
    bars: Any = None,
) -> np.ndarray:
    """Average uniqueness of each label, optionally times a linear time decay.

    A label spans the bars ``t0 <= t <= t1``. At bar t, ``c_t`` labels are active and each
    is ``1 / c_t`` unique; a label's weight is the mean of ``1 / c_t`` over its bars, so
    labels that overlap many others count less (Lopez de Prado, AFML ch. 4). Computed
    with a difference array and prefix sums over the sorted bar times: O((n + m) log m).

    Parameters
    ----------
    t0, t1 : array-like, Index or Series of datetimes or integers, shape (n,)
        Decision times and label end times (``t1 >= t0``), in any order.
    decay : float in (-1, 1], default 1.0
        The book's ``c``: 1 means no decay; ``0 <= c < 1`` makes weights decay linearly
        in cumulative uniqueness down to ``c`` for the oldest label; ``c < 0`` gives the
        oldest ``-c`` share of cumulative uniqueness zero weight. The newest label keeps
        factor 1. The returned weight is uniqueness times this factor.
    bars : array-like of times, optional
        The bar grid over which concurrency is counted (e.g. all bar timestamps when
        labels are sampled sparsely). Default: the distinct values of ``t0`` and ``t1``.

    Returns
    -------
    ndarray of float64, shape (n,)
        Weights in [0, 1], aligned with ``t0`` by position.

    Raises
    ------
    DataError
        If lengths differ, a time is missing or ``t1 < t0``.
    ConfigError
        If ``decay`` is outside (-1, 1].
    """
    if isinstance(decay, bool) or not isinstance(decay, int | float) or not -1.0 < decay <= 1.0:
        raise ConfigError(f"decay={decay!r} is outside (-1, 1]: pass 1 for no decay, e.g. 0.5")
    start, start_dt = _as_int64(t0, "t0")
    end, end_dt = _as_int64(t1, "t1")
    if start.shape != end.shape:
        raise DataError(f"t1 has {end.shape[0]} rows but t0 has {start.shape[0]}: align them")
    if start_dt != end_dt:
        raise DataError("t0 and t1 must both be datetimes or both integers")
    if start.size == 0:
        return np.zeros(0)
    bad = np.flatnonzero(end < start)
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"t1[{row}] is before its t0[{row}]: label end times must be >= decision times"
        )
    if bars is None:
        grid = np.unique(np.concatenate((start, end)))
    else:
        grid = np.unique(np.concatenate((_as_int64(bars, "bars")[0], start)))
    m = grid.shape[0]
    first = np.searchsorted(grid, start, side="left")
    last = np.searchsorted(grid, end, side="right")  # one past the last bar <= t1
    active = np.cumsum(np.bincount(first, minlength=m + 1) - np.bincount(last, minlength=m + 1))[:m]
    inverse = np.divide(1.0, active, out=np.zeros(m), where=active > 0)
    prefix = np.concatenate(([0.0], np.cumsum(inverse)))
    uniqueness = (prefix[last] - prefix[first]) / (last - first)
    if decay == 1.0:
        return uniqueness
    return uniqueness * _time_decay(uniqueness, start, float(decay))
