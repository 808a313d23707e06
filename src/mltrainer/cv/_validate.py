"""``cross_validate``: fold scores, out-of-fold predictions per path, purge counts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import BaseCrossValidator

from mltrainer.cv._align import reconcile_t1
from mltrainer.cv._base import PurgedSplitter
from mltrainer.cv._combinatorial import CombinatorialPurgedKFold
from mltrainer.cv._fold import FoldResult, Resampler, fit_fold, fit_params
from mltrainer.cv._kfold import PurgedKFold
from mltrainer.cv._paths import path_scores
from mltrainer.cv._purge import SplitInfo
from mltrainer.cv._scoring import build_scorers
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["CVResult", "cross_validate", "resolve_cv"]

logger = logging.getLogger("mltrainer")

_INFO_COLUMNS = [
    "fit_time",
    "score_time",
    "n_train",
    "n_test",
    "n_purged",
    "n_embargoed",
    "n_synthetic",
]


@dataclass(frozen=True)
class CVResult:
    """What :func:`cross_validate` returns.

    Attributes
    ----------
    folds : DataFrame
        One row per split: ``split``, one column per scorer, ``fit_time``, ``score_time``,
        ``n_train``, ``n_test``, ``n_purged``, ``n_embargoed``, ``test_start``, ``test_end``.
    predictions : DataFrame
        Indexed like X: out-of-fold ``predict`` outputs (float; NaN where a row was never
        tested), one column per backtest path (``path_0``, ...).
    probabilities : DataFrame or None
        Out-of-fold ``predict_proba`` for classifiers: columns are the class labels, or a
        (path, class) MultiIndex for combinatorial splitters.
    path_scores : DataFrame or None
        Combinatorial splitters: each path's score (rows) per scorer (columns).
    estimators : list or None
        The fitted estimator of each split when ``return_estimators=True``.
    scorers : list of str
        Scorer names, as in ``folds``.
    """

    folds: pd.DataFrame
    predictions: pd.DataFrame
    probabilities: pd.DataFrame | None
    path_scores: pd.DataFrame | None
    estimators: list[Any] | None
    scorers: list[str]

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean, std (ddof=0), min and max of each scorer over the splits.

        For combinatorial splitters each entry also has ``path_mean`` and ``path_std``,
        the same over the backtest paths.
        """
        out: dict[str, dict[str, float]] = {}
        for name in self.scorers:
            scores = self.folds[name].to_numpy(dtype=float)
            entry = {
                "mean": float(np.mean(scores)),
                "std": float(np.std(scores)),
                "min": float(np.min(scores)),
                "max": float(np.max(scores)),
            }
            if self.path_scores is not None:
                paths = self.path_scores[name].to_numpy(dtype=float)
                entry["path_mean"] = float(np.mean(paths))
                entry["path_std"] = float(np.std(paths))
            out[name] = entry
        return out


def resolve_cv(cv: Any, X: Any, t1: pd.Series | None) -> BaseCrossValidator:
    """The splitter for X: an int means ``PurgedKFold(cv)``; purged splitters get X's ``t1``.

    ``t1`` may be given here, held by the splitter, or both when they agree on X's rows
    (see :func:`mltrainer.cv.reconcile_t1`); it is realigned to X's rows.

    Raises
    ------
    ConfigError
        For something that is not a splitter, or two different ``t1``.
    """
    if isinstance(cv, bool) or cv is None:
        raise ConfigError(f"cv={cv!r} is not a splitter: pass e.g. PurgedKFold(5, t1=t1)")
    if isinstance(cv, int | np.integer):
        return PurgedKFold(int(cv), t1=reconcile_t1(t1, None, X))
    if isinstance(cv, str) or not hasattr(cv, "split"):
        raise ConfigError(
            f"cv={cv!r} is not a splitter: pass one with split(X, y, groups), e.g. "
            "PurgedKFold(5, t1=t1), or build one with make_splitter(...)"
        )
    if not isinstance(cv, PurgedSplitter):
        return cv  # t1 only matters to the purged splitters
    aligned = reconcile_t1(t1, cv.t1, X)
    if aligned is cv.t1:
        return cv
    return type(cv)(**{**cv.get_params(), "t1": aligned})


