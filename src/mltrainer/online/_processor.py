"""The stream processor: on each bar, learn what has matured, then predict.

For every bar, in this order:

1. check it (a bad bar is counted, its reason recorded, and nothing else happens);
2. mature the predictions whose label horizon has passed: compute each label from the
   bars that exist (``t1 <= now``, checked), score the prediction it had (prequential),
   feed the loss to the drift detector, put the row in the buffer and hand it to the
   updater (every bar, or in batches);
3. on a drift alarm, try a refit (:mod:`~mltrainer.online._refit`);
4. compute the bar's features from the bounded history and predict; the prediction
   waits in the pending queue until its own label matures.

Nothing learns from a label before its ``t1``: a prediction at bar ``t`` joins the buffer
only ``h`` bars later, at the bar where its label is known.
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, SchemaError
from mltrainer.features import feature_columns, history_length, latest_features
from mltrainer.features._catalogue import resolve_spec
from mltrainer.labels import (
    LABEL_CATALOGUE,
    label_horizon,
    label_kind,
    label_lookback,
    make_labels,
    validate_label_spec,
)
from mltrainer.monitor import ADWINDetector

from ._bars import BAR_COLUMNS, BarError, BarHistory, parse_bar
from ._pending import PendingQueue
from ._prequential import Prequential, row_loss
from ._refit import RefitDecision, RefitPolicy, evaluate_refit
from ._ring import RingBuffer
from ._updaters import Updater, make_updater

__all__ = ["Prediction", "StreamProcessor", "parse_update"]

logger = logging.getLogger("mltrainer")


@dataclass(frozen=True)
class Prediction:
    """What :meth:`StreamProcessor.process` returns for one bar.

    Attributes
    ----------
    timestamp : pandas.Timestamp or None
        The bar's time (None when it had none).
    status : str
        ``ok`` (a prediction), ``warmup`` (features still in their warm-up), ``cold`` (an
        untrained model before its first update), ``invalid`` (a bad bar: NaN, missing
        column, ...) or ``rejected`` (out of order or duplicate).
    value : float or None
        The predicted label value (the most probable class) or regression value.
    proba : tuple of float or None
        Class probabilities, in the order of :attr:`classes`.
    classes : tuple of float or None
        The label's class values.
    version : int or None
        Model version that predicted.
    reason : str or None
        Why there is no prediction.
    matured, learned : int
        Predictions whose labels matured on this bar, and rows learnt on it.
    drift : bool
        Whether the drift detector fired on this bar.
    """

    timestamp: pd.Timestamp | None
    status: str
    value: float | None = None
    proba: tuple[float, ...] | None = None
    classes: tuple[float, ...] | None = None
    version: int | None = None
    reason: str | None = None
    matured: int = 0
    learned: int = 0
    drift: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (time as ISO-8601)."""
        return {
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
            "status": self.status,
            "value": self.value,
            "proba": None if self.proba is None else list(self.proba),
            "classes": None if self.classes is None else list(self.classes),
            "version": self.version,
            "reason": self.reason,
            "matured": self.matured,
            "learned": self.learned,
            "drift": self.drift,
        }


def parse_update(update: str | int | None) -> int:
    """Rows per update: ``"every_bar"`` -> 1, ``"batch:256"`` (or 256) -> 256.

    Raises
    ------
    ConfigError
        For anything else.
    """
    if update in ("every_bar", 1):
        return 1
    if isinstance(update, int) and not isinstance(update, bool) and update >= 1:
        return update
    if isinstance(update, str) and update.startswith("batch:"):
        size = update.split(":", 1)[1]
        if size.isdigit() and int(size) >= 1:
            return int(size)
    raise ConfigError(
        f"update={update!r} is invalid; use 'every_bar' or 'batch:N' (e.g. batch:256)"
    )


