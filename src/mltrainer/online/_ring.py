"""A ring buffer of matured rows: preallocated NumPy arrays, O(1) append, fixed memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mltrainer.exceptions import ConfigError, DataError

__all__ = ["RingBuffer"]

_FIELDS = ("y", "t0", "t1", "weight", "loss")


class RingBuffer:
    """The last ``capacity`` matured rows: features, label, t0, t1, weight and live loss.

    Every array is allocated once; an append writes one row at the head and moves it, so
    it costs the same at any fill and never reallocates. Once full, each append overwrites
    the oldest row. :meth:`snapshot` returns the rows oldest first with two slices.

    Parameters
    ----------
    capacity : int
        Rows kept (>= 1).
    n_features : int
        Width of a feature row (>= 1).

    Attributes
    ----------
    X : ndarray of shape (capacity, n_features)
        Feature rows, in ring order (use :meth:`snapshot` for time order).
    y, weight, loss : ndarray of shape (capacity,)
        Label (class code or target), sample weight, and the prequential loss of the
        prediction the live model made for the row.
    t0, t1 : ndarray of int64, shape (capacity,)
        Decision time and label end time, nanoseconds since the epoch (UTC).

    Examples
    --------
    >>> buf = RingBuffer(3, n_features=2)
    >>> for i in range(5):
    ...     buf.append(np.array([i, -i], float), y=i % 2, t0=i, t1=i + 1)
    >>> buf.snapshot()["t0"].tolist()
    [2, 3, 4]
    """

    def __init__(self, capacity: int, *, n_features: int) -> None:
        for name, value in (("capacity", capacity), ("n_features", n_features)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"RingBuffer {name}={value!r} must be an int >= 1")
        self.capacity = int(capacity)
        self.n_features = int(n_features)
        self.X = np.zeros((self.capacity, self.n_features))
        self.y = np.zeros(self.capacity)
        self.t0 = np.zeros(self.capacity, dtype=np.int64)
        self.t1 = np.zeros(self.capacity, dtype=np.int64)
        self.weight = np.ones(self.capacity)
        self.loss = np.full(self.capacity, np.nan)
        self._head = 0  # next position written
        self._size = 0
        self.n_appended = 0  # rows ever appended

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return (
            f"RingBuffer(capacity={self.capacity}, n_features={self.n_features}, len={len(self)})"
        )

    @property
    def full(self) -> bool:
        """Whether every slot holds a row (the next append drops the oldest)."""
        return self._size == self.capacity

    def append(
        self,
        x: np.ndarray,
        *,
        y: float,
        t0: int,
        t1: int,
        weight: float = 1.0,
        loss: float = np.nan,
    ) -> None:
        """Add one row (O(1)); when full, it replaces the oldest row."""
        head = self._head
        self.X[head] = x
        self.y[head] = y
        self.t0[head] = t0
        self.t1[head] = t1
        self.weight[head] = weight
        self.loss[head] = loss
        head += 1
        self._head = 0 if head == self.capacity else head
        if self._size < self.capacity:
            self._size += 1
        self.n_appended += 1

    def extend(
        self,
        X: np.ndarray,
        *,
        y: np.ndarray,
        t0: np.ndarray,
        t1: np.ndarray,
        weight: np.ndarray | None = None,
        loss: np.ndarray | None = None,
    ) -> None:
        """Add rows in order, vectorised (at most two slice writes)."""
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise DataError(
                f"RingBuffer.extend: X has shape {X.shape}; expected (n, {self.n_features})"
            )
        columns = {
            "y": np.asarray(y, dtype=np.float64),
            "t0": np.asarray(t0, dtype=np.int64),
            "t1": np.asarray(t1, dtype=np.int64),
            "weight": np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64),
            "loss": np.full(n, np.nan) if loss is None else np.asarray(loss, dtype=np.float64),
        }
        if n == 0:
            return
        keep = min(n, self.capacity)  # only the newest `capacity` rows survive
        rows = slice(n - keep, n)
        start = (self._head + n - keep) % self.capacity
        first = min(keep, self.capacity - start)
        targets = [(slice(start, start + first), slice(0, first))]
        if first < keep:
            targets.append((slice(0, keep - first), slice(first, keep)))
        for target, source in targets:
            self.X[target] = X[rows][source]
            for name, values in columns.items():
                getattr(self, name)[target] = values[rows][source]
        self._head = (start + keep) % self.capacity
        self._size = min(self.capacity, self._size + n)
        self.n_appended += n

    def _order(self, last: int | None) -> tuple[slice, ...]:
        """Slices of the ring that hold the newest ``last`` rows, oldest first."""
        n = self._size if last is None else max(0, min(int(last), self._size))
        start = (self._head - n) % self.capacity
        if start + n <= self.capacity:
            return (slice(start, start + n),)
        return (slice(start, self.capacity), slice(0, n - (self.capacity - start)))

    def snapshot(self, last: int | None = None) -> dict[str, np.ndarray]:
        """Copies of the rows, oldest first (``last``: only the newest ``last`` rows).

        Returns
        -------
        dict
            ``X``, ``y``, ``t0``, ``t1``, ``weight``, ``loss``.
        """
        parts = self._order(last)
        out = {"X": np.concatenate([self.X[p] for p in parts])}
        for name in _FIELDS:
            values = getattr(self, name)
            out[name] = np.concatenate([values[p] for p in parts])
        return out

    def sample(
        self, n: int, *, random_state: int | np.random.Generator | None = None
    ) -> dict[str, np.ndarray]:
        """``n`` distinct rows drawn uniformly without replacement, in time order."""
        if n > self._size:
            raise ConfigError(f"cannot sample {n} rows from a buffer holding {self._size}")
        rng = np.random.default_rng(random_state)
        picked = np.sort(rng.choice(self._size, size=n, replace=False))
        positions = (self._head - self._size + picked) % self.capacity
        out = {"X": self.X[positions]}
        for name in _FIELDS:
            out[name] = getattr(self, name)[positions]
        return out

    # -- checkpoints -------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """The rows in time order plus the append counter: what a checkpoint stores."""
        out = self.snapshot()
        out["n_appended"] = np.array([self.n_appended], dtype=np.int64)
        return out

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the contents with a :meth:`state` (the newest ``capacity`` rows fit)."""
        X = np.asarray(state["X"], dtype=np.float64).reshape(-1, self.n_features)
        self._head = 0
        self._size = 0
        self.extend(X, **{name: state[name] for name in _FIELDS})
        self.n_appended = int(np.asarray(state["n_appended"]).ravel()[0])
