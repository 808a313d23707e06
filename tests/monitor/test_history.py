"""Metric history: round trip, retention, idempotent re-runs, version filter, and faults.

The fault tests kill a real redis-server (a throwaway one with an append-only file, killed
by a proxy after an exact number of bytes of the run's request) and a writer process in the
middle of its SQLite transaction, then check that a run's metrics are all there or none is.
"""

from __future__ import annotations

import itertools
import math
import selectors
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer.exceptions import ConfigError, NotFoundError, StoreError
from mltrainer.monitor._history import history, history_frame, track, tracked
from mltrainer.store import Store, metric_series, open_store, tracked_metrics_key
from tests.conftest import redis_binary, start_redis

T0 = datetime(2025, 3, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=1)

#: A run of the size the issue reports: 22 metrics.
RUN = {f"metric_{i:02d}": i / 100 for i in range(22)}


def _present(store: Store, when: datetime, model: str = "spy") -> list[str]:
    """The metrics of ``RUN`` that have a point at ``when``."""
    return [m for m in RUN if store.range(metric_series(model, m), when, when)]


# -- round trip and retention -------------------------------------------------------------
def test_history_round_trip_nan_as_null_and_ranges(store: Store) -> None:
    for i in range(5):
        track(
            store,
            "spy",
            {"roc_auc": 0.5 + i / 100, "ic": math.nan if i == 2 else 0.1 * i},
            timestamp=T0 + timedelta(days=i),
            reasons={"ic": "constant predictions"},
            version=3,
        )
    assert tracked(store, "spy") == ["ic", "roc_auc"]
    auc = history(store, "spy", "roc_auc")
    assert auc.index.tz is not None
    assert str(auc.index.tz) == "UTC"
    np.testing.assert_allclose(auc.to_numpy(), [0.5, 0.51, 0.52, 0.53, 0.54])
    assert list(auc.index) == [pd.Timestamp(T0 + timedelta(days=i)) for i in range(5)]
    ic = history(store, "spy", "ic")
    assert math.isnan(ic.iloc[2])
    assert ic.iloc[3] == pytest.approx(0.3)
    raw = store.range(metric_series("spy", "ic"))[2][1]
    assert raw == {"value": None, "reason": "constant predictions", "version": 3}  # not a number
    window = history(store, "spy", "roc_auc", T0 + timedelta(days=1), T0 + timedelta(days=3))
    assert len(window) == 3
    assert list(history(store, "spy", "roc_auc", limit=2)) == pytest.approx([0.53, 0.54])
    frame = history_frame(store, "spy")
    assert list(frame.columns) == ["ic", "roc_auc"]
    assert len(frame) == 5
    with pytest.raises(NotFoundError, match=r"did you mean 'roc_auc'"):
        history(store, "spy", "roc_au")
    with pytest.raises(ConfigError, match="not a number"):
        track(store, "spy", {"ic": 0.1, "roc_auc": "high"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="metric name 'a b'"):
        track(store, "spy", {"ic": 0.1, "a b": 1.0})
    assert len(history(store, "spy", "ic")) == 5  # the failed calls wrote nothing
    assert tracked(store, "spy") == ["ic", "roc_auc"]


def test_history_retention(store: Store) -> None:
    for i in range(8):
        track(store, "m", {"mse": float(i)}, timestamp=T0 + timedelta(days=i), max_points=5)
    assert list(history(store, "m", "mse")) == [3.0, 4.0, 5.0, 6.0, 7.0]
    track(store, "m", {"mse": 8.0}, timestamp=T0 + timedelta(days=8), max_age="2D")
    assert list(history(store, "m", "mse")) == [6.0, 7.0, 8.0]
    with pytest.raises(ConfigError, match="'soon' is not a duration"):
        track(store, "m", {"mse": 9.0}, timestamp=T0 + timedelta(days=9), max_age="soon")
    assert list(history(store, "m", "mse")) == [6.0, 7.0, 8.0]


# -- idempotent re-runs and versions ----------------------------------------------------------
def test_rerunning_a_timestamp_replaces_its_points(store: Store) -> None:
    track(store, "spy", {"roc_auc": 0.60, "ic": 0.1}, timestamp=T0, version=1)
    track(store, "spy", {"roc_auc": 0.70}, timestamp=T1, version=1)
    track(store, "spy", {"roc_auc": 0.65, "ic": 0.2}, timestamp=T0, version=1)  # re-run of T0
    track(store, "spy", {"roc_auc": 0.65, "ic": 0.2}, timestamp=T0, version=1)  # and again
    auc = history(store, "spy", "roc_auc")
    assert list(auc.index) == [pd.Timestamp(T0), pd.Timestamp(T1)]  # one point per run
    assert list(auc) == pytest.approx([0.65, 0.70])  # the re-run's value replaced the first
    assert list(history(store, "spy", "ic")) == pytest.approx([0.2])
    # the same time monitored with another model version is another point
    track(store, "spy", {"roc_auc": 0.55}, timestamp=T0, version=2)
    points = store.range(metric_series("spy", "roc_auc"), T0, T0)
    assert sorted((p["version"], p["value"]) for _, p in points) == [(1, 0.65), (2, 0.55)]
    assert list(history(store, "spy", "roc_auc", version=2)) == pytest.approx([0.55])
    assert list(history(store, "spy", "roc_auc", version=1)) == pytest.approx([0.65, 0.70])


def test_version_filter_reads_back_far_enough(store: Store) -> None:
    for day in range(12):  # version 1 on even days, version 2 on odd days
        track(
            store,
            "spy",
            {"mse": float(day)},
            timestamp=T0 + timedelta(days=day),
            version=1 + day % 2,
        )
    track(store, "spy", {"mse": 99.0}, timestamp=T0 + timedelta(days=20))  # no version
    assert list(history(store, "spy", "mse", version=1, limit=3)) == [6.0, 8.0, 10.0]
    assert list(history(store, "spy", "mse", version=2, limit=2)) == [9.0, 11.0]
    assert list(history(store, "spy", "mse", version=2, limit=7)) == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    assert list(history(store, "spy", "mse", version=1, limit=100)) == [
        0.0,
        2.0,
        4.0,
        6.0,
        8.0,
        10.0,
    ]
    assert list(history(store, "spy", "mse", version=2, end=T0 + timedelta(days=4))) == [1.0, 3.0]
    assert list(history(store, "spy", "mse", version=1, limit=0)) == []
    assert len(history(store, "spy", "mse", version=7)) == 0  # known metric, no such version
    assert list(history(store, "spy", "mse", limit=1)) == [99.0]  # no filter: every point
    with pytest.raises(ConfigError, match="version='1'"):
        history(store, "spy", "mse", version="1")  # type: ignore[arg-type]


def test_tracked_names_written_before_the_set_stay_readable(store: Store) -> None:
    store.put(tracked_metrics_key("spy"), ["ic", "roc_auc"])  # the old JSON list
    track(store, "spy", {"mse": 1.0}, timestamp=T0)
    assert tracked(store, "spy") == ["ic", "mse", "roc_auc"]
    assert tracked(store, "nobody") == []


_TRACKER = """
import sys
from mltrainer.monitor._history import track
from mltrainer.store import open_store
url, prefix, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open_store(url, prefix=prefix) as store:
    for i in range(n):
        track(store, "spy", {f"w{worker}_{i}": 1.0, "shared": 0.5}, timestamp=1e9 + i, version=1)
"""


@pytest.mark.slow
def test_concurrent_writers_never_lose_a_metric_name(
    store_opener: Callable[..., Store], store: Store
) -> None:
    url, prefix = store_opener.url, store_opener.prefix  # type: ignore[attr-defined]
    n_runs = 25
    procs = [
        subprocess.Popen([sys.executable, "-c", _TRACKER, url, prefix, str(w), str(n_runs)])
        for w in range(2)
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    expected = {f"w{w}_{i}" for w in range(2) for i in range(n_runs)} | {"shared"}
    assert tracked(store, "spy") == sorted(expected)
    assert len(history(store, "spy", "shared")) == n_runs  # both wrote each time: one point


# -- faults: SQLite ------------------------------------------------------------------------------
_SQLITE_KILLER = """
import os, signal, sys
from mltrainer.monitor._history import track
from mltrainer.store import open_store
url, kill_at, metrics = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
store = open_store(url)
inserts = 0

def trace(statement):
    global inserts
    if statement.lstrip().upper().startswith("INSERT INTO STORE_SERIES"):
        inserts += 1
        if inserts == kill_at:  # SIGKILL at this point of the run's transaction
            os.kill(os.getpid(), signal.SIGKILL)

store._conn.set_trace_callback(trace)
track(store, "spy", {m: 0.5 for m in metrics}, timestamp=float(sys.argv[4]), version=1)
"""


@pytest.mark.slow
def test_sqlite_writer_killed_mid_run_leaves_all_or_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(url) as store:
        track(store, "spy", RUN, timestamp=T0, version=1)  # an earlier, complete run
    script, stamp = [sys.executable, "-c", _SQLITE_KILLER, url], str(T1.timestamp())
    for kill_at in (1, 12):  # SIGKILL at the 1st and at the 12th point of the run
        proc = subprocess.run(
            [*script, str(kill_at), ",".join(RUN), stamp], capture_output=True, timeout=60
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
        with open_store(url) as store:
            assert _present(store, T0) == list(RUN)
            assert _present(store, T1) == []  # killed before COMMIT: none of the run
    subprocess.run([*script, "0", ",".join(RUN), stamp], check=True, timeout=60)  # not killed
    with open_store(url) as store:
        assert _present(store, T1) == list(RUN)


# -- faults: a real redis-server killed mid-write -----------------------------------------------
class _KillingProxy:
    """A TCP proxy to a redis-server that SIGKILLs it at an exact point of the traffic.

    ``arm(n)``: forward exactly `n` more bytes from the client, then kill the server (the
    rest of the request never reaches it). ``arm_reply()``: forward the whole request, then
    kill the server when its reply arrives, before the client sees it. ``count()``: forward
    everything and count the client's bytes. After the kill the proxy refuses connections.
    """

    def __init__(self, server: subprocess.Popen[bytes], port: int) -> None:
        self.server, self.target = server, port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.budget: int | None = None
        self.kill_on_reply = False
        self.counted = 0
        self.killed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def count(self) -> None:
        with self._lock:
            self.budget, self.kill_on_reply, self.counted = None, False, 0

    def arm(self, n: int) -> None:
        with self._lock:
            self.budget, self.counted = n, 0

    def arm_reply(self) -> None:
        with self._lock:
            self.kill_on_reply = True

    def _kill(self) -> None:
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()
        self.killed.set()
        for sock in [self.listener, *self._sockets]:
            sock.close()

    def _accept(self) -> None:
        while not self.killed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self.killed.is_set():
                for key, _ in selector.select(timeout=0.1):
                    source = key.fileobj
                    data = source.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    with self._lock:
                        if self.killed.is_set():
                            return
                        if source is client:
                            if self.budget is not None:
                                data = data[: self.budget]
                                self.budget -= len(data)
                            self.counted += len(data)
                            upstream.sendall(data)
                            if self.budget == 0:
                                self._kill()
                                return
                        elif self.kill_on_reply:
                            self._kill()
                            return
                        else:
                            client.sendall(data)
        except OSError:
            return
        finally:
            selector.close()


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[Callable[[], tuple[Any, _KillingProxy, Path]]]:
    """Start AOF-backed redis-servers behind killing proxies; restart them from their AOF."""
    binary = redis_binary()
    started: list[subprocess.Popen[bytes]] = []
    numbers = itertools.count()

    def start(workdir: Path | None = None) -> tuple[Any, _KillingProxy, Path]:
        if workdir is None:
            workdir = tmp_path / f"redis-{next(numbers)}"
            workdir.mkdir()
        proc, url = start_redis(binary, workdir, durable=True)
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        started.append(proc)
        return proc, _KillingProxy(proc, port), workdir

    yield start  # type: ignore[misc]
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _write_runs_and_kill(start: Any, arm: Callable[[_KillingProxy], None]) -> list[str]:
    """Track a complete run at T0, arm the proxy, track a run at T1 through it; after the
    server was killed, restart it from its AOF and return the metrics of the T1 run found."""
    _, proxy, workdir = start()
    with open_store(f"redis://127.0.0.1:{proxy.port}/0", prefix="faults") as store:
        track(store, "spy", RUN, timestamp=T0, version=1)
        arm(proxy)
        with pytest.raises(StoreError, match="failed"):
            track(store, "spy", RUN, timestamp=T1, version=1)
    assert proxy.killed.is_set()
    _, again, _ = start(workdir)  # a new server loading the old one's append-only file
    with open_store(f"redis://127.0.0.1:{again.port}/0", prefix="faults") as store:
        assert _present(store, T0) == list(RUN)  # the earlier run is intact
        return _present(store, T1)


@pytest.mark.redis
def test_redis_killed_mid_run_leaves_all_or_nothing(durable_redis: Any) -> None:
    _, proxy, _ = durable_redis()  # measure how many bytes the T1 run's request takes
    with open_store(f"redis://127.0.0.1:{proxy.port}/0", prefix="faults") as store:
        track(store, "spy", RUN, timestamp=T0, version=1)
        proxy.count()
        track(store, "spy", RUN, timestamp=T1, version=1)
        size = proxy.counted
    assert size > 1000
    for cut in (1, size // 3, size // 2, size - 1):  # the server dies before it has it all
        assert _write_runs_and_kill(durable_redis, lambda p, n=cut: p.arm(n)) == [], cut
    # the server dies after applying and journalling the run, before the client hears back
    assert _write_runs_and_kill(durable_redis, _KillingProxy.arm_reply) == list(RUN)


@pytest.mark.redis
def test_rerun_on_redis_after_a_kill_lands_once(durable_redis: Any) -> None:
    _, proxy, workdir = durable_redis()
    with open_store(f"redis://127.0.0.1:{proxy.port}/0", prefix="faults") as store:
        track(store, "spy", RUN, timestamp=T1, version=1)
        proxy.arm_reply()  # the re-run is applied but its reply is lost with the server
        with pytest.raises(StoreError):
            track(store, "spy", RUN, timestamp=T1, version=1)
    _, again, _ = durable_redis(workdir)
    with open_store(f"redis://127.0.0.1:{again.port}/0", prefix="faults") as store:
        track(store, "spy", RUN, timestamp=T1, version=1)  # and the operator runs it again
        for metric in RUN:
            assert len(store.range(metric_series("spy", metric))) == 1, metric
