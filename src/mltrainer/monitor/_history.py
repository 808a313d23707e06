"""Metric history in the store: one series per (model, metric), retention and range queries.

Layout (inside the store's prefix; keys built by :mod:`mltrainer.store` records):

- series ``monitor/<model>/<metric>``: one point per (model version, monitoring run time),
  the value a :class:`~mltrainer.store.MetricPoint` ``{"value": 0.53, "version": 3}``, or
  ``{"value": null, "reason": "..."}`` when the metric is NaN or infinite (never written as
  a number). The point key is :func:`~mltrainer.store.metric_point_key`, so writing a run
  again (the same ``--timestamp``) replaces its points instead of adding more;
- set ``monitor/<model>/metrics``: the names of the metrics tracked for the model.

One run's points, the metric names and the retention trims are one
:class:`~mltrainer.store.Batch`: they land together or not at all. One series per metric
keeps range queries, retention and alert windows to a single read of exactly the points
they need, on SQLite and Redis alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, NotFoundError, did_you_mean
from mltrainer.store import (
    Batch,
    MetricPoint,
    Store,
    TimeLike,
    metric_point_key,
    metric_series,
    tracked_metrics_key,
)

__all__ = [
    "apply_retention",
    "history",
    "history_frame",
    "metric_series",
    "to_utc",
    "track",
    "tracked",
]


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


def tracked(store: Store, model_name: str) -> list[str]:
    """Return the sorted metric names recorded for ``model_name`` (empty when none)."""
    key = tracked_metrics_key(model_name)
    legacy = store.get(key, default=None)  # a JSON list, as written before the set existed
    return sorted(set(store.set_members(key)) | set(legacy if isinstance(legacy, list) else []))


def _cutoff(max_age: str | pd.Timedelta | None, now: TimeLike | None) -> datetime | None:
    if max_age is None:
        return None
    try:
        age = pd.Timedelta(max_age)
    except (TypeError, ValueError):
        raise ConfigError(
            f"max_age={max_age!r} is not a duration; write it like '30D' or '12h'"
        ) from None
    return (to_utc(now) - age).to_pydatetime()


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
    before = _cutoff(max_age, now)
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
    batch: Batch | None = None,
) -> pd.Timestamp:
    """Record one monitoring run: a point per metric, the metric names, then retention.

    Everything is one store batch (one SQLite transaction, one Redis ``MULTI``/``EXEC``):
    after a crash either every metric of the run is in the history or none is. A point is
    keyed by (model, version, metric, timestamp): tracking the same run again replaces its
    points, so windows never count a run twice.

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
        The model version the metrics belong to, stored with each point and in its key.
    max_points, max_age : optional
        Retention per series: keep the newest ``max_points`` points and none older than
        ``timestamp - max_age`` (a duration such as ``"365D"``).
    batch : Batch, optional
        Writes of the same run (its drift report) to apply in the same transaction; the
        metric points are added to it.

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
        metric_series(model_name, name): MetricPoint.measure(
            value, reason=reasons.get(name), version=version
        )
        for name, value in metrics.items()
    }  # every name and value is checked before anything is written
    stamp = to_utc(timestamp)
    when = stamp.to_pydatetime()
    key = metric_point_key(version, when)
    before = _cutoff(max_age, stamp)
    batch = (Batch() if batch is None else batch).add_to_set(
        tracked_metrics_key(model_name), list(metrics)
    )
    for series, point in points.items():
        batch.append(series, point.to_dict(), timestamp=when, key=key)
        batch.trim(series, before=before, keep_last=max_points)
    store.write(batch)
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


def _of_version(rows: list[tuple[datetime, Any]], version: int) -> list[tuple[datetime, Any]]:
    return [(t, p) for t, p in rows if isinstance(p, Mapping) and p.get("version") == version]


def _read(
    store: Store,
    series: str,
    start: TimeLike | None,
    end: TimeLike | None,
    *,
    limit: int | None,
    version: int | None,
) -> tuple[list[tuple[datetime, Any]], bool]:
    """The points of `series` in the window (of `version` only), and whether it has any."""
    if version is None:
        rows = store.range(series, start, end, limit=limit)
        return rows, bool(rows)
    if limit is None:
        rows = store.range(series, start, end)
        return _of_version(rows, version), bool(rows)
    fetch = max(limit, 1)
    while True:  # read the newest points, more of them until `limit` are of this version
        rows = store.range(series, start, end, limit=fetch)
        mine = _of_version(rows, version)
        if len(mine) >= limit or len(rows) < fetch:
            return mine[max(len(mine) - limit, 0) :], bool(rows)
        fetch *= 4


def history(
    store: Store,
    model_name: str,
    metric: str,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    limit: int | None = None,
    version: int | None = None,
) -> pd.Series:
    """Return the recorded values of ``metric`` with ``start <= t <= end`` as a float Series.

    The index is the UTC time of each point (ascending); undefined values are NaN. With
    ``limit``, only the newest ``limit`` points of the window. With ``version``, only the
    points recorded for that model version (points without a version are left out), so a
    window never mixes the metrics of two models.

    Raises
    ------
    NotFoundError
        When the model has no point of ``metric`` (naming the metrics it has).
    """
    series = metric_series(model_name, metric)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ConfigError(f"version={version!r} is invalid; pass an integer model version")
    rows, found = _read(store, series, start, end, limit=limit, version=version)
    if not found and metric not in (known := tracked(store, model_name)):
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
