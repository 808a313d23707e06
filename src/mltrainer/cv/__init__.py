"""Time-series cross-validation without leakage: purged, embargoed, combinatorial.

Every splitter is a scikit-learn cross-validator that knows each row's decision time
t0 (X's index) and label end time t1, and keeps exactly these rules:

- purge: no training label span ``[t0_i, t1_i]`` overlaps a test label span;
- embargo: after each test block, rows with ``t0`` in ``(max t1, max t1 + embargo]``
  leave training;
- nothing else is removed (walk-forward splitters train only before the test).

See ``docs/cv.md`` for when to pick which splitter.
"""

from mltrainer.cv._base import PurgedSplitter
from mltrainer.cv._combinatorial import CombinatorialPurgedKFold, combinatorial_paths
from mltrainer.cv._factory import SPLITTER_METHODS, make_splitter
from mltrainer.cv._kfold import PurgedKFold
from mltrainer.cv._purge import SplitInfo
from mltrainer.cv._validate import CVResult, cross_validate, fit_params
from mltrainer.cv._walk_forward import ExpandingWindowSplit, PurgedWalkForward
from mltrainer.cv._weights import uniqueness_weights

__all__ = [
    "SPLITTER_METHODS",
    "CVResult",
    "CombinatorialPurgedKFold",
    "ExpandingWindowSplit",
    "PurgedKFold",
    "PurgedSplitter",
    "PurgedWalkForward",
    "SplitInfo",
    "combinatorial_paths",
    "cross_validate",
    "fit_params",
    "make_splitter",
    "uniqueness_weights",
]
