"""Composite models: fitted members combined by a rule that JSON can describe.

A composite (ensemble, regime switcher, model + calibrator) is saved by the registry as one
version: every member in its own native format, the combiner's fitted parameters as JSON.
The :class:`Composite` protocol is what the registry asks of it; :data:`COMPOSITES` is the
exact list of classes the registry will rebuild. Adding a combiner is a class implementing
the protocol (predict-only: no I/O here) plus one entry in :data:`COMPOSITES`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils import ClassifierTags, RegressorTags, Tags, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from mltrainer.exceptions import ConfigError
from mltrainer.models._calibrated import CalibratedComposite
from mltrainer.models._members import check_member_name
from mltrainer.models._members import check_weights as _check_weights
from mltrainer.models._members import member_input as _member_input
from mltrainer.models._members import member_is_classifier as _member_is_classifier
from mltrainer.models._members import member_is_regressor as _member_is_regressor
from mltrainer.models._members import sample_weight_params as _sample_weight_params
from mltrainer.models._members import unfrozen as _unfrozen
from mltrainer.models._regime import RegimeComposite
from mltrainer.models._stacking import StackingComposite

__all__ = [
    "COMPOSITES",
    "AveragingComposite",
    "Composite",
    "VotingComposite",
    "check_member_name",
]


@runtime_checkable
class Composite(Protocol):
    """What the registry needs from a composite model to save it as one version.

    ``composite_members`` gives the fitted members (each saved in its own native format),
    ``composite_features`` the columns of ``X`` each member reads (``None``: all of them),
    ``composite_spec`` every other fitted parameter as JSON (weights, gating rule, ...), and
    ``from_composite`` rebuilds an equal, fitted composite from the spec and loaded members.
    """

    composite_kind: ClassVar[str]

    def composite_members(self) -> dict[str, Any]:
        """The fitted members by name, in order."""
        ...

    def composite_features(self) -> dict[str, list[str] | None]:
        """The columns each member reads, by member name (``None``: every column of X)."""
        ...

    def composite_spec(self) -> dict[str, Any]:
        """The combiner's fitted parameters, JSON-able (plain numbers, strings, lists, dicts)."""
        ...

    @classmethod
    def from_composite(cls, spec: Mapping[str, Any], members: Mapping[str, Any]) -> Any:
        """Rebuild the fitted composite from ``composite_spec()`` and the loaded members."""
        ...


