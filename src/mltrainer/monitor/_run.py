"""One monitoring run: model + reference in, drift, metrics, history, alerts and report out.

:func:`monitor` loads a registered model and the reference saved with it, computes the
model's features on the current bars (its stored feature spec), predicts, tests feature /
prediction / label drift, computes performance and concept drift where labels are known
(from the bars with the model's label spec, or given), records everything in the store's
history, evaluates the alert rules (sinks, cooldown, optional retrain), updates Prometheus
gauges and writes the HTML report.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.config import Config
from mltrainer.exceptions import ConfigError
from mltrainer.explain import attribution_shift
from mltrainer.monitor._alerts import Alert, evaluate_rules
from mltrainer.monitor._concept import ConceptDriftResult, concept_drift
from mltrainer.monitor._detectors import ADWINDetector, PageHinkleyDetector
from mltrainer.monitor._drift import DriftReport, feature_drift, label_drift, prediction_drift
from mltrainer.monitor._history import history_frame, to_utc, track
from mltrainer.monitor._metrics import per_sample_loss, performance
from mltrainer.monitor._prometheus import PrometheusExporter
from mltrainer.monitor._reference import load_reference
from mltrainer.monitor._report import drift_effect
from mltrainer.monitor._sinks import AlertSink, make_sinks
from mltrainer.monitor._window import CurrentWindow, current_window
from mltrainer.registry import LoadedModel, ModelRegistry
from mltrainer.store import (
    Batch,
    Store,
    TimeLike,
    drift_history_series,
    drift_latest_key,
    metric_point_key,
    open_store,
)

__all__ = ["MonitorResult", "monitor"]

logger = logging.getLogger("mltrainer")


@dataclass
class MonitorResult:
    """What one monitoring run found and recorded."""

    model: str
    version: int
    timestamp: pd.Timestamp
    metrics: dict[str, float]
    reasons: dict[str, str]
    feature_drift: DriftReport
    prediction_drift: DriftReport
    label_drift: DriftReport | None
    concept: ConceptDriftResult | None
    alerts: list[Alert] = field(default_factory=list)
    window: CurrentWindow | None = None
    report: Path | None = None

    @property
    def drifted(self) -> list[str]:
        """The drifted features."""
        return list(self.feature_drift.drifted)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (NaN as None): the stored drift report plus alerts and report."""
        return {
            **drift_record(
                self.model,
                self.version,
                self.timestamp,
                metrics=self.metrics,
                reasons=self.reasons,
                feature=self.feature_drift,
                prediction=self.prediction_drift,
                label=self.label_drift,
                concept=self.concept,
            ),
            "alerts": [a.to_dict() for a in self.alerts],
            "report": None if self.report is None else str(self.report),
        }


def drift_record(
    model: str,
    version: int,
    timestamp: pd.Timestamp,
    *,
    metrics: dict[str, float],
    reasons: dict[str, str],
    feature: DriftReport,
    prediction: DriftReport,
    label: DriftReport | None,
    concept: ConceptDriftResult | None,
) -> dict[str, Any]:
    """The drift report of a run, as stored under ``monitor/<model>/drift/latest``."""
    return {
        "model": model,
        "version": version,
        "timestamp": timestamp.isoformat(),
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in metrics.items()},
        "reasons": dict(reasons),
        "feature_drift": feature.to_dict(),
        "prediction_drift": prediction.to_dict(),
        "label_drift": None if label is None else label.to_dict(),
        "concept": None if concept is None else concept.to_dict(),
    }


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def drift_window(version: int, report: DriftReport) -> dict[str, Any]:
    """One window of ``monitor/<model>/drift/history``: each feature's drift in this run.

    ``effect_ratio`` is the effect over its calibrated threshold (1 = at the threshold,
    see :func:`~mltrainer.monitor.drift_effect`).
    """
    table = report.table
    ratio = drift_effect(table)
    columns = set(table.columns)
    features = {
        str(name): {
            "effect_ratio": _finite(ratio.get(name, math.nan)),
            "psi": _finite(row["psi"]) if "psi" in columns else None,
            "p_adjusted": _finite(row["p_adjusted"]) if "p_adjusted" in columns else None,
            "drifted": bool(row["drifted"]),
        }
        for name, row in table.iterrows()  # one row per feature: tens, not rows
    }
    return {"version": version, "n_current": report.n_current, "features": features}


def _drift_batch(
    name: str,
    version: int,
    stamp: pd.Timestamp,
    latest: dict[str, Any],
    report: DriftReport,
    *,
    max_points: int | None,
    max_age: str | None,
) -> Batch:
    """The drift report's writes, applied in the same transaction as the run's metrics."""
    when = stamp.to_pydatetime()
    series = drift_history_series(name)
    before = None if max_age is None else (stamp - pd.Timedelta(max_age)).to_pydatetime()
    return (
        Batch()
        .put(drift_latest_key(name), latest)
        .append(
            series,
            drift_window(version, report),
            timestamp=when,
            key=metric_point_key(version, when),
        )
        .trim(series, before=before, keep_last=max_points)
    )


