"""Predictions waiting for their labels: a FIFO of fixed size, matured by bar count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["PendingQueue"]


class PendingQueue:
    """Predictions in bar order, each waiting until ``horizon`` more bars have arrived.

    A label over the next ``h`` bars is known ``h`` bars after its decision; one
    prediction is queued per bar, so at most ``h + 1`` wait at once and the oldest always
    matures first. Arrays are allocated once.

    Parameters
    ----------
    capacity : int
        Predictions that can wait at once (``horizon + 1`` is enough).
    n_features : int
        Width of the feature row kept with each prediction (it is what will be learnt).
    n_outputs : int
        Width of a prediction (class probabilities, or 1 for a regression value).
    """

    def __init__(self, capacity: int, *, n_features: int, n_outputs: int) -> None:
        self.capacity = int(capacity)
        self.sequence = np.zeros(self.capacity, dtype=np.int64)  # bar number of t0
        self.t0 = np.zeros(self.capacity, dtype=np.int64)
        self.X = np.zeros((self.capacity, n_features))
        self.output = np.zeros((self.capacity, n_outputs))
        self.version = np.zeros(self.capacity, dtype=np.int64)
        self._head = 0  # oldest
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, sequence: int, t0: int, x: np.ndarray, output: np.ndarray, version: int) -> None:
        """Queue the prediction made at bar ``sequence`` (time ``t0``)."""
        if self._size == self.capacity:
            raise RuntimeError("pending queue full: predictions are matured too late")
        tail = (self._head + self._size) % self.capacity
        self.sequence[tail] = sequence
        self.t0[tail] = t0
        self.X[tail] = x
        self.output[tail] = output
        self.version[tail] = version
        self._size += 1

    def oldest_sequence(self) -> int | None:
        """Bar number of the oldest waiting prediction, or None."""
        return None if self._size == 0 else int(self.sequence[self._head])

    def pop(self) -> tuple[int, int, np.ndarray, np.ndarray, int]:
        """Remove the oldest: ``(sequence, t0, x, output, version)`` (copies)."""
        head = self._head
        item = (
            int(self.sequence[head]),
            int(self.t0[head]),
            self.X[head].copy(),
            self.output[head].copy(),
            int(self.version[head]),
        )
        self._head = (head + 1) % self.capacity
        self._size -= 1
        return item

    def state(self) -> dict[str, np.ndarray]:
        """The waiting predictions, oldest first."""
        positions = (self._head + np.arange(self._size)) % self.capacity
        return {
            "sequence": self.sequence[positions],
            "t0": self.t0[positions],
            "X": self.X[positions],
            "output": self.output[positions],
            "version": self.version[positions],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the queue with a :meth:`state`."""
        self._head = 0
        self._size = 0
        X = np.asarray(state["X"]).reshape(-1, self.X.shape[1])
        output = np.asarray(state["output"]).reshape(-1, self.output.shape[1])
        for i in range(X.shape[0]):
            self.push(
                int(state["sequence"][i]),
                int(state["t0"][i]),
                X[i],
                output[i],
                int(state["version"][i]),
            )
