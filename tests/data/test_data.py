"""Tests of mltrainer.data: bundled loads, files, mapping, time zones and every validation error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.data import (
    BAR_COLUMNS,
    data_fingerprint,
    is_panel,
    list_datasets,
    load_bars,
    validate_bars,
)
from mltrainer.exceptions import ConfigError, DataError, NotFoundError


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    return load_bars("sp500")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_bars(["sp500", "nasdaq"])


def _raw(n: int = 6, *, seed: int = 0) -> pd.DataFrame:
    """A valid raw bar table as a CSV would hold it (time as text in a 'Date' column)."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = close + rng.normal(0, 0.5, n)
    high = np.maximum(open_, close) + rng.uniform(0.1, 1, n)
    low = np.minimum(open_, close) - rng.uniform(0.1, 1, n)
    dates = pd.date_range("2021-01-04", periods=n, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "Date": dates,
            "Open": open_,
            "High": high,
            "Low": low,
            "Close": close,
            "Volume": rng.integers(1_000, 5_000, n),
        }
    )


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _raises(path_or_source: object, match: str, **kwargs: object) -> str:
    """Load, expect a one-line DataError matching ``match``, return its message."""
    with pytest.raises(DataError, match=match) as info:
        load_bars(path_or_source, **kwargs)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "\n" not in msg
    return msg


# --- bundled data -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sp500", "nasdaq"])
def test_bundled_loads_canonical(name: str) -> None:
    bars = load_bars(name)
    assert bars.shape == (5031, 5)
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert isinstance(bars.index, pd.DatetimeIndex)
    assert str(bars.index.tz) == "UTC"
    assert bars.index.name == "timestamp"
    assert (bars.dtypes == np.float64).all()
    assert not bars.isna().to_numpy().any()
    assert bars.index.is_monotonic_increasing
    assert bars.index.is_unique
    # stamped at the close, 16:00 New York: 21:00 UTC in winter (EST)
    assert bars.index[0] == pd.Timestamp("1999-01-04 21:00", tz="UTC")
    assert bars.index[-1] == pd.Timestamp("2018-12-31 21:00", tz="UTC")
    assert not is_panel(bars)


def test_bundled_matches_arch_source(sp500: pd.DataFrame) -> None:
    import arch.data.sp500

    source = arch.data.sp500.load()
    np.testing.assert_array_equal(sp500["close"].to_numpy(), source["Close"].to_numpy())
    np.testing.assert_array_equal(sp500["volume"].to_numpy(), source["Volume"].to_numpy())
    assert sp500["close"].iloc[0] == pytest.approx(1228.099976)
    adj = load_bars("sp500", columns={"Adj Close": "close"})  # mapping works on bundled data
    np.testing.assert_array_equal(adj["close"].to_numpy(), source["Adj Close"].to_numpy())


def test_panel_of_bundled(panel: pd.DataFrame, sp500: pd.DataFrame) -> None:
    assert panel.shape == (10062, 6)
    assert list(panel.columns) == ["symbol", *BAR_COLUMNS]
    assert is_panel(panel)
    assert panel["symbol"].dtype == "str"
    assert (
        panel.index[:4].tolist()
        == [pd.Timestamp("1999-01-04 21:00", tz="UTC")] * 2
        + [pd.Timestamp("1999-01-05 21:00", tz="UTC")] * 2
    )
    assert panel["symbol"].iloc[:4].tolist() == ["nasdaq", "sp500", "nasdaq", "sp500"]
    ts = panel.index.asi8
    assert (np.diff(ts) >= 0).all()
    only = load_bars(["sp500", "nasdaq"], symbols=["sp500"])
    pd.testing.assert_frame_equal(only.drop(columns="symbol"), sp500)


def test_list_datasets() -> None:
    table = list_datasets()
    assert list(table.columns) == ["name", "description", "rows", "start", "end", "frequency"]
    assert table["name"].tolist() == ["sp500", "nasdaq"]
    assert table["rows"].tolist() == [5031, 5031]
    assert (table["start"] == pd.Timestamp("1999-01-04 21:00", tz="UTC")).all()


