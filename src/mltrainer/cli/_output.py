"""Console output shared by the commands: the console and how numbers and values print."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from rich.console import Console

__all__ = ["EXIT_ERROR", "console", "fmt", "fmt_mapping", "plain"]

EXIT_ERROR = 2

# Numbers of at least this size (and below _LARGE) print with four decimals; others with
# four significant digits in scientific notation, so -2.56e-05 never prints as -0.0000.
_SMALL = 1e-3
_LARGE = 1e6


def console(stderr: bool = False) -> Console:
    """A rich console; pipes and files get a width that fits the score tables."""
    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = max(out.width, 140)
    return out


def fmt(value: Any) -> str:
    """A number for a table: four decimals, or scientific notation for very small or
    large magnitudes; integers (and integral floats of labels) as integers; ``str`` else.

    Examples
    --------
    >>> [fmt(v) for v in (0.50680203, -2.56e-05, 0.0, 12345678.9, 3, float("nan"))]
    ['0.5068', '-2.560e-05', '0.0000', '1.235e+07', '3', 'NaN']
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        if number == 0.0 or _SMALL <= abs(number) < _LARGE:
            return f"{number:.4f}"
        return f"{number:.3e}"
    return str(value)


def plain(value: Any) -> str:
    """A metadata value as a reader writes it: ``[0, 1]`` for integral floats, ``5`` for
    the text ``'5'`` of a number, mappings as ``key=value`` pairs, no Python quotes.

    Examples
    --------
    >>> plain({"classes": [0.0, 1.0], "embargo": "5", "gap": None, "name": "direction"})
    'classes=[0, 1], embargo=5, gap=none, name=direction'
    """
    if isinstance(value, Mapping):
        return fmt_mapping(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return fmt(value)
    return str(value)


def fmt_mapping(values: Mapping[str, Any], *, first: str | None = None) -> str:
    """``key=value`` pairs (``first`` leading, the rest in their order) on one line."""
    keys = list(values)
    if first is not None and first in values:
        keys.remove(first)
        keys.insert(0, first)
    return ", ".join(f"{key}={plain(values[key])}" for key in keys)
