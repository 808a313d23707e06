"""Tests of mltrainer.labels: values, end times, causality, panels and spec validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.labels import (
    LABEL_CATALOGUE,
    Labels,
    direction,
    forward_return,
    forward_volatility,
    label_horizon,
    label_kind,
    label_lookback,
    make_labels,
    triple_barrier,
    validate_label_spec,
)
from tests.conftest import bars_from_close

START = pd.Timestamp("2024-01-01", tz="UTC")


def make_bars(close: Any, *, high: Any = None, low: Any = None, freq: str = "D") -> pd.DataFrame:
    """Bars from explicit closes starting at START (high/low default to the close)."""
    return bars_from_close(close, high=high, low=low, start=str(START.date()), freq=freq)


def random_bars(n: int, seed: int, *, vol: float = 0.01) -> pd.DataFrame:
    """A random walk with high/low around open/close."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.normal(0.0, vol, (2, n)))
    bars = make_bars(close)
    bars["open"] = open_
    bars["high"] = np.maximum(open_, close) * np.exp(wick[0])
    bars["low"] = np.minimum(open_, close) * np.exp(-wick[1])
    return bars


def random_panel(n: int, seed: int) -> pd.DataFrame:
    """Three symbols on a shared clock, sorted by (timestamp, symbol); 'c' starts late
    and misses some timestamps, so the symbols have different lengths."""
    parts = []
    for i, symbol in enumerate(["a", "b", "c"]):
        part = random_bars(n, seed + i).assign(symbol=symbol)
        if symbol == "c":
            part = part.iloc[3:].iloc[np.arange(n - 3) % 4 != 1]
        parts.append(part)
    panel = pd.concat(parts).reset_index()
    return panel.sort_values(["timestamp", "symbol"], kind="stable").set_index("timestamp")


FUNCTIONS: dict[str, Callable[..., Labels]] = {
    "direction": direction,
    "forward_return": forward_return,
    "forward_volatility": forward_volatility,
    "triple_barrier": triple_barrier,
}
SPECS: list[dict[str, Any]] = [
    {"name": "direction", "horizon": 3, "threshold": 0.001},
    {"name": "forward_return", "horizon": 4},
    {"name": "forward_volatility", "horizon": 5, "annualize": 252},
    {"name": "triple_barrier", "horizon": 6, "vol_window": 5, "upper": 0.5, "lower": 1.0},
    {"name": "triple_barrier", "horizon": 4, "vol_window": 3, "vertical": "sign"},
    {"name": "triple_barrier", "horizon": 5, "vol_window": 4, "use_high_low": False},
]
SPEC_IDS = [f"{s['name']}-{i}" for i, s in enumerate(SPECS)]


def stamps(t1: pd.Series) -> np.ndarray:
    """int64 microseconds since the epoch (NaT as int64 min), so NaT compares equal."""
    return pd.DatetimeIndex(t1).as_unit("us").asi8


def t1_positions(bars: pd.DataFrame, labels: Labels) -> np.ndarray:
    """Row position of the bar each label ends at (-1 where t1 is NaT)."""
    if "symbol" in bars.columns:
        keys = pd.MultiIndex.from_arrays([bars.index, bars["symbol"]])
        wanted = pd.MultiIndex.from_arrays([labels.t1, bars["symbol"]])
        return keys.get_indexer(wanted)
    return bars.index.get_indexer(labels.t1)


# -- hand-checked values -------------------------------------------------------------------


def test_direction_values() -> None:
    bars = make_bars([100.0, 110.0, 99.0, 99.0, 120.0])
    labels = direction(bars, horizon=1)
    np.testing.assert_array_equal(labels.y.to_numpy(), [1.0, 0.0, 0.0, 1.0, np.nan])
    assert labels.kind == "classification"
    np.testing.assert_array_equal(labels.classes, [0.0, 1.0])
    # log(1.1) = 0.0953 beats 0.05, log(120/99) = 0.192 beats it too, the rest do not
    high = direction(bars, horizon=1, threshold=0.1)
    np.testing.assert_array_equal(high.y.to_numpy(), [0.0, 0.0, 0.0, 1.0, np.nan])
    two = direction(bars, horizon=2)
    np.testing.assert_array_equal(two.y.to_numpy(), [0.0, 0.0, 1.0, np.nan, np.nan])


