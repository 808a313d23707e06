"""Where bars come from: a replay of any bars frame, or a Redis Stream with a consumer group.

A source yields :class:`Message` objects in order and is told, after each checkpoint, which
offsets it may acknowledge. Offsets are strings ordered by :meth:`Source.after`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, NotFoundError, StoreError

__all__ = ["Message", "RedisStreamSource", "ReplaySource", "Source"]

logger = logging.getLogger("mltrainer")


@dataclass(frozen=True)
class Message:
    """One bar from a source: its offset, the bar, and its feature row if precomputed."""

    offset: str
    bar: Any
    features: np.ndarray | None = None


class Source(Protocol):
    """What :func:`~mltrainer.online.run_stream` reads bars from."""

    name: str

    def start(self, after: str | None) -> None:
        """Position the source after ``after`` (the checkpointed offset), or at its start."""

    def __iter__(self) -> Iterator[Message]:
        """Messages in order."""

    def ack(self, offsets: Sequence[str]) -> None:
        """Acknowledge processed and checkpointed offsets."""

    def order(self, offset: str) -> Any:
        """Sort key of an offset."""

    def close(self) -> None:
        """Release connections."""


class ReplaySource:
    """Replay a bars frame as a stream, at full speed; the offset is the bar's ISO time.

    Parameters
    ----------
    bars : pandas.DataFrame
        Validated bars of one instrument (e.g. ``load_bars("sp500", start=...)``).
    features : pandas.DataFrame, optional
        The batch feature frame of the same bars (every spec column, spec order): passed
        with each bar so the processor skips recomputing it. Batch rows equal the rows a
        live stream computes (the features' incremental-equals-batch test).
    name : str, default "replay"
        Shown in status records.
    """

    def __init__(
        self, bars: pd.DataFrame, *, features: pd.DataFrame | None = None, name: str = "replay"
    ) -> None:
        if "symbol" in bars.columns:
            raise ConfigError(
                "a replay streams one instrument; pick one symbol of the panel "
                "(bars[bars.symbol == 'SPX'].drop(columns='symbol'))"
            )
        self.bars = bars
        self.features = None if features is None else features.to_numpy(dtype=np.float64)
        self.name = name
        self._start = 0

    def start(self, after: str | None) -> None:
        """Skip the bars at or before the checkpointed time."""
        if after is None:
            self._start = 0
            return
        stamp = pd.Timestamp(after)
        self._start = int(
            np.searchsorted(self.bars.index.as_unit("ns").asi8, stamp.value, side="right")
        )

    def __iter__(self) -> Iterator[Message]:
        index = self.bars.index
        records = self.bars.to_dict(orient="records")
        for i in range(self._start, len(records)):
            bar = records[i]
            bar["timestamp"] = index[i]
            row = None if self.features is None else self.features[i]
            yield Message(index[i].isoformat(), bar, row)

    def ack(self, offsets: Sequence[str]) -> None:
        """Nothing to acknowledge in a replay."""

    def order(self, offset: str) -> Any:
        """Offsets are ISO times: ordered as times."""
        return pd.Timestamp(offset).value

    def close(self) -> None:
        """Nothing to release."""


def _entry_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisStreamSource:
    """Bars from a Redis Stream read through a consumer group (``XREADGROUP``).

    On start, this consumer's own pending entries (delivered before a crash, never
    acknowledged) are read first, then new ones (``>``). An entry is acknowledged
    (``XACK``) only after the processor's state that includes it has been checkpointed;
    entries at or before the checkpointed offset are acknowledged and skipped. So a killed
    consumer loses no bar and none is processed twice. Keep ``consumer`` the same across
    restarts (its pending entries belong to it).

    Parameters
    ----------
    url : str
        ``redis://host:port/db``.
    stream : str
        The bar stream (e.g. ``bars:SPX``); it must exist.
    group : str
        Consumer group; created at the stream's first entry when missing.
    consumer : str
        This consumer's name in the group.
    block_ms : int, default 1000
        How long one read waits for new entries.
    count : int, default 100
        Entries per read.
    idle_exit : float, optional
        Stop after this many seconds without a new entry (None: run until stopped).
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str,
        group: str,
        consumer: str,
        block_ms: int = 1000,
        count: int = 100,
        idle_exit: float | None = None,
    ) -> None:
        import redis

        for what, value in (("stream", stream), ("group", group), ("consumer", consumer)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{what}={value!r} is invalid; pass a non-empty name")
        self.url = url
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.block_ms = int(block_ms)
        self.count = int(count)
        self.idle_exit = idle_exit
        self.name = f"{stream}@{group}"
        try:
            self.client = redis.Redis.from_url(url, socket_connect_timeout=5)
        except ValueError as exc:
            raise ConfigError(
                f"--source {url!r} is not a Redis URL ({exc}); use redis://host:6379/0"
            ) from None
        self._after: tuple[int, int] | None = None

    def start(self, after: str | None) -> None:
        """Check the stream, create the group if needed, and remember the checkpointed offset.

        Raises
        ------
        NotFoundError
            When the stream does not exist (or is not a stream).
        StoreError
            When Redis cannot be reached.
        """
        import redis

        try:
            kind = self.client.type(self.stream)
        except redis.RedisError as exc:
            raise StoreError(f"Redis at {self.url} cannot be reached: {exc}") from None
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind == "none":
            raise NotFoundError(
                f"stream {self.stream!r} does not exist on {self.url}; check --stream or "
                "publish bars to it first (XADD)"
            )
        if kind != "stream":
            raise NotFoundError(f"key {self.stream!r} on {self.url} is a {kind}, not a stream")
        try:
            self.client.xgroup_create(self.stream, self.group, id="0")
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise StoreError(f"cannot create consumer group {self.group!r}: {exc}") from None
        self._after = None if after is None else _entry_key(after)

    def _read(self, position: str, block: int | None) -> list[tuple[str, dict[str, str]]]:
        response: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: position}, count=self.count, block=block
        )
        entries: list[tuple[str, dict[str, str]]] = []
        for _, items in response or []:
            for entry_id, fields in items:
                key = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                decoded = {
                    (k.decode() if isinstance(k, bytes) else str(k)): (
                        v.decode() if isinstance(v, bytes) else v
                    )
                    for k, v in (fields or {}).items()
                }
                entries.append((key, decoded))
        return entries

    def __iter__(self) -> Iterator[Message]:
        position = "0"  # our own pending entries first (paged by id), then new ones
        pending = True
        last_new = time.monotonic()
        while True:
            entries = self._read(position, None if pending else self.block_ms)
            if pending and not entries:
                pending, position = False, ">"
                continue
            if not entries:
                if self.idle_exit is not None and time.monotonic() - last_new >= self.idle_exit:
                    return
                continue
            last_new = time.monotonic()
            done: list[str] = []
            for entry_id, fields in entries:
                if self._after is not None and _entry_key(entry_id) <= self._after:
                    done.append(entry_id)  # already in the checkpointed state
                    continue
                yield Message(entry_id, fields)
            self.ack(done)
            if pending:
                position = entries[-1][0]

    def order(self, offset: str) -> Any:
        """Entry ids ordered as ``(milliseconds, sequence)``."""
        return _entry_key(offset)

    def ack(self, offsets: Sequence[str]) -> None:
        """``XACK`` the entries."""
        if offsets:
            self.client.xack(self.stream, self.group, *offsets)

    def close(self) -> None:
        """Close the connection."""
        self.client.close()
