"""The narrow storage interface that every backend implements.

Domain features (best params, tuning history, metric series, alerts, explanations) are
written once above these few primitives, in the spirit of Optuna's ``JournalRedisBackend``:
a backend stores JSON values, time-series points and bounded lists, nothing more.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Store", "TimeLike"]

#: A point in time: an aware or naive (read as UTC) datetime, a ``pd.Timestamp``,
#: ``np.datetime64`` or epoch seconds as a number.
TimeLike: TypeAlias = "datetime | pd.Timestamp | float"


@runtime_checkable
class Store(Protocol):
    """A key-value, time-series and bounded-list store of JSON values.

    Keys, series and lists live in three separate namespaces. Every write is atomic and
    validates (JSON-encodes) its value before touching the backend. Stores are context
    managers and safe to share between threads.

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

    def append(self, series: str, value: Any, *, timestamp: TimeLike | None = None) -> None:
        """Append a point to `series` at `timestamp` (default: now, UTC)."""
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
        the same timestamp are all kept, in insertion order.
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
