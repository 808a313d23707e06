"""Benchmark of mltrainer.explain beside shap (and lime) in the same run.

Usage::

    .venv/bin/python benchmarks/bench_explain.py            # the issue's sizes
    .venv/bin/python benchmarks/bench_explain.py --quick    # small sizes, seconds

Data: standard normal features (30 by default) with a nonlinear, interacting signal; a
binary label. Every contender runs in this process on the same rows, in turn within each
repeat (A/B alternation); times are the median of ``--repeats`` runs (min-max).

1. Batch contributions, 50,000 rows x 30 features: XGBoost (300 trees, depth 6) and
   LightGBM (300 trees, depth 6, 63 leaves): ``mltrainer.explain.explain(model, X)`` (the
   booster's native TreeSHAP plus the margin it checks additivity against) vs
   ``shap.TreeExplainer(model).shap_values(X)`` (its default, additivity check included);
   the max abs difference of the values is printed first.
2. Per-decision latency over 1,000 decisions, one row each: mltrainer = contributions (the
   precomputed single-row tables, ``Explainer(model, fast=True)``) + the decision record
   built and appended to a SQLite store file (``DecisionRecorder.record``: one durable
   transaction, the WAL flushed to disk per commit); the same into an in-memory SQLite
   (the cost without the disk flush); beside them the contributions alone, shap's
   single-row ``TreeExplainer.shap_values`` call and, as the floor, the bare native call
   (``booster.predict(DMatrix(row), pred_contribs=True)`` with one thread). p50 and p99.
3. Model-agnostic paths at their default budgets (50 k-means background rows; permutation
   500 evaluations per row, kernel ``nsamples = 2p + 2048``): seconds per row on the
   catalogue's logistic and random forest; LIME seconds per row at 5,000 samples and its
   top-5 stability (mean pairwise Jaccard) over 10 seeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.explain import (
    DecisionRecorder,
    Explainer,
    TrainingStats,
    background_from_frame,
    explain,
    lime_explain,
)
from mltrainer.models import make_model
from mltrainer.registry import ModelRegistry
from mltrainer.store import open_store

warnings.filterwarnings("ignore", message="The set_")  # import shap: matplotlib deprecations
warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")


def _data(n: int, p: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i:02d}" for i in range(p)])
    score = X["f00"] + X["f01"] * X["f02"] + 0.5 * np.sin(3 * X["f03"]) + 0.3 * X["f04"] ** 2
    y = (score + rng.normal(size=n) > 0.3).astype(int).to_numpy()
    return X, y


def _timed(func: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return times, out


def _fmt(times: list[float]) -> str:
    return f"{statistics.median(times):8.3f} s  ({min(times):.3f}-{max(times):.3f})"


def batch(n: int, p: int, trees: int, repeats: int) -> dict[str, tuple[float, float, float]]:
    import shap

    X, y = _data(n, p)
    models = {
        "xgboost": make_model(
            "xgboost", "classification", {"n_estimators": trees, "max_depth": 6, "n_jobs": 2},
            random_state=0,
        ),
        "lightgbm": make_model(
            "lightgbm", "classification",
            {"n_estimators": trees, "max_depth": 6, "num_leaves": 63, "n_jobs": 2},
            random_state=0,
        ),
    }  # fmt: skip
    print(f"\n1. batch contributions, {n:,} rows x {p} features, {trees} trees depth 6 (2 threads)")
    print(f"{'model':10} {'contender':28} {'median':>10}  (min-max)        max |diff|   ratio")
    results = {}
    for name, model in models.items():
        model.fit(X, y)
        ours = explain(model, X)  # warm-up, and the values compared
        peer = shap.TreeExplainer(model)
        theirs = np.asarray(peer.shap_values(X))
        theirs = theirs[..., -1] if theirs.ndim == 3 else theirs
        diff = float(np.abs(ours.values - theirs).max())
        times_ours: list[float] = []
        times_shap: list[float] = []
        for _ in range(repeats):  # alternate A/B
            times_ours += _timed(lambda m=model: explain(m, X), 1)[0]
            times_shap += _timed(lambda e=peer: e.shap_values(X), 1)[0]
        ratio = statistics.median(times_shap) / statistics.median(times_ours)
        print(f"{name:10} {'mltrainer explain':28} {_fmt(times_ours)}  {diff:10.2e}   1.0x")
        print(f"{name:10} {'shap TreeExplainer':28} {_fmt(times_shap)}  {'':10}   {ratio:.2f}x")
        results[name] = (statistics.median(times_ours), statistics.median(times_shap), diff)
    return results


def per_decision(n_decisions: int, p: int, trees: int) -> dict[str, float]:
    import shap
    import xgboost as xgb

    X, y = _data(20_000, p, seed=1)
    model = make_model(
        "xgboost", "classification", {"n_estimators": trees, "max_depth": 6, "n_jobs": 1},
        random_state=0,
    ).fit(X, y)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        registry = ModelRegistry(Path(tmp) / "models")
        from mltrainer.explain import training_explain_files

        registry.save(
            "bench", model, feature_names=list(X.columns),
            metadata={"label": {"classes": [0.0, 1.0]}},
            extra_files=training_explain_files(X.iloc[:5_000]),
        )  # fmt: skip
        loaded = registry.load("bench")
        rows = X.iloc[-n_decisions:]
        rows.index = pd.date_range("2025-01-01", periods=len(rows), freq="min", tz="UTC")
        proba = loaded.predict_proba(rows)
        predictions = pd.DataFrame(
            {"prediction": (proba[:, 1] > 0.5).astype(float), "proba_0": proba[:, 0],
             "proba_1": proba[:, 1]}, index=rows.index,
        )  # fmt: skip
        with (
            open_store(f"sqlite:///{tmp}/store.db") as store,
            open_store("sqlite:///:memory:") as memory,
        ):
            recorder = DecisionRecorder(loaded, store=store)
            fast = recorder.explainer
            in_memory = DecisionRecorder(loaded, store=memory, explainer=fast)
            booster = model.get_booster()
            peer = shap.TreeExplainer(model)
            single = [rows.iloc[[i]] for i in range(len(rows))]
            arrays = [r.to_numpy() for r in single]
            preds = [predictions.iloc[[i]] for i in range(len(rows))]
            # warm-up: tables built and checked, numba kernel loaded, shap's first call
            recorder.record(single[0], prediction=preds[0])
            in_memory.record(single[0], prediction=preds[0])
            peer.shap_values(arrays[0])
            same = max(
                float(np.abs(fast.explain(single[i]).values - peer.shap_values(arrays[i])).max())
                for i in range(0, len(single), max(1, len(single) // 50))
            )
            keys = ("ours", "memory", "contrib", "shap", "floor")
            timings: dict[str, list[float]] = {k: [] for k in keys}

            def floor(a: np.ndarray) -> Any:
                matrix = xgb.DMatrix(a, feature_names=booster.feature_names, nthread=1)
                return booster.predict(matrix, pred_contribs=True, validate_features=False)

            for row, pred, array in zip(single, preds, arrays, strict=True):
                for key, call in (  # alternate the contenders row by row
                    ("ours", lambda r=row, p=pred: recorder.record(r, prediction=p)),
                    ("memory", lambda r=row, p=pred: in_memory.record(r, prediction=p)),
                    ("contrib", lambda r=row: fast.explain(r, probabilities=False)),
                    ("shap", lambda a=array: peer.shap_values(a)),
                    ("floor", lambda a=array: floor(a)),
                ):
                    start = time.perf_counter()
                    call()
                    timings[key].append(time.perf_counter() - start)
            written = len(store.stream_range("decisions/bench"))
    q = {k: (np.percentile(v, 50) * 1e3, np.percentile(v, 99) * 1e3) for k, v in timings.items()}
    print(f"\n2. per decision, one row, {n_decisions:,} decisions, xgboost {trees} trees depth 6")
    print(f"   values: fast tables vs shap max |diff| {same:.2e} (shap rounds in float32)")
    print(f"{'contender':58} {'p50 ms':>8} {'p99 ms':>8}  ratio (p50)")
    labels = {
        "ours": "mltrainer: contributions + record appended to SQLite",
        "memory": "  the same, SQLite in memory (no disk flush per commit)",
        "contrib": "mltrainer: contributions only (fast tables)",
        "shap": "shap TreeExplainer.shap_values(row)",
        "floor": "floor: booster.predict(DMatrix(row), pred_contribs=True)",
    }
    for key, label in labels.items():
        ratio = q[key][0] / q["ours"][0]
        print(f"{label:58} {q[key][0]:8.3f} {q[key][1]:8.3f}  {ratio:.2f}x")
    print(f"   {written} records written")
    return {k: v[0] for k, v in q.items()} | {"ours_p99": q["ours"][1], "same": same}


def agnostic(p: int, rows: int, lime_rows: int, seeds: int, samples: int) -> dict[str, float]:
    X, y = _data(5_000, p, seed=2)
    background = background_from_frame(X, size=50)
    print(f"\n3. model-agnostic paths, {p} features, 50 background rows")
    out: dict[str, float] = {}
    for name, params in (("logistic", {}), ("random_forest", {"n_estimators": 300})):
        model = make_model(name, "classification", params, random_state=0).fit(X, y)
        for kind in ("permutation", "kernel"):
            explainer = Explainer(model, method=kind, background=background)
            explainer.explain(X.iloc[:1])  # warm-up (shap's numba functions compile once)
            times, result = _timed(lambda e=explainer: e.explain(X.iloc[1 : 1 + rows]), 1)
            per_row = times[0] / rows
            out[f"{name}-{kind}"] = per_row
            exact = explain(model, X.iloc[1 : 1 + rows])
            note = ""
            if exact.space == result.space:
                gap = np.abs(result.values - exact.values).max() / np.abs(exact.values).max()
                note = f"  max |diff| to exact {gap:.1%} of the largest value"
            print(
                f"   {name:14} {kind:12} {per_row:8.3f} s per row  residual "
                f"{result.max_residual:.1e}{note}"
            )
    model = make_model("xgboost", "classification", {"n_estimators": 300}, random_state=0)
    model.fit(X, y)
    stats = TrainingStats.from_frame(X)
    times, lime = _timed(
        lambda: lime_explain(
            model, X.iloc[:lime_rows], stats=stats, num_samples=samples, repeats=seeds,
            top_k=5, compare=True,
        ),
        1,
    )  # fmt: skip
    per_explanation = times[0] / (lime_rows * seeds)
    out["lime"] = per_explanation
    out["lime_stability"] = float(np.mean(lime.stability))
    out["lime_min"] = float(np.min(lime.stability_min))
    print(
        f"   LIME xgboost {samples:,} samples: {per_explanation:.3f} s per row and seed; top-5 "
        f"stability over {seeds} seeds mean {np.mean(lime.stability):.2f}, worst pair "
        f"{np.min(lime.stability_min):.2f} ({lime_rows} rows); agreement with SHAP top-5 "
        f"{np.nanmean(lime.agreement):.2f}"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        n, trees, decisions, rows, lime_rows, seeds, samples = 5_000, 50, 100, 2, 2, 3, 1_000
    else:
        n, trees, decisions, rows, lime_rows, seeds, samples = 50_000, 300, 1_000, 5, 5, 10, 5_000
    p = 30
    results = batch(n, p, trees, args.repeats)
    latency = per_decision(decisions, p, trees)
    other = agnostic(p, rows, lime_rows, seeds, samples)
    xgb_ours, xgb_shap, xgb_diff = results["xgboost"]
    lgb_ours, lgb_shap, lgb_diff = results["lightgbm"]
    print(
        f"\nexplain n={n:,}x{p}: xgboost ours {xgb_ours:.2f} s | shap {xgb_shap:.2f} s "
        f"({xgb_shap / xgb_ours:.1f}x, diff {xgb_diff:.0e}); lightgbm ours {lgb_ours:.2f} s | "
        f"shap {lgb_shap:.2f} s ({lgb_shap / lgb_ours:.1f}x, diff {lgb_diff:.0e}); per decision "
        f"p50 ours {latency['ours']:.2f} ms with record on disk (p99 {latency['ours_p99']:.2f}), "
        f"{latency['memory']:.2f} ms in memory, {latency['contrib']:.2f} ms contributions | shap "
        f"{latency['shap']:.2f} ms ({latency['shap'] / latency['ours']:.1f}x / "
        f"{latency['shap'] / latency['contrib']:.1f}x) | floor {latency['floor']:.2f} ms; "
        f"permutation {other['logistic-permutation']:.2f}/{other['random_forest-permutation']:.2f}"
        f" s/row (logistic/rf), kernel {other['logistic-kernel']:.2f}/"
        f"{other['random_forest-kernel']:.2f} s/row; LIME {other['lime']:.2f} s/row, stability "
        f"{other['lime_stability']:.2f} (min {other['lime_min']:.2f})"
    )


if __name__ == "__main__":
    main()
