"""Time zones of bar files: naive times are read in ``tz``; a naive/offset mix is refused."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.data import load_bars, validate_bars
from mltrainer.exceptions import ConfigError, DataError

NY = "America/New_York"


def _raw(stamps: list[str]) -> pd.DataFrame:
    n = len(stamps)
    close = np.linspace(100.0, 101.0, n)
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.full(n, 1000.0),
        }
    )


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _parquet(tmp_path: Path, frame: pd.DataFrame, name: str = "bars.parquet") -> Path:
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    return path


MIXED = ["2021-01-04 09:30", "2021-01-05 09:30", "2021-01-06T09:30:00-05:00", "2021-01-07 09:30"]


def test_csv_mixing_naive_and_offset_times_is_refused_naming_both_lines(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_bars(_csv(tmp_path, _raw(MIXED)), tz=NY)
    msg = str(info.value)
    assert "\n" not in msg
    assert (
        "timestamps mix naive times and times with a UTC offset: line 2 ('2021-01-04 09:30') "
        "has no offset but line 4 ('2021-01-06T09:30:00-05:00') has one (3 naive, 1 with an "
        "offset)" in msg
    )
    assert "naive ones are read in tz='America/New_York'" in msg


@pytest.mark.parametrize(
    "aware",
    ["2021-01-04T14:30:00Z", "2021-01-04 14:30:00+00:00", "2021-01-04T09:30-0500"],
)
def test_every_offset_spelling_counts_as_aware_in_a_mix(tmp_path: Path, aware: str) -> None:
    stamps = [aware, "2021-01-05 09:30", "2021-01-06 09:30"]
    with pytest.raises(DataError, match=r"line 3 \('2021-01-05 09:30'\) has no offset but line 2"):
        load_bars(_csv(tmp_path, _raw(stamps)), tz=NY)


def test_parquet_text_column_mixing_kinds_is_refused_naming_rows(tmp_path: Path) -> None:
    path = _parquet(tmp_path, _raw(MIXED))
    with pytest.raises(DataError, match=r"row 0 \('2021-01-04 09:30'\) has no offset but row 2 \("):
        load_bars(path, tz=NY)


def test_gzipped_csv_mix_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as handle:
        _raw(MIXED).to_csv(handle, index=False)
    with pytest.raises(DataError, match=r"line 2 .* has no offset but line 4"):
        load_bars(path, tz=NY)


def test_frame_with_datetime_objects_of_both_kinds_is_refused() -> None:
    frame = _raw(MIXED[:2]).drop(columns="timestamp")
    frame.index = pd.Index(
        [dt.datetime(2021, 1, 4, 9, 30), dt.datetime(2021, 1, 5, 14, 30, tzinfo=dt.UTC)],
        dtype=object,
    )
    with pytest.raises(DataError, match=r"^frame: timestamps mix .* row 0 .* row 1"):
        validate_bars(frame, tz=NY)


def test_naive_times_are_read_in_tz_for_csv_and_parquet(tmp_path: Path) -> None:
    stamps = ["2021-01-04 09:30", "2021-07-06 09:30"]
    expected = [
        pd.Timestamp("2021-01-04 14:30", tz="UTC"),
        pd.Timestamp("2021-07-06 13:30", tz="UTC"),
    ]
    assert load_bars(_csv(tmp_path, _raw(stamps)), tz=NY).index.tolist() == expected
    text = _parquet(tmp_path, _raw(stamps), "text.parquet")
    assert load_bars(text, tz=NY).index.tolist() == expected
    typed = _raw(stamps).assign(timestamp=pd.to_datetime(stamps))  # a naive timestamp column
    assert load_bars(_parquet(tmp_path, typed, "typed.parquet"), tz=NY).index.tolist() == expected
    frame = typed.set_index("timestamp")
    assert validate_bars(frame, tz=NY).index.tolist() == expected


def test_offsets_that_change_with_daylight_saving_are_accepted(tmp_path: Path) -> None:
    stamps = ["2021-01-04T09:30:00-05:00", "2021-07-06T09:30:00-04:00"]
    bars = load_bars(_csv(tmp_path, _raw(stamps)), tz="Asia/Tokyo")  # tz is not used
    assert bars.index.tolist() == [
        pd.Timestamp("2021-01-04 14:30", tz="UTC"),
        pd.Timestamp("2021-07-06 13:30", tz="UTC"),
    ]


def test_a_missing_time_in_an_otherwise_aware_file_is_not_a_mix(tmp_path: Path) -> None:
    stamps = ["2021-01-04T14:30:00Z", "", "2021-01-06T14:30:00+01:00"]
    with pytest.raises(DataError, match=r"timestamp missing at line 3"):
        load_bars(_csv(tmp_path, _raw(stamps)), tz=NY)


def test_validate_bars_refuses_a_bad_tz() -> None:
    frame = _raw(["2021-01-04 09:30"]).set_index("timestamp")
    with pytest.raises(ConfigError, match="did you mean 'America/New_York'"):
        validate_bars(frame, tz="America/New_Yrok")