def _bind_retrain(
    retrain: Callable[[LoadedModel, pd.Timestamp], int] | None,
    model: LoadedModel,
    until: pd.Timestamp,
) -> Callable[[], int]:
    def bound() -> int:
        if retrain is None:
            raise ConfigError(
                "an alert rule has action: retrain but monitor() was given no retrain"
                " callable: pass retrain=mltrainer.pipeline.retrain"
            )
        return int(retrain(model, until))

    return bound


def _proba_input(proba: np.ndarray | None) -> np.ndarray | None:
    """Binary models keep one column, P(positive class): pass it as a vector."""
    if proba is None:
        return None
    return proba[:, 0] if proba.shape[1] == 1 else proba


def _performance(
    y: np.ndarray,
    pred: np.ndarray,
    *,
    kind: str,
    proba: np.ndarray | None,
    classes: list[float] | None,
    returns: np.ndarray,
) -> tuple[dict[str, float], dict[str, str]]:
    result = performance(
        y,
        pred,
        kind=kind,  # type: ignore[arg-type]
        proba=_proba_input(proba),
        labels=classes if kind == "classification" else None,
        returns=returns if np.isfinite(returns).any() else None,  # rows without one skipped
    )
    values = {str(k): float(v) for k, v in result.values.items()}
    reasons = {str(k): str(v) for k, v in dict(result.reasons).items()}
    return values, reasons


def _concept(sample: pd.DataFrame, y: np.ndarray, pred: np.ndarray, *, kind: str, seed: int) -> Any:
    return concept_drift(
        sample["label"].to_numpy(dtype=float),
        sample["prediction"].to_numpy(dtype=float),
        y,
        pred,
        kind=kind,
        random_state=seed,
    )


def _stream_detections(
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    *,
    kind: str,
    classes: list[float] | None,
) -> dict[str, float]:
    loss = per_sample_loss(
        y,
        pred,
        kind=kind,  # type: ignore[arg-type]
        proba=_proba_input(proba),
        labels=classes if kind == "classification" else None,
    )
    out = {}
    for key, detector in (
        ("stream.adwin_detections", ADWINDetector()),
        ("stream.page_hinkley_detections", PageHinkleyDetector()),
    ):
        fired = detector.update_many(np.asarray(loss, dtype=float))  # positions of alarms
        out[key] = float(len(fired))
    return out


def _labelled_statistics(
    window: CurrentWindow,
    profile: Any,
    sample: pd.DataFrame | None,
    *,
    kind: str,
    classes: list[float] | None,
    alpha: float,
    seed: int,
) -> tuple[dict[str, float], dict[str, str], DriftReport | None, ConceptDriftResult | None]:
    """Performance, label drift, concept drift and streaming detectors on labelled rows."""
    mask = window.labelled
    y = window.y[mask]
    pred = window.predictions["prediction"].to_numpy(dtype=float)[mask]
    proba_cols = [c for c in window.predictions.columns if c.startswith("proba_")]
    proba = window.predictions[proba_cols].to_numpy(dtype=float)[mask] if proba_cols else None
    returns = window.returns[mask]
    metrics, reasons = _performance(
        y, pred, kind=kind, proba=proba, classes=classes, returns=returns
    )
    label_report = None
    if profile.labels is not None:
        label_report = label_drift(profile, y, alpha=alpha)
        row = label_report.table.iloc[0]
        metrics["label_drift.drifted"] = float(bool(row["drifted"]))
        metrics["label_drift.psi"] = float(row["psi"])
    concept = None
    if sample is not None and len(sample) >= 20 and len(y) >= 20:
        concept = _concept(sample, y, pred, kind=kind, seed=seed)
        metrics["concept.difference"] = float(concept.difference)
        metrics["concept.drifted"] = float(bool(concept.drifted))
    metrics.update(_stream_detections(y, pred, proba, kind=kind, classes=classes))
    return metrics, reasons, label_report, concept


