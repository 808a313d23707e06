"""`monitor` says where the bars went and checks --report first; `history` tells an unknown
model (exit 2) from a model without points, and says "in that range" only for a range."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mltrainer.cli import main
from tests.cli.conftest import NAME


def test_monitor_says_how_many_bars_went_to_warm_up_and_training(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", NAME, "--data", "sp500", "--report", "out/report.html"]) == 0
    out = capsys.readouterr().out
    found = re.search(
        r"Monitored (\d+) of (\d+) bars: (\d+) went to the features' warm-up, (\d+) are at or"
        r" before the training data \(last label end 2017-12-29",
        out,
    )
    assert found, out
    n_rows, n_bars, n_warmup, n_training = map(int, found.groups())
    assert n_warmup > 0
    assert n_training > 0
    assert n_rows + n_warmup + n_training == n_bars == 5031
    assert Path("out/report.html").is_file()


def test_monitor_checks_the_report_path_before_loading(
    trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def loaded(*args: object, **kwargs: object) -> None:
        raise AssertionError("bars loaded before --report was checked")

    monkeypatch.setattr("mltrainer.pipeline._predict.load_bars", loaded)
    Path("taken").write_text("a file", encoding="utf-8")
    assert main(["monitor", NAME, "--data", "sp500", "--report", "taken/r.html"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --report 'taken/r.html': 'taken' is a file, not a folder")
    assert len(err.splitlines()) == 1


def test_history_of_an_unknown_model_exits_2(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no model named 'nosuch'")
    assert f"models: ['{NAME}']" in err
    assert main(["history", "sp500-directon"]) == 2
    assert f"did you mean '{NAME}'" in capsys.readouterr().err


def test_history_without_points_says_so(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", NAME]) == 0  # a registered model never monitored
    out = capsys.readouterr().out
    assert f"no history of {NAME} yet" in out
    assert "in that range" not in out
    assert main(["monitor", NAME, "--data", "sp500", "--timestamp", "2019-01-02"]) == 0
    capsys.readouterr()
    assert main(["history", NAME, "--start", "2030-01-01"]) == 0
    assert f"no points of {NAME} from 2030-01-01" in capsys.readouterr().out
    assert main(["history", NAME, "--metric", "roc_auc", "--end", "2018-06-01"]) == 0
    assert f"no points of roc_auc of {NAME} to 2018-06-01" in capsys.readouterr().out
    assert main(["history", NAME]) == 0
    assert "History of" in capsys.readouterr().out
