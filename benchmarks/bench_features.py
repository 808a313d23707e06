"""Benchmark of mltrainer.features.compute_features.

Usage::

    python benchmarks/bench_features.py            # 1,000,000 bars x 30 columns
    python benchmarks/bench_features.py --quick    # 20,000 bars, for a smoke run

Compared side by side in one run (median of ``--repeats`` runs, min-max):

- mltrainer on one instrument, and on a panel of 10 symbols with the same number of bars;
- a floor: one ``np.log(close)`` plus one ``rolling(20).mean()`` pass, times the number of
  columns (what one cheap vectorised pass per column costs);
- a naive peer: Wilder RSI written as a Python function under
  ``pandas.Series.rolling(...).apply(func, raw=True)`` over a trailing window of
  the 96 bars ``rsi_14`` reads (a 14-change seed and 81 smoothing steps: the fixed window of
  mltrainer's exponential averages), timed on a subset and scaled to all bars and all
  columns. Before comparing, the script checks that it equals mltrainer's ``rsi_14``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.features import (
    compute_features,
    default_feature_spec,
    feature_columns,
    history_length,
)

RSI_WINDOW = 14
NAIVE_SPAN = history_length([{"name": "rsi", "window": RSI_WINDOW}])  # 96 closes


def bench_spec() -> list[dict[str, Any]]:
    """The default daily spec (22 columns) extended to 30 columns."""
    return [
        *default_feature_spec(),
        {"name": "log_return", "windows": [10]},
        {"name": "rsi", "window": 7},
        {"name": "volatility", "windows": [10]},
        {"name": "ma_zscore", "windows": [20]},
        {"name": "range", "windows": [20, 60]},
        {"name": "stochastic", "window": 5},
        {"name": "atr", "window": 5},
    ]


def make_bars(n: int, *, n_symbols: int = 1, seed: int = 0) -> pd.DataFrame:
    """``n`` OHLC-consistent random-walk bars; a panel sorted by (timestamp, symbol)."""
    rng = np.random.default_rng(seed)
    per_symbol = n // n_symbols
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (n_symbols, per_symbol)), axis=1))
    open_ = close * np.exp(rng.normal(0.0, 0.002, close.shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.004, close.shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.004, close.shape)))
    volume = rng.lognormal(10.0, 1.0, close.shape)
    times = pd.date_range("2000-01-03", periods=per_symbol, freq="min", tz="UTC")
    data = {
        "open": open_.T.ravel(),
        "high": high.T.ravel(),
        "low": low.T.ravel(),
        "close": close.T.ravel(),
        "volume": volume.T.ravel(),
    }
    index = times.repeat(n_symbols).rename("timestamp")
    bars = pd.DataFrame(data, index=index)
    if n_symbols > 1:
        bars.insert(0, "symbol", np.tile([f"S{k:02d}" for k in range(n_symbols)], per_symbol))
    return bars


def timed(func: Callable[[], Any], repeats: int) -> tuple[float, float, float, Any]:
    """Median, min and max wall time of ``repeats`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), result


def naive_rsi(window: np.ndarray) -> float:
    """Wilder RSI of the last bar, recomputed from scratch over the window (a Python loop)."""
    gain = loss = 0.0
    for i in range(1, RSI_WINDOW + 1):
        change = window[i] - window[i - 1]
        gain += max(change, 0.0)
        loss += max(-change, 0.0)
    gain /= RSI_WINDOW
    loss /= RSI_WINDOW
    for i in range(RSI_WINDOW + 1, len(window)):
        change = window[i] - window[i - 1]
        gain = (gain * (RSI_WINDOW - 1) + max(change, 0.0)) / RSI_WINDOW
        loss = (loss * (RSI_WINDOW - 1) + max(-change, 0.0)) / RSI_WINDOW
    return 100.0 * gain / (gain + loss) if gain + loss > 0 else float("nan")


def floor(close: np.ndarray, n_columns: int) -> None:
    """One log pass and one rolling-mean pass per output column."""
    series = pd.Series(close)
    for _ in range(n_columns):
        np.log(close)
        series.rolling(20).mean()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table and one quotable line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 bars instead of 1,000,000")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 1_000_000
    subset = 2_000 if args.quick else 20_000
    spec = bench_spec()
    n_cols = len(feature_columns(spec))
    bars = make_bars(n)
    panel = make_bars(n, n_symbols=10, seed=1)

    ours = timed(lambda: compute_features(bars, spec), args.repeats)
    ours_panel = timed(lambda: compute_features(panel, spec), args.repeats)
    close = bars["close"].to_numpy()
    base = timed(lambda: floor(close, n_cols), args.repeats)

    head = pd.Series(close[:subset])
    naive = timed(
        lambda: head.rolling(NAIVE_SPAN).apply(naive_rsi, raw=True).to_numpy(), args.repeats
    )
    reference = ours[3][f"rsi_{RSI_WINDOW}"].to_numpy()[:subset]
    gap = float(np.nanmax(np.abs(naive[3] - reference)[NAIVE_SPAN - 1 :]))
    if not gap < 1e-8:
        raise SystemExit(f"naive RSI disagrees with mltrainer by {gap:.4f} RSI points")
    scale = (n / subset) * n_cols
    naive_scaled = tuple(t * scale for t in naive[:3])

    rows = [
        (f"mltrainer, 1 instrument, {n:,} bars x {n_cols} cols", ours[:3]),
        (f"mltrainer, panel 10 symbols x {n // 10:,} bars", ours_panel[:3]),
        (f"floor: (log + rolling(20).mean) x {n_cols}", base[:3]),
        (f"naive rolling.apply RSI, {subset:,} bars x {scale:,.0f}", naive_scaled),
    ]
    print(f"{'case':<56} {'median s':>10} {'min-max s':>20}")
    for label, (med, lo, hi) in rows:
        print(f"{label:<56} {med:>10.3f} {f'{lo:.3f}-{hi:.3f}':>20}")
    print(f"naive RSI agrees with rsi_14 to {gap:.2e} RSI points on {subset:,} bars")
    print(
        f"features n={n:,} x {n_cols} cols: mltrainer {ours[0]:.2f} s "
        f"(panel {ours_panel[0]:.2f} s) | naive rolling.apply {naive_scaled[0]:.0f} s "
        f"({naive_scaled[0] / ours[0]:.0f}x) | floor {base[0]:.2f} s "
        f"({ours[0] / base[0]:.1f}x floor)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
