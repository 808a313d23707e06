"""Console output shared by the commands."""

from __future__ import annotations

from typing import Any

from rich.console import Console

__all__ = ["EXIT_ERROR", "console", "fmt"]

EXIT_ERROR = 2


def console(stderr: bool = False) -> Console:
    """A rich console; pipes and files get a width that fits the score tables."""
    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = max(out.width, 140)
    return out


def fmt(value: Any) -> str:
    """Four decimals for floats, ``str`` for the rest."""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
