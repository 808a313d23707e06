"""Prequential (test-then-train) scores of matured predictions: a rolling window and totals."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = ["Prequential", "row_loss"]

_EPS = 1e-15


def row_loss(output: np.ndarray, y: float, *, kind: str) -> float:
    """Loss of one prediction: log loss of the true class index, or squared error."""
    if kind == "classification":
        p = float(output[int(y)])
        return -math.log(min(max(p, _EPS), 1.0 - _EPS))
    diff = float(output[0]) - float(y)
    return diff * diff


class Prequential:
    """Scores of every prediction once its label is known, as the stream goes.

    Each matured prediction is scored before the model learns its row, so the scores are
    out of sample by construction (Dawid's prequential principle). The last ``window``
    rows give the rolling metrics; totals run since the start.

    Parameters
    ----------
    kind : {"classification", "regression"}
    n_outputs : int
        Classes (or 1 for regression).
    window : int, default 500
        Rows of the rolling metrics.
    """

    def __init__(self, *, kind: str, n_outputs: int, window: int = 500) -> None:
        self.kind = kind
        self.window = int(window)
        self.output = np.zeros((self.window, n_outputs))
        self.y = np.zeros(self.window)
        self.loss = np.zeros(self.window)
        self._head = 0
        self._size = 0
        self.n = 0
        self.total_loss = 0.0
        self.total_correct = 0.0

    def update(self, output: np.ndarray, y: float, loss: float) -> None:
        """Score one matured prediction (its ``loss`` from :func:`row_loss`)."""
        head = self._head
        self.output[head] = output
        self.y[head] = y
        self.loss[head] = loss
        self._head = (head + 1) % self.window
        self._size = min(self._size + 1, self.window)
        self.n += 1
        self.total_loss += loss
        if self.kind == "classification":
            self.total_correct += float(int(np.argmax(output)) == int(y))

    def _rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        positions = (self._head - self._size + np.arange(self._size)) % self.window
        return self.output[positions], self.y[positions], self.loss[positions]

    def metrics(self) -> dict[str, float]:
        """Rolling and total scores; NaN where undefined (e.g. AUC with one class)."""
        output, y, loss = self._rows()
        nan = float("nan")
        out: dict[str, float] = {"n": float(self.n), "window_rows": float(len(y))}
        mean_total = self.total_loss / self.n if self.n else nan
        if self.kind == "classification":
            if len(y):
                codes = y.astype(np.int64)
                out["log_loss"] = float(loss.mean())
                out["accuracy"] = float((output.argmax(axis=1) == codes).mean())
                onehot = np.zeros_like(output)
                onehot[np.arange(len(codes)), codes] = 1.0
                out["brier"] = float(((output - onehot) ** 2).sum(axis=1).mean())
            else:
                out.update(log_loss=nan, accuracy=nan, brier=nan)
            out["roc_auc"] = _binary_auc(output, y) if output.shape[1] == 2 else nan
            out["log_loss_total"] = mean_total
            out["accuracy_total"] = self.total_correct / self.n if self.n else nan
        else:
            if len(y):
                error = output[:, 0] - y
                out["mse"] = float(loss.mean())
                out["mae"] = float(np.abs(error).mean())
                both = np.std(output[:, 0]) > 0 and np.std(y) > 0
                out["ic"] = float(np.corrcoef(output[:, 0], y)[0, 1]) if both else nan
            else:
                out.update(mse=nan, mae=nan, ic=nan)
            out["mse_total"] = mean_total
        return out

    def state(self) -> dict[str, np.ndarray]:
        """The window (oldest first) and the totals."""
        output, y, loss = self._rows()
        totals = np.array([self.n, self.total_loss, self.total_correct], dtype=np.float64)
        return {"output": output, "y": y, "loss": loss, "totals": totals}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the window and totals with a :meth:`state`."""
        output = np.asarray(state["output"]).reshape(-1, self.output.shape[1])
        n = output.shape[0]
        self.output[:n] = output
        self.y[:n] = np.asarray(state["y"])
        self.loss[:n] = np.asarray(state["loss"])
        self._size = n
        self._head = n % self.window
        totals = np.asarray(state["totals"], dtype=np.float64)
        self.n = int(totals[0])
        self.total_loss = float(totals[1])
        self.total_correct = float(totals[2])


def _binary_auc(output: np.ndarray, y: np.ndarray) -> float:
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(output[:, 1])
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
