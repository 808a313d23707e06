"""Monitoring: metrics over time, feature/prediction/label drift, concept drift, alerts."""

# --- statistics (drift, metrics, detectors, reference profile) ---
# --- operations (history, alerts, sinks, prometheus, report, monitor runs) ---
from mltrainer.monitor._alerts import (
    ALERT_METRICS,
    DRIFT_STATISTICS,
    PERFORMANCE_METRICS,
    Alert,
    evaluate_rules,
    recent_alerts,
)
from mltrainer.monitor._concept import CONCEPT_METRICS, ConceptDriftResult, concept_drift
from mltrainer.monitor._detectors import ADWINDetector, PageHinkleyDetector
from mltrainer.monitor._drift import (
    DEFAULT_MIN_EFFECT,
    DriftReport,
    feature_drift,
    label_drift,
    prediction_drift,
)
from mltrainer.monitor._history import history, history_frame, track, tracked
from mltrainer.monitor._metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    TRADING_METRICS,
    Performance,
    per_sample_loss,
    performance,
)
from mltrainer.monitor._profile import (
    MAX_CATEGORIES,
    ColumnProfile,
    ReferenceProfile,
    build_profile,
    is_categorical,
)
from mltrainer.monitor._prometheus import PrometheusExporter
from mltrainer.monitor._reference import load_reference, proba_columns, training_reference_files
from mltrainer.monitor._report import write_report
from mltrainer.monitor._run import MonitorResult, monitor
from mltrainer.monitor._sinks import AlertSink, LogSink, RedisChannelSink, WebhookSink, make_sinks
from mltrainer.monitor._window import CurrentWindow, current_window, read_labels

__all__: list[str] = []

__all__ += [  # statistics
    "CLASSIFICATION_METRICS",
    "CONCEPT_METRICS",
    "DEFAULT_MIN_EFFECT",
    "MAX_CATEGORIES",
    "REGRESSION_METRICS",
    "TRADING_METRICS",
    "ADWINDetector",
    "ColumnProfile",
    "ConceptDriftResult",
    "DriftReport",
    "PageHinkleyDetector",
    "Performance",
    "ReferenceProfile",
    "build_profile",
    "concept_drift",
    "feature_drift",
    "is_categorical",
    "label_drift",
    "per_sample_loss",
    "performance",
    "prediction_drift",
    "proba_columns",
]

__all__ += [  # operations
    "ALERT_METRICS",
    "DRIFT_STATISTICS",
    "PERFORMANCE_METRICS",
    "Alert",
    "AlertSink",
    "CurrentWindow",
    "LogSink",
    "MonitorResult",
    "PrometheusExporter",
    "RedisChannelSink",
    "WebhookSink",
    "current_window",
    "evaluate_rules",
    "history",
    "history_frame",
    "load_reference",
    "make_sinks",
    "monitor",
    "read_labels",
    "recent_alerts",
    "track",
    "tracked",
    "training_reference_files",
    "write_report",
]