def test_unknown_dataset_suggests_name(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"did you mean 'sp500'\?.*'sp500', 'nasdaq'"):
        load_bars("sp5000")
    with pytest.raises(NotFoundError, match="no bundled dataset or file named"):
        load_bars(tmp_path / "missing.csv")
    with pytest.raises(NotFoundError, match="did you mean 'nasdaq'"):
        load_bars(["sp500", "nasdak"])
    with pytest.raises(ConfigError, match="twice"):
        load_bars(["sp500", "sp500"])


def test_symbols_errors(panel: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'sp500'"):
        load_bars(["sp500", "nasdaq"], symbols=["sp50"])
    with pytest.raises(ConfigError, match="single instrument"):
        load_bars("sp500", symbols=["sp500"])


# --- files, mapping, time zones --------------------------------------------------------------


def test_csv_round_trip_and_case_insensitive_names(tmp_path: Path) -> None:
    raw = _raw().rename(columns={"Close": "CLOSE", "Date": "DATE"})
    raw["Adj Close"] = raw["CLOSE"] * 0.9  # extra column, dropped
    bars = load_bars(_csv(tmp_path, raw))
    assert list(bars.columns) == list(BAR_COLUMNS)
    np.testing.assert_allclose(bars["close"].to_numpy(), raw["CLOSE"].to_numpy())
    # dates only, no session_close: the bar closes at the end of its date (tz UTC)
    assert bars.index[0] == pd.Timestamp("2021-01-05 00:00", tz="UTC")


def test_column_mapping(tmp_path: Path) -> None:
    raw = _raw().rename(columns={"Volume": "Vol"})
    raw["Adj Close"] = raw["Close"]
    raw["Close"] = raw["Open"]  # differs from Adj Close; the mapped column must win
    columns = {"Adj Close": "close", "Vol": "volume"}
    bars = load_bars(_csv(tmp_path, raw), columns=columns)
    assert columns == {"Adj Close": "close", "Vol": "volume"}  # not mutated
    np.testing.assert_allclose(bars["volume"].to_numpy(), raw["Vol"].to_numpy())
    np.testing.assert_allclose(bars["close"].to_numpy(), raw["Adj Close"].to_numpy())
    assert not np.allclose(bars["close"].to_numpy(), raw["Close"].to_numpy())
    with pytest.raises(ConfigError, match=r"\['Volum'\] not found.*did you mean 'Vol'"):
        load_bars(_csv(tmp_path, raw), columns={"Volum": "volume"})
    with pytest.raises(ConfigError, match="'closing' is not a canonical column"):
        load_bars(_csv(tmp_path, raw), columns={"Vol": "closing"})


def test_parquet_round_trip(tmp_path: Path, panel: pd.DataFrame) -> None:
    part = panel.iloc[:500]
    path = tmp_path / "panel.parquet"
    part.to_parquet(path)
    pd.testing.assert_frame_equal(load_bars(path), part)
    naive = _raw().set_index("Date")
    naive.index = pd.DatetimeIndex(naive.index)  # time in a naive parquet index
    naive.to_parquet(tmp_path / "naive.parquet")
    bars = load_bars(str(tmp_path / "naive.parquet"), tz="Europe/Berlin")
    assert bars.index[0] == pd.Timestamp("2021-01-04 23:00", tz="UTC")  # end of the Berlin day
    at = load_bars(tmp_path / "naive.parquet", tz="Europe/Berlin", session_close="17:30")
    assert at.index[0] == pd.Timestamp("2021-01-04 16:30", tz="UTC")


def test_tz_conversion(tmp_path: Path) -> None:
    raw = _raw(2)
    raw["Date"] = ["2021-01-04 09:30", "2021-07-06 09:30"]
    bars = load_bars(_csv(tmp_path, raw), tz="America/New_York")
    assert bars.index.tolist() == [
        pd.Timestamp("2021-01-04 14:30", tz="UTC"),  # EST, UTC-5
        pd.Timestamp("2021-07-06 13:30", tz="UTC"),  # EDT, UTC-4
    ]
    raw["Date"] = ["2021-01-04T09:30:00-05:00", "2021-07-06T09:30:00-04:00"]
    assert load_bars(_csv(tmp_path, raw), tz="Asia/Tokyo").index.equals(bars.index)
    raw["Date"] = ["2021-03-14 01:30", "2021-03-14 02:30"]  # 02:30 does not exist in New York
    _raises(_csv(tmp_path, raw), r"cannot be read in tz='America/New_York'", tz="America/New_York")
    with pytest.raises(ConfigError, match="did you mean 'America/New_York'"):
        load_bars("sp500", tz="America/New_Yrok")


def test_start_end_inclusive(sp500: pd.DataFrame, panel: pd.DataFrame) -> None:
    bars = load_bars("sp500", start="2018-12-24", end=pd.Timestamp("2018-12-28"))
    assert bars.index.tolist() == [
        pd.Timestamp(f"{d} 21:00", tz="UTC")
        for d in ["2018-12-24", "2018-12-26", "2018-12-27", "2018-12-28"]
    ]  # a date as end keeps that date's bar, stamped at its close
    pd.testing.assert_frame_equal(bars, sp500.loc["2018-12-24":"2018-12-28"])
    assert len(load_bars(["sp500", "nasdaq"], start="2018-12-31")) == 2
    with pytest.raises(ConfigError, match="after end"):
        load_bars("sp500", start="2019-01-01", end="2018-01-01")
    with pytest.raises(ConfigError, match="start='yesterday-ish' is not a timestamp"):
        load_bars("sp500", start="yesterday-ish")


def test_min_rows_message(tmp_path: Path) -> None:
    msg = _raises(
        "sp500",
        r"sp500: needs at least 300 rows \(5 folds of 60\), got 251;",
        start="2018-01-01",
        min_rows=300,
        min_rows_reason="5 folds of 60",
    )
    assert "start/end" in msg
    _raises("sp500", r"needs at least 1 row, got 0", start="2030-01-01")
    raw = pd.concat([_raw(5).assign(Symbol="AAA"), _raw(3).assign(Symbol="BBB")])
    _raises(_csv(tmp_path, raw), r"symbol 'BBB' needs at least 4 rows, got 3 \(1 of 2", min_rows=4)
    _raises(
        ["sp500", "nasdaq"],
        r"symbol 'sp500' needs at least 1 row, got 0",
        symbols=["sp500"],
        start="2030-01-01",
    )
    with pytest.raises(ConfigError, match="min_rows=0 must be an integer >= 1"):
        load_bars("sp500", min_rows=0)


# --- validation failures --------------------------------------------------------------------


def test_empty_inputs(tmp_path: Path) -> None:
    (tmp_path / "zero.csv").write_text("")
    _raises(tmp_path / "zero.csv", "file has no rows")
    _raises(_csv(tmp_path, _raw().iloc[:0]), r"bars\.csv: file has no rows")
    with pytest.raises(DataError, match=r"^frame: no bars \(0 rows\); pass at least one bar"):
        validate_bars(pd.DataFrame(columns=list(BAR_COLUMNS)))


def test_missing_columns_and_time(tmp_path: Path) -> None:
    raw = _raw().drop(columns=["Volume"])
    _raises(_csv(tmp_path, raw), r"missing column\(s\) \['volume'\].*columns=\{")
    _raises(_csv(tmp_path, _raw().drop(columns=["Date"])), "no time column")
    both = _raw().assign(Time="09:30")
    _raises(_csv(tmp_path, both), r"several time columns \['Date', 'Time'\]")


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("garbage", r"timestamp 'garbage' at line 5 is not a timestamp"),
        ("", r"timestamp missing at line 5"),
        ("01/07/2021", r"'01/07/2021' at line 5 does not match the format of line 2 \('2021"),
    ],
)
def test_unparseable_timestamp(tmp_path: Path, bad: str, match: str) -> None:
    raw = _raw()
    raw.loc[3, "Date"] = bad
    _raises(_csv(tmp_path, raw), match)


