"""Storage for best params, tuning history, metric series, alerts and explanations.

One narrow interface (:class:`Store`: JSON values, time series, bounded lists, sets,
append-only streams, and :class:`Batch` writes applied atomically) and two real backends
chosen by URL with :func:`open_store`: SQLite (embedded default, zero set-up) and Redis
(shared, production).
Domain features are written once above these primitives; every key they use is built by
the record functions below (the schema is documented in ``docs/store.md``).
"""

from ._batch import Batch
from ._open import DEFAULT_URL, open_store
from ._protocol import Store, TimeLike
from ._records import (
    TUNING_LEAVES,
    Alert,
    BestParams,
    DecisionRecord,
    MetricPoint,
    StreamCheckpoint,
    StreamOffset,
    StreamStatus,
    TrainScores,
    TuningRun,
    alert_last_fired_key,
    alerts_key,
    decisions_stream,
    drift_history_series,
    drift_latest_key,
    metric_point_key,
    metric_series,
    name_fault,
    stream_checkpoint_key,
    stream_events_key,
    stream_offset_key,
    stream_predictions_series,
    stream_status_key,
    tracked_metrics_key,
    train_latest_key,
    train_scores_series,
    tuning_key,
    valid_name,
)
from ._redis import RedisStore
from ._sqlite import SQLiteStore
from ._streams import check_entry_id, entry_time
from ._urls import mask_password, passwords_in, redact

__all__ = [
    "DEFAULT_URL",
    "Batch",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "TimeLike",
    "check_entry_id",
    "entry_time",
    "mask_password",
    "open_store",
    "passwords_in",
    "redact",
]

__all__ += [  # records: the key schema and the JSON records stored under it
    "TUNING_LEAVES",
    "Alert",
    "BestParams",
    "DecisionRecord",
    "MetricPoint",
    "StreamCheckpoint",
    "StreamOffset",
    "StreamStatus",
    "TrainScores",
    "TuningRun",
    "alert_last_fired_key",
    "alerts_key",
    "decisions_stream",
    "drift_history_series",
    "drift_latest_key",
    "metric_point_key",
    "metric_series",
    "name_fault",
    "stream_checkpoint_key",
    "stream_events_key",
    "stream_offset_key",
    "stream_predictions_series",
    "stream_status_key",
    "tracked_metrics_key",
    "train_latest_key",
    "train_scores_series",
    "tuning_key",
    "valid_name",
]