def test_forward_return_values() -> None:
    close = [100.0, 110.0, 99.0, 121.0]
    labels = forward_return(make_bars(close), horizon=2)
    expected = [math.log(99 / 100), math.log(121 / 110), np.nan, np.nan]
    np.testing.assert_allclose(labels.y.to_numpy(), expected, rtol=1e-12)
    assert labels.kind == "regression"
    assert labels.classes is None
    assert labels.name == "forward_return"
    assert labels.horizon == 2


def test_forward_volatility_values() -> None:
    close = [100.0, 110.0, 121.0, 100.0]
    up, down = math.log(1.1), math.log(100 / 121)
    labels = forward_volatility(make_bars(close), horizon=2)
    expected = [up, math.sqrt((up**2 + down**2) / 2), np.nan, np.nan]
    np.testing.assert_allclose(labels.y.to_numpy(), expected, rtol=1e-12)
    yearly = forward_volatility(make_bars(close), horizon=2, annualize=4)
    np.testing.assert_allclose(yearly.y.to_numpy(), 2 * np.array(expected), rtol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_shapes_end_times_and_tail(spec: dict[str, Any]) -> None:
    bars = random_bars(80, seed=1)
    labels = make_labels(bars, spec)
    h = spec["horizon"]
    assert labels.y.index is bars.index
    assert labels.t1.index is bars.index
    assert labels.y.dtype == np.float64
    assert str(labels.t1.dtype) == "datetime64[us, UTC]"
    valid = labels.valid
    np.testing.assert_array_equal(valid, labels.t1.notna().to_numpy())
    assert valid.sum() > 40
    t0 = bars.index.to_series().to_numpy()
    t1 = labels.t1.to_numpy()
    assert (t1[valid] >= t0[valid]).all()
    steps = t1_positions(bars, labels)[valid] - np.flatnonzero(valid)
    if spec["name"] == "triple_barrier":
        assert ((steps >= 1) & (steps <= h)).all()
        assert not valid[: spec["vol_window"]].any()  # sigma warm-up
        assert not valid[-1]
    else:
        assert (steps == h).all()  # t1 is exactly h bars later
        assert not valid[-h:].any()
        assert valid[:-h].all()
    assert label_horizon(spec) == h


def test_empty_bars() -> None:
    bars = make_bars([])
    for function in FUNCTIONS.values():
        labels = function(bars)
        assert len(labels.y) == len(labels.t1) == 0
        assert labels.valid.shape == (0,)


# -- triple barrier on handcrafted paths -----------------------------------------------------

# history 100, 101, 100 gives sigma at row 2; paths are the three bars after it
HISTORY = [100.0, 101.0, 100.0]
SIGMA = float(np.std(np.diff(np.log(HISTORY)), ddof=1))
TOP = 100.0 * math.exp(SIGMA * math.sqrt(3))  # upper = lower = 1, horizon = 3
BOTTOM = 100.0 * math.exp(-SIGMA * math.sqrt(3))


def barrier_row(path: list[tuple[float, float, float]], **options: Any) -> tuple[float, int]:
    """Label and t1 position of row 2 for a path of (high, low, close) bars."""
    highs = [*HISTORY, *(bar[0] for bar in path)]
    lows = [*HISTORY, *(bar[1] for bar in path)]
    closes = [*HISTORY, *(bar[2] for bar in path)]
    bars = make_bars(closes, high=highs, low=lows)
    kwargs = {"horizon": 3, "vol_window": 2, "upper": 1.0, "lower": 1.0, **options}
    labels = triple_barrier(bars, **kwargs)
    assert not labels.valid[:2].any()
    if math.isnan(labels.y.iloc[2]):
        assert pd.isna(labels.t1.iloc[2])
        return math.nan, -1
    return float(labels.y.iloc[2]), int(bars.index.get_loc(labels.t1.iloc[2]))


def test_barrier_levels_are_what_the_tests_assume() -> None:
    assert 102.0 < TOP < 103.0
    assert 97.0 < BOTTOM < 98.0


@pytest.mark.parametrize(
    ("path", "options", "expected"),
    [
        pytest.param([(101, 99.5, 100), (103, 99, 102), (101, 90, 95)], {}, (1.0, 4), id="upper"),
        pytest.param([(101, 97, 99), (110, 99, 105), (101, 99, 100)], {}, (-1.0, 3), id="lower"),
        pytest.param([(101, 99, 100), (103, 97, 100), (101, 99, 100)], {}, (-1.0, 4), id="both"),
        pytest.param([(101, 99, 100), (102, 98, 101), (101, 99, 100)], {}, (0.0, 5), id="none"),
        pytest.param(
            [(101, 99, 100), (102, 98, 101), (101.5, 99, 100.5)],
            {"vertical": "sign"},
            (1.0, 5),
            id="sign-up",
        ),
        pytest.param(
            [(101, 99, 100), (102, 98, 101), (101, 99, 99.5)],
            {"vertical": "sign"},
            (-1.0, 5),
            id="sign-down",
        ),
        pytest.param(
            [(101, 99, 100), (102, 98, 101), (101, 99, 100)],
            {"vertical": "sign"},
            (-1.0, 5),
            id="sign-flat",
        ),
        pytest.param(
            [(110, 90, 101), (102, 98, 102.9), (101, 99, 100)],
            {"use_high_low": False},
            (1.0, 4),
            id="close-only",
        ),
        # an early touch near the data end is not labelled either: keeping it (and dropping
        # the untouched rows beside it) would select rows by their outcome
        pytest.param(
            [(101, 99, 100), (103, 99, 102)], {}, (math.nan, -1), id="touch-before-data-end"
        ),
        pytest.param([(101, 99, 100), (102, 98, 101)], {}, (math.nan, -1), id="data-end"),
        pytest.param(
            [(101, 99, 100), (103, 99, 102), (101, 90, 95)],
            {"upper": 2.0},
            (-1.0, 5),
            id="wider-upper",
        ),
    ],
)
def test_triple_barrier_paths(
    path: list[tuple[float, float, float]], options: dict[str, Any], expected: tuple[float, int]
) -> None:
    label, end = barrier_row(path, **options)
    assert end == expected[1]
    if math.isnan(expected[0]):
        assert math.isnan(label)
    else:
        assert label == expected[0]


def test_triple_barrier_classes() -> None:
    bars = random_bars(60, seed=3)
    np.testing.assert_array_equal(triple_barrier(bars).classes, [-1.0, 0.0, 1.0])
    signed = triple_barrier(bars, vertical="sign")
    np.testing.assert_array_equal(signed.classes, [-1.0, 1.0])
    assert set(signed.y.dropna().unique()) <= {-1.0, 1.0}


# -- causality ---------------------------------------------------------------------------------

spec_strategy = st.one_of(
    st.builds(
        lambda h, th: {"name": "direction", "horizon": h, "threshold": th},
        st.integers(1, 6),
        st.sampled_from([0.0, 0.005, -0.01]),
    ),
    st.builds(lambda h: {"name": "forward_return", "horizon": h}, st.integers(1, 6)),
    st.builds(lambda h: {"name": "forward_volatility", "horizon": h}, st.integers(1, 6)),
    st.builds(
        lambda h, w, up, lo, hl, v: {
            "name": "triple_barrier",
            "horizon": h,
            "vol_window": w,
            "upper": up,
            "lower": lo,
            "use_high_low": hl,
            "vertical": v,
        },
        st.integers(1, 8),
        st.integers(2, 6),
        st.sampled_from([0.0, 0.3, 1.0, 2.0]),
        st.sampled_from([0.0, 0.5, 1.0, 2.0]),
        st.booleans(),
        st.sampled_from(["zero", "sign"]),
    ),
)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    spec=spec_strategy,
    seed=st.integers(0, 10_000),
    n=st.integers(2, 40),
    cut=st.floats(0.0, 1.0),
    panel=st.booleans(),
)
def test_truncation_never_changes_or_fills_a_label(
    spec: dict[str, Any], seed: int, n: int, cut: float, panel: bool
) -> None:
    """Labels on bars[:k] equal the full labels where the full t1 and the horizon's last bar
    lie inside bars[:k], and are NaN everywhere else: a label uses no bar after its t1,
    nothing is filled, and no row is kept or dropped by its outcome."""
    bars = random_panel(n, seed) if panel else random_bars(n, seed)
    k = max(1, round(cut * len(bars)))
    full = make_labels(bars, spec)
    part = make_labels(bars.iloc[:k], spec)
    end = t1_positions(bars, full)[:k]
    # the horizon's last bar t+h, per symbol: a label exists only when it is in the data,
    # so whether a row is labelled never depends on its outcome
    vertical = {"name": "forward_return", "horizon": spec["horizon"]}
    last = t1_positions(bars, make_labels(bars, vertical))[:k]
    known = (end >= 0) & (end < k) & (last >= 0) & (last < k)
    np.testing.assert_array_equal(part.y.to_numpy()[known], full.y.to_numpy()[:k][known])
    np.testing.assert_array_equal(stamps(part.t1)[known], stamps(full.t1)[:k][known])
    assert not part.valid[~known].any()
    assert part.t1[~known].isna().all()


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("panel", [False, True], ids=["series", "panel"])
def test_bars_after_t1_do_not_matter(spec: dict[str, Any], panel: bool) -> None:
    bars = random_panel(40, seed=7) if panel else random_bars(60, seed=7)
    labels = make_labels(bars, spec)
    rng = np.random.default_rng(11)
    rows = rng.choice(np.flatnonzero(labels.valid), size=8, replace=False)
    for row in rows:
        after = np.asarray(bars.index > labels.t1.iloc[row])
        assert after.any()
        changed = bars.copy()
        noise = np.exp(rng.normal(0.0, 0.2, (after.sum(), 1)))
        prices = ["open", "high", "low", "close"]
        changed.loc[after, prices] = changed.loc[after, prices].to_numpy() * noise
        again = make_labels(changed, spec)
        assert again.y.iloc[row] == labels.y.iloc[row]
        assert again.t1.iloc[row] == labels.t1.iloc[row]


