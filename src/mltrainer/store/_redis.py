"""The shared production backend: a real Redis server through redis-py.

Layout under ``{prefix}``: values (JSON strings) at ``{prefix}:kv:{key}``; series in sorted
sets ``{prefix}:ts:{series}`` scored by epoch seconds. An unkeyed point is the member
``{seq:020d}:{json}`` with ``seq`` from ``INCRBY {prefix}:seq``, so equal points at one time
are all kept, in insertion order; a keyed point is the member ``~{point key}`` with its JSON
in the hash ``{prefix}:tsv:{series}`` (field = point key), so rewriting it replaces it.
Bounded lists at ``{prefix}:list:{key}``, sets at ``{prefix}:set:{key}``, append-only
streams in real Redis Streams at ``{prefix}:stream:{stream}`` (``XADD``, one field ``json``
holding the entry's JSON, so other services can ``XREAD`` them). A batch is one
``MULTI``/``EXEC``. Only core commands (no ``TS.*`` module).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import redis

from mltrainer._logging import logger
from mltrainer.exceptions import ConfigError, StoreError

from ._batch import Add, Append, Batch, BatchWrites, Push, Put, Trim, ops_of, trim_op
from ._checks import check_count, check_name
from ._codec import decode
from ._streams import check_entry_id, ms_bounds, stream_add_op
from ._timestamps import from_epoch, to_epoch
from ._urls import mask_password, redact

if TYPE_CHECKING:
    from ._protocol import TimeLike

__all__ = ["RedisStore"]

_SEQ_DIGITS = 20  # INCR counts to 2**63 - 1: 19 digits
_KEYED = "~"  # first character of a keyed point's member (numbered members start with a digit)
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_STREAM_FIELD = "json"  # the one field of a stream entry: its JSON value

# Trim a series and drop the values of the keyed points it removes, atomically.
# KEYS: sorted set, value hash. ARGV: epoch seconds `before` ('' = none), `keep_last` ('' = none)
_TRIM_SCRIPT = """
local zset, values, removed = KEYS[1], KEYS[2], 0
local function drop(members)
  for i = 1, #members, 500 do
    local chunk, fields = {}, {}
    for j = i, math.min(i + 499, #members) do
      local m = members[j]
      chunk[#chunk + 1] = m
      if string.sub(m, 1, 1) == '~' then fields[#fields + 1] = string.sub(m, 2) end
    end
    removed = removed + redis.call('ZREM', zset, unpack(chunk))
    if #fields > 0 then redis.call('HDEL', values, unpack(fields)) end
  end
end
if ARGV[1] ~= '' then drop(redis.call('ZRANGE', zset, '-inf', '(' .. ARGV[1], 'BYSCORE')) end
if ARGV[2] ~= '' then drop(redis.call('ZRANGE', zset, 0, -tonumber(ARGV[2]) - 1)) end
return removed
"""


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisStore(BatchWrites):
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
        return redact(f"{type(exc).__name__}: {exc}", url)

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
        name, values = self._series_keys(series)
        with self._call("range", series) as client:
            if count is None:
                reply = client.zrange(name, lo, hi, byscore=True, withscores=True)
            else:  # newest `count` first, then put back in ascending order
                reply = client.zrange(
                    name, hi, lo, desc=True, byscore=True, withscores=True, offset=0, num=count
                )[::-1]
            rows = [(_text(member), score) for member, score in cast("Any", reply)]
            keys = [member[1:] for member, _ in rows if member.startswith(_KEYED)]
            found = client.hmget(values, keys) if keys else []
        keyed = dict(zip(keys, cast("list[bytes | None]", found), strict=True))
        points = []
        for member, score in rows:
            if not member.startswith(_KEYED):
                points.append((from_epoch(score), decode(member[_SEQ_DIGITS + 1 :])))
            elif (raw := keyed[member[1:]]) is not None:  # else trimmed while being read
                points.append((from_epoch(score), decode(raw)))
        return points

    def _series_keys(self, series: str) -> tuple[str, str]:
        return f"{self.prefix}:ts:{series}", f"{self.prefix}:tsv:{series}"

    def _trim_args(self, op: Trim) -> tuple[str, str, str, str]:
        before = "" if op.before is None else repr(op.before)
        keep = "" if op.keep_last is None else str(op.keep_last)
        return (*self._series_keys(op.series), before, keep)

    def trim(
        self, series: str, *, before: TimeLike | None = None, keep_last: int | None = None
    ) -> int:
        """Delete points with ``t < before`` and all but the newest `keep_last` (one script)."""
        op = trim_op(series, before=before, keep_last=keep_last)
        if op.before is None and op.keep_last is None:
            return 0
        with self._call("trim", series) as client:
            return int(cast("int", client.eval(_TRIM_SCRIPT, 2, *self._trim_args(op))))

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

    def set_members(self, key: str) -> list[str]:
        """Return the sorted members of the set `key` (empty when there is none)."""
        check_name(key, name="key")
        with self._call("set_members", key) as client:
            raw = cast("set[bytes]", client.smembers(f"{self.prefix}:set:{key}"))
        return sorted(_text(member) for member in raw)

    def _stream_key(self, stream: str) -> str:
        return f"{self.prefix}:stream:{stream}"

    def stream_add(
        self,
        stream: str,
        values: Sequence[Any],
        *,
        max_len: int | None = None,
        min_time: TimeLike | None = None,
    ) -> list[str]:
        """``XADD`` each value (``MAXLEN`` `max_len`), then ``XTRIM MINID``, one transaction."""
        op = stream_add_op(stream, values, max_len=max_len, min_time=min_time)
        name = self._stream_key(stream)
        with self._call("stream_add", stream) as client:
            pipe = client.pipeline(transaction=True)
            for payload in op.payloads:
                pipe.xadd(
                    name,
                    {_STREAM_FIELD: payload},
                    maxlen=op.max_len,
                    approximate=False,
                )
            if not op.payloads and op.max_len is not None:
                pipe.xtrim(name, maxlen=op.max_len, approximate=False)
            if op.min_ms is not None:
                pipe.xtrim(name, minid=f"{op.min_ms}-0", approximate=False)
            if not len(pipe):
                return []
            replies = pipe.execute()
        return [_text(raw) for raw in replies[: len(op.payloads)]]

    @staticmethod
    def _entries(reply: Any) -> list[tuple[str, Any]]:
        out = []
        for raw_id, fields in reply:
            value = fields.get(_STREAM_FIELD.encode()) if fields else None
            if value is None:  # not written by mltrainer: skip rather than guess
                continue
            out.append((_text(raw_id), decode(value)))
        return out

    def stream_range(
        self,
        stream: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[str, Any]]:
        """``XRANGE`` (``XREVRANGE ... COUNT`` with `limit`) of entries added in the window."""
        check_name(stream, name="stream")
        lo, hi = ms_bounds(start, end)
        count = None if limit is None else check_count(limit, name="limit", minimum=0)
        if count == 0 or (lo is not None and hi is not None and lo > hi):
            return []
        low = "-" if lo is None else str(max(lo, 0))
        high = "+" if hi is None else str(hi)
        if hi is not None and hi < 0:
            return []
        name = self._stream_key(stream)
        with self._call("stream_range", stream) as client:
            if count is None:
                reply = client.xrange(name, min=low, max=high)
            else:
                reply = cast("list[Any]", client.xrevrange(name, max=high, min=low, count=count))
                reply = reply[::-1]
        return self._entries(reply)

    def stream_get(self, stream: str, entry_id: str) -> Any:
        """``XRANGE id id``: the value of one entry, or None."""
        check_name(stream, name="stream")
        check_entry_id(entry_id)
        with self._call("stream_get", stream) as client:
            reply = client.xrange(self._stream_key(stream), min=entry_id, max=entry_id)
        entries = self._entries(reply)
        return entries[0][1] if entries else None

    def write(self, batch: Batch) -> None:
        """Apply every write of `batch`, in order, in one ``MULTI``/``EXEC`` transaction."""
        ops, what = ops_of(batch)
        if not ops:
            return
        numbered = sum(isinstance(op, Append) and op.point_key is None for op in ops)
        with self._call("write", what) as client:
            # sequence numbers are taken before the transaction: a failed one leaves a gap
            seq = int(client.incrby(f"{self.prefix}:seq", numbered)) - numbered if numbered else 0
            pipe = client.pipeline(transaction=True)
            for op in ops:
                if isinstance(op, Put):
                    pipe.set(f"{self.prefix}:kv:{op.key}", op.payload)
                elif isinstance(op, Append):
                    name, values = self._series_keys(op.series)
                    if op.point_key is None:
                        seq += 1
                        pipe.zadd(name, {f"{seq:0{_SEQ_DIGITS}d}:{op.payload}": op.ts})
                    else:  # ZADD moves the member to its new time, HSET replaces the value
                        pipe.zadd(name, {f"{_KEYED}{op.point_key}": op.ts})
                        pipe.hset(values, op.point_key, op.payload)
                elif isinstance(op, Push):
                    name = f"{self.prefix}:list:{op.key}"
                    pipe.lpush(name, op.payload)
                    pipe.ltrim(name, 0, op.max_len - 1)
                elif isinstance(op, Add):
                    pipe.sadd(f"{self.prefix}:set:{op.key}", *op.members)
                else:
                    pipe.eval(_TRIM_SCRIPT, 2, *self._trim_args(op))
            pipe.execute()

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
