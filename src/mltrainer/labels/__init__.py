"""Targets and the time each becomes known.

Every label row ``t`` is a decision at the close of bar ``t`` (``t0``, the index) and its
target becomes known at ``t1 >= t0``, the timestamp of the last bar it needs. Rows whose
target would need bars beyond the data get ``y = NaN`` and ``t1 = NaT``, never a filled
value. Panels (a ``symbol`` column) are labelled within each symbol.

Examples
--------
>>> from mltrainer.data import load_bars
>>> from mltrainer.labels import make_labels
>>> bars = load_bars("sp500", start="2018-12-01")
>>> labels = make_labels(bars, {"name": "direction", "horizon": 5})
>>> bool((labels.t1[labels.valid] > labels.t1.index[labels.valid]).all())  # known later
True
>>> int((~labels.valid).sum())  # the last 5 bars have no complete label yet
5
"""

from mltrainer.labels._barrier import triple_barrier
from mltrainer.labels._base import Labels
from mltrainer.labels._catalogue import (
    LABEL_CATALOGUE,
    label_horizon,
    label_kind,
    label_lookback,
    make_labels,
    validate_label_spec,
)
from mltrainer.labels._forward import direction, forward_return, forward_volatility

__all__ = [
    "LABEL_CATALOGUE",
    "Labels",
    "direction",
    "forward_return",
    "forward_volatility",
    "label_horizon",
    "label_kind",
    "label_lookback",
    "make_labels",
    "triple_barrier",
    "validate_label_spec",
]
