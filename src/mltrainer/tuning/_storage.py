"""Optuna storage by URL (SQLite, Redis journal, PostgreSQL) and clean-up of dead workers."""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
import weakref
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalRedisBackend
from optuna.trial import TrialState

from mltrainer.exceptions import ConfigError, StoreError
from mltrainer.store import mask_password, redact

__all__ = [
    "HEARTBEAT_ATTR",
    "WORKER_ATTR",
    "fail_stale_trials",
    "open_storage",
]

logger = logging.getLogger("mltrainer")

#: Trial user attributes written by each worker: ``host:pid`` and the last fold's epoch time.
WORKER_ATTR = "mltrainer_worker"
HEARTBEAT_ATTR = "mltrainer_heartbeat"

# SQLAlchemy dialect+driver that ``postgresql://`` (and ``postgres://``) URLs are opened with.
_POSTGRES_DRIVER = "postgresql+psycopg"

_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")
_SCHEMES = ("sqlite", "redis", "rediss", *_POSTGRES_SCHEMES)
_CONNECT_TIMEOUT_S = 10


def _sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL that ``RDBStorage`` opens for a PostgreSQL storage URL.

    ``postgresql://`` and ``postgres://`` select the psycopg 3 driver
    (``postgresql+psycopg://``); an explicit ``postgresql+<driver>://`` is kept.

    Raises
    ------
    ConfigError
        For a URL that cannot be parsed (for example a non-numeric port).
    """
    from sqlalchemy.engine import make_url

    scheme = url.split("://", 1)[0].lower()
    text = _POSTGRES_DRIVER + url[len(scheme) :] if scheme in ("postgresql", "postgres") else url
    try:
        parsed = make_url(text)
        parsed.port  # noqa: B018 - the port is parsed lazily: fail here, not in a worker
    except (ValueError, TypeError) as exc:  # sqlalchemy's ArgumentError is a ValueError too
        raise ConfigError(
            f"tuning.storage: cannot parse '{mask_password(url)}' ({redact(str(exc), url)});"
            " use postgresql://user:password@host:5432/database"
        ) from None
    return parsed.render_as_string(hide_password=False)


def open_storage(url: str) -> BaseStorage:
    """Open the Optuna storage at ``url``, checking now that it can be reached.

    Parameters
    ----------
    url : str
        ``sqlite:///path.db`` (embedded default), ``redis://[:password@]host:port/db`` or
        ``rediss://`` (Optuna's ``JournalStorage`` on ``JournalRedisBackend``), or
        ``postgresql://user:password@host:5432/db`` (``RDBStorage`` through psycopg 3; libpq
        options such as ``?sslmode=require`` or ``?connect_timeout=30`` pass through). The
        database must exist; Optuna creates its tables in it on first use.

    Raises
    ------
    ConfigError
        For an unsupported scheme or a URL that cannot be parsed.
    StoreError
        When the storage cannot be reached (one line, password masked).
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    shown = mask_password(url)
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
        return _rdb_storage(url, url, shown, {})
    return _postgres_storage(url, shown)


def _postgres_storage(url: str, shown: str) -> BaseStorage:
    target = _sqlalchemy_url(url)
    has_timeout = "connect_timeout=" in target.partition("?")[2]
    connect_args = {} if has_timeout else {"connect_timeout": _CONNECT_TIMEOUT_S}
    # pre-ping: a worker's pooled connection may have been closed by the server meanwhile
    kwargs = {"pool_pre_ping": True, "connect_args": connect_args}
    hint = "; check host, port, user, password and that the database exists"
    return _rdb_storage(url, target, shown, kwargs, hint)


def _rdb_storage(
    url: str, target: str, shown: str, engine_kwargs: dict[str, Any], hint: str = ""
) -> BaseStorage:
    try:
        storage = optuna.storages.RDBStorage(target, engine_kwargs=engine_kwargs)
    except Exception as exc:  # sqlalchemy's errors vary by driver
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ImportError) or "No module named" in text:
            hint = "; install the driver (psycopg[binary] for postgresql://)"
        raise StoreError(
            f"tuning.storage '{shown}' cannot be opened: {redact(text, url)}{hint}"
        ) from None
    # Close the pooled connections when the storage goes (psycopg warns about open ones).
    weakref.finalize(storage, storage.engine.dispose)
    return storage


def _redis_storage(url: str, shown: str) -> BaseStorage:
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {redact(str(exc), url)}"
        raise StoreError(
            f"tuning.storage '{shown}' is unreachable ({reason});"
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
