"""Reads of the store, every key built by the records module of :mod:`mltrainer.store`.

Each function takes a model name already checked against the registry and returns plain
JSON-ready values; nothing here writes. A key with nothing under it reads as None or an
empty list, so a model that was never monitored, tuned or streamed has empty pages rather
than errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from mltrainer.models import MODEL_CATALOGUE
from mltrainer.service._downsample import m4_indices
from mltrainer.store import (
    Alert,
    BestParams,
    Store,
    TrainScores,
    TuningRun,
    alerts_key,
    drift_history_series,
    drift_latest_key,
    metric_series,
    stream_checkpoint_key,
    stream_offset_key,
    stream_status_key,
    tracked_metrics_key,
    train_latest_key,
    train_scores_series,
    tuning_key,
)

__all__ = [
    "alerts",
    "drift_history",
    "drift_latest",
    "metric_history",
    "stream_state",
    "tracked_metrics",
    "train_history",
    "train_latest",
    "tuning_history",
    "tuning_summary",
]


def _iso(t: datetime) -> str:
    return t.isoformat()


def train_latest(store: Store, name: str) -> dict[str, Any] | None:
    """The latest training run's scores (``train/<model>/latest``), or None."""
    raw = store.get(train_latest_key(name))
    return None if raw is None else TrainScores.from_dict(raw).to_dict()


def train_history(store: Store, name: str, *, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` training runs (``train/<model>/scores``), oldest first."""
    rows = store.range(train_scores_series(name), limit=limit)
    return [{"time": _iso(t), **TrainScores.from_dict(v).to_dict()} for t, v in rows]


def tracked_metrics(store: Store, name: str) -> list[str]:
    """The names of the metrics monitored for the model (the set, and the old JSON list)."""
    key = tracked_metrics_key(name)
    legacy = store.get(key)
    return sorted(set(store.set_members(key)) | set(legacy if isinstance(legacy, list) else []))


def _value(point: Any) -> tuple[float, int | None]:
    """A :class:`~mltrainer.store.MetricPoint`'s value (NaN when undefined) and version.

    Read field by field: a request may hold 100,000 points, so no record object per point.
    """
    if not isinstance(point, Mapping):
        return math.nan, None
    value, version = point.get("value"), point.get("version")
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )
    return number, version if isinstance(version, int) and not isinstance(version, bool) else None


def metric_history(
    store: Store,
    name: str,
    metric: str,
    *,
    start: datetime | None,
    end: datetime | None,
    version: int | None,
    max_points: int,
) -> dict[str, Any]:
    """The points of ``monitor/<model>/<metric>`` in ``[start, end]``, at most `max_points`.

    Returns columns ``time``, ``value`` (None where undefined) and ``version``, with
    ``n_total`` (points in the window) and ``downsampled`` (M4 when more than fit).
    """
    rows = store.range(metric_series(name, metric), start, end)
    values = [_value(point) for _, point in rows]
    if version is not None:
        keep = [i for i, (_, v) in enumerate(values) if v == version]
        rows, values = [rows[i] for i in keep], [values[i] for i in keep]
    times = np.fromiter((t.timestamp() for t, _ in rows), dtype=np.float64, count=len(rows))
    numbers = np.fromiter((v for v, _ in values), dtype=np.float64, count=len(values))
    chosen = m4_indices(times, numbers, max_points)
    return {
        "model": name,
        "metric": metric,
        "n_total": len(rows),
        "downsampled": len(chosen) < len(rows),
        "time": [_iso(rows[i][0]) for i in chosen],
        "value": [None if math.isnan(numbers[i]) else float(numbers[i]) for i in chosen],
        "version": [values[i][1] for i in chosen],
    }


def drift_latest(store: Store, name: str) -> dict[str, Any] | None:
    """The latest drift report (``monitor/<model>/drift/latest``), or None."""
    raw = store.get(drift_latest_key(name))
    return raw if isinstance(raw, dict) else None


def drift_history(store: Store, name: str, *, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` windows of ``monitor/<model>/drift/history``, oldest first."""
    rows = store.range(drift_history_series(name), limit=limit)
    return [{"time": _iso(t), **v} for t, v in rows if isinstance(v, dict)]


def alerts(store: Store, name: str, *, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` alerts (``alerts/<model>``), newest first."""
    return [Alert.from_dict(item).to_dict() for item in store.recent(alerts_key(name), limit)]


def _record(store: Store, key: str, kind: type[Any] | None = None) -> dict[str, Any] | None:
    raw = store.get(key)
    if raw is None:
        return None
    return kind.from_dict(raw).to_dict() if kind is not None else dict(raw)


def tuning_summary(store: Store, name: str) -> list[dict[str, Any]]:
    """Per catalogue model type that was tuned: the last result, best params, last run."""
    out = []
    for model_type in MODEL_CATALOGUE:
        last = _record(store, tuning_key(name, model_type, "last"))
        if last is None:
            continue
        out.append(
            {
                "model_type": model_type,
                "last": last,
                "best": _record(store, tuning_key(name, model_type, "best"), BestParams),
                "last_run": _record(store, tuning_key(name, model_type, "last_run"), TuningRun),
            }
        )
    return out


def tuning_history(store: Store, name: str, model_type: str, *, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` tuning results of a model type, oldest first."""
    rows = store.range(tuning_key(name, model_type, "history"), limit=limit)
    return [{"time": _iso(t), **v} for t, v in rows if isinstance(v, dict)]


def stream_state(store: Store, name: str) -> dict[str, Any] | None:
    """The online learner's status, offset and checkpoint summary; None when never streamed.

    The checkpoint's state blob is left out: only its format, offset, bars, version, time
    and SHA-256 are returned.
    """
    status = store.get(stream_status_key(name))
    offset = store.get(stream_offset_key(name))
    checkpoint = store.get(stream_checkpoint_key(name))
    if status is None and offset is None and checkpoint is None:
        return None
    summary = None
    if isinstance(checkpoint, dict):
        summary = {k: v for k, v in checkpoint.items() if k not in ("state", "meta")}
    return {"status": status, "offset": offset, "checkpoint": summary}
