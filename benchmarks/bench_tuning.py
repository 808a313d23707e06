"""Tuning throughput: trials per minute with 1 and 2 workers on one study, and pruning's saving.

    python benchmarks/bench_tuning.py [--quick] [--trials N]

Default: 30 XGBoost trials on the bundled S&P 500 bars (1999-2018, direction label,
purged 5-fold CV), the issue's "done when" sizes. ``--quick``: 8 trials on 2015-2018 with
3 folds and a small tree range, for a smoke run in seconds. Every run uses its own fresh
SQLite study, the same seed and the same config; the 2-worker run includes starting the
worker processes. Prints a table and one quotable line.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import TrialState

from mltrainer.config import config_from_dict
from mltrainer.tuning import TuneResult, load_study, tune


def _config(tmp: Path, tag: str, *, quick: bool, pruner: str, trials: int) -> Any:
    space = (
        {"n_estimators": {"low": 20, "high": 80}, "max_depth": {"low": 2, "high": 5}}
        if quick
        else {}
    )
    return config_from_dict(
        {
            "name": f"bench-{tag}",
            "data": {"source": "sp500", **({"start": "2015-01-01"} if quick else {})},
            "model": {"type": "xgboost", "params": {"n_estimators": 50} if quick else {}},
            "cv": {"n_splits": 3 if quick else 5},
            "registry": {"root": str(tmp / "models")},
            "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
            "tuning": {
                "storage": f"sqlite:///{tmp / f'{tag}.db'}",
                "n_trials": trials,
                "pruner": pruner,
                "search_space": space,
            },
        }
    )


def _run(
    tmp: Path, tag: str, *, quick: bool, pruner: str, trials: int, workers: int
) -> tuple[TuneResult, float, float, float, float]:
    """One fresh study; returns the result, wall seconds, median seconds per complete trial
    and the 1-minute load average before the run (the machine is shared)."""
    config = _config(tmp, tag, quick=quick, pruner=pruner, trials=trials)
    load = os.getloadavg()[0]
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    result = tune(config, workers=workers, write=False)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu0
    study = load_study(config.tuning.storage, result.study)
    durations = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in study.get_trials(states=(TrialState.COMPLETE,))
        if t.datetime_complete and t.datetime_start
    ]
    return result, seconds, float(np.median(durations)), load, cpu


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _fits(n: int) -> float:
    """Seconds for ``n`` single-threaded XGBoost fits of a fixed size (no I/O, no Optuna)."""
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4000, 22)), rng.integers(0, 2, 4000)
    XGBClassifier(n_estimators=5, n_jobs=1).fit(X, y)  # warm up
    start = time.perf_counter()
    for _ in range(n):
        XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1).fit(X, y)
    return time.perf_counter() - start


def hardware_scaling(n: int = 20) -> float:
    """Throughput of 2 concurrent processes over 1 on the same fits: the ceiling that any
    2-worker speed-up on this machine can reach (2.0 on two idle cores)."""
    import multiprocessing

    one = _fits(n)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        two = max(pool.map(_fits, [n, n]))
    return 2 * one / two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--trials", type=int, help="trials per study (default 30, quick 8)")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = args.trials or (8 if args.quick else 30)
    rows: list[tuple[str, TuneResult, float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for tag, pruner, workers in (
            ("w1-median", "median", 1),
            ("w2-median", "median", 2),
            ("w1-none", "none", 1),
        ):
            run = _run(tmp, tag, quick=args.quick, pruner=pruner, trials=trials, workers=workers)
            rows.append((tag, *run))

    print(f"{'run':<10} {'workers':>7} {'pruner':>7} {'trials':>6} {'pruned':>6} "
          f"{'seconds':>8} {'trials/min':>10} {'s/trial':>7} {'load':>5} {'fixed':>7}"
          f" {'tuned':>7} {'p':>6} {'cpu s':>6}")  # fmt: skip
    for tag, r, seconds, per_trial, load, cpu in rows:
        workers = 2 if tag.startswith("w2") else 1
        print(
            f"{tag:<10} {workers:>7} {tag.split('-')[1]:>7} {r.n_trials:>6} {r.n_pruned:>6}"
            f" {seconds:>8.1f} {r.n_trials / seconds * 60:>10.1f} {per_trial:>7.2f}"
            f" {load:>5.1f} {r.fixed_score:>7.4f} {r.best_score:>7.4f} {r.p_value:>6.3f}"
            f" {cpu:>6.1f}"
        )
    (_, w1, s1, _, _, c1), (_, w2, s2, _, load2, c2), (_, _, s0, _, _, _) = rows
    ceiling = hardware_scaling(8 if args.quick else 20)
    speedup = (w2.n_trials / s2) / (w1.n_trials / s1)
    saved = 1 - s1 / s0
    print(
        f"XGBoost {trials} trials ({'quick' if args.quick else 'S&P 500 1999-2018, 5 folds'}):"
        f" 1 worker {w1.n_trials / s1 * 60:.1f} trials/min | 2 workers"
        f" {w2.n_trials / s2 * 60:.1f} trials/min ({speedup:.2f}x; 2 bare processes"
        f" {ceiling:.2f}x) | median pruning"
        f" {s1:.0f} s vs {s0:.0f} s without ({saved:.0%} saved, {w1.n_pruned} pruned)"
        f" | CPU s/trial 1w {c1 / w1.n_trials:.2f} vs 2w {c2 / w2.n_trials:.2f} (load {load2:.1f}"
        f" on {os.cpu_count()} cores)"
        f" | {scorer(w1)} fixed {w1.fixed_score:.4f} vs tuned {w1.best_score:.4f}"
        f" (PBO {w1.pbo:.2f}, DSR {w1.deflated_sharpe:.2f})"
    )


def scorer(result: TuneResult) -> str:
    return result.scorer


if __name__ == "__main__":
    main()
