"""Benchmark of mltrainer.augment: SMOTE inside purged folds, block bootstraps, the GAN's gate.

Usage::

    .venv/bin/python benchmarks/bench_augment.py            # the sizes of issue 13
    .venv/bin/python benchmarks/bench_augment.py --quick    # small sizes, seconds

1. **SMOTE inside 5 purged folds vs plain** on a triple-barrier label of the bundled S&P
   500 bars (1999-2018): the same plan cross-validated without and with SMOTE (same
   splits), time and out-of-fold roc_auc (one-vs-rest), Brier score and reliability (ECE),
   SMOTE with and without isotonic / Platt recalibration on purged out-of-fold
   predictions.
2. **Block bootstrap**: 1,000 stationary-bootstrap resamples of 5,000 daily returns
   (``block: auto``), the time beside a floor (drawing the same number of uniform
   positions with NumPy), and the stylized facts of the resampled paths against the real.
3. **GAN**: WGAN-GP generator steps per second on CPU, and the time to pass the quality
   gate on S&P 500 windows (training in rounds, the gate after each); the gate's figures
   for the GAN and for the block bootstrap as a baseline generator, both against the
   same held-out real windows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np

from mltrainer.augment import (
    GanSettings,
    GateResult,
    bar_channels,
    block_length,
    bootstrap_paths,
    bootstrap_positions,
    compare_augmentation,
    holdout_windows,
    quality_gate,
    stylized_facts,
    train_generator,
    windows_from_bars,
    windows_of,
)
from mltrainer.config import config_from_dict
from mltrainer.data import load_bars
from mltrainer.pipeline import Plan

LABEL = {"name": "triple_barrier", "horizon": 10}


def _timed(fn, repeats: int):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, times


def _fmt(times: list[float]) -> str:
    return f"{statistics.median(times):8.2f} s ({min(times):.2f}-{max(times):.2f})"


def smote_section(quick: bool) -> str:
    print("\n## 1. SMOTE inside 5 purged folds vs plain (triple barrier, S&P 500)")
    data = {"source": "sp500", **({"start": "2008-01-01"} if quick else {})}
    base = {"data": data, "label": LABEL, "cv": {"n_splits": 5}, "model": {"type": "xgboost"}}
    repeats = 1 if quick else 3
    plan = Plan.from_config(config_from_dict({**base, "augment": {"method": "smote"}}))
    real_plan = replace(plan, resampler=None)
    real, t_real = _timed(real_plan.cross_validate, repeats)
    augmented, t_aug = _timed(plan.cross_validate, repeats)
    counts = np.bincount(plan.dataset.y.to_numpy())
    print(f"rows {len(plan.dataset.X)}, classes {plan.dataset.classes} counts {counts.tolist()}")
    print(f"{'variant':<34}{'cv time median (min-max)':>28}")
    print(f"{'plain (real rows only)':<34}{_fmt(t_real):>28}")
    print(f"{'SMOTE in each training fold':<34}{_fmt(t_aug):>28}")
    print(f"synthetic rows per fold: {augmented.folds['n_synthetic'].tolist()}")
    line = ""
    for method in ("isotonic", "platt"):
        report = compare_augmentation(
            real, augmented, y=plan.dataset.y, t1=plan.dataset.t1, method="smote",
            recalibrate=method,
        )  # fmt: skip
        table = report.table
        if method == "isotonic":
            print(f"\n{'measure':<18}{'plain':>10}{'SMOTE':>10}{'isotonic':>10}", end="")
            iso = table
        else:
            print(f"{'platt':>10}")
            for name in ("roc_auc_ovr", "neg_log_loss", "accuracy", "brier", "reliability_ece"):
                r = iso.loc[name]
                p = table.loc[name, "recalibrated"]
                cal = "" if np.isnan(r["recalibrated"]) else f"{r['recalibrated']:10.4f}"
                cal_p = "" if np.isnan(p) else f"{p:10.4f}"
                print(f"{name:<18}{r['real']:10.4f}{r['augmented']:10.4f}{cal:>10}{cal_p:>10}")
            auc = iso.loc["roc_auc_ovr"]
            brier = iso.loc["brier"]
            line = (
                f"SMOTE 5 purged folds: roc_auc {auc['real']:.4f} plain -> {auc['augmented']:.4f}"
                f" SMOTE; Brier {brier['real']:.4f} -> {brier['augmented']:.4f}, recalibrated "
                f"{brier['recalibrated']:.4f} (isotonic) / {table.loc['brier', 'recalibrated']:.4f}"
                f" (Platt); cv {statistics.median(t_real):.1f} s -> "
                f"{statistics.median(t_aug):.1f} s"
            )
    print("(scorers: mean over folds; brier and reliability_ece: pooled out-of-fold rows)")
    return line


def bootstrap_section(quick: bool) -> str:
    print("\n## 2. Block bootstrap: resamples of 5,000 daily returns")
    bars = load_bars("sp500")
    returns = np.diff(np.log(bars["close"].to_numpy()))[:5000]
    n_resamples = 100 if quick else 1000
    block = block_length(np.abs(returns), "stationary")
    repeats = 3 if quick else 5

    def run() -> np.ndarray:
        positions = bootstrap_positions(
            returns.size, kind="stationary", block=block, n_resamples=n_resamples, seed=0
        )
        return returns[positions]

    def floor() -> np.ndarray:
        rng = np.random.default_rng(0)
        return returns[rng.integers(0, returns.size, size=(n_resamples, returns.size))]

    paths, t_boot = _timed(run, repeats)
    _, t_floor = _timed(floor, repeats)
    print(f"block (auto, optimal length of |r|): {block:.1f} days; {n_resamples} resamples")
    print(f"{'arch StationaryBootstrap':<34}{_fmt(t_boot):>28}")
    print(f"{'floor: iid NumPy positions':<34}{_fmt(t_floor):>28}")
    window = 250
    real = stylized_facts(windows_of(returns, window, window), max_lag=20)
    iid = np.random.default_rng(1).choice(returns, size=(20, returns.size))
    shuffled = stylized_facts(
        np.concatenate([windows_of(p, window, window) for p in iid]), max_lag=20
    )
    resampled = stylized_facts(
        np.concatenate([windows_of(p, window, window) for p in paths[:200]]), max_lag=20
    )
    print(f"\nstylized facts (windows of {window} days)  real   bootstrap   iid shuffle")
    sets = (real, resampled, shuffled)
    for name, values in (
        ("excess kurtosis", [f.kurtosis for f in sets]),
        ("mean |acf(r)| lags 1-5", [np.abs(f.acf_returns[:5]).mean() for f in sets]),
        ("mean acf(|r|) lags 1-20", [f.acf_abs.mean() for f in sets]),
        ("mean leverage lags 1-10", [f.leverage.mean() for f in sets]),
    ):
        a, b, c = values
        print(f"{name:<38}{a:7.3f}{b:11.3f}{c:13.3f}")
    return (
        f"block bootstrap {n_resamples} x 5,000 returns: {statistics.median(t_boot):.3f} s | "
        f"floor {statistics.median(t_floor):.3f} s; acf(|r|) real {real.acf_abs.mean():.3f} "
        f"bootstrap {resampled.acf_abs.mean():.3f} iid {shuffled.acf_abs.mean():.3f}"
    )


def gan_section(quick: bool) -> str:
    print("\n## 3. GAN: CPU steps/s and time to pass the gate (S&P 500 windows)")
    bars = load_bars("sp500")
    window = 32 if quick else 64
    train, held = holdout_windows(bar_channels(bars), window, 0.2)
    print(f"windows of {window} bars: {train.shape[0]} training, {held.shape[0]} held out")
    rounds, per_round = (2, 1) if quick else (10, 10)
    settings = GanSettings(window=window, epochs=rounds * per_round, batch_size=128)
    print(f"{'epoch':>6}{'train s':>9}  gate (every {per_round} epochs)")
    found: dict[str, object] = {}
    begin = time.perf_counter()
    gate_seconds = [0.0]

    def check(epoch: int, generator: object) -> bool:
        if (epoch + 1) % per_round:
            return False
        start = time.perf_counter()
        windows = generator.sample(held.shape[0], seed=1)  # type: ignore[attr-defined]
        result = quality_gate(train, held, windows, seed=0)
        gate_seconds[0] += time.perf_counter() - start
        found["gate"] = result
        elapsed = time.perf_counter() - begin
        print(f"{epoch + 1:>6}{elapsed - gate_seconds[0]:>9.1f}  {result.summary()}")
        if result.passed:
            found["passed_at"] = elapsed
        return result.passed

    generator = train_generator(train, settings, seed=0, on_epoch=check)
    total_steps = generator.history["steps"]
    total_seconds = generator.history["seconds"] - gate_seconds[0]
    gate = found.get("gate")
    passed_at = found.get("passed_at")
    assert isinstance(gate, GateResult)
    paths = bootstrap_paths(bars, 5, seed=0)
    stride = window // 4
    boot = np.concatenate([windows_from_bars(p, window, stride) for p in paths])
    baseline = quality_gate(train, held, boot, seed=0)
    print(f"\n{'check':<20}{'real':>10}{'GAN':>10}{'':>6}{'bootstrap':>11}{'':>6}")
    for g, b in zip(gate.checks, baseline.checks, strict=True):
        mark_g = "pass" if g.passed else "FAIL"
        mark_b = "pass" if b.passed else "FAIL"
        print(
            f"{g.name:<20}{g.reference:10.4f}{g.value:10.4f}{mark_g:>6}{b.value:11.4f}{mark_b:>6}"
        )
    print(
        "(real = held-out windows; for discriminative_auc the real column is the real-vs-real"
        " AUC, for tstr_r2 the TRTR R², for memorisation the held-out NN distance)"
    )
    verdict = (
        f"passed after {passed_at:.0f} s (gate runs included)" if passed_at is not None
        else f"not passed within {total_steps} steps ({total_seconds:.0f} s)"
    )  # fmt: skip
    return (
        f"GAN window {window}: {total_steps / total_seconds:.1f} generator steps/s on CPU; gate "
        f"{verdict}; failed {gate.failed()} | bootstrap baseline failed {baseline.failed()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    lines = [smote_section(args.quick), bootstrap_section(args.quick), gan_section(args.quick)]
    print()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
