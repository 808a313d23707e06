"""Metric history in the store: one series per (model, metric), retention and range queries.

Layout (inside the store's prefix):

- series ``monitor/<model>/<metric>``: one point per monitoring run, the value a JSON object
  ``{"value": 0.53}``, or ``{"value": null, "reason": "..."}`` when the metric is NaN or
  infinite (never written as a number), plus ``"version"`` (the model version) when known;
- key ``monitor/<model>/metrics``: the sorted names of the metrics tracked for the model.

One series per metric keeps range queries, retention and alert windows to a single read of
exactly the points they need, on SQLite and Redis alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, NotFoundError, did_you_mean
from mltrainer.store import Store, TimeLike

__all__ = [
    "apply_retention",
    "history",
    "history_frame",
    "metric_series",
    "to_utc",
    "track",
    "tracked",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _check(value: Any, *, what: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} is invalid: start with a letter or digit and use only letters, "
            "digits, '.', '_' or '-', e.g. 'roc_auc' or 'drift.n_drifted'"
        )
    return value


def metric_series(model_name: str, metric: str) -> str:
    """Return the store series holding ``metric`` of ``model_name``."""
    return f"monitor/{_check(model_name, what='model name')}/{_check(metric, what='metric name')}"


def _index_key(model_name: str) -> str:
    return f"monitor/{_check(model_name, what='model name')}/metrics"


def to_utc(value: TimeLike | None) -> pd.Timestamp:
    """A time (datetime, Timestamp, epoch seconds; None = now) as a UTC ``pd.Timestamp``."""
    if value is None:
        return pd.Timestamp(datetime.now(UTC))
    if isinstance(value, Real) and not isinstance(value, bool):
        return pd.Timestamp(float(value), unit="s", tz="UTC")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"timestamp={value!r} is not a time; pass a datetime, pd.Timestamp or epoch seconds"
        ) from None
    if stamp is pd.NaT:
        raise ConfigError("timestamp is NaT; pass a real time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _point(value: Any, reason: str | None, version: int | None) -> dict[str, Any]:
    if isinstance(value, (bool, np.bool_)):
        value = float(value)
    if not isinstance(value, Real):
        raise ConfigError(
            f"metric value {value!r} is not a number; track floats (NaN is recorded as null)"
        )
    number = float(value)
    point: dict[str, Any] = {"value": number if math.isfinite(number) else None}
    if point["value"] is None:
        point["reason"] = reason or ("NaN" if math.isnan(number) else "infinite")
    if version is not None:
        point["version"] = int(version)
    return point


def tracked(store: Store, model_name: str) -> list[str]:
    """Return the sorted metric names recorded for ``model_name`` (empty when none)."""
    return list(store.get(_index_key(model_name), default=[]))


def apply_retention(
    store: Store,
    series: str,
    *,
    max_points: int | None = None,
    max_age: str | pd.Timedelta | None = None,
    now: TimeLike | None = None,
) -> int:
    """Trim ``series`` to its newest ``max_points`` points, none older than ``now - max_age``.

    Returns
    -------
    int
        The number of points deleted.
    """
    before = None
    if max_age is not None:
        try:
            age = pd.Timedelta(max_age)
        except (TypeError, ValueError):
            raise ConfigError(
                f"max_age={max_age!r} is not a duration; write it like '30D' or '12h'"
            ) from None
        before = (to_utc(now) - age).to_pydatetime()
    if before is None and max_points is None:
        return 0
    return store.trim(series, before=before, keep_last=max_points)


def track(
    store: Store,
    model_name: str,
    metrics: Mapping[str, float],
    *,
    timestamp: TimeLike | None = None,
    reasons: Mapping[str, str] | None = None,
    version: int | None = None,
    max_points: int | None = None,
    max_age: str | pd.Timedelta | None = None,
) -> pd.Timestamp:
    """Append one point per metric to the model's history, then apply retention.

    Parameters
    ----------
    store : Store
        From :func:`mltrainer.store.open_store` (SQLite or Redis).
    model_name : str
        The registered model's name.
    metrics : mapping of str to float
        Metric name -> value. NaN and infinite values are written as ``null`` with a
        reason (``reasons[name]``, else ``"NaN"``/``"infinite"``), never as a number.
    timestamp : datetime, pd.Timestamp or epoch seconds, optional
        Time of the points (default: now, UTC); naive times are read as UTC.
    reasons : mapping of str to str, optional
        Why a metric is undefined, e.g. ``{"roc_auc": "one class in the window"}``.
    version : int, optional
        The model version the metrics belong to, stored with each point.
    max_points, max_age : optional
        Retention per series: keep the newest ``max_points`` points and none older than
        ``timestamp - max_age`` (a duration such as ``"365D"``).

    Returns
    -------
    pd.Timestamp
        The UTC time the points were written at.
    """
    if not isinstance(metrics, Mapping):
        raise ConfigError(
            f"metrics must be a mapping of name to value, got {type(metrics).__name__}"
        )
    reasons = dict(reasons or {})
    points = {
        name: (metric_series(model_name, name), _point(value, reasons.get(name), version))
        for name, value in metrics.items()
    }  # every name and value is checked before anything is written
    stamp = to_utc(timestamp)
    when = stamp.to_pydatetime()
    for series, point in points.values():
        store.append(series, point, timestamp=when)
        apply_retention(store, series, max_points=max_points, max_age=max_age, now=stamp)
    known = tracked(store, model_name)
    if not set(points) <= set(known):
        store.put(_index_key(model_name), sorted(set(known) | set(points)))
    return stamp


def _to_series(rows: Iterable[tuple[datetime, Any]], name: str) -> pd.Series:
    rows = list(rows)
    values = np.array(
        [
            np.nan if not isinstance(p, Mapping) or p.get("value") is None else float(p["value"])
            for _, p in rows
        ],
        dtype=float,
    )
    index = pd.DatetimeIndex([t for t, _ in rows], name="timestamp")
    index = (
        index.tz_convert("UTC") if len(rows) else pd.DatetimeIndex([], tz="UTC", name="timestamp")
    )
    return pd.Series(values, index=index, name=name)


def history(
    store: Store,
    model_name: str,
    metric: str,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    limit: int | None = None,
) -> pd.Series:
    """Return the recorded values of ``metric`` with ``start <= t <= end`` as a float Series.

    The index is the UTC time of each point (ascending); undefined values are NaN. With
    ``limit``, only the newest ``limit`` points of the window.

    Raises
    ------
    NotFoundError
        When the model has no point of ``metric`` (naming the metrics it has).
    """
    series = metric_series(model_name, metric)
    rows = store.range(series, start, end, limit=limit)
    if not rows and metric not in (known := tracked(store, model_name)):
        raise NotFoundError(
            f"no history of metric '{metric}' for model '{model_name}'"
            f"{did_you_mean(metric, known)}; tracked metrics: {known or 'none yet (run monitor)'}"
        )
    return _to_series(rows, metric)


def history_frame(
    store: Store,
    model_name: str,
    metrics: Iterable[str] | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> pd.DataFrame:
    """Every tracked metric (or ``metrics``) of a model as columns, one row per time."""
    names = list(metrics) if metrics is not None else tracked(store, model_name)
    columns = [history(store, model_name, name, start, end) for name in names]
    columns = [c[~c.index.duplicated(keep="last")] for c in columns]
    if not columns:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
    return pd.concat(columns, axis=1, sort=True)
