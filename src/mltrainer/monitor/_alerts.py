"""Alert rules over the metric history: evaluation, cooldown kept in the store, records, sinks.

A rule fires when the mean of the newest ``window`` recorded points of its metric for the
monitored model version (the current run's point included) is above / below its threshold,
unless it fired less than ``cooldown`` before. Points of other versions never enter the
window: a retrained model starts its windows afresh. Each alert is pushed to the bounded
store list ``alerts/<model>`` and sent to every sink. The time a rule last fired is the store key
``alerts/<model>/<rule>/last_fired``, so the cooldown survives restarts and is shared by
every process that monitors the model.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import MltrainerError, NotFoundError
from mltrainer.monitor._history import history, to_utc
from mltrainer.monitor._sinks import AlertSink
from mltrainer.store import Alert, Store, TimeLike, alert_last_fired_key, alerts_key
from mltrainer.vocabulary import (  # re-exported: the monitor's vocabulary
    ALERT_METRICS,
    DRIFT_STATISTICS,
    PERFORMANCE_METRICS,
    check_metric_name,
)

__all__ = [
    "ALERT_METRICS",
    "DRIFT_STATISTICS",
    "PERFORMANCE_METRICS",
    "Alert",
    "check_metric_name",
    "evaluate_rules",
    "recent_alerts",
]

logger = logging.getLogger("mltrainer")


def _value(rule: Any, key: str) -> Any:
    return rule[key] if isinstance(rule, Mapping) else getattr(rule, key)


def _window_mean(
    store: Store,
    model_name: str,
    metric: str,
    window: int,
    end: pd.Timestamp,
    version: int | None,
) -> float | None:
    try:
        values = history(
            store, model_name, metric, end=end.to_pydatetime(), limit=window, version=version
        )
    except NotFoundError:
        return None
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if len(finite) else None


def evaluate_rules(
    store: Store,
    model_name: str,
    rules: Iterable[Any],
    *,
    current: Mapping[str, float],
    timestamp: TimeLike,
    version: int | None = None,
    sinks: Sequence[AlertSink] = (),
    retrain: Callable[[], int] | None = None,
    max_alerts: int = 1000,
) -> list[Alert]:
    """Evaluate alert rules after the current run's metrics were tracked.

    Parameters
    ----------
    store : Store
        Holds the history (see :func:`track`), the cooldown state and the alert list.
    model_name : str
        The monitored model.
    rules : iterable of AlertRuleConfig or mapping
        Each with ``name, metric, op, threshold, window, cooldown, action``.
    current : mapping of str to float
        This run's metrics; a rule whose metric this run did not produce (e.g. no labels)
        or produced as NaN is not evaluated, so stale points never fire again.
    timestamp : time
        The run's time (the time its points were tracked at); cooldowns are measured on it.
    version : int, optional
        The model version monitored, recorded in each alert. A rule's window counts only
        the points tracked for this version (all points when None).
    sinks : sequence of AlertSink
        Each alert is sent to every sink; sinks log their own failures and never raise.
    retrain : callable, optional
        Called for a firing rule with ``action: retrain``; returns the new model version,
        recorded in the alert (an error is recorded and logged instead of raised).
    max_alerts : int, default 1000
        Length bound of the store list ``alerts/<model>``.

    Returns
    -------
    list of Alert
        The alerts that fired (not those held back by a cooldown).
    """
    now = to_utc(timestamp)
    rules = list(rules)
    for rule in rules:  # every rule's store key is valid before anything is written
        alert_last_fired_key(model_name, _value(rule, "name"))
    fired: list[Alert] = []
    for rule in rules:
        name, metric = _value(rule, "name"), _value(rule, "metric")
        op, threshold = _value(rule, "op"), float(_value(rule, "threshold"))
        window, action = int(_value(rule, "window")), _value(rule, "action")
        now_value = current.get(metric)
        if now_value is None or not math.isfinite(float(now_value)):
            logger.debug("alert rule %r: no current value of %r; not evaluated", name, metric)
            continue
        value = _window_mean(store, model_name, metric, window, now, version)
        if value is None:
            continue
        breached = value > threshold if op == "above" else value < threshold
        if not breached:
            continue
        last = store.get(alert_last_fired_key(model_name, name))
        cooldown = pd.Timedelta(_value(rule, "cooldown"))
        if last is not None and abs(now - pd.Timestamp(last)) < cooldown:  # runs may backfill
            logger.info("alert rule %r breached but in cooldown since %s", name, last)
            continue
        store.put(alert_last_fired_key(model_name, name), now.isoformat())
        over = f"mean of last {window} " if window > 1 else ""
        alert = Alert(
            model=model_name,
            rule=name,
            metric=metric,
            op=op,
            threshold=threshold,
            value=value,
            window=window,
            timestamp=now.isoformat(),
            version=version,
            action=action,
            message=(
                f"model '{model_name}'{f' v{version}' if version is not None else ''}: "
                f"rule '{name}': {over}{metric} = {value:.4g} is {op} {threshold:g}"
            ),
        )
        if action == "retrain" and retrain is not None:
            try:
                alert.new_version = int(retrain())
                alert.message += f"; retrained as version {alert.new_version}"
            except (MltrainerError, ValueError, OSError) as exc:
                alert.error = f"retrain failed: {type(exc).__name__}: {exc}"
                logger.error("alert rule %r: %s", name, alert.error)
        record = alert.to_dict()
        store.push(alerts_key(model_name), record, max_len=max_alerts)
        for sink in sinks:
            try:
                sink.send(record)
            except Exception as exc:  # a sink must never stop monitoring
                logger.error("alert sink %r raised %s: %s", sink, type(exc).__name__, exc)
        fired.append(alert)
    return fired


def recent_alerts(store: Store, model_name: str, n: int | None = 20) -> list[dict[str, Any]]:
    """Return the newest ``n`` alert records of a model, newest first."""
    return list(store.recent(alerts_key(model_name), n))
