"""The CLI: train, inspect, promote, predict; errors are one line with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mltrainer.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


FAST = [
    "--set",
    "data.start=2013-01-01",
    "--set",
    "model.params.n_estimators=30",
    "--set",
    "cv.n_splits=3",
    "--quiet",
]


def test_train_list_show_promote_predict(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *FAST]) == 0
    out = capsys.readouterr().out
    assert "Out-of-sample scores per fold" in out
    assert "roc_auc" in out
    assert "mean" in out
    assert "Saved sp500-direction version 1 to models/sp500-direction/1" in out
    assert (workdir / "mltrainer.db").is_file()

    assert main(["train", *FAST]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "sp500-direction" in listing
    assert "2" in listing

    assert main(["models", "show", "sp500-direction", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["version"] == 2
    assert len(meta["scores"]["folds"]) == 3

    assert main(["models", "promote", "sp500-direction", "1"]) == 0
    assert main(["models", "promote", "sp500-direction", "2"]) == 0
    assert main(["models", "rollback", "sp500-direction"]) == 0
    assert "rolled back to version 1" in capsys.readouterr().out

    bars = workdir / "recent.csv"
    from mltrainer import load_bars

    load_bars("sp500", start="2018-06-01").reset_index().to_csv(bars, index=False)
    out_file = workdir / "pred.csv"
    assert (
        main(
            [
                "predict",
                "sp500-direction",
                "--data",
                str(bars),
                "--out",
                str(out_file),
                "--version",
                "production",
            ]
        )
        == 0
    )
    predictions = pd.read_csv(out_file)
    assert {"timestamp", "prediction", "proba_1"} <= set(predictions.columns)
    assert len(predictions) > 50


def test_config_error_is_one_line_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workdir / "bad.yaml"
    config.write_text("cv: {n_split: 5}\n", encoding="utf-8")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "n_split" in err
    assert "did you mean 'n_splits'?" in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_debug_shows_traceback(workdir: Path) -> None:
    from mltrainer.exceptions import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "train", "--set", "cv.n_split=5"])


def test_config_show_and_datasets(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--set", "cv.n_splits=7"]) == 0
    shown = capsys.readouterr().out
    assert "n_splits: 7" in shown
    assert "source: sp500" in shown
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "sp500" in listing
    assert "nasdaq" in listing


def test_unknown_model_suggests(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.linear_model import Ridge

    from mltrainer.registry import ModelRegistry

    model = Ridge().fit([[0.0], [1.0]], [0.0, 1.0])
    ModelRegistry(workdir / "models").save("sp500-direction", model, feature_names=["x"])
    assert main(["models", "show", "sp500-directon"]) == 2
    err = capsys.readouterr().err
    assert "sp500-directon" in err
    assert "did you mean 'sp500-direction'" in err


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mltrainer.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "train" in done.stdout
    assert "predict" in done.stdout
