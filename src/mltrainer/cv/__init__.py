"""Time-series cross-validation without leakage: purged, embargoed, combinatorial.

Every splitter is a scikit-learn cross-validator that knows each row's decision time
t0 (X's index) and label end time t1, and keeps exactly these rules:

- purge: no training label span ``[t0_i, t1_i]`` overlaps a test label span;
- embargo: after each test block, rows with ``t0`` in ``(max t1, max t1 + embargo]``
  leave training;
- nothing else is removed (walk-forward splitters train only before the test).

See ``docs/cv.md`` for when to pick which splitter.
"""

from mltrainer.cv._align import align_t1, reconcile_t1
from mltrainer.cv._base import PurgedSplitter
from mltrainer.cv._combinatorial import CombinatorialPurgedKFold, combinatorial_paths
from mltrainer.cv._factory import SPLITTER_METHODS, make_splitter, splitter_for_horizon
from mltrainer.cv._fold import (
    FoldResult,
    Resampler,
    TrainingRows,
    fit_fold,
    fit_params,
    fit_rows,
    take_rows,
)
from mltrainer.cv._kfold import PurgedKFold
from mltrainer.cv._purge import SplitInfo
from mltrainer.cv._scoring import build_scorers, default_scoring
from mltrainer.cv._validate import CVResult, cross_validate, resolve_cv
from mltrainer.cv._walk_forward import ExpandingWindowSplit, PurgedWalkForward
from mltrainer.cv._weights import uniqueness_weights

__all__ = [
    "SPLITTER_METHODS",
    "CVResult",
    "CombinatorialPurgedKFold",
    "ExpandingWindowSplit",
    "FoldResult",
    "PurgedKFold",
    "PurgedSplitter",
    "PurgedWalkForward",
    "Resampler",
    "SplitInfo",
    "TrainingRows",
    "align_t1",
    "build_scorers",
    "combinatorial_paths",
    "cross_validate",
    "default_scoring",
    "fit_fold",
    "fit_params",
    "fit_rows",
    "make_splitter",
    "reconcile_t1",
    "resolve_cv",
    "splitter_for_horizon",
    "take_rows",
    "uniqueness_weights",
]
