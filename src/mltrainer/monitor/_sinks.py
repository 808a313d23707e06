"""Alert sinks: the log, a webhook (HTTP POST of JSON) and a Redis pub/sub channel.

A sink's ``send(alert)`` never raises: a failure is logged and reported by returning
``False``, so a broken receiver never stops monitoring.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import redis

from mltrainer.exceptions import ConfigError
from mltrainer.store import mask_password

if TYPE_CHECKING:
    from mltrainer.config import SinksConfig

__all__ = ["AlertSink", "LogSink", "RedisChannelSink", "WebhookSink", "make_sinks"]

logger = logging.getLogger("mltrainer")


@runtime_checkable
class AlertSink(Protocol):
    """Something alerts are sent to; ``send`` returns whether it was delivered."""

    def send(self, alert: Mapping[str, Any]) -> bool:
        """Deliver one alert record (a JSON-safe mapping); never raise."""
        ...


def _message(alert: Mapping[str, Any]) -> str:
    return str(alert.get("message") or json.dumps(dict(alert), sort_keys=True))


class LogSink:
    """Write each alert to the ``mltrainer`` logger (WARNING by default)."""

    def __init__(self, *, level: int = logging.WARNING) -> None:
        self.level = level

    def __repr__(self) -> str:
        return f"LogSink(level={logging.getLevelName(self.level)})"

    def send(self, alert: Mapping[str, Any]) -> bool:
        """Log the alert's message."""
        logger.log(self.level, "ALERT %s", _message(alert))
        return True


class WebhookSink:
    """POST each alert as JSON to ``url``, retrying with exponential backoff.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` endpoint; any 2xx answer counts as delivered.
    timeout : float, default 5.0
        Seconds per attempt.
    retries : int, default 3
        Attempts after the first; waits ``backoff * 2**i`` seconds before retry ``i``.
    backoff : float, default 0.5
        First wait in seconds.
    sleep : callable, default time.sleep
        Injected for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"webhook url {url!r} is not an http(s) URL; e.g. 'https://host/hook'"
            )
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"WebhookSink({mask_password(self.url)!r}, retries={self.retries})"

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "mltrainer-monitor"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    def send(self, alert: Mapping[str, Any]) -> bool:
        """POST the alert; after ``1 + retries`` failed attempts log an error, return False."""
        body = json.dumps(dict(alert), sort_keys=True, allow_nan=False).encode("utf-8")
        attempts = 1 + max(int(self.retries), 0)
        error = ""
        for attempt in range(attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                self._post(body)
                return True
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                logger.info(
                    "webhook %s attempt %d/%d failed (%s)",
                    mask_password(self.url),
                    attempt + 1,
                    attempts,
                    error,
                )
        logger.error(
            "webhook %s failed %d times (last: %s); alert not delivered there: %s",
            mask_password(self.url),
            attempts,
            error,
            _message(alert),
        )
        return False


class RedisChannelSink:
    """``PUBLISH`` each alert as JSON on a Redis pub/sub channel.

    Parameters
    ----------
    url : str
        ``redis://[:password@]host:port/db``.
    channel : str
        The channel subscribers listen on, e.g. ``"mltrainer:alerts"``.
    """

    def __init__(self, url: str, channel: str, *, timeout: float = 5.0) -> None:
        if not isinstance(channel, str) or not channel:
            raise ConfigError(f"redis_channel {channel!r} is invalid; pass a non-empty name")
        self.url = mask_password(url)
        self.channel = channel
        try:
            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
        except ValueError:
            raise ConfigError(
                f"invalid Redis URL {self.url!r} for alert channel; use redis://host:port/db"
            ) from None

    def __repr__(self) -> str:
        return f"RedisChannelSink({self.url!r}, channel={self.channel!r})"

    def send(self, alert: Mapping[str, Any]) -> bool:
        """Publish the alert; log and return False when Redis cannot be reached."""
        body = json.dumps(dict(alert), sort_keys=True, allow_nan=False)
        try:
            self._client.publish(self.channel, body)
        except redis.RedisError as exc:
            logger.error(
                "publishing alert to Redis channel %r at %s failed (%s: %s)",
                self.channel,
                self.url,
                type(exc).__name__,
                exc,
            )
            return False
        return True

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def make_sinks(config: SinksConfig, *, store_url: str | None = None) -> list[AlertSink]:
    """Build the sinks a ``monitor.sinks`` config section describes.

    ``redis_channel`` publishes on ``redis_url``, or on the store URL when that is Redis.

    Raises
    ------
    ConfigError
        A Redis channel is configured but no Redis URL is known.
    """
    sinks: list[AlertSink] = []
    if config.log:
        sinks.append(LogSink())
    if config.webhook is not None:
        hook = config.webhook
        sinks.append(
            WebhookSink(hook.url, timeout=hook.timeout, retries=hook.retries, backoff=hook.backoff)
        )
    if config.redis_channel:
        url = config.redis_url
        if url is None and store_url and store_url.startswith(("redis://", "rediss://", "unix://")):
            url = store_url
        if url is None:
            raise ConfigError(
                f"monitor.sinks.redis_channel '{config.redis_channel}' needs a Redis server: set "
                "monitor.sinks.redis_url (the store is not Redis)"
            )
        sinks.append(RedisChannelSink(url, config.redis_channel))
    return sinks
