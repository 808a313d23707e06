"""Features on the arrival of one bar, from a bounded history.

Every catalogue feature is a function of a fixed number of trailing bars (exponential
averages included: they run over a fixed window, see
:func:`~mltrainer.features._numeric.seeded_ewm`). So the row of bar ``t`` computed from the
last :func:`history_length` bars equals the row ``t`` of :func:`compute_features` over the
whole history: what a live stream computes equals what training computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError

from ._catalogue import max_lookback
from ._compute import compute_features

__all__ = ["history_length", "latest_features"]


def history_length(spec: Sequence[Mapping[str, Any]] | None = None) -> int:
    """Bars of history (the current bar included) that one feature row of ``spec`` needs.

    ``max_lookback(spec) + 1``: the row of bar ``t`` depends on bars ``t - max_lookback .. t``
    only.

    Raises
    ------
    ConfigError
        When the spec is invalid.
    """
    return max_lookback(spec) + 1


def latest_features(
    bars: pd.DataFrame, spec: Sequence[Mapping[str, Any]] | None = None
) -> np.ndarray:
    """The feature row of the last bar of ``bars``, computed from its bounded history.

    Parameters
    ----------
    bars : pandas.DataFrame
        Recent bars of one instrument, oldest first, the newest last (as for
        :func:`compute_features`). Only the last :func:`history_length` rows are read; with
        fewer, the features still in their warm-up are NaN, exactly as in batch.
    spec : sequence of mappings, optional
        The feature spec (``None``: the default).

    Returns
    -------
    numpy.ndarray
        float64 vector in :func:`~mltrainer.features.feature_columns` order; equal to the
        last row of ``compute_features(full_history, spec)``.

    Raises
    ------
    DataError
        For no bars, a panel, or anything :func:`compute_features` refuses.
    """
    if isinstance(bars, pd.DataFrame) and "symbol" in bars.columns:
        raise DataError(
            "latest_features: bars has a 'symbol' column; pass the history of one instrument"
        )
    if not isinstance(bars, pd.DataFrame) or len(bars) == 0:
        got = type(bars).__name__ if not isinstance(bars, pd.DataFrame) else "no rows"
        raise DataError(f"latest_features: expected recent bars in a DataFrame, got {got}")
    tail = bars.iloc[-history_length(spec) :]
    out = compute_features(tail, spec).to_numpy()
    return np.array(out[-1], dtype=np.float64)
