"""Reading bars from CSV and Parquet files (no parsing or checking: that is validation's job)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mltrainer.exceptions import DataError

__all__ = ["SUFFIXES", "read_file"]

SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq")


def read_file(path: Path) -> pd.DataFrame:
    """Read a ``.csv`` (optionally gzipped) or ``.parquet`` file into a raw frame.

    Parameters
    ----------
    path : pathlib.Path
        An existing file.

    Returns
    -------
    pandas.DataFrame
        Columns as written; a Parquet file may carry its time in the index.

    Raises
    ------
    DataError
        Unsupported suffix, an empty file, or a file the reader cannot parse.
    """
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise DataError(
            f"{path}: unsupported file type {path.suffix!r}; save the bars as one of "
            f"{list(SUFFIXES)}"
        )
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        # Timestamps stay text here so that validation can name an unparseable one.
        return pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file has no rows; write a header and at least one bar") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split())
        raise DataError(f"{path}: cannot read the file ({reason}); check its format") from None
