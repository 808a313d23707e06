"""Conformance of every store backend (SQLite and real Redis) plus URL handling."""

from __future__ import annotations

import json
import math
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import redis

from mltrainer.exceptions import ConfigError, StoreError
from mltrainer.store import Batch, RedisStore, SQLiteStore, Store, open_store
from mltrainer.store._streams import check_entry_id, entry_time
from mltrainer.store._urls import mask_password

T0 = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

_WORKER = """
import sys
from mltrainer.store import open_store
url, prefix, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open_store(url, prefix=prefix) as store:
    for i in range(n):
        store.append("shared", {"w": worker, "i": i}, timestamp=1_700_000_000.0 + i)
        store.push("log", [worker, i], max_len=1000)
        store.add_to_set("names", [f"w{worker}-{i}", "common"])
"""

# the schema of a store file written before keyed points and sets existed
_OLD_SQLITE_SCHEMA = """
CREATE TABLE store_kv (
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE TABLE store_series (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL, series TEXT NOT NULL, ts REAL NOT NULL, value TEXT NOT NULL
);
CREATE INDEX store_series_idx ON store_series (ns, series, ts, seq);
CREATE TABLE store_lists (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL
);
CREATE INDEX store_lists_idx ON store_lists (ns, key, seq);
INSERT INTO store_series (ns, series, ts, value) VALUES ('old', 's', 1.0, '{"value": 1}');
INSERT INTO store_kv (ns, key, value) VALUES ('old', 'k', '[1]');
"""