def test_numeric_epoch_timestamps_rejected(tmp_path: Path) -> None:
    raw = _raw().assign(Date=np.arange(6) + 1_600_000_000)
    _raises(_csv(tmp_path, raw), "epoch timestamps are not supported")


def test_unsorted_names_row(tmp_path: Path) -> None:
    raw = _raw()
    raw.loc[4, "Date"] = "2021-01-01"
    _raises(
        _csv(tmp_path, raw),
        r"not sorted: line 6 \(timestamp 2021-01-01\) is earlier than line 5 \(2021-01-07\)",
    )


def test_unsorted_per_symbol(tmp_path: Path) -> None:
    a, b = _raw(4).assign(Symbol="AAA"), _raw(4).assign(Symbol="BBB")
    ok = pd.concat([a, b], ignore_index=True)  # each symbol sorted, interleaving is fine
    bars = load_bars(_csv(tmp_path, ok))
    assert bars["symbol"].tolist() == ["AAA", "BBB"] * 4
    b.loc[2, "Date"] = "2020-12-01"
    _raises(
        _csv(tmp_path, pd.concat([a, b], ignore_index=True)),
        r"line 8 \(timestamp 2020-12-01, symbol 'BBB'\) is earlier than line 7 \(2021-01-05\)",
    )


def test_duplicated_timestamp_named(tmp_path: Path) -> None:
    raw = _raw()
    raw.loc[3, "Date"] = raw.loc[2, "Date"]
    raw.loc[4, "Date"] = raw.loc[2, "Date"]
    raw = raw.sort_values("Date", kind="stable")
    _raises(
        _csv(tmp_path, raw),
        r"duplicated timestamp at line 5 \(timestamp 2021-01-06\): it appears 3 times "
        r"\(2 duplicate row\(s\) in all\)",
    )
    a, b = _raw(3).assign(Symbol="AAA"), _raw(3).assign(Symbol="BBB")
    _raises(
        _csv(tmp_path, pd.concat([a, b.iloc[:2], b.iloc[[1]], b.iloc[2:]], ignore_index=True)),
        r"duplicated timestamp at line 7 \(timestamp 2021-01-05, symbol 'BBB'\): it appears 2 "
        r"times",
    )


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        (
            "Close",
            np.nan,
            r"column 'close' has 1 NaN/inf/non-positive price\(s\), first nan at "
            r"line 4 \(timestamp 2021-01-06\)",
        ),
        ("Open", np.inf, r"column 'open' has 1 NaN/inf/non-positive price\(s\), first inf"),
        ("Low", -1.0, r"column 'low' has 1 NaN/inf/non-positive price\(s\), first -1.0 at line 4"),
        ("High", 0.0, r"column 'high' has 1 NaN/inf/non-positive price\(s\), first 0.0"),
        ("Volume", -5, r"column 'volume' has 1 NaN/inf/negative value\(s\), first -5.0 at line 4"),
        ("Volume", np.nan, r"column 'volume' has 1 NaN/inf/negative value\(s\), first nan"),
        ("Close", "12,5", r"column 'close' has 1 non-numeric value\(s\), first '12,5' at line 4"),
    ],
)
def test_bad_values(tmp_path: Path, column: str, value: object, match: str) -> None:
    raw = _raw().astype({column: object})
    raw.loc[2, column] = value
    msg = _raises(_csv(tmp_path, raw), match)
    assert msg.startswith(str(tmp_path / "bars.csv"))


