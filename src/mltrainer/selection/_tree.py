"""In-sample tree importances: XGBoost gain, LightGBM gain/split, forest impurity (MDI).

These are read from the fitted model, i.e. measured on the rows it was trained on: a
quick screen, not the verdict. Impurity importance of scikit-learn forests is also biased
toward continuous, high-cardinality features. Prefer :func:`permutation_importance`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError

__all__ = ["supports_tree_importance", "tree_importance"]

_XGB_TYPES = ("gain", "total_gain", "weight", "cover", "total_cover")
_LGBM_TYPES = ("gain", "split")
_INDEX_KEY = re.compile(r"f(\d+)")


def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _kind(model: Any) -> str | None:
    module = type(model).__module__
    if module.startswith("xgboost"):
        return "xgboost"
    if module.startswith("lightgbm"):
        return "lightgbm"
    if hasattr(type(model), "feature_importances_"):
        return "sklearn"
    return None


def supports_tree_importance(model: Any) -> bool:
    """Whether :func:`tree_importance` can read ``model`` (fitted or not): trees only."""
    return _kind(_final_step(model)) is not None


def _xgboost(model: Any, names: list[str], importance_type: str) -> np.ndarray:
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


def _lightgbm(model: Any, importance_type: str) -> np.ndarray:
    if importance_type not in _LGBM_TYPES:
        raise ConfigError(
            f"importance_type={importance_type!r} is not a LightGBM importance: "
            f"choose one of {', '.join(_LGBM_TYPES)}"
        )
    booster = model.booster_ if hasattr(model, "booster_") else model
    return np.asarray(booster.feature_importance(importance_type=importance_type), dtype=float)


def tree_importance(
    model: Any,
    feature_names: Sequence[str] | None = None,
    *,
    importance_type: str = "gain",
) -> pd.Series:
    """Importance read from a fitted tree model, normalised to sum to 1, sorted descending.

    Parameters
    ----------
    model : fitted estimator or booster
        An XGBoost scikit-learn wrapper or ``Booster`` (with or without feature names
        set), a LightGBM wrapper or ``Booster``, a scikit-learn forest or tree (anything
        with ``feature_importances_``), or a ``Pipeline`` ending in one of these.
    feature_names : sequence of str, optional
        Names in training order; defaults to the model's own names.
    importance_type : str, default "gain"
        XGBoost: ``gain``, ``total_gain``, ``weight``, ``cover``, ``total_cover``.
        LightGBM: ``gain`` or ``split``. scikit-learn forests always report impurity
        decrease (MDI), whatever is asked.

    Returns
    -------
    Series
        Indexed by feature name, sorted descending, summing to 1 (all zeros when the model
        made no split).

    Raises
    ------
    ConfigError
        When the model has no tree importances (use permutation importance), or the names
        do not match the model.

    Notes
    -----
    In-sample and, for forests, biased toward continuous features: a quick screen only.
    """
    final = _final_step(model)
    kind = _kind(final)
    if kind is None:
        raise ConfigError(
            f"method 'gain' needs a tree model with importances; {type(final).__name__} has "
            "none: use method 'permutation' (or 'sfi', 'clustered')"
        )
    names = _names(final, feature_names)
    if kind == "xgboost":
        values = _xgboost(final, names, importance_type)
    elif kind == "lightgbm":
        values = _lightgbm(final, importance_type)
    else:
        try:
            values = np.asarray(final.feature_importances_, dtype=float)
        except AttributeError as exc:  # unfitted: NotFittedError is an AttributeError
            raise ConfigError(f"tree_importance needs a fitted model: {exc}") from None
    if values.shape != (len(names),):
        raise ConfigError(
            f"feature_names has {len(names)} names but the model reports {values.size} "
            "importances: pass the names the model was trained on"
        )
    total = values.sum()
    if total > 0:
        values = values / total
    series = pd.Series(values, index=names, name="importance")
    return series.sort_values(ascending=False, kind="stable")


def _names(model: Any, feature_names: Sequence[str] | None) -> list[str]:
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
        raise ConfigError("tree_importance cannot tell the feature names: pass feature_names")
    return [f"x{i}" for i in range(int(n))]
