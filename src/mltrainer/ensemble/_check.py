"""Refusing bad ensemble settings before any model is fitted, with one line naming the setting.

:func:`check_ensemble_config` needs no data (member types and tasks, regime columns against
the feature spec's columns); :func:`check_ensemble_data` needs the dataset and the splitter
but fits nothing: it counts each outer training fold's rows per regime bound and splits
each training fold as the stack's inner splitter will.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.config import ModelConfig, RegimeConfig
from mltrainer.cv import resolve_cv
from mltrainer.ensemble._build import make_ensemble
from mltrainer.ensemble._regime import RegimeEnsemble
from mltrainer.ensemble._stacking import StackingEnsemble
from mltrainer.exceptions import ConfigError, MltrainerError, did_you_mean

__all__ = ["MIN_INNER_TRAIN_ROWS", "MIN_META_ROWS", "check_ensemble_config", "check_ensemble_data"]

#: Fewest training rows an inner fold of the stack may have.
MIN_INNER_TRAIN_ROWS = 10
#: Fewest rows the meta model may be fitted on (rows every member predicts out of fold).
MIN_META_ROWS = 20
_NOT_CAUSAL = ("y", "label", "t1", "target")


def check_ensemble_config(
    model: ModelConfig,
    task: str,
    *,
    params: Mapping[str, Any] | None,
    columns: Sequence[str],
    label: Mapping[str, Any],
    selection: str = "none",
    seed: int | None = None,
) -> None:
    """Refuse what can be judged without data: member types, params, tasks, regime columns.

    Parameters
    ----------
    model : ModelConfig
        The ``model`` section (``type: ensemble``).
    task : str
        The label's task.
    params : mapping, optional
        ``<member>__<param>`` params.
    columns : sequence of str
        The columns the feature spec produces (the dataset's X).
    label : mapping
        The label spec (its name is not a causal column).
    selection : str
        ``selection.method`` (a regime rule needs its columns kept).
    seed : int, optional

    Raises
    ------
    ConfigError
    """
    make_ensemble(model, task, params, random_state=seed)
    regime_columns = []
    if model.combine == "regime":
        regime_columns = (model.regime or RegimeConfig()).columns()
    known = list(columns)
    label_names = {*_NOT_CAUSAL, str(label.get("name", ""))}
    for column in regime_columns:
        if column in label_names:
            raise ConfigError(
                f"model.regime.features: '{column}' is the label (known only at t1), not a "
                "causal feature; use a column of the features section, e.g. volatility_20"
            )
        if column not in known:
            raise ConfigError(
                f"model.regime.features: '{column}' is not a column of the dataset"
                f"{did_you_mean(column, known)}; the features section makes "
                f"{', '.join(known[:8])}{', ...' if len(known) > 8 else ''}"
            )
    if regime_columns and selection != "none":
        raise ConfigError(
            "selection.method must be none with combine: regime (selection could drop the "
            f"regime columns {regime_columns}); select the members' features by hand instead"
        )


def _outer_folds(X: pd.DataFrame, t1: pd.Series | None, splitter: Any) -> list[np.ndarray]:
    cv = resolve_cv(splitter, X, t1)
    return [np.asarray(train) for train, _ in cv.split(X)]


def check_ensemble_data(
    estimator: Any,
    X: pd.DataFrame,
    *,
    t1: pd.Series | None,
    splitter: Any,
    panel: bool = False,
) -> None:
    """Refuse an ensemble the data cannot support, before any fit.

    Checks that a regime rule's columns are in X, that a row-order rule (Markov filter,
    ``min_dwell``) is not asked to follow a panel, that each outer training fold has at
    least ``n_regimes * min_rows`` rows, and that the stack's inner splitter can split
    every outer training fold into inner folds of at least :data:`MIN_INNER_TRAIN_ROWS`
    training rows, leaving at least :data:`MIN_META_ROWS` rows for the meta model.

    Raises
    ------
    ConfigError
        Naming the ``model.regime`` / ``model.meta`` setting and the fold at fault.
    """
    if isinstance(estimator, RegimeEnsemble):
        _check_regime(estimator, X, t1=t1, splitter=splitter, panel=panel)
    elif isinstance(estimator, StackingEnsemble):
        _check_stack(estimator, X, t1=t1, splitter=splitter)


def _check_regime(
    estimator: RegimeEnsemble, X: pd.DataFrame, *, t1: Any, splitter: Any, panel: bool
) -> None:
    missing = [c for c in (estimator.features or []) if c not in X.columns]
    if missing:
        raise ConfigError(f"model.regime.features: {missing} are not columns of the dataset")
    if panel and (estimator.method == "markov" or estimator.min_dwell > 1):
        raise ConfigError(
            "model.regime: method markov and min_dwell > 1 follow one series in time order, "
            "but the data are a panel of several symbols; use method volatility or gmm with "
            "min_dwell: 1"
        )
    needed = int(estimator.n_regimes) * int(estimator.min_rows)
    for k, train in enumerate(_outer_folds(X, t1, splitter)):
        if train.size < needed:
            raise ConfigError(
                f"model.regime: outer training fold {k} has {train.size} rows, fewer than "
                f"n_regimes {estimator.n_regimes} x min_rows {estimator.min_rows} = {needed}; "
                "lower model.regime.n_regimes or min_rows, or use more data"
            )


def _check_stack(estimator: StackingEnsemble, X: pd.DataFrame, *, t1: Any, splitter: Any) -> None:
    inner = estimator._inner_cv()
    for k, train in enumerate(_outer_folds(X, t1, splitter)):
        part = X.iloc[train]
        try:
            splits = list(resolve_cv(inner, part, None).split(part))
        except MltrainerError as exc:
            raise ConfigError(
                f"model.meta: the inner folds cannot split outer training fold {k} "
                f"({train.size} rows): {exc}; lower model.meta.n_splits or use more data"
            ) from None
        tested = np.zeros(train.size, dtype=bool)
        for j, (inner_train, inner_test) in enumerate(splits):
            if len(inner_train) < MIN_INNER_TRAIN_ROWS:
                raise ConfigError(
                    f"model.meta.n_splits: inner fold {j} of outer training fold {k} trains on "
                    f"{len(inner_train)} rows (< {MIN_INNER_TRAIN_ROWS}); lower "
                    "model.meta.n_splits or use more data"
                )
            tested[np.asarray(inner_test)] = True
        if tested.sum() < MIN_META_ROWS:
            raise ConfigError(
                f"model.meta: only {int(tested.sum())} rows of outer training fold {k} are "
                f"predicted out of fold (< {MIN_META_ROWS}) for the meta model; use more "
                "inner folds (model.meta.n_splits) or more data"
            )
