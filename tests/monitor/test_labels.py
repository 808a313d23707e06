"""A labels file is stamped on the model's bars' clock: naive times in the bars' zone, dates
at the bars' close; without the model's settings naive times are refused, not read as UTC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mltrainer import load_bars
from mltrainer.exceptions import DataError
from mltrainer.monitor import read_labels
from mltrainer.monitor._window import _labels_for


def _meta(**data: Any) -> dict[str, Any]:
    return {"config": {"data": data}}


def _csv(path: Path, stamps: list[str]) -> Path:
    pd.DataFrame({"timestamp": stamps, "label": [1.0] * len(stamps)}).to_csv(path, index=False)
    return path


def test_dates_line_up_with_the_bundled_bars_close(tmp_path: Path) -> None:
    bars = load_bars("sp500", start="2017-01-01", end="2017-07-31")
    dates = bars.index.tz_convert("America/New_York").strftime("%Y-%m-%d").tolist()
    labels = read_labels(_csv(tmp_path / "l.csv", dates), _meta(source="sp500", tz="UTC"))
    # the NYSE close, 21:00 UTC in winter and 20:00 UTC in summer: the bars' own stamps
    assert labels.index.equals(bars.index)
    assert labels.index[0] == pd.Timestamp("2017-01-03 21:00", tz="UTC")


def test_naive_times_are_read_in_the_bars_zone(tmp_path: Path) -> None:
    path = _csv(tmp_path / "l.csv", ["2017-01-03 16:00:00", "2017-07-05 16:00:00"])
    bundled = read_labels(path, _meta(source="sp500", tz="UTC"))  # the exchange's zone
    assert list(bundled.index) == [
        pd.Timestamp("2017-01-03 21:00", tz="UTC"),
        pd.Timestamp("2017-07-05 20:00", tz="UTC"),
    ]
    tokyo = read_labels(path, _meta(source=str(tmp_path / "bars.csv"), tz="Asia/Tokyo"))
    assert tokyo.index[0] == pd.Timestamp("2017-01-03 07:00", tz="UTC")


def test_dates_of_a_file_model_close_at_its_session_close(tmp_path: Path) -> None:
    meta = _meta(source="bars.csv", tz="Asia/Tokyo", session_close="15:00")
    labels = read_labels(_csv(tmp_path / "l.csv", ["2021-01-04", "2021-01-05"]), meta)
    assert labels.index[0] == pd.Timestamp("2021-01-04 06:00", tz="UTC")
    end_of_day = read_labels(tmp_path / "l.csv", _meta(source="bars.csv", tz="UTC"))
    assert end_of_day.index[0] == pd.Timestamp("2021-01-05 00:00", tz="UTC")  # the next midnight


def test_times_with_an_offset_are_instants_with_or_without_the_model(tmp_path: Path) -> None:
    path = _csv(tmp_path / "l.csv", ["2017-01-03T21:00:00Z", "2017-01-04T16:00:00-05:00"])
    alone = read_labels(path)
    with_model = read_labels(path, _meta(source="sp500"))
    assert alone.index.equals(with_model.index)
    assert list(alone.index) == [
        pd.Timestamp("2017-01-03 21:00", tz="UTC"),
        pd.Timestamp("2017-01-04 21:00", tz="UTC"),
    ]


def test_naive_times_without_the_model_are_refused_naming_the_row(tmp_path: Path) -> None:
    path = _csv(tmp_path / "l.csv", ["2017-01-03 16:00:00", "2017-01-04 16:00:00"])
    with pytest.raises(DataError, match=r"'2017-01-03 16:00:00' at line 2 is a naive time") as info:
        read_labels(path)
    message = str(info.value)
    assert "\n" not in message
    assert "read_labels(path, model.metadata)" in message
    assert "UTC offset" in message
    dates = _csv(tmp_path / "d.csv", ["2017-01-03"])
    with pytest.raises(DataError, match="at line 2 is a date with no UTC offset"):
        read_labels(dates)


def test_mixed_naive_and_offset_times_are_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path / "l.csv", ["2017-01-03T21:00:00Z", "2017-01-04 16:00:00"])
    with pytest.raises(DataError, match="mix naive times and times with a UTC offset"):
        read_labels(path, _meta(source="sp500"))


def test_labels_with_a_naive_index_are_refused_in_memory() -> None:
    index = pd.date_range("2017-01-03 21:00", periods=3, freq="D", tz="UTC")
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=index)
    naive = pd.Series([1.0, 0.0, 1.0], index=index.tz_localize(None))
    with pytest.raises(DataError, match="naive times"):
        _labels_for(X, naive)
    y, _ = _labels_for(X, naive.tz_localize("UTC"))
    assert y.tolist() == [1.0, 0.0, 1.0]
