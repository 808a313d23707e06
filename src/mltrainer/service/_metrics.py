"""Prometheus metrics of the service, on the app's own ``CollectorRegistry``.

Served at ``/metrics`` in the text exposition format:

- ``mltrainer_http_requests_total{method,route,status}`` and
  ``mltrainer_http_request_duration_seconds{method,route}`` (histogram), by route template
  (``/api/models/{name}``), never by raw path, so a scan of random URLs adds no series;
- ``mltrainer_predictions_total{model}``: rows predicted;
- read from the store and the registry at each scrape: ``mltrainer_model_latest_version{model}``,
  ``mltrainer_model_alias_version{model,alias}``, ``mltrainer_monitor_metric{model,metric}``
  (the latest recorded value), ``mltrainer_feature_drifted{model,feature}`` (latest drift
  report), ``mltrainer_alerts_stored{model}`` and ``mltrainer_store_up``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from mltrainer.exceptions import MltrainerError
from mltrainer.service._security import ASGIApp, Message, Receive, Scope, Send
from mltrainer.service._state import ServiceState
from mltrainer.store import alerts_key, drift_latest_key, metric_series, tracked_metrics_key

__all__ = ["RequestMetrics", "ServiceMetrics"]

logger = logging.getLogger("mltrainer")

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_MAX_METRICS = 200  # per model at one scrape


class _StoreCollector:
    """Gauges read from the registry and the store when Prometheus scrapes."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only (the store may not be open at registration)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mltrainer_store_up", "1 when the store answered this scrape")
        latest = GaugeMetricFamily(
            "mltrainer_model_latest_version", "Newest registered version", labels=["model"]
        )
        alias = GaugeMetricFamily(
            "mltrainer_model_alias_version", "Version an alias points to", labels=["model", "alias"]
        )
        metric = GaugeMetricFamily(
            "mltrainer_monitor_metric",
            "Latest recorded monitoring metric of a model",
            labels=["model", "metric"],
        )
        drifted = GaugeMetricFamily(
            "mltrainer_feature_drifted",
            "1 when the feature drifted in the latest drift report",
            labels=["model", "feature"],
        )
        alerts = GaugeMetricFamily(
            "mltrainer_alerts_stored", "Alerts kept in the store's list", labels=["model"]
        )
        ok = 1.0
        registry, store = self.state.registry, self.state.store
        try:
            for name in registry.list_models():
                versions = registry.list_versions(name)
                latest.add_metric([name], float(versions[-1]["version"]))
                for key, target in registry.aliases(name).items():
                    alias.add_metric([name, key], float(target))
                names = sorted(set(store.set_members(tracked_metrics_key(name))))
                for metric_name in names[:_MAX_METRICS]:
                    points = store.range(metric_series(name, metric_name), limit=1)
                    value = points[-1][1].get("value") if points else None
                    number = float(value) if isinstance(value, int | float) else math.nan
                    metric.add_metric([name, metric_name], number)
                report = store.get(drift_latest_key(name))
                columns = ((report or {}).get("feature_drift") or {}).get("columns") or {}
                for feature, row in columns.items():
                    drifted.add_metric([name, str(feature)], 1.0 if row.get("drifted") else 0.0)
                alerts.add_metric([name], float(len(store.recent(alerts_key(name)))))
        except (MltrainerError, OSError) as exc:
            logger.warning("metrics scrape: the store or registry failed: %s", exc)
            ok = 0.0
        up.add_metric([], ok)
        yield from (up, latest, alias, metric, drifted, alerts)


class ServiceMetrics:
    """The app's Prometheus registry: request counters and latencies, store gauges."""

    def __init__(self, state: ServiceState) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mltrainer_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mltrainer_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "mltrainer_predictions", "Rows predicted", ["model"], registry=self.registry
        )
        self.registry.register(_StoreCollector(state))

    def render(self) -> bytes:
        """The text a scrape of ``/metrics`` returns."""
        return bytes(generate_latest(self.registry))


class RequestMetrics:
    """Count and time every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observed(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = int(event["status"])
            await send(event)

        try:
            await self.app(scope, receive, observed)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
