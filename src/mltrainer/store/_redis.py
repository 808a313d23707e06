"""The shared production backend: a real Redis server through redis-py.

Layout under ``{prefix}``: values at ``{prefix}:kv:{key}``; series in sorted sets
``{prefix}:ts:{series}`` scored by epoch seconds, each member ``{seq:020d}:{json}`` with
``seq`` from ``INCR {prefix}:seq`` so equal points at one time are all kept, in insertion
order; bounded lists at ``{prefix}:list:{key}``. Only core commands (no ``TS.*`` module).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import redis

from mltrainer._logging import logger
from mltrainer.exceptions import ConfigError, StoreError

from ._checks import check_count, check_name
from ._codec import decode, encode
from ._timestamps import from_epoch, now_epoch, to_epoch
from ._urls import mask_password, passwords_in

if TYPE_CHECKING:
    from ._protocol import TimeLike

__all__ = ["RedisStore"]

_SEQ_DIGITS = 20  # INCR counts to 2**63 - 1: 19 digits
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisStore:
    """A :class:`Store` on a Redis server, shared by processes and hosts.

    Parameters
    ----------
    url : str
        ``redis://[[user]:password@]host:port/db``, ``rediss://...`` (TLS) or
        ``unix:///path/to/socket?db=N`` (see ``redis.Redis.from_url``).
    prefix : str, default "mltrainer"
        Key prefix isolating tenants and tests on one server.
    connect_timeout : float, default 5.0
        Seconds to wait for the TCP connection.

    Attributes
    ----------
    url : str
        The URL with its password masked, safe to log.
    prefix : str
        The key prefix.

    Raises
    ------
    StoreError
        The server does not answer ``PING`` (message names the masked URL).
    """

    def __init__(
        self, url: str, *, prefix: str = "mltrainer", connect_timeout: float = 5.0
    ) -> None:
        self.prefix = check_name(prefix, name="prefix")
        self.url = mask_password(url)
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=connect_timeout)
        except ValueError as exc:
            raise ConfigError(
                f"Invalid Redis store URL {self.url!r} ({self._scrub(url, exc)}); "
                "use redis://[:password@]host:port/db"
            ) from None
        try:
            client.ping()
        except redis.RedisError as exc:
            client.close()
            raise StoreError(
                f"Cannot reach Redis at {self.url!r} ({self._scrub(url, exc)}); start "
                "redis-server or fix host, port and password in the store URL"
            ) from None
        self._client: redis.Redis | None = client
        logger.debug("opened Redis store %s (prefix %r)", self.url, self.prefix)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.prefix!r})"

    def _scrub(self, url: str, exc: BaseException) -> str:
        """Return the text of `exc` with the URL's password masked (defence in depth)."""
        text = f"{type(exc).__name__}: {exc}"
        for secret in passwords_in(url):
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def _call(self, op: str, name: str) -> Iterator[redis.Redis]:
        """Yield the client; turn a Redis failure into a one-line ``StoreError``."""
        if self._client is None:
            raise StoreError(f"Store {self.url!r} is closed; open a new one with open_store()")
        try:
            yield self._client
        except redis.RedisError as exc:
            raise StoreError(
                f"Redis {op} of {name!r} failed at {self.url!r} ({type(exc).__name__}: {exc}); "
                "check that the server is up and reachable"
            ) from exc

    def get(self, key: str, default: Any = None) -> Any:
        """Return the JSON value stored under `key`, or `default` when there is none."""
        check_name(key, name="key")
        with self._call("get", key) as client:
            raw = client.get(f"{self.prefix}:kv:{key}")
        return default if raw is None else decode(raw)

    def put(self, key: str, value: Any) -> None:
        """Store the JSON-serialisable `value` under `key`, replacing any previous value."""
        payload = encode(check_name(key, name="key"), value)
        with self._call("put", key) as client:
            client.set(f"{self.prefix}:kv:{key}", payload)

    def delete(self, key: str) -> bool:
        """Delete `key`; return whether it existed."""
        check_name(key, name="key")
        with self._call("delete", key) as client:
            return bool(client.delete(f"{self.prefix}:kv:{key}"))

    def keys(self, prefix: str = "") -> list[str]:
        """Return the sorted keys that start with `prefix` (found with SCAN, never KEYS)."""
        check_name(prefix, name="prefix", allow_empty=True)
        head = f"{self.prefix}:kv:"
        pattern = _GLOB_SPECIAL.sub(r"\\\1", head + prefix) + "*"
        with self._call("keys", prefix) as client:
            found = {_text(raw) for raw in client.scan_iter(match=pattern, count=1000)}
        return sorted(key[len(head) :] for key in found if key.startswith(head + prefix))

    def append(self, series: str, value: Any, *, timestamp: TimeLike | None = None) -> None:
        """Append a point to `series` at `timestamp` (default: now, UTC)."""
        payload = encode(check_name(series, name="series"), value)
        ts = now_epoch() if timestamp is None else to_epoch(timestamp, name="timestamp")
        with self._call("append", series) as client:
            seq = int(client.incr(f"{self.prefix}:seq"))
            client.zadd(f"{self.prefix}:ts:{series}", {f"{seq:0{_SEQ_DIGITS}d}:{payload}": ts})

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
        lo = "-inf" if start is None else to_epoch(start, name="start")
        hi = "+inf" if end is None else to_epoch(end, name="end")
        count = None if limit is None else check_count(limit, name="limit", minimum=0)
        if count == 0:
            return []
        name = f"{self.prefix}:ts:{series}"
        with self._call("range", series) as client:
            if count is None:
                reply = client.zrange(name, lo, hi, byscore=True, withscores=True)
            else:  # newest `count` first, then put back in ascending order
                reply = client.zrange(
                    name, hi, lo, desc=True, byscore=True, withscores=True, offset=0, num=count
                )[::-1]
        rows = cast("list[tuple[bytes | str, float]]", reply)
        return [(from_epoch(score), decode(member[_SEQ_DIGITS + 1 :])) for member, score in rows]

    def trim(
        self, series: str, *, before: TimeLike | None = None, keep_last: int | None = None
    ) -> int:
        """Delete points with ``t < before`` and all but the newest `keep_last` (MULTI/EXEC)."""
        check_name(series, name="series")
        lo = None if before is None else to_epoch(before, name="before")
        keep = None if keep_last is None else check_count(keep_last, name="keep_last", minimum=0)
        if lo is None and keep is None:
            return 0
        name = f"{self.prefix}:ts:{series}"
        with self._call("trim", series) as client:
            pipe = client.pipeline(transaction=True)
            if lo is not None:
                pipe.zremrangebyscore(name, "-inf", f"({lo!r}")
            if keep is not None:  # members tie-break by their zero-padded sequence number
                pipe.zremrangebyrank(name, 0, -keep - 1)
            return sum(int(n) for n in pipe.execute())

    def push(self, key: str, value: Any, *, max_len: int) -> None:
        """Prepend `value` to the list `key` and trim it to `max_len` items (MULTI/EXEC)."""
        payload = encode(check_name(key, name="key"), value)
        max_len = check_count(max_len, name="max_len", minimum=1)
        name = f"{self.prefix}:list:{key}"
        with self._call("push", key) as client:
            pipe = client.pipeline(transaction=True)
            pipe.lpush(name, payload)
            pipe.ltrim(name, 0, max_len - 1)
            pipe.execute()

    def recent(self, key: str, n: int | None = None) -> list[Any]:
        """Return the newest `n` items (all when None) of the list `key`, newest first."""
        check_name(key, name="key")
        stop = -1
        if n is not None:
            stop = check_count(n, name="n", minimum=0) - 1
            if stop < 0:
                return []
        with self._call("recent", key) as client:
            return [decode(raw) for raw in client.lrange(f"{self.prefix}:list:{key}", 0, stop)]

    def close(self) -> None:
        """Close the connection pool; further calls raise ``StoreError``. Idempotent."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