# -- panels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_panel_equals_per_symbol(spec: dict[str, Any]) -> None:
    panel = random_panel(50, seed=5)
    assert panel.index.has_duplicates
    labels = make_labels(panel, spec)
    assert labels.y.index is panel.index
    for symbol in ["a", "b", "c"]:
        mask = (panel["symbol"] == symbol).to_numpy()
        alone = make_labels(panel[mask].drop(columns="symbol"), spec)
        np.testing.assert_array_equal(labels.y.to_numpy()[mask], alone.y.to_numpy())
        np.testing.assert_array_equal(stamps(labels.t1)[mask], stamps(alone.t1))
        assert not labels.valid[mask][-1]  # each symbol's last row is incomplete
        if spec["name"] != "triple_barrier":
            h = spec["horizon"]
            assert not labels.valid[mask][-h:].any()
            assert labels.valid[mask][:-h].all()


def test_panel_rows_need_not_be_grouped() -> None:
    panel = random_panel(30, seed=9)
    shuffled = panel.sort_values("symbol", kind="stable")  # grouped by symbol instead
    a = forward_return(panel, horizon=2)
    b = forward_return(shuffled, horizon=2)
    key = ["timestamp", "symbol"]
    left = panel.assign(y=a.y.to_numpy()).reset_index().set_index(key)["y"]
    right = shuffled.assign(y=b.y.to_numpy()).reset_index().set_index(key)["y"]
    pd.testing.assert_series_equal(left.sort_index(), right.sort_index())


