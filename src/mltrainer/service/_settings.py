"""The service's settings: limits, security and presentation, validated once at start."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from mltrainer.exceptions import ConfigError

__all__ = ["HARD_MAX_POINTS", "LOOPBACK_HOSTS", "ServiceSettings", "is_loopback"]

#: No metric-history response ever holds more points than this, whatever is configured.
HARD_MAX_POINTS = 10_000

#: Host names that only this machine can reach.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or ``localhost``) is reachable from this machine only.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("::1")
    (True, False, True)
    """
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _positive(name: str, value: object, *, most: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"service setting {name}={value!r} must be a positive integer")
    if most is not None and value > most:
        raise ConfigError(f"service setting {name}={value} is above its hard cap {most}")


@dataclass(frozen=True)
class ServiceSettings:
    """How the service behaves; every field has a default that is safe on a laptop.

    Parameters
    ----------
    host : str, default "127.0.0.1"
        The address the server binds (the dashboard's allowed ``Host`` headers include it).
    token : str or None
        The API token (``MLTRAINER_API_TOKEN``, read by the CLI). Every write endpoint
        requires it as ``Authorization: Bearer <token>``; without a token they are refused.
    require_token : bool or None
        Whether reads (API and pages) need the token too; None: when ``host`` is not a
        loopback address (a server exposed on a network never answers strangers).
    store_prefix : str, default "mltrainer"
        The store's namespace (``store.prefix``).
    max_points : int, default 2000
        Default and most points of one metric-history response (downsampled beyond;
        at most :data:`HARD_MAX_POINTS`).
    max_list : int, default 1000
        Most items of a list response (alerts, decisions, trials, drift windows).
    max_rows : int, default 10000
        Most feature rows or bars of one prediction request.
    max_body_bytes : int, default 8 MiB
        Largest request body accepted (413 beyond).
    model_threads : int, default 1
        Threads a model predicts one request with (requests run side by side instead).
    model_cache : int, default 8
        Loaded model versions kept in memory (versions never change, so a cached one is
        always right).
    refresh_seconds : int, default 15
        How often dashboard pages refresh their tables and charts (no reload).
    cors_origins : tuple of str, default ()
        Origins allowed by CORS; none by default (no CORS headers at all).
    allowed_hosts : tuple of str or None
        ``Host`` headers accepted (DNS rebinding guard); None: loopback names and ``host``;
        ``("*",)`` accepts any.
    optuna_storage : str or None
        The Optuna storage URL the tuning pages read trials from; default the storage
        recorded with each study (when it holds no password).
    optuna_dashboard_url : str or None
        Where optuna-dashboard runs on the same storage; the tuning page links to it.
    """

    host: str = "127.0.0.1"
    token: str | None = None
    require_token: bool | None = None
    store_prefix: str = "mltrainer"
    max_points: int = 2000
    max_list: int = 1000
    max_rows: int = 10_000
    max_body_bytes: int = 8 * 1024 * 1024
    model_threads: int = 1
    model_cache: int = 8
    refresh_seconds: int = 15
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] | None = None
    optuna_storage: str | None = None
    optuna_dashboard_url: str | None = field(default=None)

    def __post_init__(self) -> None:
        _positive("max_points", self.max_points, most=HARD_MAX_POINTS)
        for name in (
            "max_list",
            "max_rows",
            "max_body_bytes",
            "model_threads",
            "model_cache",
            "refresh_seconds",
        ):
            _positive(name, getattr(self, name))
        if self.token is not None and len(self.token) < 16:
            raise ConfigError(
                "MLTRAINER_API_TOKEN is shorter than 16 characters; use a long random one, "
                "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if self.reads_need_token and self.token is None:
            raise ConfigError(
                f"serving on {self.host} exposes the API beyond this machine: set "
                "MLTRAINER_API_TOKEN (every request then needs it), or bind 127.0.0.1"
            )
        for origin in self.cors_origins:
            if origin == "*" or "://" not in origin:
                raise ConfigError(
                    f"CORS origin {origin!r} is invalid: name full origins such as "
                    "'https://grafana.example.com' ('*' is not allowed)"
                )

    @property
    def reads_need_token(self) -> bool:
        """Whether every request, reads included, must carry the token."""
        if self.require_token is not None:
            return self.require_token
        return not is_loopback(self.host)

    @property
    def hosts(self) -> list[str]:
        """The ``Host`` header values the app answers."""
        if self.allowed_hosts is not None:
            return list(self.allowed_hosts)
        names = [*LOOPBACK_HOSTS, "[::1]", self.host]
        return list(dict.fromkeys(names))
