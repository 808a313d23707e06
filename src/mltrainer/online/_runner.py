"""The stream loop: process each bar, publish, checkpoint every N bars, then acknowledge.

Every ``checkpoint_every`` bars (and at the end) one store batch writes the processor's
checkpoint, the source offset, the status, the predictions since the last checkpoint (keyed
by bar time, so a bar processed again after a crash replaces its point) and new events;
then the prequential metrics are tracked (``monitor/<model>/prequential.*``) and exported,
and only then are the source's entries acknowledged. A crash loses nothing: a restart
restores the checkpoint and reads again what came after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.store import (
    Batch,
    Store,
    StreamCheckpoint,
    StreamOffset,
    StreamStatus,
    stream_checkpoint_key,
    stream_events_key,
    stream_offset_key,
    stream_predictions_series,
    stream_status_key,
)

from ._checkpoint import decode_checkpoint, encode_checkpoint
from ._processor import Prediction, StreamProcessor
from ._sinks import Sink
from ._sources import Source

__all__ = ["StreamResult", "run_stream"]

logger = logging.getLogger("mltrainer")

EventHook = Callable[[str, int], None]
_MAX_EVENTS = 1000


@dataclass
class StreamResult:
    """What a stream run did."""

    name: str | None
    bars: int
    predictions: pd.DataFrame
    metrics: dict[str, float]
    counters: dict[str, Any]
    events: list[dict[str, Any]]
    version: int | None
    latency_us: dict[str, float]
    checkpoints: int
    resumed_from: str | None = None
    versions: list[int] = field(default_factory=list)
    scored: pd.DataFrame | None = None
    kind: str = "classification"


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if np.isfinite(v) else None) for k, v in metrics.items()}


class _Loop:
    def __init__(
        self,
        processor: StreamProcessor,
        source: Source,
        store: Store | None,
        sinks: Sequence[Sink],
        exporter: Any,
        on_event: EventHook | None,
    ) -> None:
        self.processor = processor
        self.source = source
        self.store = store
        self.sinks = list(sinks)
        self.exporter = exporter
        self.on_event = on_event
        self.name = processor.stream_name
        self.unsaved: list[tuple[str, Prediction]] = []
        self.unacked: list[str] = []
        self.offset: str | None = None
        self.events_written = 0
        self.checkpoints = 0

    def hook(self, event: str, bars: int) -> None:
        if self.on_event is not None:
            self.on_event(event, bars)

    def resume(self) -> str | None:
        if self.store is None or self.name is None:
            return None
        raw = self.store.get(stream_checkpoint_key(self.name), default=None)
        if raw is None:
            return None
        record = StreamCheckpoint.from_dict(raw)
        self.processor.restore(decode_checkpoint(record), record.meta)
        self.events_written = len(self.processor.events)
        self.offset = record.offset
        logger.info("stream %s: resumed after %s (%d bars)", self.name, record.offset, record.bars)
        return record.offset

    def checkpoint(self, state: str) -> None:
        processor = self.processor
        if self.store is not None and self.name is not None and self.offset is not None:
            arrays, meta = processor.state()
            bars = processor.counters.bars
            now = None if processor.now is None else processor.now.isoformat()
            record = encode_checkpoint(
                arrays, meta, offset=self.offset, bars=bars, version=processor.version
            )
            metrics = processor.metrics()
            status = StreamStatus(
                state=state,
                version=processor.version,
                offset=self.offset,
                bars=bars,
                last_bar=now,
                updated_at=datetime.now(UTC).isoformat(),
                counters=dict(vars(processor.counters)),
                metrics=_finite(metrics),
            )
            batch = Batch()
            batch.put(stream_checkpoint_key(self.name), record.to_dict())
            offset = StreamOffset(self.offset, bars, now, self.source.name)
            batch.put(stream_offset_key(self.name), offset.to_dict())
            batch.put(stream_status_key(self.name), status.to_dict())
            series = stream_predictions_series(self.name)
            for offset_id, prediction in self.unsaved:
                if prediction.timestamp is None or prediction.status in ("invalid", "rejected"):
                    continue
                value = {"offset": offset_id, **prediction.to_dict()}
                key = prediction.timestamp.isoformat()
                batch.append(series, value, timestamp=prediction.timestamp, key=key)
            for event in processor.events[self.events_written :]:
                batch.push(stream_events_key(self.name), event, max_len=_MAX_EVENTS)
            self.store.write(batch)
            self.events_written = len(processor.events)
            self._track(metrics)
            self.checkpoints += 1
        self.unsaved.clear()
        self.hook("checkpoint", processor.counters.bars)
        self.source.ack(self.unacked)
        self.unacked.clear()
        self.hook("ack", processor.counters.bars)
        if self.exporter is not None and self.name is not None:
            self.exporter.observe(
                self.name,
                metrics=processor.metrics(),
                version=processor.version,
                timestamp=processor.now,
            )

    def _track(self, metrics: dict[str, float]) -> None:
        from mltrainer.monitor import track

        if self.processor.now is None or self.name is None or self.store is None:
            return
        prequential = {k: v for k, v in metrics.items() if k.startswith("prequential.")}
        track(
            self.store,
            self.name,
            prequential,
            timestamp=self.processor.now,
            version=self.processor.version,
        )


def run_stream(
    processor: StreamProcessor,
    source: Source,
    *,
    store: Store | None = None,
    sinks: Sequence[Sink] = (),
    checkpoint_every: int = 256,
    resume: bool = True,
    exporter: Any = None,
    on_event: EventHook | None = None,
    max_bars: int | None = None,
    keep_predictions: int | None = None,
) -> StreamResult:
    """Run ``processor`` over ``source`` until it ends (or ``max_bars``), checkpointing.

    Parameters
    ----------
    processor : StreamProcessor
        Named (``processor.name``) when a store is given.
    source : Source
        :class:`~mltrainer.online.ReplaySource` or :class:`~mltrainer.online.RedisStreamSource`.
    store : Store, optional
        Where checkpoints, offsets, status, predictions, events and prequential metrics go.
    sinks : sequence of Sink
        Where each prediction is published as it is made.
    checkpoint_every : int, default 256
        Bars between checkpoints (0: only at the end).
    resume : bool, default True
        Restore the stored checkpoint and continue after its offset.
    exporter : PrometheusExporter, optional
        Gauges set at each checkpoint.
    on_event : callable, optional
        ``on_event(event, bars)`` after each ``"bar"``, ``"checkpoint"`` and ``"ack"``.
    max_bars : int, optional
        Stop after this many bars.
    keep_predictions : int, optional
        Keep only the newest predictions in the result (default: all).

    Returns
    -------
    StreamResult
    """
    if (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int)
        or checkpoint_every < 0
    ):
        raise ConfigError(f"checkpoint_every={checkpoint_every!r} must be an int >= 0")
    if store is not None and processor.stream_name is None:
        raise ConfigError("a stream with a store needs a name: StreamProcessor(..., name='spy')")
    loop = _Loop(processor, source, store, sinks, exporter, on_event)
    resumed = loop.resume() if resume else None
    versions_before = {processor.version}
    source.start(resumed)
    for sink in sinks:
        sink.start()
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    bars = 0
    try:
        for message in source:
            started = time.perf_counter()
            prediction = processor.process(message.bar, features=message.features)
            latencies.append(time.perf_counter() - started)
            for sink in sinks:
                sink.publish(message.offset, prediction)
            loop.offset = message.offset
            loop.unsaved.append((message.offset, prediction))
            loop.unacked.append(message.offset)
            rows.append({"offset": message.offset, **prediction.to_dict()})
            if keep_predictions is not None and len(rows) > 2 * keep_predictions:
                del rows[: len(rows) - keep_predictions]
            bars += 1
            loop.hook("bar", processor.counters.bars)
            if checkpoint_every and bars % checkpoint_every == 0:
                loop.checkpoint("running")
            if max_bars is not None and bars >= max_bars:
                break
        loop.checkpoint("stopped")
    except KeyboardInterrupt:  # Ctrl-C: keep what was processed, then stop
        loop.checkpoint("interrupted")
        raise
    finally:
        for sink in sinks:
            sink.close()
        source.close()
    frame = pd.DataFrame(rows)
    if keep_predictions is not None:
        frame = frame.iloc[-keep_predictions:]
    lat = np.asarray(latencies) * 1e6
    latency = (
        {
            "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)),
            "n": float(lat.size),
        }
        if lat.size
        else {}
    )
    new_versions = [
        int(e["new_version"]) for e in processor.events if e.get("new_version") is not None
    ]
    return StreamResult(
        name=processor.stream_name,
        bars=bars,
        predictions=frame,
        metrics=processor.metrics(),
        counters=dict(vars(processor.counters)),
        events=list(processor.events),
        version=processor.version,
        latency_us=latency,
        checkpoints=loop.checkpoints,
        resumed_from=resumed,
        versions=[v for v in new_versions if v not in versions_before],
        scored=_scored(processor),
        kind=processor.kind,
    )


def _scored(processor: StreamProcessor) -> pd.DataFrame:
    """The matured predictions kept by the processor, one row each, by label end time."""
    data = np.asarray(list(processor.scored), dtype=np.float64).reshape(-1, 5)
    frame = pd.DataFrame(
        {
            "t0": pd.to_datetime(data[:, 0].astype(np.int64), utc=True),
            "t1": pd.to_datetime(data[:, 1].astype(np.int64), utc=True),
            "loss": data[:, 2],
            "y": data[:, 3],
            "predicted": data[:, 4],
        }
    )
    return frame
