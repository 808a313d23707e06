"""Benchmark of mltrainer.online: prequential learning, one-row predictions, buffer, per bar.

Usage::

    python benchmarks/bench_online.py            # 200,000 rows x 20 features (the issue's sizes)
    python benchmarks/bench_online.py --quick    # 20,000 rows, for a smoke run

Compared side by side in one run (median of ``--repeats`` rounds, min-max; the contenders
of section 1 run one after another in every round, ratios are medians over rounds):

1. Prequential predict-then-learn on a logistic stream (rows/s): mltrainer's ``LinearSGD``
   (scikit-learn's SGD step) one row at a time and in batches of 256, against River
   ``LogisticRegression`` (``predict_proba_one`` + ``learn_one``, and ``learn_many`` /
   ``predict_proba_many`` on 256-row frames) and scikit-learn ``SGDClassifier.partial_fit``
   (one row: timed on a subset and scaled; and 256-row batches). River gets its rows as
   dicts prepared before the clock starts. Checked first: mltrainer's weights equal
   ``partial_fit``'s row by row. Floor: one BLAS dot product per row.
2. One-row predict latency p50/p99 (us): a linear pipeline (scaler folded in) against
   ``predict_proba`` and a bare NumPy dot; a 200-tree XGBoost model flattened into arrays
   against ``inplace_predict`` and ``predict_proba``; outputs checked to 1e-6.
3. Ring-buffer appends of a 20-float row at capacity 10,000 (appends/s), against
   ``list.pop(0)`` + ``append`` and ``deque(maxlen)``, with the time of an ordered snapshot.
4. End to end per bar (features + predict + pending join + labels + update), p50/p99, on a
   replay of the S&P 500 2015-2018 by an SGD and an XGBoost model trained on 1999-2014:
   the replay path (features computed in batch) and the live path (features from the
   bounded history on each bar).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

RNG_SEED = 20261202


def timed(func: Callable[[], Any], repeats: int) -> tuple[float, float, float, Any]:
    """Median, min and max wall time of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), result


