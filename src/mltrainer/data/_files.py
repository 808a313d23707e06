"""Reading bars from CSV and Parquet files (no parsing or checking: that is validation's job)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from mltrainer.exceptions import DataError

__all__ = ["CSV_SUFFIXES", "SUFFIXES", "read_file"]

CSV_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz")
SUFFIXES: tuple[str, ...] = (*CSV_SUFFIXES, ".parquet", ".pq")


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
        with warnings.catch_warnings():
            # More fields than header names: pandas would drop the extra ones silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # Timestamps stay text here so that validation can name an unparseable one.
            return pd.read_csv(path, low_memory=False, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file has no rows; write a header and at least one bar") from None
    except pd.errors.ParserWarning:
        raise DataError(
            f"{path}: the rows have more fields than the header has names; name every column "
            "in the header line or drop the extra fields"
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        # The reader's message often repeats the path: say "the file" once, in front.
        reason = " ".join(str(exc).replace(f" '{path}'", "").replace(str(path), "it").split())
        raise DataError(f"{path}: cannot read the file ({reason})") from None
