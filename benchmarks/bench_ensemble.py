"""Benchmark of mltrainer.ensemble: honest out-of-sample scores and what stacking costs.

Usage::

    python benchmarks/bench_ensemble.py            # 1999-2018 bars, catalogue defaults
    python benchmarks/bench_ensemble.py --quick    # 2014-2018, small models, a smoke run

Three parts, all on the training plan and the one fold loop:

1. Real data. Bundled S&P 500 direction (5-day label) and NASDAQ forward volatility
   (5-day), members xgboost + lightgbm + logistic (ridge for the regression), purged
   5-fold CV with a 5-bar embargo. For each ensemble (equal-weight average, stack with the
   default weights meta, stack with the logistic / ridge meta, volatility-regime switching)
   the ensemble's mean headline score, its best member's and the equal-weight average's,
   all on the same outer folds (``compare_on_folds``): the honest outcome, whatever it is.
2. A synthetic regime world: two regimes with opposite signals (y = 1[s_t * x_t + noise >
   0], s_t = +1 / -1), switching with persistence (stay probability 0.995), the regime
   visible in the variance of a return column (1.5x). World A: the features are x, a
   second signal z and the return; world B adds a 20-bar volatility column. Logistic and
   xgboost alone; regime switching (Markov-switching filtered probabilities of the return;
   in B also volatility quantiles of vol_20) with a logistic member per regime; a logistic
   model per regime with the true regime known (the ceiling).
3. Cost: a stack's fit time against the sum of its members' fit times on the same rows
   (the inner folds' overhead), and predict latency per row (one-row calls, median) of the
   stack against its slowest member.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mltrainer.config import config_from_dict
from mltrainer.cv import PurgedKFold, cross_validate
from mltrainer.ensemble import RegimeEnsemble, compare_on_folds
from mltrainer.models import make_model
from mltrainer.pipeline import Plan

SEED = 0


def _config(task: str, model: dict[str, Any], quick: bool) -> Any:
    boosters = {"n_estimators": 60} if quick else {}
    third = {"name": "logit", "type": "logistic"}
    label = {"name": "direction", "horizon": 5}
    source = "sp500"
    if task == "regression":
        third = {"name": "ridge", "type": "ridge"}
        label = {"name": "forward_volatility", "horizon": 5}
        source = "nasdaq"
    members = [
        {"name": "xgb", "type": "xgboost", "params": boosters},
        {"name": "lgbm", "type": "lightgbm", "params": boosters},
        third,
    ]
    return config_from_dict(
        {
            "name": "bench-ensemble",
            "seed": SEED,
            "data": {"source": source, **({"start": "2014-01-01"} if quick else {})},
            "label": label,
            "model": {"type": "ensemble", "members": members, **model},
            "cv": {"n_splits": 3 if quick else 5},
        }
    )


def real_data(quick: bool) -> list[dict[str, Any]]:
    rows = []
    for task, linear in (("classification", "logistic"), ("regression", "ridge")):
        variants = {
            "average": {"combine": "average"},
            "stack (weights)": {"combine": "stack", "meta": {"n_splits": 3}},
            f"stack ({linear})": {"combine": "stack", "meta": {"type": linear, "n_splits": 3}},
            "regime (volatility)": {
                "combine": "regime",
                "regime": {"method": "volatility", "n_regimes": 2, "min_dwell": 5},
            },
        }
        for name, model in variants.items():
            plan = Plan.from_config(_config(task, model, quick))
            start = time.perf_counter()
            result = plan.cross_validate(return_estimators=True)
            report = compare_on_folds(
                result,
                plan.dataset.X,
                plan.dataset.y,
                cv=plan.splitter,
                scoring=plan.scoring,
                t1=plan.dataset.t1,
            )
            means = report.means()
            rows.append(
                {
                    "data": plan.config.data.source,
                    "label": plan.config.label["name"],
                    "ensemble": name,
                    "scorer": report.headline,
                    "score": means["ensemble"],
                    "best member": f"{report.best_member} {means[report.best_member]:.4f}",
                    "equal avg": means["average"],
                    "beats best": "yes" if report.beats_best else "no",
                    "seconds": time.perf_counter() - start,
                    "rows": len(plan.dataset.X),
                }
            )
            print(f"  {rows[-1]['data']} {name}: {report.verdict}", flush=True)
    return rows


def regime_world(
    n: int, *, with_vol: bool, seed: int = 1
) -> tuple[pd.DataFrame, pd.Series, pd.Series, np.ndarray]:
    """Two persistent regimes with opposite signals; the regime shows in return variance.

    The regime flips with probability 0.005 per bar (mean stay 200 bars); its returns are
    1.5 times as volatile. ``with_vol`` adds a 20-bar volatility column (a regime proxy
    every model can read); without it only the return series carries the regime.
    """
    rng = np.random.default_rng(seed)
    regime = np.cumsum(rng.random(n) < 0.005) % 2
    index = pd.date_range("2000-01-01", periods=n, freq="D", tz="UTC")
    ret = rng.normal(size=n) * np.where(regime == 1, 1.5, 1.0) * 0.01
    x, z = rng.normal(size=n), rng.normal(size=n)
    sign = np.where(regime == 1, -1.0, 1.0)
    y = (sign * x + 0.3 * z + 0.6 * rng.normal(size=n) > 0).astype(int)
    X = pd.DataFrame({"x": x, "z": z, "ret": ret}, index=index)
    if with_vol:
        X["vol_20"] = pd.Series(np.abs(ret)).rolling(20, min_periods=1).mean().to_numpy()
    t1 = pd.Series(index + pd.Timedelta("1D"), index=index)
    return X, pd.Series(y, index=index), t1, regime


def _ceiling(X: pd.DataFrame, y: pd.Series, regime: np.ndarray, cv: Any) -> float:
    """A logistic model per regime with the true regime known (no model has it)."""
    scores = []
    for train, test in cv.split(X):
        proba = np.zeros(len(test))
        for r in (0, 1):
            fit_rows, test_rows = train[regime[train] == r], test[regime[test] == r]
            if not test_rows.size:
                continue
            model = LogisticRegression().fit(X.iloc[fit_rows], y.iloc[fit_rows])
            proba[regime[test] == r] = model.predict_proba(X.iloc[test_rows])[:, 1]
        scores.append(roc_auc_score(y.iloc[test], proba))
    return float(np.mean(scores))


def synthetic(n: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    rows: list[dict[str, Any]] = []
    means: dict[str, dict[str, float]] = {}
    for world, with_vol in (("A: regime in returns only", False), ("B: + vol_20 column", True)):
        X, y, t1, regime = regime_world(n, with_vol=with_vol)
        cv = PurgedKFold(5, t1=t1, embargo=1)
        logistic = make_model("logistic", "classification")
        xgb = make_model("xgboost", "classification", {"n_estimators": 200}, random_state=SEED)
        models: dict[str, Any] = {
            "logistic alone": logistic,
            "xgboost alone": xgb,
            "regime markov(ret, filtered) x logistic": RegimeEnsemble(
                [("lr", logistic)], method="markov", features=["ret"], min_dwell=3
            ),
        }
        if with_vol:
            models["regime volatility(vol_20) x logistic"] = RegimeEnsemble(
                [("lr", logistic)], method="volatility", features=["vol_20"], min_dwell=5
            )
        means[world] = {}
        for name, model in models.items():
            start = time.perf_counter()
            result = cross_validate(model, X, y, cv=cv, t1=t1, scoring=["roc_auc", "accuracy"])
            means[world][name] = float(result.folds["roc_auc"].mean())
            rows.append(
                {
                    "world": world,
                    "model": name,
                    "roc_auc": means[world][name],
                    "accuracy": float(result.folds["accuracy"].mean()),
                    "seconds": time.perf_counter() - start,
                }
            )
        means[world]["true regime known (ceiling)"] = _ceiling(X, y, regime, cv)
        rows.append(
            {
                "world": world,
                "model": "true regime known (ceiling)",
                "roc_auc": means[world]["true regime known (ceiling)"],
                "accuracy": float("nan"),
                "seconds": float("nan"),
            }
        )
    return rows, means


def _timed(fn: Any, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def cost(quick: bool, repeats: int) -> dict[str, Any]:
    plan = Plan.from_config(
        _config("classification", {"combine": "stack", "meta": {"n_splits": 3}}, quick)
    )
    X, y = plan.dataset.X, plan.dataset.y
    stack = plan.model()
    members = stack.estimators
    member_times: dict[str, list[float]] = {name: [] for name, _ in members}
    stack_times: list[float] = []
    for _ in range(repeats):  # alternating: each member, then the stack, per repeat
        for name, member in members:
            member_times[name] += _timed(lambda m=member: clone(m).fit(X, y), 1)
        stack_times += _timed(lambda: clone(stack).fit(X, y), 1)
    fitted = clone(stack).fit(X, y)
    composite = fitted.composite_
    positions = range(0, min(len(X), 2000), 10)
    # one-row calls, alternating the stack and each member row by row (A/B on the same
    # load); every call gets a fresh one-row frame, as a live prediction does (pandas
    # caches some conversions on a frame, which would favour whoever comes second)
    models = {"stack": composite, **fitted.members_}
    latencies: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(3):
        for i in positions:
            for name, model in models.items():
                row = X.iloc[[i]]
                start = time.perf_counter()
                model.predict_proba(row)
                latencies[name].append(time.perf_counter() - start)
    member_latency = {
        name: statistics.median(values) for name, values in latencies.items() if name != "stack"
    }
    slowest = max(member_latency, key=member_latency.__getitem__)
    member_sum = sum(statistics.median(t) for t in member_times.values())
    return {
        "rows": len(X),
        "member_fit": {name: statistics.median(t) for name, t in member_times.items()},
        "member_sum": member_sum,
        "stack_fit": statistics.median(stack_times),
        "stack_spread": (min(stack_times), max(stack_times)),
        "inner": stack.cv,
        "stack_latency": statistics.median(latencies["stack"]),
        "stack_min": min(latencies["stack"]),
        "member_min": {k: min(v) for k, v in latencies.items() if k != "stack"},
        "member_latency": member_latency,
        "slowest": slowest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    quick = args.quick
    repeats = 1 if quick else args.repeats

    print("1. real data: ensemble vs best member vs equal-weight average, same purged folds")
    table = pd.DataFrame(real_data(quick))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    n = 1500 if quick else 5000
    print(f"\n2. synthetic regime world, n={n}, purged 5-fold, roc_auc")
    rows, means = synthetic(n)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    world_a = means["A: regime in returns only"]
    single = max(world_a["logistic alone"], world_a["xgboost alone"])
    switched = world_a["regime markov(ret, filtered) x logistic"]

    print(f"\n3. cost (median of {repeats}; one-row predict_proba, median)")
    c = cost(quick, repeats)
    members = ", ".join(f"{k} {v:.2f} s" for k, v in c["member_fit"].items())
    print(f"  rows {c['rows']}; member fits: {members}; sum {c['member_sum']:.2f} s")
    lo, hi = c["stack_spread"]
    print(
        f"  stack fit {c['stack_fit']:.2f} s ({lo:.2f}-{hi:.2f}), inner {c['inner']!r:.60}: "
        f"{c['stack_fit'] / c['member_sum']:.1f}x the members' sum (floor 1x + inner folds)"
    )
    latency = ", ".join(f"{k} {v * 1e6:.0f} us" for k, v in c["member_latency"].items())
    floor = sum(c["member_latency"].values())
    print(
        f"  predict per row, median: stack {c['stack_latency'] * 1e6:.0f} us | members {latency} "
        f"({c['stack_latency'] / c['member_latency'][c['slowest']]:.1f}x the slowest, "
        f"{c['slowest']}) | floor: the members' sum {floor * 1e6:.0f} us"
    )
    fastest = sum(c["member_min"].values())
    print(
        f"  predict per row, fastest call (no preemption on this shared machine): stack "
        f"{c['stack_min'] * 1e6:.0f} us | members' sum {fastest * 1e6:.0f} us "
        f"({c['stack_min'] / fastest:.2f}x) | slowest member "
        f"{c['member_min'][c['slowest']] * 1e6:.0f} us "
        f"({c['stack_min'] / c['member_min'][c['slowest']]:.1f}x)"
    )
    sp = table[(table["data"] == "sp500") & (table["ensemble"] == "stack (weights)")].iloc[0]
    print(
        f"\nensembles: regime world roc_auc switching {switched:.3f} vs best single "
        f"{single:.3f} (ceiling {world_a['true regime known (ceiling)']:.3f}); sp500 stack "
        f"{sp['score']:.4f} vs best member {sp['best member']}; stack fit "
        f"{c['stack_fit'] / c['member_sum']:.1f}x members, predict "
        f"{c['stack_min'] / c['member_min'][c['slowest']]:.1f}x slowest member "
        f"({c['stack_min'] / sum(c['member_min'].values()):.2f}x the members' sum)"
    )


if __name__ == "__main__":
    main()
