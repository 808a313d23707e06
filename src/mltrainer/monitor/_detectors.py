"""Streaming drift detectors over the per-sample loss: thin wrappers over River's.

They speak River's verbs (``update(x)``, read-only ``drift_detected``) and add
``update_many(xs)``, which feeds a whole array and returns the positions where drift
fired. Feed :func:`~mltrainer.monitor.per_sample_loss` in time order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from river import drift

from mltrainer.exceptions import ConfigError, DataError

__all__ = ["ADWINDetector", "PageHinkleyDetector"]


class _Detector:
    """Shared plumbing: one River detector, counted updates, detections remembered."""

    _detector: Any

    def __init__(self) -> None:
        self.n_seen = 0
        self.detections: list[int] = []

    @property
    def drift_detected(self) -> bool:
        """Whether the last :meth:`update` signalled drift (River's flag, read-only)."""
        return bool(self._detector.drift_detected)

    def update(self, x: float) -> _Detector:
        """Feed one value (e.g. one sample's loss); returns self."""
        value = float(x)
        if value != value:  # NaN: River would poison its running sums
            raise DataError("a detector cannot take NaN: drop samples whose loss is unknown")
        self._detector.update(value)
        if self._detector.drift_detected:
            self.detections.append(self.n_seen)
        self.n_seen += 1
        return self

    def update_many(self, xs: Iterable[float]) -> np.ndarray:
        """Feed values in order; return the positions (within ``xs``) where drift fired."""
        arr = np.asarray(list(xs) if not isinstance(xs, np.ndarray) else xs, dtype=np.float64)
        if np.isnan(arr).any():
            raise DataError("a detector cannot take NaN: drop samples whose loss is unknown")
        start = self.n_seen
        det = self._detector
        fired = []
        for i, value in enumerate(arr.tolist()):  # River is per-sample by design
            det.update(value)
            if det.drift_detected:
                fired.append(i)
        self.n_seen += arr.size
        self.detections.extend(start + i for i in fired)
        return np.asarray(fired, dtype=np.intp)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._params()}, n_seen={self.n_seen})"

    def _params(self) -> str:  # pragma: no cover - overridden
        return ""


class ADWINDetector(_Detector):
    """ADaptive WINdowing (Bifet & Gavalda 2007) via ``river.drift.ADWIN``.

    Parameters
    ----------
    delta : float, default 0.002
        Confidence of the cut test; smaller means fewer false alarms, slower detection.
    **kwargs
        Passed to ``river.drift.ADWIN`` (``clock``, ``min_window_length``, ...).
    """

    def __init__(self, delta: float = 0.002, **kwargs: Any) -> None:
        if not 0 < delta < 1:
            raise ConfigError(f"delta={delta} must be in (0, 1), e.g. 0.002")
        super().__init__()
        self.delta = delta
        self.kwargs = kwargs
        self._detector = drift.ADWIN(delta=delta, **kwargs)

    @property
    def estimation(self) -> float:
        """Mean of the values in ADWIN's current window."""
        return float(self._detector.estimation)

    @property
    def width(self) -> int:
        """Number of values in ADWIN's current window."""
        return int(self._detector.width)

    def _params(self) -> str:
        return f"delta={self.delta}"


class PageHinkleyDetector(_Detector):
    """Page-Hinkley test (Page 1954) via ``river.drift.PageHinkley``.

    Parameters
    ----------
    min_instances, delta, threshold, alpha
        As in River: values seen before testing, tolerated change, detection threshold
        (lambda) and forgetting factor.
    mode : {"up", "down", "both"}, default "up"
        Direction watched; "up" = the loss increased (the model got worse).
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 1e-4,
        *,
        mode: str = "up",
    ) -> None:
        if mode not in ("up", "down", "both"):
            raise ConfigError(f"mode '{mode}' is unknown; use 'up', 'down' or 'both'")
        if threshold <= 0:
            raise ConfigError(f"threshold={threshold} must be > 0, e.g. 50")
        super().__init__()
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self._detector = drift.PageHinkley(
            min_instances=min_instances, delta=delta, threshold=threshold, alpha=alpha,
            mode=mode,
        )  # fmt: skip

    def _params(self) -> str:
        return f"threshold={self.threshold}, mode={self.mode!r}"
