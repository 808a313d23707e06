"""The :class:`Labels` type and the bar layout every label is computed on.

A label row ``t`` is a decision at the close of bar ``t`` (``t0`` = its timestamp). Its
target uses bars ``t+1 .. t+h`` of the same symbol and becomes known at ``t1``, the
timestamp of the last bar it needs. Rows whose target needs bars beyond the data get
``y = NaN`` and ``t1 = NaT``; they are dropped later, never filled.

Panels (a ``symbol`` column, several rows per timestamp) are handled by a stable argsort
on the symbol: in that *sorted space* each symbol's rows are contiguous and in time order,
so "``k`` bars ahead within the symbol" is plain position arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mltrainer.exceptions import ConfigError, DataError, did_you_mean

__all__ = ["Labels"]

LabelKind = Literal["classification", "regression"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Labels:
    """Targets aligned row for row with the bars, and the time each becomes known.

    Parameters
    ----------
    y : pandas.Series
        float64 target, ``NaN`` where the label needs bars beyond the data (or history
        before it). Same index, length and order as the bars.
    t1 : pandas.Series
        tz-aware UTC end time of each label (``NaT`` exactly where ``y`` is ``NaN``);
        ``t1 >= t0`` where ``t0`` is the row's index timestamp.
    kind : {"classification", "regression"}
        Learning task the target defines.
    name : str
        Name of the label in the catalogue, e.g. ``"direction"``.
    horizon : int
        Most bars from ``t0`` to ``t1``.
    class_values : tuple of float, optional
        The classes a classification label can take (set by the label functions). When
        ``None`` for a classification label, :attr:`classes` is inferred from ``y``.

    Notes
    -----
    ``y`` and ``t1`` align *by position* with the bars, so panels whose index repeats a
    timestamp once per symbol are supported.
    """

    y: pd.Series
    t1: pd.Series
    kind: LabelKind
    name: str
    horizon: int
    class_values: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("classification", "regression"):
            raise ConfigError(
                f"Labels kind={self.kind!r} is invalid; use 'classification' or 'regression'"
            )
        if not _is_int(self.horizon) or self.horizon < 1:
            raise ConfigError(f"Labels horizon={self.horizon!r} is invalid; use an int >= 1")
        if len(self.y) != len(self.t1) or not self.y.index.equals(self.t1.index):
            raise DataError(
                f"Labels '{self.name}': y ({len(self.y)} rows) and t1 ({len(self.t1)} rows) "
                "must share the same index; build both from the same bars"
            )
        if self.y.dtype != np.float64:
            raise DataError(f"Labels '{self.name}': y has dtype {self.y.dtype}; cast it to float64")
        dtype = self.t1.dtype
        if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) != "UTC":
            raise DataError(
                f"Labels '{self.name}': t1 has dtype {dtype}; use tz-aware UTC datetimes "
                "(t1.dt.tz_convert('UTC'))"
            )
        y_nan = self.y.isna().to_numpy()
        t1_nat = self.t1.isna().to_numpy()
        if not np.array_equal(y_nan, t1_nat):
            row = int(np.flatnonzero(y_nan != t1_nat)[0])
            raise DataError(
                f"Labels '{self.name}': row {row} has y={self.y.iloc[row]!r} but "
                f"t1={self.t1.iloc[row]!r}; y must be NaN exactly where t1 is NaT"
            )
        index = self.y.index
        if len(index) and not isinstance(index, pd.DatetimeIndex):
            raise DataError(
                f"Labels '{self.name}': index is {type(index).__name__}; use the bars' "
                "tz-aware DatetimeIndex (t0)"
            )
        if len(index):
            early = np.asarray(pd.DatetimeIndex(self.t1) < index)
            if early.any():
                row = int(np.flatnonzero(early)[0])
                raise DataError(
                    f"Labels '{self.name}': row {row} has t1={self.t1.iloc[row]} before its "
                    f"t0={index[row]}; a label cannot be known before its decision time"
                )

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Boolean mask of rows with a complete label (``y`` not NaN, ``t1`` not NaT)."""
        return self.y.notna().to_numpy() & self.t1.notna().to_numpy()

    @property
    def classes(self) -> FloatArray | None:
        """Sorted class values of a classification label, ``None`` for regression."""
        if self.kind != "classification":
            return None
        if self.class_values is not None:
            return np.sort(np.asarray(self.class_values, dtype=np.float64))
        return np.unique(self.y.to_numpy()[self.valid])


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


# -- parameter checks shared by the label functions and the spec validator -------------


