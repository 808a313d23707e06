"""Which composer explains which composite kind (``Composite.composite_kind``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mltrainer.exceptions import ConfigError
from mltrainer.explain._compose import Composer, compose_averaging
from mltrainer.explain._compose_kinds import compose_calibrated, compose_regime, compose_stacking

__all__ = ["COMPOSERS", "composable", "composer_for"]

#: The composer of each composite kind: exactly these. A new kind adds its composer here,
#: or defines ``compose_explanation(frame, members, *, space)`` on its class (see
#: :func:`composer_for`). Voting composites have none: a hard vote is not additive.
COMPOSERS: Mapping[str, Composer] = MappingProxyType(
    {
        "averaging": compose_averaging,
        "stacking": compose_stacking,
        "regime": compose_regime,
        "calibrated": compose_calibrated,
    }
)


def composer_for(composite: Any) -> Composer:
    """The composer of ``composite``: its own ``compose_explanation`` or its kind's entry.

    Raises
    ------
    ConfigError
        When neither exists (naming the kinds that can be explained).
    """
    own = getattr(composite, "compose_explanation", None)
    if callable(own):
        return lambda _composite, frame, members, *, space=None: own(frame, members, space=space)
    kind = getattr(composite, "composite_kind", None)
    composer = COMPOSERS.get(str(kind))
    if composer is None:
        raise ConfigError(
            f"composite kind {kind!r} ({type(composite).__name__}) has no explanation "
            f"composer; explainable kinds: {', '.join(COMPOSERS)} (or define "
            "compose_explanation(frame, members, *, space) on the class)"
        )
    return composer


def composable(composite: Any) -> bool:
    """Whether ``composite``'s explanation can be composed exactly from its members'.

    False for a kind without a composer (hard voting), a stack with a non-linear meta
    model or a multi-class logistic one: those are explained like any other model.
    """
    try:
        composer_for(composite)
    except ConfigError:
        return False
    if getattr(composite, "composite_kind", None) != "stacking":
        return True
    try:
        composite.linear_combination()
    except ConfigError:
        return False
    return not (composite.meta_["type"] == "logistic" and len(composite.classes_) > 2)
