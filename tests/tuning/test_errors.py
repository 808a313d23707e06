"""Every user-facing failure of tuning is one MltrainerError line; bad settings and data stop a
study at once instead of failing every trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from mltrainer.cli import main
from mltrainer.config._tuning import parse_interval
from mltrainer.exceptions import ConfigError, DataError, MltrainerError
from mltrainer.monitor import ADWINDetector, PageHinkleyDetector
from mltrainer.tuning import Objective, default_study_name, load_study, tune
from tests.tuning.test_tuning import tuning_config


@pytest.mark.parametrize("bogus", ["bogus", "-3d", 0])
def test_parse_interval_raises_a_config_error(bogus: Any) -> None:
    with pytest.raises(ConfigError, match="interval"):
        parse_interval(bogus)


def test_tune_every_bogus_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tune", "--every", "bogus", "--set", f"store.url=sqlite:///{tmp_path}/s.db"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'bogus' is not an interval" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("detector", [ADWINDetector, PageHinkleyDetector])
def test_detectors_refuse_nan_with_a_data_error(detector: type) -> None:
    with pytest.raises(DataError, match="cannot take NaN"):
        detector().update(float("nan"))
    with pytest.raises(MltrainerError):
        detector().update_many([0.1, float("nan")])


def test_a_data_error_stops_the_study_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def broken(self: Objective, params: dict[str, Any], trial: Any = None) -> Any:
        calls.append(1)
        raise DataError("feature 'x' is all NaN in this window")

    monkeypatch.setattr(Objective, "evaluate", broken)
    config = tuning_config(tmp_path, n_trials=5, pruner="none")
    with pytest.raises(DataError, match="all NaN"):
        tune(config)
    assert len(calls) == 1  # not once per trial
    study = load_study(config.tuning.storage, default_study_name(config))
    assert [t.state for t in study.trials if t.state != TrialState.WAITING] == [TrialState.FAIL]


def test_a_model_failure_fails_only_that_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Objective.evaluate
    seen: list[int] = []

    def flaky(self: Objective, params: dict[str, Any], trial: Any = None) -> Any:
        seen.append(1)
        if trial is not None and trial.number == 1:
            raise ValueError("Input contains infinity")  # e.g. a diverging fit
        return real(self, params, trial)

    monkeypatch.setattr(Objective, "evaluate", flaky)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    config = tuning_config(tmp_path, n_trials=3, pruner="none")
    result = tune(config)
    study = load_study(config.tuning.storage, default_study_name(config))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAIL) == 1  # trial 1 failed ...
    assert states[-1] == TrialState.COMPLETE  # ... and the study went on after it
    assert result.n_failed == 1
    assert result.n_complete == 2