def test_ohlc_consistency(tmp_path: Path) -> None:
    raw = _raw()
    raw.loc[1, "High"] = raw.loc[1, "Low"] - 1
    _raises(_csv(tmp_path, raw), r"'high' is below 'low' in 1 bar\(s\), first at line 3")
    for col, row in (("Close", 4), ("Open", 5)):
        raw = _raw()
        raw.loc[row, col] = raw.loc[row, "High"] + 0.5
        _raises(
            _csv(tmp_path, raw),
            rf"column '{col.lower()}' is outside \[low, high\] in 1 "
            rf"bar\(s\), first at line {row + 2}",
        )
    raw = _raw()
    raw["Close"] = raw["High"] * (1 + 1e-12)  # float noise is tolerated
    raw["Open"] = raw["Low"] * (1 - 1e-12)
    assert len(load_bars(_csv(tmp_path, raw))) == 6


# --- validate_bars, fingerprint, immutability ------------------------------------------------


def test_validate_bars_normalises_and_does_not_mutate(sp500: pd.DataFrame) -> None:
    frame = sp500.iloc[:50].copy()
    frame.index = frame.index.tz_convert("America/New_York").as_unit("us")
    frame["volume"] = frame["volume"].astype(np.int64)
    frame["extra"] = 1.0
    before = frame.copy()
    out = validate_bars(frame, source="mine")
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(out, sp500.iloc[:50])
    assert out is not frame
    with pytest.raises(DataError, match=r"^mine: needs at least 60 rows \(warm-up\), got 50;"):
        validate_bars(frame, min_rows=60, min_rows_reason="warm-up", source="mine")


