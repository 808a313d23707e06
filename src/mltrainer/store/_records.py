"""Store records: the name of every key mltrainer writes, and the JSON records stored there.

Every writer and reader of the store (the Trainer, tuning, monitoring, and the services that
read mltrainer's Redis) builds its keys here, so the schema lives in one module and in
``docs/store.md``. Names inside keys (model, metric, rule, model type) follow one rule,
:func:`valid_name`: a letter or digit first, then letters, digits, ``.``, ``_`` or ``-``; so no
name can contain ``/`` and no key can be read as another.

=====================================  ===========  ==========================================
key (inside the store's prefix)        kind         value
=====================================  ===========  ==========================================
``train/<model>/scores``               series       :class:`TrainScores`, one point per run
``train/<model>/latest``               key          :class:`TrainScores` of the latest run
``tuning/<model>/<type>/best``         key          :class:`BestParams` (promoted only)
``tuning/<model>/<type>/last``         key          the last tuning result (``TuneResult``)
``tuning/<model>/<type>/history``      series       every tuning result
``tuning/<model>/<type>/last_run``     key          :class:`TuningRun` (the schedule's clock)
``monitor/<model>/<metric>``           series       :class:`MetricPoint`, keyed by
                                                    :func:`metric_point_key`
``monitor/<model>/metrics``            set          names of the tracked metrics
``monitor/<model>/drift/latest``       key          the latest drift report of the model
``monitor/<model>/drift/history``      series       per-feature drift of every run (keyed)
``alerts/<model>``                     list         :class:`Alert`, newest first, bounded
``alerts/<model>/<rule>/last_fired``   key          ISO time the rule last fired (cooldown)
``decisions/<model>``                  stream       :class:`DecisionRecord`, append-only; the
                                                    entry id is the decision id
``stream/<model>/offset``              key          last processed entry of the bar stream
``stream/<model>/checkpoint``          key          the online learner's checkpoint record
``stream/<model>/status``              key          the online learner's status
``stream/<model>/predictions``         series       :class:`StreamPrediction`, keyed by bar time
``stream/<model>/events``              list         drift alarms and refits, newest first
=====================================  ===========  ==========================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime
from numbers import Real
from typing import Any, ClassVar, Self

import numpy as np

from mltrainer.exceptions import ConfigError, StoreError

from ._protocol import TimeLike
from ._timestamps import from_epoch, to_epoch

__all__ = [
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

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: The records a tuning run writes under ``tuning/<model>/<model type>/``.
TUNING_LEAVES: tuple[str, ...] = ("best", "last", "history", "last_run")


def valid_name(value: Any, *, what: str = "model name") -> str:
    """Return `value` when it may appear in a store key, else raise ``ConfigError``.

    Parameters
    ----------
    value : Any
        A model, metric, rule or model-type name.
    what : str, default "model name"
        What the name is, for the message (``"metric name"``, ``"rule name"``...).

    Examples
    --------
    >>> valid_name("spy-direction")
    'spy-direction'
    >>> valid_name("drift.n_drifted", what="metric name")
    'drift.n_drifted'
    """
    fault = name_fault(value)
    if fault is not None:
        raise ConfigError(f"{what} {value!r} is invalid: {fault}")
    return value


def name_fault(value: Any) -> str | None:
    """What breaks the name rule of :func:`valid_name` in ``value``, and the rule, in words;
    None for a valid name.

    Examples
    --------
    >>> name_fault("spy-direction") is None
    True
    >>> name_fault(".hidden").split(":")[0]
    "it starts with '.'"
    """
    if isinstance(value, str) and _NAME.fullmatch(value):
        return None
    example = "e.g. 'spy-direction' or 'drift.n_drifted'"
    rest = "letters, digits, '.', '_' and '-' may follow"
    if not isinstance(value, str):
        return f"it is a {type(value).__name__}, not a string; {example}"
    if not value:
        return f"it is empty; start with a letter or digit ({rest}), {example}"
    if not (value[0].isascii() and value[0].isalnum()):
        return (
            f"it starts with {value[0]!r}: the first character must be a letter or digit"
            f" ({rest}), {example}"
        )
    bad = next(c for c in value if not (c.isascii() and (c.isalnum() or c in "._-")))
    return (
        f"{bad!r} is not allowed: after a first letter or digit use only letters, digits,"
        f" '.', '_' and '-', {example}"
    )


# -- keys ---------------------------------------------------------------------------------------
def train_scores_series(model: str) -> str:
    """Series of the mean CV scores of every training run: ``train/<model>/scores``."""
    return f"train/{valid_name(model)}/scores"


def train_latest_key(model: str) -> str:
    """Key of the latest training run's scores: ``train/<model>/latest``."""
    return f"train/{valid_name(model)}/latest"


