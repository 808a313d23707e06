"""The narrow storage interface that every backend implements.

Domain features (best params, tuning history, metric series, alerts, explanations) are
written once above these few primitives, in the spirit of Optuna's ``JournalRedisBackend``:
a backend stores JSON values, time-series points, bounded lists, sets of names and
append-only streams, and applies a :class:`~mltrainer.store.Batch` of writes atomically,
nothing more. Which key
holds what is decided in one place, :mod:`mltrainer.store._records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from ._batch import Batch

__all__ = ["Store", "TimeLike"]

#: A point in time: an aware or naive (read as UTC) datetime, a ``pd.Timestamp``,
#: ``np.datetime64`` or epoch seconds as a number.
TimeLike: TypeAlias = "datetime | pd.Timestamp | float"


@runtime_checkable
class Store(Protocol):
    """A key-value, time-series, bounded-list, set and append-only stream store of JSON values.

    Keys, series, lists, sets and streams live in five separate namespaces. Every write is
    atomic and validates (JSON-encodes) its value before touching the backend; :meth:`write` applies
    several writes as one. Stores are context managers and safe to share between threads.

    Attributes
    ----------
    url : str
        The store URL with any password masked, safe to log.
    """

    url: str

    def get(self, key: str, default: Any = None) -> Any:
        """Return the JSON value stored under `key`, or `default` when there is none."""
        ...

    def put(self, key: str, value: Any) -> None:
        """Store the JSON-serialisable `value` under `key`, replacing any previous value."""
        ...

    def delete(self, key: str) -> bool:
        """Delete `key`; return whether it existed."""
        ...

    def keys(self, prefix: str = "") -> list[str]:
        """Return the sorted keys that start with `prefix` (without the backend prefix)."""
        ...

    def append(
        self,
        series: str,
        value: Any,
        *,
        timestamp: TimeLike | None = None,
        key: str | None = None,
    ) -> None:
        """Append a point to `series` at `timestamp` (default: now, UTC).

        With a point `key`, the point of `series` written earlier with that key is replaced
        (removed, and this one added), so writing the same keyed point twice keeps one.
        """
        ...

    def range(
        self,
        series: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[datetime, Any]]:
        """Return ``(UTC datetime, value)`` points with ``start <= t <= end``, ascending.

        With `limit`, only the last `limit` points of that window are returned. Points at
        the same timestamp are all kept: unkeyed ones in insertion order, then keyed ones
        by key.
        """
        ...

    def trim(
        self, series: str, *, before: TimeLike | None = None, keep_last: int | None = None
    ) -> int:
        """Delete points with ``t < before`` and all but the newest `keep_last`; return the count.

        With neither argument nothing is deleted. Used for the retention of metric series.
        """
        ...

    def push(self, key: str, value: Any, *, max_len: int) -> None:
        """Prepend `value` to the list `key` and trim it to `max_len` items, atomically."""
        ...

    def recent(self, key: str, n: int | None = None) -> list[Any]:
        """Return the newest `n` items (all when None) of the list `key`, newest first."""
        ...

    def add_to_set(self, key: str, members: Iterable[str]) -> None:
        """Add the strings `members` to the set `key`; concurrent adders never lose one."""
        ...

    def set_members(self, key: str) -> list[str]:
        """Return the sorted members of the set `key` (empty when there is none)."""
        ...

    def stream_add(
        self,
        stream: str,
        values: Sequence[Any],
        *,
        max_len: int | None = None,
        min_time: TimeLike | None = None,
    ) -> list[str]:
        """Add `values` as new entries of the append-only `stream`, in order; return their ids.

        Entry ids are ``"<ms>-<seq>"`` (Redis stream ids): the UTC epoch millisecond the
        entry was added, then a sequence number; they increase within a stream and are never
        reused. An entry is never changed once added. Retention runs in the same transaction:
        `max_len` keeps the newest entries, `min_time` removes those added before it. Redis:
        ``XADD ... MAXLEN`` and ``XTRIM ... MINID`` in one ``MULTI``/``EXEC``; SQLite: one
        transaction on an append-only table (updates are refused by a trigger).
        """
        ...

    def stream_range(
        self,
        stream: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[str, Any]]:
        """Return ``(entry id, value)`` of entries added at ``start <= t <= end``, ascending.

        With `limit`, only the newest `limit` entries of that window are returned.
        """
        ...

    def stream_get(self, stream: str, entry_id: str) -> Any:
        """Return the value of the entry `entry_id` of `stream`, or None when there is none."""
        ...

    def write(self, batch: Batch) -> None:
        """Apply every write of `batch`, in order, in one transaction: all of them or none.

        SQLite: one ``BEGIN IMMEDIATE`` transaction. Redis: one ``MULTI``/``EXEC`` (which the
        server applies as a unit, journals as a unit in its AOF and never snapshots halfway).
        """
        ...

    def close(self) -> None:
        """Release the connection; further calls raise ``StoreError``. Idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
