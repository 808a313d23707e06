"""The causality proof of mltrainer.features: a feature value at t uses bars at or before t.

For every entry of FEATURE_CATALOGUE (iterated, so a feature added later is covered
automatically) and a few parameterisations, the bars after a cut point t are replaced by
different random but OHLC-consistent bars (and, for one instrument, different later
timestamps); every feature value at or before t must be unchanged: same NaN positions and
the same values to 1e-12 relative. The truncation form checks
``compute_features(bars[:k]) == compute_features(bars)[:k]``. Both forms run on one
instrument and on a panel, where the future of one symbol or of all symbols is replaced.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mltrainer.features import FEATURE_CATALOGUE, compute_features, default_feature_spec

N = 160  # bars per instrument
SYMBOLS = ("AAA", "BBB", "CCC")

# Extra parameterisations beyond each entry's defaults: short windows so the warm-up ends
# well inside the series and the cut points fall on both sides of it.
EXTRA_PARAMS: dict[str, list[dict[str, Any]]] = {
    "log_return": [{"windows": [1, 3, 7]}],
    "return_zscore": [{"windows": [2, 9]}],
    "rsi": [{"window": 1}, {"window": 3}],
    "macd": [{"fast": 2, "slow": 5, "signal": 3}],
    "ma_zscore": [{"windows": [2, 6]}],
    "bollinger": [{"window": 4, "n_std": 1.5}],
    "stochastic": [{"window": 1}, {"window": 5}],
    "volatility": [{"windows": [2, 8]}],
    "atr": [{"window": 1}, {"window": 4}],
    "range": [{"windows": [1, 6]}],
    "parkinson": [{"windows": [3]}],
    "volume_zscore": [{"window": 3}],
    "calendar": [{"fields": ["day_of_week", "hour_of_day", "minute_of_hour", "day_of_year"]}],
}

CASES = [
    pytest.param([{"name": name, **params}], id=f"{name}-{i}")
    for name in sorted(FEATURE_CATALOGUE)
    for i, params in enumerate([{}, *EXTRA_PARAMS.get(name, [])])
]
CASES.append(pytest.param(default_feature_spec(), id="default_spec"))

CHECKED = settings(max_examples=6, deadline=None, derandomize=True, database=None)


def random_ohlcv(n: int, rng: np.random.Generator, *, level: float) -> dict[str, np.ndarray]:
    """OHLC-consistent random bars (a geometric walk from ``level``), some zero volume."""
    vol = rng.uniform(0.005, 0.05)
    close = level * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.r_[level, close[:-1]] * np.exp(rng.normal(0.0, vol / 4, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol / 2, n)))
    volume = rng.lognormal(8.0, 2.0, n) * (rng.random(n) > 0.1)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def make_bars(n: int, *, seed: int) -> pd.DataFrame:
    index = pd.date_range("2022-03-01 09:30", periods=n, freq="37min", tz="UTC", name="timestamp")
    return pd.DataFrame(random_ohlcv(n, np.random.default_rng(seed), level=100.0), index=index)


def make_panel(n: int, *, seed: int) -> pd.DataFrame:
    """Interleaved symbols sorted by (timestamp, symbol); CCC starts 20 bars late."""
    frames = [
        make_bars(n, seed=seed + k).iloc[20 if symbol == "CCC" else 0 :].assign(symbol=symbol)
        for k, symbol in enumerate(SYMBOLS)
    ]
    panel = pd.concat(frames).sort_values(["timestamp", "symbol"], kind="stable")
    return panel[["symbol", "open", "high", "low", "close", "volume"]]


BARS = make_bars(N, seed=2024)
PANEL = make_panel(N, seed=7)


def perturb_rows(bars: pd.DataFrame, rows: np.ndarray, seed: int) -> pd.DataFrame:
    """A copy of ``bars`` whose rows at ``rows`` (a boolean mask) hold other random bars."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    level = float(bars["close"].iloc[0]) * np.exp(rng.normal(0.0, 0.5))
    for name, values in random_ohlcv(int(rows.sum()), rng, level=level).items():
        out.loc[rows, name] = values
    return out


