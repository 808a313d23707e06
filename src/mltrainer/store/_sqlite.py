"""The embedded default backend: one SQLite file (stdlib ``sqlite3``), WAL mode.

Tables (the ``ns`` column holds the store's prefix): ``store_kv (ns, key, value)``;
``store_series (seq, ns, series, ts, value, pkey)`` with a unique ``(ns, series, pkey)`` for
keyed points; ``store_lists (seq, ns, key, value)``; ``store_sets (ns, key, member)``;
append-only streams in ``store_streams (ns, stream, ms, seq, value)`` (a trigger refuses any
``UPDATE``: entries are only ever added, and removed by retention) with the last id given out
per stream in ``store_stream_ids`` (so ids never go back, even when every entry was trimmed).
Values are JSON text; ``ts`` is epoch seconds (UTC); ``seq`` orders ties by insertion.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from mltrainer._logging import logger
from mltrainer.exceptions import StoreError

from ._batch import Add, Append, Batch, BatchWrites, Op, Push, Put, Trim, ops_of, trim_op
from ._checks import check_count, check_name
from ._codec import decode
from ._streams import StreamAdd, check_entry_id, ms_bounds, next_id, stream_add_op
from ._timestamps import from_epoch, to_epoch

if TYPE_CHECKING:
    from ._protocol import TimeLike

__all__ = ["SQLiteStore"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_kv (
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_series (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL, series TEXT NOT NULL, ts REAL NOT NULL, value TEXT NOT NULL,
    pkey TEXT
);
CREATE INDEX IF NOT EXISTS store_series_idx ON store_series (ns, series, ts, seq);
CREATE TABLE IF NOT EXISTS store_lists (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS store_lists_idx ON store_lists (ns, key, seq);
CREATE TABLE IF NOT EXISTS store_sets (
    ns TEXT NOT NULL, key TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (ns, key, member)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_streams (
    ns TEXT NOT NULL, stream TEXT NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (ns, stream, ms, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_stream_ids (
    ns TEXT NOT NULL, stream TEXT NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (ns, stream)
) WITHOUT ROWID;
"""

# a stream entry is never rewritten: only INSERT (add) and DELETE (retention) touch the table
_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS store_streams_append_only BEFORE UPDATE ON store_streams "
    "BEGIN SELECT RAISE(ABORT, 'store_streams is append-only: entries are never rewritten'); "
    "END"
)

# points by time; at one time unkeyed points in insertion order, then keyed ones by key
# (the order of a Redis sorted set, whose keyed members sort after the numbered ones)
_ORDER = "ts, pkey IS NOT NULL, pkey, seq"
_ORDER_DESC = "ts DESC, pkey IS NOT NULL DESC, pkey DESC, seq DESC"

# created after the migration below, since a file written before keyed points lacks `pkey`
_KEYED_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS store_series_key ON store_series (ns, series, pkey) "
    "WHERE pkey IS NOT NULL"
)


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(store_series)")}
    if "pkey" not in columns:  # a store file from before keyed points: add the column
        conn.execute("ALTER TABLE store_series ADD COLUMN pkey TEXT")
    conn.execute(_KEYED_INDEX)
    conn.execute(_APPEND_ONLY)


