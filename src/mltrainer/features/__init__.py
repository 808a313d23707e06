"""Causal technical features: the value at time ``t`` uses bars at or before ``t`` only.

A spec lists catalogue entries and their parameters::

    spec = [{"name": "log_return", "windows": [1, 5, 20]}, {"name": "rsi", "window": 14}]
    X = compute_features(bars, spec)  # same index and row order as bars, float64

Panels (a ``symbol`` column) are computed per symbol, each from its own history.

Every value is a function of a fixed number of trailing bars, so a live stream computes
the row of a new bar from the last ``history_length(spec)`` bars
(:func:`latest_features`) and gets exactly the batch value.
"""

from ._catalogue import (
    FEATURE_CATALOGUE,
    default_feature_spec,
    feature_columns,
    max_lookback,
    validate_feature_spec,
)
from ._compute import compute_features
from ._latest import history_length, latest_features

__all__ = [
    "FEATURE_CATALOGUE",
    "compute_features",
    "default_feature_spec",
    "feature_columns",
    "history_length",
    "latest_features",
    "max_lookback",
    "validate_feature_spec",
]
