"""Shared fixtures: real Redis and PostgreSQL servers, a store parametrised over every backend."""

from __future__ import annotations

import gc
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg
import pytest
import redis

from mltrainer.config import Config, config_from_dict
from mltrainer.store import Store, mask_password, open_store


# -- builders -----------------------------------------------------------------------------------
def make_bars(
    n: int,
    *,
    seed: int,
    start: str = "2021-01-04",
    freq: str = "D",
    vol: float = 0.02,
    zero_volume: float = 0.0,
) -> pd.DataFrame:
    """A geometric random walk of ``n`` consistent OHLCV bars (low <= open, close <= high)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0.0, vol / 4, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol / 2, n)))
    volume = rng.lognormal(10.0, 1.0, n) * (rng.random(n) >= zero_volume)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(data, index=index)


def make_panel(
    n: int, *, seed: int, symbols: tuple[str, ...] = ("AAA", "BBB", "CCC"), late: int = 25
) -> pd.DataFrame:
    """Interleaved symbols sorted by (timestamp, symbol); the last one starts ``late`` bars late."""
    frames = [
        make_bars(n, seed=seed + k).iloc[late if k == len(symbols) - 1 else 0 :].assign(symbol=name)
        for k, name in enumerate(symbols)
    ]
    panel = pd.concat(frames).sort_values(["timestamp", "symbol"], kind="stable")
    return panel[["symbol", "open", "high", "low", "close", "volume"]]


def bars_from_close(
    close: Any, *, high: Any = None, low: Any = None, start: str = "2024-01-01", freq: str = "D"
) -> pd.DataFrame:
    """Bars with explicit closes (open = close; high/low default to the close)."""
    close = np.asarray(close, dtype=np.float64)
    index = pd.date_range(start, periods=len(close), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": close,
            "high": close if high is None else np.asarray(high, dtype=np.float64),
            "low": close if low is None else np.asarray(low, dtype=np.float64),
            "close": close,
            "volume": np.ones(len(close)),
        },
        index=index,
    )


def run_raw(tmp: Path, **sections: Any) -> dict[str, Any]:
    """A small, fast run on the bundled S&P 500 bars writing only under ``tmp``.

    Each keyword replaces a section: a dict is merged into the default section, None drops
    it, anything else replaces it.
    """
    raw: dict[str, Any] = {
        "name": "test-direction",
        "data": {"source": "sp500", "start": "2012-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 40}},
        "cv": {"n_splits": 3},
        "registry": {"root": str(tmp / "models")},
        "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
        "tuning": {"storage": f"sqlite:///{tmp / 'optuna.db'}"},
    }
    for key, value in sections.items():
        if value is None:
            raw.pop(key, None)
        elif isinstance(value, dict) and key in raw and key != "model":
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


def run_config(tmp: Path, **sections: Any) -> Config:
    """:func:`run_raw` validated into a Config."""
    return config_from_dict(run_raw(tmp, **sections))


# -- servers --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> str:
    """The redis-server binary; skips the test without one, fails it under CI's
    ``MLTRAINER_REQUIRE_REDIS=1``."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "no redis-server on PATH"
        if os.environ.get("MLTRAINER_REQUIRE_REDIS") == "1":
            pytest.fail(f"{reason}, but MLTRAINER_REQUIRE_REDIS=1; install redis-server")
        pytest.skip(reason)
    return binary


