"""Prometheus gauges of the latest monitoring run, on a dedicated ``CollectorRegistry``.

Exposed series (``model`` label on all; ``metric``/``feature``/``rule`` where named):

- ``mltrainer_monitor_metric{model,metric}``: latest value of every tracked metric (NaN
  when undefined);
- ``mltrainer_feature_drifted{model,feature}``: 1 when the feature drifted, else 0;
- ``mltrainer_feature_drift_psi{model,feature}`` and
  ``mltrainer_feature_drift_p_adjusted{model,feature}``;
- ``mltrainer_model_version{model}``, ``mltrainer_monitor_last_run_timestamp_seconds{model}``;
- ``mltrainer_alerts_total{model,rule}``: alerts fired since the exporter started.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

from mltrainer.exceptions import MltrainerError

__all__ = ["PrometheusExporter"]


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


class PrometheusExporter:
    """Gauges for the latest metrics and drift flags of monitored models.

    Parameters
    ----------
    registry : CollectorRegistry, optional
        Where the gauges live; a new one by default (never the global default registry,
        so several exporters and tests never clash).

    Examples
    --------
    >>> exporter = PrometheusExporter()
    >>> exporter.observe("spy", metrics={"roc_auc": 0.55})
    >>> b'mltrainer_monitor_metric{metric="roc_auc",model="spy"} 0.55' in exporter.render()
    True
    """

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.server: Any = None
        self._thread: Any = None
        self.metric = Gauge(
            "mltrainer_monitor_metric",
            "Latest monitored metric or drift statistic of a model",
            ["model", "metric"],
            registry=self.registry,
        )
        self.drifted = Gauge(
            "mltrainer_feature_drifted",
            "1 when the feature drifted from the model's reference profile in the latest run",
            ["model", "feature"],
            registry=self.registry,
        )
        self.psi = Gauge(
            "mltrainer_feature_drift_psi",
            "Population stability index of the feature against the reference",
            ["model", "feature"],
            registry=self.registry,
        )
        self.p_adjusted = Gauge(
            "mltrainer_feature_drift_p_adjusted",
            "Multiple-testing adjusted p-value of the feature's drift test",
            ["model", "feature"],
            registry=self.registry,
        )
        self.version = Gauge(
            "mltrainer_model_version",
            "Model version monitored in the latest run",
            ["model"],
            registry=self.registry,
        )
        self.last_run = Gauge(
            "mltrainer_monitor_last_run_timestamp_seconds",
            "Epoch seconds of the latest monitoring run",
            ["model"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "mltrainer_alerts",
            "Alerts fired since this exporter started",
            ["model", "rule"],
            registry=self.registry,
        )

    def __repr__(self) -> str:
        port = None if self.server is None else self.port
        return f"PrometheusExporter(port={port})"

    def observe(
        self,
        model: str,
        *,
        metrics: Mapping[str, float],
        drift_table: pd.DataFrame | None = None,
        alerts: Iterable[Any] = (),
        version: int | None = None,
        timestamp: pd.Timestamp | None = None,
    ) -> None:
        """Set the gauges from one monitoring run of ``model``.

        Parameters
        ----------
        model : str
            Model name (the ``model`` label).
        metrics : mapping of str to float
            Metric name -> value.
        drift_table : DataFrame, optional
            Indexed by feature with ``drifted`` and optionally ``psi``, ``p_adjusted``.
        alerts : iterable
            Fired alerts (objects or mappings with a ``rule``).
        version : int, optional
            The model version.
        timestamp : pd.Timestamp, optional
            Time of the run.
        """
        for name, value in metrics.items():
            self.metric.labels(model=model, metric=name).set(_number(value))
        if drift_table is not None:
            columns = set(drift_table.columns)
            for feature, row in drift_table.iterrows():  # one row per feature: tens, not rows
                labels = {"model": model, "feature": str(feature)}
                self.drifted.labels(**labels).set(1.0 if bool(row["drifted"]) else 0.0)
                if "psi" in columns:
                    self.psi.labels(**labels).set(_number(row["psi"]))
                if "p_adjusted" in columns:
                    self.p_adjusted.labels(**labels).set(_number(row["p_adjusted"]))
        for alert in alerts:
            rule = alert["rule"] if isinstance(alert, Mapping) else alert.rule
            self.alerts.labels(model=model, rule=str(rule)).inc()
        if version is not None:
            self.version.labels(model=model).set(float(version))
        if timestamp is not None:
            self.last_run.labels(model=model).set(pd.Timestamp(timestamp).timestamp())

    def render(self) -> bytes:
        """The exposition text a scrape of ``/metrics`` returns."""
        return bytes(generate_latest(self.registry))

    def serve(self, port: int, *, addr: str = "0.0.0.0") -> int:
        """Serve ``/metrics`` over HTTP in a daemon thread; return the bound port.

        ``port=0`` picks a free port. Call :meth:`close` to stop.
        """
        self.server, self._thread = start_http_server(port, addr=addr, registry=self.registry)
        return self.port

    @property
    def port(self) -> int:
        """The port the HTTP server listens on."""
        if self.server is None:
            raise MltrainerError("the exporter is not serving; call serve(port) first")
        return int(self.server.server_port)

    def close(self) -> None:
        """Stop the HTTP server (idempotent)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
            self._thread = None
