"""The catalogue of model types: defaults per task, built as scikit-learn estimators."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mltrainer.exceptions import ConfigError, did_you_mean

__all__ = ["MODEL_CATALOGUE", "ModelType", "Task", "default_params", "make_model"]

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class ModelType:
    """One entry of the catalogue: how to build the estimator for each task it supports."""

    name: str
    description: str
    builders: Mapping[str, Callable[[dict[str, Any]], BaseEstimator]]
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seed_param: str | None = "random_state"

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.builders)


def _xgb_classifier(params: dict[str, Any]) -> BaseEstimator:
    from xgboost import XGBClassifier

    return XGBClassifier(**params)


def _xgb_regressor(params: dict[str, Any]) -> BaseEstimator:
    from xgboost import XGBRegressor

    return XGBRegressor(**params)


def _lgbm_classifier(params: dict[str, Any]) -> BaseEstimator:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(**params)


def _lgbm_regressor(params: dict[str, Any]) -> BaseEstimator:
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**params)


def _scaled(estimator: BaseEstimator) -> BaseEstimator:
    # Linear models need scaled inputs; the scaler is fitted inside each training fold.
    return Pipeline([("scale", StandardScaler()), ("model", estimator)])


# Boosters default to one thread: on daily-bar sizes (thousands of rows) threads cost more
# than they save, and OpenMP threads on a busy 2-core machine can stall a LightGBM fit from
# 0.2 s to over a minute. Raise `n_jobs` in `model.params` for large data; parallelise
# folds with `cv.n_jobs`.
_XGB_DEFAULTS: dict[str, Any] = {
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.03,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5.0,
    "reg_lambda": 1.0,
    "tree_method": "hist",
    "n_jobs": 1,
}
_LGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 300,
    "num_leaves": 15,
    "learning_rate": 0.03,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "min_child_samples": 40,
    "n_jobs": 1,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
_RF_DEFAULTS: dict[str, Any] = {
    "n_estimators": 300,
    "max_depth": 6,
    "min_samples_leaf": 20,
    "max_features": "sqrt",
    "n_jobs": 2,
}

MODEL_CATALOGUE: Mapping[str, ModelType] = MappingProxyType(
    {
        "xgboost": ModelType(
            "xgboost",
            "XGBoost gradient-boosted trees (hist)",
            {"classification": _xgb_classifier, "regression": _xgb_regressor},
            {
                "classification": {**_XGB_DEFAULTS, "eval_metric": "logloss"},
                "regression": _XGB_DEFAULTS,
            },
        ),
        "lightgbm": ModelType(
            "lightgbm",
            "LightGBM gradient-boosted trees",
            {"classification": _lgbm_classifier, "regression": _lgbm_regressor},
            {"classification": _LGBM_DEFAULTS, "regression": _LGBM_DEFAULTS},
        ),
        "random_forest": ModelType(
            "random_forest",
            "scikit-learn random forest",
            {
                "classification": lambda p: RandomForestClassifier(**p),
                "regression": lambda p: RandomForestRegressor(**p),
            },
            {"classification": _RF_DEFAULTS, "regression": _RF_DEFAULTS},
        ),
        "logistic": ModelType(
            "logistic",
            "standardised logistic regression (classification)",
            {"classification": lambda p: _scaled(LogisticRegression(**p))},
            {"classification": {"C": 0.1, "max_iter": 1000}},
        ),
        "ridge": ModelType(
            "ridge",
            "standardised ridge regression (regression)",
            {"regression": lambda p: _scaled(Ridge(**p))},
            {"regression": {"alpha": 10.0}},
            seed_param=None,
        ),
    }
)


def _lookup(model_type: str, task: str) -> ModelType:
    entry = MODEL_CATALOGUE.get(model_type)
    if entry is None:
        hint = did_you_mean(model_type, MODEL_CATALOGUE)
        raise ConfigError(
            f"model.type: unknown model type '{model_type}'{hint};"
            f" choose one of {', '.join(MODEL_CATALOGUE)}"
        )
    if task not in entry.builders:
        others = [n for n, m in MODEL_CATALOGUE.items() if task in m.builders]
        raise ConfigError(
            f"model.type: '{model_type}' does not do {task} (the label decides the task);"
            f" choose one of {', '.join(others)}"
        )
    return entry


def default_params(model_type: str, task: Task | str) -> dict[str, Any]:
    """Return a copy of the default parameters of ``model_type`` for ``task``."""
    return dict(_lookup(model_type, task).defaults.get(task, {}))


def make_model(
    model_type: str,
    task: Task | str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: int | None = None,
) -> BaseEstimator:
    """Build an unfitted estimator: catalogue defaults, overridden by ``params``.

    Parameters
    ----------
    model_type : str
        A key of :data:`MODEL_CATALOGUE`.
    task : {"classification", "regression"}
        Follows the label kind.
    params : mapping, optional
        Overrides of the defaults; an unknown parameter is a :class:`ConfigError`.
    random_state : int, optional
        Seed passed to the estimator when it takes one.
    """
    entry = _lookup(model_type, task)
    merged = {**entry.defaults.get(task, {}), **dict(params or {})}
    if entry.seed_param is not None and random_state is not None:
        merged.setdefault(entry.seed_param, random_state)
    estimator = entry.builders[task]({})
    inner = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    valid = inner.get_params(deep=False)
    # Boosters take extra native parameters through **kwargs, so for them only a near miss
    # of a known name (a typo such as 'n_estimator') is refused; others must be known.
    open_ended = model_type in {"xgboost", "lightgbm"}
    for key in merged:
        if key in valid:
            continue
        hint = did_you_mean(key, valid)
        if not open_ended or hint:
            raise ConfigError(f"model.params: unknown parameter '{key}' for {model_type}{hint}")
    return entry.builders[task](merged)