# -- inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("panel", [False, True], ids=["series", "panel"])
def test_inputs_not_mutated(panel: bool) -> None:
    bars = random_panel(30, seed=2) if panel else random_bars(40, seed=2)
    before = bars.copy(deep=True)
    spec = {"name": "direction", "horizon": 2}
    spec_before = dict(spec)
    for s in [*SPECS, spec]:
        make_labels(bars, s)
    pd.testing.assert_frame_equal(bars, before)
    assert spec == spec_before


def test_bad_bars_raise_data_error() -> None:
    bars = random_bars(10, seed=0)
    with pytest.raises(DataError, match="tz-aware"):
        direction(bars.tz_localize(None))
    with pytest.raises(DataError, match="no column 'close' \\(did you mean 'Close'\\?\\)"):
        direction(bars.rename(columns={"close": "Close"}))
    with pytest.raises(DataError, match="no column 'high'"):
        triple_barrier(bars.drop(columns="high"))
    triple_barrier(bars.drop(columns="high"), use_high_low=False)  # close only is enough
    broken = bars.copy()
    broken.loc[broken.index[4], "close"] = np.nan
    with pytest.raises(DataError, match="'close' has nan at row 4"):
        forward_return(broken)
    broken.loc[broken.index[4], "close"] = -1.0
    with pytest.raises(DataError, match="finite and > 0"):
        forward_return(broken)
    with pytest.raises(DataError, match=r"row 5 .* not after the previous bar"):
        forward_return(bars.iloc[[0, 1, 2, 3, 4, 4, 6]])
    with pytest.raises(DataError, match="not after the previous bar"):
        forward_return(bars.iloc[::-1])
    panel = random_panel(10, seed=0)
    panel.iloc[2, panel.columns.get_loc("symbol")] = None
    with pytest.raises(DataError, match="'symbol' is missing at row 2"):
        forward_return(panel)
    with pytest.raises(DataError, match="pass a DataFrame"):
        forward_return(bars["close"])


