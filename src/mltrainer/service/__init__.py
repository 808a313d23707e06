"""The mltrainer service: a read and prediction API, a live dashboard, Prometheus metrics.

:func:`create_app` builds one FastAPI app over a store URL and a registry folder (no global
state); ``mltrainer serve`` runs it with uvicorn on 127.0.0.1. The app reads the store only
through the record keys of :mod:`mltrainer.store` and the registry only through
:class:`~mltrainer.registry.ModelRegistry`; it writes nothing but decision records (when
the build has :mod:`mltrainer.explain`). See ``docs/service.md``.
"""

from mltrainer.service._app import create_app
from mltrainer.service._downsample import m4_indices
from mltrainer.service._serve import TOKEN_ENV, check_bind, serve
from mltrainer.service._settings import HARD_MAX_POINTS, ServiceSettings, is_loopback

__all__ = [
    "HARD_MAX_POINTS",
    "TOKEN_ENV",
    "ServiceSettings",
    "check_bind",
    "create_app",
    "is_loopback",
    "m4_indices",
    "serve",
]
