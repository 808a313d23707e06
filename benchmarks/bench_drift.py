"""Benchmark of mltrainer.monitor.feature_drift beside a scipy ks_2samp loop and Evidently.

Usage::

    .venv/bin/python benchmarks/bench_drift.py            # 50 features, 200,000 vs 50,000 rows
    .venv/bin/python benchmarks/bench_drift.py --quick    # 50 features, 20,000 vs 5,000 rows

Evidently needs pandas < 3, so it runs in its own venv, in a subprocess, on the same data
written to temporary Parquet files (its time excludes reading them)::

    python -m venv .venv-evidently
    .venv-evidently/bin/pip install "evidently==0.7.23" "pandas<3" pyarrow

Data: standard normal features; the current window shifts exactly three of them (f03 mean
+0.2 sd, f17 scale x1.3, f41 heavy-tailed with the same variance). Contenders, each the
median of ``--repeats`` runs (min-max):

- mltrainer: ``feature_drift(profile, current)`` with the reference profiled once
  (``build_profile``, timed separately) and every reference row kept (``max_rows=None``),
  so its KS statistics are those of scipy; also with the default profile (a sorted
  sample of 20,000 rows) as production uses it, and with ``n_jobs=2`` threads (the
  headline ratio is single-threaded, like the scipy loop);
- scipy: ``scipy.stats.ks_2samp(reference[c], current[c])`` for every feature;
- Evidently 0.7: ``Report([DataDriftPreset()]).run(current, reference)`` (one run: it is
  slow), whose numeric test is the Wasserstein distance over the reference's std.

Checks before comparing: mltrainer's KS statistics equal scipy's (to 1e-12) and its
p-values agree within 0.005 (asymptotic formula); its scaled Wasserstein distances agree
with Evidently's within 3 %; the flagged features are printed for all three. The floor
is one sort of the current window (what any KS test must at least do).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mltrainer.monitor import build_profile, feature_drift

ROOT = Path(__file__).resolve().parents[1]
EVIDENTLY_PYTHON = ROOT / ".venv-evidently" / "bin" / "python"
SHIFTED = ["f03", "f17", "f41"]

EVIDENTLY_SCRIPT = """
import json, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
seconds = time.perf_counter() - start
values, drifted = {}, []
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        values[config["column"]] = metric["value"]
        if metric["value"] >= config["threshold"]:
            drifted.append(config["column"])
import evidently
print(json.dumps({"seconds": seconds, "values": values, "drifted": drifted,
                  "version": evidently.__version__}))
