"""Monitoring: metrics over time, feature/prediction/label drift, concept drift, alerts."""

# --- statistics (drift, metrics, detectors, reference profile) ---
# --- operations (history, alerts, sinks, prometheus, report, monitor runs) ---
from mltrainer.monitor._alerts import Alert, evaluate_rules, recent_alerts
from mltrainer.monitor._concept import CONCEPT_METRICS, ConceptDriftResult, concept_drift
from mltrainer.monitor._detectors import ADWINDetector, PageHinkleyDetector
from mltrainer.monitor._drift import DriftReport, feature_drift, label_drift, prediction_drift
from mltrainer.monitor._history import history, history_frame, track
from mltrainer.monitor._metrics import Performance, performance
from mltrainer.monitor._profile import ReferenceProfile, build_profile
from mltrainer.monitor._prometheus import PrometheusExporter
from mltrainer.monitor._reference import load_reference, proba_columns, training_reference_files
from mltrainer.monitor._report import write_report
from mltrainer.monitor._run import MonitorResult, monitor
from mltrainer.monitor._sinks import AlertSink, LogSink, RedisChannelSink, WebhookSink
from mltrainer.monitor._window import read_labels

__all__: list[str] = []

__all__ += [  # statistics
    "CONCEPT_METRICS",
    "ADWINDetector",
    "ConceptDriftResult",
    "DriftReport",
    "PageHinkleyDetector",
    "Performance",
    "ReferenceProfile",
    "build_profile",
    "concept_drift",
    "feature_drift",
    "label_drift",
    "performance",
    "prediction_drift",
    "proba_columns",
]

__all__ += [  # operations
    "Alert",
    "AlertSink",
    "LogSink",
    "MonitorResult",
    "PrometheusExporter",
    "RedisChannelSink",
    "WebhookSink",
    "evaluate_rules",
    "history",
    "history_frame",
    "load_reference",
    "monitor",
    "read_labels",
    "recent_alerts",
    "track",
    "training_reference_files",
    "write_report",
]
