"""Spy estimators: they record every row they are fitted on and every row they predict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge


class Recorder:
    """A shared log that survives ``clone`` (deep copies return the same recorder)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, Any]] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> Recorder:
        return self

    def fitted(self, model: Any, role: str, X: Any) -> None:
        """Log a fit; the model keeps a token that its predictions are logged under."""
        model.token_ = len(self.events)  # unique per fit, unlike id() of a freed model
        self.events.append(("fit", role, model.token_, _labels(X)))

    def mark(self, label: str) -> None:
        self.events.append(("mark", label, -1, None))

    def of(self, role: str) -> list[tuple[str, int, Any]]:
        return [(kind, who, rows) for kind, r, who, rows in self.events if r == role]


def _labels(X: Any) -> Any:
    return X.index.copy() if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))


def _names(model: Any, X: Any) -> None:
    # fitted on a frame: remember its columns, so composites hand it frames (with the index)
    if isinstance(X, pd.DataFrame):
        model.feature_names_in_ = np.asarray(X.columns, dtype=object)


class SpyClassifier(ClassifierMixin, BaseEstimator):
    """A logistic regression that logs ``("fit" | "predict", role, fit token, X's index)``."""

    def __init__(self, log: Recorder | None = None, role: str = "member", C: float = 1.0) -> None:
        self.log = log
        self.role = role
        self.C = C

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SpyClassifier:
        if self.log is not None:
            self.log.fitted(self, self.role, X)
        self.model_ = clone(LogisticRegression(C=self.C)).fit(
            np.asarray(X, dtype=float), y, sample_weight=sample_weight
        )
        self.classes_ = self.model_.classes_
        self.n_features_in_ = np.asarray(X).shape[1]
        _names(self, X)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.log is not None:
            self.log.events.append(("predict", self.role, self.token_, _labels(X)))
        return np.asarray(self.model_.predict_proba(np.asarray(X, dtype=float)))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class SpyRegressor(RegressorMixin, BaseEstimator):
    """A ridge regression that logs the rows it is fitted on and predicts."""

    def __init__(self, log: Recorder | None = None, role: str = "member") -> None:
        self.log = log
        self.role = role

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SpyRegressor:
        if self.log is not None:
            self.log.fitted(self, self.role, X)
        self.model_ = Ridge().fit(np.asarray(X, dtype=float), y, sample_weight=sample_weight)
        self.n_features_in_ = np.asarray(X).shape[1]
        _names(self, X)
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.log is not None:
            self.log.events.append(("predict", self.role, self.token_, _labels(X)))
        return np.asarray(self.model_.predict(np.asarray(X, dtype=float)))
