"""The catalogue of model types: each entry is the whole truth about its kind.

A :class:`ModelType` says how to build the estimator for each task, its default params,
its default search space, which parameter sets its threads, which registry format stores
it, how to read its native importance, and how it can be updated online. Tuning,
selection, the registry and online learning ask the entry; adding a model type means
adding one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mltrainer.exceptions import ConfigError, did_you_mean
from mltrainer.models._importance import (
    NativeImportance,
    impurity_importance,
    lightgbm_importance,
    xgboost_importance,
)
from mltrainer.models._steps import final_estimator

__all__ = [
    "MODEL_CATALOGUE",
    "UPDATE_METHODS",
    "ModelType",
    "Task",
    "default_params",
    "make_model",
    "model_type",
    "model_type_of",
]

Task = Literal["classification", "regression"]

#: How a fitted model can learn from new rows: ``partial_fit`` (scikit-learn's incremental
#: API), ``continue`` (append trees to a booster), ``refit`` (LightGBM's leaf refit with
#: decay). An empty set means only a full refit.
UPDATE_METHODS = ("partial_fit", "continue", "refit")


@dataclass(frozen=True)
class ModelType:
    """One entry of the catalogue: everything the other layers need to know about a kind.

    Attributes
    ----------
    name, description : str
        The ``model.type`` name and one line for listings.
    builders : mapping of task to callable
        ``builder(params) -> estimator`` for each task the type does.
    defaults : mapping of task to params
        Default params per task (overridden by ``model.params``).
    seed_param : str or None
        The parameter that takes the run's seed.
    search_space : mapping
        Default tuning space in the config's notation (``{low, high, log, step}`` or
        ``{choices}``), overridable with ``tuning.search_space``.
    thread_param : str or None
        The parameter that sets the model's threads (tuning workers pin it to 1).
    registry_format : str
        The registry format that stores a fitted model of this type.
    importance : callable or None
        ``importance(model, names, importance_type)``: native in-sample importance
        (None: the type has none; use permutation importance).
    updates : frozenset of str
        Online update methods the type supports (see :data:`UPDATE_METHODS`).
    estimator_classes : tuple of str
        Qualified names of classes the final estimators of this type derive from (to
        recognise a fitted or loaded model's type).
    open_params : bool
        The estimator takes native parameters through ``**kwargs`` (boosters): only near
        misses of known names are refused.
    """

    name: str
    description: str
    builders: Mapping[str, Callable[[dict[str, Any]], BaseEstimator]]
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seed_param: str | None = "random_state"
    search_space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    thread_param: str | None = None
    registry_format: str = "skops"
    importance: NativeImportance | None = None
    updates: frozenset[str] = frozenset()
    estimator_classes: tuple[str, ...] = ()
    open_params: bool = False

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks this type does."""
        return tuple(self.builders)

    def matches(self, estimator: Any) -> bool:
        """Whether ``estimator`` (or its final step) is a model this type builds."""
        final = final_estimator(estimator)
        qualified = {f"{c.__module__}.{c.__qualname__}" for c in type(final).__mro__}
        return bool(qualified & set(self.estimator_classes))


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

_SGD_CLASSIFIER_DEFAULTS: dict[str, Any] = {
    "loss": "log_loss",  # explicit: probabilities for the scorers and the monitor
    "penalty": "l2",
    "alpha": 1e-3,
    "learning_rate": "adaptive",  # invscaling stalls after a regime change
    "eta0": 0.01,
    "max_iter": 1000,
    "tol": 1e-4,
}
_SGD_REGRESSOR_DEFAULTS: dict[str, Any] = {**_SGD_CLASSIFIER_DEFAULTS, "loss": "squared_error"}
_BOOSTER_SPACE_COMMON: dict[str, Any] = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "n_estimators": {"low": 50, "high": 500},
    "subsample": {"low": 0.6, "high": 1.0},
    "colsample_bytree": {"low": 0.6, "high": 1.0},
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
            search_space={
                "max_depth": {"low": 3, "high": 10},
                **_BOOSTER_SPACE_COMMON,
                "min_child_weight": {"low": 1, "high": 10},
            },
            thread_param="n_jobs",
            registry_format="xgboost",
            importance=xgboost_importance,
            updates=frozenset({"continue"}),
            estimator_classes=("xgboost.sklearn.XGBModel", "xgboost.core.Booster"),
            open_params=True,
        ),
        "lightgbm": ModelType(
            "lightgbm",
            "LightGBM gradient-boosted trees",
            {"classification": _lgbm_classifier, "regression": _lgbm_regressor},
            {"classification": _LGBM_DEFAULTS, "regression": _LGBM_DEFAULTS},
            search_space={
                "num_leaves": {"low": 7, "high": 127, "log": True},
                **_BOOSTER_SPACE_COMMON,
                "min_child_samples": {"low": 10, "high": 200, "log": True},
            },
            thread_param="n_jobs",
            registry_format="lightgbm",
            importance=lightgbm_importance,
            updates=frozenset({"continue", "refit"}),
            estimator_classes=(
                "lightgbm.sklearn.LGBMModel",
                "lightgbm.basic.Booster",
                "mltrainer.registry._lightgbm.LightGBMRegressorAdapter",
            ),
            open_params=True,
        ),
        "random_forest": ModelType(
            "random_forest",
            "scikit-learn random forest",
            {
                "classification": lambda p: RandomForestClassifier(**p),
                "regression": lambda p: RandomForestRegressor(**p),
            },
            {"classification": _RF_DEFAULTS, "regression": _RF_DEFAULTS},
            search_space={
                "n_estimators": {"low": 100, "high": 500},
                "max_depth": {"low": 3, "high": 12},
                "min_samples_leaf": {"low": 5, "high": 100, "log": True},
                "max_features": {"low": 0.2, "high": 1.0},
            },
            thread_param="n_jobs",
            importance=impurity_importance,
            estimator_classes=("sklearn.ensemble._forest.BaseForest",),
        ),
        "logistic": ModelType(
            "logistic",
            "standardised logistic regression (classification)",
            {"classification": lambda p: _scaled(LogisticRegression(**p))},
            {"classification": {"C": 0.1, "max_iter": 1000}},
            search_space={"C": {"low": 1e-4, "high": 10.0, "log": True}},
            estimator_classes=("sklearn.linear_model._logistic.LogisticRegression",),
        ),
        "ridge": ModelType(
            "ridge",
            "standardised ridge regression (regression)",
            {"regression": lambda p: _scaled(Ridge(**p))},
            {"regression": {"alpha": 10.0}},
            seed_param=None,
            search_space={"alpha": {"low": 1e-3, "high": 1e3, "log": True}},
            estimator_classes=("sklearn.linear_model._ridge.Ridge",),
        ),
        "sgd": ModelType(
            "sgd",
            "standardised linear model by stochastic gradient descent (partial_fit)",
            {
                "classification": lambda p: _scaled(SGDClassifier(**p)),
                "regression": lambda p: _scaled(SGDRegressor(**p)),
            },
            {"classification": _SGD_CLASSIFIER_DEFAULTS, "regression": _SGD_REGRESSOR_DEFAULTS},
            search_space={
                "alpha": {"low": 1e-6, "high": 1e-1, "log": True},
                "eta0": {"low": 1e-3, "high": 0.3, "log": True},
            },
            updates=frozenset({"partial_fit"}),
            estimator_classes=(
                "sklearn.linear_model._stochastic_gradient.SGDClassifier",
                "sklearn.linear_model._stochastic_gradient.SGDRegressor",
            ),
        ),
    }
)