def test_labels_type_checks_its_contract() -> None:
    good = forward_return(random_bars(10, seed=0), horizon=2)
    with pytest.raises(DataError, match="same index"):
        Labels(good.y.iloc[1:], good.t1, "regression", "x", 2)
    with pytest.raises(DataError, match="before its t0"):
        Labels(good.y, good.t1 - pd.Timedelta(days=5), "regression", "x", 2)
    with pytest.raises(DataError, match="NaN exactly where t1 is NaT"):
        Labels(good.y.fillna(0.0), good.t1, "regression", "x", 2)
    with pytest.raises(DataError, match="UTC"):
        Labels(good.y, good.t1.dt.tz_localize(None), "regression", "x", 2)
    with pytest.raises(ConfigError, match="kind='ranking'"):
        Labels(good.y, good.t1, "ranking", "x", 2)  # type: ignore[arg-type]
    inferred = Labels(
        (good.y > 0).astype(float).where(good.valid), good.t1, "classification", "x", 2
    )
    np.testing.assert_array_equal(inferred.classes, [0.0, 1.0])
    with pytest.raises(AttributeError):
        good.horizon = 3  # type: ignore[misc]


# -- catalogue and specs ------------------------------------------------------------------


def test_catalogue() -> None:
    assert dict(LABEL_CATALOGUE) == FUNCTIONS
    with pytest.raises(TypeError):
        LABEL_CATALOGUE["mine"] = direction  # type: ignore[index]
    bars = random_bars(50, seed=4)
    for spec in SPECS:
        params = {k: v for k, v in spec.items() if k != "name"}
        expected = FUNCTIONS[spec["name"]](bars, **params)
        got = make_labels(bars, spec)
        pd.testing.assert_series_equal(got.y, expected.y)
        pd.testing.assert_series_equal(got.t1, expected.t1)


