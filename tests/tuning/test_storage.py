"""Tuning storages on real servers: the same conformance on SQLite, Redis (Optuna's journal)
and PostgreSQL (RDBStorage through psycopg 3): a study is created and joined, its trials
survive a reopen, RUNNING trials of dead workers are failed at start-up, the best params read
back, two worker processes finish one study without losing a trial, and a killed worker's
trial is failed by the next start. Passwords never reach a message or a stored result."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

import mltrainer.store
import mltrainer.tuning
from mltrainer.config import Config, config_from_dict
from mltrainer.exceptions import ConfigError, StoreError
from mltrainer.store import mask_password, open_store
from mltrainer.tuning import (
    load_best_params,
    load_study,
    open_storage,
    tune,
)
from mltrainer.tuning._results import store_key, write_result
from mltrainer.tuning._storage import HEARTBEAT_ATTR, WORKER_ATTR
from mltrainer.tuning._study import _worker_main

# ~750 rows, 3 folds, 10-30 shallow trees: a trial takes well under a second
SMALL_SPACE = {"n_estimators": {"low": 10, "high": 30}, "max_depth": {"low": 2, "high": 3}}
N_SPLITS = 3
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class Backend:
    """A storage URL and a study name no other test uses."""

    kind: str
    url: str
    study: str


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    kind = str(request.param)
    study = f"{kind}-{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'optuna.db'}"
    elif kind == "redis":  # one journal per server: the study name keeps tests apart
        url = request.getfixturevalue("redis_url")
    else:  # a database of its own, dropped afterwards (tests/conftest.py)
        url = request.getfixturevalue("postgres_database")
    yield Backend(kind, url, study)
    if kind == "redis":
        storage = open_storage(url)
        if study in {s.study_name for s in optuna.get_all_study_summaries(storage)}:
            optuna.delete_study(study_name=study, storage=storage)


ALL = [
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgresql", marks=pytest.mark.postgres),
]
SERVERS = ALL[1:]


@pytest.fixture(params=ALL)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every storage kind: SQLite file, real Redis, real PostgreSQL."""
    yield from _backend(request, tmp_path)


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The storages of several hosts (Redis, PostgreSQL): readable while a worker is stopped."""
    yield from _backend(request, tmp_path)


def _raw(tmp: Path, backend: Backend, **tuning: Any) -> dict[str, Any]:
    return {
        "name": "storage-tune",
        "data": {"source": "sp500", "start": "2016-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 20, "max_depth": 3}},
        "cv": {"n_splits": N_SPLITS},
        "registry": {"root": str(tmp / "models")},
        "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
        "tuning": {
            "storage": backend.url,
            "study_name": backend.study,
            "search_space": SMALL_SPACE,
            "pruner": "none",
            **tuning,
        },
    }


def _config(tmp: Path, backend: Backend, **tuning: Any) -> Config:
    return config_from_dict(_raw(tmp, backend, **tuning))


def _snapshot(trials: list[FrozenTrial]) -> dict[int, tuple[Any, ...]]:
    """What must survive a reopen: state, value, params and the fold scores of each trial."""
    return {t.number: (t.state, t.value, t.params, t.user_attrs.get("fold_scores")) for t in trials}


def _assert_nothing_lost(trials: list[FrozenTrial], n_trials: int, workers: int) -> None:
    """Every trial kept and finished, scored on every fold, the count as requested."""
    assert [t.number for t in trials] == list(range(len(trials)))  # none missing
    assert {t.state for t in trials} == {TrialState.COMPLETE}  # none RUNNING, WAITING, FAIL
    # the study stops at n_trials; each other worker may finish the one trial it had started
    assert n_trials <= len(trials) <= n_trials + workers - 1
    for trial in trials:
        assert len(trial.user_attrs["fold_scores"]) == N_SPLITS
        assert trial.value is not None
        assert trial.user_attrs[WORKER_ATTR]


# -- the storage kinds --------------------------------------------------------------------------
def test_each_url_opens_its_storage(backend: Backend) -> None:
    storage = open_storage(backend.url)
    if backend.kind == "redis":
        assert isinstance(storage, optuna.storages.JournalStorage)
    else:
        assert isinstance(storage, optuna.storages.RDBStorage)
        expected = {"sqlite": "pysqlite", "postgresql": "psycopg"}[backend.kind]
        assert storage.engine.dialect.driver == expected


@pytest.mark.postgres
def test_postgres_alias_and_explicit_driver_use_psycopg(postgres_database: str) -> None:
    rest = postgres_database.split("://", 1)[1]
    for scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        storage = open_storage(f"{scheme}://{rest}")
        assert isinstance(storage, optuna.storages.RDBStorage)
        assert storage.engine.url.drivername == "postgresql+psycopg"


# -- conformance: create, join, reopen, stale trials, best params ---------------------------
def test_study_is_created_joined_and_read_back(tmp_path: Path, backend: Backend) -> None:
    config = _config(tmp_path, backend)
    first = tune(config, n_trials=2, write=False)  # creates the study
    assert first.n_complete == 2
    created = load_study(backend.url, backend.study).get_trials()
    assert len(created) == 2
    assert [t.user_attrs.get("role") for t in created].count("fixed") == 1

    # a new storage object (a new process would do the same) sees every trial as it was
    reopened = optuna.load_study(study_name=backend.study, storage=open_storage(backend.url))
    assert _snapshot(reopened.get_trials()) == _snapshot(created)

    # a second run joins the study: it adds trials, touches none and enqueues no fixed trial
    second = tune(config, n_trials=4)
    joined = load_study(backend.url, backend.study).get_trials()
    _assert_nothing_lost(joined, n_trials=4, workers=1)
    assert {n: v for n, v in _snapshot(joined).items() if n < 2} == _snapshot(created)
    assert [t.user_attrs.get("role") for t in joined].count("fixed") == 1
    assert second.n_trials == len(joined)

    # the best trial reads back from the storage; promoted params read back from the store
    study = load_study(backend.url, backend.study)
    assert study.best_params == second.best_params
    assert study.best_value == pytest.approx(second.best_score)
    assert study.best_trial.number == second.best_trial
    second.promoted = True
    write_result(config, second)
    assert load_best_params(config)["params"] == second.best_params


def test_stale_running_trials_are_failed_at_start_up(tmp_path: Path, backend: Backend) -> None:
    config = _config(tmp_path, backend, stale_after=600)
    tune(config, n_trials=2, write=False)
    study = load_study(backend.url, backend.study)
    complete = _snapshot(study.get_trials())
    dead, silent, alive = study.ask(), study.ask(), study.ask()
    # a pid above Linux's largest pid_max (2**22) is never alive on this host
    dead.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{2**22 + 12345}")
    dead.set_user_attr(HEARTBEAT_ATTR, time.time())
    silent.set_user_attr(WORKER_ATTR, "other-host:1")
    silent.set_user_attr(HEARTBEAT_ATTR, time.time() - 3600)
    alive.set_user_attr(WORKER_ATTR, "other-host:2")
    alive.set_user_attr(HEARTBEAT_ATTR, time.time())

    tune(config, n_trials=3, write=False)  # the next start
    after = {t.number: t for t in load_study(backend.url, backend.study).get_trials()}
    assert after[dead.number].state == TrialState.FAIL
    assert after[silent.number].state == TrialState.FAIL
    assert after[alive.number].state == TrialState.RUNNING  # another host's live worker
    assert {n: v for n, v in _snapshot(list(after.values())).items() if n in complete} == complete
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) == 3


# -- two workers on one study -------------------------------------------------------------------
@pytest.mark.slow
def test_two_workers_finish_one_study_and_lose_no_trial(tmp_path: Path, backend: Backend) -> None:
    n_trials = 6
    config = _config(tmp_path, backend, n_trials=n_trials)
    # tune raises when a spawned worker exits non-zero: returning means both finished
    result = tune(config, workers=2)
    trials = load_study(backend.url, backend.study).get_trials()
    _assert_nothing_lost(trials, n_trials=n_trials, workers=2)
    # the enqueued fixed-config trial ran once; how the rest was spread is the OS's business
    assert [t.user_attrs.get("role") for t in trials].count("fixed") == 1
    assert result.n_trials == result.n_complete == len(trials)
    assert result.best_score == max(float(t.value or 0.0) for t in trials)


# -- a killed worker --------------------------------------------------------------------------
def _stopped(pid: int) -> bool:
    """True once process `pid` is stopped (Linux ``/proc``); False when it is gone."""
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return False
        if state in ("T", "t"):
            return True
        if state in ("Z", "X"):
            return False
        time.sleep(0.005)


def _kill_inside_a_trial(
    raw: dict[str, Any], backend: Backend, study: optuna.Study, min_done: int
) -> int:
    """Run a worker; kill it while it holds a RUNNING trial; return that trial's number.

    The worker is stopped (SIGSTOP) before its trials are read, so what is read stays true
    until the kill: no race with the worker finishing the trial. A write the worker had
    already sent may still land on the server, so the trial is checked after the kill too,
    and a fresh worker tries again in that (rare) case.
    """
    context = multiprocessing.get_context("spawn")
    deadline = time.monotonic() + 600  # a guard against a hang, not a timing assertion
    while time.monotonic() < deadline:
        worker = context.Process(
            target=_worker_main, args=(raw, backend.url, backend.study, 10_000, None, 1, 1)
        )
        worker.start()
        assert worker.pid is not None
        me = f"{socket.gethostname()}:{worker.pid}"
        victim = None
        try:
            while victim is None and worker.is_alive() and time.monotonic() < deadline:
                os.kill(worker.pid, signal.SIGSTOP)
                if not _stopped(worker.pid):
                    break
                trials = study.get_trials(deepcopy=False)
                done = sum(t.state == TrialState.COMPLETE for t in trials)
                mine = [
                    t.number
                    for t in trials
                    if t.state == TrialState.RUNNING and t.user_attrs.get(WORKER_ATTR) == me
                ]
                if done >= min_done and mine:
                    victim = mine[0]
                    worker.kill()
                else:
                    os.kill(worker.pid, signal.SIGCONT)
                    time.sleep(0.05)
        finally:
            worker.kill()
            worker.join()
        assert worker.exitcode == -signal.SIGKILL, "the worker ended before it was killed"
        if victim is not None and study.get_trials()[victim].state == TrialState.RUNNING:
            return victim
    pytest.fail("no worker was ever stopped inside a trial")


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_its_trial_is_failed(
    tmp_path: Path, server: Backend
) -> None:
    raw = _raw(tmp_path, server, n_trials=2)
    config = config_from_dict(raw)
    tune(config, write=False)  # creates the study with 2 finished trials
    study = load_study(server.url, server.study)
    victim = _kill_inside_a_trial(raw, server, study, min_done=3)

    trials = study.get_trials()
    before = {n: v for n, v in _snapshot(trials).items() if v[0] == TrialState.COMPLETE}
    assert len(before) >= 3
    assert [t.number for t in trials if t.state == TrialState.RUNNING] == [victim]

    # the next start fails the dead worker's trial; no completed trial is lost or changed
    tune(config, n_trials=len(before), write=False)
    after = load_study(server.url, server.study).get_trials()
    assert after[victim].state == TrialState.FAIL
    assert {n: v for n, v in _snapshot(after).items() if n in before} == before
    assert not [t for t in after if t.state == TrialState.RUNNING]


# -- one URL masking ------------------------------------------------------------------------
MASKED = [
    ("redis://:secret@h/0", "redis://:***@h/0"),
    ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u@h/db?password=secret", "postgresql://***@h/db?password=***"),
    (
        "postgresql://h/db?sslmode=require&password=secret",
        "postgresql://h/db?sslmode=require&password=***",
    ),
]


@pytest.mark.parametrize(("url", "masked"), MASKED)
def test_tuning_masks_urls_with_the_store_function(url: str, masked: str) -> None:
    assert mask_password(url) == masked
    assert not hasattr(mltrainer.tuning, "mask_url")  # one masking, in the store


@pytest.mark.parametrize(
    "url",
    [
        "redis://:secret@127.0.0.1:1/0",
        "postgresql://u:secret@127.0.0.1:1/db",
        "postgresql://u@127.0.0.1:1/db?password=secret",
        "postgres://u:s%40cret@127.0.0.1:1/db?password=secret",
    ],
)
def test_unreachable_storage_names_it_without_the_password(url: str) -> None:
    with pytest.raises(StoreError, match=r"cannot be opened|unreachable") as info:
        open_storage(url)
    message = str(info.value)
    assert "secret" not in message
    assert "s@cret" not in message
    assert "***" in message
    assert "\n" not in message


@pytest.mark.postgres
def test_missing_postgres_database_fails_before_any_trial(
    tmp_path: Path, postgres_database: str
) -> None:
    url = urlunsplit(urlsplit(postgres_database)._replace(path="/no_such_database"))
    backend = Backend("postgresql", url, "missing")
    with pytest.raises(StoreError, match='database "no_such_database" does not exist'):
        tune(_config(tmp_path, backend))
    assert not (tmp_path / "store.db").exists()  # nothing written anywhere


def test_unparsable_postgres_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cannot parse 'postgresql://u:\*\*\*@h:port/db'"):
        open_storage("postgresql://u:secret@h:port/db")


@pytest.mark.postgres
def test_password_query_option_never_reaches_the_results(
    tmp_path: Path, postgres_database: str
) -> None:
    # trust auth ignores the password, so the URL connects with it
    sep = "&" if "?" in postgres_database else "?"
    url = f"{postgres_database}{sep}password=secret"
    backend = Backend("postgresql", url, f"pw-{uuid.uuid4().hex[:8]}")
    config = _config(tmp_path, backend)
    result = tune(config, n_trials=1)
    assert "secret" not in result.storage
    assert result.storage.endswith("password=***")
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        record = store.get(store_key(config, "last"))
    assert record["storage"] == result.storage
    assert "secret" not in json.dumps(record)
