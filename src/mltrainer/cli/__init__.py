"""``mltrainer`` commands: parse, call the Python API, print. Errors are one line, exit 2.

Each command group lives in its own module with a ``register(subparsers)`` function, listed
in ``_COMMAND_MODULES``. Every parser is a :class:`~mltrainer.cli._options.CommandParser`:
the global options (``--root``, ``--store``, ``--set``, ``--debug``) work in any position
for every command, with nothing to add in the module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from rich.text import Text

from mltrainer.cli._options import CommandParser, merge_global_options, split_global_options
from mltrainer.cli._output import EXIT_ERROR, console
from mltrainer.exceptions import MltrainerError

__all__ = ["main"]

_COMMAND_MODULES = (
    "mltrainer.cli._train",
    "mltrainer.cli._models",
    "mltrainer.cli._tune",
    "mltrainer.cli._monitor",
    "mltrainer.cli._importance",
    "mltrainer.cli._augment",
    "mltrainer.cli._serve",
    "mltrainer.cli._stream",
    "mltrainer.cli._explain",
)


def _parser() -> argparse.ArgumentParser:
    from mltrainer import __version__

    parser = CommandParser(
        prog="mltrainer",
        description="Train, validate and version trading models on market bars.",
    )
    parser.add_argument("--version", action="version", version=f"mltrainer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mltrainer`` console script."""
    found, rest = split_global_options(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(rest)
    merge_global_options(args, found)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except MltrainerError as exc:
        if args.debug:
            raise
        console(stderr=True).print(Text.assemble(("error: ", "red"), _one_line(exc)))
        return EXIT_ERROR
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted")
        return 130


def _one_line(exc: BaseException) -> str:
    """The error's message on one line (a message never spans lines on the console)."""
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
