"""The feature catalogue and the spec that selects from it.

A spec is a list of mappings, ``[{"name": "log_return", "windows": [1, 5, 20]},
{"name": "rsi", "window": 14}, ...]``: ``name`` picks a catalogue entry and the other keys
are keyword arguments of its function (missing ones take the function's defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from mltrainer.exceptions import ConfigError, did_you_mean

from . import _calendar, _mean_reversion, _momentum, _volatility, _volume
from ._params import FeatureDef

__all__ = [
    "FEATURE_CATALOGUE",
    "ResolvedFeature",
    "default_feature_spec",
    "feature_columns",
    "max_lookback",
    "resolve_spec",
    "validate_feature_spec",
]

_DEFINITIONS: Mapping[str, FeatureDef] = MappingProxyType(
    {
        d.name: d
        for d in (
            *_momentum.DEFINITIONS,
            *_mean_reversion.DEFINITIONS,
            *_volatility.DEFINITIONS,
            *_volume.DEFINITIONS,
            *_calendar.DEFINITIONS,
        )
    }
)

#: Read-only mapping from feature name to its function ``func(bars, **params) -> DataFrame``
#: (bars of one instrument; use :func:`compute_features` for specs and panels).
FEATURE_CATALOGUE: Mapping[str, Callable[..., pd.DataFrame]] = MappingProxyType(
    {name: d.func for name, d in _DEFINITIONS.items()}
)

FeatureSpec = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class ResolvedFeature:
    """One validated spec item: its catalogue entry, full params, outputs and warm-up."""

    definition: FeatureDef
    params: Mapping[str, Any]
    columns: tuple[str, ...]
    lookback: int


def default_feature_spec() -> list[dict[str, Any]]:
    """Return the default spec for daily bars (a new list each call, 22 columns).

    Returns
    -------
    list of dict
        Returns over 1-60 days, realised and range volatility, z-scores against moving
        averages, RSI, MACD, Bollinger, stochastic %K, ATR, volume z-score, day of week and
        month. Its warm-up (:func:`max_lookback`) is 86 bars (MACD's two fixed-window EMAs).
    """
    return [
        {"name": "log_return", "windows": [1, 5, 20, 60]},
        {"name": "volatility", "windows": [5, 20, 60]},
        {"name": "return_zscore", "windows": [20]},
        {"name": "ma_zscore", "windows": [10, 50]},
        {"name": "rsi", "window": 14},
        {"name": "macd", "fast": 12, "slow": 26, "signal": 9},
        {"name": "bollinger", "window": 20, "n_std": 2.0},
        {"name": "stochastic", "window": 14},
        {"name": "atr", "window": 14},
        {"name": "parkinson", "windows": [20]},
        {"name": "volume_zscore", "window": 20},
        {"name": "calendar", "fields": ["day_of_week", "month"]},
    ]


def resolve_spec(spec: FeatureSpec | None = None) -> list[ResolvedFeature]:
    """Validate ``spec`` and return each item with defaults filled in.

    Parameters
    ----------
    spec : sequence of mappings, optional
        The feature spec; ``None`` means :func:`default_feature_spec`.

    Returns
    -------
    list of ResolvedFeature

    Raises
    ------
    ConfigError
        On the first invalid item, with a one-line message naming it and the fix.
    """
    if spec is None:
        spec = default_feature_spec()
    if isinstance(spec, str | bytes | Mapping) or not isinstance(spec, Sequence):
        raise ConfigError(
            "features: expected a list of mappings like [{'name': 'rsi', 'window': 14}], "
            f"got {type(spec).__name__}"
        )
    if len(spec) == 0:
        raise ConfigError("features: the spec is empty; list at least one feature or pass None")
    resolved: list[ResolvedFeature] = []
    producer: dict[str, int] = {}
    for i, item in enumerate(spec):
        feature = _resolve_item(i, item)
        for col in feature.columns:
            if col in producer:
                raise ConfigError(
                    f"features[{i}] ({feature.definition.name}): output column '{col}' is "
                    f"also produced by features[{producer[col]}]; remove one of them"
                )
            producer[col] = i
        resolved.append(feature)
    return resolved


def _resolve_item(i: int, item: Any) -> ResolvedFeature:
    where = f"features[{i}]"
    if not isinstance(item, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping like {{'name': 'rsi', 'window': 14}}, "
            f"got {type(item).__name__} {item!r}"
        )
    names = sorted(_DEFINITIONS)
    if "name" not in item:
        raise ConfigError(f"{where}: missing 'name'; set it to one of {names}")
    name = item["name"]
    if not isinstance(name, str) or name not in _DEFINITIONS:
        hint = did_you_mean(name, names) if isinstance(name, str) else ""
        raise ConfigError(f"{where}: unknown feature {name!r}{hint}; valid features: {names}")
    definition = _DEFINITIONS[name]
    where = f"{where} ({name})"
    params: dict[str, Any] = {}
    for key, value in item.items():
        if key == "name":
            continue
        if key not in definition.params:
            valid = sorted(definition.params)
            raise ConfigError(
                f"{where}: unknown parameter {key!r}{did_you_mean(str(key), valid)}; "
                f"valid parameters: {valid}"
            )
        check = definition.params[key]
        problem = check.problem(value)
        if problem is not None:
            raise ConfigError(f"{where}: parameter '{key}' {problem}")
        params[key] = check.normalise(value)
    for key, default in definition.defaults.items():
        if key not in params:
            params[key] = definition.params[key].normalise(default)
    if definition.relation is not None:
        problem = definition.relation(params)
        if problem is not None:
            raise ConfigError(f"{where}: {problem}")
    return ResolvedFeature(
        definition=definition,
        params=MappingProxyType(params),
        columns=tuple(definition.columns(params)),
        lookback=int(definition.lookback(params)),
    )


def validate_feature_spec(spec: FeatureSpec | None) -> None:
    """Check a feature spec without computing anything.

    Parameters
    ----------
    spec : sequence of mappings or None
        The feature spec; ``None`` means :func:`default_feature_spec`.

    Raises
    ------
    ConfigError
        For a missing ``name``, an unknown feature or parameter (with a did-you-mean hint),
        a bad value (e.g. a window < 1, or < 2 for standard-deviation based features;
        ``fast >= slow`` for MACD) or two items producing the same output column.
    """
    resolve_spec(spec)


def feature_columns(spec: FeatureSpec | None = None) -> list[str]:
    """Return the output column names of ``spec``, in output order, without computing.

    Raises
    ------
    ConfigError
        When the spec is invalid (see :func:`validate_feature_spec`).
    """
    return [col for feature in resolve_spec(spec) for col in feature.columns]


def max_lookback(spec: FeatureSpec | None = None) -> int:
    """Return the warm-up of ``spec``: on clean bars the first row with no NaN feature is at
    this (0-based) position, per symbol.

    Raises
    ------
    ConfigError
        When the spec is invalid (see :func:`validate_feature_spec`).
    """
    return max(feature.lookback for feature in resolve_spec(spec))