def tuning_key(model: str, model_type: str, leaf: str) -> str:
    """Key (or, for ``history``, series) of a tuning record: ``tuning/<model>/<type>/<leaf>``.

    Parameters
    ----------
    model : str
        The config's ``name``.
    model_type : str
        The catalogue model type (``xgboost``, ``lightgbm``...).
    leaf : {"best", "last", "history", "last_run"}
        ``best`` the promoted params (:class:`BestParams`), ``last`` the last result,
        ``history`` the series of results, ``last_run`` the schedule's :class:`TuningRun`.

    Examples
    --------
    >>> tuning_key("sp500-direction", "xgboost", "best")
    'tuning/sp500-direction/xgboost/best'
    """
    if leaf not in TUNING_LEAVES:
        raise ConfigError(f"tuning record {leaf!r} is unknown; use one of {TUNING_LEAVES}")
    return f"tuning/{valid_name(model)}/{valid_name(model_type, what='model type')}/{leaf}"


def metric_series(model: str, metric: str) -> str:
    """Series of one monitored metric: ``monitor/<model>/<metric>``.

    Examples
    --------
    >>> metric_series("spy", "roc_auc")
    'monitor/spy/roc_auc'
    """
    return f"monitor/{valid_name(model)}/{valid_name(metric, what='metric name')}"


def tracked_metrics_key(model: str) -> str:
    """Set of the names of the metrics tracked for a model: ``monitor/<model>/metrics``."""
    return f"monitor/{valid_name(model)}/metrics"


def metric_point_key(version: int | None, timestamp: TimeLike) -> str:
    """Point key of a metric point: one point per (model, version, metric, timestamp).

    The series names the model and metric; the key names the version and the UTC time to
    the microsecond, so a monitoring run written again replaces its points.

    Examples
    --------
    >>> metric_point_key(3, 1740787200.0)
    '3@2025-03-01T00:00:00.000000Z'
    >>> metric_point_key(None, 0.0)
    'none@1970-01-01T00:00:00.000000Z'
    """
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ConfigError(f"version={version!r} is invalid; pass an integer model version")
    stamp = from_epoch(to_epoch(timestamp, name="timestamp"))
    label = "none" if version is None else str(int(version))
    return f"{label}@{stamp.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"


def drift_latest_key(model: str) -> str:
    """Key of the latest drift report of a model: ``monitor/<model>/drift/latest``."""
    return f"monitor/{valid_name(model)}/drift/latest"


def drift_history_series(model: str) -> str:
    """Series of every run's per-feature drift: ``monitor/<model>/drift/history``.

    One point per monitoring run (window), keyed by :func:`metric_point_key`, so a run
    written again replaces its point; the dashboard's features x windows heatmap reads it.
    A metric name holds no ``/``, so no metric series can be this one.

    Examples
    --------
    >>> drift_history_series("spy")
    'monitor/spy/drift/history'
    """
    return f"monitor/{valid_name(model)}/drift/history"


def alerts_key(model: str) -> str:
    """Bounded list of a model's alert records, newest first: ``alerts/<model>``."""
    return f"alerts/{valid_name(model)}"


def alert_last_fired_key(model: str, rule: str) -> str:
    """Key of the ISO time a rule last fired: ``alerts/<model>/<rule>/last_fired``."""
    return f"alerts/{valid_name(model)}/{valid_name(rule, what='rule name')}/last_fired"


def decisions_stream(model: str) -> str:
    """Append-only stream of a model's critical-decision records: ``decisions/<model>``."""
    return f"decisions/{valid_name(model)}"


def stream_offset_key(model: str) -> str:
    """Key of the last bar-stream entry the online learner processed: ``stream/<model>/offset``."""
    return f"stream/{valid_name(model)}/offset"


def stream_checkpoint_key(model: str) -> str:
    """Key of the online learner's latest checkpoint record: ``stream/<model>/checkpoint``."""
    return f"stream/{valid_name(model)}/checkpoint"


