"""Live bars from a real Redis Stream: consumer group, exactly-once processing, kill -9.

Bars are XADDed to a stream on the throwaway redis-server. One consumer group reads them
uninterrupted; another is killed (SIGKILL at seeded random moments: after a bar, between a
checkpoint's store write and its XACK) and restarted until the stream is consumed. Every bar
must be processed and published exactly once, with the uninterrupted run's predictions, and
nothing may stay unacknowledged.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

from mltrainer.exceptions import NotFoundError
from mltrainer.online import RedisStreamSource
from mltrainer.store import open_store, stream_predictions_series

from .conftest import regime_bars
from .test_checkpoint import SRC, _register

pytestmark = pytest.mark.redis

WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from mltrainer.data import load_bars
    from mltrainer.online import (
        RedisStreamSink, RedisStreamSource, RefitPolicy, StreamProcessor, run_stream,
    )
    from mltrainer.registry import load_model
    from mltrainer.store import open_store

    url, stream, group, publish, store_url, root, name, history, kill_event, kill_at = (
        sys.argv[1:11]
    )
    kill_at = int(kill_at)

    def on_event(event, bars):
        if event == kill_event and bars == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    processor = StreamProcessor(
        load_model("regime", root=root), stream_name=name, update="batch:150",
        refit=RefitPolicy(eval_rows=60, min_train_rows=120),
    )
    processor.prime(load_bars(history))
    source = RedisStreamSource(
        url, stream=stream, group=group, consumer="worker", block_ms=100, idle_exit=1.0
    )
    sink = RedisStreamSink(url, stream=publish, order=source.order)
    with open_store(store_url) as store:
        run_stream(
            processor, source, store=store, sinks=[sink], checkpoint_every=40, on_event=on_event
        )
    """
)


def _worker(tmp: Path, args: list[str]) -> int:
    script = tmp / "redis_worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(done.stderr[-3000:])
    return done.returncode


def _published(client: redis.Redis, key: str) -> pd.DataFrame:
    rows = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in client.xrange(key)]
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_consumer_group_kill_and_resume_processes_each_bar_once(
    redis_url: str, tmp_path: Path
) -> None:
    bars = regime_bars(900, 500, phi=0.8, seed=11)
    history, live = bars.iloc[:500], bars.iloc[500:]
    history_csv = tmp_path / "history.csv"
    history.reset_index().to_csv(history_csv, index=False)
    tag = uuid.uuid4().hex[:8]
    stream = f"bars:test-{tag}"
    client = redis.Redis.from_url(redis_url)
    ids = []
    for stamp, row in live.iterrows():
        fields = {"timestamp": stamp.isoformat(), **{k: repr(float(v)) for k, v in row.items()}}
        ids.append(client.xadd(stream, fields).decode())
    store = f"sqlite:///{tmp_path / 'store.db'}"
    full_root, killed_root = tmp_path / "full", tmp_path / "killed"
    _register(full_root, bars)
    shutil.copytree(full_root, killed_root)

    def args(kind: str, root: Path, kill: tuple[str, int]) -> list[str]:
        return [redis_url, stream, f"g-{kind}", f"pred:{tag}:{kind}", store, str(root), kind,
                str(history_csv), kill[0], str(kill[1])]  # fmt: skip

    try:
        assert _worker(tmp_path, args("full", full_root, ("never", 0))) == 0
        rng = np.random.default_rng(7)
        kills = [("bar", int(rng.integers(3, 200))), ("checkpoint", 320), ("ack", 360),
                 ("bar", int(rng.integers(400, 890)))]  # fmt: skip
        for kill in kills:
            assert _worker(tmp_path, args("killed", killed_root, kill)) == -signal.SIGKILL
        assert _worker(tmp_path, args("killed", killed_root, ("never", 0))) == 0

        full = _published(client, f"pred:{tag}:full")
        killed = _published(client, f"pred:{tag}:killed")
        assert full["offset"].tolist() == ids  # every bar, in order, once
        assert killed["offset"].tolist() == ids
        pd.testing.assert_frame_equal(killed, full)
        assert client.xpending(stream, "g-killed")["pending"] == 0  # everything acknowledged
        with open_store(store) as opened:
            a = [v for _, v in opened.range(stream_predictions_series("full"))]
            b = [v for _, v in opened.range(stream_predictions_series("killed"))]
        assert a == b
        assert len(a) == len(live)
        assert (full["status"] == "ok").all()
    finally:
        client.delete(stream, f"pred:{tag}:full", f"pred:{tag}:killed")
        client.close()


def test_a_stream_that_does_not_exist_is_a_clear_error(redis_url: str) -> None:
    source = RedisStreamSource(
        redis_url, stream="bars:nope-" + uuid.uuid4().hex, group="g", consumer="c"
    )
    with pytest.raises(NotFoundError, match=r"stream 'bars:nope-\w+' does not exist on redis://"):
        source.start(None)
    key = "not-a-stream-" + uuid.uuid4().hex
    client = redis.Redis.from_url(redis_url)
    client.set(key, "1")
    try:
        with pytest.raises(NotFoundError, match="is a string, not a stream"):
            RedisStreamSource(redis_url, stream=key, group="g", consumer="c").start(None)
    finally:
        client.delete(key)
        client.close()
