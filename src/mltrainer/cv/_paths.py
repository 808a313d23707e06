"""Score each combinatorial backtest path from its out-of-fold predictions.

A path's predictions come from several fitted models, so there is no single estimator
to hand a scorer. A frozen predictor that returns the stored predictions (and class
probabilities) for the rows it is asked about stands in for it: every scorer built on
``predict`` or ``predict_proba`` (and ``estimator.score``) then works unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier

__all__ = ["path_scores"]

logger = logging.getLogger("mltrainer")


class _FrozenRegressor(RegressorMixin, BaseEstimator):
    """Returns stored predictions for the row positions in ``X[:, 0]``."""

    def __init__(self, predictions: np.ndarray):
        self.predictions = predictions

    def fit(self, X: Any, y: Any = None) -> _FrozenRegressor:
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.predictions[np.asarray(X)[:, 0]]


class _FrozenClassifier(ClassifierMixin, BaseEstimator):
    """Returns stored predictions and probabilities for the row positions in ``X[:, 0]``."""

    def __init__(self, predictions: np.ndarray, probabilities: np.ndarray | None, classes: Any):
        self.predictions = predictions
        self.probabilities = probabilities
        self.classes = classes
        self.classes_ = np.asarray(classes)

    def fit(self, X: Any, y: Any = None) -> _FrozenClassifier:
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.predictions[np.asarray(X)[:, 0]]

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.probabilities is None:
            raise AttributeError("the estimator has no predict_proba")
        return self.probabilities[np.asarray(X)[:, 0]]


def path_scores(
    estimator: Any,
    predictions: pd.DataFrame,
    probabilities: pd.DataFrame | None,
    y: Any,
    weight: np.ndarray | None,
    scorers: dict[str, Callable[..., float]],
) -> pd.DataFrame:
    """Each path's score per scorer, over the rows that path covers.

    A scorer that needs more than stored predictions (e.g. ``decision_function`` when
    the model has no ``predict_proba``) scores NaN for the paths, with a log message.
    """
    target = np.asarray(y)
    rows = []
    for column in predictions.columns:
        pred = predictions[column].to_numpy()
        covered = np.flatnonzero(~pd.isna(pred))
        frozen: BaseEstimator
        if is_classifier(estimator):
            proba = None
            classes = np.unique(target)
            if probabilities is not None:
                proba = probabilities[column].to_numpy(dtype=float)
                classes = np.asarray(probabilities[column].columns)
            labels = np.zeros(pred.shape[0], dtype=target.dtype)
            labels[covered] = pred[covered].astype(target.dtype, copy=False)
            frozen = _FrozenClassifier(labels, proba, classes)
        else:
            frozen = _FrozenRegressor(pred)
        kw = {} if weight is None else {"sample_weight": weight[covered]}
        row = {}
        for name, scorer in scorers.items():
            try:
                row[name] = float(scorer(frozen, covered[:, None], target[covered], **kw))
            except (AttributeError, TypeError, ValueError) as exc:
                logger.warning(
                    "cv: cannot score %s of %s from stored predictions: %s", name, column, exc
                )
                row[name] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(list(predictions.columns), name="path"))
