"""Security at the edge: the API token, a bound on request bodies, response headers.

- **Token**: every write endpoint needs ``Authorization: Bearer <MLTRAINER_API_TOKEN>``
  (refused outright when the server has no token). A server bound beyond loopback needs
  it for every request but ``/health``: API clients send the header, a browser signs in
  once at ``/login`` (an HttpOnly, SameSite=Strict cookie holding the token).
- **Bodies**: a request body above ``max_body_bytes`` is answered 413 before the app reads
  it (by its ``Content-Length``, or by counting a chunked body as it arrives).
- **Headers**: a Content-Security-Policy that lets pages load scripts, styles and data
  from this server only (no CDN can be reached from a page), no sniffing, no framing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException

from mltrainer.service._settings import ServiceSettings

__all__ = [
    "COOKIE",
    "BodyLimit",
    "ReadGate",
    "SecurityHeaders",
    "presented_token",
    "token_matches",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The cookie a browser holds after signing in at ``/login``.
COOKIE = "mltrainer_token"

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
_OPEN_PATHS = ("/health", "/login", "/static/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def presented_token(scope: Scope) -> str | None:
    """The token a request carries: ``Authorization: Bearer ...`` or the sign-in cookie."""
    auth = _header(scope, b"authorization")
    if auth is not None:
        kind, _, value = auth.partition(" ")
        return value.strip() if kind.lower() == "bearer" else None
    return _cookie(scope, COOKIE)


def token_matches(settings: ServiceSettings, presented: str | None) -> bool:
    """Whether `presented` is the server's token (constant-time comparison)."""
    if settings.token is None or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), settings.token.encode())


async def send_json(send: Send, status: int, message: str, kind: str) -> None:
    """Answer with the service's JSON error shape."""
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """Raised while the app reads a body past the limit (answered 413 by the handlers)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body above the service's limit of {self.limit} bytes; send fewer rows"
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await send_json(send, 413, message, "PayloadTooLarge")
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(message)
            return event

        async def tracked(event: Message) -> None:
            nonlocal started
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await send_json(send, 413, message, "PayloadTooLarge")


class SecurityHeaders:
    """Add the Content-Security-Policy and related headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/api")

        async def with_headers(event: Message) -> None:
            if event["type"] == "http.response.start":
                headers = list(event.get("headers", []))
                headers += [
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if api:
                    headers.append((b"cache-control", b"no-store"))
                event = {**event, "headers": headers}
            await send(event)

        await self.app(scope, receive, with_headers)


class ReadGate:
    """On a server exposed beyond loopback, every request but ``/health`` needs the token.

    API requests without it get 401 JSON; a browser asking for a page is sent to
    ``/login``.
    """

    def __init__(self, app: ASGIApp, *, settings: ServiceSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path.startswith(_OPEN_PATHS)
            or token_matches(self.settings, presented_token(scope))
        ):
            await self.app(scope, receive, send)
            return
        accept = _header(scope, b"accept") or ""
        if scope.get("method") == "GET" and "text/html" in accept and not path.startswith("/api"):
            location = f"/login?next={quote(path, safe='/')}".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", location), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send_json(
            send,
            401,
            "this server needs its API token: send Authorization: Bearer <MLTRAINER_API_TOKEN>",
            "Unauthorized",
        )