def test_validate_bars_sorts_panel_stably(panel: pd.DataFrame) -> None:
    rng = np.random.default_rng(7)
    by_symbol = panel.iloc[np.argsort(panel["symbol"].to_numpy(), kind="stable")]
    assert not by_symbol.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(validate_bars(by_symbol), panel)
    swap = by_symbol.copy()
    i = int(rng.integers(1, 5000))
    values = swap.index.to_numpy().copy()
    values[[i, i + 1]] = values[[i + 1, i]]
    swap.index = pd.DatetimeIndex(values, name="timestamp")
    with pytest.raises(DataError, match=rf"row {i + 1} .* is earlier than row {i}"):
        validate_bars(swap)


def test_load_does_not_mutate_file_or_list(tmp_path: Path) -> None:
    raw = _raw()
    path = _csv(tmp_path, raw)
    text = path.read_text()
    names = ["sp500", "nasdaq"]
    load_bars(path)
    load_bars(names, symbols=("nasdaq",))
    assert path.read_text() == text
    assert names == ["sp500", "nasdaq"]


def test_fingerprint(sp500: pd.DataFrame, panel: pd.DataFrame) -> None:
    fp = data_fingerprint(sp500)
    assert fp == data_fingerprint(load_bars("sp500"))
    assert fp["rows"] == 5031
    assert fp["symbols"] is None
    assert fp["start"] == "1999-01-04T21:00:00+00:00"
    assert fp["end"] == "2018-12-31T21:00:00+00:00"
    assert fp["columns"] == list(BAR_COLUMNS)
    assert re.fullmatch(r"[0-9a-f]{64}", fp["sha256"])
    assert data_fingerprint(panel)["symbols"] == ["nasdaq", "sp500"]
    changed = sp500.copy()
    changed.iloc[100, 3] += 0.01
    assert data_fingerprint(changed)["sha256"] != fp["sha256"]
    us = sp500.set_axis(sp500.index.as_unit("us"), axis="index")
    assert data_fingerprint(us)["sha256"] == fp["sha256"]  # unit does not matter
    tiny = pd.DataFrame(
        {"close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2020-01-01", "2020-01-02"], tz="UTC")
    )
    assert data_fingerprint(tiny)["sha256"] == GOLDEN_TINY  # same in every run and process


GOLDEN_TINY = "f402daba0e958fd25531d760832c2b044df88dc835b3f353233f46d5f833d29d"


def test_validate_bars_input_shapes(sp500: pd.DataFrame, panel: pd.DataFrame) -> None:
    head = sp500.iloc[:5]
    text = head.set_axis(head.index.strftime("%Y-%m-%dT%H:%M:%SZ"), axis="index")
    pd.testing.assert_frame_equal(validate_bars(text), head)
    with pytest.raises(DataError, match=r"RangeIndex, not time.*set_index\('timestamp'\)"):
        validate_bars(head.reset_index())
    with pytest.raises(DataError, match="expected a pandas DataFrame of bars, got list"):
        validate_bars([1, 2])  # type: ignore[arg-type]
    gap = panel.iloc[:6].astype({"symbol": object})
    gap.iloc[3, 0] = None
    with pytest.raises(
        DataError, match=r"column 'symbol' is missing at row 3 \(timestamp 1999-01-05"
    ):
        validate_bars(gap)


def test_bad_files_and_options(tmp_path: Path) -> None:
    (tmp_path / "bars.txt").write_text("Date,Close\n")
    _raises(tmp_path / "bars.txt", r"unsupported file type '\.txt'")
    (tmp_path / "bad.parquet").write_text("not parquet")
    _raises(tmp_path / "bad.parquet", r"bad\.parquet: cannot read the file \(")
    with pytest.raises(ConfigError, match=r"symbols='sp500' must be a list of names"):
        load_bars(["sp500", "nasdaq"], symbols="sp500")
    with pytest.raises(ConfigError, match="non-empty list of names"):
        load_bars([])
