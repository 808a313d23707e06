"""Search spaces per model type: defaults in code, overridable in config, checked up front."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from mltrainer.config import ModelConfig
from mltrainer.ensemble import is_ensemble, route_params
from mltrainer.exceptions import ConfigError, did_you_mean
from mltrainer.models import estimator_params
from mltrainer.models import model_type as model_type_entry

__all__ = [
    "clip_to_space",
    "model_search_space",
    "search_space",
    "space_to_distributions",
    "suggest_params",
]

_SPEC_KEYS = {"low", "high", "log", "step", "choices"}


def _distribution(name: str, spec: Mapping[str, Any]) -> BaseDistribution:
    where = f"tuning.search_space.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping like {{low: 1, high: 10}} or {{choices: [...]}},"
            f" got {spec!r}"
        )
    for key in spec:
        if key not in _SPEC_KEYS:
            raise ConfigError(
                f"{where}: unknown key '{key}'{did_you_mean(str(key), _SPEC_KEYS)};"
                f" use {', '.join(sorted(_SPEC_KEYS))}"
            )
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.choices: give a non-empty list, got {choices!r}")
        return CategoricalDistribution(tuple(choices))
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: give both 'low' and 'high' (or 'choices')")
    low, high = spec["low"], spec["high"]
    log = bool(spec.get("log", False))
    step = spec.get("step")
    for label, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}.{label}: must be a number, got {value!r}")
    if low > high:
        raise ConfigError(f"{where}: low {low} > high {high}; swap them")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {low}; drop 'log' or raise low")
    if log and step is not None:
        raise ConfigError(f"{where}: 'log' and 'step' cannot be combined; keep one")
    if isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int)):
        return IntDistribution(low, high, log=log, step=step or 1)
    return FloatDistribution(float(low), float(high), log=log, step=step)


def search_space(
    model_type: str,
    overrides: Mapping[str, Mapping[str, Any] | None] | None = None,
    *,
    task: str = "classification",
) -> dict[str, BaseDistribution]:
    """The effective search space of a model type as Optuna distributions.

    Parameters
    ----------
    model_type : str
        A key of the model catalogue; its entry holds the default space.
    overrides : mapping, optional
        ``tuning.search_space`` from the config: a parameter maps to a new range, or to
        None to drop it from the default space.
    task : str, default "classification"
        The label's task; parameters are checked against that estimator.

    Raises
    ------
    ConfigError
        For an unknown model type or parameter, ``low > high``, a bad log range or spec key.
    """
    entry = model_type_entry(model_type)
    specs: dict[str, Mapping[str, Any] | None] = dict(entry.search_space)
    specs.update(overrides or {})
    if not specs:
        raise ConfigError(
            f"tuning: model type '{model_type}' has no default search space; give one in"
            " tuning.search_space"
        )
    valid = estimator_params(model_type, task)
    space: dict[str, BaseDistribution] = {}
    for name, spec in specs.items():
        if spec is None:
            continue
        if name not in valid:
            raise ConfigError(
                f"tuning.search_space: unknown parameter '{name}' for {model_type}"
                f"{did_you_mean(name, valid)}; valid: {', '.join(sorted(valid))}"
            )
        space[name] = _distribution(name, spec)
    if not space:
        raise ConfigError("tuning.search_space: every parameter was dropped; keep at least one")
    return space


def model_search_space(
    model: ModelConfig,
    overrides: Mapping[str, Mapping[str, Any] | None] | None = None,
    *,
    task: str = "classification",
) -> dict[str, BaseDistribution]:
    """The search space of the ``model`` section: :func:`search_space` of its type, or for an
    ensemble every member's space with names prefixed ``<member>__`` (overrides likewise).

    Raises
    ------
    ConfigError
        As :func:`search_space`, naming the member; for an override that is not
        ``<member>__<param>``.
    """
    if not is_ensemble(model):
        return search_space(model.type, overrides, task=task)
    try:
        by_member = route_params(model, overrides)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("model.params", "tuning.search_space")) from None
    space: dict[str, BaseDistribution] = {}
    for member in model.members or []:
        own = by_member[member.name]
        specs = {**model_type_entry(member.type).search_space, **own}
        if all(spec is None for spec in specs.values()):
            continue  # every parameter of this member dropped: it keeps its fixed params
        try:
            sub = search_space(member.type, own, task=task)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (member {member.name})") from None
        space.update({f"{member.name}__{name}": dist for name, dist in sub.items()})
    if not space:
        raise ConfigError("tuning.search_space: every parameter was dropped; keep at least one")
    return space


def space_to_distributions(space: Mapping[str, BaseDistribution]) -> dict[str, str]:
    """A JSON-friendly description of a space (for logs and stored results)."""
    return {name: optuna.distributions.distribution_to_json(d) for name, d in space.items()}


def suggest_params(
    trial: optuna.trial.BaseTrial, space: Mapping[str, BaseDistribution]
) -> dict[str, Any]:
    """Draw one value per parameter of ``space`` from ``trial`` (Optuna's current API)."""
    out: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, IntDistribution):
            out[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        elif isinstance(dist, FloatDistribution):
            out[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            assert isinstance(dist, CategoricalDistribution)
            out[name] = trial.suggest_categorical(name, list(dist.choices))
    return out


def clip_to_space(
    params: Mapping[str, Any], space: Mapping[str, BaseDistribution]
) -> dict[str, Any]:
    """The values of ``params`` for the keys of ``space``, cast and clipped into it.

    Used to warm-start a study with the fixed config and the previous best.
    """
    out: dict[str, Any] = {}
    for name, dist in space.items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(dist, CategoricalDistribution):
            if value in dist.choices:
                out[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        assert isinstance(dist, (IntDistribution, FloatDistribution))
        clipped = min(max(value, dist.low), dist.high)
        if dist.step is not None:
            clipped = dist.low + round((clipped - dist.low) / dist.step) * dist.step
            clipped = min(clipped, dist.high)
        out[name] = round(clipped) if isinstance(dist, IntDistribution) else float(clipped)
    return out
