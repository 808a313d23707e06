"""Global options (--root, --store, --set, --debug) work in any position for every command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrainer.cli import _parser, main
from mltrainer.cli._options import merge_global_options, split_global_options
from mltrainer.exceptions import NotFoundError
from tests.cli.conftest import NAME


def _parse(argv: list[str]) -> argparse.Namespace:
    found, rest = split_global_options(argv)
    args = _parser().parse_args(rest)
    merge_global_options(args, found)
    return args


def _leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command of the tree: (its words, its parser)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
        return
    for group in groups:
        for name, child in group.choices.items():
            yield from _leaf_commands(child, (*path, name))


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """Values for the positionals and required options of a command."""
    words: list[str] = []
    for action in parser._actions:
        if not action.option_strings and action.nargs not in ("?", "*"):
            words.append("x")
        elif action.option_strings and action.required:
            words += [action.option_strings[0], "x"]
    return words


COMMANDS = list(_leaf_commands(_parser()))


def test_the_command_tree_is_walked() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"train", "predict", "models list", "monitor", "history", "tune"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_takes_global_options_anywhere(path: tuple[str, ...]) -> None:
    parser = dict(COMMANDS)[path]
    words, tail = list(path), _required(parser)
    glob = ["--root", "r", "--store", "redis://h/0", "--set", "a=1", "--debug"]
    placements = [
        glob + words + tail,  # before the command
        words[:1] + glob + words[1:] + tail,  # between the command words
        words + tail + glob,  # at the end
        words + glob[:4] + tail + glob[4:],  # split around the arguments
    ]
    for argv in placements:
        args = _parse(argv)
        assert (args.root, args.store, args.set, args.debug) == ("r", "redis://h/0", ["a=1"], True)
    # --set given in several places keeps every value, in order
    args = _parse(["--set", "a=1", *words, "--set", "b=2", *tail, "--set", "c=3"])
    assert args.set == ["a=1", "b=2", "c=3"]
    defaults = _parse(words + tail)
    assert (defaults.root, defaults.store, defaults.set, defaults.debug) == (
        None,
        None,
        None,
        False,
    )


def test_root_means_the_same_in_every_position(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "elsewhere"
    (trained / "models").rename(moved)
    outputs = []
    for argv in (
        ["--root", str(moved), "models", "list"],
        ["models", "--root", str(moved), "list"],
        ["models", "list", "--root", str(moved)],
        ["models", "list", "--set", f"registry.root={moved}"],
    ):
        assert main(argv) == 0
        outputs.append(capsys.readouterr().out)
    assert all(NAME in out for out in outputs)
    assert len(set(outputs)) == 1
    for argv in (
        ["--root", str(moved), "predict", NAME, "--data", "sp500", "--out", "p.csv"],
        ["predict", "--root", str(moved), NAME, "--data", "sp500", "--out", "p.csv"],
        ["--root", str(moved), "importance", NAME],
        ["models", "show", NAME, "--root", str(moved)],
    ):
        assert main(argv) == 0, argv
    capsys.readouterr()
    with pytest.raises(NotFoundError):  # --debug after the command shows the error itself
        main(["models", "show", NAME, "--debug"])  # models/ was moved away
