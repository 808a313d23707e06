"""Data errors name a CSV row by its line in the file and a Parquet/frame row by its position."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.data import load_bars, validate_bars
from mltrainer.data._rows import CsvLines
from mltrainer.exceptions import DataError, NotFoundError

HEADER = "Date,Open,High,Low,Close,Volume,Note"


def _line(day: int, close: str = "100", note: str = "ok") -> str:
    return f"2021-01-{day:02d},100,101,99,{close},1000,{note}"


def test_line_numbers_count_the_header_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    lines = [
        HEADER,  # line 1
        _line(4),  # 2
        "",  # 3: blank, skipped by the reader
        _line(5, note='"two\nlines"'),  # 4-5: one record
        _line(6),  # 6
        _line(7, close="oops"),  # 7
    ]
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        load_bars(path)
    assert "first 'oops' at line 7 (timestamp 2021-01-07)" in str(info.value)
    namer = CsvLines(path)
    assert [namer.line(i) for i in range(4)] == [2, 4, 6, 7]
    assert namer(3) == "line 7"


def test_gzipped_csv_is_counted_in_lines(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join([HEADER, _line(4), _line(5), _line(5)]) + "\n")
    with pytest.raises(DataError, match=r"duplicated timestamp at line 4 \(timestamp 2021-01-05\)"):
        load_bars(path)


def _frame() -> pd.DataFrame:
    close = np.full(4, 100.0)
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": close},
        index=pd.date_range("2021-01-04", periods=4, freq="D", tz="UTC", name="timestamp"),
    )


def test_parquet_and_frame_rows_are_zero_based_positions(tmp_path: Path) -> None:
    frame = _frame()
    frame.iloc[2, 3] = -1.0
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"first -1.0 at row 2 \(timestamp 2021-01-06 00:00:00\+00"):
        load_bars(path)
    with pytest.raises(DataError, match=r"^frame: .* first -1.0 at row 2 \(timestamp"):
        validate_bars(frame)


def test_a_directory_is_called_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "bars"
    folder.mkdir()
    with pytest.raises(DataError, match=r"bars: is a directory, not a bars file; pass one file"):
        load_bars(folder)
    _frame().to_csv(folder / "spx.csv")
    (folder / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"is a directory, not a bars file; it holds \['spx.csv'\]"):
        load_bars(str(folder))
    with pytest.raises(NotFoundError, match="no bundled dataset or file named"):
        load_bars(folder / "missing.csv")


def test_messages_do_not_repeat_themselves(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        validate_bars(_frame().iloc[:0])
    assert str(info.value) == "frame: no bars (0 rows); pass at least one bar"  # not "file"
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(DataError) as info:
        load_bars(bad)
    assert str(info.value).count(str(bad)) == 1  # the reader's own message named it again
    with pytest.raises(DataError, match=r"needs at least 1 row, got 0"):
        load_bars("sp500", start="2030-01-01")


def test_rows_wider_than_the_header_are_refused_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("Date,Open,High,Low,Close\n2021-01-04,100,101,99,100,1000\n")
    with pytest.raises(DataError, match=r"wide.csv: the rows have more fields than the header"):
        load_bars(path)  # pandas took the first field as an index: a TypeError before
    path.write_text(HEADER + "\n" + _line(4) + "\n" + _line(5) + ",extra\n")
    with pytest.raises(DataError, match=r"cannot read the file \(.*Expected 7 fields in line 3"):
        load_bars(path)