def _split_infos(cv: BaseCrossValidator, X: Any, y: Any) -> Iterator[SplitInfo]:
    if isinstance(cv, PurgedSplitter):
        yield from cv.split_with_info(X)
        return
    for train, test in cv.split(X, y):
        test = np.asarray(test, dtype=np.intp)
        yield SplitInfo(np.asarray(train, dtype=np.intp), test, 0, 0, np.zeros_like(test))


def _check_inputs(X: Any, y: Any, sample_weight: Any) -> tuple[Any, np.ndarray | None]:
    n = X.shape[0]
    if len(y) != n:
        raise DataError(f"y has {len(y)} rows but X has {n}: pass y aligned with X")
    if isinstance(X, pd.DataFrame) and isinstance(y, pd.Series) and not y.index.equals(X.index):
        raise DataError("y is not aligned with X: pass y with X's index (y.loc[X.index])")
    if sample_weight is None:
        return y, None
    if (
        isinstance(X, pd.DataFrame)
        and isinstance(sample_weight, pd.Series)
        and not sample_weight.index.equals(X.index)
    ):
        raise DataError(
            "sample_weight is not aligned with X: pass it with X's index "
            "(sample_weight.loc[X.index])"
        )
    weight = np.asarray(sample_weight, dtype=float)
    if weight.shape != (n,):
        raise DataError(
            f"sample_weight has shape {weight.shape} but X has {n} rows: pass one weight per row"
        )
    return y, weight


def _time_label(index: pd.Index | None, row: int) -> Any:
    return row if index is None else index[row]


