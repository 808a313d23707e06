"""Tuning: search spaces, errors before any trial, studies on SQLite, results in the store,
`params: optimized` in the Trainer, the schedule, the overfitting statistics and the CLI."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import yaml
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState

from mltrainer import Trainer, load_model
from mltrainer.cli import main
from mltrainer.config import config_from_dict
from mltrainer.exceptions import ConfigError, NotFoundError, StoreError
from mltrainer.store import Store, open_store
from mltrainer.tuning import (
    Objective,
    TuneResult,
    deflated_sharpe_ratio,
    fail_stale_trials,
    load_best_params,
    load_study,
    next_run_time,
    open_storage,
    paired_gain_test,
    probability_of_backtest_overfitting,
    run_schedule,
    search_space,
    trials_frame,
    tune,
    write_html_report,
)
from mltrainer.tuning._results import store_key, write_result
from mltrainer.tuning._space import clip_to_space
from mltrainer.tuning._storage import HEARTBEAT_ATTR, WORKER_ATTR

SMALL_SPACE = {"n_estimators": {"low": 10, "high": 40}, "max_depth": {"low": 2, "high": 4}}


def tuning_raw(tmp: Path, **tuning: Any) -> dict[str, Any]:
    return {
        "name": "tune-test",
        "data": {"source": "sp500", "start": "2015-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 20, "max_depth": 3}},
        "cv": {"n_splits": 3},
        "registry": {"root": str(tmp / "models")},
        "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
        "tuning": {
            "storage": f"sqlite:///{tmp / 'optuna.db'}",
            "n_trials": 6,
            "search_space": SMALL_SPACE,
            **tuning,
        },
    }


def tuning_config(tmp: Path, **tuning: Any) -> Any:
    return config_from_dict(tuning_raw(tmp, **tuning))


# -- search spaces --------------------------------------------------------------------------
def test_default_xgboost_space_is_the_roadmap_one() -> None:
    space = search_space("xgboost")
    assert space["max_depth"] == IntDistribution(3, 10)
    assert space["learning_rate"] == FloatDistribution(0.01, 0.3, log=True)
    assert space["n_estimators"] == IntDistribution(50, 500)
    assert space["subsample"] == FloatDistribution(0.6, 1.0)
    assert space["colsample_bytree"] == FloatDistribution(0.6, 1.0)
    assert space["min_child_weight"] == IntDistribution(1, 10)


@pytest.mark.parametrize(
    ("model_type", "task"),
    [
        ("lightgbm", "classification"),
        ("random_forest", "regression"),
        ("logistic", "classification"),
        ("ridge", "regression"),
    ],
)
def test_every_tunable_type_has_a_valid_space(model_type: str, task: str) -> None:
    assert search_space(model_type, task=task)


def test_overrides_replace_and_drop_parameters() -> None:
    space = search_space(
        "xgboost",
        {"max_depth": {"low": 2, "high": 4}, "subsample": None, "gamma": {"low": 0.0, "high": 1.0}},
    )
    assert space["max_depth"] == IntDistribution(2, 4)
    assert "subsample" not in space
    assert space["gamma"] == FloatDistribution(0.0, 1.0)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (
            {"max_dept": {"low": 1, "high": 3}},
            "unknown parameter 'max_dept'.*did you mean 'max_depth'",
        ),
        ({"max_depth": {"low": 8, "high": 3}}, r"max_depth: low 8 > high 3"),
        ({"learning_rate": {"low": 0.0, "high": 0.3, "log": True}}, "log scale needs low > 0"),
        ({"max_depth": {"lo": 1, "high": 3}}, "unknown key 'lo'"),
        ({"max_depth": {"choices": []}}, "non-empty list"),
    ],
)
def test_bad_search_space_is_a_one_line_config_error(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        search_space("xgboost", overrides)


def test_clip_to_space_casts_and_clips() -> None:
    space = search_space("xgboost")
    clipped = clip_to_space({"max_depth": 20, "min_child_weight": 5.0, "other": 1}, space)
    assert clipped == {"max_depth": 10, "min_child_weight": 5}
    assert isinstance(clipped["min_child_weight"], int)


# -- errors before any trial runs -----------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "error", "match"),
    [
        ("redis://:secret@127.0.0.1:1/0", StoreError, "unreachable"),
        ("sqlite:////no/such/folder/optuna.db", StoreError, "does not exist"),
        ("mysql://host/db", ConfigError, "unsupported URL"),
    ],
)
def test_unusable_storage_fails_before_any_trial(
    tmp_path: Path, url: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as info:
        tune(tuning_config(tmp_path), storage=url)
    assert "secret" not in str(info.value)
    assert not (tmp_path / "store.db").exists()  # nothing written anywhere


def test_bad_space_fails_before_the_storage_is_touched(tmp_path: Path) -> None:
    config = tuning_config(tmp_path, search_space={"max_depth": {"low": 5, "high": 1}})
    with pytest.raises(ConfigError, match="low 5 > high 1"):
        tune(config)
    assert not (tmp_path / "optuna.db").exists()


# -- a study on SQLite ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, TuneResult]:
    tmp = tmp_path_factory.mktemp("tune")
    config = tuning_config(tmp)
    return tmp, config, tune(config)


def test_study_holds_the_trials_and_the_fixed_config(
    tuned: tuple[Path, Any, TuneResult],
) -> None:
    _, config, result = tuned
    study = load_study(config.tuning.storage, result.study)
    trials = study.get_trials()
    finished = [t for t in trials if t.state.is_finished()]
    assert len(finished) == 6 == result.n_trials
    assert trials[0].user_attrs["role"] == "fixed"
    assert trials[0].params["n_estimators"] == 20
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    for trial in complete:
        scores = trial.user_attrs["fold_scores"]
        assert len(scores) == 3
        assert trial.value == pytest.approx(np.mean(scores))
        assert {"sharpe", "skew", "kurtosis", "blocks", "n"} <= set(trial.user_attrs["returns"])
    # the fixed config was scored by its own trial: tuned and fixed side by side
    assert result.fixed_fold_scores == trials[0].user_attrs["fold_scores"]
    assert result.best_score >= result.fixed_score
    assert result.best_params == study.best_params
    assert 0.0 <= result.pbo <= 1.0  # type: ignore[operator]
    assert result.deflated_sharpe is not None
    assert 0.0 <= result.deflated_sharpe <= 1.0


def test_result_is_written_to_the_store(tuned: tuple[Path, Any, TuneResult]) -> None:
    _, config, result = tuned
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        last = store.get(store_key(config, "last"))
        history = store.range(store_key(config, "history"))
        best = store.get(store_key(config, "best"))
    assert last["study"] == result.study
    assert last["best_params"] == result.best_params
    assert len(history) == 1
    assert (best is not None) == result.promoted
    json.dumps(last)  # plain JSON


def test_history_table_and_html_report(tuned: tuple[Path, Any, TuneResult]) -> None:
    tmp, config, result = tuned
    study = load_study(config.tuning.storage, result.study)
    frame = trials_frame(study)
    assert list(frame["number"]) == list(range(6))
    assert {"state", "value", "seconds", "n_estimators", "max_depth"} <= set(frame.columns)
    path = write_html_report(study, tmp / "report" / "study.html")
    html = path.read_text()
    assert html.count("plotly.js") >= 1
    assert "Study tune-test-xgboost" in html
    with pytest.raises(NotFoundError, match="did you mean 'tune-test-xgboost'"):
        load_study(config.tuning.storage, "tune-test-xgbost")


@pytest.mark.slow
def test_schedule_does_not_retune_early_after_a_restart(
    tuned: tuple[Path, Any, TuneResult],
) -> None:
    _, config, result = tuned
    waits: list[float] = []

    class StopScheduleError(Exception):
        pass

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        raise StopScheduleError

    # a fresh scheduler (a restart) with a 1 h interval waits out the rest of the hour
    assert next_run_time(config, "1h") > result.to_dict()["duration_s"]
    with pytest.raises(StopScheduleError):
        run_schedule(config, every="1h", sleep=sleep)
    assert 3500 < waits[0] <= 3600

    # with a short interval it waits for the remainder, then tunes a new, warm-started study
    waits.clear()
    results = run_schedule(
        config,
        every="3s",
        max_runs=1,
        sleep=lambda s: (waits.append(s), time.sleep(s)),
    )
    assert len(waits) == 1
    assert 0 < waits[0] <= 3
    assert len(results) == 1
    assert results[0].study.startswith("tune-test-xgboost-")
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        assert len(store.range(store_key(config, "history"))) == 2


# -- params: optimized ------------------------------------------------------------------------
def _promoted(study: str, params: dict[str, Any]) -> TuneResult:
    return TuneResult(
        study=study, storage="sqlite:///x", scorer="roc_auc", best_params=params,
        best_score=0.55, best_trial=3, best_fold_scores=[0.55] * 3, fixed_score=0.5,
        fixed_fold_scores=[0.5] * 3, gain=0.05, p_value=0.01, significance=0.05,
        promoted=True, n_trials=10, n_complete=10, n_pruned=0, n_failed=0,
        started="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:01:00+00:00",
        duration_s=60.0,
    )  # fmt: skip


def test_params_optimized_trains_with_exactly_the_stored_params(
    tmp_path: Path, store_opener: Callable[..., Store]
) -> None:
    url, prefix = store_opener.url, store_opener.prefix  # type: ignore[attr-defined]
    raw = {
        "name": "opt-test",
        "data": {"source": "sp500", "start": "2015-01-01"},
        "model": {"type": "xgboost", "params": {"n_jobs": 1}, "params_source": "optimized"},
        "cv": {"n_splits": 3},
        "registry": {"root": str(tmp_path / "models")},
        "store": {"url": url, "prefix": prefix},
    }
    config = config_from_dict(raw)
    with pytest.raises(NotFoundError, match=r"no tuned params for 'opt-test'.*params: fixed"):
        Trainer(config).run()  # a clear error, not a silent fallback to fixed

    stored = {"n_estimators": 17, "max_depth": 2, "learning_rate": 0.1234}
    write_result(config, _promoted("opt-test-xgboost", stored))
    assert load_best_params(config)["params"] == stored  # read back from the store
    result = Trainer(config).run()
    meta = load_model("opt-test", result.version, root=tmp_path / "models").metadata
    assert {k: meta["params"][k] for k in stored} == stored
    assert meta["params_source"] == "optimized"
    assert meta["params_origin"]["study"] == "opt-test-xgboost"
    assert meta["params_origin"]["time"] == "2026-01-01T00:01:00+00:00"


def test_params_fixed_and_dict_stay_valid(tmp_path: Path) -> None:
    fixed = config_from_dict({"model": {"params": "fixed"}})
    assert fixed.model.params == {}
    assert fixed.model.params_source == "fixed"
    both = config_from_dict({"model": {"params": {"n_jobs": 1}, "params_source": "optimized"}})
    assert both.model.params == {"n_jobs": 1}
    assert both.model.params_source == "optimized"
    with pytest.raises(ConfigError):
        config_from_dict({"model": {"params": "tuned"}})


# -- overfitting statistics -----------------------------------------------------------------
def test_pbo_is_high_on_noise_and_low_for_a_real_edge() -> None:
    # on pure noise the in-sample best is out-of-sample median on average: PBO near 0.5
    runs = [
        probability_of_backtest_overfitting(np.random.default_rng(s).normal(size=(240, 30)))
        for s in range(10)
    ]
    assert {blocks for _, blocks in runs} == {16}
    assert 0.35 < np.mean([pbo for pbo, _ in runs]) < 0.65
    noise = np.random.default_rng(0).normal(size=(240, 30))
    edge = noise.copy()
    edge[:, 7] += 0.8  # one trial is genuinely better in every period
    pbo_edge, _ = probability_of_backtest_overfitting(edge)
    assert pbo_edge < 0.05


def test_deflated_sharpe_falls_with_the_number_of_trials() -> None:
    rng = np.random.default_rng(1)
    few = deflated_sharpe_ratio(0.1, rng.normal(0, 0.05, size=5), n_obs=500)
    many = deflated_sharpe_ratio(0.1, rng.normal(0, 0.05, size=500), n_obs=500)
    assert 0 < many < few < 1
    assert np.isnan(deflated_sharpe_ratio(0.1, np.array([0.1]), n_obs=500))


def test_paired_gain_test() -> None:
    gain, p = paired_gain_test(np.array([0.6, 0.62, 0.61]), np.array([0.5, 0.52, 0.5]))
    assert gain == pytest.approx(0.1033, abs=1e-3)
    assert p < 0.01
    gain, p = paired_gain_test(np.array([0.5, 0.6, 0.4]), np.array([0.55, 0.45, 0.5]))
    assert p > 0.3


# -- CLI --------------------------------------------------------------------------------------
def test_cli_tune_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tuning_raw(tmp_path, n_trials=3)))
    assert main(["tune", str(path), "--trials", "3", "--report", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "fixed (config)" in out
    assert "tuned (trial" in out
    assert "overfitting guard" in out
    assert ("not promoted" in out) or ("promoted" in out)
    assert (tmp_path / "r.html").is_file()
    assert main(["tune", str(path), "--show"]) == 0
    out = capsys.readouterr().out
    assert "Trials of study tune-test-xgboost" in out
    assert "COMPLETE" in out
    assert main(["tune", str(path), "--storage", "redis://127.0.0.1:1/0"]) == 2
    assert "unreachable" in capsys.readouterr().err


def test_open_storage_sqlite(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'o.db'}")
    assert isinstance(storage, optuna.storages.RDBStorage)


# -- pruning and stale trials -----------------------------------------------------------------
def test_objective_reports_each_fold_and_can_be_pruned(tmp_path: Path) -> None:
    objective = Objective(tuning_config(tmp_path), n_jobs=1)
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.99)
    )
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED  # stopped after the first fold
    assert list(trial.intermediate_values) == [0]
    assert len(trial.user_attrs["fold_scores"]) == 1

    wilcoxon = Objective(tuning_config(tmp_path, pruner="wilcoxon"), n_jobs=1)
    study = optuna.create_study(direction="maximize")
    study.optimize(wilcoxon, n_trials=1)
    trial = study.trials[0]
    # WilcoxonPruner compares fold by fold: each step holds that fold's own score
    assert list(trial.intermediate_values.values()) == trial.user_attrs["fold_scores"]


def test_stale_trials_of_dead_or_silent_workers_are_failed() -> None:
    study = optuna.create_study()
    silent, alive, dead = study.ask(), study.ask(), study.ask()
    silent.set_user_attr(WORKER_ATTR, "other-host:1")
    silent.set_user_attr(HEARTBEAT_ATTR, time.time() - 3600)
    alive.set_user_attr(WORKER_ATTR, "other-host:2")
    alive.set_user_attr(HEARTBEAT_ATTR, time.time())
    dead.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{2**22 + 12345}")
    dead.set_user_attr(HEARTBEAT_ATTR, time.time())
    assert fail_stale_trials(study, stale_after=600) == [silent.number, dead.number]
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.FAIL]