def check_int(label: str, param: str, value: Any, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise ConfigError naming the label and parameter."""
    if not _is_int(value) or value < minimum:
        raise ConfigError(f"Label '{label}': {param}={value!r} is invalid; use an int >= {minimum}")
    return int(value)


def check_float(label: str, param: str, value: Any, *, minimum: float | None = None) -> float:
    """Return ``value`` as a finite float (``>= minimum`` when given), else ConfigError."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value >= minimum
    if not ok:
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(
            f"Label '{label}': {param}={value!r} is invalid; use a finite number{bound}"
        )
    return float(value)


def check_choice(label: str, param: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else ConfigError listing them."""
    if isinstance(value, bool) != isinstance(choices[0], bool) or value not in choices:
        hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
        raise ConfigError(
            f"Label '{label}': {param}={value!r} is invalid{hint}; use one of "
            f"{', '.join(repr(c) for c in choices)}"
        )
    return value


# -- bars --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Bars rearranged so each symbol's rows are contiguous and in time order.

    Attributes
    ----------
    order : ndarray of intp
        ``order[i]`` is the bars' position of sorted-space row ``i``.
    ahead : ndarray of intp
        Number of later bars of the same symbol after sorted-space row ``i``.
    index : pandas.DatetimeIndex
        The bars' index (t0), unchanged.
    """

    order: IntArray
    ahead: IntArray
    index: pd.DatetimeIndex

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.order)

    def column(self, bars: pd.DataFrame, name: str) -> FloatArray:
        """Return column ``name`` as float64 in sorted space (a new array)."""
        return bars[name].to_numpy(dtype=np.float64)[self.order]

    def labels(
        self,
        y_sorted: FloatArray,
        end_sorted: IntArray,
        *,
        kind: LabelKind,
        name: str,
        horizon: int,
        class_values: tuple[float, ...] | None = None,
    ) -> Labels:
        """Build :class:`Labels` from sorted-space targets and end rows (``-1`` = none)."""
        done = (end_sorted >= 0) & ~np.isnan(y_sorted)
        y = np.full(self.n, np.nan)
        y[self.order] = np.where(done, y_sorted, np.nan)
        end = np.full(self.n, -1, dtype=np.intp)
        end[self.order] = np.where(done, self.order[np.where(done, end_sorted, 0)], -1)
        t1 = self.index.take(end, allow_fill=True, fill_value=pd.NaT).tz_convert("UTC")
        return Labels(
            y=pd.Series(y, index=self.index, name=name),
            t1=pd.Series(t1.array, index=self.index, name="t1"),
            kind=kind,
            name=name,
            horizon=horizon,
            class_values=class_values,
        )


def layout(bars: pd.DataFrame, columns: Sequence[str], *, label: str) -> Layout:
    """Check ``bars`` for a label and return its :class:`Layout`.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars indexed by a tz-aware DatetimeIndex; optional ``symbol`` column for panels.
    columns : sequence of str
        Price columns the label reads; each must be finite and positive.
    label : str
        Label name, used in error messages.

    Raises
    ------
    DataError
        Not a frame, index not tz-aware datetimes, a column missing, a price not finite
        and positive, or a symbol's timestamps not strictly increasing.
    """
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"Label '{label}': bars is a {type(bars).__name__}; pass a DataFrame")
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError(
            f"Label '{label}': bars index is {index.dtype}; use a tz-aware UTC "
            "DatetimeIndex named 'timestamp' (e.g. df.set_index('timestamp').tz_localize('UTC'))"
        )
    for col in columns:
        if col not in bars.columns:
            hint = did_you_mean(col, [str(c) for c in bars.columns])
            raise DataError(f"Label '{label}': bars has no column '{col}'{hint}; add it")
        values = bars[col].to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"Label '{label}': column '{col}' has {float(values[row])!r} at row {row} "
                f"({index[row]}); prices must be finite and > 0, clean the bars first"
            )
    n = len(bars)
    if "symbol" in bars.columns:
        codes, _ = pd.factorize(bars["symbol"])
        if (codes < 0).any():
            row = int(np.flatnonzero(codes < 0)[0])
            raise DataError(
                f"Label '{label}': column 'symbol' is missing at row {row} ({index[row]}); "
                "give every row a symbol"
            )
        order = np.argsort(codes, kind="stable").astype(np.intp)
        codes_sorted = codes[order]
        last = np.searchsorted(codes_sorted, codes_sorted, side="right") - 1
    else:
        order = np.arange(n, dtype=np.intp)
        codes_sorted = np.zeros(n, dtype=np.intp)
        last = np.full(n, n - 1, dtype=np.intp)
    stamps = index.asi8[order]
    same = codes_sorted[1:] == codes_sorted[:-1]
    unsorted = same & (stamps[1:] <= stamps[:-1])
    if unsorted.any():
        row = int(order[np.flatnonzero(unsorted)[0] + 1])
        where = f", symbol {bars['symbol'].iloc[row]!r}" if "symbol" in bars.columns else ""
        raise DataError(
            f"Label '{label}': row {row} ({index[row]}{where}) is not after the previous bar "
            "of its symbol; sort the bars by timestamp and drop duplicate timestamps"
        )
    ahead = (last - np.arange(n)).astype(np.intp)
    return Layout(order=order, ahead=ahead, index=index)


def log_returns(log_close: FloatArray, lay: Layout) -> FloatArray:
    """One-bar log returns in sorted space; NaN on each symbol's first row."""
    r = np.full_like(log_close, np.nan)
    r[1:] = log_close[1:] - log_close[:-1]
    starts = np.flatnonzero(lay.ahead[:-1] == 0) + 1  # rows after a symbol's last row
    r[starts] = np.nan
    return r
