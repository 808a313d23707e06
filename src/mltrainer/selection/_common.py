"""Helpers shared by the importance functions: inputs, splitters, scorers, stability."""

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

from mltrainer.cv import PurgedKFold, PurgedSplitter
from mltrainer.exceptions import ConfigError, DataError

logger = logging.getLogger("mltrainer")

__all__ = [
    "align_t1",
    "as_frame",
    "default_scoring",
    "jaccard_stability",
    "make_scorer_for",
    "resolve_cv",
    "split_rows",
]


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


def align_t1(t1: pd.Series | None, X: Any) -> pd.Series | None:
    """The label end times of X's rows, given t1 for X or for a superset of X's rows.

    Inside a scikit-learn ``Pipeline`` a selector sees only a training fold, while its
    ``t1`` covers every row; the fold's rows are picked out by index. When repeated
    (panel) timestamps make that ambiguous, each row gets the latest label end of its
    timestamp, which can only make purging more conservative.
    """
    if t1 is None:
        return None
    if not isinstance(t1, pd.Series):
        raise DataError(f"t1 must be a Series of label end times, got {type(t1).__name__}")
    n = X.shape[0]
    if not isinstance(X, pd.DataFrame | pd.Series):
        if len(t1) == n:
            return t1
        raise DataError(
            f"t1 has {len(t1)} rows but X has {n} and no index to align on: pass X as a "
            "DataFrame indexed by decision time"
        )
    if len(t1) == n and t1.index.equals(X.index):
        return t1
    sub = t1[t1.index.isin(X.index)]
    if len(sub) == n and sub.index.equals(X.index):
        return sub
    times = X.index.get_level_values(0) if isinstance(X.index, pd.MultiIndex) else X.index
    if bool(times.isin(t1.index.get_level_values(0)).all()):
        # Panels: purging may keep one symbol's row of a timestamp and drop another's, so
        # rows cannot be told apart by time. Give each row the latest label end of its
        # timestamp: never shorter than its own, so inner purging can only remove more.
        latest = t1.groupby(level=0, sort=False).max()
        return pd.Series(latest.reindex(times).to_numpy(), index=X.index, name=t1.name)
    raise DataError(
        "t1 does not cover X's rows: pass t1 indexed like X (the same decision times, in order)"
    )


def resolve_cv(cv: Any, X: Any, t1: pd.Series | None) -> BaseCrossValidator:
    """A splitter for X: an int means ``PurgedKFold(cv)``; purged splitters get X's t1."""
    if isinstance(cv, bool) or cv is None:
        raise ConfigError(f"cv={cv!r} is not a splitter: pass an int or e.g. PurgedKFold(5)")
    t1 = align_t1(t1, X)
    if isinstance(cv, int | np.integer):
        return PurgedKFold(int(cv), t1=t1)
    if isinstance(cv, str) or not hasattr(cv, "split"):
        raise ConfigError(
            f"cv={cv!r} is not a splitter: pass one with split(X, y, groups), e.g. PurgedKFold(5)"
        )
    if isinstance(cv, PurgedSplitter) and (t1 is not None or cv.t1 is not None):
        own = cv.t1 if t1 is None else t1
        return type(cv)(**{**cv.get_params(), "t1": align_t1(own, X)})
    return cv


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


def default_scoring(estimator: Any) -> str:
    """``neg_log_loss`` for probabilistic classifiers, ``accuracy`` for others, ``r2`` else."""
    if is_classifier(estimator):
        return "neg_log_loss" if hasattr(estimator, "predict_proba") else "accuracy"
    return "r2"


def make_scorer_for(estimator: Any, scoring: Any) -> tuple[str, Any]:
    """Name and scorer for one scoring (a string or a callable ``scorer(est, X, y)``)."""
    if scoring is None:
        scoring = default_scoring(estimator)
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
