"""The global options, accepted in any position by every command, and the config they make.

``--root``, ``--store``, ``--set`` and ``--debug`` are taken out of the command line by a
pre-parser wherever they appear (before or after the command, between its arguments), so
``mltrainer --root r models list`` and ``mltrainer models list --root r`` mean the same.
Every parser of the command tree is a :class:`CommandParser`, which lists them in its help
and accepts them, so a command added by any module gets them without asking.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "GLOBAL_DEFAULTS",
    "CommandParser",
    "cli_config",
    "merge_global_options",
    "split_global_options",
]

#: Values of the global options when not given (``root``/``store`` then come from the config).
GLOBAL_DEFAULTS: dict[str, Any] = {"root": None, "store": None, "set": None, "debug": False}

_GROUP_TITLE = "global options (any position)"


def _add_global_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    group = parser.add_argument_group(_GROUP_TITLE)
    group.add_argument(
        "--root", metavar="DIR", default=default, help="registry folder (registry.root)"
    )
    group.add_argument(
        "--store", metavar="URL", default=default, help="store URL (store.url), e.g. redis://h/0"
    )
    group.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=default,
        help="override a config value, e.g. --set cv.n_splits=3 (repeatable)",
    )
    group.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks on errors"
    )


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose every sub-command, at any depth, lists the global options.

    Sub-parsers made by :meth:`add_subparsers` are of this class too (argparse's default),
    so a module registering a command gets the options without doing anything; a module
    that defines one of them itself keeps its own definition (``conflict_handler`` resolve).
    The values themselves are read by :func:`split_global_options` before parsing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(*args, **kwargs)
        _add_global_options(self, default=argparse.SUPPRESS)


def _pre_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mltrainer", add_help=False, allow_abbrev=False)
    _add_global_options(parser, default=None)
    return parser


def split_global_options(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Take the global options out of ``argv`` wherever they are.

    Returns
    -------
    (dict, list of str)
        ``root``, ``store``, ``set`` (a list or None) and ``debug``, and the remaining
        arguments in their order (anything after ``--`` is left alone).
    """
    argv = list(argv)
    tail: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, tail = argv[:cut], argv[cut:]
    known, rest = _pre_parser().parse_known_args(argv)
    return vars(known), [*rest, *tail]


def merge_global_options(args: argparse.Namespace, found: dict[str, Any]) -> None:
    """Set the global options on the parsed ``args``: those found first, then the parsers'."""
    for key, default in GLOBAL_DEFAULTS.items():
        parsed = getattr(args, key, None)
        value = found.get(key)
        if key == "set":
            value = [*(value or []), *(parsed or [])] or None
        elif key == "debug":
            value = bool(value or parsed)
        elif value is None:
            value = parsed if parsed is not None else default
        setattr(args, key, value)


def cli_config(args: argparse.Namespace, path: Any = None) -> Any:
    """The run's :class:`~mltrainer.config.Config`: ``path`` (YAML) or the defaults, then
    ``--set`` overrides, then ``--root`` (``registry.root``) and ``--store`` (``store.url``).
    """
    from mltrainer.config import load_config

    overrides = list(getattr(args, "set", None) or [])
    root, store = getattr(args, "root", None), getattr(args, "store", None)
    if root is not None:  # JSON text is a quoted YAML scalar: the path is kept verbatim
        overrides.append(f"registry.root={json.dumps(str(root))}")
    if store is not None:
        overrides.append(f"store.url={json.dumps(str(store))}")
    return load_config(path, overrides=overrides)
