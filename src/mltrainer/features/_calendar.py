"""Calendar features of the bar timestamp (in UTC).

They need no history, so they have no warm-up; they read only the index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError

from ._params import FeatureDef, fields_param

__all__ = ["CALENDAR_FIELDS", "DEFINITIONS", "calendar"]

_EXTRACTORS: dict[str, Callable[[pd.DatetimeIndex], pd.Index]] = {
    "day_of_week": lambda idx: idx.day_of_week,  # Monday=0 ... Sunday=6
    "hour_of_day": lambda idx: idx.hour,  # 0-23
    "minute_of_hour": lambda idx: idx.minute,  # 0-59
    "day_of_month": lambda idx: idx.day,  # 1-31
    "day_of_year": lambda idx: idx.day_of_year,  # 1-366
    "month": lambda idx: idx.month,  # 1-12
}
CALENDAR_FIELDS: tuple[str, ...] = tuple(_EXTRACTORS)


def calendar(
    bars: pd.DataFrame,
    *,
    fields: Sequence[str] = ("day_of_week", "hour_of_day", "month"),
) -> pd.DataFrame:
    """Calendar fields of each bar's timestamp, taken in UTC, as float64.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars indexed by a tz-aware DatetimeIndex.
    fields : sequence of str, default ("day_of_week", "hour_of_day", "month")
        Any of ``day_of_week`` (Monday=0 ... Sunday=6), ``hour_of_day`` (0-23),
        ``minute_of_hour`` (0-59), ``day_of_month`` (1-31), ``day_of_year`` (1-366) and
        ``month`` (1-12).

    Returns
    -------
    pandas.DataFrame
        One column per field, named as the field.

    Raises
    ------
    DataError
        When the index is not a tz-aware DatetimeIndex.
    """
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError(
            "feature 'calendar': bars must be indexed by a tz-aware DatetimeIndex, got "
            f"{type(index).__name__} (tz={getattr(index, 'tz', None)}); use "
            "bars.tz_localize('UTC')"
        )
    utc = index.tz_convert("UTC")
    data = {name: np.asarray(_EXTRACTORS[name](utc), dtype=np.float64) for name in fields}
    return pd.DataFrame(data, index=index, dtype=np.float64)


DEFINITIONS = (
    FeatureDef(
        name="calendar",
        func=calendar,
        params={"fields": fields_param(CALENDAR_FIELDS)},
        columns=lambda p: list(p["fields"]),
        lookback=lambda p: 0,
        inputs=(),
    ),
)
