"""Serve an app with uvicorn; the bind address is checked against the token first."""

from __future__ import annotations

import logging
import os
from typing import Any

from mltrainer.exceptions import ConfigError
from mltrainer.service._settings import ServiceSettings, is_loopback

__all__ = ["TOKEN_ENV", "check_bind", "serve"]

#: The environment variable holding the API token (read by the CLI, at the edge).
TOKEN_ENV = "MLTRAINER_API_TOKEN"


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind beyond loopback without a token.

    Raises
    ------
    ConfigError
        When `host` is not a loopback address and `token` is None.

    Examples
    --------
    >>> check_bind("127.0.0.1", None)
    >>> check_bind("0.0.0.0", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mltrainer.exceptions.ConfigError: --host 0.0.0.0 exposes the service beyond this ...
    """
    if not is_loopback(host) and token is None:
        raise ConfigError(
            f"--host {host} exposes the service beyond this machine: set {TOKEN_ENV} "
            "(a long random secret) first, or keep the default --host 127.0.0.1"
        )


def serve(app: Any, settings: ServiceSettings, *, port: int, **uvicorn_options: Any) -> None:
    """Run `app` on ``settings.host:port`` with uvicorn until interrupted."""
    import uvicorn

    check_bind(settings.host, settings.token)
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port (0-65535)")
    options: dict[str, Any] = {
        "log_level": os.environ.get("MLTRAINER_LOG_LEVEL", "info").lower(),
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 5,
        **uvicorn_options,
    }
    logging.getLogger("mltrainer").info("serving on http://%s:%d/", settings.host, port)
    uvicorn.run(app, host=settings.host, port=port, **options)
