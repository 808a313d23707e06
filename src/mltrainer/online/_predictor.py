"""One-row predictors: the fastest exact path for each kind of fitted model.

:func:`fast_predictor` returns an object with ``predict_row(x) -> ndarray`` (class
probabilities, or ``[value]`` for a regressor): linear pipelines fold their scaler into the
weights (:class:`~mltrainer.online._linear.LinearPredictor`), XGBoost trees are flattened
(:class:`~mltrainer.online._trees.FlatTrees`), anything else predicts through its library.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError

from ._linear import LinearPredictor
from ._trees import FlatTrees

__all__ = ["LibraryPredictor", "fast_predictor"]

logger = logging.getLogger("mltrainer")


class LibraryPredictor:
    """Predict one row through the model's own ``predict_proba``/``predict``.

    Parameters
    ----------
    estimator : Any
        A fitted model; composites and models fitted on frames get a one-row frame.
    feature_names : sequence of str
        Column names, for models that read frames.
    classifier : bool
        Whether to call ``predict_proba``.
    """

    def __init__(self, estimator: Any, feature_names: Sequence[str], *, classifier: bool) -> None:
        self.estimator = estimator
        self.feature_names = list(feature_names)
        self.classifier = classifier
        self._frame = _wants_frame(estimator)

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (classifiers) or ``[value]`` for one row."""
        row: Any = x.reshape(1, -1)
        if self._frame:
            row = pd.DataFrame(row, columns=self.feature_names)
        if self.classifier:
            return np.asarray(self.estimator.predict_proba(row), dtype=np.float64)[0]
        return np.asarray(self.estimator.predict(row), dtype=np.float64).reshape(1)


def _wants_frame(estimator: Any) -> bool:
    from mltrainer.models import Composite

    if isinstance(estimator, Composite):
        return True
    return getattr(estimator, "feature_names_in_", None) is not None


def fast_predictor(estimator: Any, feature_names: Sequence[str], *, classifier: bool) -> Any:
    """The fastest one-row predictor of ``estimator`` that gives the library's outputs.

    Parameters
    ----------
    estimator : Any
        A fitted model (scikit-learn, XGBoost or LightGBM wrapper or adapter, composite).
    feature_names : sequence of str
        The columns of a row, in order.
    classifier : bool
        Whether probabilities are wanted.

    Returns
    -------
    object
        With ``predict_row(x)``.
    """
    from mltrainer.models import model_type_of

    entry = model_type_of(estimator)
    name = entry.name if entry is not None else None
    try:
        if name in ("logistic", "ridge", "sgd"):
            predictor: Any = LinearPredictor(estimator)
            if predictor.classifier == classifier:
                return predictor
        if name == "xgboost":
            trees = FlatTrees(estimator)
            if trees.classifier == classifier:
                return trees
    except ConfigError as exc:  # a model the fast paths do not cover: the library's own
        logger.debug("fast predictor unavailable (%s); predicting through the library", exc)
    return LibraryPredictor(estimator, feature_names, classifier=classifier)
