"""In-sample tree importances through the model catalogue (XGBoost, LightGBM, forests).

Each catalogue entry names its native importance function; any other scikit-learn model
with ``feature_importances_`` (a tree, a forest outside the catalogue) reports impurity
decrease. These are measured on the rows the model was trained on: a quick screen, not
the verdict. Prefer :func:`permutation_importance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.models import (
    NativeImportance,
    final_estimator,
    impurity_importance,
    model_names,
    model_type_of,
)

__all__ = ["supports_tree_importance", "tree_importance"]


def _importance_function(model: Any) -> NativeImportance | None:
    entry = model_type_of(model)
    if entry is not None:
        return entry.importance
    if hasattr(type(final_estimator(model)), "feature_importances_"):
        return impurity_importance
    return None


def supports_tree_importance(model: Any) -> bool:
    """Whether :func:`tree_importance` can read ``model`` (fitted or not): trees only."""
    return _importance_function(model) is not None


def tree_importance(
    model: Any,
    feature_names: Sequence[str] | None = None,
    *,
    importance_type: str = "gain",
) -> pd.Series:
    """Importance read from a fitted tree model, normalised to sum to 1, sorted descending.

    Parameters
    ----------
    model : fitted estimator
        A model of a catalogue type with native importance (XGBoost, LightGBM, random
        forest), any scikit-learn tree or forest (``feature_importances_``), or a
        ``Pipeline`` ending in one of these.
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
    """
    final = final_estimator(model)
    function = _importance_function(final)
    if function is None:
        raise ConfigError(
            f"method 'gain' needs a tree model with importances; {type(final).__name__} has "
            "none: use method 'permutation' (or 'sfi', 'clustered')"
        )
    names = model_names(final, feature_names)
    values = np.asarray(function(final, names, importance_type), dtype=float)
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
