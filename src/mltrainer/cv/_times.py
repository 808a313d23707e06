"""Decision times t0, label end times t1 and embargo sizes, normalised to int64 arrays.

Every splitter works on a :class:`Timeline`: ``t0`` and ``t1`` as int64 (nanoseconds
since the epoch, UTC, for datetime data; row positions otherwise), the distinct
decision times and the row where each one starts. It is built once per ``split()``
call in O(n); everything per split is then ``searchsorted`` and slicing over it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, DataError

__all__ = ["Embargo", "Timeline", "build_timeline", "resolve_count", "resolve_embargo"]

#: What ``embargo=`` accepts: a time span, a count of distinct timestamps, or a fraction.
_NAT = np.iinfo(np.int64).min

Embargo = pd.Timedelta | dt.timedelta | np.timedelta64 | str | int | float


@dataclass(frozen=True)
class Timeline:
    """Sorted decision times and label end times of the rows of X, as int64.

    Attributes
    ----------
    t0, t1 : ndarray of int64, shape (n,)
        Decision and label end times; ``t0`` is non-decreasing and ``t1 >= t0``.
    t1_cummax : ndarray of int64, shape (n,)
        Running maximum of ``t1``: the rows before ``i`` whose label reaches time ``a``
        all lie at or after ``searchsorted(t1_cummax, a)``.
    times : ndarray of int64, shape (T,)
        The distinct decision times.
    starts : ndarray of intp, shape (T + 1,)
        Row where each distinct time starts; ``starts[T] == n``.
    unit : str
        ``"s"``, ``"ms"``, ``"us"`` or ``"ns"`` since the epoch (UTC) for datetime data;
        ``""`` when time is the row position.
    """

    t0: np.ndarray
    t1: np.ndarray
    t1_cummax: np.ndarray
    times: np.ndarray
    starts: np.ndarray
    unit: str

    @property
    def is_datetime(self) -> bool:
        """True for datetime data, False when time is the row position."""
        return bool(self.unit)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.t0.shape[0])

    @property
    def n_times(self) -> int:
        """Number of distinct decision times."""
        return int(self.times.shape[0])


_UNITS = ("s", "ms", "us", "ns")


def _fmt(value: int, unit: str) -> str:
    """Render an int64 time for an error message."""
    return str(pd.Timestamp(value, unit=unit)) if unit else str(value)


def _datetime_i8(values: pd.DatetimeIndex, name: str, unit: str) -> np.ndarray:
    """Datetimes (tz-aware: UTC; naive: taken as UTC) to int64 counts of ``unit``."""
    # asi8 of a tz-aware index already counts from the UTC epoch
    ns = np.asarray(values.as_unit(unit).asi8, dtype=np.int64)
    if ns.size and ns.min() == _NAT:
        row = int(np.flatnonzero(ns == _NAT)[0])
        raise DataError(
            f"{name}[{row}] is missing (NaT): drop rows whose time is unknown before splitting"
        )
    return ns


def _index_of(X: Any) -> pd.Index | None:
    """The index of a pandas X (level 0 of a MultiIndex), or None for arrays and lists."""
    if isinstance(X, pd.DataFrame | pd.Series):
        idx = X.index
        return idx.get_level_values(0) if isinstance(idx, pd.MultiIndex) else idx
    return None


def _n_rows(X: Any) -> int:
    if hasattr(X, "shape") and len(X.shape) > 0:
        return int(X.shape[0])
    return len(X)


def _check_aligned(X: Any, t1: pd.Series) -> None:
    """t1 must carry X's own index, row for row."""
    n = _n_rows(X)
    if len(t1) != n:
        raise DataError(
            f"t1 has {len(t1)} rows but X has {n}: pass t1 aligned with X (same index, "
            "same order), e.g. t1.loc[X.index]"
        )
    if isinstance(X, pd.DataFrame | pd.Series) and not t1.index.equals(X.index):
        diff = np.flatnonzero(np.asarray(t1.index != X.index))
        row = int(diff[0]) if diff.size else 0
        raise DataError(
            f"t1 is not aligned with X: at row {row} t1's index is {t1.index[row]!r} but "
            f"X's is {X.index[row]!r}; pass t1 with X's index, e.g. t1.loc[X.index]"
        )