def _label_spec(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue spec of a registry version's label (metadata adds kind, classes...)."""
    stored = dict(metadata.get("label") or {})
    name = stored.get("name")
    if not isinstance(name, str) or name not in LABEL_CATALOGUE:
        raise ConfigError(f"the model's metadata names no known label ({name!r}); pass label=")
    allowed = inspect.signature(LABEL_CATALOGUE[name]).parameters
    return {"name": name, **{k: v for k, v in stored.items() if k in allowed and k != "bars"}}


def _label_classes(spec: Mapping[str, Any]) -> tuple[float, ...]:
    """The class values a classification label can take (from the label function itself)."""
    n = label_horizon(spec) + label_lookback(spec) + 3
    index = pd.date_range("2000-01-03", periods=n, freq="D", tz="UTC", name="timestamp")
    close = 100.0 * np.exp(np.linspace(0.0, 0.01, n))
    bars = pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close}, index=index
    )
    labels = make_labels(bars, spec)
    classes = labels.classes
    return tuple(float(c) for c in (classes if classes is not None else ()))


@dataclass
class _Counters:
    bars: int = 0
    predicted: int = 0
    warmup: int = 0
    invalid: int = 0
    rejected: int = 0
    matured: int = 0
    unlabelled: int = 0
    learned: int = 0
    drifts: int = 0
    refits: int = 0
    swaps: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def count(self, status: str, reason: str | None) -> None:
        setattr(self, status, getattr(self, status) + 1)
        if reason is not None:
            key = reason.split(":")[0][:60]
            self.reasons[key] = self.reasons.get(key, 0) + 1


