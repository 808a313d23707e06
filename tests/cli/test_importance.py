"""`importance` of a model trained without selection says it is in-sample gain, no std."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrainer.cli import main
from tests.cli.conftest import NAME


def test_importance_without_selection_is_labelled_in_sample(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["importance", NAME]) == 0
    out = capsys.readouterr().out
    assert "gain (in-sample, from the saved model)" in out
    assert "not out-of-fold importance" in out
    assert "selection.method=permutation" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 22
    assert all("│ n/a │" in row for row in rows)  # no std of 0 for a single fit
    assert "0.0000 │" not in out


def test_importance_checks_the_plot_path_first(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("taken").write_text("a file", encoding="utf-8")
    for plot, message in (
        ("taken/plot.html", "'taken' is a file, not a folder"),
        ("plot.svg", "use a .html or .png file name"),
    ):
        assert main(["importance", NAME, "--plot", plot]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err
        assert len(err.splitlines()) == 1
    assert main(["importance", NAME, "--plot", "plots/imp.html"]) == 0
    assert Path("plots/imp.html").is_file()