def model_type(name: str) -> ModelType:
    """The catalogue entry called ``name``.

    Raises
    ------
    ConfigError
        For an unknown type (with a suggestion and the list of types).
    """
    entry = MODEL_CATALOGUE.get(name)
    if entry is None:
        hint = did_you_mean(name, MODEL_CATALOGUE)
        raise ConfigError(
            f"model.type: unknown model type '{name}'{hint};"
            f" choose one of {', '.join(MODEL_CATALOGUE)}"
        )
    return entry


def model_type_of(estimator: Any) -> ModelType | None:
    """The catalogue entry whose models ``estimator`` (or its final step) is, or None.

    Examples
    --------
    >>> model_type_of(make_model("ridge", "regression")).name
    'ridge'
    """
    for entry in MODEL_CATALOGUE.values():
        if entry.matches(estimator):
            return entry
    return None


def _lookup(name: str, task: str) -> ModelType:
    entry = model_type(name)
    if task not in entry.builders:
        others = [n for n, m in MODEL_CATALOGUE.items() if task in m.builders]
        raise ConfigError(
            f"model.type: '{name}' does not do {task} (the label decides the task);"
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
    valid = estimator_params(model_type, task)
    # Boosters take extra native parameters through **kwargs, so for them only a near miss
    # of a known name (a typo such as 'n_estimator') is refused; others must be known.
    for key in merged:
        if key in valid:
            continue
        hint = did_you_mean(key, valid)
        if not entry.open_params or hint:
            raise ConfigError(f"model.params: unknown parameter '{key}' for {model_type}{hint}")
    return entry.builders[task](merged)


def estimator_params(model_type: str, task: Task | str) -> set[str]:
    """The parameter names the final estimator of ``model_type`` takes for ``task``."""
    estimator = _lookup(model_type, task).builders[task]({})
    return set(final_estimator(estimator).get_params(deep=False))
