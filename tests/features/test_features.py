"""Tests of mltrainer.features: known values, warm-up, panels, edge cases and spec errors.

The causality proof (nothing after t changes a value at t) is in test_features_causality.py.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.features import (
    FEATURE_CATALOGUE,
    compute_features,
    default_feature_spec,
    feature_columns,
    max_lookback,
    validate_feature_spec,
)
from mltrainer.features._numeric import ewm_steps

# ---------------------------------------------------------------------------- helpers


def make_bars(
    n: int, *, seed: int, start: str = "2021-01-04", freq: str = "D", zero_volume: float = 0.0
) -> pd.DataFrame:
    """Geometric random walk with consistent OHLC (low <= open, close <= high)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0.0, 0.005, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.01, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.01, n)))
    volume = rng.lognormal(10.0, 1.0, n) * (rng.random(n) >= zero_volume)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(data, index=index)


def make_panel(n: int, *, seed: int) -> pd.DataFrame:
    """Three interleaved symbols sorted by (timestamp, symbol); CCC starts 25 bars late."""
    frames = []
    for k, (symbol, offset) in enumerate([("AAA", 0), ("BBB", 0), ("CCC", 25)]):
        bars = make_bars(n, seed=seed + k).iloc[offset:]
        frames.append(bars.assign(symbol=symbol))
    panel = pd.concat(frames).sort_values(["timestamp", "symbol"], kind="stable")
    return panel[["symbol", "open", "high", "low", "close", "volume"]]


