"""The label catalogue: names -> functions, and spec validation done before any work."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from mltrainer.exceptions import ConfigError, did_you_mean
from mltrainer.labels._barrier import triple_barrier
from mltrainer.labels._base import LabelKind, Labels, check_choice, check_float, check_int
from mltrainer.labels._forward import direction, forward_return, forward_volatility

__all__ = [
    "LABEL_CATALOGUE",
    "label_horizon",
    "label_kind",
    "label_lookback",
    "make_labels",
    "validate_label_spec",
]

LabelFunction = Callable[..., Labels]

LABEL_CATALOGUE: Mapping[str, LabelFunction] = MappingProxyType(
    {
        "direction": direction,
        "forward_return": forward_return,
        "forward_volatility": forward_volatility,
        "triple_barrier": triple_barrier,
    }
)
"""Read-only mapping of label name to label function."""


@dataclass(frozen=True)
class _Meta:
    kind: LabelKind
    lookback_param: str | None  # parameter giving the bars of history needed, if any


_META: Mapping[str, _Meta] = MappingProxyType(
    {
        "direction": _Meta("classification", None),
        "forward_return": _Meta("regression", None),
        "forward_volatility": _Meta("regression", None),
        "triple_barrier": _Meta("classification", "vol_window"),
    }
)


def _check_value(label: str, param: str, value: Any) -> None:
    """Check one parameter value with the same rules the label function applies."""
    if param in ("horizon", "annualize"):
        if not (param == "annualize" and value is None):
            check_int(label, param, value, minimum=1)
    elif param == "vol_window":
        check_int(label, param, value, minimum=2)
    elif param == "threshold":
        check_float(label, param, value)
    elif param in ("upper", "lower"):
        check_float(label, param, value, minimum=0.0)
    elif param == "use_high_low":
        check_choice(label, param, value, (True, False))
    elif param == "vertical":
        check_choice(label, param, value, ("zero", "sign"))


def _defaults(name: str) -> dict[str, Any]:
    params = inspect.signature(LABEL_CATALOGUE[name]).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def validate_label_spec(spec: Mapping[str, Any]) -> None:
    """Check a label spec such as ``{"name": "direction", "horizon": 5}`` before any work.

    Parameters
    ----------
    spec : Mapping
        ``"name"`` (a key of :data:`LABEL_CATALOGUE`) plus keyword parameters of that
        label; omitted parameters take the function's defaults.

    Raises
    ------
    ConfigError
        Spec not a mapping, name missing or unknown, a parameter unknown for that label,
        or a value out of range (horizon not an int >= 1, negative barrier widths, ...).
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"label spec is a {type(spec).__name__}; use a mapping like "
            "{'name': 'direction', 'horizon': 5}"
        )
    name = spec.get("name")
    if not isinstance(name, str):
        raise ConfigError(
            f"label spec name={name!r} is invalid; set 'name' to one of "
            f"{', '.join(sorted(LABEL_CATALOGUE))}"
        )
    if name not in LABEL_CATALOGUE:
        raise ConfigError(
            f"Unknown label '{name}'{did_you_mean(name, LABEL_CATALOGUE)}; use one of "
            f"{', '.join(sorted(LABEL_CATALOGUE))}"
        )
    allowed = _defaults(name)
    for param, value in spec.items():
        if param == "name":
            continue
        if param not in allowed:
            raise ConfigError(
                f"Unknown parameter '{param}' for label '{name}'"
                f"{did_you_mean(str(param), allowed)}; use {', '.join(sorted(allowed))}"
            )
        _check_value(name, param, value)


def make_labels(bars: pd.DataFrame, spec: Mapping[str, Any]) -> Labels:
    """Compute the labels a spec names, e.g. ``{"name": "direction", "horizon": 5}``.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars (or a panel with a ``symbol`` column) indexed by a tz-aware UTC DatetimeIndex.
    spec : Mapping
        ``"name"`` plus keyword parameters, checked by :func:`validate_label_spec`.

    Returns
    -------
    Labels
    """
    validate_label_spec(spec)
    params = {key: value for key, value in spec.items() if key != "name"}
    return LABEL_CATALOGUE[spec["name"]](bars, **params)


def label_kind(spec: Mapping[str, Any]) -> str:
    """Return ``"classification"`` or ``"regression"`` for a (validated) label spec."""
    validate_label_spec(spec)
    return _META[spec["name"]].kind


def label_horizon(spec: Mapping[str, Any]) -> int:
    """Return the most bars from ``t0`` to ``t1`` a spec's labels can span."""
    validate_label_spec(spec)
    return int(spec.get("horizon", _defaults(spec["name"])["horizon"]))


def label_lookback(spec: Mapping[str, Any]) -> int:
    """Return the bars of history a symbol needs before its first labelled row.

    ``0`` for labels that use only bars ``t .. t+h``; ``vol_window`` for the triple barrier,
    whose ``sigma_t`` needs ``vol_window`` returns, i.e. closes ``t-vol_window .. t``.
    """
    validate_label_spec(spec)
    param = _META[spec["name"]].lookback_param
    if param is None:
        return 0
    return int(spec.get(param, _defaults(spec["name"])[param]))
