"""What every ensemble estimator shares: named members, nested params, task, the composite.

An ensemble is a scikit-learn meta-estimator over ``estimators=[(name, estimator), ...]``:
``get_params`` / ``set_params`` reach into members as ``<name>__<param>`` (how tuning sets
a member's parameter), ``fit`` fits members and combiner and builds :attr:`composite_`,
the predict-only composite of :mod:`mltrainer.models` that the registry saves as one
version, and every prediction is the composite's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier, is_regressor
from sklearn.utils import ClassifierTags, RegressorTags, Tags, get_tags
from sklearn.utils.metaestimators import _BaseComposition, available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from mltrainer.exceptions import ConfigError
from mltrainer.models import check_member_name

__all__ = ["BaseEnsemble", "as_composite"]


class BaseEnsemble(_BaseComposition):
    """Base of the ensemble estimators (see the module docstring); not used directly.

    Subclasses implement ``_fit(data, y, sample_weight, task)`` returning the composite and
    may reserve member names in ``_reserved``.

    Attributes
    ----------
    composite_ : composite
        The fitted, predict-only composite (what the registry saves).
    members_ : dict of str to estimator or None
        Each member fitted on every training row (None where members are fitted per regime).
    classes_ : ndarray
        Class labels (classifiers).
    n_features_in_, feature_names_in_
        As scikit-learn sets them.
    """

    estimators: Sequence[tuple[str, Any]]
    _reserved: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters, members' included as ``<member>__<param>`` when ``deep``."""
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params: Any) -> BaseEnsemble:
        """Set parameters, a member's as ``<member>__<param>`` (or a whole member by name)."""
        self._set_params("estimators", **params)
        return self

    # -- validation ---------------------------------------------------------------------

    def _pairs(self) -> list[tuple[str, Any]]:
        estimators = self.estimators
        if isinstance(estimators, (str, bytes)) or not isinstance(estimators, Sequence):
            raise ConfigError(
                "estimators must be a list of (name, estimator) pairs, got "
                f"{type(estimators).__name__}"
            )
        pairs: list[tuple[str, Any]] = []
        own = set(self._get_param_names())
        for item in estimators:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise ConfigError(f"estimators must hold (name, estimator) pairs, got {item!r:.80}")
            name = check_member_name(item[0])
            if "__" in name or name in own or name in self._reserved:
                raise ConfigError(
                    f"member name {name!r} is not allowed here: no '__' (it separates member "
                    f"and parameter) and none of {sorted(own | set(self._reserved))}"
                )
            if not hasattr(item[1], "fit"):
                raise ConfigError(f"member {name!r} is not an estimator: {item[1]!r:.80}")
            pairs.append((name, item[1]))
        if not pairs:
            raise ConfigError("estimators is empty: give at least one (name, estimator) pair")
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"estimators repeats member name(s) {repeated}; names must differ")
        return pairs

    def _task(self, pairs: Sequence[tuple[str, Any]]) -> str:
        if all(is_classifier(est) for _, est in pairs):
            return "classifier"
        if all(is_regressor(est) for _, est in pairs):
            return "regressor"
        kinds = {name: "classifier" if is_classifier(e) else "regressor" for name, e in pairs}
        raise ConfigError(
            f"members of mixed tasks {kinds}: an ensemble combines classifiers or "
            "regressors, not both"
        )

    def _inputs(self, X: Any, y: Any) -> tuple[pd.DataFrame | np.ndarray, np.ndarray]:
        """Validate ``X`` and ``y`` for fit: frames stay frames (names, index), else arrays."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            validate_data(self, X, reset=True, skip_check_array=True)
            target = np.asarray(y)
            if target.ndim != 1 or len(target) != len(X):
                raise ConfigError(f"X has {len(X)} rows but y has shape {target.shape}")
            if len(X) < 2:
                raise ConfigError(f"an ensemble needs at least 2 samples, got n_samples = {len(X)}")
            return X, target
        allow_nan = self.__sklearn_tags__().input_tags.allow_nan
        data, target = validate_data(
            self,
            X,
            y,
            ensure_all_finite="allow-nan" if allow_nan else True,
            dtype=None,
            ensure_min_samples=2,
        )
        return data, np.asarray(target)

    # -- fit and predict ----------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseEnsemble:
        """Fit the members and the combiner; build :attr:`composite_`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows in time order; a DataFrame indexed by decision time lets a purged inner
            splitter find each row's label end time.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Passed to every member's fit (and the meta model's).

        Returns
        -------
        self
        """
        pairs = self._pairs()
        task = self._task(pairs)
        data, target = self._inputs(X, y)
        if task == "classifier":
            from sklearn.utils.multiclass import check_classification_targets

            check_classification_targets(target)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weight is not None and weight.shape != (len(target),):
            raise ConfigError(
                f"sample_weight has shape {weight.shape} but X has {len(target)} rows"
            )
        self.composite_ = self._fit(pairs, data, target, weight, task)
        if task == "classifier":
            self.classes_ = np.asarray(self.composite_.classes_)
        self.task_ = task
        return self

    def _fit(
        self,
        pairs: list[tuple[str, Any]],
        data: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        task: str,
    ) -> Any:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    def _fitted(self) -> Any:
        check_is_fitted(self, "composite_")
        return self.composite_

    def _is_classifier(self) -> bool:
        if hasattr(self, "task_"):
            return bool(self.task_ == "classifier")
        try:
            return self._task(self._pairs()) == "classifier"
        except ConfigError:
            return False

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """The ensemble's class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return np.asarray(self._fitted().predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classifiers) or values (regressors) of the ensemble.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return np.asarray(self._fitted().predict(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classifiers) or R² (regressors) of :meth:`predict`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score, r2_score

        check_is_fitted(self, "composite_")
        metric = accuracy_score if self.task_ == "classifier" else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        try:
            pairs = self._pairs()
        except ConfigError:
            return tags
        members = [est for _, est in pairs]
        if all(is_classifier(m) for m in members):
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif all(is_regressor(m) for m in members):
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.input_tags.allow_nan = all(get_tags(m).input_tags.allow_nan for m in members)
        return tags


def as_composite(model: Any) -> Any:
    """The composite a fitted ensemble saves as (its :attr:`~BaseEnsemble.composite_`), or
    ``model`` itself when it is not an ensemble."""
    if isinstance(model, BaseEnsemble):
        check_is_fitted(model, "composite_")
        return model.composite_
    return model
