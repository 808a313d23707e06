"""Composite models: fitted members combined by a rule that JSON can describe.

A composite (ensemble, regime switcher, model + calibrator) is saved by the registry as one
version: every member in its own native format, the combiner's fitted parameters as JSON.
The :class:`Composite` protocol is what the registry asks of it; :data:`COMPOSITES` is the
exact list of classes the registry will rebuild. Adding a combiner is a class implementing
the protocol (predict-only: no I/O here) plus one entry in :data:`COMPOSITES`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.frozen import FrozenEstimator
from sklearn.utils import ClassifierTags, RegressorTags, Tags, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from mltrainer.exceptions import ConfigError
from mltrainer.models._steps import final_step_name

__all__ = [
    "COMPOSITES",
    "AveragingComposite",
    "CalibratedComposite",
    "Composite",
    "apply_calibration",
    "check_calibration",
    "check_member_name",
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


def _member_is_classifier(estimator: Any) -> bool:
    if isinstance(estimator, BaseEstimator):
        return is_classifier(estimator)
    return callable(getattr(estimator, "predict_proba", None))  # a loaded booster adapter


def _member_is_regressor(estimator: Any) -> bool:
    if isinstance(estimator, BaseEstimator):
        return is_regressor(estimator)
    return not callable(getattr(estimator, "predict_proba", None)) and hasattr(estimator, "predict")


def _member_input(member: Any, data: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    # frames to members fitted with column names; arrays otherwise, so scikit-learn does not
    # warn about names the member was fitted without
    if not isinstance(data, pd.DataFrame):
        return data
    try:
        names = getattr(member, "feature_names_in_", None)
    except Exception:  # some wrappers raise instead of returning None
        names = None
    return data if names is not None else data.to_numpy()


def _unfrozen(estimator: Any) -> Any:
    return estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator


def _sample_weight_params(estimator: Any, sample_weight: Any) -> dict[str, Any]:
    if sample_weight is None:
        return {}
    route = final_step_name(estimator)
    return {f"{route}__sample_weight" if route else "sample_weight": sample_weight}


def _check_weights(weights: Any, n_members: int) -> np.ndarray:
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
                f"the averaging spec does not describe members {names} (features "
                f"{features!r:.80}, task {task!r}); re-save the model"
            )
        chosen: dict[str, list[str] | None] = {}
        for name in names:
            cols = features[name]
            if cols is not None and not (
                isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols)
            ):
                raise ConfigError(f"the averaging spec has invalid columns for member {name!r}")
            chosen[name] = cols
        model = cls(
            [(name, members[name]) for name in names],
            weights=spec.get("weights"),
            features={name: cols for name, cols in chosen.items() if cols is not None} or None,
        )
        if model._task(list(members.values())) != task:
            raise ConfigError(f"the averaging spec says {task} but the members disagree")
        model.n_features_in_ = n_features
        if feature_names is not None:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        model._finish(names, list(members.values()), chosen, task)
        if task == "classifier":
            classes = spec.get("classes")
            if not isinstance(classes, list) or model.classes_.tolist() != classes:
                raise ConfigError(
                    f"the averaging spec has classes {classes!r} but the members have "
                    f"{model.classes_.tolist()}; re-save the model"
                )
        weights = model.weights_.tolist()
        if not all(math.isclose(a, b) for a, b in zip(weights, spec["weights"], strict=True)):
            raise ConfigError("the averaging spec's weights are not normalised; re-save it")
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


_CALIBRATION_METHODS = ("isotonic", "platt")


def check_calibration(calibration: Any, n_classes: int | None = None) -> dict[str, Any]:
    """Return ``calibration`` if it is a valid probability calibration map (JSON).

    The map is ``{"method": "isotonic" | "platt", "n_classes": K, "maps": [...]}``: for
    two classes one map (of the second class's probability), else one per class. An
    isotonic map is ``{"x": [...], "y": [...]}`` (increasing knots, linear in between,
    clipped at the ends); a Platt map is ``{"a": a, "b": b}``: ``1 / (1 + exp(-(a *
    logit(p) + b)))``.

    Raises
    ------
    ConfigError
        When the map is malformed or made for another number of classes.
    """
    if not isinstance(calibration, Mapping):
        raise ConfigError(f"calibration must be a mapping, got {type(calibration).__name__}")
    method, k, maps = (
        calibration.get("method"),
        calibration.get("n_classes"),
        calibration.get("maps"),
    )
    expected = 1 if k == 2 else k
    if (
        method not in _CALIBRATION_METHODS
        or not isinstance(k, int)
        or k < 2
        or (n_classes is not None and k != n_classes)
        or not isinstance(maps, list)
        or len(maps) != expected
    ):
        raise ConfigError(
            f"calibration {dict(calibration)!r:.120} is not a map of method isotonic/platt "
            f"for {n_classes or 'K'} classes; refit it"
        )
    for item in maps:
        keys = ("x", "y") if method == "isotonic" else ("a", "b")
        if not isinstance(item, Mapping) or any(key not in item for key in keys):
            raise ConfigError(f"calibration map {item!r:.80} lacks {keys}; refit it")
        if method == "isotonic" and (len(item["x"]) != len(item["y"]) or not item["x"]):
            raise ConfigError("an isotonic calibration map needs as many x as y knots")
    return dict(calibration)


def _calibrate_column(method: str, item: Mapping[str, Any], p: np.ndarray) -> np.ndarray:
    if method == "isotonic":
        return np.interp(p, np.asarray(item["x"], dtype=float), np.asarray(item["y"], dtype=float))
    q = np.clip(p, 1e-12, 1.0 - 1e-12)
    logit = np.log(q / (1.0 - q))
    return 1.0 / (1.0 + np.exp(-(float(item["a"]) * logit + float(item["b"]))))


def apply_calibration(calibration: Mapping[str, Any], proba: np.ndarray) -> np.ndarray:
    """Calibrated probabilities: each column mapped, then rows renormalised to sum 1.

    Examples
    --------
    >>> cal = {"method": "platt", "n_classes": 2, "maps": [{"a": 1.0, "b": 0.0}]}
    >>> apply_calibration(cal, np.array([[0.3, 0.7]])).round(6).tolist()
    [[0.3, 0.7]]
    """
    proba = np.asarray(proba, dtype=float)
    method, maps = calibration["method"], calibration["maps"]
    if proba.shape[1] == 2:
        p1 = _calibrate_column(method, maps[0], proba[:, 1])
        return np.column_stack([1.0 - p1, p1])
    out = np.column_stack(
        [_calibrate_column(method, item, proba[:, k]) for k, item in enumerate(maps)]
    )
    total = out.sum(axis=1, keepdims=True)
    uniform = np.full_like(out, 1.0 / out.shape[1])
    return np.divide(out, total, out=uniform, where=total > 0)


class CalibratedComposite(BaseEstimator):
    """A classifier whose probabilities go through a fitted calibration map.

    The map (see :func:`check_calibration`) is fitted elsewhere, on purged out-of-fold
    predictions (``mltrainer.augment.fit_calibration``), and given as a parameter; ``fit``
    fits the classifier (a :class:`~sklearn.frozen.FrozenEstimator` is used as already
    fitted). Saved by the registry as one version: the classifier in its native format
    and the map in ``spec.json``.

    Parameters
    ----------
    estimator : classifier
        The model whose ``predict_proba`` is calibrated.
    calibration : dict
        The calibration map.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.arange(10.0)[:, None], np.r_[np.zeros(5), np.ones(5)]
    >>> cal = {"method": "isotonic", "n_classes": 2, "maps": [{"x": [0, 1], "y": [0.1, 0.9]}]}
    >>> model = CalibratedComposite(LogisticRegression(), calibration=cal).fit(X, y)
    >>> bool(model.predict_proba(X)[:, 1].max() <= 0.9)
    True
    """

    composite_kind: ClassVar[str] = "calibrated"

    def __init__(self, estimator: Any, *, calibration: Mapping[str, Any]) -> None:
        self.estimator = estimator
        self.calibration = calibration

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CalibratedComposite:
        """Fit the classifier (unless frozen) and check the map against its classes.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if not _member_is_classifier(self.estimator):
            raise ConfigError("CalibratedComposite calibrates a classifier's probabilities")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=True, skip_check_array=True)
        else:
            validate_data(self, X, reset=True, ensure_all_finite="allow-nan", dtype=None)
        member = self.estimator
        if not isinstance(member, FrozenEstimator):
            member = clone(member)
            member.fit(X, y, **_sample_weight_params(member, sample_weight))
        self._finish(member)
        return self

    def _finish(self, member: Any) -> None:
        classes = np.asarray(member.classes_)
        self.calibration_ = check_calibration(self.calibration, int(classes.size))
        self.estimator_ = member
        self.classes_ = classes

    def predict_proba(self, X: Any) -> np.ndarray:
        """The classifier's probabilities, calibrated.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "estimator_")
        data = X
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
        raw = np.asarray(self.estimator_.predict_proba(_member_input(self.estimator_, data)))
        return apply_calibration(self.calibration_, raw)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class after calibration.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict`."""
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    def composite_members(self) -> dict[str, Any]:
        """The one member, ``model``."""
        check_is_fitted(self, "estimator_")
        return {"model": _unfrozen(self.estimator_)}

    def composite_features(self) -> dict[str, list[str] | None]:
        """The member reads every column."""
        return {"model": None}

    def composite_spec(self) -> dict[str, Any]:
        """The calibration map, classes and input columns, as JSON."""
        check_is_fitted(self, "estimator_")
        return {
            "calibration": self.calibration_,
            "classes": np.asarray(self.classes_).tolist(),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                [str(name) for name in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
        }

    @classmethod
    def from_composite(
        cls, spec: Mapping[str, Any], members: Mapping[str, Any]
    ) -> CalibratedComposite:
        """Rebuild from :meth:`composite_spec` and the loaded member.

        Raises
        ------
        ConfigError
            If the spec does not describe the member (names, classes, map).
        """
        if list(members) != ["model"] or not isinstance(spec.get("n_features_in"), int):
            raise ConfigError(f"a calibrated spec needs one member 'model', got {list(members)}")
        member = members["model"]
        model = cls(member, calibration=spec.get("calibration") or {})
        model.n_features_in_ = spec["n_features_in"]
        names = spec.get("feature_names_in")
        if names is not None:
            model.feature_names_in_ = np.asarray(names, dtype=object)
        model._finish(member)
        if model.classes_.tolist() != spec.get("classes"):
            raise ConfigError(
                f"the calibrated spec has classes {spec.get('classes')!r} but the model has "
                f"{model.classes_.tolist()}; re-save the model"
            )
        return model

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        if isinstance(self.estimator, BaseEstimator):
            tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan
        return tags


#: The composite classes the registry saves and loads, by ``composite_kind``: exactly these.
COMPOSITES: Mapping[str, type[Any]] = MappingProxyType(
    {
        AveragingComposite.composite_kind: AveragingComposite,
        CalibratedComposite.composite_kind: CalibratedComposite,
    }
)
