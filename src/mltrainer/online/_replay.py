"""Replay history as a stream: a backtest of the online procedure on any bars source."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.features import compute_features

from ._processor import StreamProcessor
from ._runner import StreamResult, run_stream
from ._sources import ReplaySource

__all__ = ["replay"]


def replay(
    processor: StreamProcessor,
    bars: pd.DataFrame,
    *,
    start: Any,
    end: Any = None,
    store: Any = None,
    checkpoint_every: int = 256,
    resume: bool = False,
    exporter: Any = None,
    on_event: Any = None,
    max_bars: int | None = None,
) -> StreamResult:
    """Stream ``bars`` from ``start`` through ``processor`` at full speed.

    Bars before ``start`` fill the history (so the first streamed bar already has its
    features); from ``start`` on, each bar is predicted, then learnt from once its label
    matures, exactly as live. Feature rows are computed once in batch over all of
    ``bars`` (equal to the live, bar-by-bar rows).

    Parameters
    ----------
    processor : StreamProcessor
        The model set up for streaming.
    bars : pandas.DataFrame
        Validated bars of one instrument, including history before ``start``.
    start, end : time-like
        First and last bar streamed (``end`` None: to the last bar).
    store, checkpoint_every, resume, exporter, on_event, max_bars
        As :func:`~mltrainer.online.run_stream`; a replay starts fresh unless ``resume``.

    Returns
    -------
    StreamResult

    Raises
    ------
    DataError
        When no bar falls in ``[start, end]``.
    """
    try:
        first = pd.Timestamp(start)
        first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
        last = None if end is None else pd.Timestamp(end)
        if last is not None:
            last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    except (TypeError, ValueError):
        raise ConfigError(f"start={start!r} / end={end!r} is not a time (use 2015-01-01)") from None
    if last is not None:
        bars = bars.loc[bars.index <= last]
    streamed = bars.index >= first
    if not streamed.any():
        span = f"{bars.index[0]} .. {bars.index[-1]}" if len(bars) else "no bars"
        raise DataError(f"no bar to replay from {first.date()} ({span}); choose another --from")
    features = compute_features(bars, processor.features)
    processor.prime(bars.loc[~streamed])
    source = ReplaySource(bars.loc[streamed], features=features.loc[streamed], name="replay")
    return run_stream(
        processor,
        source,
        store=store,
        checkpoint_every=checkpoint_every,
        resume=resume,
        exporter=exporter,
        on_event=on_event,
        max_bars=max_bars,
    )
