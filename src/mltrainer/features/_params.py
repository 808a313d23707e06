"""What the catalogue knows about each feature: its function, parameters, outputs, warm-up.

A :class:`FeatureDef` ties a catalogue function to the metadata that lets the spec be
validated, its output columns named and its warm-up counted without computing anything.
Parameter defaults are read from the function's keyword-only parameters, so the function
signature is the single source of truth.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import did_you_mean

__all__ = ["FeatureDef", "Param", "fields_param", "number_param", "window_param", "windows_param"]


@dataclass(frozen=True)
class Param:
    """How to check and normalise one parameter value.

    Attributes
    ----------
    problem : callable
        Returns ``None`` for a valid value, else the end of a one-line message
        (``"must be ..., got ..."``).
    normalise : callable
        Turns a valid value into its canonical form (e.g. a list of Python ints).
    """

    problem: Callable[[Any], str | None]
    normalise: Callable[[Any], Any]


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes)


def window_param(minimum: int) -> Param:
    """A single window length: an int ``>= minimum``."""

    def problem(value: Any) -> str | None:
        if _is_int(value) and value >= minimum:
            return None
        return f"must be an int >= {minimum}, got {value!r}"

    return Param(problem, int)


def windows_param(minimum: int) -> Param:
    """A non-empty list of distinct window lengths, each an int ``>= minimum``."""

    def problem(value: Any) -> str | None:
        ok = (
            _is_list(value)
            and len(value) > 0
            and all(_is_int(w) and w >= minimum for w in value)
            and len(set(map(int, value))) == len(value)
        )
        if ok:
            return None
        return f"must be a non-empty list of distinct ints >= {minimum}, got {value!r}"

    return Param(problem, lambda value: [int(w) for w in value])


def number_param(*, positive: bool = True) -> Param:
    """A finite real number (strictly positive by default)."""

    def problem(value: Any) -> str | None:
        real = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_
        )
        if real and math.isfinite(value) and (value > 0 or not positive):
            return None
        return f"must be a finite {'positive ' if positive else ''}number, got {value!r}"

    return Param(problem, float)


def fields_param(choices: Sequence[str]) -> Param:
    """A non-empty list of distinct names taken from ``choices``."""

    def problem(value: Any) -> str | None:
        if not _is_list(value) or len(value) == 0:
            return f"must be a non-empty list of names from {list(choices)}, got {value!r}"
        for item in value:
            if item not in choices:
                hint = did_you_mean(item, choices) if isinstance(item, str) else ""
                return f"has unknown name {item!r}{hint}; valid names: {list(choices)}"
        if len(set(value)) != len(value):
            return f"must not repeat a name, got {value!r}"
        return None

    return Param(problem, lambda value: [str(v) for v in value])


@dataclass(frozen=True)
class FeatureDef:
    """One catalogue entry.

    Attributes
    ----------
    name : str
        Name used in the spec (``{"name": ...}``).
    func : callable
        ``func(bars, **params) -> DataFrame`` on the bars of one instrument.
    params : Mapping[str, Param]
        Checks for every keyword-only parameter of ``func``.
    columns : callable
        ``columns(params) -> list[str]``, the output names for normalised params.
    lookback : callable
        ``lookback(params) -> int``, the number of leading rows that may be NaN on clean
        bars (the first complete row is at position ``lookback``).
    inputs : tuple of str
        Bar columns the feature reads.
    relation : callable, optional
        Check across parameters (e.g. ``fast < slow``): ``None`` or the problem.
    """

    name: str
    func: Callable[..., pd.DataFrame]
    params: Mapping[str, Param]
    columns: Callable[[Mapping[str, Any]], list[str]]
    lookback: Callable[[Mapping[str, Any]], int]
    inputs: tuple[str, ...]
    relation: Callable[[Mapping[str, Any]], str | None] | None = field(default=None)

    @property
    def defaults(self) -> dict[str, Any]:
        """Keyword-only parameters of ``func`` and their default values."""
        signature = inspect.signature(self.func)
        return {
            name: p.default
            for name, p in signature.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
