"""One bar in: checked, parsed, and kept in a bounded history of the stream's bars."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BAR_COLUMNS", "BarError", "BarHistory", "parse_bar"]

BAR_COLUMNS = ("open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")


class BarError(Exception):
    """Why a bar cannot be used (not an error of the stream: the bar is counted and skipped)."""


def _timestamp(value: Any) -> int:
    """A bar time as UTC nanoseconds: ISO-8601, datetime, pd.Timestamp or epoch seconds."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise BarError("the bar has no timestamp")
    try:
        if isinstance(value, Real) and not isinstance(value, bool):
            stamp = pd.Timestamp(float(value), unit="s", tz="UTC")
        else:
            if isinstance(value, bytes):
                value = value.decode()
            stamp = pd.Timestamp(value)
            if stamp.tzinfo is None:
                raise BarError(f"timestamp {value!r} has no UTC offset; send e.g. '...Z'")
            stamp = stamp.tz_convert("UTC")
    except (ValueError, TypeError, OverflowError) as exc:
        raise BarError(f"timestamp {value!r} is not a time ({exc})") from None
    if stamp is pd.NaT:
        raise BarError("the bar has no timestamp")
    return int(stamp.value)


def parse_bar(
    bar: Any, columns: Sequence[str], *, symbol: str | None = None
) -> tuple[int, np.ndarray]:
    """Check one bar and return ``(UTC nanoseconds, float values of columns)``.

    Parameters
    ----------
    bar : mapping or pandas.Series
        ``timestamp`` (or a Series named by its time, as ``DataFrame.iterrows`` gives)
        plus the bar columns; strings are parsed as numbers (Redis sends strings).
    columns : sequence of str
        The bar columns the model reads.
    symbol : str, optional
        The instrument of the stream; a bar naming another symbol is refused.

    Raises
    ------
    BarError
        Naming the first problem: no or unparseable timestamp, a missing column, a value
        that is not a finite number, a non-positive price, negative volume, OHLC out of
        order (``low <= open, close <= high``), another symbol.
    """
    if isinstance(bar, pd.Series):
        fields: Mapping[str, Any] = bar.to_dict()
        when = fields.get("timestamp", bar.name)
    elif isinstance(bar, Mapping):
        fields = {k.decode() if isinstance(k, bytes) else str(k): v for k, v in bar.items()}
        when = fields.get("timestamp")
    else:
        raise BarError(f"a bar must be a mapping or a pandas Series, got {type(bar).__name__}")
    stamp = _timestamp(when)
    if symbol is not None and "symbol" in fields:
        got = fields["symbol"]
        got = got.decode() if isinstance(got, bytes) else str(got)
        if got != symbol:
            raise BarError(f"bar of symbol {got!r} in the stream of {symbol!r}")
    values = np.empty(len(columns))
    for i, name in enumerate(columns):
        if name not in fields:
            raise BarError(f"missing column {name!r}")
        raw = fields[name]
        try:
            number = float(raw.decode() if isinstance(raw, bytes) else raw)
        except (TypeError, ValueError):
            raise BarError(f"column {name!r} is not a number: {raw!r}") from None
        if not math.isfinite(number):
            raise BarError(f"column {name!r} is {number}")
        if name in _PRICES and number <= 0:
            raise BarError(f"price {name!r} is {number}; prices must be > 0")
        if name == "volume" and number < 0:
            raise BarError(f"volume is {number}; it must be >= 0")
        values[i] = number
    present = {name: values[i] for i, name in enumerate(columns)}
    if "high" in present and "low" in present:
        inside = [present[c] for c in ("open", "close") if c in present]
        if present["low"] > present["high"] or any(
            not present["low"] <= v <= present["high"] for v in inside
        ):
            raise BarError("OHLC out of order: need low <= open, close <= high")
    return stamp, values


class BarHistory:
    """The last ``capacity`` bars of one instrument, in preallocated arrays.

    Parameters
    ----------
    capacity : int
        Bars kept.
    columns : sequence of str
        Bar columns stored (those the features and the label read).
    """

    def __init__(self, capacity: int, columns: Sequence[str]) -> None:
        self.capacity = int(capacity)
        self.columns = tuple(columns)
        self.stamps = np.zeros(self.capacity, dtype=np.int64)
        self.values = np.zeros((self.capacity, len(self.columns)))
        self._head = 0
        self._size = 0
        self.n_seen = 0  # sequence number of the next bar

    def __len__(self) -> int:
        return self._size

    @property
    def last_stamp(self) -> int | None:
        """UTC nanoseconds of the newest bar (None before the first)."""
        return None if self._size == 0 else int(self.stamps[(self._head - 1) % self.capacity])

    def append(self, stamp: int, values: np.ndarray) -> int:
        """Add a bar; returns its sequence number (0 for the first bar ever)."""
        self.stamps[self._head] = stamp
        self.values[self._head] = values
        self._head = (self._head + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)
        self.n_seen += 1
        return self.n_seen - 1

    def _positions(self, last: int) -> np.ndarray:
        n = min(int(last), self._size)
        return (self._head - n + np.arange(n)) % self.capacity

    def frame(self, last: int) -> pd.DataFrame:
        """The newest ``last`` bars as a frame indexed by UTC time, oldest first."""
        positions = self._positions(last)
        index = pd.DatetimeIndex(self.stamps[positions].astype("datetime64[ns]"), name="timestamp")
        return pd.DataFrame(
            self.values[positions], index=index.tz_localize("UTC"), columns=list(self.columns)
        )

    def timestamp(self, sequence: int) -> pd.Timestamp:
        """The time of bar number ``sequence`` (must still be in the history)."""
        back = self.n_seen - 1 - sequence
        if not 0 <= back < self._size:
            raise IndexError(f"bar {sequence} is not in the history")
        return pd.Timestamp(int(self.stamps[(self._head - 1 - back) % self.capacity]), tz="UTC")

    def state(self) -> dict[str, np.ndarray]:
        """The bars oldest first and the sequence counter."""
        positions = self._positions(self._size)
        return {
            "stamps": self.stamps[positions].copy(),
            "values": self.values[positions].copy(),
            "n_seen": np.array([self.n_seen]),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the bars with a :meth:`state`."""
        stamps = np.asarray(state["stamps"], dtype=np.int64)
        values = np.asarray(state["values"], dtype=np.float64).reshape(-1, len(self.columns))
        n = min(len(stamps), self.capacity)
        self._head = 0
        self._size = 0
        for stamp, row in zip(stamps[-n:], values[-n:], strict=True):
            self.stamps[self._head] = stamp
            self.values[self._head] = row
            self._head = (self._head + 1) % self.capacity
            self._size += 1
        self.n_seen = int(np.asarray(state["n_seen"]).ravel()[0])


def iso(stamp_ns: int) -> str:
    """UTC nanoseconds as ISO-8601 with offset."""
    return pd.Timestamp(int(stamp_ns), tz="UTC").isoformat()


def as_datetime(stamp_ns: int) -> datetime:
    """UTC nanoseconds as a tz-aware datetime."""
    return pd.Timestamp(int(stamp_ns), tz="UTC").to_pydatetime()