class AveragingComposite(BaseEstimator):
    """The weighted mean of its members: of ``predict_proba`` (classifiers) or ``predict``.

    Members may read different columns of ``X`` (by name, so fit and predict on DataFrames
    when ``features`` is given). All members are classifiers with the same ``classes_``, or
    all are regressors. A member wrapped in :class:`sklearn.frozen.FrozenEstimator` is used
    as already fitted.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members by name (letters, digits, ``_``, ``-``: the name becomes part of the
        member's file name in the registry), in order.
    weights : list of float, optional
        One non-negative weight per member; default equal weights. Normalised to sum 1.
    features : dict of str to list of str, optional
        The columns each member is fitted on and predicts from; a member not named here
        reads every column.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted members, in order.
    named_estimators_ : dict of str to estimator
        The same, by name.
    weights_ : ndarray of shape (n_members,)
        The normalised weights.
    member_features_ : dict of str to list of str or None
        The columns each member reads (None: all).
    classes_ : ndarray
        Class labels (classifiers only), shared by every member.
    n_features_in_, feature_names_in_
        As scikit-learn sets them.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"a": np.arange(8.0), "b": np.arange(8.0) % 3})
    >>> y = (X["a"] > 3).astype(int)
    >>> model = AveragingComposite(
    ...     [("a", LogisticRegression()), ("b", LogisticRegression())],
    ...     weights=[3, 1],
    ...     features={"a": ["a"], "b": ["b"]},
    ... ).fit(X, y)
    >>> model.weights_.tolist(), model.member_features_
    ([0.75, 0.25], {'a': ['a'], 'b': ['b']})
    >>> model.predict_proba(X).shape
    (8, 2)
    """

    composite_kind: ClassVar[str] = "averaging"

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]],
        *,
        weights: Sequence[float] | None = None,
        features: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.estimators = estimators
        self.weights = weights
        self.features = features

    # -- validation ---------------------------------------------------------------------

    def _pairs(self) -> list[tuple[str, Any]]:
        estimators = self.estimators
        if isinstance(estimators, (str, bytes)) or not isinstance(estimators, Sequence):
            raise ConfigError(
                "estimators must be a list of (name, estimator) pairs, got "
                f"{type(estimators).__name__}"
            )
        pairs: list[tuple[str, Any]] = []
        for item in estimators:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise ConfigError(f"estimators must hold (name, estimator) pairs, got {item!r:.80}")
            pairs.append((check_member_name(item[0]), item[1]))
        if not pairs:
            raise ConfigError("estimators is empty: give at least one (name, estimator) pair")
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"estimators repeats member name(s) {repeated}; names must differ")
        return pairs

    def _task(self, members: Sequence[Any]) -> str:
        if all(_member_is_classifier(member) for member in members):
            return "classifier"
        if all(_member_is_regressor(member) for member in members):
            return "regressor"
        raise ConfigError(
            "AveragingComposite members must be all classifiers or all regressors; "
            "average classifiers' probabilities, or regressors' predictions, not both"
        )

    def _member_features(
        self, names: Sequence[str], columns: list[str] | None
    ) -> dict[str, list[str] | None]:
        features = dict(self.features or {})
        unknown = sorted(set(features) - set(names))
        if unknown:
            raise ConfigError(
                f"features names member(s) {unknown} that are not in estimators {list(names)}"
            )
        if features and columns is None:
            raise ConfigError(
                "features selects columns by name, so fit on a pandas DataFrame with string "
                "column names (pd.DataFrame(X, columns=[...]))"
            )
        chosen: dict[str, list[str] | None] = {}
        for name in names:
            wanted = features.get(name)
            if wanted is None:
                chosen[name] = None
                continue
            if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Sequence):
                raise ConfigError(f"features[{name!r}] must be a list of column names")
            cols = [str(col) for col in wanted]
            missing = [col for col in cols if col not in set(columns or [])]
            if not cols or missing or len(set(cols)) != len(cols):
                raise ConfigError(
                    f"features[{name!r}] = {cols[:5]!r} must be distinct columns of X; "
                    f"missing from X: {missing[:5]}"
                )
            chosen[name] = cols
        return chosen

    # -- fit ----------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AveragingComposite:
        """Fit a clone of every member on its columns of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A DataFrame when ``features`` selects columns.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Passed to every member (to a pipeline's final step).

        Returns
        -------
        self
        """
        pairs = self._pairs()
        task = self._task([estimator for _, estimator in pairs])
        allow_nan = self.__sklearn_tags__().input_tags.allow_nan
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=True, skip_check_array=True)
            y = np.asarray(y)
            if len(y) != len(X):
                raise ConfigError(f"X has {len(X)} rows but y has {len(y)}")
            data: pd.DataFrame | np.ndarray = X
            named = all(isinstance(col, str) for col in X.columns)
            columns: list[str] | None = list(X.columns) if named else None
        else:
            data, y = validate_data(
                self, X, y, ensure_all_finite="allow-nan" if allow_nan else True, dtype=None
            )
            columns = None
        features = self._member_features([name for name, _ in pairs], columns)
        fitted = []
        for name, estimator in pairs:
            member = clone(estimator)
            member.fit(
                self._columns(data, features[name]),
                y,
                **_sample_weight_params(member, sample_weight),
            )
            fitted.append(member)
        self._finish([name for name, _ in pairs], fitted, features, task)
        return self

    def _finish(
        self,
        names: list[str],
        members: list[Any],
        features: dict[str, list[str] | None],
        task: str,
    ) -> None:
        self.weights_ = _check_weights(self.weights, len(members))
        if task == "classifier":
            classes = [np.asarray(member.classes_) for member in members]
            if any(not np.array_equal(classes[0], other) for other in classes[1:]):
                shown = {name: cls.tolist() for name, cls in zip(names, classes, strict=True)}
                raise ConfigError(
                    f"members have different classes_ {shown}; encode the labels the same "
                    "way for every member (e.g. 0..K-1)"
                )
            self.classes_ = classes[0]
        self.estimators_ = members
        self.named_estimators_ = dict(zip(names, members, strict=True))
        self.member_features_ = features
        self.task_ = task

    # -- predict ------------------------------------------------------------------------

    @staticmethod
    def _columns(
        data: pd.DataFrame | np.ndarray, columns: list[str] | None
    ) -> pd.DataFrame | np.ndarray:
        if columns is None:
            return data
        assert isinstance(data, pd.DataFrame)  # fit and _data guarantee a frame
        return data[columns]

    def _data(self, X: Any) -> pd.DataFrame | np.ndarray:
        check_is_fitted(self, "estimators_")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        allow_nan = self.__sklearn_tags__().input_tags.allow_nan
        array = validate_data(
            self, X, reset=False, ensure_all_finite="allow-nan" if allow_nan else True, dtype=None
        )
        names = getattr(self, "feature_names_in_", None)
        return pd.DataFrame(array, columns=names) if names is not None else array

    def _member_outputs(self, X: Any, method: str) -> np.ndarray:
        data = self._data(X)
        total: np.ndarray | None = None
        for weight, (name, member) in zip(
            self.weights_, self.named_estimators_.items(), strict=True
        ):
            part = self._columns(data, self.member_features_[name])
            output = np.asarray(getattr(member, method)(_member_input(member, part)), dtype=float)
            total = weight * output if total is None else total + weight * output
        assert total is not None
        return total

    def _is_classifier(self) -> bool:
        if hasattr(self, "task_"):
            return bool(self.task_ == "classifier")
        try:
            return self._task([estimator for _, estimator in self._pairs()]) == "classifier"
        except ConfigError:
            return False

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """The weighted mean of the members' class probabilities.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), columns ordered as ``classes_``
        """
        return self._member_outputs(X, "predict_proba")

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class (classifiers) or the weighted mean prediction.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimators_")
        if self.task_ == "classifier":
            proba = self._member_outputs(X, "predict_proba")
            return np.asarray(self.classes_)[np.argmax(proba, axis=1)]
        return self._member_outputs(X, "predict")

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classifiers) or R² (regressors) of :meth:`predict`, as scikit-learn's.

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

        check_is_fitted(self, "estimators_")
        metric = accuracy_score if self.task_ == "classifier" else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    # -- the Composite protocol -----------------------------------------------------------

    def composite_members(self) -> dict[str, Any]:
        """The fitted members by name, in order (a frozen member unwrapped)."""
        check_is_fitted(self, "estimators_")
        return {name: _unfrozen(member) for name, member in self.named_estimators_.items()}

    def composite_features(self) -> dict[str, list[str] | None]:
        """The columns each member reads (None: every column of X)."""
        check_is_fitted(self, "estimators_")
        return {
            name: None if cols is None else list(cols)
            for name, cols in self.member_features_.items()
        }

    def composite_spec(self) -> dict[str, Any]:
        """Weights, per-member columns, task, input columns and classes, as JSON."""
        check_is_fitted(self, "estimators_")
        spec: dict[str, Any] = {
            "task": self.task_,
            "weights": [float(w) for w in self.weights_],
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

    @classmethod
    def from_composite(
        cls, spec: Mapping[str, Any], members: Mapping[str, Any]
    ) -> AveragingComposite:
        """Rebuild a fitted composite from :meth:`composite_spec` and the loaded members.

        Raises
        ------
        ConfigError
            If the spec does not describe these members (names, weights, columns, task or
            classes disagree).
        """
        names = [check_member_name(name) for name in members]
        features = spec.get("features")
        task = spec.get("task")
        n_features = spec.get("n_features_in")
        feature_names = spec.get("feature_names_in")
        if (
            not isinstance(features, Mapping)
            or set(features) != set(names)  # JSON objects carry no order: members do
            or task not in ("classifier", "regressor")
            or not isinstance(n_features, int)
            or not (feature_names is None or isinstance(feature_names, list))
        ):
            raise ConfigError(
                f"the {cls.composite_kind} spec does not describe members {names} (features "
                f"{features!r:.80}, task {task!r}); re-save the model"
            )
        chosen: dict[str, list[str] | None] = {}
        for name in names:
            cols = features[name]
            if cols is not None and not (
                isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols)
            ):
                raise ConfigError(
                    f"the {cls.composite_kind} spec has invalid columns for member {name!r}"
                )
            chosen[name] = cols
        model = cls(
            [(name, members[name]) for name in names],
            weights=spec.get("weights"),
            features={name: cols for name, cols in chosen.items() if cols is not None} or None,
        )
        if model._task(list(members.values())) != task:
            raise ConfigError(f"the {cls.composite_kind} spec says {task} but the members disagree")
        model.n_features_in_ = n_features
        if feature_names is not None:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        model._finish(names, list(members.values()), chosen, task)
        if task == "classifier":
            classes = spec.get("classes")
            if not isinstance(classes, list) or model.classes_.tolist() != classes:
                raise ConfigError(
                    f"the {cls.composite_kind} spec has classes {classes!r} but the members have "
                    f"{model.classes_.tolist()}; re-save the model"
                )
        weights = model.weights_.tolist()
        if not all(math.isclose(a, b) for a, b in zip(weights, spec["weights"], strict=True)):
            raise ConfigError(
                f"the {cls.composite_kind} spec's weights are not normalised; re-save it"
            )
        return model

    # -- scikit-learn tags --------------------------------------------------------------

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        try:
            members = [estimator for _, estimator in self._pairs()]
        except ConfigError:
            return tags
        if all(_member_is_classifier(member) for member in members):
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif all(_member_is_regressor(member) for member in members):
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.input_tags.allow_nan = all(
            get_tags(member).input_tags.allow_nan
            for member in members
            if isinstance(member, BaseEstimator)
        )
        return tags


