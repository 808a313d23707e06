"""Periodic re-optimisation: tune every interval, the last run's time kept in the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mltrainer.config import Config, parse_interval
from mltrainer.store import open_store
from mltrainer.tuning._results import TuneResult, store_key
from mltrainer.tuning._study import default_study_name, last_run_time, tune

__all__ = ["next_run_time", "run_schedule"]

logger = logging.getLogger("mltrainer")


def next_run_time(config: Config, every: str | float, *, now: float | None = None) -> float:
    """Epoch seconds when the next scheduled run is due (``now`` when it is due already).

    The last run's time is read from the store, so a restarted scheduler keeps the cadence
    instead of retuning at once.
    """
    now = time.time() if now is None else now
    last = last_run_time(config)
    return now if last is None else max(now, last + parse_interval(every))


def run_schedule(
    config: Config,
    *,
    every: str | float | None = None,
    max_runs: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_result: Callable[[TuneResult], None] | None = None,
    **tune_kwargs: Any,
) -> list[TuneResult]:
    """Tune now if due, then every ``every`` (default ``tuning.every``), ``max_runs`` times.

    Each run is a new study ``<study name>-<UTC time>``, warm-started with the previous
    best params (and the fixed config, as every new study is).
    """
    interval = every if every is not None else config.tuning.every
    if interval is None:
        from mltrainer.exceptions import ConfigError

        raise ConfigError("tuning.every: not set; give --every 7d or set tuning.every")
    parse_interval(interval)
    results: list[TuneResult] = []
    while max_runs is None or len(results) < max_runs:
        wait = next_run_time(config, interval) - time.time()
        if wait > 0:
            logger.info("next tuning run in %.0f s", wait)
            sleep(wait)
            continue
        with open_store(config.store.url, prefix=config.store.prefix) as store:
            best = store.get(store_key(config, "best"))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        result = tune(
            config,
            study_name=f"{default_study_name(config)}-{stamp}",
            warm_start=best["params"] if best else None,
            **tune_kwargs,
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
