"""The app factory: one FastAPI app over one store and one registry, no global state."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from mltrainer import __version__
from mltrainer.exceptions import MltrainerError
from mltrainer.registry import ModelRegistry
from mltrainer.service._api import api_router
from mltrainer.service._errors import install_error_handlers
from mltrainer.service._metrics import RequestMetrics, ServiceMetrics
from mltrainer.service._pages import pages_router
from mltrainer.service._security import BodyLimit, ReadGate, SecurityHeaders
from mltrainer.service._settings import ServiceSettings
from mltrainer.service._state import ServiceState
from mltrainer.store import mask_password, open_store

__all__ = ["create_app"]

logger = logging.getLogger("mltrainer")

_DESCRIPTION = """Read API over mltrainer's registry and store (models, versions, lineage, fold
scores, metric history, drift, alerts, decisions, tuning studies, online learner state) and
the prediction API. Errors are JSON `{"error": {"type", "message"}}`. Write endpoints need
`Authorization: Bearer <MLTRAINER_API_TOKEN>`."""


def create_app(
    store_url: str | None,
    registry_root: str | os.PathLike[str],
    settings: ServiceSettings | None = None,
) -> FastAPI:
    """Build the service over the store at `store_url` and the registry at `registry_root`.

    Parameters
    ----------
    store_url : str or None
        The store (``sqlite:///mltrainer.db``, ``redis://...``); None opens the default.
        It is opened now, so a wrong URL fails here, and closed when the app shuts down.
    registry_root : str or PathLike
        The registry folder (``registry.root``).
    settings : ServiceSettings, optional
        Limits, the token and security choices; the defaults bind nothing beyond
        127.0.0.1 and accept no write without a token.

    Returns
    -------
    FastAPI
        Serve it with uvicorn (:func:`mltrainer.service.serve` does). ``app.state.service``
        is its :class:`ServiceState`.

    Examples
    --------
    >>> import tempfile
    >>> from fastapi.testclient import TestClient
    >>> app = create_app("sqlite:///:memory:", tempfile.mkdtemp())
    >>> with TestClient(app, base_url="http://127.0.0.1") as client:
    ...     client.get("/api/models").json()
    {'models': []}
    """
    settings = settings if settings is not None else ServiceSettings()
    store = open_store(store_url, prefix=settings.store_prefix)
    state = ServiceState(store=store, registry=ModelRegistry(registry_root), settings=settings)
    metrics = ServiceMetrics(state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logger.info("mltrainer service on %s, registry %s", store.url, registry_root)
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="mltrainer",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,  # served by the dashboard from local files (no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = state
    app.state.metrics = metrics
    install_error_handlers(app)

    @app.get("/health", summary="Liveness and readiness: the store answers, the registry reads")
    def health() -> Response:
        body: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "store": mask_password(store.url),
            "decisions": True,
        }
        try:
            store.get("health/probe")
            body["models"] = len(state.registry.list_models())
        except (MltrainerError, OSError) as exc:
            body.update(status="unavailable", message=str(exc))
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/metrics", summary="Prometheus metrics (text exposition format)")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.include_router(api_router(state, metrics))
    app.include_router(pages_router(state))

    # middleware, innermost first: metrics see the route, the gate runs before the app
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    if settings.reads_need_token:
        app.add_middleware(ReadGate, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.hosts)
    return app