def alternate(
    contenders: dict[str, Callable[[], Any]], repeats: int
) -> dict[str, tuple[float, float, float, Any]]:
    """Time every contender once per round, ``repeats`` rounds (load shifts hit all alike).

    Returns each contender's median, min and max time and its last result; the times of
    every round are kept in :data:`ROUNDS` for :func:`round_ratio`.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    last: dict[str, Any] = {}
    for _ in range(repeats):
        for name, func in contenders.items():
            start = time.perf_counter()
            last[name] = func()
            times[name].append(time.perf_counter() - start)
    ROUNDS.clear()
    ROUNDS.update(times)
    return {name: (statistics.median(t), min(t), max(t), last[name]) for name, t in times.items()}


ROUNDS: dict[str, list[float]] = {}


def round_ratio(slow: str, fast: str, rows_slow: int, rows_fast: int) -> float:
    """Median over rounds of (rows/s of ``fast``) / (rows/s of ``slow``)."""
    ratios = [
        (rows_fast / f) / (rows_slow / s) for s, f in zip(ROUNDS[slow], ROUNDS[fast], strict=True)
    ]
    return statistics.median(ratios)


def percentiles(func: Callable[[], Any], n: int) -> tuple[float, float]:
    """p50 and p99 in microseconds of ``n`` calls (after a warm-up)."""
    for _ in range(min(100, n)):
        func()
    samples = np.empty(n)
    clock = time.perf_counter
    for i in range(n):
        start = clock()
        func()
        samples[i] = clock() - start
    return float(np.percentile(samples, 50) * 1e6), float(np.percentile(samples, 99) * 1e6)


def stream(n: int, d: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A logistic stream whose coefficients rotate halfway (a concept drift)."""
    rng = np.random.default_rng(RNG_SEED)
    X = rng.normal(size=(n, d))
    beta = rng.normal(size=d)
    drifted = np.where(np.arange(n)[:, None] < n // 2, beta, np.roll(beta, 3))
    p = 1.0 / (1.0 + np.exp(-(X * drifted).sum(axis=1)))
    return X, (rng.random(n) < p).astype(np.int64)


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    q = np.clip(np.where(y == 1, p, 1.0 - p), 1e-15, 1.0)
    return float(-np.log(q).mean())


# -- 1. prequential ------------------------------------------------------------------------
def start_model(X: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01, alpha=1e-4)
    model.partial_fit(X, y, classes=[0, 1])  # the same first rows every contender learns
    return model


def ours_per_row(model: Any, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, Any]:
    from mltrainer.online import LinearSGD

    engine = LinearSGD(model)
    out = np.empty(len(y))
    predict, learn = engine.predict_row, engine.learn_one
    for i in range(len(y)):
        x = X[i]
        out[i] = predict(x)[1]
        learn(x, y[i])
    return out, engine


def ours_batches(model: Any, X: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    from mltrainer.online import LinearSGD

    engine = LinearSGD(model)
    out = np.empty(len(y))
    for start in range(0, len(y), size):
        stop = start + size
        raw = engine.decision_batch(X[start:stop])
        out[start:stop] = 1.0 / (1.0 + np.exp(-raw))
        engine.learn_many(X[start:stop], y[start:stop])
    return out


def river_model(rows: list[dict[str, float]], y: np.ndarray, warm: int) -> Any:
    from river import linear_model, optim

    model = linear_model.LogisticRegression(optimizer=optim.SGD(0.01), l2=1e-4)
    for x, target in zip(rows[:warm], y[:warm].tolist(), strict=True):
        model.learn_one(x, bool(target))
    return model


def river_per_row(model: Any, rows: list[dict[str, float]], y: list[bool]) -> np.ndarray:
    out = np.empty(len(y))
    predict, learn = model.predict_proba_one, model.learn_one
    for i, (x, target) in enumerate(zip(rows, y, strict=True)):
        out[i] = predict(x)[True]
        learn(x, target)
    return out


def river_batches(model: Any, frames: list[pd.DataFrame], targets: list[pd.Series]) -> np.ndarray:
    out = []
    for frame, target in zip(frames, targets, strict=True):
        out.append(model.predict_proba_many(frame)[True].to_numpy())
        model.learn_many(frame, target)
    return np.concatenate(out)


def sklearn_per_row(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.empty(len(y))
    for i in range(len(y)):
        out[i] = model.predict_proba(X[i : i + 1])[0, 1]
        model.partial_fit(X[i : i + 1], y[i : i + 1])
    return out


def sklearn_batches(model: Any, X: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(len(y))
    for start in range(0, len(y), size):
        stop = start + size
        out[start:stop] = model.predict_proba(X[start:stop])[:, 1]
        model.partial_fit(X[start:stop], y[start:stop])
    return out


def dot_floor(w: np.ndarray, X: np.ndarray) -> None:
    from scipy.linalg.blas import ddot

    for i in range(X.shape[0]):
        ddot(X[i], w)


def prequential(n: int, repeats: int) -> tuple[list[tuple[str, Any, str]], dict[str, float]]:
    warm, size = 1000, 256
    X, y = stream(n + warm)
    X_warm, y_warm, X, y = X[:warm], y[:warm], X[warm:], y[warm:]
    base = start_model(X_warm, y_warm)
    names = [f"f{i:02d}" for i in range(X.shape[1])]

    # same thing computed: our steps are partial_fit's steps
    check = 2000
    reference = copy.deepcopy(base)
    sklearn_per_row(reference, X[:check], y[:check])
    _, engine = ours_per_row(base, X[:check], y[:check])
    gap = float(np.abs(engine.to_estimator().coef_ - reference.coef_).max())
    if not gap < 1e-9:
        raise SystemExit(f"LinearSGD disagrees with partial_fit by {gap:.2e}")

    rows_all = [dict(zip(names, r, strict=True)) for r in np.vstack([X_warm, X]).tolist()]
    rows, y_bool = rows_all[warm:], [bool(v) for v in y.tolist()]
    frames = [pd.DataFrame(X[s : s + size], columns=names) for s in range(0, n, size)]
    targets = [pd.Series(y[s : s + size].astype(bool)) for s in range(0, n, size)]

    subset = min(n, 4000)
    contenders = {
        "ours": lambda: ours_per_row(base, X, y)[0],
        "river": lambda: river_per_row(river_model(rows_all, y, warm), rows, y_bool),
        "sk": lambda: sklearn_per_row(copy.deepcopy(base), X[:subset], y[:subset]),
        "ours_b": lambda: ours_batches(base, X, y, size),
        "river_b": lambda: river_batches(river_model(rows_all, y, warm), frames, targets),
        "sk_b": lambda: sklearn_batches(copy.deepcopy(base), X, y, size),
        "floor": lambda: dot_floor(base.coef_[0].copy(), X),
    }
    runs = alternate(contenders, repeats)
    ours, river, sk = runs["ours"], runs["river"], runs["sk"]
    ours_b, river_b, sk_b, floor = runs["ours_b"], runs["river_b"], runs["sk_b"], runs["floor"]

    def rate(t: tuple[float, float, float, Any], rows_done: int = n) -> str:
        low, high = rows_done / t[2] / 1e3, rows_done / t[1] / 1e3
        return f"{rows_done / t[0] / 1e3:9.1f}k ({low:.1f}-{high:.1f})"

    losses = {
        "mltrainer": log_loss(ours[3], y),
        "mltrainer batch": log_loss(ours_b[3], y),
        "river": log_loss(river[3], y),
        "river batch": log_loss(river_b[3], y),
        "sklearn batch": log_loss(sk_b[3], y),
    }
    table = [
        ("mltrainer LinearSGD, per row", rate(ours), f"log loss {losses['mltrainer']:.4f}"),
        ("River LogisticRegression, per row", rate(river), f"log loss {losses['river']:.4f}"),
        (f"sklearn partial_fit, per row ({subset:,} rows)", rate(sk, subset), ""),
        (
            f"mltrainer LinearSGD, batches of {size}",
            rate(ours_b),
            f"log loss {losses['mltrainer batch']:.4f}",
        ),
        (
            f"River learn_many, batches of {size}",
            rate(river_b),
            f"log loss {losses['river batch']:.4f}",
        ),
        (
            f"sklearn partial_fit, batches of {size}",
            rate(sk_b),
            f"log loss {losses['sklearn batch']:.4f}",
        ),
        ("floor: one BLAS dot per row", rate(floor), ""),
    ]
    figures = {
        "vs_river": round_ratio("river", "ours", n, n),
        "vs_sklearn": round_ratio("sk", "ours", subset, n),
        "b_vs_river": round_ratio("river_b", "ours_b", n, n),
        "b_vs_sklearn": round_ratio("sk_b", "ours_b", n, n),
        "ours": n / ours[0],
        "river": n / river[0],
        "sklearn": subset / sk[0],
        "ours_b": n / ours_b[0],
        "river_b": n / river_b[0],
        "sklearn_b": n / sk_b[0],
        "gap": gap,
    }
    return table, figures


# -- 2. one-row latency ----------------------------------------------------------------------
def latency(n_calls: int) -> tuple[list[tuple[str, str, str]], dict[str, float]]:
    import xgboost as xgb

    from mltrainer.models import make_model
    from mltrainer.online import FlatTrees, LinearPredictor

    rng = np.random.default_rng(RNG_SEED)
    X = rng.normal(size=(5000, 20))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=5000) > 0).astype(int)
    linear = make_model("logistic", "classification").fit(X, y)
    folded = LinearPredictor(linear)
    trees = xgb.XGBClassifier(
        n_estimators=200, max_depth=3, learning_rate=0.05, n_jobs=1, subsample=0.8
    ).fit(X, y)
    flat = FlatTrees(trees)
    booster = trees.get_booster()
    probe = X[:1000]
    lin_gap = float(
        np.abs(np.array([folded.predict_row(x) for x in probe]) - linear.predict_proba(probe)).max()
    )
    xgb_gap = float(
        np.abs(np.array([flat.predict_row(x) for x in probe]) - trees.predict_proba(probe)).max()
    )
    if not (lin_gap < 1e-6 and xgb_gap < 1e-6):
        raise SystemExit(f"one-row outputs differ: linear {lin_gap:.1e}, xgboost {xgb_gap:.1e}")
    x, row = X[7], X[7:8]
    w = folded.coef[0].copy()
    cases = [
        (
            "linear: mltrainer LinearPredictor",
            lambda: folded.predict_row(x),
            f"max |diff| {lin_gap:.1e}",
        ),
        ("linear: sklearn predict_proba", lambda: linear.predict_proba(row), ""),
        ("linear floor: numpy dot", lambda: x @ w, ""),
        (
            "xgboost 200 trees: mltrainer FlatTrees",
            lambda: flat.predict_row(x),
            f"max |diff| {xgb_gap:.1e}",
        ),
        ("xgboost 200 trees: inplace_predict", lambda: booster.inplace_predict(row), ""),
        ("xgboost 200 trees: XGBClassifier.predict_proba", lambda: trees.predict_proba(row), ""),
    ]
    table, figures = [], {}
    for name, call, note in cases:
        p50, p99 = percentiles(call, n_calls)
        table.append((name, f"{p50:8.1f} / {p99:8.1f}", note))
        figures[name] = p50
    return table, figures


# -- 3. buffer -------------------------------------------------------------------------------
def buffer(n: int, repeats: int) -> tuple[list[tuple[str, str, str]], dict[str, float]]:
    from mltrainer.online import RingBuffer

    capacity, d = 10_000, 20
    rows = np.random.default_rng(RNG_SEED).normal(size=(n, d))

    def ring() -> RingBuffer:
        buf = RingBuffer(capacity, n_features=d)
        append = buf.append
        for i in range(n):
            append(rows[i], y=1.0, t0=i, t1=i)
        return buf

    def plain_list() -> list[np.ndarray]:
        items: list[np.ndarray] = [rows[0]] * capacity
        for i in range(n):
            items.pop(0)
            items.append(rows[i])
        return items

    def bounded_deque() -> deque[np.ndarray]:
        items: deque[np.ndarray] = deque(maxlen=capacity)
        for i in range(n):
            items.append(rows[i])
        return items

    results = {}
    table = []
    for name, make in (("mltrainer RingBuffer.append", ring), ("list.pop(0) + append", plain_list),
                       ("deque(maxlen).append", bounded_deque)):  # fmt: skip
        t = timed(make, repeats)
        kept = t[3]
        snap = timed(
            (lambda b=kept: b.snapshot())
            if name.startswith("mltrainer")
            else (lambda b=kept: np.vstack(list(b))),
            repeats,
        )
        results[name] = n / t[0]
        table.append(
            (name, f"{n / t[0] / 1e6:6.2f}M/s", f"ordered snapshot {snap[0] * 1e3:.2f} ms")
        )
    return table, results


# -- 4. end to end -----------------------------------------------------------------------------
def end_to_end(quick: bool) -> list[tuple[str, str, str]]:
    from mltrainer.config import config_from_dict
    from mltrainer.data import load_bars
    from mltrainer.online import StreamProcessor, replay
    from mltrainer.pipeline import Trainer
    from mltrainer.registry import load_model

    bars = load_bars("sp500")
    start = "2015-01-01"
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for model_type, params in (("sgd", {}), ("xgboost", {"n_estimators": 200})):
            config = config_from_dict(
                {
                    "name": f"bench-{model_type}",
                    "data": {"source": "sp500", "end": "2014-12-31"},
                    "model": {"type": model_type, "params": params},
                    "cv": {"n_splits": 3},
                    "registry": {"root": f"{tmp}/models"},
                    "store": {"url": f"sqlite:///{tmp}/store.db"},
                }
            )
            Trainer(config).run()
            model = load_model(f"bench-{model_type}", root=f"{tmp}/models")
            result = replay(StreamProcessor(model), bars, start=start)
            lat = result.latency_us
            loss = result.metrics["prequential.log_loss_total"]
            table.append(
                (
                    f"replay, {model_type} ({result.bars} bars)",
                    f"{lat['p50']:8.0f} / {lat['p99']:8.0f}",
                    f"prequential log loss {loss:.4f}",
                )
            )
            live = StreamProcessor(model)
            history = bars.loc[bars.index < start]
            live.prime(history)
            stream_bars = bars.loc[bars.index >= start].iloc[: 200 if quick else None]
            samples = []
            for stamp, row in stream_bars.iterrows():
                bar = {"timestamp": stamp, **row.to_dict()}
                t0 = time.perf_counter()
                live.process(bar)
                samples.append(time.perf_counter() - t0)
            us = np.asarray(samples) * 1e6
            p50, p99 = np.percentile(us, 50), np.percentile(us, 99)
            table.append(
                (
                    f"live path, {model_type} ({len(us)} bars)",
                    f"{p50:8.0f} / {p99:8.0f}",
                    "features from the bounded history each bar",
                )
            )
    return table


def show(title: str, header: tuple[str, str, str], rows: list[tuple[str, Any, str]]) -> None:
    print(f"\n{title}")
    print(f"{header[0]:<52} {header[1]:>26}  {header[2]}")
    for name, value, note in rows:
        print(f"{name:<52} {value!s:>26}  {note}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print tables and one quotable line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows instead of 200,000")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per throughput figure")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    n = 20_000 if args.quick else 200_000
    repeats = 1 if args.quick else args.repeats

    pre_table, pre = prequential(n, repeats)
    show(f"1. prequential predict-then-learn, {n:,} rows x 20 features (median of {repeats})",
         ("contender", "rows/s (min-max)", "check"), pre_table)  # fmt: skip
    print(f"   check: LinearSGD weights equal partial_fit row by row to {pre['gap']:.1e}")
    print(
        f"   per-round ratios (median): per row {pre['vs_river']:.1f}x River, "
        f"{pre['vs_sklearn']:.0f}x sklearn; batches {pre['b_vs_river']:.1f}x River, "
        f"{pre['b_vs_sklearn']:.1f}x sklearn"
    )
    lat_table, lat = latency(2000 if args.quick else 20000)
    show("2. one-row predict latency", ("contender", "p50 / p99 us", "check"), lat_table)
    buf_table, buf = buffer(200_000 if args.quick else 1_000_000, repeats)
    show(
        "3. ring buffer, 20-float rows at capacity 10,000",
        ("contender", "appends/s", ""),
        buf_table,
    )
    e2e = end_to_end(args.quick)
    show("4. end to end per bar, S&P 500 2015-2018", ("path", "p50 / p99 us", ""), e2e)
    print(
        f"\nonline n={n:,}x20: per row mltrainer {pre['ours'] / 1e3:.0f}k rows/s | River "
        f"{pre['river'] / 1e3:.0f}k ({pre['vs_river']:.1f}x) | sklearn "
        f"{pre['sklearn'] / 1e3:.2f}k ({pre['vs_sklearn']:.0f}x); batch 256 "
        f"{pre['ours_b'] / 1e3:.0f}k | River {pre['river_b'] / 1e3:.0f}k "
        f"({pre['b_vs_river']:.1f}x) | sklearn {pre['sklearn_b'] / 1e3:.0f}k "
        f"({pre['b_vs_sklearn']:.1f}x); predict p50 linear "
        f"{lat['linear: mltrainer LinearPredictor']:.1f} us, xgboost-200 "
        f"{lat['xgboost 200 trees: mltrainer FlatTrees']:.1f} us (inplace_predict "
        f"{lat['xgboost 200 trees: inplace_predict']:.0f} us); buffer "
        f"{buf['mltrainer RingBuffer.append'] / 1e6:.2f}M appends/s (list.pop(0) "
        f"{buf['list.pop(0) + append'] / 1e6:.2f}M)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
