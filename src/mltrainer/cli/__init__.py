"""``mltrainer`` commands: parse, call the Python API, print. Errors are one line, exit 2.

Each command group lives in its own module with a ``register(subparsers)`` function, listed
in ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from rich.text import Text

from mltrainer.cli._output import EXIT_ERROR, console
from mltrainer.exceptions import MltrainerError

__all__ = ["main"]

_COMMAND_MODULES = (
    "mltrainer.cli._train",
    "mltrainer.cli._models",
    "mltrainer.cli._tune",
    "mltrainer.cli._monitor",
    "mltrainer.cli._importance",
    "mltrainer.cli._explain",
)


def _parser() -> argparse.ArgumentParser:
    from mltrainer import __version__

    parser = argparse.ArgumentParser(
        prog="mltrainer",
        description="Train, validate and version trading models on market bars.",
    )
    parser.add_argument("--version", action="version", version=f"mltrainer {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mltrainer`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except MltrainerError as exc:
        if args.debug:
            raise
        console(stderr=True).print(Text.assemble(("error: ", "red"), str(exc)))
        return EXIT_ERROR
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
