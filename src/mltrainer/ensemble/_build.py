"""From ``model: {type: ensemble, ...}`` to an ensemble estimator; members from the catalogue.

Every member is a catalogue model built with :func:`mltrainer.models.make_model` (its
defaults, then ``members[i].params``, then ``<member>__<param>`` params such as tuning's),
so an ensemble member is exactly the model ``model.type: <type>`` would train. The stack's
inner splitter is the run's own splitter (same method, label end times and embargo),
realigned to each training fold when it splits it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.model_selection import BaseCrossValidator, TimeSeriesSplit

from mltrainer.config import ENSEMBLE_TYPE, ModelConfig, RegimeConfig
from mltrainer.cv import CombinatorialPurgedKFold, ExpandingWindowSplit, PurgedSplitter
from mltrainer.ensemble._base import BaseEnsemble
from mltrainer.ensemble._regime import RegimeEnsemble
from mltrainer.ensemble._stacking import StackingEnsemble
from mltrainer.ensemble._voting import VotingEnsemble
from mltrainer.exceptions import ConfigError
from mltrainer.models import default_params, make_model, model_type

__all__ = [
    "inner_splitter",
    "is_ensemble",
    "make_ensemble",
    "member_defaults",
    "route_params",
]


def is_ensemble(model: ModelConfig) -> bool:
    """Whether the ``model`` section configures an ensemble."""
    return model.type == ENSEMBLE_TYPE


def _members(model: ModelConfig) -> list[Any]:
    if not is_ensemble(model) or not model.members:
        raise ConfigError("model: not an ensemble (set model.type: ensemble and model.members)")
    return list(model.members)


def route_params(model: ModelConfig, params: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Split ``<member>__<param>`` params by member.

    Raises
    ------
    ConfigError
        For a key that does not start with a member's name and ``__``.

    Examples
    --------
    >>> from mltrainer.config import ModelConfig
    >>> model = ModelConfig(type="ensemble", combine="average",
    ...                     members=[{"name": "xgb", "type": "xgboost"}])
    >>> route_params(model, {"xgb__max_depth": 4})
    {'xgb': {'max_depth': 4}}
    """
    names = [member.name for member in _members(model)]
    routed: dict[str, dict[str, Any]] = {name: {} for name in names}
    for key, value in (params or {}).items():
        name, sep, param = str(key).partition("__")
        if not sep or not param or name not in routed:
            raise ConfigError(
                f"model.params: '{key}' is not <member>__<param> for members {names}; "
                f"e.g. '{names[0]}__max_depth'"
            )
        routed[name][param] = value
    return routed


def _check_tasks(model: ModelConfig, task: str) -> None:
    members = _members(model)
    tasks = {}
    for i, member in enumerate(members):
        try:
            tasks[member.name] = set(model_type(member.type).tasks)
        except ConfigError as exc:
            raise ConfigError(_member_message(i, member.name, exc)) from None
    common = set.intersection(*tasks.values())
    if not common:
        shown = "; ".join(f"{name}: {'/'.join(sorted(t))}" for name, t in tasks.items())
        raise ConfigError(
            f"model.members are of mixed tasks ({shown}): every member must do the label's task"
        )
    for i, member in enumerate(members):
        if task not in tasks[member.name]:
            raise ConfigError(
                f"model.members[{i}] ({member.name}): type '{member.type}' does not do {task} "
                "(the label decides the task); choose a member type that does"
            )


def _member_message(i: int, name: str, exc: Exception) -> str:
    text = str(exc)
    for prefix in ("model.type: ", "model.params: "):
        if text.startswith(prefix):
            field = prefix.split(".")[1].rstrip(": ")
            return f"model.members[{i}].{field} ({name}): {text[len(prefix) :]}"
    return f"model.members[{i}] ({name}): {text}"


def member_defaults(model: ModelConfig, task: str) -> dict[str, Any]:
    """Every member's effective fixed params, prefixed (catalogue defaults, member params,
    then ``model.params``): what tuning warm-starts a study with."""
    routed = route_params(model, model.params)
    out: dict[str, Any] = {}
    for member in _members(model):
        values = {**default_params(member.type, task), **member.params, **routed[member.name]}
        out.update({f"{member.name}__{key}": value for key, value in values.items()})
    return out