def start_redis(
    binary: str, workdir: Path, *, durable: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a throwaway redis-server on a free port; return it and its URL once it answers.

    ``durable`` journals every write to an fsynced append-only file in ``workdir`` (for
    tests that kill the server and restart it from its journal).
    """
    port = _free_port()
    persistence = ["--appendonly", "yes", "--appendfsync", "always"] if durable else []
    args = [binary, "--port", str(port), "--save", "", *(persistence or ["--appendonly", "no"])]
    args += ["--bind", "127.0.0.1", "--dir", str(workdir)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
                if client.ping() and client.info("persistence")["loading"] == 0:
                    return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.fail(f"redis-server at {binary} did not answer PING on port {port} within 10 s")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis: ``MLTRAINER_REDIS_URL``, else a throwaway ``redis-server``.

    Skips when neither is available, unless ``MLTRAINER_REQUIRE_REDIS=1`` (CI): then fails.
    """
    if url := os.environ.get("MLTRAINER_REDIS_URL"):
        yield url
        return
    binary = redis_binary()
    proc, url = start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: The PostgreSQL of this machine kind (trust auth); MLTRAINER_POSTGRES_URL overrides it.
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _libpq_url(url: str) -> str:
    """``url`` as libpq reads it: ``postgres://`` and ``postgresql+driver://`` become
    ``postgresql://``."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url, flags=re.IGNORECASE)


def _postgres_error(url: str) -> str | None:
    """``None`` when the server at `url` answers ``SELECT 1``, else why not (one line)."""
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _start_postgres() -> str:
    """Start the machine's PostgreSQL cluster (Debian layout); return what was tried."""
    versions = sorted(
        (p.name for p in Path("/etc/postgresql").glob("*") if p.is_dir()),
        key=lambda v: [int(x) if x.isdigit() else 0 for x in v.split(".")],
    )
    if not versions or shutil.which("pg_ctlcluster") is None:
        return "no Debian PostgreSQL cluster (/etc/postgresql, pg_ctlcluster) to start"
    args = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    # a parallel test worker may be starting it too: its "already running" is fine
    subprocess.run(args, capture_output=True, timeout=60, check=False)
    return " ".join(args)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a real PostgreSQL server (a database the tests may connect to).

    ``MLTRAINER_POSTGRES_URL`` when set, else 127.0.0.1:5432/test when it answers, else
    the machine's cluster once started (``pg_ctlcluster``). Skips when none answers,
    unless ``MLTRAINER_REQUIRE_POSTGRES=1`` (CI): then fails. The user must be allowed to
    create databases (see ``postgres_database``).
    """
    given = os.environ.get("MLTRAINER_POSTGRES_URL")
    url = given or DEFAULT_POSTGRES_URL
    error = _postgres_error(url)
    tried = ""
    if error is not None and not given:
        tried = f"; tried {_start_postgres()}"
        deadline = time.monotonic() + 30.0
        while (error := _postgres_error(url)) is not None and time.monotonic() < deadline:
            time.sleep(0.25)
    if error is None:
        return url
    reason = f"PostgreSQL at {mask_password(url)} does not answer ({error}){tried}"
    if given or os.environ.get("MLTRAINER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; start it or set MLTRAINER_POSTGRES_URL")
    pytest.skip(reason)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database on the PostgreSQL server, dropped after the test.

    One database per test, so parallel tests (pytest-xdist) never see each other's tables;
    the URL keeps the server URL's scheme, user, password and query options.
    """
    name = f"mlt_{uuid.uuid4().hex[:16]}"
    admin = _libpq_url(postgres_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    gc.collect()  # storages close their pooled connections when collected
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Open stores on one backend, all at the same URL; ``opener(prefix=...)`` for others.

    SQLite uses a file in ``tmp_path``; Redis uses a random prefix per test (and deletes
    its keys afterwards), so tests never see each other's data. ``opener.url`` and
    ``opener.prefix`` give the unmasked URL and the default prefix.
    """
    prefix = f"test-{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    opened: list[Store] = []

    def opener(*, prefix: str = prefix) -> Store:
        store = open_store(url, prefix=prefix)
        opened.append(store)
        return store

    opener.url = url  # type: ignore[attr-defined]
    opener.prefix = prefix  # type: ignore[attr-defined]
    yield opener
    for store in opened:
        store.close()
    if request.param == "redis" and opened:
        with redis.Redis.from_url(url) as client:
            for pattern in (f"{prefix}:*", f"{prefix}-*"):
                for key in client.scan_iter(match=pattern, count=1000):
                    client.delete(key)


@pytest.fixture
def store(store_opener: Callable[..., Store]) -> Store:
    """An empty store, once per backend (``sqlite`` and ``redis``)."""
    return store_opener()
