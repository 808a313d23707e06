"""Native (in-sample) importances of the tree model types: XGBoost, LightGBM, forests (MDI).

Each catalogue entry names its function (``ModelType.importance``); these read the fitted
model, i.e. measure the rows it was trained on: a quick screen, not the verdict. Impurity
importance of scikit-learn forests is also biased toward continuous, high-cardinality
features. Prefer out-of-fold permutation importance (:mod:`mltrainer.selection`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np

from mltrainer.exceptions import ConfigError

__all__ = [
    "NativeImportance",
    "impurity_importance",
    "lightgbm_importance",
    "model_names",
    "xgboost_importance",
]

#: ``importance(fitted_model, feature_names, importance_type) -> values`` in name order.
NativeImportance: TypeAlias = Callable[[Any, list[str], str], np.ndarray]

_XGB_TYPES = ("gain", "total_gain", "weight", "cover", "total_cover")
_LGBM_TYPES = ("gain", "split")
_INDEX_KEY = re.compile(r"f(\d+)")


def xgboost_importance(model: Any, names: list[str], importance_type: str) -> np.ndarray:
    """Raw XGBoost importance of kind ``importance_type`` per name (wrapper or Booster)."""
    if importance_type not in _XGB_TYPES:
        raise ConfigError(
            f"importance_type={importance_type!r} is not an XGBoost importance: "
            f"choose one of {', '.join(_XGB_TYPES)}"
        )
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    scores = booster.get_score(importance_type=importance_type)
    booster_names = booster.feature_names
    values = np.zeros(len(names))
    position = {name: i for i, name in enumerate(names)}
    for key, value in scores.items():
        if booster_names is not None:  # keys are the booster's own feature names
            i = booster_names.index(key) if key in booster_names else -1
        elif (match := _INDEX_KEY.fullmatch(key)) is not None:  # keys are f0, f1, ...
            i = int(match.group(1))
        else:
            i = position.get(key, -1)
        if not 0 <= i < len(names):
            raise ConfigError(
                f"XGBoost importance key {key!r} matches no feature of feature_names "
                f"({len(names)} names): pass the names the model was trained on"
            )
        values[i] = float(value)
    return values


def lightgbm_importance(model: Any, names: list[str], importance_type: str) -> np.ndarray:
    """Raw LightGBM ``gain`` or ``split`` importance (wrapper or Booster)."""
    if importance_type not in _LGBM_TYPES:
        raise ConfigError(
            f"importance_type={importance_type!r} is not a LightGBM importance: "
            f"choose one of {', '.join(_LGBM_TYPES)}"
        )
    booster = model.booster_ if hasattr(model, "booster_") else model
    return np.asarray(booster.feature_importance(importance_type=importance_type), dtype=float)


def impurity_importance(model: Any, names: list[str], importance_type: str) -> np.ndarray:
    """``feature_importances_`` of a scikit-learn tree or forest (impurity decrease, MDI).

    ``importance_type`` is ignored: scikit-learn reports impurity decrease only.
    """
    try:
        return np.asarray(model.feature_importances_, dtype=float)
    except AttributeError as exc:  # unfitted: NotFittedError is an AttributeError
        raise ConfigError(f"tree importance needs a fitted model: {exc}") from None


def model_names(model: Any, feature_names: Sequence[str] | None) -> list[str]:
    """``feature_names`` when given, else the names the fitted model knows (``x0``, ...)."""
    if feature_names is not None:
        return [str(name) for name in feature_names]
    for attr in ("feature_names_in_", "feature_name_"):
        names = getattr(model, attr, None)
        if names is not None:
            return [str(name) for name in names]
    booster_names = getattr(model, "feature_names", None)
    if booster_names:
        return [str(name) for name in booster_names]
    if hasattr(model, "feature_name"):  # lightgbm.Booster
        return [str(name) for name in model.feature_name()]
    n = getattr(model, "n_features_in_", None)
    if n is None and hasattr(model, "num_features"):
        n = model.num_features()
    if n is None:
        raise ConfigError("tree importance cannot tell the feature names: pass feature_names")
    return [f"x{i}" for i in range(int(n))]