"""


def make_data(n_ref: int, n_cur: int, n_features: int, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """Reference and current frames; the current shifts f03, f17 and f41."""
    rng = np.random.default_rng(seed)
    columns = [f"f{i:02d}" for i in range(n_features)]
    reference = pd.DataFrame(rng.standard_normal((n_ref, n_features)), columns=columns)
    current = pd.DataFrame(rng.standard_normal((n_cur, n_features)), columns=columns)
    current["f03"] = current["f03"] + 0.2
    current["f17"] = current["f17"] * 1.3
    current["f41"] = rng.standard_t(3, n_cur) / np.sqrt(3.0)
    return reference, current


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """Median, min and max wall time of ``run`` over ``repeats`` runs (after one warm-up)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def run_evidently(python: Path, reference: pd.DataFrame, current: pd.DataFrame) -> dict | None:
    """Evidently's data-drift preset in its own venv; None (with a note) when unavailable."""
    if not python.exists():
        print(f"evidently: skipped ({python} missing; see this script's docstring)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, cur_path = Path(tmp) / "reference.parquet", Path(tmp) / "current.parquet"
        reference.to_parquet(ref_path)
        current.to_parquet(cur_path)
        done = subprocess.run(
            [str(python), "-c", EVIDENTLY_SCRIPT, str(ref_path), str(cur_path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        print(f"evidently: failed ({done.stderr.strip().splitlines()[-1:]})")
        return None
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 x 20,000 vs 5,000 rows")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--evidently-python", type=Path, default=EVIDENTLY_PYTHON)
    args = parser.parse_args()
    n_ref, n_cur, n_features = (20_000, 5_000, 50) if args.quick else (200_000, 50_000, 50)
    reference, current = make_data(n_ref, n_cur, n_features)
    label = f"{n_features}x{n_ref:,} vs {n_cur:,}"
    print(f"feature drift, {label} rows, {args.repeats} repeats (median, min-max)")

    start = time.perf_counter()
    profile = build_profile(reference, max_rows=None)
    build_full = time.perf_counter() - start
    start = time.perf_counter()
    sampled = build_profile(reference)
    build_sampled = time.perf_counter() - start

    ref_arrays = {c: reference[c].to_numpy() for c in reference.columns}
    cur_arrays = {c: current[c].to_numpy() for c in current.columns}

    def scipy_loop() -> list[Any]:
        return [stats.ks_2samp(ref_arrays[c], cur_arrays[c]) for c in reference.columns]

    report = feature_drift(profile, current)
    scipy_results = scipy_loop()
    d_gap = np.max(
        np.abs(report.table["statistic"].to_numpy() - [r.statistic for r in scipy_results])
    )
    p_gap = np.max(np.abs(report.table["p_value"].to_numpy() - [r.pvalue for r in scipy_results]))
    assert d_gap < 1e-12, f"KS statistics differ from scipy by {d_gap}"
    assert p_gap < 5e-3, f"KS p-values differ from scipy by {p_gap}"
    adjusted = stats.false_discovery_control([r.pvalue for r in scipy_results])
    scipy_flagged = [c for c, p in zip(reference.columns, adjusted, strict=True) if p < 0.05]

    values = current.to_numpy().T

    ev_python = None if args.skip_evidently else args.evidently_python
    rows = [
        ("mltrainer feature_drift (full profile)", lambda: feature_drift(profile, current)),
        ("mltrainer feature_drift (20k-row profile)", lambda: feature_drift(sampled, current)),
        (
            "mltrainer, full profile, n_jobs=2 threads",
            lambda: feature_drift(profile, current, n_jobs=2),
        ),
        ("scipy ks_2samp loop", scipy_loop),
        ("floor: sort the current window", lambda: np.sort(values, axis=1)),
    ]
    times = [timed(run, args.repeats) for _, run in rows]
    evidently = None if ev_python is None else run_evidently(ev_python, reference, current)
    ours = times[0][0]
    print(f"{'contender':44s} {'median s':>9s} {'min-max s':>17s} {'ratio':>8s}")
    for (name, _), (med, lo, hi) in zip(rows, times, strict=True):
        print(f"{name:44s} {med:9.3f} {lo:8.3f}-{hi:8.3f} {med / ours:7.2f}x")
    if evidently is not None:
        sec = evidently["seconds"]
        name = f"Evidently {evidently['version']} DataDriftPreset (1 run)"
        print(f"{name:44s} {sec:9.3f} {'':17s} {sec / ours:7.2f}x")
        theirs = pd.Series(evidently["values"]).reindex(report.table.index)
        gap = float(np.max(np.abs(report.table["wasserstein"] / theirs - 1)))
        print(f"check: scaled Wasserstein vs Evidently's, max relative gap {gap:.4f}")
        assert gap < 0.03, f"scaled Wasserstein differs from Evidently's by {gap:.2%}"
    print(
        f"profile build (once per model): full {build_full:.3f} s,"
        f" 20k-row sample {build_sampled:.3f} s"
    )
    print(f"check: KS statistic max |diff| vs scipy {d_gap:.1e}, p-value max |diff| {p_gap:.1e}")
    print(f"flagged: mltrainer {report.drifted} (truth {SHIFTED})")
    print(f"flagged: scipy KS + BH at 0.05 {scipy_flagged}")
    if evidently is not None:
        print(f"flagged: Evidently (normed Wasserstein >= 0.1) {evidently['drifted']}")
    scipy_s = times[3][0]
    line = (
        f"feature_drift {label}: mltrainer {ours:.3f} s"
        f" | scipy ks_2samp loop {scipy_s:.3f} s ({scipy_s / ours:.1f}x)"
    )
    if evidently is not None:
        line += f" | Evidently {evidently['seconds']:.1f} s ({evidently['seconds'] / ours:.0f}x)"
    line += f" | floor {times[4][0]:.3f} s"
    print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
