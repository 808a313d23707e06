"""Shared fixtures: a real Redis server and a store parametrised over every backend."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from mltrainer.store import Store, open_store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a throwaway redis-server on a free port; return it and its URL once it PINGs."""
    port = _free_port()
    args = [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
    args += ["--bind", "127.0.0.1", "--dir", str(workdir)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
                client.ping()
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
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "no redis-server on PATH and MLTRAINER_REDIS_URL is not set"
        if os.environ.get("MLTRAINER_REQUIRE_REDIS") == "1":
            pytest.fail(f"{reason}, but MLTRAINER_REQUIRE_REDIS=1; install redis-server")
        pytest.skip(reason)
    proc, url = _start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