def _as_series(X: Any, values: Any) -> pd.Series:
    """Label end times given as an array: aligned with X by position."""
    series = pd.Series(values)
    if isinstance(X, pd.DataFrame | pd.Series) and len(series) == len(X):
        series.index = X.index
    return series


def build_timeline(X: Any, t1: pd.Series | np.ndarray | None) -> Timeline:
    """Build the :class:`Timeline` of X's rows.

    Parameters
    ----------
    X : DataFrame, Series, array-like
        Rows sorted by decision time. A datetime index is the decision time; otherwise
        the decision time is taken from ``t1``'s datetime index when X carries no
        index (a NumPy array, as ``RFECV`` passes), else it is the row position.
    t1 : Series, ndarray or None
        Label end times aligned with X (same index), ``t1 >= t0``. None means
        ``t1 = t0``. With position time, ``t1`` holds row positions (integers).

    Returns
    -------
    Timeline

    Raises
    ------
    DataError
        If X is not sorted by time, t1 is misaligned, missing or before t0.
    """
    n = _n_rows(X)
    index = _index_of(X)
    series: pd.Series | None = None
    if t1 is not None:
        series = t1 if isinstance(t1, pd.Series) else _as_series(X, t1)
        _check_aligned(X, series)
    t1 = series
    source = index
    if source is None and t1 is not None:
        t1_index = t1.index
        if isinstance(t1_index, pd.MultiIndex):
            t1_index = t1_index.get_level_values(0)
        source = t1_index
    if not isinstance(source, pd.DatetimeIndex):
        return _position_timeline(n, t1)
    end_times: pd.DatetimeIndex | None = None
    unit = source.unit
    if t1 is not None:
        if not (
            pd.api.types.is_datetime64_any_dtype(t1.dtype) or pd.api.types.is_object_dtype(t1.dtype)
        ):
            raise DataError(
                f"t1 holds {t1.dtype} values but X is indexed by datetimes: pass label end "
                "times as datetimes"
            )
        end_times = pd.DatetimeIndex(t1.array)
        unit = max(unit, end_times.unit, key=_UNITS.index)
    t0 = _datetime_i8(source, "X.index", unit)
    if n > 1 and bool((t0[1:] < t0[:-1]).any()):
        row = int(np.flatnonzero(t0[1:] < t0[:-1])[0]) + 1
        raise DataError(
            f"X is not sorted by time: row {row} ({_fmt(int(t0[row]), unit)}) comes "
            f"after {_fmt(int(t0[row - 1]), unit)}; sort X (and t1) with sort_index()"
        )
    end = t0 if end_times is None else _datetime_i8(end_times, "t1", unit)
    return _finish(t0, end, unit)


def _position_timeline(n: int, t1: pd.Series | None) -> Timeline:
    """Timeline whose time is the row position (X has no datetime index)."""
    t0 = np.arange(n, dtype=np.int64)
    if t1 is None:
        return _finish(t0, t0, "")
    if not pd.api.types.is_integer_dtype(t1.dtype):
        raise DataError(
            f"t1 holds {t1.dtype} values but X has no datetime index, so time is the "
            "row position: pass t1 as integer positions, or index X by datetimes"
        )
    return _finish(t0, np.asarray(t1.to_numpy(), dtype=np.int64), "")


def _finish(t0: np.ndarray, end: np.ndarray, unit: str) -> Timeline:
    """Check ``t1 >= t0`` and index the distinct decision times."""
    early = end < t0
    if early.any():
        row = int(np.flatnonzero(early)[0])
        raise DataError(
            f"t1[{row}] ({_fmt(int(end[row]), unit)}) is before its t0 "
            f"({_fmt(int(t0[row]), unit)}): label end times must be >= decision times"
        )
    n = t0.shape[0]
    new_time = t0[1:] != t0[:-1]
    if new_time.all():  # every decision time distinct: no gather needed
        starts, times = np.arange(n + 1, dtype=np.intp), t0
    else:
        starts = np.empty(int(np.count_nonzero(new_time)) + 2, dtype=np.intp)
        starts[0], starts[-1] = 0, n
        starts[1:-1] = np.flatnonzero(new_time) + 1
        times = t0[starts[:-1]]
    return Timeline(
        t0=t0,
        t1=end,
        t1_cummax=np.maximum.accumulate(end) if n else end,
        times=times,
        starts=starts,
        unit=unit,
    )


