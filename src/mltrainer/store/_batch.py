"""A batch of writes that a store applies together: all of them or none.

:class:`Batch` collects the same verbs as the :class:`~mltrainer.store.Store` (``put``,
``append``, ``push``, ``add_to_set``, ``trim``), validating and JSON-encoding each one as it
is added, so a bad value fails before any I/O. ``store.write(batch)`` then applies them in
order in one SQLite transaction or one Redis ``MULTI``/``EXEC``. The single-write verbs of
both backends are one-operation batches (:class:`BatchWrites`), so there is one write path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeAlias

from mltrainer.exceptions import ConfigError

from ._checks import check_count, check_name
from ._codec import encode
from ._timestamps import now_epoch, to_epoch

if TYPE_CHECKING:
    from ._protocol import TimeLike

__all__ = [
    "Add",
    "Append",
    "Batch",
    "BatchWrites",
    "Op",
    "Push",
    "Put",
    "Trim",
    "ops_of",
    "trim_op",
]


@dataclass(frozen=True)
class Put:
    """Set the value of `key` (JSON text in `payload`)."""

    key: str
    payload: str


@dataclass(frozen=True)
class Append:
    """A point of `series` at epoch seconds `ts`; a `point_key` replaces its earlier point."""

    series: str
    ts: float
    payload: str
    point_key: str | None


@dataclass(frozen=True)
class Push:
    """Prepend to the list `key`, then keep its newest `max_len` items."""

    key: str
    payload: str
    max_len: int


@dataclass(frozen=True)
class Add:
    """Add `members` to the set `key` (members already there are kept once)."""

    key: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Trim:
    """Delete points of `series` older than `before` and all but the newest `keep_last`."""

    series: str
    before: float | None
    keep_last: int | None


Op: TypeAlias = Put | Append | Push | Add | Trim


def _member(value: Any, *, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} member {value!r} is invalid; pass non-empty strings")
    return value


def trim_op(series: str, *, before: TimeLike | None, keep_last: int | None) -> Trim:
    """Validate a trim request (shared by :meth:`Batch.trim` and the backends' ``trim``)."""
    check_name(series, name="series")
    lo = None if before is None else to_epoch(before, name="before")
    keep = None if keep_last is None else check_count(keep_last, name="keep_last", minimum=0)
    return Trim(series, lo, keep)


class Batch:
    """Writes to apply together with ``store.write(batch)``: all of them, in order, or none.

    Every method validates its arguments and encodes its value at once (raising
    ``ConfigError`` or ``StoreError`` before anything is written) and returns the batch, so
    calls chain.

    Examples
    --------
    >>> from mltrainer.store import open_store
    >>> batch = Batch().put("k", {"a": 1}).append("s", 0.5, timestamp=0.0, key="run-1")
    >>> with open_store("sqlite:///:memory:") as store:
    ...     store.write(batch.add_to_set("names", ["s"]))
    ...     store.get("k"), store.range("s")[0][1], store.set_members("names")
    ({'a': 1}, 0.5, ['s'])
    """

    def __init__(self) -> None:
        self._ops: list[Op] = []

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self._ops)

    def __repr__(self) -> str:
        return f"Batch({len(self._ops)} writes)"

    def put(self, key: str, value: Any) -> Self:
        """Store `value` under `key`, replacing any previous value."""
        self._ops.append(Put(key, encode(check_name(key, name="key"), value)))
        return self

    def append(
        self,
        series: str,
        value: Any,
        *,
        timestamp: TimeLike | None = None,
        key: str | None = None,
    ) -> Self:
        """Add a point to `series` at `timestamp` (default: now, UTC).

        With a point `key`, an earlier point of `series` with the same key is replaced (it
        is removed and this one added), so writing the same point twice keeps one.
        """
        payload = encode(check_name(series, name="series"), value)
        ts = now_epoch() if timestamp is None else to_epoch(timestamp, name="timestamp")
        point_key = None if key is None else check_name(key, name="point key")
        self._ops.append(Append(series, ts, payload, point_key))
        return self

    def push(self, key: str, value: Any, *, max_len: int) -> Self:
        """Prepend `value` to the list `key` and trim it to `max_len` items."""
        payload = encode(check_name(key, name="key"), value)
        self._ops.append(Push(key, payload, check_count(max_len, name="max_len", minimum=1)))
        return self

    def add_to_set(self, key: str, members: Iterable[str]) -> Self:
        """Add the strings `members` to the set `key` (no duplicates, no lost updates)."""
        check_name(key, name="key")
        if isinstance(members, str):
            raise ConfigError(f"members of set {key!r} must be an iterable of strings, not a str")
        names = tuple(dict.fromkeys(_member(m, name=f"set {key!r}") for m in members))
        if names:
            self._ops.append(Add(key, names))
        return self

    def trim(
        self, series: str, *, before: TimeLike | None = None, keep_last: int | None = None
    ) -> Self:
        """Delete points with ``t < before`` and all but the newest `keep_last`."""
        op = trim_op(series, before=before, keep_last=keep_last)
        if op.before is not None or op.keep_last is not None:
            self._ops.append(op)
        return self


def ops_of(batch: Batch) -> tuple[list[Op], str]:
    """The operations of `batch` and a short name of what it writes, for error messages."""
    if not isinstance(batch, Batch):
        raise ConfigError(
            f"write() takes a Batch, got {type(batch).__name__}; build one with Batch()"
        )
    ops = list(batch)
    if not ops:
        return ops, ""
    first = ops[0]
    name = first.series if isinstance(first, Append | Trim) else first.key
    return ops, name if len(ops) == 1 else f"{name} (and {len(ops) - 1} more writes)"


class BatchWrites:
    """The single-write verbs of a store, each a one-operation :class:`Batch`."""

    def write(self, batch: Batch) -> None:  # implemented by each backend
        raise NotImplementedError

    def put(self, key: str, value: Any) -> None:
        """Store the JSON-serialisable `value` under `key`, replacing any previous value."""
        self.write(Batch().put(key, value))

    def append(
        self,
        series: str,
        value: Any,
        *,
        timestamp: TimeLike | None = None,
        key: str | None = None,
    ) -> None:
        """Append a point to `series` at `timestamp` (default: now, UTC).

        With a point `key`, the point of `series` written earlier with that key is replaced.
        """
        self.write(Batch().append(series, value, timestamp=timestamp, key=key))

    def push(self, key: str, value: Any, *, max_len: int) -> None:
        """Prepend `value` to the list `key` and trim it to `max_len` items, atomically."""
        self.write(Batch().push(key, value, max_len=max_len))

    def add_to_set(self, key: str, members: Iterable[str]) -> None:
        """Add the strings `members` to the set `key`; concurrent adders never lose one."""
        self.write(Batch().add_to_set(key, members))