def cross_validate(
    estimator: Any,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    cv: Any,
    t1: pd.Series | None = None,
    scoring: Any = None,
    sample_weight: Any = None,
    resampler: Resampler | None = None,
    n_jobs: int | None = None,
    return_estimators: bool = False,
    on_fold: Callable[[FoldResult, int], None] | None = None,
) -> CVResult:
    """Fit a clone of ``estimator`` per split; score it; collect out-of-fold predictions.

    The one fold loop of the package: every split runs :func:`fit_fold` (resample the
    training rows, fit, predict the test rows once, score those outputs).

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned for every split; never fitted itself.
    X : DataFrame or ndarray, shape (n, p)
        Features, rows sorted by decision time (the index).
    y : Series or ndarray, shape (n,)
        Targets aligned with X (class labels such as -1/0/1 are fine).
    cv : cross-validator or int
        Any scikit-learn splitter; an int means ``PurgedKFold(cv, t1=t1)``.
    t1 : Series or None, default None
        Label end times of X's rows (or of a superset of them), given to a purged ``cv``
        and to the resampler.
    scoring : None, str, list of str, dict or callable, default None
        None uses ``estimator.score``; strings are ``sklearn.metrics.get_scorer`` names
        (sklearn's sign convention, e.g. ``neg_log_loss``); a dict maps names to scorers.
    sample_weight : array-like, shape (n,), optional
        Passed to ``fit`` for training rows (see :func:`fit_params`) and to the scorers
        for test rows.
    resampler : Resampler, optional
        Changes each split's training rows before the fit; never sees a test row.
    n_jobs : int or None, default None
        Splits fitted in parallel with joblib (in memory, no files).
    return_estimators : bool, default False
        Keep each split's fitted estimator.
    on_fold : callable, optional
        Called as ``on_fold(fold_result, n_splits)`` after each split, in split order
        (progress bars, pruning: an exception raised there stops the loop).

    Returns
    -------
    CVResult
    """
    y, weight = _check_inputs(X, y, sample_weight)
    cv = resolve_cv(cv, X, t1)
    aligned_t1 = reconcile_t1(t1, cv.t1 if isinstance(cv, PurgedSplitter) else None, X)
    singles = build_scorers(estimator, scoring)
    names = list(singles)
    fit_params(estimator, weight)  # fail before any fitting when weights cannot be used
    infos: list[SplitInfo] = []

    def tasks() -> Iterator[Any]:
        for k, info in enumerate(_split_infos(cv, X, y)):
            infos.append(info)
            yield delayed(fit_fold)(
                estimator,
                X,
                y,
                train=info.train,
                test=info.test,
                sample_weight=weight,
                t1=aligned_t1,
                resampler=resampler,
                scorers=singles,
                fold=k,
                keep_estimator=return_estimators,
            )

    total = cv.get_n_splits(X, y)
    outputs: list[FoldResult] = []
    for out in Parallel(n_jobs=n_jobs, max_nbytes=None, return_as="generator")(tasks()):
        outputs.append(out)
        if on_fold is not None:
            on_fold(out, total)
    index = X.index if isinstance(X, pd.DataFrame) else None
    times = index.get_level_values(0) if isinstance(index, pd.MultiIndex) else index
    rows = []
    for k, (info, out) in enumerate(zip(infos, outputs, strict=True)):
        rows.append(
            {
                "split": k,
                **out.scores,
                "fit_time": out.fit_time,
                "score_time": out.score_time,
                "n_train": int(info.train.size),
                "n_test": int(info.test.size),
                "n_purged": info.n_purged,
                "n_embargoed": info.n_embargoed,
                "n_synthetic": out.n_synthetic,
                "test_start": _time_label(times, int(info.test.min())),
                "test_end": _time_label(times, int(info.test.max())),
            }
        )
        logger.debug("cv split %d: %s", k, out.scores)
    folds = pd.DataFrame(rows, columns=["split", *names, *_INFO_COLUMNS, "test_start", "test_end"])
    multipath = isinstance(cv, CombinatorialPurgedKFold)
    n_paths = cv.n_paths if multipath else 1
    predictions, probabilities = _assemble(infos, outputs, y, X.shape[0], n_paths, multipath)
    if index is not None:
        predictions.index = index
        if probabilities is not None:
            probabilities.index = index
    scores = None
    if multipath:
        scores = path_scores(estimator, predictions, probabilities, y, weight, singles)
    return CVResult(
        folds=folds,
        predictions=predictions,
        probabilities=probabilities,
        path_scores=scores,
        estimators=[out.estimator for out in outputs] if return_estimators else None,
        scorers=names,
    )


def _assemble(
    infos: list[SplitInfo],
    outputs: list[FoldResult],
    y: Any,
    n: int,
    n_paths: int,
    multipath: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scatter each split's test predictions into (row, path) cells."""
    columns = [f"path_{p}" for p in range(n_paths)]
    numeric = all(np.asarray(out.predictions).dtype.kind in "biuf" for out in outputs)
    pred = np.full((n, n_paths), np.nan, dtype=float if numeric else object)
    for info, out in zip(infos, outputs, strict=True):
        pred[info.test, info.test_paths] = out.predictions
    predictions = pd.DataFrame(pred, columns=columns)
    if not outputs or outputs[0].probabilities is None or outputs[0].classes is None:
        return predictions, None
    classes = np.unique(np.asarray(y))
    proba = np.full((n, n_paths, classes.size), np.nan)
    for info, out in zip(infos, outputs, strict=True):
        cols = np.searchsorted(classes, np.asarray(out.classes))
        block = np.zeros((info.test.size, classes.size))  # a class unseen in training: 0
        block[:, cols] = out.probabilities
        proba[info.test, info.test_paths] = block
    if multipath:
        header = pd.MultiIndex.from_product([columns, classes.tolist()], names=["path", "class"])
        return predictions, pd.DataFrame(proba.reshape(n, -1), columns=header)
    return predictions, pd.DataFrame(proba[:, 0, :], columns=pd.Index(classes.tolist()))