def bars_from_close(close: list[float] | np.ndarray) -> pd.DataFrame:
    close = np.asarray(close, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC", name="timestamp")
    data = {
        "open": close,
        "high": close,
        "low": close,
        "close": close,
        "volume": np.ones_like(close),
    }
    return pd.DataFrame(data, index=index)


def leading_nans(values: np.ndarray) -> int:
    finite = np.flatnonzero(~np.isnan(values))
    return int(finite[0]) if finite.size else len(values)


# ------------------------------------------------------- straightforward references


def windowed_reference(x: np.ndarray, window: int, alpha: float) -> np.ndarray:
    """The classic seeded recursion, run afresh over the last ``window + steps`` inputs."""
    steps = ewm_steps(alpha)
    span = window + steps
    out = np.full(len(x), np.nan)
    for t in range(span - 1, len(x)):
        chunk = x[t - span + 1 : t + 1]
        if np.isnan(chunk).any():
            continue
        avg = float(np.mean(chunk[:window]))
        for value in chunk[window:]:
            avg = (1.0 - alpha) * avg + alpha * value
        out[t] = avg
    return out


def rsi_reference(close: np.ndarray, n: int) -> np.ndarray:
    change = np.r_[np.nan, np.diff(close)]  # np.maximum keeps the leading NaN
    gain = windowed_reference(np.maximum(change, 0.0), n, 1 / n)
    loss = windowed_reference(np.maximum(-change, 0.0), n, 1 / n)
    with np.errstate(divide="ignore"):  # loss 0 -> RS inf -> RSI 100
        return 100.0 - 100.0 / (1.0 + gain / loss)


def ema_reference(x: np.ndarray, span: int) -> np.ndarray:
    """EMA seeded with a mean of ``span`` values (TA-Lib style), over its fixed window."""
    return windowed_reference(x, span, 2.0 / (span + 1))


# ------------------------------------------------------------------- known values


def test_log_return_known_values() -> None:
    bars = bars_from_close([100.0, 110.0, 99.0, 99.0, 120.0])
    out = compute_features(bars, [{"name": "log_return", "windows": [1, 2]}])
    assert list(out.columns) == ["log_return_1", "log_return_2"]
    np.testing.assert_allclose(
        out["log_return_1"], [np.nan, np.log(1.1), np.log(0.9), 0.0, np.log(120 / 99)]
    )
    np.testing.assert_allclose(
        out["log_return_2"], [np.nan, np.nan, np.log(0.99), np.log(0.9), np.log(120 / 99)]
    )


@pytest.mark.parametrize("window", [1, 3, 14])
def test_rsi_matches_wilder_reference(window: int) -> None:
    close = make_bars(160, seed=3)["close"].to_numpy()
    out = compute_features(bars_from_close(close), [{"name": "rsi", "window": window}])
    np.testing.assert_allclose(out[f"rsi_{window}"], rsi_reference(close, window), rtol=1e-10)


def test_ewm_warm_up_is_three_time_constants_by_default() -> None:
    assert ewm_steps(1 / 14) == 41  # Wilder 14: (13/14)^41 <= exp(-3) < (13/14)^40
    assert (13 / 14) ** 41 <= np.exp(-3) < (13 / 14) ** 40
    assert ewm_steps(0.5) == 5
    assert ewm_steps(1.0) == 0
    assert ewm_steps(1 / 14, 6.0) == 81
    assert max_lookback([{"name": "rsi", "window": 14}]) == 14 + 41
    assert max_lookback([{"name": "rsi", "window": 14, "time_constants": 6}]) == 14 + 81
    long = [{"name": "atr", "window": 14, "time_constants": 6.0}]
    np.testing.assert_allclose(
        compute_features(make_bars(200, seed=5), long)["atr_14"].iloc[145:],
        compute_features(make_bars(200, seed=5).iloc[50:], long)["atr_14"].iloc[95:],
        rtol=1e-10,
    )


def test_rsi_hand_checked_and_extremes() -> None:
    # window 2: alpha 1/2, 5 smoothing steps, so each value uses exactly 7 changes.
    # changes +1, +1, then five 0s: gain = 0.5^5 * mean(1, 1), loss 0 -> 100.
    # one more change, -1: the window is +1, five 0s, -1: gain seed mean(1, 0) = 0.5,
    # decayed 5 times -> 1/64; loss seed 0, last step 0.5 * 1 -> 0.5; RSI = 100 / 33.
    close = np.r_[10.0, 11.0, 12.0, np.full(5, 12.0), 11.0]
    out = compute_features(bars_from_close(close), [{"name": "rsi", "window": 2}])["rsi_2"]
    assert out.iloc[:7].isna().all()
    np.testing.assert_allclose(out.iloc[7:], [100.0, 100.0 / 33.0], rtol=1e-12)
    rising = compute_features(bars_from_close(np.arange(1.0, 130.0)), [{"name": "rsi"}])
    falling = compute_features(bars_from_close(np.arange(130.0, 1.0, -1)), [{"name": "rsi"}])
    assert (rising["rsi_14"].dropna() == 100.0).all()
    assert (falling["rsi_14"].dropna() == 0.0).all()
    assert rising["rsi_14"].notna().sum() == 129 - 55


def test_atr_matches_wilder_reference() -> None:
    bars = make_bars(160, seed=5)
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    prev = np.r_[np.nan, close[:-1]]
    true_range = np.nanmax(np.c_[high - low, np.abs(high - prev), np.abs(low - prev)], axis=1)
    true_range[0] = np.nan  # no previous close
    expected = windowed_reference(true_range, 14, 1 / 14) / close
    out = compute_features(bars, [{"name": "atr", "window": 14}])
    np.testing.assert_allclose(out["atr_14"], expected, rtol=1e-10)
    # hand check, window 1: true range of bar 1 is max(3-2, |3-10|, |2-10|) = 8; / close 2.5
    hand = pd.DataFrame(
        {"high": [11.0, 3.0], "low": [9.0, 2.0], "close": [10.0, 2.5]}, index=bars.index[:2]
    )
    np.testing.assert_allclose(
        compute_features(hand, [{"name": "atr", "window": 1}])["atr_1"], [np.nan, 8 / 2.5]
    )


def test_bollinger_hand_checked() -> None:
    out = compute_features(
        bars_from_close([1.0, 2.0, 3.0, 3.0]), [{"name": "bollinger", "window": 3}]
    )
    sd = np.sqrt(2 / 3)  # population std of (1, 2, 3); mean 2
    np.testing.assert_allclose(out["bb_pctb_3"].iloc[:3], [np.nan, np.nan, 0.5 + 1 / (4 * sd)])
    np.testing.assert_allclose(out["bb_width_3"].iloc[2], 4 * sd / 2)
    wide = compute_features(
        bars_from_close([1.0, 2.0, 3.0]), [{"name": "bollinger", "window": 3, "n_std": 1.5}]
    )
    assert list(wide.columns) == ["bb_pctb_3_1p5", "bb_width_3_1p5"]
    np.testing.assert_allclose(wide["bb_pctb_3_1p5"].iloc[2], 0.5 + 1 / (3 * sd))


def test_macd_matches_reference() -> None:
    close = make_bars(200, seed=8)["close"].to_numpy()
    out = compute_features(
        bars_from_close(close), [{"name": "macd", "fast": 5, "slow": 13, "signal": 4}]
    )
    line = (ema_reference(close, 5) - ema_reference(close, 13)) / close
    signal = ema_reference(line, 4)
    np.testing.assert_allclose(out["macd_5_13_4"], line, rtol=1e-10)
    np.testing.assert_allclose(out["macd_signal_5_13_4"], signal, rtol=1e-10)
    np.testing.assert_allclose(out["macd_hist_5_13_4"], line - signal, rtol=1e-9, atol=1e-15)
    # scale-free: multiplying every price by 1000 changes nothing
    scaled = compute_features(
        bars_from_close(close * 1000), [{"name": "macd", "fast": 5, "slow": 13, "signal": 4}]
    )
    np.testing.assert_allclose(scaled.to_numpy(), out.to_numpy(), rtol=1e-9, atol=1e-15)


def test_window_features_match_pandas_reference() -> None:
    bars = make_bars(100, seed=11)
    c, h, low = bars["close"], bars["high"], bars["low"]
    r1 = np.log(c).diff()
    spec: list[dict[str, Any]] = [
        {"name": "volatility", "windows": [7]},
        {"name": "ma_zscore", "windows": [9]},
        {"name": "return_zscore", "windows": [6]},
        {"name": "stochastic", "window": 5},
        {"name": "range", "windows": [4]},
        {"name": "parkinson", "windows": [4]},
        {"name": "volume_zscore", "window": 8},
    ]
    out = compute_features(bars, spec)
    lv = np.log1p(bars["volume"])
    expected = {
        "volatility_7": r1.rolling(7).std(),
        "ma_zscore_9": (c - c.rolling(9).mean()) / c.rolling(9).std(),
        "return_zscore_6": np.log(c).diff(6) / (r1.rolling(6).std() * np.sqrt(6)),
        "stoch_k_5": (c - low.rolling(5).min()) / (h.rolling(5).max() - low.rolling(5).min()),
        "range_4": np.log(h / low).rolling(4).mean(),
        "parkinson_4": np.sqrt((np.log(h / low) ** 2).rolling(4).mean() / (4 * np.log(2))),
        "volume_zscore_8": (lv - lv.rolling(8).mean()) / lv.rolling(8).std(),
    }
    assert list(out.columns) == list(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(out[name], values, rtol=1e-9, atol=1e-12, err_msg=name)


def test_calendar_fields_in_utc() -> None:
    index = pd.DatetimeIndex(
        ["2024-01-01 23:30", "2024-03-02 05:15"], tz="America/New_York", name="timestamp"
    )
    bars = pd.DataFrame({"close": [1.0, 2.0]}, index=index)
    fields = [
        "day_of_week",
        "hour_of_day",
        "minute_of_hour",
        "day_of_month",
        "day_of_year",
        "month",
    ]
    out = compute_features(bars, [{"name": "calendar", "fields": fields}])
    # 2024-01-01 23:30 New York is Tuesday 2024-01-02 04:30 UTC; 03-02 05:15 is 10:15 UTC (Sat)
    expected = [[1, 4, 30, 2, 2, 1], [5, 10, 15, 2, 62, 3]]
    np.testing.assert_array_equal(out.to_numpy(), np.asarray(expected, dtype=np.float64))


# ----------------------------------------------------------- catalogue and warm-up


def test_catalogue_is_read_only_and_every_entry_runs_with_defaults() -> None:
    with pytest.raises(TypeError):
        FEATURE_CATALOGUE["x"] = print  # type: ignore[index]
    bars = make_bars(90, seed=1)
    for name, func in FEATURE_CATALOGUE.items():
        direct = func(bars)
        via_spec = compute_features(bars, [{"name": name}])
        assert list(direct.columns) == feature_columns([{"name": name}]), name
        pd.testing.assert_frame_equal(direct, via_spec, check_exact=True)


@pytest.mark.parametrize("name", sorted(FEATURE_CATALOGUE))
def test_warm_up_equals_lookback(name: str) -> None:
    spec = [{"name": name}]
    lookback = max_lookback(spec)
    out = compute_features(make_bars(200, seed=2), spec).to_numpy()
    counts = [leading_nans(out[:, j]) for j in range(out.shape[1])]
    assert max(counts) == lookback
    assert not np.isnan(out[lookback:]).any()  # complete from the first full row on


def test_default_spec_warm_up_single_and_per_symbol() -> None:
    lookback = max_lookback()
    assert lookback == 86  # MACD: slow EMA 26 + 39 steps, signal 9 + 14 steps, minus 2
    out = compute_features(make_bars(220, seed=4))
    complete = ~out.isna().any(axis=1).to_numpy()
    assert int(np.argmax(complete)) == lookback
    assert complete[lookback:].all()
    panel = make_panel(220, seed=4)
    out = compute_features(panel)
    for symbol in ("AAA", "BBB", "CCC"):
        rows = (panel["symbol"] == symbol).to_numpy()
        complete = ~out[rows].isna().any(axis=1).to_numpy()
        assert int(np.argmax(complete)) == lookback, symbol
        assert complete[lookback:].all(), symbol


def test_default_spec_shape() -> None:
    spec = default_feature_spec()
    columns = feature_columns(spec)
    assert len(columns) >= 18
    assert len(set(columns)) == len(columns)
    assert {"day_of_week", "month"} <= set(columns)
    assert "hour_of_day" not in columns
    assert feature_columns(None) == columns
    spec.append({"name": "rsi", "window": 3})  # a fresh list each call
    assert default_feature_spec() != spec


def test_feature_columns_and_lookback_of_a_spec() -> None:
    spec: list[dict[str, Any]] = [
        {"name": "log_return", "windows": [1, 5]},
        {"name": "macd"},
        {"name": "calendar", "fields": ["hour_of_day"]},
    ]
    assert feature_columns(spec) == [
        "log_return_1",
        "log_return_5",
        "macd_12_26_9",
        "macd_signal_12_26_9",
        "macd_hist_12_26_9",
        "hour_of_day",
    ]
    assert max_lookback(spec) == (26 + ewm_steps(2 / 27)) + (9 + ewm_steps(2 / 10)) - 2
    assert max_lookback([{"name": "calendar"}]) == 0


# ------------------------------------------------------------------------- panels


def test_panel_equals_per_symbol_computation() -> None:
    panel = make_panel(120, seed=6)
    out = compute_features(panel)
    assert out.index.equals(panel.index)
    assert list(out.columns) == feature_columns()
    for symbol in ("AAA", "BBB", "CCC"):
        rows = (panel["symbol"] == symbol).to_numpy()
        alone = compute_features(panel[rows].drop(columns="symbol"))
        np.testing.assert_array_equal(out[rows].to_numpy(), alone.to_numpy())


def test_panel_accepts_any_row_order_across_symbols() -> None:
    panel = make_panel(80, seed=7)
    by_symbol = panel.sort_values(["symbol", "timestamp"], kind="stable")
    out = compute_features(by_symbol)
    expected = compute_features(panel)
    rows = pd.MultiIndex.from_arrays([by_symbol.index, by_symbol["symbol"]])
    wanted = pd.MultiIndex.from_arrays([panel.index, panel["symbol"]])
    np.testing.assert_array_equal(out.to_numpy(), expected.to_numpy()[wanted.get_indexer(rows)])


# -------------------------------------------------------------------- edge cases


def test_no_inf_on_zero_volume_and_flat_prices() -> None:
    bars = make_bars(120, seed=9, zero_volume=0.3)
    flat = bars.copy()
    flat.iloc[40:80, :4] = 50.0  # flat prices, high == low
    flat.iloc[40:80, 4] = 0.0  # and no volume
    spec = [*default_feature_spec(), {"name": "range"}, {"name": "rsi", "window": 2}]
    out = compute_features(flat, spec)
    assert not np.isinf(out.to_numpy()).any()
    assert out["volume_zscore_20"].iloc[59:80].isna().all()  # 20 zero volumes: std is 0
    assert out["ma_zscore_10"].iloc[49:80].isna().all()
    assert out["bb_pctb_20"].iloc[59:80].isna().all()
    assert out["rsi_2"].iloc[47:80].isna().all()  # 7 zero changes: gain = loss = 0, undefined
    assert out["stoch_k_14"].iloc[53:80].isna().all()
    assert (out["volatility_20"].iloc[60:80] == 0.0).all()
    assert (out["range_20"].iloc[59:80] == 0.0).all()
    assert out["volume_zscore_20"].iloc[100:].notna().any()  # recovers after the flat span
    flat_from_start = compute_features(bars_from_close(np.full(30, 5.0)), spec)
    assert not np.isinf(flat_from_start.to_numpy()).any()
    assert flat_from_start[["rsi_14", "rsi_2", "ma_zscore_10", "stoch_k_14"]].isna().all().all()


def test_empty_and_single_row_bars() -> None:
    bars = make_bars(1, seed=0)
    out = compute_features(bars)
    assert out.shape == (1, len(feature_columns()))
    assert out["day_of_week"].notna().all()
    empty = compute_features(bars.iloc[:0])
    assert empty.shape == (0, len(feature_columns()))
    assert (empty.dtypes == np.float64).all()


def test_inputs_not_mutated_and_output_is_new() -> None:
    panel = make_panel(100, seed=10)
    before = panel.copy(deep=True)
    spec = default_feature_spec()
    spec_before = copy.deepcopy(spec)
    out = compute_features(panel, spec)
    pd.testing.assert_frame_equal(panel, before)
    assert spec == spec_before
    assert (out.dtypes == np.float64).all()
    assert out.index.equals(panel.index)
    out.iloc[:, :] = 0.0
    pd.testing.assert_frame_equal(panel, before)


def test_only_needed_columns_are_required() -> None:
    bars = make_bars(30, seed=12)[["close"]]
    out = compute_features(bars, [{"name": "log_return"}, {"name": "rsi"}, {"name": "calendar"}])
    assert out.shape == (30, 7)


# ------------------------------------------------------------------- spec errors

SPEC_ERRORS = [
    ("rsi", "features: expected a list of mappings"),
    ([], "features: the spec is empty"),
    ([42], "features[0]: expected a mapping"),
    ([{"window": 14}], "features[0]: missing 'name'; set it to one of"),
    ([{"name": "rsii"}], "features[0]: unknown feature 'rsii' (did you mean 'rsi'?)"),
    (
        [{"name": "log_return"}, {"name": "atr"}, {"name": "rsi", "windw": 3}],
        "features[2] (rsi): unknown parameter 'windw' (did you mean 'window'?); "
        "valid parameters: ['time_constants', 'window']",
    ),
    ([{"name": "rsi", "window": 0}], "features[0] (rsi): parameter 'window' must be an int >= 1"),
    ([{"name": "rsi", "window": 2.5}], "parameter 'window' must be an int >= 1, got 2.5"),
    ([{"name": "rsi", "window": True}], "parameter 'window' must be an int >= 1, got True"),
    ([{"name": "log_return", "windows": [0, 5]}], "'windows' must be a non-empty list"),
    ([{"name": "log_return", "windows": 5}], "'windows' must be a non-empty list"),
    ([{"name": "log_return", "windows": [5, 5]}], "list of distinct ints >= 1"),
    ([{"name": "volatility", "windows": [1, 5]}], "distinct ints >= 2, got [1, 5]"),
    ([{"name": "ma_zscore", "windows": []}], "features[0] (ma_zscore): parameter 'windows'"),
    ([{"name": "volume_zscore", "window": 1}], "'window' must be an int >= 2, got 1"),
    ([{"name": "macd", "fast": 26, "slow": 12}], "needs fast < slow, got fast=26 slow=12"),
    ([{"name": "bollinger", "n_std": -1}], "'n_std' must be a finite positive number"),
    ([{"name": "bollinger", "n_std": float("nan")}], "'n_std' must be a finite positive number"),
    (
        [{"name": "calendar", "fields": ["day_of_wek"]}],
        "'fields' has unknown name 'day_of_wek' (did you mean 'day_of_week'?)",
    ),
    (
        [{"name": "log_return", "windows": [1, 5]}, {"name": "log_return", "windows": [5]}],
        "features[1] (log_return): output column 'log_return_5' is also produced by "
        "features[0]; remove one of them",
    ),
]


@pytest.mark.parametrize(("spec", "message"), SPEC_ERRORS)
def test_spec_errors(spec: Any, message: str) -> None:
    for call in (validate_feature_spec, feature_columns, max_lookback):
        with pytest.raises(ConfigError, match=re.escape(message)) as info:
            call(spec)
        assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        compute_features(make_bars(10, seed=0), spec)


def test_valid_spec_passes_and_accepts_numpy_ints() -> None:
    spec: list[dict[str, Any]] = [
        {"name": "log_return", "windows": np.array([1, 5])},
        {"name": "rsi", "window": np.int64(7)},
    ]
    validate_feature_spec(spec)
    validate_feature_spec(None)
    assert feature_columns(spec) == ["log_return_1", "log_return_5", "rsi_7"]


# -------------------------------------------------------------------- bar errors


def _unsorted() -> pd.DataFrame:
    bars = make_bars(10, seed=0)
    return bars.iloc[[0, 1, 3, 2, 4]]


BAR_ERRORS = [
    (lambda: make_bars(5, seed=0).tz_localize(None), "tz-aware UTC DatetimeIndex"),
    (lambda: make_bars(5, seed=0).reset_index(), "tz-aware UTC DatetimeIndex"),
    (lambda: make_bars(5, seed=0).drop(columns="volume"), "missing column 'volume' needed by"),
    (lambda: make_bars(5, seed=0).assign(close="x"), "column 'close' is not numeric"),
    (_unsorted, "bars: row 3 (2021-01-06 00:00:00+00:00) is not after the previous bar"),
    (
        lambda: make_panel(40, seed=0).pipe(lambda p: pd.concat([p, p.iloc[[-1]]])),
        "row 95 (2021-02-12 00:00:00+00:00, symbol 'CCC') is not after the previous bar",
    ),
    (
        lambda: make_panel(40, seed=0).assign(symbol=lambda p: p["symbol"].where(p["open"] < 101)),
        "column 'symbol' is missing at row",
    ),
    (lambda: np.ones((5, 5)), "bars: expected a pandas DataFrame, got ndarray"),
]


@pytest.mark.parametrize(("make", "message"), BAR_ERRORS)
def test_bar_errors(make: Any, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        compute_features(make())


def test_catalogue_function_refuses_a_panel() -> None:
    with pytest.raises(DataError, match="call compute_features"):
        FEATURE_CATALOGUE["rsi"](make_panel(30, seed=0))
