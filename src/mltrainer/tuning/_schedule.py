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


def _warm_start(config: Config) -> dict[str, Any] | None:
    """The promoted best params, else the last study's best: a new study's first guess."""
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        best = store.get(store_key(config, "best"))
        last = store.get(store_key(config, "last"))
    if best:
        return dict(best["params"])
    if last and last.get("best_params"):
        return dict(last["best_params"])
    return None


def run_schedule(
    config: Config,
    *,
    every: str | float | None = None,
    max_runs: int | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    on_result: Callable[[TuneResult], None] | None = None,
    **tune_kwargs: Any,
) -> list[TuneResult]:
    """Tune now if due, then every ``every`` (default ``tuning.every``), ``max_runs`` times.

    Each run is a new study ``<study name>-<UTC time>``, warm-started with the promoted best
    params (else the previous study's best) and the fixed config, as every new study is.

    Parameters
    ----------
    config : Config
        The run's config.
    every : str or float, optional
        Interval between runs (``7d``, ``12h``, seconds); default ``tuning.every``.
    max_runs : int, optional
        Stop after this many runs (default: run forever).
    sleep, clock : callable, optional
        ``sleep(seconds)`` and ``clock() -> epoch seconds`` (default :func:`time.sleep`
        and :func:`time.time`); the schedule waits with ``sleep`` until ``clock`` says a
        run is due, and names each study by ``clock``'s time.
    on_result : callable, optional
        Called with each run's result.
    **tune_kwargs
        Passed to :func:`~mltrainer.tuning.tune` (``n_trials``, ``nested``...).
    """
    interval = every if every is not None else config.tuning.every
    if interval is None:
        from mltrainer.exceptions import ConfigError

        raise ConfigError("tuning.every: not set; give --every 7d or set tuning.every")
    if max_runs is not None and max_runs < 1:
        from mltrainer.exceptions import ConfigError

        raise ConfigError(f"max_runs: must be at least 1, got {max_runs}")
    parse_interval(interval)
    sleep = sleep if sleep is not None else time.sleep
    clock = clock if clock is not None else time.time
    results: list[TuneResult] = []
    while max_runs is None or len(results) < max_runs:
        now = clock()
        wait = next_run_time(config, interval, now=now) - now
        if wait > 0:
            logger.info("next tuning run in %.0f s", wait)
            sleep(wait)
            continue
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{default_study_name(config)}-{stamp}"
        taken = {r.study for r in results}
        suffix = 1
        while name in taken:  # runs less than a second apart: keep their studies apart
            suffix += 1
            name = f"{default_study_name(config)}-{stamp}-{suffix}"
        result = tune(config, study_name=name, warm_start=_warm_start(config), **tune_kwargs)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