def perturb_future_times(bars: pd.DataFrame, cut: int, seed: int) -> pd.DataFrame:
    """A copy of one instrument's bars with different (still increasing) times after ``cut``."""
    rng = np.random.default_rng(seed)
    stamps = bars.index.tz_localize(None).to_numpy().copy()  # UTC wall times
    gaps = rng.integers(1, 5 * 24 * 60, size=len(bars) - cut - 1).astype("timedelta64[m]")
    stamps[cut + 1 :] = stamps[cut] + np.cumsum(gaps)
    return bars.set_axis(pd.DatetimeIndex(stamps, name="timestamp").tz_localize("UTC"))


def assert_rows_equal(actual: pd.DataFrame, expected: pd.DataFrame, rows: np.ndarray) -> None:
    """Same NaN positions and values to 1e-12 relative on the selected rows."""
    a, e = actual.to_numpy()[rows], expected.to_numpy()[rows]
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
    np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-14, equal_nan=True)


def test_every_catalogue_entry_is_covered() -> None:
    assert set(EXTRA_PARAMS) <= set(FEATURE_CATALOGUE)
    names = {case.values[0][0]["name"] for case in CASES[:-1]}  # type: ignore[index]
    assert names == set(FEATURE_CATALOGUE)


@pytest.mark.parametrize("spec", CASES)
def test_perturbation_detects_dependence_on_the_future(spec: list[dict[str, Any]]) -> None:
    """Sanity: the perturbation really changes every feature after the cut, so the
    causality tests below could fail."""
    cut = N // 2
    rows = np.arange(N) > cut
    changed = perturb_future_times(perturb_rows(BARS, rows, seed=1), cut, seed=1)
    before, after = compute_features(BARS, spec), compute_features(changed, spec)
    differs = ~np.isclose(before.to_numpy()[rows], after.to_numpy()[rows], equal_nan=True)
    assert differs.any(axis=0).all(), list(before.columns[~differs.any(axis=0)])


@pytest.mark.parametrize("spec", CASES)
@CHECKED
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, N - 2), min_size=1, max_size=3))
@example(seed=0, cuts=[0, 1, N - 2])
def test_single_instrument_future_does_not_change_the_past(
    spec: list[dict[str, Any]], seed: int, cuts: list[int]
) -> None:
    original = compute_features(BARS, spec)
    for cut in cuts:
        future = np.arange(N) > cut
        changed = perturb_future_times(perturb_rows(BARS, future, seed), cut, seed)
        assert_rows_equal(compute_features(changed, spec), original, ~future)


@pytest.mark.parametrize("spec", CASES)
@CHECKED
@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(0, N - 2), symbol=st.sampled_from(SYMBOLS))
@example(seed=0, cut=0, symbol="CCC")
@example(seed=1, cut=N - 2, symbol="AAA")
def test_panel_future_does_not_change_the_past(
    spec: list[dict[str, Any]], seed: int, cut: int, symbol: str
) -> None:
    original = compute_features(PANEL, spec)
    cut_time = PANEL.index.unique()[cut]
    future = np.asarray(PANEL.index > cut_time)
    own = (PANEL["symbol"] == symbol).to_numpy()
    # one symbol's future: the past of every symbol and all of the other symbols hold
    changed = compute_features(perturb_rows(PANEL, future & own, seed), spec)
    assert_rows_equal(changed, original, ~future | ~own)
    # every symbol's future: the past of every symbol holds
    changed = compute_features(perturb_rows(PANEL, future, seed), spec)
    assert_rows_equal(changed, original, ~future)


@pytest.mark.parametrize("spec", CASES)
@CHECKED
@given(k=st.integers(1, N))
@example(k=1)
def test_truncation_single_and_panel(spec: list[dict[str, Any]], k: int) -> None:
    full = compute_features(BARS, spec)
    assert_rows_equal(compute_features(BARS.iloc[:k], spec), full.iloc[:k], np.ones(k, dtype=bool))
    rows = min(k * len(SYMBOLS), len(PANEL))
    full = compute_features(PANEL, spec)
    truncated = compute_features(PANEL.iloc[:rows], spec)
    assert_rows_equal(truncated, full.iloc[:rows], np.ones(rows, dtype=bool))
