"""Recursive feature elimination driven by out-of-fold permutation importance.

scikit-learn's ``RFECV`` cross-validates only the *number* of features: the set itself
comes from one refit on all rows ranked by in-sample importance (scikit-learn #17782).
Here every round measures importance on purged test folds, drops the least important
features, and records the out-of-fold score of the set; the best round wins, and each
fold's own choice of that many features shows how stable the selected set is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.selection._common import as_frame, jaccard_stability
from mltrainer.selection._permutation import check_repeats, permutation_importance
from mltrainer.selection._result import ImportanceResult

__all__ = ["RFEResult", "rfe"]


@dataclass(frozen=True)
class RFEResult:
    """What :func:`rfe` returns.

    Attributes
    ----------
    selected : list of str
        The chosen features, most important first.
    ranking : Series of int
        Per feature: 1 for selected, 2 for the last features eliminated, and so on.
    scores : DataFrame
        One row per round: ``n_features``, ``mean`` and ``std`` of the out-of-fold score.
    importances : ImportanceResult
        Out-of-fold permutation importance of the chosen set.
    fold_selections : list of list of str
        Each fold's own top ``len(selected)`` features in the round the set was cut from.
    stability : float
        Mean pairwise Jaccard similarity of ``fold_selections`` (1 = every fold agrees).
    """

    selected: list[str]
    ranking: pd.Series
    scores: pd.DataFrame
    importances: ImportanceResult
    fold_selections: list[list[str]]
    stability: float


def _n_drop(step: Any, n: int) -> int:
    if isinstance(step, bool) or not isinstance(step, int | float | np.integer | np.floating):
        raise ConfigError(f"step={step!r}: pass an int >= 1 or a fraction in (0, 1)")
    if isinstance(step, float | np.floating) and 0 < step < 1:
        return max(1, int(step * n))
    if float(step) >= 1 and float(step) == int(step):
        return int(step)
    raise ConfigError(f"step={step!r}: pass an int >= 1 or a fraction in (0, 1)")


def rfe(
    estimator: Any,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    cv: Any,
    t1: pd.Series | None = None,
    step: int | float = 0.2,
    min_features: int = 1,
    n_features: int | None = None,
    scoring: Any = None,
    n_repeats: int = 5,
    sample_weight: Any = None,
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
) -> RFEResult:
    """Eliminate features by out-of-fold importance; keep the best-scoring set.

    Parameters
    ----------
    estimator, X, y, cv, t1, scoring, n_repeats, sample_weight, random_state, n_jobs
        As :func:`permutation_importance`.
    step : int or float, default 0.2
        Features dropped per round: an int count, or a fraction of those left.
    min_features : int, default 1
        Stop when this many features are left.
    n_features : int, optional
        Eliminate down to exactly this many features and return them (no choice by
        score).

    Returns
    -------
    RFEResult
    """
    check_repeats(n_repeats)
    frame = as_frame(X)
    p = frame.shape[1]
    if len(y) != len(frame):
        raise DataError(f"y has {len(y)} rows but X has {len(frame)}: pass y aligned with X")
    for name, value in (("min_features", min_features), ("n_features", n_features)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= p:
            raise ConfigError(
                f"{name}={value!r} must be an int between 1 and the number of features ({p})"
            )
    _n_drop(step, p)  # validate before any fitting
    floor = n_features if n_features is not None else min_features
    named = isinstance(X, pd.DataFrame)
    data = frame if named else frame.to_numpy()
    features = list(frame.columns)
    rounds: list[tuple[list[str], ImportanceResult]] = []
    while True:
        subset = data[features] if named else data[:, [frame.columns.get_loc(f) for f in features]]
        result = permutation_importance(
            estimator,
            subset,
            y,
            cv=cv,
            t1=t1,
            scoring=scoring,
            n_repeats=n_repeats,
            sample_weight=sample_weight,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        if not named:  # map x0, x1, ... of the subset back to the original names
            result = _rename(result, features)
        rounds.append((features, result))
        if len(features) <= floor:
            break
        drop = set(result.ranking()[-min(_n_drop(step, len(features)), len(features) - floor) :])
        features = [f for f in features if f not in drop]
    means = np.array([_mean(r.baseline) for _, r in rounds])
    if n_features is not None:
        best = len(rounds) - 1
    else:  # the best mean score; on a tie the smaller set
        best = int(np.flatnonzero(means >= means.max() - 1e-12)[-1])
    importances = rounds[best][1]
    selected = importances.ranking()
    parent = rounds[max(best - 1, 0)][1]
    k = len(selected)
    fold_selections = [
        [str(f) for f in row.sort_values(ascending=False, kind="stable").index[:k]]
        for _, row in parent.folds.iterrows()
    ]
    ranking = pd.Series(1, index=list(frame.columns), name="ranking")
    for r in range(best):  # dropped after round r: the earlier, the worse
        kept = set(rounds[r + 1][0])
        ranking.loc[[f for f in rounds[r][0] if f not in kept]] = best - r + 1
    scores = pd.DataFrame(
        {
            "n_features": [len(f) for f, _ in rounds],
            "mean": means,
            "std": [_std(r.baseline) for _, r in rounds],
        }
    )
    return RFEResult(
        selected=selected,
        ranking=ranking.sort_values(kind="stable"),
        scores=scores,
        importances=importances,
        fold_selections=fold_selections,
        stability=jaccard_stability(fold_selections),
    )


def _mean(scores: pd.Series) -> float:
    finite = scores.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else -np.inf  # no usable split: worst


def _std(scores: pd.Series) -> float:
    finite = scores.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.std(ddof=1)) if finite.size > 1 else 0.0


def _rename(result: ImportanceResult, names: list[str]) -> ImportanceResult:
    mapping = {f"x{i}": name for i, name in enumerate(names)}
    return ImportanceResult(
        method=result.method,
        mean=result.mean.rename(index=mapping),
        std=result.std.rename(index=mapping),
        folds=result.folds.rename(columns=mapping),
        scoring=result.scoring,
        baseline=result.baseline,
        groups=result.groups,
    )
