"""How messages name a row of the input: a CSV file's line, or a 0-based position.

A CSV row is named by its line in the file (the header is line 1), which is what an editor
shows; blank lines and quoted fields spanning several lines are counted as the file has
them. A Parquet file and an in-memory frame have no lines: their rows are named by their
0-based position (``row 0`` is the first bar), as ``DataFrame.iloc`` counts them.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import IO, Protocol

__all__ = ["CsvLines", "RowNamer", "position"]


class RowNamer(Protocol):
    """Turns the 0-based position of a row into the words a message uses for it."""

    def __call__(self, pos: int) -> str:
        """Return e.g. ``"line 5"`` or ``"row 3"``."""
        ...


def position(pos: int) -> str:
    """Name a row of a frame or Parquet file by its 0-based position: ``"row 3"``."""
    return f"row {pos}"


class CsvLines:
    """Name a data row of a CSV file by its line number (header = line 1).

    The file is re-read only when a message needs a line (an error is being raised), and
    only up to the row asked for, so loading pays nothing for it.

    Parameters
    ----------
    path : pathlib.Path
        The ``.csv`` or ``.csv.gz`` file that :func:`pandas.read_csv` read (header row
        first, blank lines skipped, as its defaults do).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._starts: list[int] = []  # first line of each data row read so far

    def __call__(self, pos: int) -> str:
        """Return ``"line N"`` for the data row at 0-based position ``pos``."""
        return f"line {self.line(pos)}"

    def line(self, pos: int) -> int:
        """The line on which the data row at position ``pos`` starts."""
        if pos >= len(self._starts):
            self._scan(pos)
        # A row the scan cannot find (the file changed under us): the plain count.
        return self._starts[pos] if pos < len(self._starts) else pos + 2

    def _open(self) -> IO[str]:
        if self.path.name.lower().endswith(".gz"):
            return gzip.open(self.path, "rt", newline="", encoding="utf-8", errors="replace")
        return self.path.open(newline="", encoding="utf-8", errors="replace")

    def _scan(self, pos: int) -> None:
        starts: list[int] = []
        end = 0  # last line of the previous record
        header = False
        try:
            with self._open() as handle:
                reader = csv.reader(handle)
                for record in reader:
                    start, end = end + 1, reader.line_num
                    if not record:  # a blank line: pandas skips it
                        continue
                    if not header:
                        header = True
                        continue
                    starts.append(start)
                    if len(starts) > pos:
                        break
        except (OSError, csv.Error):
            pass  # keep what was read; line() falls back to the plain count
        self._starts = starts