class TestStoreConformance:
    """One behaviour, every backend: each test runs on ``sqlite`` and ``redis``."""

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert isinstance(store, SQLiteStore | RedisStore)

    def test_get_put_overwrite_delete(self, store: Store) -> None:
        assert store.get("best") is None
        assert store.get("best", default={"none": True}) == {"none": True}
        store.put("best", {"lr": 0.1})
        assert store.get("best") == {"lr": 0.1}
        store.put("best", [1, 2])
        assert store.get("best") == [1, 2]
        store.put("falsy", 0)
        assert store.get("falsy", default=5) == 0
        assert store.delete("best") is True
        assert store.delete("best") is False
        assert store.get("best") is None

    def test_keys_sorted_and_filtered_by_prefix(self, store: Store) -> None:
        for key in ["params/xgb", "params/lgbm", "alerts/1", "params*[x]", "é/1"]:
            store.put(key, 1)
        store.append("params/series", 1.0)  # other namespaces are not keys
        store.push("params/list", 1, max_len=3)
        assert store.keys() == ["alerts/1", "params*[x]", "params/lgbm", "params/xgb", "é/1"]
        assert store.keys("params/") == ["params/lgbm", "params/xgb"]
        assert store.keys("params*") == ["params*[x]"]
        assert store.keys("nothing") == []

    def test_json_round_trip(self, store: Store) -> None:
        value = {
            "nested": {"a": [1, {"b": None, "c": True}], "s": "ü"},
            "i64": np.int64(7),
            "f32": np.float32(1.5),
            "flag": np.bool_(True),
            "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
            "nan_arr": np.array([np.nan, 1.0]),
            "nan": float("nan"),
            "inf": -math.inf,
            "when": pd.Timestamp("2024-01-02 03:04:05", tz="UTC"),
            "day": np.datetime64("2024-01-02"),
            "tuple": (1, 2),
        }
        store.put("v", value)
        got = store.get("v")
        assert got["nested"] == {"a": [1, {"b": None, "c": True}], "s": "ü"}
        assert (got["i64"], got["f32"], got["flag"]) == (7, 1.5, True)
        assert type(got["i64"]) is int
        assert got["arr"] == [[0, 1, 2], [3, 4, 5]]
        assert math.isnan(got["nan_arr"][0])
        assert got["nan_arr"][1] == 1.0
        assert math.isnan(got["nan"])
        assert got["inf"] == -math.inf
        assert got["when"] == "2024-01-02T03:04:05+00:00"
        assert got["day"] == "2024-01-02"
        assert got["tuple"] == [1, 2]

    def test_append_and_range_with_bounds_and_limit(self, store: Store) -> None:
        for i in range(10):
            store.append("loss", i, timestamp=T0 + timedelta(seconds=i))
        points = store.range("loss")
        assert [v for _, v in points] == list(range(10))
        assert [t for t, _ in points] == [T0 + timedelta(seconds=i) for i in range(10)]
        assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t, _ in points)
        start, end = T0 + timedelta(seconds=2), T0 + timedelta(seconds=5)
        assert [v for _, v in store.range("loss", start, end)] == [2, 3, 4, 5]  # inclusive
        assert [v for _, v in store.range("loss", start)] == list(range(2, 10))
        assert [v for _, v in store.range("loss", end=end)] == list(range(6))
        assert [v for _, v in store.range("loss", limit=3)] == [7, 8, 9]  # the last three
        assert [v for _, v in store.range("loss", start, end, limit=2)] == [4, 5]
        assert store.range("loss", limit=0) == []
        assert [v for _, v in store.range("loss", limit=50)] == list(range(10))
        assert store.range("loss", end, start) == []
        assert store.range("missing") == []

    def test_equal_timestamps_kept_in_insertion_order(self, store: Store) -> None:
        for value in ["a", "b", "a", "c"]:
            store.append("s", value, timestamp=T0)
        store.append("s", "early", timestamp=T0 - timedelta(seconds=1))
        assert [v for _, v in store.range("s")] == ["early", "a", "b", "a", "c"]
        assert [v for _, v in store.range("s", T0, T0)] == ["a", "b", "a", "c"]
        assert [v for _, v in store.range("s", limit=2)] == ["a", "c"]

    def test_timestamp_types(self, store: Store) -> None:
        epoch = T0.timestamp()
        store.append("t", "aware", timestamp=T0.astimezone(timezone(timedelta(hours=2))))
        store.append("t", "naive-is-utc", timestamp=T0.replace(tzinfo=None))
        store.append("t", "timestamp", timestamp=pd.Timestamp(T0))
        store.append("t", "float", timestamp=epoch)
        store.append("t", "dt64", timestamp=np.datetime64(T0.replace(tzinfo=None), "us"))
        points = store.range("t", start=epoch, end=pd.Timestamp(T0))
        assert len(points) == 5
        assert {t for t, _ in points} == {T0}
        before = datetime.now(UTC)
        store.append("now", 1)
        ((stamp, _),) = store.range("now")
        assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
        with pytest.raises(ConfigError, match="timestamp='2024-01-01'"):
            store.append("t", 1, timestamp=cast(Any, "2024-01-01"))
        with pytest.raises(ConfigError, match="timestamp=nan"):
            store.append("t", 1, timestamp=math.nan)
        assert len(store.range("t")) == 5

    def test_push_and_recent_trim(self, store: Store) -> None:
        for i in range(7):
            store.push("alerts", {"i": i}, max_len=5)
        assert store.recent("alerts") == [{"i": i} for i in (6, 5, 4, 3, 2)]
        assert store.recent("alerts", 2) == [{"i": 6}, {"i": 5}]
        assert store.recent("alerts", 0) == []
        assert store.recent("alerts", 99) == store.recent("alerts")
        store.push("alerts", "x", max_len=2)  # a smaller bound trims the older items
        assert store.recent("alerts") == ["x", {"i": 6}]
        assert store.recent("missing") == []

    def test_keep_last_and_before(self, store: Store) -> None:
        for i in range(10):
            store.append("s", i, timestamp=T0 + timedelta(seconds=i))
        store.append("s", "tie", timestamp=T0 + timedelta(seconds=9))
        store.append("other", 1, timestamp=T0)
        assert store.trim("s") == 0
        assert store.trim("s", keep_last=5) == 6
        assert [v for _, v in store.range("s")] == [6, 7, 8, 9, "tie"]
        assert store.trim("s", before=T0 + timedelta(seconds=8)) == 2  # strictly older
        assert [v for _, v in store.range("s")] == [8, 9, "tie"]
        assert store.trim("s", before=T0 + timedelta(seconds=9), keep_last=1) == 2
        assert [v for _, v in store.range("s")] == ["tie"]
        assert store.trim("s", keep_last=0) == 1
        assert store.range("s") == []
        assert store.range("other") == [(T0, 1)]
        assert store.trim("missing", keep_last=3) == 0

    def test_trim_bad_arguments(self, store: Store) -> None:
        with pytest.raises(ConfigError, match="keep_last=-1"):
            store.trim("s", keep_last=-1)
        with pytest.raises(ConfigError, match="before="):
            store.trim("s", before=math.nan)

    def test_keyed_points_are_replaced_not_duplicated(self, store: Store) -> None:
        store.append("s", "plain", timestamp=T0)
        store.append("s", "plain", timestamp=T0)  # unkeyed points are all kept
        store.append("s", {"v": 1}, timestamp=T0, key="run-1")
        store.append("s", {"v": 2}, timestamp=T0, key="run-1")  # replaces run-1
        store.append("s", {"v": 3}, timestamp=T0, key="run-0")
        store.append("other", {"v": 9}, timestamp=T0, key="run-1")  # keys are per series
        # at one time: unkeyed points in insertion order, then keyed ones by key
        assert [v for _, v in store.range("s")] == ["plain", "plain", {"v": 3}, {"v": 2}]
        assert store.range("other") == [(T0, {"v": 9})]
        later = T0 + timedelta(seconds=5)
        store.append("s", {"v": 4}, timestamp=later, key="run-0")  # the key moves in time
        assert store.range("s", limit=1) == [(later, {"v": 4})]
        assert [v for _, v in store.range("s", end=T0)] == ["plain", "plain", {"v": 2}]
        assert [v for _, v in store.range("s", limit=3)] == ["plain", {"v": 2}, {"v": 4}]

    def test_trim_removes_keyed_points_for_good(self, store: Store) -> None:
        for i in range(6):
            store.append("s", i, timestamp=T0 + timedelta(seconds=i), key=f"k{i}")
        store.append("s", "plain", timestamp=T0 + timedelta(seconds=2))
        assert store.trim("s", before=T0 + timedelta(seconds=2)) == 2
        assert store.trim("s", keep_last=3) == 2  # "plain" and k2 (the oldest left)
        assert [v for _, v in store.range("s")] == [3, 4, 5]
        store.append("s", "again", timestamp=T0, key="k0")  # a trimmed key can be written anew
        assert [v for _, v in store.range("s")] == ["again", 3, 4, 5]
        assert store.trim("s", keep_last=0) == 4
        assert store.range("s") == []

    def test_sets_add_members_once(self, store: Store) -> None:
        assert store.set_members("names") == []
        store.add_to_set("names", ["b", "a", "b"])
        store.add_to_set("names", iter(["c", "a"]))
        store.add_to_set("names", [])
        assert store.set_members("names") == ["a", "b", "c"]
        store.put("names", "a value")  # sets are their own namespace
        assert store.set_members("names") == ["a", "b", "c"]
        assert store.keys() == ["names"]
        with pytest.raises(ConfigError, match="not a str"):
            store.add_to_set("names", "abc")
        with pytest.raises(ConfigError, match="member ''"):
            store.add_to_set("names", ["d", ""])
        assert store.set_members("names") == ["a", "b", "c"]

    def test_write_applies_a_batch_in_order(self, store: Store) -> None:
        batch = (
            Batch()
            .put("k", 1)
            .put("k", 2)
            .append("s", "a", timestamp=T0, key="p")
            .append("s", "b", timestamp=T0, key="p")
            .append("s", "old", timestamp=T0 - timedelta(days=1))
            .trim("s", before=T0)
            .push("l", "x", max_len=2)
            .push("l", "y", max_len=2)
            .push("l", "z", max_len=2)
            .add_to_set("names", ["n1", "n2"])
        )
        assert len(batch) == 10
        store.write(batch)
        assert store.get("k") == 2
        assert store.range("s") == [(T0, "b")]
        assert store.recent("l") == ["z", "y"]
        assert store.set_members("names") == ["n1", "n2"]
        store.write(Batch())  # nothing to do
        assert len(Batch().trim("s").add_to_set("names", [])) == 0  # no-op writes are dropped
        with pytest.raises(ConfigError, match="takes a Batch"):
            store.write(cast(Any, [("k", 1)]))

    def test_a_bad_write_fails_while_the_batch_is_built(self, store: Store) -> None:
        batch = Batch().put("k", 1)
        with pytest.raises(StoreError, match="'v'"):
            batch.put("v", object())
        with pytest.raises(ConfigError, match="point key=''"):
            batch.append("s", 1, timestamp=T0, key="")
        with pytest.raises(ConfigError, match="timestamp="):
            batch.append("s", 1, timestamp=math.inf)
        with pytest.raises(ConfigError, match="max_len=0"):
            batch.push("l", 1, max_len=0)
        store.write(batch)  # only the valid write was added
        assert store.get("k") == 1
        assert store.keys() == ["k"]

    def test_persistence_across_reopening(
        self, store_opener: Callable[..., Store], store: Store
    ) -> None:
        store.put("k", {"v": 1})
        store.append("s", 1.5, timestamp=T0)
        store.append("s", 2.5, timestamp=T0, key="p")
        store.push("l", "a", max_len=3)
        store.add_to_set("names", ["x"])
        store.close()
        with store_opener() as again:
            assert again.get("k") == {"v": 1}
            assert again.range("s") == [(T0, 1.5), (T0, 2.5)]
            assert again.recent("l") == ["a"]
            assert again.set_members("names") == ["x"]
            again.append("s", 3.5, timestamp=T0, key="p")
            assert again.range("s") == [(T0, 1.5), (T0, 3.5)]

    def test_prefix_isolation(self, store_opener: Callable[..., Store], store: Store) -> None:
        other = store_opener(prefix=f"{store_opener.prefix}-other")  # type: ignore[attr-defined]
        store.put("k", "mine")
        other.put("k", "theirs")
        other.put("only-other", 1)
        store.append("s", 1, timestamp=T0)
        other.push("l", 1, max_len=2)
        other.add_to_set("names", ["theirs"])
        other.append("keyed", 1, timestamp=T0, key="p")
        store.append("keyed", 2, timestamp=T0, key="p")
        assert store.set_members("names") == []
        assert other.range("keyed") == [(T0, 1)]
        assert store.range("keyed") == [(T0, 2)]
        assert store.get("k") == "mine"
        assert other.get("k") == "theirs"
        assert store.keys() == ["k"]
        assert other.keys() == ["k", "only-other"]
        assert other.range("s") == []
        assert store.recent("l") == []
        assert other.delete("k")
        assert store.get("k") == "mine"

    def test_unserialisable_value_raises_and_writes_nothing(self, store: Store) -> None:
        store.put("kept", 1)
        with pytest.raises(StoreError, match=r"'bad'.*Object of type object") as info:
            store.put("bad", {"x": [object()]})
        assert isinstance(info.value, TypeError)
        with pytest.raises(TypeError, match=r"'kept'.*Object of type set"):
            store.put("kept", {1, 2})
        with pytest.raises(StoreError, match=r"'series'"):
            store.append("series", np.array([object()], dtype=object)[0], timestamp=T0)
        with pytest.raises(StoreError, match=r"'lst'.*keys must be str"):
            store.push("lst", {np.int64(1): 2}, max_len=3)
        assert store.get("bad") is None
        assert store.get("kept") == 1
        assert store.keys() == ["kept"]
        assert store.range("series") == []
        assert store.recent("lst") == []

    def test_bad_arguments_name_the_parameter(self, store: Store) -> None:
        with pytest.raises(ConfigError, match="key=''"):
            store.put("", 1)
        with pytest.raises(ConfigError, match="max_len=0"):
            store.push("l", 1, max_len=0)
        with pytest.raises(ConfigError, match="limit=-1"):
            store.range("s", limit=-1)
        with pytest.raises(ConfigError, match="n=-2"):
            store.recent("l", -2)
        assert store.recent("l") == []

    def test_stream_entries_are_added_in_order_with_increasing_ids(self, store: Store) -> None:
        assert store.stream_range("decisions/m") == []
        first = store.stream_add("decisions/m", [{"i": 0}, {"i": 1}])
        more = store.stream_add("decisions/m", [{"i": 2, "x": [1.5, None]}])
        ids = first + more
        assert len(ids) == 3
        assert len(set(ids)) == 3
        keys = [check_entry_id(entry) for entry in ids]
        assert keys == sorted(keys)  # (ms, seq) only grow
        assert store.stream_range("decisions/m") == [
            (ids[0], {"i": 0}),
            (ids[1], {"i": 1}),
            (ids[2], {"i": 2, "x": [1.5, None]}),
        ]
        assert store.stream_get("decisions/m", ids[1]) == {"i": 1}
        assert store.stream_get("decisions/m", "1-0") is None
        assert store.stream_get("other", ids[1]) is None
        assert [v["i"] for _, v in store.stream_range("decisions/m", limit=2)] == [1, 2]
        assert store.stream_range("decisions/m", limit=0) == []
        assert store.stream_add("decisions/m", []) == []
        now = datetime.now(UTC)
        added = entry_time(ids[0])
        assert now - timedelta(minutes=1) <= added <= now
        assert len(store.stream_range("decisions/m", start=added, end=now)) == 3
        assert store.stream_range("decisions/m", start=now + timedelta(seconds=5)) == []
        assert store.stream_range("decisions/m", end=added - timedelta(seconds=5)) == []
        store.put("decisions/m", "a value")  # streams are their own namespace
        assert len(store.stream_range("decisions/m")) == 3

    def test_stream_retention_by_length_and_age_and_ids_never_reused(self, store: Store) -> None:
        ids = store.stream_add("s", list(range(5)), max_len=3)
        assert [v for _, v in store.stream_range("s")] == [2, 3, 4]
        ids += store.stream_add("s", [5], max_len=2)
        assert [v for _, v in store.stream_range("s")] == [4, 5]
        assert store.stream_get("s", ids[0]) is None  # trimmed for good
        later = entry_time(ids[-1]) + timedelta(seconds=1)
        assert store.stream_add("s", [], min_time=later) == []  # trim only
        assert store.stream_range("s") == []
        (again,) = store.stream_add("s", ["new"])
        assert check_entry_id(again) > check_entry_id(ids[-1])  # after an emptied stream too
        assert store.stream_range("s") == [(again, "new")]

    def test_stream_bad_input_writes_nothing(self, store: Store) -> None:
        with pytest.raises(ConfigError, match="must be a list"):
            store.stream_add("s", cast(Any, {"a": 1}))
        with pytest.raises(StoreError, match="'s'"):
            store.stream_add("s", [1, object()])
        with pytest.raises(ConfigError, match="max_len=0"):
            store.stream_add("s", [1], max_len=0)
        with pytest.raises(ConfigError, match="min_time="):
            store.stream_add("s", [1], min_time=math.nan)
        with pytest.raises(ConfigError, match="entry id 'abc'"):
            store.stream_get("s", "abc")
        with pytest.raises(ConfigError, match="limit=-1"):
            store.stream_range("s", limit=-1)
        assert store.stream_range("s") == []

    def test_stream_writers_in_threads_lose_nothing(
        self, store_opener: Callable[..., Store], store: Store
    ) -> None:
        n_threads, n_entries = 6, 20
        stores = [store if i % 2 else store_opener() for i in range(n_threads)]
        got: list[list[str]] = [[] for _ in range(n_threads)]

        def work(worker: int) -> None:
            for i in range(n_entries):
                got[worker] += stores[worker].stream_add("shared", [[worker, i]])

        threads = [threading.Thread(target=work, args=(w,)) for w in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = store.stream_range("shared")
        assert len({entry for entry, _ in entries}) == n_threads * n_entries
        assert sorted(entry for ids in got for entry in ids) == sorted(e for e, _ in entries)
        for w in range(n_threads):  # each writer's entries come back in its own order
            assert [v[1] for _, v in entries if v[0] == w] == list(range(n_entries))

    def test_closed_store_raises(self, store: Store) -> None:
        store.close()
        store.close()  # idempotent
        with pytest.raises(StoreError, match="is closed"):
            store.get("k")

    def test_threads_append_nothing_lost(
        self, store_opener: Callable[..., Store], store: Store
    ) -> None:
        n_threads, n_points = 8, 40
        stores = [store if i % 2 else store_opener() for i in range(n_threads)]

        def work(worker: int) -> None:
            for i in range(n_points):
                stores[worker].append("shared", [worker, i], timestamp=float(i))
                stores[worker].push("log", [worker, i], max_len=10_000)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        points = store.range("shared")
        assert len(points) == n_threads * n_points
        assert sorted(map(tuple, (v for _, v in points))) == [
            (w, i) for w in range(n_threads) for i in range(n_points)
        ]
        assert [t.timestamp() for t, _ in points] == sorted(t.timestamp() for t, _ in points)
        assert len(store.recent("log")) == n_threads * n_points

    def test_processes_append_nothing_lost(
        self, store_opener: Callable[..., Store], store: Store
    ) -> None:
        url, prefix = store_opener.url, store_opener.prefix  # type: ignore[attr-defined]
        n_procs, n_points = 3, 30
        procs = [
            subprocess.Popen([sys.executable, "-c", _WORKER, url, prefix, str(w), str(n_points)])
            for w in range(n_procs)
        ]
        assert [proc.wait(timeout=60) for proc in procs] == [0] * n_procs
        values = [(v["w"], v["i"]) for _, v in store.range("shared")]
        assert sorted(values) == [(w, i) for w in range(n_procs) for i in range(n_points)]
        for w in range(n_procs):  # each writer's points come back in its own order
            assert [i for ww, i in values if ww == w] == list(range(n_points))
        assert len(store.recent("log")) == n_procs * n_points
        names = {f"w{w}-{i}" for w in range(n_procs) for i in range(n_points)}
        assert store.set_members("names") == sorted(names | {"common"})  # no name lost


def test_sqlite_file_from_before_keyed_points_and_sets_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_OLD_SQLITE_SCHEMA)
    conn.close()
    with open_store(f"sqlite:///{path}", prefix="old") as store:
        assert store.range("s") == [(datetime.fromtimestamp(1.0, tz=UTC), {"value": 1})]
        assert store.get("k") == [1]
        store.append("s", "new", timestamp=2.0, key="p")
        store.append("s", "newer", timestamp=2.0, key="p")
        store.add_to_set("names", ["a"])
        assert [v for _, v in store.range("s")] == [{"value": 1}, "newer"]
        assert store.set_members("names") == ["a"]
    with open_store(f"sqlite:///{path}", prefix="old") as again:  # migrating twice is fine
        assert [v for _, v in again.range("s")] == [{"value": 1}, "newer"]


