"""The README's tour runs as written: every `mltrainer` line of each block marked as the tour.

A tour block is a fenced code block whose previous line is an HTML comment starting with
``<!-- tour``. Later features add their commands to it (or add another marked block); this
test runs them all, in order, in one fresh folder, as a new user would on a fresh clone.
"""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path

import pytest

from mltrainer.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

#: Options whose value is a file the command must have written.
_OUTPUT_OPTIONS = ("--out", "--report", "--plot")


def tour_commands(text: str) -> list[list[str]]:
    """The argument lists of the ``mltrainer`` commands in the README's tour blocks.

    Lines ending in a backslash continue on the next line; ``#`` starts a comment.
    """
    commands: list[list[str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not (line.startswith("```") and i > 0 and lines[i - 1].startswith("<!-- tour")):
            continue
        body: list[str] = []
        for inner in lines[i + 1 :]:
            if inner.startswith("```"):
                break
            body.append(inner)
        joined = "\n".join(body).replace("\\\n", " ")
        for command in joined.splitlines():
            words = shlex.split(command, comments=True)
            if words and words[0] == "mltrainer":
                commands.append(words[1:])
    return commands


def test_tour_extraction_reads_marked_blocks_only() -> None:
    text = (
        "```bash\nmltrainer not-the-tour\n```\n"
        "<!-- tour -->\n```bash\n# a comment\nmltrainer train --set a=1  # trains\n"
        "mltrainer predict m \\\n  --data x\necho ignored\n```\n"
    )
    assert tour_commands(text) == [["train", "--set", "a=1"], ["predict", "m", "--data", "x"]]


@pytest.mark.slow
def test_readme_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands = tour_commands(README.read_text(encoding="utf-8"))
    verbs = {words[0] for words in commands}
    expected = {"train", "predict", "monitor", "importance", "tune", "explain", "decisions"}
    assert expected | {"stream", "augment"} <= verbs, verbs
    monkeypatch.chdir(tmp_path)  # a fresh folder: registry, store and outputs land here
    for words in commands:
        assert main(words) == 0, f"mltrainer {shlex.join(words)} failed"
        for option, value in itertools.pairwise(words):
            if option in _OUTPUT_OPTIONS:
                assert (tmp_path / value).is_file(), f"mltrainer {shlex.join(words)}: no {value}"