def stream_status_key(model: str) -> str:
    """Key of the online learner's status: ``stream/<model>/status``."""
    return f"stream/{valid_name(model)}/status"


def stream_predictions_series(model: str) -> str:
    """Series of the online learner's predictions, one keyed point per bar:
    ``stream/<model>/predictions``."""
    return f"stream/{valid_name(model)}/predictions"


def stream_events_key(model: str) -> str:
    """Bounded list of the online learner's drift alarms and refits, newest first:
    ``stream/<model>/events``."""
    return f"stream/{valid_name(model)}/events"


# -- records ------------------------------------------------------------------------------------
class _Record:
    """A JSON object in the store: ``to_dict`` writes it, ``from_dict`` reads it back.

    ``from_dict`` ignores keys it does not know (records written by a newer mltrainer stay
    readable) and raises ``StoreError`` naming the record when a required field is missing.
    """

    kind: ClassVar[str] = "record"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict stored in the store."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Rebuild the record from the dict read from the store."""
        if not isinstance(data, Mapping):
            raise StoreError(
                f"a stored {cls.kind} record is not a JSON object but {type(data).__name__}; "
                "was the key written by something other than mltrainer?"
            )
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        missing = [
            name
            for name, f in known.items()
            if f.default is MISSING and f.default_factory is MISSING and name not in data
        ]
        if missing:
            raise StoreError(
                f"a stored {cls.kind} record lacks {', '.join(missing)}; "
                f"it has {', '.join(sorted(map(str, data))) or 'no fields'}"
            )
        return cls(**{name: value for name, value in data.items() if name in known})


@dataclass
class TrainScores(_Record):
    """The mean CV scores of one training run (``train/<model>/scores`` and ``/latest``)."""

    kind: ClassVar[str] = "train scores"

    version: int
    scores: dict[str, float]
    cv: str
    path: str


@dataclass
class BestParams(_Record):
    """Promoted tuned params (``tuning/<model>/<type>/best``): what ``params: optimized`` reads.

    ``score`` is the best trial's mean on the folds it was selected on (in-sample to the
    search); ``nested_score``, when the run was nested, is its out-of-sample estimate.
    """

    kind: ClassVar[str] = "best params"

    params: dict[str, Any]
    score: float
    scorer: str
    study: str
    storage: str
    n_trials: int
    time: str
    p_value: float | None = None
    fixed_score: float | None = None
    #: Out-of-sample estimate of the tuned params by nested purged CV (None: not run).
    nested_score: float | None = None
    #: Trials the params were selected from (the promotion test's N).
    n_tested: int | None = None


@dataclass
class TuningRun(_Record):
    """When the last tuning run finished (``tuning/<model>/<type>/last_run``), ISO time."""

    kind: ClassVar[str] = "tuning run"

    time: str

    @property
    def epoch(self) -> float:
        """The time as epoch seconds."""
        return datetime.fromisoformat(self.time).timestamp()


@dataclass
class MetricPoint(_Record):
    """One monitored value (a point of ``monitor/<model>/<metric>``).

    ``value`` is None when the metric was NaN or infinite, with the ``reason``; such a value
    is never stored as a number. ``version`` is the model version it belongs to.
    """

    kind: ClassVar[str] = "metric point"

    value: float | None
    reason: str | None = None
    version: int | None = None

    @classmethod
    def measure(
        cls, value: Any, *, reason: str | None = None, version: int | None = None
    ) -> MetricPoint:
        """The point of a measured `value` (a real number; NaN/inf become None + reason)."""
        if isinstance(value, bool | np.bool_):
            value = float(value)
        if not isinstance(value, Real):
            raise ConfigError(
                f"metric value {value!r} is not a number; track floats (NaN is recorded as null)"
            )
        number = float(value)
        if math.isfinite(number):
            return cls(number, None, None if version is None else int(version))
        why = reason or ("NaN" if math.isnan(number) else "infinite")
        return cls(None, why, None if version is None else int(version))

    def to_dict(self) -> dict[str, Any]:
        """``{"value": 0.53, "version": 3}`` (``reason`` and ``version`` only when set)."""
        out: dict[str, Any] = {"value": self.value}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.version is not None:
            out["version"] = self.version
        return out