def resolve_count(value: Any, total: int, name: str, *, minimum: int = 1) -> int:
    """An int count, or a float in (0, 1) taken as that fraction of ``total`` rounded up.

    Raises
    ------
    ConfigError
        If ``value`` is neither, or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(
            f"{name}={value!r} is a {type(value).__name__}: pass an int count, or a float "
            "in (0, 1) for a fraction of the distinct timestamps"
        )
    if isinstance(value, float | np.floating):
        if not 0.0 < value < 1.0:
            raise ConfigError(
                f"{name}={value!r} is a float outside (0, 1): pass a fraction in (0, 1) or an "
                "int count"
            )
        # round() first so that e.g. 0.07 * 100 = 7.000000000000001 gives 7, not 8
        return max(minimum, math.ceil(round(float(value) * total, 9)))
    if int(value) < minimum:
        raise ConfigError(f"{name}={value!r} is below {minimum}: pass an int >= {minimum}")
    return int(value)


def check_embargo(embargo: Any) -> None:
    """Validate ``embargo`` without data (type and sign).

    Raises
    ------
    ConfigError
        If it is not a non-negative time span, a non-negative int or a float in [0, 1).
    """
    if isinstance(embargo, bool):
        raise ConfigError(
            f"embargo={embargo!r} is a bool: pass a pd.Timedelta, an int count of "
            "timestamps or a float fraction in (0, 1)"
        )
    if isinstance(embargo, int | np.integer):
        if embargo < 0:
            raise ConfigError(f"embargo={embargo!r} is negative: pass an int >= 0")
        return
    if isinstance(embargo, float | np.floating):
        if not 0.0 <= embargo < 1.0:
            raise ConfigError(
                f"embargo={embargo!r} is a float outside [0, 1): pass a fraction of the "
                "distinct timestamps in (0, 1), an int count or a pd.Timedelta"
            )
        return
    _timedelta_ns(embargo)


def _timedelta_ns(embargo: Any) -> int:
    if not isinstance(embargo, pd.Timedelta | dt.timedelta | np.timedelta64 | str):
        raise ConfigError(
            f"embargo={embargo!r} is a {type(embargo).__name__}: pass a pd.Timedelta, an "
            "int count of timestamps or a float fraction in (0, 1)"
        )
    try:
        span = pd.Timedelta(embargo)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"embargo={embargo!r} is not a time span: pass e.g. '1D', '4h' or pd.Timedelta(hours=4)"
        ) from exc
    if pd.isna(span) or span < pd.Timedelta(0):
        raise ConfigError(f"embargo={embargo!r} is negative or NaT: pass a span >= 0")
    return int(span.as_unit("ns").value)


def resolve_embargo(embargo: Any, timeline: Timeline) -> tuple[int, int]:
    """Return ``(span, n_times)``: the embargo as a span in the timeline's unit, or a count.

    Exactly one of the two is non-zero (or both are zero for no embargo). A float in
    (0, 1) becomes ``ceil(embargo * T)`` distinct timestamps.

    Raises
    ------
    ConfigError
        For a wrong type or sign, or a time span when X has no datetime index.
    """
    check_embargo(embargo)
    if isinstance(embargo, int | np.integer):
        return 0, int(embargo)
    if isinstance(embargo, float | np.floating):
        if embargo == 0.0:
            return 0, 0
        return 0, resolve_count(embargo, timeline.n_times, "embargo")
    span = _timedelta_ns(embargo)
    if span and not timeline.is_datetime:
        raise ConfigError(
            f"embargo={embargo!r} is a time span but X has no datetime index: index X (or "
            "t1) by datetimes, or pass an int count of rows"
        )
    # times are whole units, so t0 <= M + span  <=>  t0 <= M + floor(span in units)
    per_unit = int(pd.Timedelta(1, unit=timeline.unit).as_unit("ns").value) if span else 1
    return span // per_unit, 0
