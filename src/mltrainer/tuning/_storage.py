"""Optuna storage by URL (SQLite, Redis journal, PostgreSQL) and clean-up of dead workers."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalRedisBackend
from optuna.trial import TrialState

from mltrainer.exceptions import ConfigError, StoreError

__all__ = ["HEARTBEAT_ATTR", "WORKER_ATTR", "fail_stale_trials", "mask_url", "open_storage"]

logger = logging.getLogger("mltrainer")

#: Trial user attributes written by each worker: ``host:pid`` and the last fold's epoch time.
WORKER_ATTR = "mltrainer_worker"
HEARTBEAT_ATTR = "mltrainer_heartbeat"

_SCHEMES = ("sqlite", "redis", "rediss", "postgresql", "postgresql+psycopg2", "postgresql+psycopg")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to print and log."""
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def open_storage(url: str) -> BaseStorage:
    """Open the Optuna storage at ``url``, checking now that it can be reached.

    Parameters
    ----------
    url : str
        ``sqlite:///path.db`` (embedded default), ``redis://[:password@]host:port/db`` or
        ``rediss://`` (Optuna's ``JournalStorage`` on ``JournalRedisBackend``), or
        ``postgresql://user:password@host/db`` (``RDBStorage``).

    Raises
    ------
    ConfigError
        For an unsupported scheme.
    StoreError
        When the storage cannot be reached (one line, password masked).
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    shown = mask_url(url)
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"tuning.storage: unsupported URL '{shown}'; use sqlite:///optuna.db,"
            " redis://host:6379/0 (rediss:// for TLS) or postgresql://user:pass@host/db"
        )
    if scheme in ("redis", "rediss"):
        return _redis_storage(url, shown)
    if scheme == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:" and not Path(path).parent.exists():
            raise StoreError(
                f"tuning.storage '{shown}': folder '{Path(path).parent}' does not exist;"
                " create it or change the path"
            )
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as exc:  # sqlalchemy's errors vary by driver
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(f"tuning.storage '{shown}' cannot be opened: {mask_url(reason)}") from None


def _redis_storage(url: str, shown: str) -> BaseStorage:
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise StoreError(
            f"tuning.storage '{shown}' is unreachable ({type(exc).__name__}: {mask_url(str(exc))});"
            " check host, port, password and TLS (rediss://)"
        ) from None
    with warnings.catch_warnings():
        # The Redis journal is marked experimental by Optuna; that is expected here.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        backend = JournalRedisBackend(url)
        return optuna.storages.JournalStorage(backend)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_stale_trials(study: optuna.Study, *, stale_after: float = 900.0) -> list[int]:
    """Mark RUNNING trials of dead workers FAILED so the sampler is not misled.

    A RUNNING trial is stale when its worker ran on this host and its process is gone,
    or when its last heartbeat (written after each fold) is older than ``stale_after``
    seconds (a worker on another host that died). Returns the failed trial numbers.
    """
    host = socket.gethostname()
    now = time.time()
    failed: list[int] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get(WORKER_ATTR, ""))
        beat = trial.user_attrs.get(HEARTBEAT_ATTR)
        if beat is None and trial.datetime_start is not None:
            beat = trial.datetime_start.timestamp()
        w_host, _, w_pid = worker.rpartition(":")
        dead = w_host == host and w_pid.isdigit() and not _pid_alive(int(w_pid))
        stale = beat is not None and now - float(beat) > stale_after
        if dead or stale:
            try:
                study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except RuntimeError:  # finished meanwhile
                continue
            failed.append(trial.number)
    if failed:
        logger.warning(
            "failed %d stale RUNNING trial(s) left by dead workers: %s", len(failed), failed
        )
    return failed