def _set_pragmas(timeout: float) -> Callable[[sqlite3.Connection], None]:
    def set_pragmas(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")  # persistent; readers never block writers

    return set_pragmas


def _trim(conn: sqlite3.Connection, ns: str, op: Trim) -> int:
    deleted = 0
    if op.before is not None:
        deleted += conn.execute(
            "DELETE FROM store_series WHERE ns = ? AND series = ? AND ts < ?",
            (ns, op.series, op.before),
        ).rowcount
    if op.keep_last is not None:
        deleted += conn.execute(
            "DELETE FROM store_series WHERE ns = ? AND series = ? AND seq NOT IN (SELECT "
            f"seq FROM store_series WHERE ns = ? AND series = ? ORDER BY {_ORDER_DESC} LIMIT ?)",
            (ns, op.series, ns, op.series, op.keep_last),
        ).rowcount
    return deleted


def _stream_add(conn: sqlite3.Connection, ns: str, op: StreamAdd) -> list[str]:
    """Insert the entries with increasing ids, then apply the retention (one transaction)."""
    row = conn.execute(
        "SELECT ms, seq FROM store_stream_ids WHERE ns = ? AND stream = ?", (ns, op.stream)
    ).fetchone()
    last: tuple[int, int] | None = None if row is None else (int(row[0]), int(row[1]))
    now_ms = time.time_ns() // 1_000_000
    rows = []
    for payload in op.payloads:
        last = next_id(last, now_ms)
        rows.append((ns, op.stream, last[0], last[1], payload))
    conn.executemany(
        "INSERT INTO store_streams (ns, stream, ms, seq, value) VALUES (?, ?, ?, ?, ?)", rows
    )
    if last is not None:
        conn.execute(
            "INSERT OR REPLACE INTO store_stream_ids (ns, stream, ms, seq) VALUES (?, ?, ?, ?)",
            (ns, op.stream, last[0], last[1]),
        )
    if op.min_ms is not None:
        conn.execute(
            "DELETE FROM store_streams WHERE ns = ? AND stream = ? AND ms < ?",
            (ns, op.stream, op.min_ms),
        )
    if op.max_len is not None:
        conn.execute(
            "DELETE FROM store_streams WHERE ns = ? AND stream = ? AND (ms, seq) <= (SELECT ms, "
            "seq FROM store_streams WHERE ns = ? AND stream = ? ORDER BY ms DESC, seq DESC "
            "LIMIT 1 OFFSET ?)",
            (ns, op.stream, ns, op.stream, op.max_len),
        )
    return [f"{ms}-{seq}" for _, _, ms, seq, _ in rows]


def _apply(conn: sqlite3.Connection, ns: str, op: Op) -> None:
    """Run one write of a batch inside the caller's transaction."""
    if isinstance(op, Put):
        conn.execute(
            "INSERT OR REPLACE INTO store_kv (ns, key, value) VALUES (?, ?, ?)",
            (ns, op.key, op.payload),
        )
    elif isinstance(op, Append):
        if op.point_key is not None:
            conn.execute(
                "DELETE FROM store_series WHERE ns = ? AND series = ? AND pkey = ?",
                (ns, op.series, op.point_key),
            )
        conn.execute(
            "INSERT INTO store_series (ns, series, ts, value, pkey) VALUES (?, ?, ?, ?, ?)",
            (ns, op.series, op.ts, op.payload, op.point_key),
        )
    elif isinstance(op, Push):
        conn.execute(
            "INSERT INTO store_lists (ns, key, value) VALUES (?, ?, ?)", (ns, op.key, op.payload)
        )
        conn.execute(
            "DELETE FROM store_lists WHERE ns = ? AND key = ? AND seq <= (SELECT seq FROM "
            "store_lists WHERE ns = ? AND key = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (ns, op.key, ns, op.key, op.max_len),
        )
    elif isinstance(op, Add):
        conn.executemany(
            "INSERT OR IGNORE INTO store_sets (ns, key, member) VALUES (?, ?, ?)",
            [(ns, op.key, member) for member in op.members],
        )
    else:
        _trim(conn, ns, op)


class SQLiteStore(BatchWrites):
    """A :class:`Store` in one SQLite database file, safe across threads and processes.

    One connection guarded by a lock serves all threads; WAL mode and a busy timeout let
    several processes read and write the same file. Every primitive is one transaction.
    The `prefix` is stored in a namespace column, so tenants can share one file.

    Parameters
    ----------
    path : str or Path
        Database file (its parent directory is created) or ``":memory:"``.
    prefix : str, default "mltrainer"
        Namespace isolating this store's keys, series and lists from other prefixes.
    timeout : float, default 30.0
        Seconds to wait for another process's write lock before failing.

    Attributes
    ----------
    url : str
        ``sqlite:///`` + `path`.
    prefix : str
        The namespace.
    """

    def __init__(
        self, path: str | Path, *, prefix: str = "mltrainer", timeout: float = 30.0
    ) -> None:
        self.prefix = check_name(prefix, name="prefix")
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open SQLite store {self.url!r} ({exc}); check that the directory "
                "is writable or pass another sqlite:/// path"
            ) from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            self._transaction("open", self.path, _set_pragmas(timeout), write=False)
            self._transaction("open", self.path, _create_schema)
        except BaseException:
            self.close()
            raise
        logger.debug("opened SQLite store %s (prefix %r)", self.url, self.prefix)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r}, prefix={self.prefix!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"Store {self.url!r} is closed; open a new one with open_store()")
        return self._conn

    def _transaction(
        self, op: str, name: str, work: Callable[[sqlite3.Connection], _T], *, write: bool = True
    ) -> _T:
        """Run `work` under the lock; writes in one ``BEGIN IMMEDIATE`` transaction."""
        with self._lock:
            conn = self._connection()
            try:
                if not write:  # a single SELECT is already one consistent snapshot
                    return work(conn)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"SQLite {op} of {name!r} failed in {self.url!r} ({exc}); check that the "
                    "file is writable and not locked by a stuck process"
                ) from exc
            return result

    def _rows(self, op: str, name: str, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._transaction(op, name, lambda c: c.execute(sql, params).fetchall(), write=False)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the JSON value stored under `key`, or `default` when there is none."""
        check_name(key, name="key")
        sql = "SELECT value FROM store_kv WHERE ns = ? AND key = ?"
        rows = self._rows("get", key, sql, (self.prefix, key))
        return decode(rows[0][0]) if rows else default

    def delete(self, key: str) -> bool:
        """Delete `key`; return whether it existed."""
        check_name(key, name="key")
        sql = "DELETE FROM store_kv WHERE ns = ? AND key = ?"
        return self._transaction(
            "delete", key, lambda c: c.execute(sql, (self.prefix, key)).rowcount > 0
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Return the sorted keys that start with `prefix`."""
        check_name(prefix, name="prefix", allow_empty=True)
        sql = "SELECT key FROM store_kv WHERE ns = ? AND substr(key, 1, ?) = ?"
        rows = self._rows("keys", prefix, sql, (self.prefix, len(prefix), prefix))
        return sorted(row[0] for row in rows)

    def range(
        self,
        series: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[datetime, Any]]:
        """Return ``(UTC datetime, value)`` points with ``start <= t <= end``, ascending."""
        check_name(series, name="series")
        lo = float("-inf") if start is None else to_epoch(start, name="start")
        hi = float("inf") if end is None else to_epoch(end, name="end")
        where = "ns = ? AND series = ? AND ts >= ? AND ts <= ?"
        params: tuple[Any, ...] = (self.prefix, series, lo, hi)
        if limit is None:
            sql = f"SELECT ts, value FROM store_series WHERE {where} ORDER BY {_ORDER}"
        else:
            params = (*params, check_count(limit, name="limit", minimum=0))
            sql = (
                f"SELECT ts, value FROM (SELECT ts, seq, pkey, value FROM store_series WHERE "
                f"{where} ORDER BY {_ORDER_DESC} LIMIT ?) ORDER BY {_ORDER}"
            )
        rows = self._rows("range", series, sql, params)
        return [(from_epoch(ts), decode(value)) for ts, value in rows]

    def trim(
        self, series: str, *, before: TimeLike | None = None, keep_last: int | None = None
    ) -> int:
        """Delete points with ``t < before`` and all but the newest `keep_last`; return count."""
        op = trim_op(series, before=before, keep_last=keep_last)
        return self._transaction("trim", series, lambda conn: _trim(conn, self.prefix, op))

    def recent(self, key: str, n: int | None = None) -> list[Any]:
        """Return the newest `n` items (all when None) of the list `key`, newest first."""
        check_name(key, name="key")
        count = -1 if n is None else check_count(n, name="n", minimum=0)
        sql = "SELECT value FROM store_lists WHERE ns = ? AND key = ? ORDER BY seq DESC LIMIT ?"
        rows = self._rows("recent", key, sql, (self.prefix, key, count))
        return [decode(row[0]) for row in rows]

    def set_members(self, key: str) -> list[str]:
        """Return the sorted members of the set `key` (empty when there is none)."""
        check_name(key, name="key")
        sql = "SELECT member FROM store_sets WHERE ns = ? AND key = ? ORDER BY member"
        return [row[0] for row in self._rows("set_members", key, sql, (self.prefix, key))]

    def stream_add(
        self,
        stream: str,
        values: Sequence[Any],
        *,
        max_len: int | None = None,
        min_time: TimeLike | None = None,
    ) -> list[str]:
        """Add `values` as new entries of `stream`; return their ids (one transaction)."""
        op = stream_add_op(stream, values, max_len=max_len, min_time=min_time)
        if not op.payloads and op.max_len is None and op.min_ms is None:
            return []
        return self._transaction("stream_add", stream, lambda c: _stream_add(c, self.prefix, op))

    def stream_range(
        self,
        stream: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[str, Any]]:
        """Return ``(entry id, value)`` of entries added at ``start <= t <= end``, ascending."""
        check_name(stream, name="stream")
        lo, hi = ms_bounds(start, end)
        where = "ns = ? AND stream = ? AND ms >= ? AND ms <= ?"
        params: tuple[Any, ...] = (
            self.prefix,
            stream,
            -(2**63) if lo is None else lo,
            2**63 - 1 if hi is None else hi,
        )
        if limit is None:
            sql = f"SELECT ms, seq, value FROM store_streams WHERE {where} ORDER BY ms, seq"
        else:
            params = (*params, check_count(limit, name="limit", minimum=0))
            sql = (
                f"SELECT ms, seq, value FROM (SELECT ms, seq, value FROM store_streams WHERE "
                f"{where} ORDER BY ms DESC, seq DESC LIMIT ?) ORDER BY ms, seq"
            )
        rows = self._rows("stream_range", stream, sql, params)
        return [(f"{ms}-{seq}", decode(value)) for ms, seq, value in rows]

    def stream_get(self, stream: str, entry_id: str) -> Any:
        """Return the value of the entry `entry_id` of `stream`, or None when there is none."""
        check_name(stream, name="stream")
        ms, seq = check_entry_id(entry_id)
        sql = "SELECT value FROM store_streams WHERE ns = ? AND stream = ? AND ms = ? AND seq = ?"
        rows = self._rows("stream_get", stream, sql, (self.prefix, stream, ms, seq))
        return decode(rows[0][0]) if rows else None

    def write(self, batch: Batch) -> None:
        """Apply every write of `batch`, in order, in one ``BEGIN IMMEDIATE`` transaction."""
        ops, what = ops_of(batch)
        if not ops:
            return

        def work(conn: sqlite3.Connection) -> None:
            for op in ops:
                _apply(conn, self.prefix, op)

        self._transaction("write", what, work)

    def close(self) -> None:
        """Close the connection; further calls raise ``StoreError``. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
