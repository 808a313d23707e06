"""`mltrainer stream`: replay prints prequential scores and saves refits with lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mltrainer.cli import main
from mltrainer.config import config_from_dict
from mltrainer.pipeline import Trainer
from mltrainer.registry import ModelRegistry
from mltrainer.store import open_store, stream_status_key

from .conftest import LABEL, SPEC, regime_bars


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli-stream")
    bars = regime_bars(1100, 700, phi=0.8, seed=4)
    bars.reset_index().to_csv(tmp / "bars.csv", index=False)
    config = config_from_dict(
        {
            "name": "regime",
            "data": {"source": str(tmp / "bars.csv"), "end": str(bars.index[899].date())},
            "features": SPEC,
            "label": LABEL,
            "model": {"type": "sgd"},
            "cv": {"n_splits": 3},
            "registry": {"root": str(tmp / "models")},
            "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
        }
    )
    Trainer(config).run()
    return tmp


def test_replay_prints_scores_and_saves_a_refit_with_lineage(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = trained / "stream.html"
    argv = [
        "stream", "regime", "--replay", str(trained / "bars.csv"), "--from", "2012-07-01",
        "--updater", "none", "--root", str(trained / "models"),
        "--store", f"sqlite:///{trained / 'store.db'}", "--report", str(report),
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Prequential scores of regime.replay" in out
    assert "log_loss" in out
    assert "accuracy" in out
    assert "saved regime version 2, lineage [1]" in out
    assert "refit at" in out
    assert report.read_text().startswith("<!doctype html>")
    meta = ModelRegistry(trained / "models").metadata("regime", 2)
    assert meta["parent"] == 1
    assert "drift detected" in meta["online"]["reason"]
    with open_store(f"sqlite:///{trained / 'store.db'}") as store:
        status = store.get(stream_status_key("regime.replay"))
    assert status["state"] == "stopped"
    assert status["counters"]["swaps"] >= 1
    json.dumps(status)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stream", "nope", "--replay", "sp500", "--from", "2015-01-01"], "no model named 'nope'"),
        (["stream", "regime"], "give one of --replay SOURCE"),
        (["stream", "regime", "--source", "redis://127.0.0.1:1/0"], "--source needs --stream"),
        (["stream", "regime", "--replay", "sp500"], "--replay needs --from DATE"),
        (["stream", "regime", "--replay", "sp500", "--from", "2030-01-01"], "no bar to replay"),
        (
            ["stream", "regime", "--replay", "sp500", "--from", "2015-01-01", "--update", "often"],
            "update='often' is invalid",
        ),
    ],
)
def test_errors_are_one_line_with_exit_2(
    trained: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(
        [*argv, "--root", str(trained / "models"), "--store", f"sqlite:///{trained / 's.db'}"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.strip().count("\n") == 0


def test_a_missing_redis_stream_is_one_line(
    trained: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "stream", "regime", "--source", redis_url, "--stream", "bars:absent", "--group", "g",
        "--root", str(trained / "models"), "--store", f"sqlite:///{trained / 's.db'}",
    ]  # fmt: skip
    assert main(argv) == 2
    assert "stream 'bars:absent' does not exist" in capsys.readouterr().err
