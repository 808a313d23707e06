"""``cross_validate``: fold scores, out-of-fold predictions per path, purge counts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import BaseCrossValidator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from mltrainer.cv._base import PurgedSplitter
from mltrainer.cv._combinatorial import CombinatorialPurgedKFold
from mltrainer.cv._kfold import PurgedKFold
from mltrainer.cv._paths import path_scores
from mltrainer.cv._purge import SplitInfo
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["CVResult", "cross_validate"]

logger = logging.getLogger("mltrainer")

_INFO_COLUMNS = ["fit_time", "score_time", "n_train", "n_test", "n_purged", "n_embargoed"]


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


def _resolve_cv(cv: Any, t1: pd.Series | None) -> BaseCrossValidator:
    if isinstance(cv, bool):
        raise ConfigError(f"cv={cv!r} is not a splitter: pass e.g. PurgedKFold(5, t1=t1)")
    if isinstance(cv, int | np.integer):
        return PurgedKFold(int(cv), t1=t1)
    if isinstance(cv, str) or not hasattr(cv, "split"):
        raise ConfigError(
            f"cv={cv!r} is not a splitter: pass one with split(X, y, groups), e.g. "
            "PurgedKFold(5, t1=t1), or build one with make_splitter(...)"
        )
    if t1 is None or not isinstance(cv, PurgedSplitter):
        return cv  # t1 only matters to the purged splitters
    if cv.t1 is None:
        return type(cv)(**{**cv.get_params(), "t1": t1})
    if cv.t1 is not t1 and not cv.t1.equals(t1):
        raise ConfigError(
            "t1 was given both to cross_validate and to the splitter, with different values: "
            "give it once"
        )
    return cv


def _split_infos(cv: BaseCrossValidator, X: Any, y: Any) -> Iterator[SplitInfo]:
    if isinstance(cv, PurgedSplitter):
        yield from cv.split_with_info(X)
        return
    for train, test in cv.split(X, y):
        test = np.asarray(test, dtype=np.intp)
        yield SplitInfo(np.asarray(train, dtype=np.intp), test, 0, 0, np.zeros_like(test))


def _build_scorers(
    estimator: Any, scoring: Any
) -> tuple[Callable[..., dict[str, float]], dict[str, Callable[..., float]]]:
    """The scorer used per split (one call, shared predictions) and each scorer by name."""
    if isinstance(scoring, dict):
        parts = {str(k): v for k, v in scoring.items()}
    elif isinstance(scoring, list | tuple | set):
        parts = {str(v): v for v in scoring}
    else:
        parts = {scoring if isinstance(scoring, str) else "score": scoring}
    try:
        singles = {name: check_scoring(estimator, scoring=v) for name, v in parts.items()}
        combined = check_scoring(estimator, scoring=scoring)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"scoring={scoring!r} is not usable: {exc}") from None
    if len(parts) == 1 and not isinstance(scoring, dict | list | tuple | set):
        ((name, single),) = singles.items()

        def combined(est: Any, X: Any, y: Any, **kw: Any) -> dict[str, float]:
            return {name: single(est, X, y, **kw)}

    return combined, singles


def fit_params(estimator: Any, weight: np.ndarray | None) -> dict[str, Any]:
    """``fit`` keyword arguments routing ``sample_weight`` to the (final step of the) model.

    Raises ConfigError when weights are given to a model whose ``fit`` takes none.
    """
    if weight is None:
        return {}
    if isinstance(estimator, Pipeline):
        name, final = estimator.steps[-1]
        key = f"{name}__sample_weight"
    else:
        final, key = estimator, "sample_weight"
    if not has_fit_parameter(final, "sample_weight"):
        raise ConfigError(
            f"sample_weight was given but {type(final).__name__}.fit takes no sample_weight: "
            "drop sample_weight or use a model that accepts it"
        )
    return {key: weight}


def _take(data: Any, rows: np.ndarray) -> Any:
    return data.iloc[rows] if isinstance(data, pd.DataFrame | pd.Series) else data[rows]


def _fit_and_score(
    estimator: Any,
    X_train: Any,
    y_train: Any,
    w_train: np.ndarray | None,
    X_test: Any,
    y_test: Any,
    w_test: np.ndarray | None,
    scorer: Callable[..., dict[str, float]],
    keep: bool,
) -> dict[str, Any]:
    begin = time.perf_counter()
    estimator.fit(X_train, y_train, **fit_params(estimator, w_train))
    fitted = time.perf_counter()
    kw = {} if w_test is None else {"sample_weight": w_test}
    scores = scorer(estimator, X_test, y_test, **kw)
    predictions = np.asarray(estimator.predict(X_test))
    probabilities = None
    if is_classifier(estimator) and hasattr(estimator, "predict_proba"):
        probabilities = np.asarray(estimator.predict_proba(X_test), dtype=float)
    done = time.perf_counter()
    return {
        "scores": {k: float(v) for k, v in scores.items()},
        "fit_time": fitted - begin,
        "score_time": done - fitted,
        "predictions": predictions,
        "probabilities": probabilities,
        "classes": getattr(estimator, "classes_", None),
        "estimator": estimator if keep else None,
    }


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
    n_jobs: int | None = None,
    return_estimators: bool = False,
    on_split: Callable[[int, int], None] | None = None,
) -> CVResult:
    """Fit a clone of ``estimator`` per split; score it; collect out-of-fold predictions.

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
        Label end times, given to a purged ``cv`` that has none.
    scoring : None, str, list of str, dict or callable, default None
        None uses ``estimator.score``; strings are ``sklearn.metrics.get_scorer`` names
        (sklearn's sign convention, e.g. ``neg_log_loss``); a dict maps names to scorers.
    sample_weight : array-like, shape (n,), optional
        Passed to ``fit`` for training rows and to the scorers for test rows.
    n_jobs : int or None, default None
        Splits fitted in parallel with joblib (in memory, no files).
    return_estimators : bool, default False
        Keep each split's fitted estimator.
    on_split : callable, optional
        Called as ``on_split(done, total)`` after each split finishes (progress bars).

    Returns
    -------
    CVResult
    """
    y, weight = _check_inputs(X, y, sample_weight)
    cv = _resolve_cv(cv, t1)
    scorer, singles = _build_scorers(estimator, scoring)
    names = list(singles)
    fit_params(estimator, weight)  # fail before any fitting when weights cannot be used
    infos: list[SplitInfo] = []

    def tasks() -> Iterator[Any]:
        for info in _split_infos(cv, X, y):
            infos.append(info)
            w_train = None if weight is None else weight[info.train]
            w_test = None if weight is None else weight[info.test]
            yield delayed(_fit_and_score)(
                clone(estimator),
                _take(X, info.train),
                _take(y, info.train),
                w_train,
                _take(X, info.test),
                _take(y, info.test),
                w_test,
                scorer,
                return_estimators,
            )

    total = cv.get_n_splits(X, y)
    outputs = []
    for out in Parallel(n_jobs=n_jobs, max_nbytes=None, return_as="generator")(tasks()):
        outputs.append(out)
        if on_split is not None:
            on_split(len(outputs), total)
    index = X.index if isinstance(X, pd.DataFrame) else None
    times = index.get_level_values(0) if isinstance(index, pd.MultiIndex) else index
    rows = []
    for k, (info, out) in enumerate(zip(infos, outputs, strict=True)):
        rows.append(
            {
                "split": k,
                **out["scores"],
                "fit_time": out["fit_time"],
                "score_time": out["score_time"],
                "n_train": int(info.train.size),
                "n_test": int(info.test.size),
                "n_purged": info.n_purged,
                "n_embargoed": info.n_embargoed,
                "test_start": _time_label(times, int(info.test.min())),
                "test_end": _time_label(times, int(info.test.max())),
            }
        )
        logger.debug("cv split %d: %s", k, {n: out["scores"][n] for n in names})
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
        estimators=[out["estimator"] for out in outputs] if return_estimators else None,
        scorers=names,
    )


def _assemble(
    infos: list[SplitInfo],
    outputs: list[dict[str, Any]],
    y: Any,
    n: int,
    n_paths: int,
    multipath: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scatter each split's test predictions into (row, path) cells."""
    columns = [f"path_{p}" for p in range(n_paths)]
    numeric = all(out["predictions"].dtype.kind in "biuf" for out in outputs)
    pred = np.full((n, n_paths), np.nan, dtype=float if numeric else object)
    for info, out in zip(infos, outputs, strict=True):
        pred[info.test, info.test_paths] = out["predictions"]
    predictions = pd.DataFrame(pred, columns=columns)
    if not outputs or outputs[0]["probabilities"] is None or outputs[0]["classes"] is None:
        return predictions, None
    classes = np.unique(np.asarray(y))
    proba = np.full((n, n_paths, classes.size), np.nan)
    for info, out in zip(infos, outputs, strict=True):
        cols = np.searchsorted(classes, np.asarray(out["classes"]))
        block = np.zeros((info.test.size, classes.size))  # a class unseen in training: 0
        block[:, cols] = out["probabilities"]
        proba[info.test, info.test_paths] = block
    if multipath:
        header = pd.MultiIndex.from_product([columns, classes.tolist()], names=["path", "class"])
        return predictions, pd.DataFrame(proba.reshape(n, -1), columns=header)
    return predictions, pd.DataFrame(proba[:, 0, :], columns=pd.Index(classes.tolist()))
