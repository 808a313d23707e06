"""What every composite does with its members: names, task, columns, inputs, weights.

Shared by the composites (:mod:`mltrainer.models._composite`, ``_stacking``, ``_regime``):
checking member names and weights, telling classifiers from regressors (loaded boosters
included), handing a member its columns in the form it was fitted on, and the base class
of the *prefit* composites, which are built from fitted members plus a JSON spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.frozen import FrozenEstimator
from sklearn.utils import ClassifierTags, RegressorTags, Tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from mltrainer.exceptions import ConfigError
from mltrainer.models._steps import final_step_name

__all__ = [
    "PrefitComposite",
    "check_member_name",
    "check_weights",
    "member_input",
    "member_is_classifier",
    "member_is_regressor",
    "member_output",
    "sample_weight_params",
    "unfrozen",
]

_MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_member_name(name: object) -> str:
    """Return ``name`` if it can name a composite member (it becomes part of a file name).

    Raises
    ------
    ConfigError
        If it is not a string of letters, digits, ``_`` or ``-`` starting with a letter or
        digit (no ``.``, no path separator).
    """
    if not isinstance(name, str) or not _MEMBER_NAME.fullmatch(name):
        raise ConfigError(
            f"invalid composite member name {name!r}: use letters, digits, '_' or '-', "
            "starting with a letter or digit, e.g. 'xgb' or 'lgbm-fast'"
        )
    return name


def member_is_classifier(estimator: Any) -> bool:
    """Whether a member is a classifier (a loaded booster adapter: it has predict_proba)."""
    if isinstance(estimator, BaseEstimator):
        return is_classifier(estimator)
    return callable(getattr(estimator, "predict_proba", None))


def member_is_regressor(estimator: Any) -> bool:
    """Whether a member is a regressor (a loaded booster adapter: predict, no predict_proba)."""
    if isinstance(estimator, BaseEstimator):
        return is_regressor(estimator)
    return not callable(getattr(estimator, "predict_proba", None)) and hasattr(estimator, "predict")


def member_input(member: Any, data: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    """``data`` as a frame for members fitted with column names, as an array otherwise.

    scikit-learn warns when a model fitted without names is given a frame (and the reverse).
    """
    if not isinstance(data, pd.DataFrame):
        return data
    try:
        names = getattr(member, "feature_names_in_", None)
    except Exception:  # some wrappers raise instead of returning None
        names = None
    return data if names is not None else data.to_numpy()


def member_output(
    member: Any, data: pd.DataFrame | np.ndarray, columns: list[str] | None, method: str
) -> np.ndarray:
    """``member.<method>`` on its columns of ``data`` (all of them when ``columns`` is None)."""
    part = data if columns is None else data[columns]
    return np.asarray(getattr(member, method)(member_input(member, part)), dtype=float)


def unfrozen(estimator: Any) -> Any:
    """The estimator inside a :class:`~sklearn.frozen.FrozenEstimator`, else itself."""
    return estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator


def sample_weight_params(estimator: Any, sample_weight: Any) -> dict[str, Any]:
    """``fit`` keyword arguments giving ``sample_weight`` to the final step of ``estimator``."""
    if sample_weight is None:
        return {}
    route = final_step_name(estimator)
    return {f"{route}__sample_weight" if route else "sample_weight": sample_weight}


def check_weights(weights: Any, n_members: int) -> np.ndarray:
    """Non-negative weights, one per member, normalised to sum 1 (None: equal weights).

    Raises
    ------
    ConfigError
        For a wrong count, a non-number, a negative or non-finite weight, or all zeros.
    """
    if weights is None:
        return np.full(n_members, 1.0 / n_members)
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence | np.ndarray):
        raise ConfigError(f"weights must be a list of {n_members} numbers, got {weights!r}")
    values = list(weights)
    if len(values) != n_members or not all(
        isinstance(w, int | float | np.integer | np.floating) and not isinstance(w, bool)
        for w in values
    ):
        raise ConfigError(f"weights must be a list of {n_members} numbers, got {values!r}")
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array < 0) or array.sum() <= 0:
        raise ConfigError(
            f"weights {values!r} must be finite, non-negative and not all zero; "
            "e.g. [1, 1] for an equal mean"
        )
    return array / array.sum()


def _columns_spec(value: Any, name: str, kind: str) -> list[str] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and value and all(isinstance(c, str) for c in value)):
        raise ConfigError(f"the {kind} spec has invalid columns for member {name!r}")
    return list(value)


class PrefitComposite(BaseEstimator):
    """Base of the composites built from fitted members and a JSON spec (predict-only).

    The ensemble layer fits the members and the combiner, then builds the composite with
    :meth:`from_composite`, the very call the registry makes when it loads the version: a
    composite predicts the same before saving and after loading because both go through
    one constructor. :meth:`fit` fits nothing (like :class:`~sklearn.frozen.FrozenEstimator`):
    it only validates the spec against the members.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The fitted members by name, in order.
    spec : dict
        The combiner's parameters, as :meth:`composite_spec` returns them.
    """

    composite_kind: ClassVar[str] = ""

    def __init__(self, estimators: Sequence[tuple[str, Any]], *, spec: Mapping[str, Any]) -> None:
        self.estimators = estimators
        self.spec = spec

    # -- building from the spec -----------------------------------------------------------

    def fit(self, X: Any = None, y: Any = None, **fit_params: Any) -> PrefitComposite:
        """Validate the spec against the members and set the fitted attributes (no fitting).

        Returns
        -------
        self
        """
        self._build()
        return self

    @classmethod
    def from_composite(cls, spec: Mapping[str, Any], members: Mapping[str, Any]) -> Any:
        """Build the fitted composite from its spec and its fitted (or loaded) members.

        Raises
        ------
        ConfigError
            If the spec does not describe these members.
        """
        model = cls([(check_member_name(name), m) for name, m in members.items()], spec=spec)
        model._build()
        return model

    def _build(self) -> None:
        kind = self.composite_kind
        spec = self.spec
        if not isinstance(spec, Mapping):
            raise ConfigError(f"the {kind} spec must be a mapping, got {type(spec).__name__}")
        pairs = [(check_member_name(name), member) for name, member in self.estimators]
        names = [name for name, _ in pairs]
        if not pairs or len(set(names)) != len(names):
            raise ConfigError(f"a {kind} composite needs distinct member names, got {names}")
        features = spec.get("features")
        task = spec.get("task")
        n_features = spec.get("n_features_in")
        feature_names = spec.get("feature_names_in")
        if (
            not isinstance(features, Mapping)
            or set(features) != set(names)
            or task not in ("classifier", "regressor")
            or isinstance(n_features, bool)
            or not isinstance(n_features, int)
            or not (feature_names is None or isinstance(feature_names, list))
        ):
            raise ConfigError(
                f"the {kind} spec does not describe members {names} (features "
                f"{features!r:.80}, task {task!r}); re-save the model"
            )
        check = member_is_classifier if task == "classifier" else member_is_regressor
        if not all(check(member) for member in self._predictors(dict(pairs)).values()):
            raise ConfigError(f"the {kind} spec says {task} but the members disagree")
        self.named_estimators_ = dict(pairs)
        self.estimators_ = [member for _, member in pairs]
        self.member_features_ = {name: _columns_spec(features[name], name, kind) for name in names}
        self.task_ = str(task)
        self.n_features_in_ = int(n_features)
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        if task == "classifier":
            classes = spec.get("classes")
            if not isinstance(classes, list) or not classes:
                raise ConfigError(f"the {kind} spec of a classifier lists no classes")
            self.classes_ = np.asarray(classes)
            for name, member in self._predictors(dict(pairs)).items():
                if np.asarray(member.classes_).tolist() != classes:
                    raise ConfigError(
                        f"member {name!r} has classes {np.asarray(member.classes_).tolist()} "
                        f"but the {kind} spec says {classes}; re-save the model"
                    )
        self._build_combiner(spec)

    def _predictors(self, members: dict[str, Any]) -> dict[str, Any]:
        """The members whose outputs are combined (all, unless a subclass says otherwise)."""
        return members

    def _build_combiner(self, spec: Mapping[str, Any]) -> None:
        """Validate and keep the combiner's own part of the spec (subclasses)."""

    def _base_spec(self) -> dict[str, Any]:
        check_is_fitted(self, "estimators_")
        spec: dict[str, Any] = {
            "task": self.task_,
            "features": self.composite_features(),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                [str(name) for name in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
        }
        if self.task_ == "classifier":
            spec["classes"] = np.asarray(self.classes_).tolist()
        return spec

    # -- inputs and outputs ----------------------------------------------------------------

    def _data(self, X: Any) -> pd.DataFrame | np.ndarray:
        check_is_fitted(self, "estimators_")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        array = validate_data(self, X, reset=False, ensure_all_finite=False, dtype=None)
        names = getattr(self, "feature_names_in_", None)
        return pd.DataFrame(array, columns=names) if names is not None else array

    def _output(self, name: str, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        """A member's probabilities (classifiers) or predictions (regressors) on ``data``."""
        method = "predict_proba" if self.task_ == "classifier" else "predict"
        return member_output(
            self.named_estimators_[name], data, self.member_features_[name], method
        )

    def _combined(self, X: Any) -> np.ndarray:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    def _is_classifier(self) -> bool:
        if hasattr(self, "task_"):
            return bool(self.task_ == "classifier")
        return isinstance(self.spec, Mapping) and self.spec.get("task") == "classifier"

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """The combined class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._combined(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class (classifiers) or the combined prediction (regressors).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        out = self._combined(X)
        if self.task_ == "classifier":
            return np.asarray(self.classes_)[np.argmax(out, axis=1)]
        return out

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

        metric = accuracy_score if self._is_classifier() else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    # -- the Composite protocol -----------------------------------------------------------

    def composite_members(self) -> dict[str, Any]:
        """The fitted members by name, in order (a frozen member unwrapped)."""
        check_is_fitted(self, "estimators_")
        return {name: unfrozen(member) for name, member in self.named_estimators_.items()}

    def composite_features(self) -> dict[str, list[str] | None]:
        """The columns each member reads (None: every column of X)."""
        check_is_fitted(self, "estimators_")
        return {
            name: None if cols is None else list(cols)
            for name, cols in self.member_features_.items()
        }

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True  # members decide; boosters take NaN
        if self._is_classifier():
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags
