"""Every bar is stamped at its close: bundled data at the exchange close, files by bar_time."""

from __future__ import annotations

from pathlib import Path

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest

from mltrainer.config import DataConfig, config_from_dict
from mltrainer.data import load_bars, validate_bars
from mltrainer.exceptions import ConfigError, DataError, MltrainerError

NY = "America/New_York"


def _bars(stamps: list[str] | pd.DatetimeIndex, *, symbol: str | None = None) -> pd.DataFrame:
    n = len(stamps)
    close = np.linspace(100.0, 101.0, n)
    frame = pd.DataFrame(
        {
            "timestamp": [str(s) for s in stamps],
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.full(n, 1000.0),
        }
    )
    return frame if symbol is None else frame.assign(symbol=symbol)


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


# --- bundled data ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sp500", "nasdaq"])
def test_bundled_bars_are_stamped_at_the_new_york_close(name: str) -> None:
    bars = load_bars(name)
    local = bars.index.tz_convert(NY)
    assert (local.hour == 16).all()
    assert (local.minute == 0).all()
    source = arch.data.sp500.load() if name == "sp500" else None
    if source is not None:  # one bar per trading date, on that date
        np.testing.assert_array_equal(local.normalize().tz_localize(None), source.index)
    # daylight saving: 21:00 UTC in winter (EST), 20:00 UTC in summer (EDT)
    assert bars.loc["2018-01-02"].index[0] == pd.Timestamp("2018-01-02 21:00", tz="UTC")
    assert bars.loc["2018-07-02"].index[0] == pd.Timestamp("2018-07-02 20:00", tz="UTC")


def test_a_date_only_file_with_the_exchange_close_matches_the_bundled_stamps(
    tmp_path: Path,
) -> None:
    bundled = load_bars("sp500", start="2018-03-01", end="2018-03-31")  # spans the DST change
    raw = bundled.set_axis(bundled.index.tz_convert(NY).strftime("%Y-%m-%d"), axis="index")
    path = tmp_path / "spx.csv"
    raw.rename_axis("Date").to_csv(path)
    bars = load_bars(path, tz=NY, session_close="16:00")
    pd.testing.assert_frame_equal(bars, bundled)


def test_session_close_is_refused_for_bundled_data() -> None:
    with pytest.raises(ConfigError, match=r"session_close='17:30' is for files: sp500 is stamped"):
        load_bars("sp500", session_close="17:30")
    assert len(load_bars("sp500", session_close="16:00", start="2018-12-01")) == 19  # its own


# --- files: dates only -------------------------------------------------------------------------


def test_a_date_without_session_close_closes_at_the_end_of_that_day_in_tz(tmp_path: Path) -> None:
    path = _csv(tmp_path, _bars(["2021-01-04", "2021-01-05", "2021-07-06"]))
    assert load_bars(path).index.tolist() == [
        pd.Timestamp("2021-01-05 00:00", tz="UTC"),
        pd.Timestamp("2021-01-06 00:00", tz="UTC"),
        pd.Timestamp("2021-07-07 00:00", tz="UTC"),
    ]
    assert load_bars(path, tz=NY).index.tolist() == [
        pd.Timestamp("2021-01-05 05:00", tz="UTC"),  # midnight EST
        pd.Timestamp("2021-01-06 05:00", tz="UTC"),
        pd.Timestamp("2021-07-07 04:00", tz="UTC"),  # midnight EDT
    ]
    assert load_bars(path, tz=NY, session_close="16:00").index.tolist() == [
        pd.Timestamp("2021-01-04 21:00", tz="UTC"),
        pd.Timestamp("2021-01-05 21:00", tz="UTC"),
        pd.Timestamp("2021-07-06 20:00", tz="UTC"),
    ]
    tokyo = load_bars(path, tz="Asia/Tokyo", session_close="15:00:00")
    assert tokyo.index[0] == pd.Timestamp("2021-01-04 06:00", tz="UTC")


def test_bar_time_open_on_dates_closes_on_the_bars_last_day(tmp_path: Path) -> None:
    daily = _csv(tmp_path, _bars(["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-08"]))
    same = load_bars(daily, tz=NY, session_close="16:00")
    pd.testing.assert_frame_equal(
        load_bars(daily, tz=NY, session_close="16:00", bar_time="open"), same
    )
    mondays = pd.date_range("2021-01-04", periods=4, freq="7D").strftime("%Y-%m-%d").tolist()
    weekly = _csv(tmp_path, _bars(mondays), "weekly.csv")
    opened = load_bars(weekly, tz=NY, session_close="16:00", bar_time="open")
    assert opened.index[0] == pd.Timestamp("2021-01-10 21:00", tz="UTC")  # six days on
    closed = load_bars(weekly, tz=NY, session_close="16:00", bar_time="close")
    assert closed.index[0] == pd.Timestamp("2021-01-04 21:00", tz="UTC")


def test_midnights_written_with_an_offset_are_taken_as_written(tmp_path: Path) -> None:
    bars = load_bars("sp500", start="2018-06-01", end="2018-06-30")
    daily = bars.set_axis(bars.index.normalize(), axis="index")  # aware midnights
    path = tmp_path / "aware.csv"
    daily.to_csv(path)
    pd.testing.assert_frame_equal(load_bars(path), daily, check_freq=False)


@pytest.mark.parametrize("name", ["round.csv", "round.parquet"])
def test_loaded_bars_written_back_load_unchanged(tmp_path: Path, name: str) -> None:
    bars = load_bars("sp500", start="2018-01-01")
    path = tmp_path / name
    if name.endswith(".csv"):
        bars.to_csv(path)
    else:
        bars.to_parquet(path)
    pd.testing.assert_frame_equal(load_bars(path, tz=NY, session_close="09:30"), bars)


# --- files: a time of day ----------------------------------------------------------------------


def _session(day: str, *, minutes: int = 5) -> pd.DatetimeIndex:
    return pd.date_range(f"{day} 09:30", f"{day} 15:55", freq=f"{minutes}min")


def test_intraday_bar_time_open_adds_the_bar_length(tmp_path: Path) -> None:
    opens = _session("2021-03-12").append(_session("2021-03-15"))  # a weekend and a DST change
    path = _csv(tmp_path, _bars(opens))
    closed = load_bars(path, tz=NY)
    opened = load_bars(path, tz=NY, bar_time="open")
    np.testing.assert_array_equal(
        opened.index.asi8 - closed.index.asi8, np.full(len(opens), pd.Timedelta("5min").value)
    )
    assert opened.index[-1] == pd.Timestamp("2021-03-15 20:00", tz="UTC")  # 16:00 EDT
    pd.testing.assert_frame_equal(opened.reset_index(drop=True), closed.reset_index(drop=True))


def test_bar_length_is_found_per_symbol_of_a_panel(tmp_path: Path) -> None:
    hours = pd.date_range("2021-01-04 00:00", periods=6, freq="1h", tz="UTC")
    panel = pd.concat([_bars(hours, symbol="EURUSD"), _bars(hours[::2], symbol="USDJPY")])
    bars = load_bars(_csv(tmp_path, panel), bar_time="open")
    eur = bars[bars["symbol"] == "EURUSD"].index
    assert eur[0] == pd.Timestamp("2021-01-04 01:00", tz="UTC")  # most steps are 1 h


def test_bar_time_open_refuses_an_ambiguous_or_unknown_bar_length(tmp_path: Path) -> None:
    irregular = pd.DatetimeIndex(
        ["2021-01-04 09:30", "2021-01-04 09:35", "2021-01-04 09:45", "2021-01-04 10:15"]
    )
    path = _csv(tmp_path, _bars(irregular))
    with pytest.raises(DataError, match=r"steps between bars are irregular \(the most common, "):
        load_bars(path, bar_time="open")
    assert len(load_bars(path)) == 4  # stamped at their close, nothing to infer
    one = _csv(tmp_path, _bars(["2021-01-04 09:30"]), "one.csv")
    with pytest.raises(DataError, match=r"one bar \(per symbol\) does not show it"):
        load_bars(one, bar_time="open")


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bar_time": "start"}, r"bar_time='start' is not one of \['open', 'close'\]"),
        ({"session_close": "25:00"}, r"session_close='25:00' is not a time of day; write"),
        ({"session_close": 960}, r"YAML reads an unquoted 16:00 as the number 960: quote it"),
    ],
)
def test_bad_bar_time_options_are_refused(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    path = _csv(tmp_path, _bars(["2021-01-04"]))
    with pytest.raises(ConfigError, match=match):
        load_bars(path, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=match):
        validate_bars(_bars(["2021-01-04"]).set_index("timestamp"), **kwargs)  # type: ignore[arg-type]


def test_a_date_as_end_keeps_that_dates_bar_and_a_time_is_inclusive() -> None:
    assert load_bars("sp500", start="2018-12-28", end="2018-12-28").index.tolist() == [
        pd.Timestamp("2018-12-28 21:00", tz="UTC")
    ]
    assert len(load_bars("sp500", start="2018-12-27", end="2018-12-28 20:59")) == 1
    assert len(load_bars("sp500", start="2018-12-27", end="2018-12-28 21:00")) == 2
    assert len(load_bars("sp500", start="2018-12-27", end=pd.Timestamp("2018-12-28"))) == 2
    with pytest.raises(ConfigError, match="after end"):
        load_bars("sp500", start="2018-12-29", end="2018-12-28")


def test_data_config_carries_bar_time_and_session_close(tmp_path: Path) -> None:
    opens = _session("2021-03-12")
    path = _csv(tmp_path, _bars(opens))
    config = config_from_dict(
        {"data": {"source": str(path), "tz": NY, "bar_time": "open", "session_close": "16:00"}}
    )
    data = config.data
    assert (data.bar_time, data.session_close) == ("open", "16:00")
    assert DataConfig().bar_time == "close"
    assert DataConfig().session_close is None
    bars = load_bars(
        data.source, tz=data.tz, bar_time=data.bar_time, session_close=data.session_close
    )
    assert bars.index[0] == pd.Timestamp("2021-03-12 14:35", tz="UTC")
    with pytest.raises(MltrainerError, match="bar_time"):
        config_from_dict({"data": {"bar_time": "middle"}})
    with pytest.raises(MltrainerError, match="quote it"):
        config_from_dict({"data": {"session_close": 960}})


def test_decision_times_and_label_ends_follow_the_close_stamps() -> None:
    from mltrainer.labels import make_labels

    bars = load_bars("sp500", start="2018-06-25", end="2018-07-31")
    labels = make_labels(bars, {"name": "direction", "horizon": 1})
    assert labels.y.index.equals(bars.index)
    ends = labels.t1.dropna()
    np.testing.assert_array_equal(ends.to_numpy(), bars.index[1 : len(ends) + 1].to_numpy())
    assert (ends.dt.tz_convert(NY).dt.hour == 16).all()
