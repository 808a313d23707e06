"""The names other layers agree on: metrics a monitoring run records and alert rules watch.

A leaf module: it imports nothing of mltrainer but the exceptions, so the config can check
an alert rule's metric without importing the monitor (scipy, river, redis).
"""

from __future__ import annotations

from mltrainer.exceptions import ConfigError, did_you_mean

__all__ = [
    "ALERT_METRICS",
    "CLASSIFICATION_METRICS",
    "DRIFT_STATISTICS",
    "PERFORMANCE_METRICS",
    "REGRESSION_METRICS",
    "TRADING_METRICS",
    "check_metric_name",
]

#: Metrics of a classifier's window (:func:`mltrainer.monitor.performance`).
CLASSIFICATION_METRICS: tuple[str, ...] = (
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier",
)  # fmt: skip
#: Metrics of a regressor's window.
REGRESSION_METRICS: tuple[str, ...] = ("mse", "mae", "r2", "directional_accuracy", "ic")
#: Metrics of the signal's returns, when forward returns are known.
TRADING_METRICS: tuple[str, ...] = ("hit_rate", "sharpe")

#: Metric names :func:`mltrainer.monitor.performance` can report.
PERFORMANCE_METRICS: tuple[str, ...] = CLASSIFICATION_METRICS + REGRESSION_METRICS + TRADING_METRICS

#: Statistics a monitoring run records beside the performance metrics.
DRIFT_STATISTICS: tuple[str, ...] = (
    "n_rows",
    "n_labelled",
    "drift.n_drifted",
    "drift.share_drifted",
    "drift.max_psi",
    "prediction_drift.drifted",
    "prediction_drift.psi",
    "label_drift.drifted",
    "label_drift.psi",
    "concept.difference",
    "concept.drifted",
    "stream.adwin_detections",
    "stream.page_hinkley_detections",
    "attribution.shift",
)

#: Every name an alert rule may watch.
ALERT_METRICS: tuple[str, ...] = PERFORMANCE_METRICS + DRIFT_STATISTICS


def check_metric_name(name: str) -> str:
    """Return ``name`` when an alert rule can watch it, else raise ``ConfigError``.

    Examples
    --------
    >>> check_metric_name("roc_auc")
    'roc_auc'
    """
    if name not in ALERT_METRICS:
        raise ConfigError(
            f"unknown metric '{name}'{did_you_mean(str(name), ALERT_METRICS)}; use a performance "
            f"metric ({', '.join(PERFORMANCE_METRICS)}) or a drift statistic "
            f"({', '.join(DRIFT_STATISTICS)})"
        )
    return name
