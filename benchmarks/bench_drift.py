"""Benchmark of mltrainer.monitor.feature_drift beside a scipy ks_2samp loop and Evidently.

Usage::

    .venv/bin/python benchmarks/bench_drift.py            # 50 features, 200,000 vs 50,000 rows
    .venv/bin/python benchmarks/bench_drift.py --quick    # 50 features, 20,000 vs 5,000 rows

Evidently needs pandas < 3, so it runs in its own venv, in a subprocess, on the same data
written to temporary Parquet files (its time excludes reading them); skipped when absent::

    python -m venv .venv-evidently
    .venv-evidently/bin/pip install -r benchmarks/requirements-evidently.txt

Data: standard normal features; the current window shifts exactly three of them (f03 mean
+0.2 sd, f17 scale x1.3, f41 heavy-tailed with the same variance). Contenders, each the
median of ``--repeats`` runs (min-max), run in turn within each repeat (A/B alternation):

- mltrainer, raw frames: ``feature_drift(reference_frame, current)``, the roadmap's own
  call: it profiles the reference with only what the call needs (every row sorted,
  design effects at this window's size, no sketch) and tests the window;
- mltrainer, cached profile: ``feature_drift(profile, current)`` with the profile that
  training saves (``build_profile(reference)``: 20,000 sampled rows sketched to 2,048
  order statistics, design effects on a grid of window sizes; built once, timed
  separately), with one thread and with ``n_jobs=2``;
- scipy: ``scipy.stats.ks_2samp(reference[c], current[c])`` for every feature;
- Evidently 0.7: ``Report([DataDriftPreset()]).run(current, reference)`` (one run: slow).

Checks before comparing: the raw-frame KS statistics equal scipy's (1e-12) and the KS
p-value formula is within 0.005 of scipy's; the cached profile's sketched KS statistics
are within 1/2,047 of those of its unsketched 20,000-row sample (whose own distance from
all rows, the sampling error, is printed); the flagged features are printed for every
contender.

Also printed: the size of ``profile.json`` as format 1 stored it (the 20,000 sampled values
per column at full precision; built here with ``sketch_size=None, time_structure=False``)
and as saved now; and, on the bundled S&P 500 default features, the share of (feature,
window) pairs flagged for adjacent 250-row windows inside the history, with the
time-structure calibration and with independent rows assumed. The floor is one sort of the
current window (what any KS test must at least do).
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

from mltrainer.data import load_bars
from mltrainer.features import compute_features, default_feature_spec
from mltrainer.monitor import build_profile, feature_drift
from mltrainer.monitor._statistics import ks_pvalues

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


def alternating(runs: list[Callable[[], Any]], repeats: int) -> list[list[float]]:
    """Wall times of every run, ``repeats`` rounds of each in turn (after one warm-up)."""
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            times[i].append(time.perf_counter() - start)
    return times


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


def sp500_false_alarms(window: int = 250) -> tuple[float, float, int]:
    """Share of (feature, window) pairs flagged over adjacent windows inside the S&P 500
    history: with the time-structure calibration, and with independent rows assumed."""
    X = compute_features(load_bars("sp500"), default_feature_spec()).dropna()
    profile = build_profile(X)
    tiles = [X.iloc[s : s + window] for s in range(0, len(X) - window + 1, window)]
    shares = []
    for calibration in ("time", "rows"):
        flags = [
            feature_drift(profile, w, calibration=calibration).table["drifted"].to_numpy()  # type: ignore[arg-type]
            for w in tiles
        ]
        shares.append(float(np.mean(flags)))
    return shares[0], shares[1], len(tiles)


def json_size(profile: Any) -> int:
    """Bytes of ``profile.json`` as the registry writes it (compact separators)."""
    text = json.dumps(profile.to_dict(), allow_nan=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


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
    profile = build_profile(reference)
    build_s = time.perf_counter() - start
    old_format = build_profile(reference, sketch_size=None, time_structure=False)

    ref_arrays = {c: reference[c].to_numpy() for c in reference.columns}
    cur_arrays = {c: current[c].to_numpy() for c in current.columns}

    def scipy_loop() -> list[Any]:
        return [stats.ks_2samp(ref_arrays[c], cur_arrays[c]) for c in reference.columns]

    raw = feature_drift(reference, current)
    cached = feature_drift(profile, current)
    scipy_results = scipy_loop()
    scipy_d = np.array([r.statistic for r in scipy_results])
    d_gap = float(np.max(np.abs(raw.table["statistic"].to_numpy() - scipy_d)))
    assert d_gap < 1e-12, f"KS statistics differ from scipy by {d_gap}"
    p_formula = ks_pvalues(scipy_d, np.full(n_features, n_ref), np.full(n_features, n_cur))
    p_gap = float(np.max(np.abs(p_formula - [r.pvalue for r in scipy_results])))
    assert p_gap < 5e-3, f"KS p-values differ from scipy by {p_gap}"
    unsketched = feature_drift(old_format, current).table["statistic"].to_numpy()
    sketch_gap = float(np.max(np.abs(cached.table["statistic"].to_numpy() - unsketched)))
    assert sketch_gap <= 1 / 2_047, f"the sketch moved a KS statistic by {sketch_gap}"
    sample_gap = float(np.max(np.abs(unsketched - scipy_d)))
    adjusted = stats.false_discovery_control([r.pvalue for r in scipy_results])
    scipy_flagged = [c for c, p in zip(reference.columns, adjusted, strict=True) if p < 0.05]

    values = current.to_numpy().T
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("mltrainer feature_drift (raw frames)", lambda: feature_drift(reference, current)),
        ("mltrainer feature_drift (cached profile)", lambda: feature_drift(profile, current)),
        ("mltrainer, cached profile, n_jobs=2", lambda: feature_drift(profile, current, n_jobs=2)),
        ("scipy ks_2samp loop", scipy_loop),
        ("floor: sort the current window", lambda: np.sort(values, axis=1)),
    ]
    times = alternating([run for _, run in rows], args.repeats)
    medians = [statistics.median(t) for t in times]
    scipy_s = medians[3]
    ev_python = None if args.skip_evidently else args.evidently_python
    evidently = None if ev_python is None else run_evidently(ev_python, reference, current)
    print(f"{'contender':44s} {'median s':>9s} {'min-max s':>17s} {'scipy/it':>9s}")
    for (name, _), t, med in zip(rows, times, medians, strict=True):
        print(f"{name:44s} {med:9.3f} {min(t):8.3f}-{max(t):8.3f} {scipy_s / med:8.2f}x")
    if evidently is not None:
        sec = evidently["seconds"]
        name = f"Evidently {evidently['version']} DataDriftPreset (1 run)"
        print(f"{name:44s} {sec:9.3f} {'':17s} {scipy_s / sec:8.2f}x")
        theirs = pd.Series(evidently["values"]).reindex(raw.table.index)
        gap = float(np.max(np.abs(raw.table["wasserstein"] / theirs - 1)))
        print(f"check: scaled Wasserstein vs Evidently's, max relative gap {gap:.4f}")
        assert gap < 0.03, f"scaled Wasserstein differs from Evidently's by {gap:.2%}"
    size_old, size_new = json_size(old_format), json_size(profile)
    print(f"profile build (once per model, saved with it): {build_s:.3f} s")
    print(
        f"profile.json: format 1 content {size_old / 1e6:.2f} MB -> now {size_new / 1e6:.2f} MB"
        f" ({size_old / size_new:.1f}x smaller; 2,048-value sketch, 7 digits)"
    )
    print(f"check: raw-frame KS statistic max |diff| vs scipy {d_gap:.1e}")
    print(f"check: KS p-value formula max |diff| vs scipy {p_gap:.1e}")
    print(
        f"check: cached KS statistic max |diff|: sketch vs its 20,000-row sample {sketch_gap:.1e}"
        f" (bound 1/2,047), that sample vs all rows {sample_gap:.1e}"
    )
    deff = raw.table["design_effect"]
    print(
        f"design effects on these independent rows: median {deff.median():.2f},"
        f" max {deff.max():.2f}"
    )
    print(f"flagged: mltrainer raw frames {raw.drifted} (truth {SHIFTED})")
    print(f"flagged: mltrainer cached profile {cached.drifted}")
    print(f"flagged: scipy KS + BH at 0.05 {scipy_flagged}")
    if evidently is not None:
        print(f"flagged: Evidently (normed Wasserstein >= 0.1) {evidently['drifted']}")
    timed, rows_share, n_tiles = sp500_false_alarms()
    print(
        f"S&P 500 default features, {n_tiles} adjacent 250-row windows inside the history:"
        f" {timed:.1%} of (feature, window) pairs flagged ({rows_share:.1%} assuming"
        " independent rows)"
    )
    line = (
        f"feature_drift {label}: raw frames {medians[0]:.3f} s | cached profile"
        f" {medians[1]:.3f} s | scipy ks_2samp loop {scipy_s:.3f} s"
        f" (raw {scipy_s / medians[0]:.1f}x, cached {scipy_s / medians[1]:.1f}x faster)"
    )
    if evidently is not None:
        line += f" | Evidently {evidently['seconds']:.1f} s"
    line += (
        f" | floor {medians[4]:.3f} s"
        f" | profile.json {size_old / 1e6:.1f} -> {size_new / 1e6:.2f} MB"
        f" | S&P 500 adjacent windows flagged {timed:.1%} (was {rows_share:.0%})"
    )
    print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
