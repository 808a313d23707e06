"""kill -9 of `mltrainer monitor` mid-write, and its Redis dying mid-run: all or nothing.

A monitoring run writes its metric points, the tracked names and the retention trims as
one transaction. The child dies inside the SQLite transaction, or after sending half of
the Redis ``MULTI`` block to a real redis-server; or the redis-server (durable, as in
tests/monitor/test_history.py) is killed right before the run's transaction and restarted
from its append-only file. Each time the earlier run is intact, the killed run left no
point, and re-running the same ``--timestamp`` lands exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mltrainer.store import metric_series, open_store, tracked_metrics_key
from tests.conftest import redis_binary, start_redis
from tests.faults.conftest import NAME, Workspace, one_line

pytestmark = pytest.mark.faults

T0 = "2022-11-01T00:00:00Z"
T1 = "2022-12-01T00:00:00Z"


def _monitor(space: Workspace, stamp: str) -> list[str]:
    return ["monitor", NAME, "--config", str(space.config), "--data", str(space.bars),
            "--timestamp", stamp]  # fmt: skip


def _points(space: Workspace, stamp: str) -> dict[str, int]:
    """Points per tracked metric at ``stamp``."""
    store_config = space.raw["store"]
    with open_store(store_config["url"], prefix=store_config.get("prefix", "mltrainer")) as store:
        names = store.set_members(tracked_metrics_key(NAME))
        when = pd.Timestamp(stamp)
        return {m: len(store.range(metric_series(NAME, m), when, when)) for m in names}


def _killed_run_left_nothing(space: Workspace, done: Any, *, killed: bool = True) -> None:
    if killed:
        assert done.returncode == -signal.SIGKILL, done.stderr
    before = _points(space, T0)
    assert before
    assert set(before.values()) == {1}
    assert set(_points(space, T1).values()) == {0}  # none of the killed run
    for _ in range(2):  # re-running the same timestamp lands once, however often
        assert space.cli(*_monitor(space, T1)) == 0
        assert _points(space, T1) == before


def test_monitor_killed_inside_its_sqlite_transaction(workspace: Workspace) -> None:
    assert workspace.cli(*_monitor(workspace, T0)) == 0
    hook = {"target": "mltrainer.store._sqlite:_apply", "call": 5, "action": "die"}
    done = workspace.child(_monitor(workspace, T1), [hook])
    _killed_run_left_nothing(workspace, done)


@pytest.mark.redis
def test_monitor_killed_halfway_through_its_redis_transaction(
    workspace: Workspace, redis_url: str
) -> None:
    workspace.write(store={"url": redis_url, "prefix": f"faults-{uuid.uuid4().hex}"})
    assert workspace.cli(*_monitor(workspace, T0)) == 0
    hook = {
        "target": "redis.connection:AbstractConnection.send_packed_command",
        "action": "half-multi",
    }
    done = workspace.child(_monitor(workspace, T1), [hook])
    _killed_run_left_nothing(workspace, done)


@pytest.fixture
def durable_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A redis-server journalling every write (append-only, fsync always); restartable."""
    binary = redis_binary()
    started: list[subprocess.Popen[bytes]] = []
    workdir = tmp_path / "redis"
    workdir.mkdir()

    def start() -> tuple[subprocess.Popen[bytes], str]:
        proc, url = start_redis(binary, workdir, durable=True)
        started.append(proc)
        return proc, url

    proc, url = start()
    yield {"proc": proc, "url": url, "restart": start}
    for server in started:
        if server.poll() is None:
            server.kill()
        server.wait()


@pytest.mark.redis
def test_redis_killed_before_the_runs_transaction(
    workspace: Workspace, durable_server: dict[str, Any]
) -> None:
    prefix = f"faults-{uuid.uuid4().hex}"
    workspace.write(store={"url": durable_server["url"], "prefix": prefix})
    assert workspace.cli(*_monitor(workspace, T0)) == 0
    server = durable_server["proc"]
    # the child kills the server right before it sends the run's MULTI/EXEC
    hook = {"target": "redis.client:Pipeline.execute", "action": "kill", "pid": server.pid}
    done = workspace.child(_monitor(workspace, T1), [hook])
    assert done.returncode == 2, done.stderr
    error = one_line(done.stderr)
    assert error.startswith("error: Redis write of 'monitor/fault-direction/")
    assert "failed" in error
    server.wait()
    _, url = durable_server["restart"]()  # a new server loading the dead one's journal
    workspace.write(store={"url": url, "prefix": prefix})
    _killed_run_left_nothing(workspace, done, killed=False)
