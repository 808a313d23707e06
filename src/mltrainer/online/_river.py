"""River models through a thin adapter: ``learn_one`` / ``predict_proba_one`` on dict rows.

River models are plain Python objects with no safe file format; the checkpoint of a
``linear_model.LogisticRegression`` or ``LinearRegression`` with the ``SGD`` optimizer
(and no L1 term) is its weights, intercept and step counter, restored exactly. Other River
models run without checkpoints (:meth:`RiverUpdater.state` says so), and none is saved to
the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mltrainer.exceptions import ConfigError

from ._ring import RingBuffer
from ._updaters import CandidateError, Updater

__all__ = ["RiverUpdater"]


class RiverUpdater(Updater):
    """A River classifier or regressor learning one matured row at a time.

    Rows are passed as ``{feature name: value}``; a binary classifier learns ``y`` as a
    bool (River's convention), a multiclass one the class index.
    """

    method = "river"

    def _bind(self, estimator: Any) -> None:
        self._estimator = estimator
        self._predictor = self
        self._names = list(self.feature_names)

    def _row(self, x: np.ndarray) -> dict[str, float]:
        return dict(zip(self._names, x.tolist(), strict=True))

    def _target(self, y: float) -> Any:
        if self.kind != "classification":
            return float(y)
        return bool(int(y) == 1) if self.n_classes == 2 else int(y)

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """``predict_proba_one`` as an array by class index (``predict_one`` for regressors)."""
        row = self._row(x)
        if self.kind != "classification":
            return np.array([float(self._estimator.predict_one(row) or 0.0)])
        proba = self._estimator.predict_proba_one(row)
        if self.n_classes == 2:
            p = float(proba.get(True, proba.get(1, 0.0)))
            return np.array([1.0 - p, p])
        out = np.array([float(proba.get(k, 0.0)) for k in range(self.n_classes)])
        total = out.sum()
        return out / total if total > 0 else np.full(self.n_classes, 1.0 / self.n_classes)

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        """``learn_one`` on each row in order (weights other than 1 are passed as ``w``)."""
        for x, target, w in zip(X, y, weight, strict=True):
            if w == 1.0:
                self._estimator.learn_one(self._row(x), self._target(target))
            else:
                self._estimator.learn_one(self._row(x), self._target(target), w=float(w))
        self.n_updates += 1

    def estimator(self) -> Any:
        """None: River models have no registry format."""
        return None

    def candidate(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Any:
        """A fresh clone of the River model that learnt ``X, y`` in order."""
        fresh = self._estimator.clone()
        previous = self._estimator
        self._estimator = fresh
        try:
            self.learn(X, y, weight, buffer=RingBuffer(1, n_features=max(X.shape[1], 1)))
        except (ValueError, TypeError) as exc:
            raise CandidateError(f"the River refit failed: {exc}") from exc
        finally:
            self._estimator = previous
            self.n_updates -= 1
        return fresh

    # -- checkpoints ---------------------------------------------------------------------
    def _linear(self) -> Any:
        from river import linear_model, optim

        model = self._estimator
        kinds = (linear_model.LogisticRegression, linear_model.LinearRegression)
        if not isinstance(model, kinds) or type(model.optimizer) is not optim.SGD or model.l1:
            raise ConfigError(
                f"River model {type(model).__name__} has no pickle-free checkpoint (only "
                "LogisticRegression / LinearRegression with optim.SGD and l1=0 do); run it "
                "with checkpoint_every=0"
            )
        return model

    def state(self) -> dict[str, np.ndarray]:
        """Weights (in feature order), intercept and the optimizer's step counter."""
        model = self._linear()
        out = super().state()
        weights = model._weights  # River keeps them in a VectorDict keyed by feature
        out["river_w"] = np.array([float(weights.get(name, 0.0)) for name in self._names])
        out["river_b"] = np.array([float(model.intercept)])
        out["river_t"] = np.array([int(model.optimizer.n_iterations)])
        return out

    def restore(self, state: Mapping[str, Any]) -> None:
        """Set the stored weights, intercept and step counter."""
        super().restore(state)
        if "river_w" not in state:
            return
        model = self._linear()
        weights = np.asarray(state["river_w"], dtype=np.float64)
        for name, value in zip(self._names, weights.tolist(), strict=True):
            model._weights[name] = value
        model.intercept = float(np.asarray(state["river_b"]).ravel()[0])
        model.optimizer.n_iterations = int(np.asarray(state["river_t"]).ravel()[0])
