"""Benchmark of mltrainer.cv: producing every split, beside skfolio, purgedcv and sklearn.

Usage (the peers live only in the benchmark environment, see requirements.txt)::

    python -m venv .venv-bench && .venv-bench/bin/pip install -e . -r benchmarks/requirements.txt
    .venv-bench/bin/python benchmarks/bench_cv.py              # n = 1,000,000 rows
    .venv-bench/bin/python benchmarks/bench_cv.py --quick      # n = 20,000, a smoke run
    .venv-bench/bin/python benchmarks/bench_cv.py --skip-purgedcv   # without the slow peer

Data: one row per minute, overlapping labels of 1..50 minutes (plus 30 s, so no label
ends exactly on a bar and closed/half-open interval conventions agree), embargo 30 min.
"Producing all splits" means iterating the generator to the end, every train and test
index array materialised. Reported per contender: median time over ``--repeats`` runs
(min-max), peak traced memory (tracemalloc, one extra run), ratio to mltrainer.

Checks before comparing: purgedcv (exact label-time purging, half-open intervals) must
yield the very same train and test sets as mltrainer; skfolio must yield the same test
sets, and the script counts the training rows it keeps although their label overlaps a
test label (it purges a fixed number of rows, not by label time). purgedcv is too slow to
repeat: it runs once, timed around its own ``next()`` calls, and its peak memory is
taken over its first 3 splits. The floor is writing the same index arrays with
``np.arange``. ``uniqueness_weights`` is timed beside the book's pandas loop.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import TimeSeriesSplit

from mltrainer.cv import CombinatorialPurgedKFold, PurgedKFold, uniqueness_weights

MAX_HORIZON = 50  # minutes
EMBARGO_MIN = 30


def make_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``n`` minute bars with labels ending 1..50 minutes (+30 s) later."""
    rng = np.random.default_rng(seed)
    t0 = pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC")
    minutes = rng.integers(1, MAX_HORIZON + 1, n)
    ends = t0 + pd.to_timedelta(minutes * 60 + 30, unit="s")
    return pd.DataFrame({"x": np.zeros(n)}, index=t0), pd.Series(ends, index=t0)