def test_spec_queries() -> None:
    assert label_kind({"name": "direction"}) == "classification"
    assert label_kind({"name": "triple_barrier"}) == "classification"
    assert label_kind({"name": "forward_return"}) == "regression"
    assert label_kind({"name": "forward_volatility"}) == "regression"
    assert label_horizon({"name": "direction"}) == 5
    assert label_horizon({"name": "forward_volatility"}) == 20
    assert label_horizon({"name": "triple_barrier", "horizon": 7}) == 7
    assert label_lookback({"name": "direction", "horizon": 9}) == 0
    assert label_lookback({"name": "triple_barrier"}) == 20
    assert label_lookback({"name": "triple_barrier", "vol_window": 12}) == 12


def test_lookback_matches_first_labelled_row() -> None:
    bars = random_bars(60, seed=8)
    spec = {"name": "triple_barrier", "vol_window": 7, "upper": 0.0}
    valid = make_labels(bars, spec).valid
    assert int(np.flatnonzero(valid)[0]) == label_lookback(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "directon"}, "Unknown label 'directon' \\(did you mean 'direction'\\?\\)"),
        ({"horizon": 5}, "set 'name' to one of direction, forward_return"),
        (
            {"name": "direction", "horizn": 5},
            "Unknown parameter 'horizn' for label 'direction' \\(did you mean 'horizon'\\?\\)",
        ),
        ({"name": "forward_return", "threshold": 0.1}, "'threshold' for label 'forward_return'"),
        ({"name": "direction", "horizon": 0}, "'direction': horizon=0 is invalid; use an int >= 1"),
        ({"name": "direction", "horizon": 2.5}, "horizon=2.5 is invalid"),
        ({"name": "direction", "horizon": True}, "horizon=True is invalid"),
        ({"name": "direction", "threshold": "x"}, "threshold='x' is invalid"),
        ({"name": "direction", "threshold": math.nan}, "threshold=nan is invalid"),
        ({"name": "forward_volatility", "annualize": 0}, "annualize=0 is invalid"),
        (
            {"name": "triple_barrier", "upper": -1.0},
            "upper=-1.0 is invalid; use a finite number >= 0",
        ),
        ({"name": "triple_barrier", "lower": -0.5}, "lower=-0.5 is invalid"),
        ({"name": "triple_barrier", "vol_window": 1}, "vol_window=1 is invalid; use an int >= 2"),
        (
            {"name": "triple_barrier", "vertical": "zeros"},
            "vertical='zeros' is invalid \\(did you mean 'zero'\\?\\)",
        ),
        ({"name": "triple_barrier", "use_high_low": "yes"}, "use_high_low='yes' is invalid"),
        ([("name", "direction")], "label spec is a list"),
    ],
)
def test_spec_validation_messages(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_label_spec(spec)
    with pytest.raises(ConfigError, match=message):
        make_labels(random_bars(5, seed=0), spec)


def test_valid_specs_pass_and_functions_check_their_own_parameters() -> None:
    validate_label_spec({"name": "forward_volatility", "annualize": None})
    validate_label_spec({"name": "direction", "horizon": np.int64(3), "threshold": 1})
    for spec in SPECS:
        validate_label_spec(spec)
    bars = random_bars(10, seed=0)
    with pytest.raises(ConfigError, match="'forward_return': horizon=-2"):
        forward_return(bars, horizon=-2)
    with pytest.raises(ConfigError, match="'triple_barrier': upper=-1"):
        triple_barrier(bars, upper=-1)
