"""Selectors as scikit-learn transformers, refitted inside each training fold.

``Pipeline([("select", SelectByImportance(...)), ("model", model)])`` measures importance
on the training rows of each split only (with its own inner purged folds), so the
selection never sees the test fold it is scored on.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from mltrainer.cv import fit_params
from mltrainer.exceptions import ConfigError, did_you_mean
from mltrainer.selection._cluster import clustered_importance
from mltrainer.selection._common import as_frame
from mltrainer.selection._permutation import permutation_importance
from mltrainer.selection._rfe import rfe
from mltrainer.selection._sfi import single_feature_importance
from mltrainer.selection._tree import tree_importance

__all__ = ["IMPORTANCE_METHODS", "SelectByImportance", "SelectByRFE"]

logger = logging.getLogger("mltrainer")

#: Methods of :class:`SelectByImportance`.
IMPORTANCE_METHODS = ("permutation", "gain", "sfi", "clustered")


def _default_estimator(y: Any, random_state: Any) -> BaseEstimator:
    if type_of_target(y) in ("binary", "multiclass"):
        return RandomForestClassifier(n_estimators=50, max_depth=5, random_state=random_state)
    return RandomForestRegressor(n_estimators=50, max_depth=5, random_state=random_state)


def _check_top_k(top_k: Any, n_features: int) -> None:
    if top_k is None:
        return
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ConfigError(f"top_k={top_k!r} is not an int >= 1: pass e.g. top_k=10")
    if top_k > n_features:
        raise ConfigError(
            f"top_k={top_k} is larger than the number of features ({n_features}): "
            f"lower top_k to at most {n_features} or leave it unset"
        )


class _Selector(SelectorMixin, BaseEstimator):
    """Shared fit plumbing: validate, keep X's frame for t1 alignment, store the mask."""

    def _frame(self, X: Any, y: Any) -> tuple[Any, Any]:
        original = X
        X, y = validate_data(self, X, y, ensure_min_samples=2, y_numeric=False)
        if isinstance(original, pd.DataFrame):
            return original, y
        return X, y

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def _finish(self, columns: list[str], selected: list[str]) -> None:
        chosen = set(selected)
        self.support_ = np.array([c in chosen for c in columns], dtype=bool)
        self.selected_features_ = [c for c in selected]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class SelectByImportance(_Selector):
    """Keep the features that matter, by importance measured on the rows ``fit`` sees.

    Parameters
    ----------
    estimator : estimator, optional
        The model whose importance is measured; default a small random forest of the
        task's kind (classification for class labels, else regression).
    method : {"permutation", "gain", "sfi", "clustered"}, default "permutation"
        ``permutation``: out-of-fold mean decrease of the score; ``clustered``: the same
        with correlated features permuted together (a feature takes its cluster's
        value); ``sfi``: out-of-fold score of each feature alone; ``gain``: in-sample
        tree importance (a quick screen).
    top_k : int, optional
        Keep at most this many features, best first.
    threshold : float, optional
        Keep features whose mean importance is at least this. Default when neither
        ``top_k`` nor ``threshold`` is set: above 0 for permutation methods (permuting
        them hurts the score), at least the mean share ``1/p`` for ``gain``, at least the
        median for ``sfi``. At least one feature is always kept.
    cv : int or cross-validator, default 3
        Inner splitter for the out-of-fold methods (an int: ``PurgedKFold(cv)``).
    t1 : Series, optional
        Label end times, indexed like X or like a superset of X's rows (the whole data
        set, when this selector runs inside a pipeline on a training fold).
    scoring : str or callable, optional
        One scorer (see :func:`permutation_importance`).
    n_repeats : int, default 5
        Permutations per feature and fold.
    n_clusters : int, optional
        Clusters for ``clustered`` (default: chosen by silhouette).
    random_state : int, RandomState or None
        Seed of the permutations and of the default estimator.
    n_jobs : int or None
        Parallel work inside the importance function.

    Attributes
    ----------
    importances_ : DataFrame
        ``mean`` and ``std`` per feature, most important first.
    importance_ : ImportanceResult or None
        The full result (None for ``gain``).
    support_ : ndarray of bool
        Mask of the kept features.
    selected_features_ : list of str
        Kept feature names, most important first.
    n_features_in_, feature_names_in_
        As scikit-learn sets them.
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        method: str = "permutation",
        top_k: int | None = None,
        threshold: float | None = None,
        cv: Any = 3,
        t1: pd.Series | None = None,
        scoring: Any = None,
        n_repeats: int = 5,
        n_clusters: int | None = None,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.top_k = top_k
        self.threshold = threshold
        self.cv = cv
        self.t1 = t1
        self.scoring = scoring
        self.n_repeats = n_repeats
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SelectByImportance:
        """Measure importance on X's rows and choose the features.

        Parameters
        ----------
        X : DataFrame or array-like, shape (n, p)
        y : array-like, shape (n,)
        sample_weight : array-like, shape (n,), optional
            Weights of the rows: the importance model is fitted and scored with them (a
            pipeline routes the model's weights here too, see :func:`mltrainer.cv.fit_params`).

        Returns
        -------
        self
        """
        if self.method not in IMPORTANCE_METHODS:
            hint = did_you_mean(str(self.method), IMPORTANCE_METHODS)
            raise ConfigError(
                f"method={self.method!r} is unknown{hint}: "
                f"choose one of {', '.join(IMPORTANCE_METHODS)}"
            )
        data, y = self._frame(X, y)
        frame = as_frame(data)
        columns = list(frame.columns)
        _check_top_k(self.top_k, len(columns))
        estimator = (
            _default_estimator(y, self.random_state)
            if self.estimator is None
            else clone(self.estimator)
        )
        weight = None if sample_weight is None else _check_sample_weight(sample_weight, data)
        table = self._importances(estimator, data, y, weight)
        self.importances_ = table
        mean = table["mean"]
        if self.threshold is not None:
            keep = mean >= float(self.threshold)
        elif self.top_k is not None:
            keep = pd.Series(True, index=mean.index)
        elif self.method == "gain":
            keep = mean >= 1.0 / len(columns) - 1e-12
        elif self.method == "sfi":
            keep = mean >= mean.median()
        else:
            keep = mean > 0
        ranked = [str(f) for f in mean.index[keep.to_numpy()]]
        if self.top_k is not None:
            ranked = ranked[: int(self.top_k)]
        if not ranked:
            logger.warning(
                "selection (%s): no feature passed the threshold; keeping the best one, %r",
                self.method,
                str(mean.index[0]),
            )
            ranked = [str(mean.index[0])]
        self._finish(columns, ranked)
        return self

    def _importances(
        self, estimator: Any, X: Any, y: Any, weight: np.ndarray | None
    ) -> pd.DataFrame:
        options: dict[str, Any] = {
            "cv": self.cv,
            "t1": self.t1,
            "scoring": self.scoring,
            "sample_weight": weight,
        }
        self.importance_ = None
        if self.method == "gain":
            model = estimator.fit(X, y, **fit_params(estimator, weight))
            names = list(as_frame(X).columns)
            gain = tree_importance(model, names)
            return pd.DataFrame({"mean": gain, "std": np.zeros(len(gain))}, index=gain.index)
        if self.method == "sfi":
            result = single_feature_importance(estimator, X, y, n_jobs=self.n_jobs, **options)
        elif self.method == "clustered":
            result = clustered_importance(
                estimator,
                X,
                y,
                n_clusters=self.n_clusters,
                n_repeats=self.n_repeats,
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                **options,
            )
        else:
            result = permutation_importance(
                estimator,
                X,
                y,
                n_repeats=self.n_repeats,
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                **options,
            )
        self.importance_ = result
        return result.per_feature()[["mean", "std"]]


class SelectByRFE(_Selector):
    """Recursive elimination by out-of-fold importance (see :func:`mltrainer.selection.rfe`).

    Parameters
    ----------
    estimator : estimator, optional
        Default a small random forest of the task's kind.
    n_features : int, optional
        Eliminate down to exactly this many; default: the round with the best
        out-of-fold score.
    step : int or float, default 0.2
        Features dropped per round (count, or fraction of those left).
    min_features : int, default 1
        Never go below this many.
    cv, t1, scoring, n_repeats, random_state, n_jobs
        As :class:`SelectByImportance`.

    Attributes
    ----------
    result_ : RFEResult
        Rounds, scores, each fold's selection and the stability.
    importances_ : DataFrame
        ``mean`` and ``std`` of the chosen set's permutation importance.
    support_, selected_features_, n_features_in_, feature_names_in_
        As :class:`SelectByImportance`.
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_features: int | None = None,
        step: int | float = 0.2,
        min_features: int = 1,
        cv: Any = 3,
        t1: pd.Series | None = None,
        scoring: Any = None,
        n_repeats: int = 5,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_features = n_features
        self.step = step
        self.min_features = min_features
        self.cv = cv
        self.t1 = t1
        self.scoring = scoring
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SelectByRFE:
        """Run the elimination on X's rows and keep the chosen set.

        Parameters
        ----------
        X : DataFrame or array-like, shape (n, p)
        y : array-like, shape (n,)
        sample_weight : array-like, shape (n,), optional
            Weights of the rows, for the importance model's fits and scores.

        Returns
        -------
        self
        """
        data, y = self._frame(X, y)
        columns = list(as_frame(data).columns)
        estimator = (
            _default_estimator(y, self.random_state)
            if self.estimator is None
            else clone(self.estimator)
        )
        result = rfe(
            estimator,
            data,
            y,
            cv=self.cv,
            t1=self.t1,
            step=self.step,
            min_features=self.min_features,
            n_features=self.n_features,
            scoring=self.scoring,
            n_repeats=self.n_repeats,
            sample_weight=None
            if sample_weight is None
            else _check_sample_weight(sample_weight, data),
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        self.result_ = result
        self.importance_ = result.importances
        self.importances_ = result.importances.to_frame()
        self._finish(columns, result.selected)
        return self