def inner_splitter(splitter: Any, n_splits: int | None = None) -> Any:
    """The stack's inner splitter: ``splitter``'s class and settings (``t1`` included, so it
    realigns to each training fold), with ``n_splits`` inner folds when given.

    ``n_splits`` sets a combinatorial splitter's ``n_groups``; an expanding window has no
    fold count (its sizes apply as they are).

    Raises
    ------
    ConfigError
        When ``n_splits`` is given for an expanding-window splitter.
    """
    if splitter is None:
        return 3 if n_splits is None else n_splits
    if isinstance(splitter, PurgedSplitter):
        params = splitter.get_params()
        if n_splits is not None:
            if isinstance(splitter, ExpandingWindowSplit):
                raise ConfigError(
                    "model.meta.n_splits does not apply to cv.method expanding (its folds "
                    "follow initial_train_size and step_size): remove model.meta.n_splits"
                )
            key = "n_groups" if isinstance(splitter, CombinatorialPurgedKFold) else "n_splits"
            params[key] = n_splits
        return type(splitter)(**params)
    if isinstance(splitter, TimeSeriesSplit):
        return TimeSeriesSplit(
            n_splits=splitter.n_splits if n_splits is None else n_splits,
            max_train_size=splitter.max_train_size,
            test_size=splitter.test_size,
            gap=splitter.gap,
        )
    if isinstance(splitter, BaseCrossValidator | int):
        return splitter
    raise ConfigError(f"the run's splitter {splitter!r} cannot split a training fold")


def make_ensemble(
    model: ModelConfig,
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    splitter: Any = None,
    random_state: int | None = None,
    threads: int | None = None,
) -> BaseEnsemble:
    """The ensemble estimator a ``model`` section describes.

    Parameters
    ----------
    model : ModelConfig
        ``type: ensemble`` with ``combine``, ``members`` and ``meta`` / ``regime``.
    task : {"classification", "regression"}
        The label's task.
    params : mapping, optional
        ``<member>__<param>`` overrides (``model.params``, tuned params).
    splitter : cross-validator, optional
        The run's splitter: the stack's inner folds follow it (default ``PurgedKFold(3)``).
    random_state : int, optional
        The run's seed, given to every member (and the mixture / meta model).
    threads : int, optional
        Each member's thread parameter (tuning workers pin it).

    Raises
    ------
    ConfigError
        Naming ``model.members[i]`` for an unknown type or parameter, members of mixed
        tasks or of another task than the label's, or a bad ``<member>__<param>`` key.
    """
    members = _members(model)
    _check_tasks(model, task)
    routed = route_params(model, params)
    estimators = []
    for i, member in enumerate(members):
        merged = {**member.params, **routed[member.name]}
        entry = model_type(member.type)
        if threads is not None and entry.thread_param is not None:
            merged[entry.thread_param] = threads
        try:
            estimator = make_model(member.type, task, merged, random_state=random_state)
        except ConfigError as exc:
            raise ConfigError(_member_message(i, member.name, exc)) from None
        estimators.append((member.name, estimator))
    combine = model.combine
    if combine in ("average", "vote_soft", "vote_hard"):
        if combine == "vote_hard" and task != "classification":
            raise ConfigError(
                "model.combine: vote_hard votes on class labels; use average for regression"
            )
        weights = [member.weight for member in members]
        if sum(weights) <= 0:
            raise ConfigError("model.members[].weight are all zero; give one a positive weight")
        return VotingEnsemble(
            estimators,
            voting="hard" if combine == "vote_hard" else "soft",
            weights=None if len(set(weights)) == 1 else weights,
        )
    if combine == "stack":
        meta = model.meta
        kind = "weights" if meta is None else meta.type
        if kind == "logistic" and task != "classification":
            raise ConfigError("model.meta.type: logistic is for classification; use ridge")
        if kind == "ridge" and task != "regression":
            raise ConfigError("model.meta.type: ridge is for regression; use logistic")
        return StackingEnsemble(
            estimators,
            meta=kind,
            meta_params=dict(meta.params) if meta is not None and meta.params else None,
            cv=inner_splitter(splitter, None if meta is None else meta.n_splits),
            passthrough=bool(meta is not None and meta.passthrough),
            random_state=random_state,
        )
    regime = model.regime
    assert combine == "regime"
    if regime is None:
        regime = RegimeConfig()
    return RegimeEnsemble(
        estimators,
        method=regime.method,
        features=regime.columns(),
        n_regimes=regime.n_regimes,
        min_dwell=regime.min_dwell,
        soft=regime.soft,
        fallback=regime.fallback,
        min_rows=regime.min_rows,
        random_state=random_state,
    )
