"""Tuning on a real Redis (Optuna's JournalStorage): two worker processes on one study, a
killed worker loses no completed trial and its RUNNING trial is failed by the next start."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from mltrainer.config import config_from_dict
from mltrainer.tuning import load_best_params, load_study, tune
from mltrainer.tuning._results import write_result
from mltrainer.tuning._storage import WORKER_ATTR
from mltrainer.tuning._study import _worker_main

pytestmark = pytest.mark.redis

# ~1,300 rows and 300-600 trees: a trial takes long enough for two workers to share a study
SLOW_SPACE = {"n_estimators": {"low": 300, "high": 600}, "max_depth": {"low": 2, "high": 4}}


def _raw(tmp: Path, redis_url: str, study: str, **tuning: Any) -> dict[str, Any]:
    return {
        "name": "redis-tune",
        "data": {"source": "sp500", "start": "2013-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 400, "max_depth": 3}},
        "cv": {"n_splits": 3},
        "registry": {"root": str(tmp / "models")},
        "store": {"url": redis_url, "prefix": f"test-{uuid.uuid4().hex}"},
        "tuning": {
            "storage": redis_url,
            "study_name": study,
            "search_space": SLOW_SPACE,
            "pruner": "none",
            **tuning,
        },
    }


def test_two_workers_share_one_study_on_redis(tmp_path: Path, redis_url: str) -> None:
    study_name = f"two-{uuid.uuid4().hex[:8]}"
    config = config_from_dict(_raw(tmp_path, redis_url, study_name, n_trials=10))
    result = tune(config, workers=2)
    study = load_study(redis_url, study_name)
    trials = study.get_trials()
    finished = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(finished) >= 10
    # the enqueued fixed-config trial runs in the calling process, the rest in the workers
    assert [t.user_attrs.get("role") for t in finished].count("fixed") == 1
    workers = {t.user_attrs[WORKER_ATTR] for t in finished if "role" not in t.user_attrs}
    assert len(workers) == 2  # both worker processes ran trials of the one study
    assert result.n_complete == len(finished)
    # the result lands in the Redis store; promoted params read back exactly
    result.promoted = True
    write_result(config, result)
    assert load_best_params(config)["params"] == result.best_params


def test_killed_worker_loses_nothing_and_its_trial_is_failed(
    tmp_path: Path, redis_url: str
) -> None:
    study_name = f"kill-{uuid.uuid4().hex[:8]}"
    raw = _raw(tmp_path, redis_url, study_name, n_trials=2)
    config = config_from_dict(raw)
    tune(config, write=False)  # creates the study with 2 finished trials
    study = load_study(redis_url, study_name)

    context = multiprocessing.get_context("spawn")
    worker = context.Process(
        target=_worker_main, args=(raw, redis_url, study_name, 100, None, 1, 1)
    )
    worker.start()
    deadline = time.monotonic() + 60
    running: list[optuna.trial.FrozenTrial] = []
    try:
        while time.monotonic() < deadline:
            trials = study.get_trials(deepcopy=False)
            done = [t for t in trials if t.state == TrialState.COMPLETE]
            running = [t for t in trials if t.state == TrialState.RUNNING]
            if len(done) >= 3 and running and WORKER_ATTR in running[0].user_attrs:
                break
            time.sleep(0.02)
        worker.kill()
    finally:
        worker.join()
    assert running, "the worker never had a RUNNING trial to kill"
    before = {t.number for t in study.get_trials() if t.state == TrialState.COMPLETE}
    assert len(before) >= 3
    left = [t.number for t in study.get_trials() if t.state == TrialState.RUNNING]
    assert len(left) == 1  # the killed worker's trial stays RUNNING
    victim = left[0]

    # the next start fails the dead worker's trial; no completed trial is lost
    tune(config, n_trials=len(before), write=False)
    after = load_study(redis_url, study_name).get_trials()
    assert after[victim].state == TrialState.FAIL
    assert before <= {t.number for t in after if t.state == TrialState.COMPLETE}
