"""A classifier whose probabilities pass through a fitted calibration map (one version).

Augmentation (SMOTE and relatives) distorts a classifier's probabilities; the map fitted
on purged out-of-fold predictions corrects them. The registry saves the classifier in its
native format and the map in ``spec.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import ClassifierTags, Tags, get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from mltrainer.exceptions import ConfigError
from mltrainer.models._members import member_input as _member_input
from mltrainer.models._members import member_is_classifier as _member_is_classifier
from mltrainer.models._members import sample_weight_params as _sample_weight_params
from mltrainer.models._members import unfrozen as _unfrozen

__all__ = ["CalibratedComposite", "apply_calibration", "check_calibration"]


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
