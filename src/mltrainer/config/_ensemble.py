"""The ensemble settings of the ``model`` section (``model.type: ensemble``).

::

    model:
      type: ensemble
      combine: stack            # average | vote_soft | vote_hard | stack | regime
      members:
        - {name: xgb, type: xgboost, params: {max_depth: 4}}
        - {name: logit, type: logistic}
      meta: {type: logistic}    # stack only
      regime: {method: volatility, n_regimes: 3, min_dwell: 5, fallback: xgb}  # regime only

What needs no data is checked here (names, combine, which section goes with which
combine); member types, tasks and columns are checked by the training plan before any data
is loaded or model fitted.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mltrainer.exceptions import did_you_mean

__all__ = [
    "COMBINE_METHODS",
    "ENSEMBLE_TYPE",
    "MemberConfig",
    "MetaConfig",
    "RegimeConfig",
    "check_ensemble_settings",
]

#: The ``model.type`` that makes the model an ensemble.
ENSEMBLE_TYPE = "ensemble"
#: ``model.combine`` values.
COMBINE_METHODS = ("average", "vote_soft", "vote_hard", "stack", "regime")
_MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(_[A-Za-z0-9-]+)*")
_RESERVED = ("meta", "fallback", "ensemble", "average", "split")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_keys(value: Any, fields: dict[str, Any], where: str) -> Any:
    if isinstance(value, dict):
        for key in value:
            if key not in fields:
                raise ValueError(
                    f"unknown key '{key}' in {where}{did_you_mean(str(key), fields)};"
                    f" valid keys: {', '.join(fields)}"
                )
    return value


class MemberConfig(_Section):
    """One member: its name (used as the parameter prefix ``<name>__<param>`` and in the
    registry's file names), a catalogue model type, overrides of its default params, and
    its weight in ``average`` / ``vote_*`` (normalised over the members)."""

    name: str
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    weight: float = 1.0

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _known_keys(value, cls.model_fields, "a member of model.members")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _MEMBER_NAME.fullmatch(value) or "__" in value:
            raise ValueError(
                f"member name '{value}' must be letters, digits, '-' or single '_' "
                "(no '__': it separates the member from its parameter, xgb__max_depth)"
            )
        if value in _RESERVED:
            raise ValueError(f"member name '{value}' is reserved; choose another name")
        return value

    @field_validator("type")
    @classmethod
    def _not_nested(cls, value: str) -> str:
        if value == ENSEMBLE_TYPE:
            raise ValueError("a member cannot itself be an ensemble; list its members instead")
        return value

    @field_validator("weight")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if not value >= 0:
            raise ValueError(f"weight must be a non-negative number, got {value}")
        return value


class MetaConfig(_Section):
    """The stack's meta model: ``weights`` (non-negative, summing to 1, the default),
    ``logistic`` (classification) or ``ridge`` (regression); ``params`` go to the scikit-
    learn model (``C``, ``alpha``); ``passthrough`` also feeds it the raw features;
    ``n_splits`` sets the inner purged folds of each training fold (default: as ``cv``)."""

    type: Literal["weights", "logistic", "ridge"] = "weights"
    params: dict[str, Any] = Field(default_factory=dict)
    passthrough: bool = False
    n_splits: int | None = None

    @field_validator("n_splits")
    @classmethod
    def _two_splits(cls, value: int | None) -> int | None:
        if value is not None and value < 2:
            raise ValueError(f"must be at least 2, got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MetaConfig:
        if self.type == "weights" and (self.passthrough or self.params):
            raise ValueError(
                "the weights meta model takes no params or passthrough; use type logistic "
                "(classification) or ridge (regression) for those"
            )
        return self


class RegimeConfig(_Section):
    """Causal regime switching: the regime ``method`` (``volatility`` quantiles of one
    column, ``gmm`` on one or more columns, ``markov`` filtered probabilities of one
    column), the ``features`` it reads (columns of the dataset; default: ``volatility_20``
    for volatility, ``log_return_1`` for markov, both for gmm), ``n_regimes``,
    ``min_dwell`` rows of hysteresis, ``soft`` mixing by regime probabilities (gmm,
    markov), ``fallback`` (the member used in regimes with fewer than ``min_rows``
    training rows; default the first member)."""

    method: Literal["volatility", "gmm", "markov"] = "volatility"
    features: list[str] | None = None
    n_regimes: int = 2
    min_dwell: int = 1
    soft: bool = False
    fallback: str | None = None
    min_rows: int = 50

    @field_validator("n_regimes")
    @classmethod
    def _regimes(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"must be at least 2 (one regime is a single model), got {value}")
        return value

    @field_validator("min_dwell", "min_rows")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RegimeConfig:
        if self.features is not None:
            if not self.features or len(set(self.features)) != len(self.features):
                raise ValueError("features must list distinct column names")
            if self.method != "gmm" and len(self.features) != 1:
                raise ValueError(
                    f"method {self.method} reads exactly one column; got features "
                    f"{self.features} (use method gmm for several)"
                )
        if self.soft and self.method == "volatility":
            raise ValueError(
                "soft: true mixes by regime probabilities, which volatility quantiles do not "
                "have; use method gmm or markov, or soft: false"
            )
        if self.soft and self.min_dwell > 1:
            raise ValueError(
                "min_dwell applies to switching; with soft: true the regimes are mixed, so "
                "set min_dwell: 1 or soft: false"
            )
        return self

    def columns(self) -> list[str]:
        """The columns the regime rule reads (the configured ones or the method's default)."""
        if self.features is not None:
            return list(self.features)
        return {
            "volatility": ["volatility_20"],
            "markov": ["log_return_1"],
            "gmm": ["log_return_1", "volatility_20"],
        }[self.method]


def check_ensemble_settings(
    model_type: str,
    combine: str | None,
    members: list[MemberConfig] | None,
    meta: MetaConfig | None,
    regime: RegimeConfig | None,
    params: dict[str, Any] | None = None,
) -> None:
    """Refuse ensemble settings that do not fit together (one line naming the setting).

    Raises
    ------
    ValueError
        For ensemble settings on a plain model type, an unknown ``combine``, no members,
        repeated member names, ``meta`` without ``combine: stack``, ``regime`` without
        ``combine: regime``, a ``fallback`` that names no member, or a ``params`` key that
        is not ``<member>__<param>``.
    """
    ensemble = {"combine": combine, "members": members, "meta": meta, "regime": regime}
    if model_type != ENSEMBLE_TYPE:
        given = [key for key, value in ensemble.items() if value is not None]
        if given:
            raise ValueError(
                f"{given[0]} is an ensemble setting, but type is '{model_type}';"
                f" set type: {ENSEMBLE_TYPE} or remove {given[0]}"
            )
        return
    if combine is None or combine not in COMBINE_METHODS:
        hint = did_you_mean(str(combine), COMBINE_METHODS) if combine else ""
        raise ValueError(
            f"combine {combine!r}{hint} is not one of {', '.join(COMBINE_METHODS)}"
            " (an ensemble must say how it combines its members)"
        )
    if not members:
        raise ValueError("members is empty: list at least one {name, type, params} member")
    names = [member.name for member in members]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"members repeats the name(s) {repeated}; each name must differ")
    if meta is not None and combine != "stack":
        raise ValueError(
            f"meta is the stack's meta model, but combine is '{combine}';"
            " remove meta or use combine: stack"
        )
    if regime is not None and combine != "regime":
        raise ValueError(
            f"regime configures regime switching, but combine is '{combine}';"
            " remove regime or use combine: regime"
        )
    fallback = regime.fallback if regime is not None else None
    if fallback is not None and fallback not in names:
        raise ValueError(
            f"regime.fallback '{fallback}' is not a member"
            f"{did_you_mean(fallback, names)}; members: {', '.join(names)}"
        )
    if combine in ("stack", "regime") and any(member.weight != 1.0 for member in members):
        raise ValueError(
            f"members[].weight is for average and vote_*; combine: {combine} fits its"
            " own weights, so remove the weights"
        )
    for key in params or {}:
        member, sep, rest = str(key).partition("__")
        if not sep or not rest or member not in names:
            raise ValueError(
                f"params key '{key}' of an ensemble must be <member>__<param> with a member of"
                f" {names}, e.g. '{names[0]}__max_depth' (or set members[].params)"
            )
