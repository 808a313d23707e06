"""The `--every` loop of `mltrainer tune`, end to end through the CLI, on a fake clock: two
scheduled runs, the second a new study warm-started from the first, the store's clock moved."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from mltrainer.cli import main
from mltrainer.store import open_store
from mltrainer.tuning import _schedule, load_study
from tests.tuning.conftest import noise_bars, synthetic_raw

WEEK = 7 * 86400.0


class FakeTime:
    """``time()`` and ``sleep()`` on a virtual clock: sleeping moves it, nothing waits."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_cli_every_runs_on_schedule_warm_starts_and_moves_last_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = synthetic_raw(
        tmp_path,
        noise_bars(300, seed=0),
        params={"n_estimators": 20, "max_depth": 3},
        n_trials=3,
        n_splits=3,
        seed=0,
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    clock = FakeTime(datetime.now().timestamp())
    monkeypatch.setattr(_schedule, "time", clock)  # the schedule's clock and sleep only

    assert main(["tune", str(path), "--every", "7d", "--max-runs", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("Study synthetic-xgboost-") == 2

    with open_store(raw["store"]["url"]) as store:
        history = store.range("tuning/synthetic/xgboost/history")
        last_run = store.get("tuning/synthetic/xgboost/last_run")
    assert len(history) == 2
    first, second = (record for _, record in history)
    # two scheduled runs, a week apart on the schedule's clock: one wait, of a week from
    # the first run's end (the clock stood still while it ran)
    assert len(clock.slept) == 1
    assert WEEK < clock.slept[0] < WEEK + 600
    assert first["study"] != second["study"]
    stamps = [
        datetime.strptime(r["study"].rsplit("-", 1)[1], "%Y%m%dT%H%M%SZ") for r in (first, second)
    ]
    assert (stamps[1] - stamps[0]).total_seconds() == pytest.approx(WEEK, abs=600)
    # the store's clock moved to the second run
    assert last_run["time"] == second["finished"]
    assert datetime.fromisoformat(second["finished"]) > datetime.fromisoformat(first["finished"])
    # the second study was warm-started: the fixed config, then the first study's best
    study = load_study(raw["tuning"]["storage"], second["study"])
    roles = [t.user_attrs.get("role") for t in study.get_trials()]
    assert roles[:2] == ["fixed", "previous_best"]
    warm = study.get_trials()[1].params
    assert warm == first["best_params"]


def test_schedule_refuses_a_bad_max_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = synthetic_raw(
        tmp_path, noise_bars(300, seed=0), params={}, n_trials=3, n_splits=3, seed=0
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["tune", str(path), "--every", "7d", "--max-runs", "0"]) == 2
    err = capsys.readouterr().err
    assert "max_runs: must be at least 1" in err
    assert "\n" not in err.strip()