def test_sqlite_stream_table_refuses_updates(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(f"sqlite:///{path}") as store:
        (entry,) = store.stream_add("decisions/m", [{"p": 0.7}])
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE store_streams SET value = '{}'")
    finally:
        conn.close()
    with open_store(f"sqlite:///{path}") as store:
        assert store.stream_get("decisions/m", entry) == {"p": 0.7}


@pytest.mark.redis
def test_redis_stream_is_a_real_stream_other_services_can_read(redis_url: str) -> None:
    prefix = "test-stream-format"
    with open_store(redis_url, prefix=prefix) as store:
        ids = store.stream_add("decisions/m", [{"p": 0.7}, {"p": 0.2}], max_len=10)
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{prefix}:stream:decisions/m"
        assert client.type(key) == b"stream"
        raw = client.xrange(key)
        assert [entry.decode() for entry, _ in raw] == ids
        assert [json.loads(fields[b"json"]) for _, fields in raw] == [{"p": 0.7}, {"p": 0.2}]
    finally:
        client.delete(key)
        client.close()


def test_unknown_scheme_is_a_config_error_naming_url_and_schemes() -> None:
    with pytest.raises(ConfigError, match="mysql") as info:
        open_store("mysql://user:hunter2@db/x")
    message = str(info.value)
    assert "hunter2" not in message
    assert "user:***@db" in message
    assert all(scheme in message for scheme in ("sqlite", "redis", "rediss", "unix"))
    with pytest.raises(ConfigError, match="did you mean 'redis'"):
        open_store("reddis://localhost:6379/0")
    with pytest.raises(ConfigError, match=r"sqlite:///relative/path\.db"):
        open_store("sqlite://host/x.db")


def test_unreachable_redis_names_url_and_masks_password() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match="Cannot reach Redis") as info:
        open_store(f"redis://:s3cr3t-pw@127.0.0.1:{port}/0")
    message = str(info.value)
    assert "s3cr3t-pw" not in message
    assert f"redis://:***@127.0.0.1:{port}/0" in message
    assert "start redis-server" in message


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:p@ss@h/1", "rediss://user:***@h/1"),
        ("redis://token@h", "redis://***@h"),
        ("unix:///tmp/r.sock?db=0&password=pw", "unix:///tmp/r.sock?db=0&password=***"),
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_mask_password(url: str, masked: str) -> None:
    assert mask_password(url) == masked


def test_open_store_none_is_sqlite_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store() as store:
        assert isinstance(store, SQLiteStore)
        assert store.url == "sqlite:///mltrainer.db"
        store.put("k", 1)
    assert (tmp_path / "mltrainer.db").is_file()


def test_sqlite_paths(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "s.db"
    with open_store(f"sqlite:///{nested}") as store:
        store.put("k", 1)
    assert nested.is_file()
    with open_store("sqlite:///:memory:") as memory:
        memory.put("k", [1])
        assert memory.get("k") == [1]