def drain(splits: Iterable[tuple[Any, Any]]) -> int:
    """Consume every split; return the number of splits."""
    count = 0
    for _ in splits:
        count += 1
    return count


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """Median, min and max wall time of ``run`` over ``repeats`` runs (after one warm-up)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def peak_mb(run: Callable[[], Any]) -> float:
    """Peak traced memory (MB) while ``run`` executes."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def skfolio_splits(cv: Any, X: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """skfolio yields (train, [test arrays]); flatten the tests for comparison."""
    for train, tests in cv.split(X):
        yield train, np.concatenate(tests)


def check_skfolio(ours: Any, theirs: Any, X: pd.DataFrame, t1: pd.Series) -> tuple[int, int, int]:
    """Same test sets; count skfolio's training rows that differ from mltrainer's.

    Returns (rows skfolio keeps whose label overlaps a test label, rows it keeps that
    mltrainer drops, rows it drops that break no rule), summed over splits.
    """
    t0_ns = X.index.as_unit("ns").asi8
    t1_ns = pd.DatetimeIndex(t1.array).as_unit("ns").asi8
    leaked = kept = dropped = 0
    for (train, test), (sk_train, sk_test) in zip(ours, theirs, strict=True):
        if not np.array_equal(np.sort(sk_test), test):
            raise AssertionError("skfolio and mltrainer test sets differ")
        mine = np.zeros(len(X), dtype=bool)
        mine[train] = True
        other = np.zeros(len(X), dtype=bool)
        other[sk_train] = True
        rows = np.flatnonzero(other & ~mine)
        dropped += int(np.count_nonzero(mine & ~other))
        kept += int(rows.size)
        # a kept row leaks if its span meets a test span: checked per test block
        edges = np.flatnonzero(np.diff(np.concatenate(([-2], test))) != 1)
        starts, stops = test[edges], np.append(test[edges[1:] - 1], test[-1])
        for a, b in zip(starts, stops, strict=True):
            m = t1_ns[a : b + 1].max()
            leaked += int(np.count_nonzero((t0_ns[rows] <= m) & (t1_ns[rows] >= t0_ns[a])))
    return leaked, kept, dropped


def run_purgedcv(ours: Any, theirs: Any) -> float:
    """Time purgedcv's own next() calls, checking each split against mltrainer's."""
    spent = 0.0
    iterator = iter(theirs)
    for train, test in ours:
        start = time.perf_counter()
        p_train, p_test = next(iterator)
        spent += time.perf_counter() - start
        if not (np.array_equal(p_test, test) and np.array_equal(np.sort(p_train), train)):
            raise AssertionError("purgedcv and mltrainer splits differ")
    return spent


def book_uniqueness(t0: pd.DatetimeIndex, t1: pd.Series) -> pd.Series:
    """AFML snippets 4.1 and 4.2 as mlfinlab writes them: pandas loops over events."""
    stamps = np.concatenate((t0.as_unit("ns").asi8, t1.array.as_unit("ns").asi8))
    bars = pd.DatetimeIndex(np.unique(stamps)).tz_localize("UTC")
    count = pd.Series(0, index=bars)
    for start, end in t1.items():
        count.loc[start:end] += 1
    weights = pd.Series(0.0, index=t1.index)
    for start, end in t1.items():
        weights.loc[start] = (1.0 / count.loc[start:end]).mean()
    return weights


def row(name: str, stats: tuple[float, float, float], mem: float, base: float) -> str:
    median, low, high = stats
    return (
        f"{name:<46} {median:>9.3f} s  ({low:.3f}-{high:.3f})  {mem:>8.1f} MB  "
        f"{median / base:>7.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 20,000 for a smoke run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-purgedcv", action="store_true", help="skip the slow peer")
    args = parser.parse_args()
    n = 20_000 if args.quick else 1_000_000
    X, t1 = make_data(n)
    embargo = pd.Timedelta(minutes=EMBARGO_MIN)
    pkf = PurgedKFold(10, t1=t1, embargo=embargo)
    cpcv = CombinatorialPurgedKFold(10, 2, t1=t1, embargo=embargo)
    values = X.to_numpy()
    print(f"n = {n:,} rows, labels 1-{MAX_HORIZON} min, embargo {EMBARGO_MIN} min")
    print(f"{'splitter':<46} {'median':>11}  {'(min-max)':<13} {'peak mem':>10}  {'ratio':>7}")

    results: dict[str, tuple[float, float, float]] = {}

    def report(name: str, run: Callable[[], Any], base_name: str | None = None) -> None:
        stats = timed(run, args.repeats)
        results[name] = stats
        base = results[base_name][0] if base_name else stats[0]
        print(row(name, stats, peak_mb(run), base))

    report("mltrainer PurgedKFold(10)", lambda: drain(pkf.split(X)))
    report("mltrainer CombinatorialPurgedKFold(10, 2)", lambda: drain(cpcv.split(X)))

    def floor(cv: Any) -> Callable[[], None]:
        sizes = [(tr.size, te.size) for tr, te in cv.split(X)]
        return lambda: drain((np.arange(a), np.arange(b)) for a, b in sizes)

    report("floor: np.arange of PurgedKFold's arrays", floor(pkf), "mltrainer PurgedKFold(10)")
    report(
        "floor: np.arange of CPCV(10, 2)'s arrays",
        floor(cpcv),
        "mltrainer CombinatorialPurgedKFold(10, 2)",
    )
    report(
        "sklearn TimeSeriesSplit(10)",
        lambda: drain(TimeSeriesSplit(10).split(X)),
        "mltrainer PurgedKFold(10)",
    )

    sk_line = ""
    try:
        from skfolio.model_selection import CombinatorialPurgedCV
    except ImportError:
        print("skfolio: not installed (pip install -r benchmarks/requirements.txt)")
    else:
        sk = CombinatorialPurgedCV(
            n_folds=10, n_test_folds=2, purged_size=MAX_HORIZON + 1, embargo_size=EMBARGO_MIN
        )
        leaked, kept, dropped = check_skfolio(cpcv.split(X), skfolio_splits(sk, values), X, t1)
        name = "skfolio CombinatorialPurgedCV(10, 2)"
        report(name, lambda: drain(sk.split(values)), "mltrainer CombinatorialPurgedKFold(10, 2)")
        print(
            f"  same test sets; over all splits skfolio (purged_size={MAX_HORIZON + 1} rows) "
            f"trains on {kept:,} rows mltrainer drops ({leaked:,} overlap a test label) and "
            f"drops {dropped:,} rows that break no rule"
        )
        ratio = results[name][0] / results["mltrainer CombinatorialPurgedKFold(10, 2)"][0]
        sk_line = f" | skfolio {results[name][0]:.2f} s ({ratio:.1f}x)"

    pcv_line = ""
    if args.skip_purgedcv:
        print("purgedcv: skipped (--skip-purgedcv)")
    else:
        try:
            import purgedcv
        except ImportError:
            print("purgedcv: not installed (pip install -r benchmarks/requirements.txt)")
        else:
            pred, evalu = X.index.to_series(), t1
            for label, ours, theirs, base in [
                (
                    "purgedcv PurgedKFold(10)",
                    pkf,
                    purgedcv.PurgedKFold(
                        10, prediction_times=pred, evaluation_times=evalu, embargo=embargo
                    ),
                    "mltrainer PurgedKFold(10)",
                ),
                (
                    "purgedcv CombinatorialPurgedCV(10, 2)",
                    cpcv,
                    purgedcv.CombinatorialPurgedCV(
                        10, 2, prediction_times=pred, evaluation_times=evalu, embargo=embargo
                    ),
                    "mltrainer CombinatorialPurgedKFold(10, 2)",
                ),
            ]:
                spent = run_purgedcv(ours.split(X), theirs.split(values))
                results[label] = (spent, spent, spent)

                def first_three(theirs: Any = theirs) -> None:
                    drain(s for _, s in zip(range(3), theirs.split(values), strict=False))

                print(
                    row(label + " (1 run)", results[label], peak_mb(first_three), 1.0)[:-8], end=""
                )
                print(f" {spent / results[base][0]:>7.1f}x   identical splits")
            mine = results["mltrainer CombinatorialPurgedKFold(10, 2)"][0]
            spent = results["purgedcv CombinatorialPurgedCV(10, 2)"][0]
            pcv_line = f" | purgedcv {spent:.1f} s ({spent / mine:.0f}x)"

    events = 2_000 if args.quick else 20_000
    wt0, wt1 = X.index[:events], t1.iloc[:events]
    fast = timed(lambda: uniqueness_weights(wt0, wt1), args.repeats)
    start = time.perf_counter()
    book = book_uniqueness(wt0, wt1)
    slow = time.perf_counter() - start
    np.testing.assert_allclose(uniqueness_weights(wt0, wt1), book.to_numpy())
    print(
        f"uniqueness_weights, {events:,} events: {fast[0] * 1e3:.1f} ms | book's pandas loop "
        f"{slow:.2f} s ({slow / fast[0]:.0f}x), same weights"
    )
    mine = results["mltrainer CombinatorialPurgedKFold(10, 2)"][0]
    floor_cpcv = results["floor: np.arange of CPCV(10, 2)'s arrays"][0]
    print(
        f"CPCV(10,2) n={n:.0e}: mltrainer {mine:.3f} s{sk_line}{pcv_line} | "
        f"floor {floor_cpcv:.3f} s; PurgedKFold(10) {results['mltrainer PurgedKFold(10)'][0]:.3f} s"
    )


if __name__ == "__main__":
    main()
