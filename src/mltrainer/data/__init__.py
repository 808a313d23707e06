"""Loading and validating market bars.

Bars come from bundled real datasets (``"sp500"``, ``"nasdaq"``), CSV or Parquet files,
and are returned indexed by a UTC ``DatetimeIndex`` named ``timestamp`` with float64
``open, high, low, close, volume`` (plus ``symbol`` first in a multi-symbol panel), after
checks that raise one-line :class:`~mltrainer.exceptions.DataError` messages naming the
row, column and fix.
"""

from mltrainer.data._fingerprint import data_fingerprint
from mltrainer.data._load import list_datasets, load_bars
from mltrainer.data._schema import BAR_COLUMNS, PRICE_COLUMNS, is_panel
from mltrainer.data._stamp import stamp_times
from mltrainer.data._validate import validate_bars

__all__ = [
    "BAR_COLUMNS",
    "PRICE_COLUMNS",
    "data_fingerprint",
    "is_panel",
    "list_datasets",
    "load_bars",
    "stamp_times",
    "validate_bars",
]
