"""The one fold loop step: resample the training rows, fit, predict the test rows once, score.

:func:`fit_fold` is what cross-validation, out-of-fold importance and tuning all run per
split. Its ``resampler`` hook is where augmentation plugs in: it is handed the training
rows of the fold (after purging and embargo) with their weights and label end times, and
returns the rows to fit on. It never sees a test row, and rows it returns whose label span
``[t0, t1]`` reaches into a test span are refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import has_fit_parameter

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.models import final_estimator, final_step_name

__all__ = [
    "CachedOutputs",
    "FoldResult",
    "Resampler",
    "TrainingRows",
    "fit_fold",
    "fit_params",
    "fit_rows",
    "take_rows",
]

_METHODS = ("predict", "predict_proba", "decision_function", "predict_log_proba")


@dataclass(frozen=True)
class TrainingRows:
    """The rows a model is fitted on: features, targets, weights and label end times.

    Attributes
    ----------
    X : DataFrame or ndarray
        Features; a frame is indexed by decision time t0.
    y : Series or ndarray
        Targets aligned with X.
    sample_weight : ndarray or None
        One weight per row.
    t1 : Series or None
        Label end times aligned with X (None when unknown).
    n_synthetic : int
        How many of the rows a resampler made up (0 for real rows).
    """

    X: Any
    y: Any
    sample_weight: np.ndarray | None = None
    t1: pd.Series | None = None
    n_synthetic: int = 0

    def __len__(self) -> int:
        return int(self.X.shape[0])


@runtime_checkable
class Resampler(Protocol):
    """Changes the training rows of a fold (and of the final fit) before the model sees them.

    ``resample`` receives only training rows (purged and embargoed) and returns the rows to
    fit on, carrying weights and label end times along. It must not mutate its input.
    """

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        """Return the rows to fit on; ``fold`` is the split number (-1 for the final fit)."""
        ...


def take_rows(data: Any, rows: np.ndarray) -> Any:
    """``data`` at row positions ``rows`` (``iloc`` for pandas, fancy indexing otherwise)."""
    if data is None:
        return None
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.iloc[rows]
    return np.asarray(data)[rows]


def _fit_steps(estimator: Any) -> list[tuple[str, Any]]:
    """``(routing prefix, step)`` of every step that a fit parameter can reach."""
    if not isinstance(estimator, Pipeline):
        return [("", estimator)]
    out: list[tuple[str, Any]] = []
    for name, step in estimator.steps:
        if step is None or step == "passthrough":
            continue
        out.extend((f"{name}__{inner}" if inner else name, s) for inner, s in _fit_steps(step))
    return out


def fit_params(estimator: Any, weight: np.ndarray | None) -> dict[str, Any]:
    """``fit`` keyword arguments routing ``sample_weight`` through ``estimator``.

    The one weight routing of the package: the final model always gets the weights (and
    must accept them); in a ``Pipeline``, so does every earlier step whose ``fit`` takes
    ``sample_weight`` (mltrainer's selectors, scalers), so a selection or a scaling is
    fitted on the same weighted rows as the model.

    Raises
    ------
    ConfigError
        When weights are given to a model whose ``fit`` takes none.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> sorted(fit_params(LogisticRegression(), np.ones(3)))
    ['sample_weight']
    """
    if weight is None:
        return {}
    final = final_estimator(estimator)
    if not has_fit_parameter(final, "sample_weight"):
        raise ConfigError(
            f"sample_weight was given but {type(final).__name__}.fit takes no sample_weight: "
            "drop sample_weight or use a model that accepts it"
        )
    if final_step_name(estimator) is None:
        return {"sample_weight": weight}
    return {
        f"{prefix}__sample_weight": weight
        for prefix, step in _fit_steps(estimator)
        if step is final or has_fit_parameter(step, "sample_weight")
    }


class CachedOutputs:
    """A fitted model seen through its outputs on one X: each method runs once.

    Scorers call ``predict`` / ``predict_proba`` / ``decision_function`` on it as on the
    model; the first call on ``X`` computes the output and later calls (other scorers, the
    out-of-fold predictions) reuse it. Any other X goes to the model directly.
    """

    def __init__(self, model: Any, X: Any) -> None:
        self.model = model
        self.X = X
        self._cache: dict[str, np.ndarray] = {}

    def __sklearn_tags__(self) -> Any:
        return get_tags(self.model)

    @property
    def classes_(self) -> Any:
        return self.model.classes_

    def output(self, method: str) -> np.ndarray:
        """The cached output of ``method`` on ``self.X``."""
        if method not in self._cache:
            self._cache[method] = np.asarray(getattr(self.model, method)(self.X))
        return self._cache[method]

    def score(self, X: Any, y: Any, **kwargs: Any) -> float:
        """The model's own ``score`` (used when no scorer is named)."""
        return float(self.model.score(X, y, **kwargs))

    def __getattr__(self, name: str) -> Any:
        model = self.__dict__.get("model")
        if name in _METHODS and hasattr(model, name):

            def method(X: Any) -> np.ndarray:
                if X is self.X:
                    return self.output(name)
                return np.asarray(getattr(model, name)(X))

            method.__name__ = name  # scorers dispatch on the method's name
            return method
        raise AttributeError(name)


@dataclass
class FoldResult:
    """What :func:`fit_fold` produced for one split.

    Attributes
    ----------
    fold : int
        Split number.
    estimator : estimator or None
        The fitted model (None unless kept).
    scores : dict of str to float
        Each scorer on the test rows.
    predictions : ndarray or None
        ``predict`` on the test rows.
    probabilities : ndarray or None
        ``predict_proba`` on the test rows, for classifiers that have it.
    classes : ndarray or None
        The fitted classifier's ``classes_`` (columns of ``probabilities``).
    fit_time, score_time : float
        Seconds to resample + fit, and to predict + score.
    n_train : int
        Training rows of the split (after purging and embargo).
    n_fit : int
        Rows the model was fitted on (after resampling).
    n_synthetic : int
        Of those, rows a resampler made up.
    """

    fold: int
    estimator: Any
    scores: dict[str, float]
    predictions: np.ndarray | None
    probabilities: np.ndarray | None
    classes: np.ndarray | None
    fit_time: float
    score_time: float
    n_train: int
    n_fit: int
    n_synthetic: int = 0


def _check_resampled(rows: TrainingRows, before: TrainingRows) -> None:
    n = len(rows)
    for name in ("y", "sample_weight", "t1"):
        value = getattr(rows, name)
        if value is not None and len(value) != n:
            raise DataError(
                f"the resampler returned {n} rows of X but {len(value)} of {name}: return "
                "every field aligned with X"
            )
    if before.sample_weight is not None and rows.sample_weight is None:
        raise DataError("the resampler dropped the sample weights: carry them along")
    if before.t1 is not None and rows.t1 is None:
        raise DataError("the resampler dropped the label end times t1: carry them along")


def _test_spans(t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint, sorted ``[start, end]`` spans covering the test rows' label spans."""
    order = np.argsort(t0, kind="stable")
    starts, ends = t0[order], np.maximum.accumulate(t1[order])
    new = np.ones(starts.size, dtype=bool)
    new[1:] = starts[1:] > ends[:-1]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, starts.size - 1]
    return starts[first], ends[last]


def _check_no_overlap(rows: TrainingRows, X_test: Any, t1_test: pd.Series | None) -> None:
    """Refuse resampled rows whose label span reaches into a test label span."""
    if t1_test is None or rows.t1 is None or not isinstance(rows.X, pd.DataFrame | pd.Series):
        return
    if not isinstance(X_test.index, pd.DatetimeIndex) or not len(X_test):
        return
    if not isinstance(rows.X.index, pd.DatetimeIndex):
        raise DataError("the resampler returned rows without a datetime index: keep their t0")
    unit = "ns"
    span_start, span_end = _test_spans(
        X_test.index.as_unit(unit).asi8, pd.DatetimeIndex(t1_test).as_unit(unit).asi8
    )
    a = rows.X.index.as_unit(unit).asi8
    b = pd.DatetimeIndex(rows.t1).as_unit(unit).asi8
    k = np.searchsorted(span_start, b, side="right") - 1
    hit = (k >= 0) & (span_end[np.maximum(k, 0)] >= a)
    if hit.any():
        row = int(np.flatnonzero(hit)[0])
        raise DataError(
            f"the resampler returned a training row [{rows.X.index[row]}, {rows.t1.iloc[row]}] "
            "whose label span overlaps a test label span: synthetic rows must keep the t0/t1 "
            "of training rows"
        )


def fit_rows(
    estimator: Any,
    rows: TrainingRows,
    *,
    resampler: Resampler | None = None,
    fold: int = -1,
    X_test: Any = None,
    t1_test: pd.Series | None = None,
) -> tuple[Any, TrainingRows]:
    """Resample ``rows`` (when a resampler is given) and fit ``estimator`` on them, in place.

    Returns the fitted estimator and the rows it was fitted on.
    """
    if resampler is not None:
        resampled = resampler.resample(rows, fold=fold)
        _check_resampled(resampled, rows)
        if X_test is not None:
            _check_no_overlap(resampled, X_test, t1_test)
        rows = resampled
    estimator.fit(rows.X, rows.y, **fit_params(estimator, rows.sample_weight))
    return estimator, rows


def fit_fold(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    train: np.ndarray,
    test: np.ndarray,
    sample_weight: np.ndarray | None = None,
    t1: pd.Series | None = None,
    resampler: Resampler | None = None,
    scorers: Mapping[str, Callable[..., float]] | None = None,
    fold: int = 0,
    keep_estimator: bool = False,
    predict: bool = True,
) -> FoldResult:
    """Fit a clone of ``estimator`` on the ``train`` rows; predict and score the ``test`` rows.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned; never fitted itself.
    X, y : array-like
        All rows; ``train`` and ``test`` are row positions into them.
    train, test : ndarray of int
        Row positions of the split (after purging and embargo).
    sample_weight : ndarray, optional
        Weights of all rows: training rows' go to ``fit`` (see :func:`fit_params`), test
        rows' to the scorers.
    t1 : Series, optional
        Label end times aligned with X: handed to the resampler with the training rows, and
        used to refuse resampled rows that overlap a test span.
    resampler : Resampler, optional
        Changes the training rows before the fit (never sees a test row).
    scorers : mapping of str to scorer, optional
        ``scorer(estimator, X_test, y_test[, sample_weight=])``; each sees the model's test
        outputs computed once.
    fold : int, default 0
        Split number, passed to the resampler.
    keep_estimator : bool, default False
        Keep the fitted model in the result.
    predict : bool, default True
        Compute out-of-fold predictions (and probabilities for classifiers).

    Returns
    -------
    FoldResult
    """
    scorers = scorers or {}
    begin = time.perf_counter()
    rows = TrainingRows(
        take_rows(X, train),
        take_rows(y, train),
        None if sample_weight is None else sample_weight[train],
        None if t1 is None else t1.iloc[train],
    )
    X_test = take_rows(X, test)
    model, fitted_rows = fit_rows(
        clone(estimator),
        rows,
        resampler=resampler,
        fold=fold,
        X_test=X_test,
        t1_test=None if t1 is None else t1.iloc[test],
    )
    fitted = time.perf_counter()
    outputs = CachedOutputs(model, X_test)
    y_test = take_rows(y, test)
    kw = {} if sample_weight is None else {"sample_weight": sample_weight[test]}
    scores = {
        name: float(scorer(outputs, X_test, y_test, **kw))
        for name, scorer in (scorers or {}).items()
    }
    predictions = probabilities = None
    if predict:
        predictions = outputs.output("predict")
        if is_classifier(model) and hasattr(model, "predict_proba"):
            probabilities = np.asarray(outputs.output("predict_proba"), dtype=float)
    return FoldResult(
        fold=fold,
        estimator=model if keep_estimator else None,
        scores=scores,
        predictions=predictions,
        probabilities=probabilities,
        classes=getattr(model, "classes_", None),
        fit_time=fitted - begin,
        score_time=time.perf_counter() - fitted,
        n_train=len(train),
        n_fit=len(fitted_rows),
        n_synthetic=fitted_rows.n_synthetic,
    )
