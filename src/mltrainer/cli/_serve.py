"""`mltrainer serve`: the API and the dashboard over a store and a registry."""

from __future__ import annotations

import argparse
import os
from typing import Any


def _cmd_serve(args: argparse.Namespace) -> int:
    from mltrainer.service import TOKEN_ENV, ServiceSettings, check_bind, create_app, serve

    token = os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)  # before the store is opened or a port is taken
    store_url, registry_root, prefix = args.store, args.registry, args.prefix
    if args.config or store_url is None or registry_root is None:
        from mltrainer.config import load_config

        config = load_config(args.config)
        store_url = store_url or config.store.url
        registry_root = registry_root or config.registry.root
        prefix = prefix or config.store.prefix
    settings = ServiceSettings(
        host=args.host,
        token=token,
        store_prefix=prefix or "mltrainer",
        refresh_seconds=args.refresh,
        optuna_storage=args.optuna_storage,
        optuna_dashboard_url=args.optuna_dashboard_url,
        cors_origins=tuple(args.cors_origin or ()),
    )
    app = create_app(store_url, registry_root, settings)
    print(
        f"mltrainer dashboard on http://{args.host}:{args.port}/ (API /api, OpenAPI /docs, "
        f"Prometheus /metrics); store {app.state.service.store.url}, registry {registry_root}",
        flush=True,
    )
    serve(app, settings, port=args.port)
    return 0


def register(sub: Any) -> None:
    """Add the command of this module to the top-level subparsers."""
    serve = sub.add_parser(
        "serve", help="serve the prediction and read API and the dashboard (uvicorn)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (default 127.0.0.1; another needs MLTRAINER_API_TOKEN)",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--store", help="store URL (default: the config's store.url)")
    serve.add_argument("--registry", help="registry folder (default: the config's registry.root)")
    serve.add_argument("--prefix", help="store prefix (default: the config's store.prefix)")
    serve.add_argument("--config", help="YAML config to take the store and registry from")
    serve.add_argument(
        "--refresh",
        type=int,
        default=15,
        metavar="SECONDS",
        help="how often pages refresh their data (default 15)",
    )
    serve.add_argument(
        "--optuna-storage", metavar="URL", help="Optuna storage the tuning pages read trials from"
    )
    serve.add_argument(
        "--optuna-dashboard-url",
        metavar="URL",
        help="where optuna-dashboard runs on that storage (linked)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this origin by CORS (repeatable; none by default)",
    )
    serve.set_defaults(func=_cmd_serve)
