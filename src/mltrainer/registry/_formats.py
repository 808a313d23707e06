"""The table of model formats; no pickle anywhere.

* ``composite``: any class of :data:`mltrainer.models.COMPOSITES`: ``spec.json`` plus each
  member in its own format below (``member-<name>.json`` / ``.txt`` / ``.skops``).
* ``xgboost``: XGBoost scikit-learn wrappers, ``model.json`` (XGBoost's own JSON).
* ``lightgbm``: LightGBM scikit-learn wrappers, ``model.txt`` (LightGBM's text model),
  loaded into a :class:`LightGBMClassifierAdapter` / :class:`LightGBMRegressorAdapter`.
* ``skops``: scikit-learn estimators and pipelines, ``model.skops``, loaded only when every
  object in it has one of the exact trusted types (:func:`is_trusted_type`).
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from mltrainer.exceptions import ConfigError
from mltrainer.models import model_type_of
from mltrainer.registry._composite_format import CompositeFormat
from mltrainer.registry._native import LightGBMFormat, XGBoostFormat
from mltrainer.registry._protocol import ModelFormat, qualified
from mltrainer.registry._skops import SkopsFormat

_NATIVE: tuple[ModelFormat, ...] = (XGBoostFormat(), LightGBMFormat(), SkopsFormat())
FORMATS: tuple[ModelFormat, ...] = (CompositeFormat(_NATIVE), *_NATIVE)

# the one file of a version written before formats listed their files (manifest schema 1)
LEGACY_FILES = {"xgboost": "model.json", "lightgbm": "model.txt", "skops": "model.skops"}


def format_for(model: Any) -> ModelFormat:
    """Return the format that stores ``model``.

    A model of a catalogue type is stored in the format its entry names
    (``ModelType.registry_format``); anything else in the first format that accepts it.

    Raises
    ------
    ConfigError
        If no format supports the model's type.
    """
    entry = model_type_of(model)
    if entry is not None and not isinstance(model, Pipeline):
        fmt = format_named(entry.registry_format)
        if fmt.accepts(model):
            return fmt
    for fmt in FORMATS:
        if fmt.accepts(model):
            return fmt
    raise ConfigError(
        f"cannot save a model of type {qualified(model)}: supported are xgboost "
        "XGBClassifier/XGBRegressor ('xgboost'), lightgbm LGBMClassifier/LGBMRegressor "
        "('lightgbm'), scikit-learn estimators or pipelines ('skops') and the composites of "
        "mltrainer.models.COMPOSITES ('composite')"
    )


def format_named(name: object) -> ModelFormat:
    """Return the format called ``name`` (as recorded in MANIFEST.json).

    Raises
    ------
    ConfigError
        If no format has that name.
    """
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise ConfigError(
        f"MANIFEST.json names format {name!r}; known formats are "
        f"{[fmt.name for fmt in FORMATS]}: upgrade mltrainer to load this model"
    )
