"""Where predictions go as they are made: a Redis Stream (exactly once across restarts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mltrainer.exceptions import ConfigError, StoreError

from ._processor import Prediction

__all__ = ["RedisStreamSink", "Sink", "prediction_fields"]


class Sink(Protocol):
    """What :func:`~mltrainer.online.run_stream` publishes each prediction to."""

    def start(self) -> None:
        """Prepare (e.g. find what was already published before a restart)."""

    def publish(self, offset: str, prediction: Prediction) -> None:
        """Send the prediction of the bar at ``offset``."""

    def close(self) -> None:
        """Release connections."""


def prediction_fields(offset: str, prediction: Prediction) -> dict[str, str]:
    """A prediction as flat string fields (a Redis Stream entry)."""
    fields = {
        "offset": offset,
        "timestamp": "" if prediction.timestamp is None else prediction.timestamp.isoformat(),
        "status": prediction.status,
        "value": "" if prediction.value is None else repr(float(prediction.value)),
        "version": "" if prediction.version is None else str(prediction.version),
        "reason": prediction.reason or "",
        "drift": "1" if prediction.drift else "0",
    }
    if prediction.proba is not None and prediction.classes is not None:
        for value, p in zip(prediction.classes, prediction.proba, strict=True):
            fields[f"proba_{value:g}"] = repr(float(p))
    return fields


class RedisStreamSink:
    """Publish predictions to a Redis Stream with ``XADD`` (trimmed to about ``maxlen``).

    Each entry names the bar's source ``offset``. After a restart, bars after the last
    checkpoint are processed again; those whose offset is at or before the last entry
    already published are not published twice.

    Parameters
    ----------
    url : str
        ``redis://host:port/db``.
    stream : str
        The prediction stream (e.g. ``predictions:sp500-direction``).
    order : callable
        Sort key of offsets (the source's), e.g. entry ids compared as ``(ms, seq)``.
    maxlen : int, default 100000
        Approximate length the stream is trimmed to.
    """

    def __init__(
        self, url: str, *, stream: str, order: Callable[[str], Any], maxlen: int = 100_000
    ) -> None:
        import redis

        if not isinstance(stream, str) or not stream:
            raise ConfigError(f"publish stream {stream!r} is invalid; pass a non-empty name")
        self.client = redis.Redis.from_url(url, socket_connect_timeout=5)
        self.url = url
        self.stream = stream
        self.order = order
        self.maxlen = int(maxlen)
        self.published = 0
        self._last: Any = None

    def start(self) -> None:
        """Read the offset of the last published entry."""
        import redis

        try:
            last: Any = self.client.xrevrange(self.stream, count=1)
        except redis.RedisError as exc:
            raise StoreError(f"Redis at {self.url} cannot be reached: {exc}") from None
        if last:
            fields = last[0][1]
            raw = fields.get(b"offset", fields.get("offset"))
            if raw is not None:
                self._last = self.order(raw.decode() if isinstance(raw, bytes) else str(raw))

    def publish(self, offset: str, prediction: Prediction) -> None:
        """``XADD`` the prediction unless it was published before a restart."""
        if self._last is not None and self.order(offset) <= self._last:
            return
        fields: dict[Any, Any] = prediction_fields(offset, prediction)
        self.client.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)
        self._last = self.order(offset)
        self.published += 1

    def close(self) -> None:
        """Close the connection."""
        self.client.close()
