"""What the importance functions share: inputs as frames, usable splits, a scorer, stability."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import BaseCrossValidator

from mltrainer.cv import default_scoring
from mltrainer.exceptions import ConfigError, DataError

logger = logging.getLogger("mltrainer")

__all__ = ["as_frame", "jaccard_stability", "make_scorer_for", "split_rows"]


def as_frame(X: Any) -> pd.DataFrame:
    """X as a DataFrame with string column names (arrays get ``x0``, ``x1``, ...)."""
    if isinstance(X, pd.DataFrame):
        if not all(isinstance(c, str) for c in X.columns):
            return X.set_axis([str(c) for c in X.columns], axis=1)
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(f"X must be 2-D (rows x features), got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def split_rows(
    cv: BaseCrossValidator, X: Any, y: Any, *, classifier: bool
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """``cv.split`` as intp arrays; None for a split a classifier cannot be scored on.

    A training fold that holds fewer classes than y (a class absent for a whole stretch
    of time) gives a model that cannot be scored with the full set of classes: such a
    split is reported as None (and logged) so the caller counts it as no evidence.
    """
    labels = np.asarray(y)
    n_classes = np.unique(labels).size if classifier else 0
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for k, (train, test) in enumerate(cv.split(X, y)):
        train = np.asarray(train, dtype=np.intp)
        if classifier and np.unique(labels[train]).size < n_classes:
            logger.warning(
                "importance: split %d trains on fewer classes than y has; it is skipped", k
            )
            out.append(None)
            continue
        out.append((train, np.asarray(test, dtype=np.intp)))
    return out


def make_scorer_for(estimator: Any, scoring: Any, y: Any) -> tuple[str, Any]:
    """Name and scorer for one scoring (a string or a callable ``scorer(est, X, y)``).

    None means the task's headline scorer (:func:`mltrainer.cv.default_scoring`), as
    cross-validation reports it.
    """
    if scoring is None:
        if is_classifier(estimator):
            scoring = default_scoring("classification", np.unique(np.asarray(y)).size)[0]
        else:
            scoring = default_scoring("regression")[0]
    if isinstance(scoring, list | tuple | set | dict):
        raise ConfigError(
            f"scoring={scoring!r}: importance uses one scorer; pass one name, e.g. 'roc_auc'"
        )
    try:
        scorer = check_scoring(estimator, scoring=scoring)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"scoring={scoring!r} is not usable: {exc}") from None
    name = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "score")
    return str(name), scorer


def jaccard_stability(selections: Sequence[Sequence[str]]) -> float:
    """Mean pairwise Jaccard similarity of feature sets (1 = every fold chose the same set).

    Returns 1.0 for fewer than two sets.
    """
    sets = [set(s) for s in selections]
    if len(sets) < 2:
        return 1.0
    values = [len(a & b) / len(a | b) if a | b else 1.0 for a, b in combinations(sets, 2)]
    return float(np.mean(values))
