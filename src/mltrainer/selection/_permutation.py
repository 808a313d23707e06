"""Permutation importance (MDA) measured out of fold, on purged test folds.

For each split the model is fitted on the training fold; its score on the test fold is
the baseline, and each feature (or group of features) is permuted ``n_repeats`` times on
the test fold to measure how much the score drops. The permuted copies of a fold are
stacked and predicted in a few large batches (one model call per batch, not one per
feature and repeat). Common scorers are computed for every block in one NumPy pass
(``_fast.py``); any other scorer scores each block through scikit-learn.

Permutations follow :func:`sklearn.inspection.permutation_importance` exactly (one seed
drawn from ``random_state``, the same successive shuffles for every feature), so on the
same fitted model and test rows the two agree (to float rounding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state, get_tags

from mltrainer.cv import Resampler, align_t1, fit_fold, resolve_cv, take_rows
from mltrainer.exceptions import ConfigError, DataError
from mltrainer.selection._common import as_frame, make_scorer_for, split_rows
from mltrainer.selection._fast import fast_scores
from mltrainer.selection._result import ImportanceResult, summarise

__all__ = ["fold_permutation_scores", "permutation_importance"]

_METHODS = ("predict", "predict_proba", "decision_function", "predict_log_proba")
_MAX_CELLS = 10_000_000  # cells (rows x features) predicted per batch: ~80 MB of float64


class _BatchOutputs(BaseEstimator):
    """Stands in for a fitted model while a scorer scores one block of a batch.

    Each prediction method runs the real model once on the whole stacked batch and
    hands the scorer the rows of the current block.
    """

    def __init__(self, model: Any, batch: Any, n_rows: int) -> None:
        self.model = model
        self.batch = batch
        self.n_rows = n_rows

    def __sklearn_tags__(self) -> Any:
        return get_tags(self.model)

    @property
    def classes_(self) -> Any:
        return self.model.classes_

    def _output(self, method: str) -> np.ndarray:
        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_cache", {})
        if method not in cache:
            cache[method] = np.asarray(getattr(self.model, method)(self.batch))
        start = self.__dict__.get("_block", 0) * self.n_rows
        return cache[method][start : start + self.n_rows]

    def __getattr__(self, name: str) -> Any:
        # Only the prediction methods the real model has, so scorers pick the same one.
        if name in _METHODS and hasattr(self.__dict__.get("model"), name):

            def method(X: Any) -> np.ndarray:
                return self._output(name)

            method.__name__ = name  # scorers dispatch on the method's name
            return method
        raise AttributeError(name)


def _permutations(n: int, n_repeats: int, seed: int) -> np.ndarray:
    """Row orders of each repeat, as scikit-learn draws them (successive shuffles)."""
    rng = np.random.RandomState(seed)
    shuffle = np.arange(n)
    current = np.arange(n)
    out = np.empty((n_repeats, n), dtype=np.intp)
    for r in range(n_repeats):
        rng.shuffle(shuffle)
        current = current[shuffle]
        out[r] = current
    return out


def _score_blocks(
    model: Any,
    base: np.ndarray,
    columns: list[str] | None,
    blocks: list[tuple[np.ndarray, np.ndarray | None]],
    y: Any,
    weight: np.ndarray | None,
    scorer: Any,
    fast_name: str,
) -> np.ndarray:
    """Score each block: (column positions, row order) permuted on a copy of ``base``."""
    n = base.shape[0]
    batch = np.tile(base, (len(blocks), 1))
    for b, (cols, order) in enumerate(blocks):
        if order is not None:
            batch[b * n : (b + 1) * n, cols] = base[order[:, None], cols[None, :]]
    data: Any = batch if columns is None else pd.DataFrame(batch, columns=columns, copy=False)
    fast = fast_scores(fast_name, model, data, y, weight, len(blocks))
    if fast is not None:
        return fast
    proxy = _BatchOutputs(model, data, n)
    head = data[:n] if columns is None else data.iloc[:n]
    kw = {} if weight is None else {"sample_weight": weight}
    scores = np.empty(len(blocks))
    for b in range(len(blocks)):
        proxy.__dict__["_block"] = b
        scores[b] = scorer(proxy, head, y, **kw)
    return scores


def fold_permutation_scores(
    model: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    groups: Sequence[np.ndarray],
    *,
    scorer: Any,
    n_repeats: int,
    seed: int,
    sample_weight: np.ndarray | None = None,
    n_jobs: int | None = None,
    named: bool = True,
    fast_name: str = "",
) -> tuple[float, np.ndarray]:
    """Baseline score and permuted scores, shape (n_repeats, n_groups), of one fitted model."""
    try:
        base = X_test.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            "permutation importance needs numeric features: encode non-numeric columns first"
        ) from None
    n, p = base.shape
    orders = _permutations(n, n_repeats, seed)
    blocks: list[tuple[np.ndarray, np.ndarray | None]] = [(np.empty(0, dtype=np.intp), None)]
    blocks += [(cols, orders[r]) for cols in groups for r in range(n_repeats)]
    per_batch = max(1, _MAX_CELLS // max(1, n * p))
    if n_jobs not in (None, 1):
        per_batch = min(per_batch, -(-len(blocks) // 8))  # enough batches to share out
    chunks = [blocks[i : i + per_batch] for i in range(0, len(blocks), per_batch)]
    columns = list(X_test.columns) if named else None
    y = np.asarray(y_test)
    parts = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_score_blocks)(model, base, columns, chunk, y, sample_weight, scorer, fast_name)
        for chunk in chunks
    )
    scores = np.concatenate(parts)
    return float(scores[0]), scores[1:].reshape(len(groups), n_repeats).T


def _group_positions(
    columns: list[str], groups: Mapping[str, Sequence[str]] | None
) -> tuple[list[str], list[np.ndarray]]:
    if groups is None:
        return list(columns), [np.array([i], dtype=np.intp) for i in range(len(columns))]
    if isinstance(groups, str) or not isinstance(groups, Mapping) or not groups:
        raise ConfigError(
            "groups must map a group name to its features, e.g. {'trend': ['sma_10', 'sma_50']}"
        )
    position = {c: i for i, c in enumerate(columns)}
    names, positions = [], []
    for name, members in groups.items():
        if isinstance(members, str) or not members:
            raise ConfigError(f"groups[{name!r}] must be a non-empty list of feature names")
        missing = [m for m in members if m not in position]
        if missing:
            raise ConfigError(f"groups[{name!r}] names {missing[0]!r}, which is not a column of X")
        names.append(str(name))
        positions.append(np.array([position[m] for m in members], dtype=np.intp))
    return names, positions


def check_repeats(n_repeats: Any) -> None:
    """Raise ConfigError unless ``n_repeats`` is a positive int."""
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int | np.integer) or n_repeats < 1:
        raise ConfigError(f"n_repeats={n_repeats!r} is not an int >= 1: pass e.g. n_repeats=5")


def permutation_importance(
    estimator: Any,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    cv: Any,
    t1: pd.Series | None = None,
    scoring: Any = None,
    n_repeats: int = 10,
    groups: Mapping[str, Sequence[str]] | None = None,
    sample_weight: Any = None,
    resampler: Resampler | None = None,
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
) -> ImportanceResult:
    """Mean decrease of the out-of-fold score when a feature is permuted (MDA).

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned and fitted on each training fold; never fitted itself.
    X : DataFrame or ndarray, shape (n, p)
        Numeric features, rows sorted by decision time (the index).
    y : Series or ndarray, shape (n,)
        Targets aligned with X.
    cv : int or cross-validator
        Any splitter of :mod:`mltrainer.cv` (or scikit-learn); an int means
        ``PurgedKFold(cv)``. Purged splitters are given ``t1``.
    t1 : Series, optional
        Label end times aligned with X, used to purge and embargo.
    scoring : str or callable, optional
        One scikit-learn scorer; default ``neg_log_loss`` for probabilistic classifiers,
        ``accuracy`` for other classifiers and ``r2`` for regressors.
    n_repeats : int, default 10
        Permutations per feature (group) and fold.
    groups : mapping of str to list of str, optional
        Feature groups permuted together (their rows shuffled jointly); the result is
        indexed by group name. Default: every feature on its own.
    sample_weight : array-like, optional
        Passed to ``fit`` on training rows and to the scorer on test rows.
    resampler : Resampler, optional
        Changes each fold's training rows before the fit (see :func:`mltrainer.cv.fit_fold`).
    random_state : int, RandomState or None
        Seed of the permutations.
    n_jobs : int or None
        Threads over batches of (feature, repeat) blocks; the model's own threads
        parallelise each batch's prediction.

    Returns
    -------
    ImportanceResult
        ``mean`` and ``std`` of the score decrease over folds and repeats, each fold's
        mean decrease and the baseline out-of-fold score of each fold. A fold that cannot
        be scored (its training rows lack a class) is NaN and counts as no evidence.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["signal", "noise"])
    >>> y = (X["signal"] + 0.5 * rng.normal(size=300) > 0).astype(int)
    >>> result = permutation_importance(LogisticRegression(), X, y, cv=3, random_state=0)
    >>> result.ranking()
    ['signal', 'noise']
    """
    check_repeats(n_repeats)
    named = isinstance(X, pd.DataFrame)
    frame = as_frame(X)
    if len(y) != len(frame):
        raise DataError(f"y has {len(y)} rows but X has {len(frame)}: pass y aligned with X")
    names, positions = _group_positions(list(frame.columns), groups)
    splitter = resolve_cv(cv, X, t1)
    aligned = align_t1(t1, X) if t1 is not None else getattr(splitter, "t1", None)
    scoring_name, scorer = make_scorer_for(estimator, scoring, y)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max + 1))
    fit_X = frame if named else np.asarray(X)  # the column names the model is scored with
    target = y if isinstance(y, pd.Series) else np.asarray(y)
    baselines, values = [], []
    splits = split_rows(splitter, X, y, classifier=is_classifier(estimator))
    for k, split in enumerate(splits):
        if split is None:  # no evidence from this split
            baselines.append(np.nan)
            values.append(np.full((int(n_repeats), len(positions)), np.nan))
            continue
        train, test = split
        fold = fit_fold(
            estimator,
            fit_X,
            target,
            train=train,
            test=test,
            sample_weight=weight,
            t1=aligned,
            resampler=resampler,
            fold=k,
            keep_estimator=True,
            predict=False,
        )
        base, permuted = fold_permutation_scores(
            fold.estimator,
            frame.iloc[test],
            take_rows(y, test),
            positions,
            scorer=scorer,
            n_repeats=int(n_repeats),
            seed=seed,
            sample_weight=None if weight is None else weight[test],
            n_jobs=n_jobs,
            named=named,
            fast_name=scoring_name if scoring is None or isinstance(scoring, str) else "",
        )
        baselines.append(base)
        values.append(base - permuted)
    method = "permutation" if groups is None else "grouped_permutation"
    return summarise(
        method,
        np.stack(values),
        names,
        scoring=scoring_name,
        baseline=np.asarray(baselines),
        groups=None if groups is None else dict(zip(names, groups.values(), strict=True)),
    )