class StreamProcessor:
    """Predict on each new bar, learn from labels once they mature, refit on drift.

    Parameters
    ----------
    model : LoadedModel or fitted estimator or River model
        A registry model (its metadata gives the features, label, classes, params and
        version), a fitted scikit-learn/XGBoost/LightGBM model, an unfitted SGD model
        (cold start) or a River model (with ``features``, ``label`` and ``feature_names``).
    features : feature spec, optional
        Default: the registry version's spec.
    label : label spec, optional
        Default: the registry version's label.
    buffer : RingBuffer, optional
        Where matured rows go (default: 5,000 rows).
    updater : str or Updater, optional
        ``partial_fit``, ``continue``, ``refit``, ``river``, ``none`` or a configured
        :class:`Updater`; default: the model type's first update method.
    update : str, optional
        ``"every_bar"`` or ``"batch:N"`` (default: the updater's, ``every_bar`` for SGD and
        River, ``batch:256`` for boosters).
    feature_names : sequence of str, optional
        The columns the model reads (default: the registry version's, else every column
        of ``features``).
    classes : sequence of float, optional
        Label values in the model's class order (default: the registry version's, else
        the label's classes).
    detector : object, optional
        A drift detector with ``update(loss)`` and ``drift_detected`` fed the loss of each
        matured prediction (default ``ADWINDetector(delta=0.002)``); ``False`` disables.
    refit : RefitPolicy, optional
        Refit on drift (default :class:`RefitPolicy()`).
    registry : ModelRegistry, optional
        Where accepted refits are saved as new versions (default: the registry the model
        was loaded from).
    name : str, optional
        Model name (new versions are saved under it); default the registry model's name.
    stream_name : str, optional
        Name of the stream's store records (checkpoint, offset, predictions...); default
        ``name``. A replay and a live stream of one model should use different names.
    symbol : str, optional
        The instrument of the stream: bars naming another symbol are refused.
    window : int, default 500
        Rows of the rolling prequential metrics.
    random_state : int, optional
        Seed of refit candidates (default: the training config's seed).

    Examples
    --------
    >>> from mltrainer.registry import load_model
    >>> processor = StreamProcessor(load_model("sp500-direction"))  # doctest: +SKIP
    >>> prediction = processor.process(bar)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        features: Sequence[Mapping[str, Any]] | None = None,
        label: Mapping[str, Any] | None = None,
        *,
        buffer: RingBuffer | None = None,
        updater: str | Updater | None = None,
        update: str | int | None = None,
        feature_names: Sequence[str] | None = None,
        classes: Sequence[float] | None = None,
        detector: Any = None,
        refit: RefitPolicy | None = None,
        registry: Any = None,
        name: str | None = None,
        stream_name: str | None = None,
        symbol: str | None = None,
        window: int = 500,
        random_state: int | None = None,
    ) -> None:
        from mltrainer.registry import LoadedModel, ModelRegistry

        metadata: dict[str, Any] = {}
        estimator = model
        self.version: int | None = None
        if isinstance(model, LoadedModel):
            metadata = model.metadata
            estimator = model.estimator
            self.version = model.version
            name = name or model.name
            feature_names = feature_names or model.feature_names
            if registry is None:
                registry = ModelRegistry(model.path.parent.parent)
        self.metadata = metadata
        self.name = name
        self.stream_name = stream_name or name
        self.registry = registry
        self.symbol = symbol
        if features is None:
            features = (metadata.get("features") or {}).get("spec")
            if features is None:
                raise ConfigError("features= is needed: the model carries no feature spec")
        if label is None:
            if not metadata:
                raise ConfigError("label= is needed: the model carries no label spec")
            label = _label_spec(metadata)
        validate_label_spec(label)
        self.features = [dict(item) for item in features]
        self.label = dict(label)
        self.kind = str(metadata.get("task") or label_kind(self.label))
        self.horizon = label_horizon(self.label)
        self.label_lookback = label_lookback(self.label)
        columns = feature_columns(self.features)
        self.feature_names = list(feature_names) if feature_names is not None else columns
        missing = [c for c in self.feature_names if c not in columns]
        if missing:
            raise SchemaError(
                f"the model reads {missing}, which the feature spec does not produce "
                f"(it makes {columns}); pass the spec the model was trained with"
            )
        self._columns = np.array([columns.index(c) for c in self.feature_names], dtype=np.intp)
        if self.kind == "classification":
            stored = (metadata.get("label") or {}).get("classes")
            chosen = classes if classes is not None else stored
            self.classes: tuple[float, ...] | None = tuple(
                float(c) for c in (chosen if chosen is not None else _label_classes(self.label))
            )
            if len(self.classes) < 2:
                raise ConfigError(f"classes={self.classes} needs at least two label values")
        else:
            self.classes = None
        n_outputs = len(self.classes) if self.classes else 1
        fitted = getattr(estimator, "classes_", None)
        if self.classes is not None and fitted is not None and len(fitted) != n_outputs:
            raise ConfigError(
                f"the model predicts {len(fitted)} classes but the label has {n_outputs} "
                f"({list(self.classes)}); pass classes= with the label values it was trained on"
            )
        self.n_features = len(self.feature_names)
        self.bar_columns = self._bar_columns()
        self._history_bars = max(
            history_length(self.features), self.label_lookback + self.horizon + 1
        )
        self.history = BarHistory(self._history_bars + 1, self.bar_columns)
        self.pending = PendingQueue(
            self.horizon + 2, n_features=self.n_features, n_outputs=n_outputs
        )
        self.buffer = buffer if buffer is not None else RingBuffer(5000, n_features=self.n_features)
        if self.buffer.n_features != self.n_features:
            raise ConfigError(
                f"buffer has {self.buffer.n_features} features; the model reads {self.n_features}"
            )
        seed = random_state
        if seed is None:
            seed = (metadata.get("config") or {}).get("seed")
        self.updater = make_updater(estimator, updater)
        self.updater.start(
            estimator,
            kind=self.kind,
            n_classes=n_outputs if self.classes else 0,
            feature_names=self.feature_names,
            params=metadata.get("params"),
            seed=seed,
        )
        self.batch_size = parse_update(
            update if update is not None else self.updater.default_update
        )
        if self.batch_size > self.buffer.capacity:
            raise ConfigError(
                f"update batch of {self.batch_size} rows exceeds the buffer capacity "
                f"{self.buffer.capacity}; use a smaller batch or a larger buffer"
            )
        self.detect = detector is not False
        template = copy.deepcopy(detector) if self.detect and detector is not None else None
        self._make_detector = (
            (lambda: ADWINDetector(delta=0.002))
            if template is None
            else (lambda: copy.deepcopy(template))
        )
        self.detector: Any = self._make_detector() if self.detect else None
        self._detector_inputs: list[float] = []  # since the detector was made (to restore it)
        self.policy = refit if refit is not None else RefitPolicy()
        self.prequential = Prequential(kind=self.kind, n_outputs=n_outputs, window=window)
        self.counters = _Counters()
        self.events: list[dict[str, Any]] = []
        self.now: pd.Timestamp | None = None
        self._to_learn: list[int] = []  # buffer rows (by append number) awaiting a batch
        #: (t0 ns, t1 ns, loss, label index or target, predicted index or value) of the
        #: newest matured predictions, for reports
        self.scored: deque[tuple[int, int, float, float, float]] = deque(maxlen=100_000)
        self._matured_since_swap = self.policy.rows_between
        self._change_at: int | None = None  # buffer append count where a refit's rows start

    # -- set-up ------------------------------------------------------------------------
    def _bar_columns(self) -> tuple[str, ...]:
        needed: set[str] = set()
        for feature in resolve_spec(self.features):
            needed.update(feature.definition.inputs)
        high_low = self.label["name"] == "triple_barrier" and self.label.get("use_high_low", True)
        needed.update(("close", "high", "low") if high_low else ("close",))
        return tuple(c for c in BAR_COLUMNS if c in needed)

    def prime(self, bars: pd.DataFrame) -> None:
        """Fill the history with bars before the stream starts (no prediction, no label).

        Parameters
        ----------
        bars : pandas.DataFrame
            Validated bars (e.g. from :func:`mltrainer.data.load_bars`) ending before the
            first bar to process; only the last ones the features and labels need are kept.
        """
        tail = bars.iloc[-self._history_bars :]
        for stamp, row in zip(
            tail.index.as_unit("ns").asi8, tail[list(self.bar_columns)].to_numpy(), strict=True
        ):
            last = self.history.last_stamp
            if last is not None and stamp <= last:
                raise ConfigError("prime(): bars must be in increasing time order")
            self.history.append(int(stamp), row)

    # -- one bar -----------------------------------------------------------------------
    def process(self, bar: Any, *, features: np.ndarray | None = None) -> Prediction:
        """Take one bar: learn what matured, then predict on it.

        Parameters
        ----------
        bar : mapping or pandas.Series
            ``timestamp`` plus the bar columns (see :func:`~mltrainer.online._bars.parse_bar`).
        features : ndarray, optional
            The bar's feature row (every spec column, in spec order) when the caller has
            computed it in batch (a replay); it must equal :func:`latest_features`.

        Returns
        -------
        Prediction
        """
        try:
            stamp, values = parse_bar(bar, self.bar_columns, symbol=self.symbol)
        except BarError as problem:
            return self._refuse("invalid", str(problem), None)
        when = pd.Timestamp(stamp, tz="UTC")
        last = self.history.last_stamp
        if last is not None and stamp <= last:
            kind = "duplicate" if stamp == last else "out of order"
            previous = pd.Timestamp(last, tz="UTC").isoformat()
            reason = f"{kind} bar at {when.isoformat()} (last bar {previous})"
            return self._refuse("rejected", reason, when)
        sequence = self.history.append(stamp, values)
        self.now = when
        self.counters.bars += 1
        learned_before = self.counters.learned
        matured, _, drift = self._mature(sequence, stamp)
        if drift:
            self._on_drift(when)
        else:
            self._maybe_refit(when)
        learned = self.counters.learned - learned_before
        return self._predict(sequence, stamp, when, features, matured, learned, drift)

    def _refuse(self, status: str, reason: str, when: pd.Timestamp | None) -> Prediction:
        self.counters.count(status, reason)
        logger.warning("stream %s: %s bar refused: %s", self.name, status, reason)
        return Prediction(when, status, reason=reason, version=self.version, classes=self.classes)

    def _predict(
        self,
        sequence: int,
        stamp: int,
        when: pd.Timestamp,
        features: np.ndarray | None,
        matured: int,
        learned: int,
        drift: bool,
    ) -> Prediction:
        done = partial(
            Prediction,
            when,
            classes=self.classes,
            version=self.version,
            matured=matured,
            learned=learned,
            drift=drift,
        )
        if features is None:
            features = latest_features(self.history.frame(self._history_bars), self.features)
        x = np.asarray(features, dtype=np.float64)[self._columns]
        if not np.isfinite(x).all():
            bad = [n for n, v in zip(self.feature_names, x, strict=True) if not math.isfinite(v)]
            reason = f"features in their warm-up or undefined: {bad[:5]}"
            self.counters.warmup += 1
            return done("warmup", reason=reason)
        if not self.updater.ready:  # cold start: no prediction, but the row waits for its label
            self.pending.push(sequence, stamp, x, np.full(self.pending.output.shape[1], np.nan), 0)
            self.counters.warmup += 1
            reason = "the model has not learnt yet (cold start)"
            return done("cold", reason=reason)
        output = self.updater.predict_row(x)
        self.pending.push(sequence, stamp, x, output, self.version or 0)
        self.counters.predicted += 1
        if self.classes is None:
            return done("ok", value=float(output[0]))
        value = self.classes[int(np.argmax(output))]
        proba = tuple(float(p) for p in output)
        return done("ok", value=value, proba=proba)

    # -- labels ------------------------------------------------------------------------
    def _mature(self, sequence: int, stamp: int) -> tuple[int, int, bool]:
        matured = learned = 0
        drift = False
        while True:
            oldest = self.pending.oldest_sequence()
            if oldest is None or oldest + self.horizon > sequence:
                break
            t0_sequence, t0, x, output, _ = self.pending.pop()
            label = self._label(t0_sequence, sequence, stamp)
            if label is None:
                continue
            y, t1 = label
            self.counters.matured += 1
            matured += 1
            if np.isnan(output).any():  # made before a cold start's first update: not scored
                self.buffer.append(x, y=y, t0=t0, t1=t1)
                self._to_learn.append(self.buffer.n_appended)
                if len(self._to_learn) >= self.batch_size:
                    learned += self._learn_queued()
                continue
            loss = row_loss(output, y, kind=self.kind)
            self.prequential.update(output, y, loss)
            guess = float(np.argmax(output)) if self.classes is not None else float(output[0])
            self.scored.append((t0, t1, loss, y, guess))
            self.buffer.append(x, y=y, t0=t0, t1=t1, loss=loss)
            self._matured_since_swap += 1
            if self.detect:
                self._detector_inputs.append(loss)
                self.detector.update(loss)
                if self.detector.drift_detected:
                    drift = True
            self._to_learn.append(self.buffer.n_appended)
            if len(self._to_learn) >= self.batch_size:
                learned += self._learn_queued()
        return matured, learned, drift

    def _label(self, t0_sequence: int, sequence: int, stamp: int) -> tuple[float, int] | None:
        """The label of the prediction made at bar ``t0_sequence``, from existing bars only."""
        ahead = sequence - t0_sequence
        frame = self.history.frame(ahead + self.label_lookback + 1)
        labels = make_labels(frame, self.label)
        position = len(frame) - 1 - ahead
        y = float(labels.y.iloc[position])
        if math.isnan(y):
            self.counters.count("unlabelled", "the label is undefined (e.g. its volatility)")
            return None
        t1 = int(labels.t1.iloc[position].value)
        if t1 > stamp:  # cannot happen: the frame ends at the current bar
            raise RuntimeError(f"label t1 {t1} is after the current bar {stamp}")
        if self.classes is None:
            return y, t1
        try:
            code = self.classes.index(y)
        except ValueError:
            self.counters.count(
                "unlabelled", f"label value {y:g} is not among the model's classes {self.classes}"
            )
            return None
        return float(code), t1

    def _learn_queued(self) -> int:
        n = len(self._to_learn)
        if n == 0:
            return 0
        rows = self.buffer.snapshot(last=n)
        self.updater.learn(rows["X"], rows["y"], rows["weight"], buffer=self.buffer)
        self.counters.learned += n
        self._to_learn.clear()
        return n

    # -- drift -----------------------------------------------------------------------
    def _on_drift(self, when: pd.Timestamp) -> None:
        """Record the alarm; open a refit from the estimated change point (see _refit)."""
        self.counters.drifts += 1
        width = getattr(self.detector, "width", None)
        since = int(width) if isinstance(width, int | np.integer) and width > 0 else 0
        self.detector = self._make_detector()
        self._detector_inputs = []
        event: dict[str, Any] = {
            "type": "drift",
            "timestamp": when.isoformat(),
            "version": self.version,
            "bar": self.history.n_seen - 1,
            "rows_since_change": since,
        }
        if not self.policy.enabled:
            event["refit"] = "disabled"
        elif self._matured_since_swap < self.policy.rows_between:
            event["refit"] = (
                f"skipped: {self._matured_since_swap} rows matured since the last swap, "
                f"cooldown {self.policy.rows_between}"
            )
        else:
            self._change_at = self.buffer.n_appended - since
            event["refit"] = (
                f"waiting for {self.policy.rows_needed + self.horizon} rows after the change "
                f"({since} so far)"
            )
        logger.info("stream %s: drift at %s: %s", self.stream_name, when, event["refit"])
        self.events.append(event)
        self._maybe_refit(when)

    def _maybe_refit(self, when: pd.Timestamp) -> None:
        """Try the open refit once enough rows have matured after the change."""
        if self._change_at is None:
            return
        since = self.buffer.n_appended - self._change_at
        if since < self.policy.rows_needed + self.horizon:  # the purge drops h rows
            return
        self._change_at = None
        self._learn_queued()
        decision = evaluate_refit(
            self.updater,
            self.buffer,
            policy=self.policy,
            horizon=self.horizon,
            kind=self.kind,
            since_change=since,
        )
        self.counters.refits += 1
        event: dict[str, Any] = {
            "type": "refit",
            "timestamp": when.isoformat(),
            "version": self.version,
            "bar": self.history.n_seen - 1,
            "refit": decision.to_dict(),
        }
        if decision.accepted:
            event["new_version"] = self._swap(decision, when)
        logger.info("stream %s: refit at %s: %s", self.stream_name, when, decision.reason)
        self.events.append(event)

    def _swap(self, decision: RefitDecision, when: pd.Timestamp) -> int | None:
        """Run the candidate: saved as evaluated, then it learns the evaluation rows."""
        self.updater.adopt(decision.candidate)
        new_version = self._save_version(decision, when)
        if new_version is not None:
            self.version = new_version
        eval_rows = self.buffer.snapshot(last=decision.n_eval)
        self.updater.learn(eval_rows["X"], eval_rows["y"], eval_rows["weight"], buffer=self.buffer)
        self.counters.swaps += 1
        self._matured_since_swap = 0
        return new_version

    def _save_version(self, decision: RefitDecision, when: pd.Timestamp) -> int | None:
        estimator = self.updater.estimator()
        if self.registry is None or self.name is None or estimator is None:
            return None
        bar = self.history.n_seen - 1
        online = {
            "reason": (
                f"drift detected by {type(self.detector).__name__} on the prequential loss; "
                "the refit beat the running version by more than the noise band"
            ),
            "stream": self.stream_name,
            "refit_at": when.isoformat(),
            "drift_at": next(
                (e["timestamp"] for e in reversed(self.events) if e.get("type") == "drift"), None
            ),
            "bar": bar,
            "updater": self.updater.method,
            "refit": decision.to_dict(),
        }
        existing = self._existing_refit(bar)
        if existing is not None:  # a restart after a crash redid this refit: same version
            return existing
        metadata = {k: v for k, v in self.metadata.items() if k not in _REGISTRY_KEYS}
        metadata["online"] = online
        metadata["data"] = {
            "source": f"online buffer of stream {self.stream_name}",
            "training_rows": decision.n_train,
            "first_t0": decision.first_t0,
            "last_t1": decision.last_t1,
        }
        metadata["features"] = {**(self.metadata.get("features") or {}), "spec": self.features}
        saved = self.registry.save(
            self.name,
            estimator,
            feature_names=self.feature_names,
            metadata=metadata,
            parent=self.version,
        )
        return int(saved.version)

    def _existing_refit(self, bar: int) -> int | None:
        try:
            rows = self.registry.list_versions(self.name)
        except (LookupError, ConfigError):
            return None
        for row in reversed(rows):
            if row.get("parent") != self.version or not row.get("ok"):
                continue
            online = self.registry.metadata(self.name, row["version"]).get("online") or {}
            if online.get("stream") == self.stream_name and online.get("bar") == bar:
                return int(row["version"])
        return None

    # -- reporting and checkpoints ------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        """Prequential scores (rolling window and totals) and the stream's counters."""
        out = {f"prequential.{k}": v for k, v in self.prequential.metrics().items()}
        for key in (
            "bars",
            "predicted",
            "invalid",
            "rejected",
            "matured",
            "learned",
            "drifts",
            "swaps",
        ):
            out[f"stream.{key}"] = float(getattr(self.counters, key))
        return out

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything a restart needs: arrays, and a JSON part (counters, events, version)."""
        arrays: dict[str, np.ndarray] = {}
        for prefix, part in (
            ("history", self.history.state()),
            ("pending", self.pending.state()),
            ("buffer", self.buffer.state()),
            ("prequential", self.prequential.state()),
            ("updater", self.updater.state()),
        ):
            arrays.update({f"{prefix}.{k}": np.asarray(v) for k, v in part.items()})
        arrays["detector.inputs"] = np.asarray(self._detector_inputs, dtype=np.float64)
        arrays["learn.queue"] = np.asarray(self._to_learn, dtype=np.int64)
        counters = {k: v for k, v in vars(self.counters).items()}
        meta = {
            "version": self.version,
            "now": None if self.now is None else self.now.isoformat(),
            "counters": counters,
            "events": self.events,
            "matured_since_swap": self._matured_since_swap,
            "change_at": self._change_at,
            "updater": self.updater.method,
            "batch_size": self.batch_size,
            "feature_names": self.feature_names,
        }
        return arrays, meta

    def restore(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Continue exactly where a :meth:`state` left off.

        Raises
        ------
        ConfigError
            When the checkpoint belongs to another model setup (features, updater).
        """
        if list(meta.get("feature_names", [])) != self.feature_names:
            raise ConfigError(
                "the checkpoint was written for other features "
                f"({meta.get('feature_names')}); start a fresh stream (--fresh)"
            )
        if meta.get("updater") != self.updater.method:
            raise ConfigError(
                f"the checkpoint was written by updater {meta.get('updater')!r}, this run uses "
                f"{self.updater.method!r}; use the same updater or start fresh"
            )

        def part(prefix: str) -> dict[str, np.ndarray]:
            start = prefix + "."
            return {k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}

        self.history.restore(part("history"))
        self.pending.restore(part("pending"))
        self.buffer.restore(part("buffer"))
        self.prequential.restore(part("prequential"))
        self.updater.restore(part("updater"))
        self._detector_inputs = [float(v) for v in np.asarray(arrays["detector.inputs"]).tolist()]
        if self.detect:
            self.detector = self._make_detector()
            for value in self._detector_inputs:
                self.detector.update(value)
        self._to_learn = [int(v) for v in np.asarray(arrays["learn.queue"]).tolist()]
        counters = dict(meta.get("counters") or {})
        self.counters = _Counters(**counters)
        self.events = list(meta.get("events") or [])
        self.version = meta.get("version")
        self.now = None if meta.get("now") is None else pd.Timestamp(meta["now"])
        self._matured_since_swap = int(meta.get("matured_since_swap", 0))
        self._change_at = meta.get("change_at")


_REGISTRY_KEYS = (
    "name",
    "version",
    "created_at",
    "feature_names",
    "format",
    "versions",
    "git_commit",
    "parent",
)