@dataclass
class Alert(_Record):
    """One fired alert rule, as pushed to ``alerts/<model>`` and sent to sinks."""

    kind: ClassVar[str] = "alert"

    model: str
    rule: str
    metric: str
    op: str
    threshold: float
    value: float
    window: int
    timestamp: str
    version: int | None
    action: str
    message: str
    new_version: int | None = None
    error: str | None = None


@dataclass
class StreamOffset(_Record):
    """The last bar the online learner processed and checkpointed (``stream/<model>/offset``).

    ``offset`` is the source's position: a Redis Stream entry id (``1735689600000-0``) or,
    for a replay, the bar's ISO time.
    """

    kind: ClassVar[str] = "stream offset"

    offset: str
    bars: int
    timestamp: str | None
    source: str


@dataclass
class StreamCheckpoint(_Record):
    """The online learner's checkpoint (``stream/<model>/checkpoint``).

    ``state`` is a base64 NumPy ``.npz`` (no pickles: loaded with ``allow_pickle=False``)
    holding the model state, the ring buffer, the pending predictions, the bar history and
    the prequential window; ``sha256`` is its checksum; ``meta`` the JSON part (counters,
    events, model version). Written in one store batch with the offset and the status.
    """

    kind: ClassVar[str] = "stream checkpoint"

    format: int
    offset: str
    bars: int
    version: int | None
    time: str
    sha256: str
    state: str
    meta: dict[str, Any]


@dataclass
class StreamStatus(_Record):
    """The online learner's status (``stream/<model>/status``): what a dashboard shows."""

    kind: ClassVar[str] = "stream status"

    state: str
    version: int | None
    offset: str | None
    bars: int
    last_bar: str | None
    updated_at: str
    counters: dict[str, Any]
    metrics: dict[str, float | None]


@dataclass
class DecisionRecord(_Record):
    """One critical decision and why the model made it (an entry of ``decisions/<model>``).

    Written once, never rewritten: the stream entry's id is the ``decision_id`` and its
    time ``recorded_at`` (both filled in when a record is read back, not stored in it).

    Attributes
    ----------
    model, version : str, int
        The registered model and version that decided.
    artifact_sha256 : str
        SHA-256 of the version's ``MANIFEST.json``, which pins the SHA-256 of every file of
        the version (model, metadata, explanation statistics).
    decision_time : str
        The decision's time (the bar's close, ISO 8601 UTC).
    symbol : str or None
        The instrument (None for a single series without a symbol column).
    features : dict of str to float or None
        The input feature values, as the model saw them (None for a missing value).
    prediction : float
        The decision in label values (e.g. -1/0/1), or the regression value.
    probabilities : dict of str to float or None
        Class probabilities by class label (classifiers).
    output : str
        Which model output is explained (a class label, or ``"prediction"``).
    space : {"margin", "probability", "raw"}
        The space of ``base_value``, ``output_value`` and the contributions.
    base_value, output_value : float
        The expected output and this decision's output: ``base_value`` plus the sum of
        every contribution equals ``output_value`` up to ``residual``.
    contributions : list of [str, float]
        The largest contributions by absolute value (all of them when configured).
    n_features : int
        How many features the model has (contributions may list fewer).
    method : str
        The attribution method (``tree``, ``linear``, ``permutation``, ``kernel``, ...).
    residual : float
        ``output_value - base_value - sum(all contributions)``.
    reasons : list of str
        The conditions of the critical rule this decision met.
    versions : dict of str to str
        mltrainer and library versions that computed the record.
    model_files : dict of str to str
        The SHA-256 of each model file of the version.
    lime : dict or None
        LIME's weights, top features, stability over seeds and agreement with SHAP, when
        computed.
    """

    kind: ClassVar[str] = "decision"

    model: str
    version: int
    artifact_sha256: str
    decision_time: str
    symbol: str | None
    features: dict[str, float | None]
    prediction: float
    probabilities: dict[str, float] | None
    output: str
    space: str
    base_value: float
    output_value: float
    contributions: list[list[Any]]
    n_features: int
    method: str
    residual: float
    reasons: list[str]
    versions: dict[str, str]
    model_files: dict[str, str] = field(default_factory=dict)
    lime: dict[str, Any] | None = None
    decision_id: str | None = None
    recorded_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON (``decision_id`` and ``recorded_at`` come from the entry id).

        Shallow: the record's values are already plain JSON (no deep copy on the
        per-decision path).
        """
        skip = {"decision_id", "recorded_at"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
