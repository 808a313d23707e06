"""Single-feature importance (SFI): each feature alone, scored out of fold.

Substitution cannot hide a feature here (no other feature is in the model), at the cost
of missing interactions. One model per feature and fold: p x folds fits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import is_classifier

from mltrainer.cv import Resampler, cross_validate, resolve_cv
from mltrainer.exceptions import DataError
from mltrainer.selection._common import as_frame, make_scorer_for, split_rows
from mltrainer.selection._result import ImportanceResult, summarise

__all__ = ["single_feature_importance"]


class _FixedSplits:
    """The usable (train, test) pairs of a splitter, replayed as a splitter."""

    def __init__(self, splits: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.splits = splits

    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Any:
        yield from self.splits

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self.splits)


def _one(
    estimator: Any, column: Any, y: Any, cv: Any, scoring: Any, weight: Any, resampler: Any
) -> np.ndarray:
    result = cross_validate(
        estimator, column, y, cv=cv, scoring=scoring, sample_weight=weight, resampler=resampler
    )
    return result.folds["score"].to_numpy(dtype=float)


def single_feature_importance(
    estimator: Any,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    cv: Any,
    t1: pd.Series | None = None,
    scoring: Any = None,
    sample_weight: Any = None,
    resampler: Resampler | None = None,
    n_jobs: int | None = None,
) -> ImportanceResult:
    """Out-of-fold score of a model trained on each feature alone (SFI).

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned per feature and training fold.
    X : DataFrame or ndarray, shape (n, p)
        Features, rows sorted by decision time.
    y : Series or ndarray, shape (n,)
        Targets aligned with X.
    cv : int or cross-validator
        Splitter (an int means ``PurgedKFold(cv)``); purged splitters are given ``t1``.
    t1 : Series, optional
        Label end times aligned with X.
    scoring : str or callable, optional
        One scorer (default as :func:`permutation_importance`). Higher is better, so the
        ranking puts the most predictive feature first.
    sample_weight : array-like, optional
        Passed to ``fit`` and to the scorer.
    resampler : Resampler, optional
        Changes each fold's training rows before the fit.
    n_jobs : int or None
        Features scored in parallel (joblib processes).

    Returns
    -------
    ImportanceResult
        ``mean``/``std`` of each single-feature model's fold scores (``method="sfi"``).
    """
    frame = as_frame(X)
    if len(y) != len(frame):
        raise DataError(f"y has {len(y)} rows but X has {len(frame)}: pass y aligned with X")
    splitter = resolve_cv(cv, X, t1)
    name, scorer = make_scorer_for(estimator, scoring, y)
    named = isinstance(X, pd.DataFrame)
    target = y if named and isinstance(y, pd.Series) else np.asarray(y)
    splits = split_rows(splitter, X, y, classifier=is_classifier(estimator))
    usable = _FixedSplits([s for s in splits if s is not None])
    values = np.full((1, 1, frame.shape[1]), np.nan)  # no usable split: no evidence
    if usable.splits:
        scores = Parallel(n_jobs=n_jobs)(
            delayed(_one)(
                estimator,
                frame[[column]] if named else frame[[column]].to_numpy(),
                target,
                usable,
                scorer,
                sample_weight,
                resampler,
            )
            for column in frame.columns
        )
        values = np.stack(scores, axis=1)[:, None, :]  # (folds, 1 repeat, features)
    return summarise("sfi", values, list(frame.columns), scoring=name)
