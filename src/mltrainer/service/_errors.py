"""Errors as JSON: ``{"error": {"type": ..., "message": ...}}`` with the right status.

mltrainer's own errors keep their one-line messages (the same text as the Python API):
an unknown name is 404, bad input (settings, data, a frame that does not match the
model's schema) is 422, a store that cannot be read 503, an artifact whose checksum fails
500. Anything unexpected is 500 with a short message; the traceback goes to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mltrainer.exceptions import (
    ChecksumError,
    ConfigError,
    DataError,
    MltrainerError,
    NotFoundError,
    SchemaError,
    StoreError,
)

__all__ = ["error_body", "install_error_handlers", "status_of"]

logger = logging.getLogger("mltrainer")

_STATUS: tuple[tuple[type[MltrainerError], int], ...] = (
    (NotFoundError, 404),
    (SchemaError, 422),
    (DataError, 422),
    (ConfigError, 422),
    (StoreError, 503),
    (ChecksumError, 500),
)


def status_of(exc: MltrainerError) -> int:
    """The HTTP status of one of mltrainer's errors."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"type": kind, "message": message, **extra}}


def _location(loc: Any) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


async def _mltrainer(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MltrainerError)
    status = status_of(exc)
    if status >= 500:
        logger.error("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=status)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    details = [
        {"location": _location(e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in errors[:20]
    ]
    first = details[0] if details else {"location": "request", "message": "invalid"}
    message = f"{first['location']}: {first['message']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problems)"
    return JSONResponse(
        error_body("RequestValidationError", message, details=details), status_code=422
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no page or endpoint at {request.url.path[:200]}; the API is listed at /docs"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path[:200]}"
    kind = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        413: "PayloadTooLarge",
    }
    return JSONResponse(
        error_body(kind.get(exc.status_code, "HTTPError"), message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse(
        error_body(
            "InternalError",
            f"internal error ({type(exc).__name__}); the server log has the details",
        ),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""
    app.add_exception_handler(MltrainerError, _mltrainer)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