def monitor(
    name: str,
    *,
    bars: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
    labels: pd.Series | pd.DataFrame | None = None,
    config: Config | None = None,
    version: int | str = "latest",
    timestamp: TimeLike | None = None,
    store: Store | None = None,
    sinks: Sequence[AlertSink] | None = None,
    exporter: PrometheusExporter | None = None,
    report: str | Path | None = None,
    allow_training_rows: bool = False,
    retrain: Callable[[LoadedModel, pd.Timestamp], int] | None = None,
) -> MonitorResult:
    """Monitor a registered model on current data; record history, fire alerts.

    Parameters
    ----------
    name : str
        Registered model name.
    bars, features : DataFrame
        The current data: bars (features and labels computed with the model's specs) or
        the model's feature columns. Exactly one.
    labels : Series or DataFrame, optional
        Realised labels (``label``, optional ``return``) by timestamp; overrides labels
        computed from the bars.
    config : Config, optional
        Registry, store and ``monitor`` settings (alpha, rules, sinks, retention); the
        defaults when None.
    version : int or str, default "latest"
        Version or alias to monitor.
    timestamp : time, optional
        Time of the run in the history (default: now, UTC).
    store : Store, optional
        Use this store instead of opening ``config.store``.
    sinks : sequence of AlertSink, optional
        Alert sinks; by default those of ``config.monitor.sinks``.
    exporter : PrometheusExporter, optional
        Gauges to update.
    report : path, optional
        Write the HTML report there.
    allow_training_rows : bool, default False
        Also monitor rows up to the training data's last label end (in-sample).
    retrain : callable, optional
        ``retrain(model, until) -> new version``, called for a firing rule with ``action:
        retrain`` (the CLI passes :func:`mltrainer.pipeline.retrain`, which never trains on
        bars after ``until``, the run's time). Without it such a rule records an error.

    Returns
    -------
    MonitorResult
    """
    config = config if config is not None else Config()
    settings = config.monitor
    own_sinks = make_sinks(settings.sinks, store_url=config.store.url) if sinks is None else []
    sinks = own_sinks if sinks is None else sinks  # a bad sink setting fails before any work
    model = ModelRegistry(config.registry.root).load(name, version)
    profile, sample = load_reference(model)
    stamp = to_utc(timestamp)
    if timestamp is not None:  # a backfill sees only what was known at its time
        bars = None if bars is None else bars.loc[bars.index <= stamp]
        features = None if features is None else features.loc[features.index <= stamp]
        labels = None if labels is None else labels.loc[labels.index <= stamp]
    window = current_window(
        model,
        bars=bars,
        features=features,
        labels=labels,
        allow_training_rows=allow_training_rows,
    )
    kind = profile.kind or model.metadata.get("task", "classification")

    fdrift = feature_drift(profile, window.X, alpha=settings.alpha)
    pcols = [c for c in profile.predictions if c in window.predictions.columns]
    pdrift = prediction_drift(profile, window.predictions[pcols], alpha=settings.alpha)
    table = fdrift.table
    metrics: dict[str, float] = {
        "n_rows": float(len(window.X)),
        "n_labelled": float(window.labelled.sum()),
        "drift.n_drifted": float(len(fdrift.drifted)),
        "drift.share_drifted": len(fdrift.drifted) / max(len(table), 1),
        "drift.max_psi": float(np.nanmax(table["psi"].to_numpy(dtype=float))),
        "prediction_drift.drifted": float(bool(pdrift.table["drifted"].any())),
        "prediction_drift.psi": float(pdrift.table["psi"].iloc[0]),
    }
    shift = attribution_shift(model, window.X, random_state=config.seed)
    if shift is not None:  # versions saved with a training attribution profile
        metrics["attribution.shift"] = float(shift["shift"])
    reasons: dict[str, str] = {}
    ldrift = concept = None
    if window.labelled.any():
        more, reasons, ldrift, concept = _labelled_statistics(
            window,
            profile,
            sample,
            kind=kind,
            classes=model.metadata.get("label", {}).get("classes"),
            alpha=settings.alpha,
            seed=config.seed,
        )
        metrics.update(more)
    else:
        logger.info("monitor %r: no realised labels in the window; drift only", name)

    own_store = store is None
    active: Store = (
        open_store(config.store.url, prefix=config.store.prefix) if store is None else store
    )
    retention = settings.retention
    latest = drift_record(
        name,
        model.version,
        stamp,
        metrics=metrics,
        reasons=reasons,
        feature=fdrift,
        prediction=pdrift,
        label=ldrift,
        concept=concept,
    )
    drift_writes = _drift_batch(
        name,
        model.version,
        stamp,
        latest,
        fdrift,
        max_points=retention.max_points,
        max_age=retention.max_age,
    )
    try:
        track(
            active,
            name,
            metrics,
            timestamp=stamp,
            reasons=reasons,
            version=model.version,
            max_points=retention.max_points,
            max_age=retention.max_age,
            batch=drift_writes,  # the drift report lands with the metrics, or neither does
        )
        alerts = evaluate_rules(
            active,
            name,
            settings.rules,
            current=metrics,
            timestamp=stamp,
            version=model.version,
            sinks=sinks,
            retrain=_bind_retrain(retrain, model, stamp),
            max_alerts=settings.max_alerts,
        )
        history = history_frame(active, name) if report is not None else None
    finally:
        if own_store:
            active.close()
        for sink in own_sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()
    if exporter is not None:
        exporter.observe(
            name, metrics=metrics, drift_table=table, alerts=alerts, version=model.version,
            timestamp=stamp,
        )  # fmt: skip
    out = None
    if report is not None:
        from mltrainer.monitor._report import write_report

        out = write_report(
            report,
            model=name,
            version=model.version,
            timestamp=stamp,
            profile=profile,
            current=window.X,
            drift_table=table,
            metrics=metrics,
            history=history,
            alerts=[a.to_dict() for a in alerts],
        )
    return MonitorResult(
        model=name,
        version=model.version,
        timestamp=stamp,
        metrics=metrics,
        reasons=reasons,
        feature_drift=fdrift,
        prediction_drift=pdrift,
        label_drift=ldrift,
        concept=concept,
        alerts=alerts,
        window=window,
        report=out,
    )