class VotingComposite(AveragingComposite):
    """Hard (majority) voting of classifiers: each member votes its predicted class.

    ``predict`` is the class with the largest weighted vote (ties go to the first class in
    ``classes_``, as scikit-learn's ``VotingClassifier(voting="hard")``); ``predict_proba``
    is the weighted share of votes each class got, so scorers that need scores (AUC) see
    the vote, not a calibrated probability. Parameters, fitting and the spec are those of
    :class:`AveragingComposite` (soft voting *is* averaging the probabilities).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.arange(12.0).reshape(-1, 1)
    >>> y = (X[:, 0] > 5).astype(int)
    >>> vote = VotingComposite(
    ...     [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=1))],
    ...     weights=[1, 3],
    ... ).fit(X, y)
    >>> vote.predict_proba(X[:2]).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """

    composite_kind: ClassVar[str] = "voting"

    def _task(self, members: Sequence[Any]) -> str:
        if all(_member_is_classifier(member) for member in members):
            return "classifier"
        raise ConfigError(
            "VotingComposite (hard voting) needs classifiers: every member must predict "
            "classes; combine regressors with AveragingComposite"
        )

    def _member_outputs(self, X: Any, method: str) -> np.ndarray:
        data = self._data(X)
        classes = np.asarray(self.classes_)
        votes = np.zeros((data.shape[0], classes.size))
        rows = np.arange(data.shape[0])
        for weight, (name, member) in zip(
            self.weights_, self.named_estimators_.items(), strict=True
        ):
            part = self._columns(data, self.member_features_[name])
            labels = np.asarray(member.predict(_member_input(member, part)))
            votes[rows, np.searchsorted(classes, labels)] += weight
        return votes


#: The composite classes the registry saves and loads, by ``composite_kind``: exactly these.
COMPOSITES: Mapping[str, type[Any]] = MappingProxyType(
    {
        AveragingComposite.composite_kind: AveragingComposite,
        VotingComposite.composite_kind: VotingComposite,
        StackingComposite.composite_kind: StackingComposite,
        RegimeComposite.composite_kind: RegimeComposite,
        CalibratedComposite.composite_kind: CalibratedComposite,
    }
)
