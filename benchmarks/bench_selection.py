"""Benchmark of mltrainer.selection: out-of-fold permutation importance beside scikit-learn.

Usage::

    python benchmarks/bench_selection.py            # 5,000 rows x 50 features, 200 trees
    python benchmarks/bench_selection.py --quick    # 1,000 rows x 20 features, a smoke run

The same work on both sides: for each of 5 purged folds (``PurgedKFold``, 5-day labels,
5-day embargo) fit an XGBoost classifier (200 trees, depth 3, ``--threads`` threads,
default 2) on the training fold, then permute each of the 50 features 5 times on the
test fold and score ``neg_log_loss``. scikit-learn's side calls
``sklearn.inspection.permutation_importance`` on each fitted fold model (the same folds,
the same ``random_state``); mltrainer's side is one call of
``mltrainer.selection.permutation_importance``. Both run with ``n_jobs=None`` (XGBoost's
own threads only). Before timing, the script checks that both give the same mean
importances (they use the same permutations; tolerance 1e-5, float32 probabilities).
The floor is fitting the 5 fold models alone, which any out-of-fold method must do.
Reported: median of ``--repeats`` runs (min-max), alternating the two sides.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import clone
from sklearn.inspection import permutation_importance as sk_permutation_importance

from mltrainer.cv import PurgedKFold
from mltrainer.selection import permutation_importance

N_SPLITS = 5
N_REPEATS = 5
SEED = 0


def make_data(n: int, p: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Daily rows: 8 informative features, 8 redundant mixes of them, the rest noise."""
    rng = np.random.default_rng(seed)
    informative = rng.normal(size=(n, 8))
    redundant = informative @ (np.eye(8) + 0.3 * np.roll(np.eye(8), 1, axis=1))
    redundant += 0.6 * rng.normal(size=(n, 8))
    noise = rng.normal(size=(n, p - 16))
    index = pd.date_range("2000-01-01", periods=n, freq="D", tz="UTC")
    columns = [f"f{i:02d}" for i in range(p)]
    X = pd.DataFrame(np.hstack([informative, redundant, noise]), columns=columns, index=index)
    logit = informative @ np.linspace(1.0, 0.6, 8)
    y = pd.Series((logit + 0.7 * rng.logistic(size=n) > 0).astype(int), index=index)
    t1 = pd.Series(index + pd.Timedelta("5D"), index=index)
    return X, y, t1


def ours(model: Any, X: pd.DataFrame, y: pd.Series, cv: PurgedKFold) -> pd.Series:
    result = permutation_importance(model, X, y, cv=cv, n_repeats=N_REPEATS, random_state=SEED)
    return result.mean[X.columns]


def sklearn_side(model: Any, X: pd.DataFrame, y: pd.Series, cv: PurgedKFold) -> pd.Series:
    means = []
    for train, test in cv.split(X):
        fitted = clone(model).fit(X.iloc[train], y.iloc[train])
        result = sk_permutation_importance(
            fitted,
            X.iloc[test],
            y.iloc[test],
            scoring="neg_log_loss",
            n_repeats=N_REPEATS,
            random_state=SEED,
        )
        means.append(result.importances_mean)
    return pd.Series(np.mean(means, axis=0), index=X.columns)


def floor(model: Any, X: pd.DataFrame, y: pd.Series, cv: PurgedKFold) -> None:
    for train, _ in cv.split(X):
        clone(model).fit(X.iloc[train], y.iloc[train])


def timed(func: Callable[[], Any]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per side")
    parser.add_argument("--threads", type=int, default=2, help="XGBoost n_jobs (default 2)")
    args = parser.parse_args()
    n, p, trees = (1000, 20, 50) if args.quick else (5000, 50, 200)
    repeats = args.repeats or (2 if args.quick else 3)
    X, y, t1 = make_data(n, p)
    cv = PurgedKFold(N_SPLITS, t1=t1, embargo=pd.Timedelta("5D"))
    model = xgb.XGBClassifier(
        n_estimators=trees, max_depth=3, learning_rate=0.1, n_jobs=args.threads, random_state=SEED
    )

    a, b = ours(model, X, y, cv), sklearn_side(model, X, y, cv)
    diff = float(np.max(np.abs(a - b)))
    assert diff < 1e-5, f"mltrainer and scikit-learn disagree: max |diff| = {diff:.2e}"
    top = list(a.sort_values(ascending=False).index[:8])
    print(f"check: same mean importances (max |diff| {diff:.1e}); top 8 {top}")

    times: dict[str, list[float]] = {"mltrainer": [], "sklearn": [], "floor": []}
    for _ in range(repeats):  # alternate the sides
        times["mltrainer"].append(timed(lambda: ours(model, X, y, cv)))
        times["sklearn"].append(timed(lambda: sklearn_side(model, X, y, cv)))
        times["floor"].append(timed(lambda: floor(model, X, y, cv)))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{'contender':<12}{'median s':>10}{'min-max s':>16}{'ratio':>9}")
    for name, values in times.items():
        spread = f"{min(values):.2f}-{max(values):.2f}"
        ratio = med[name] / med["mltrainer"]
        print(f"{name:<12}{med[name]:>10.2f}{spread:>16}{ratio:>8.1f}x")
    print(
        f"OOF permutation importance {p} features x {N_REPEATS} repeats x {N_SPLITS} purged "
        f"folds, n={n}, XGBoost {trees} trees ({args.threads} threads): "
        f"mltrainer {med['mltrainer']:.2f} s | "
        f"sklearn {med['sklearn']:.2f} s ({med['sklearn'] / med['mltrainer']:.1f}x) | "
        f"floor (fits only) {med['floor']:.2f} s"
    )


if __name__ == "__main__":
    main()
