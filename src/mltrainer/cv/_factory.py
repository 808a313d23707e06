"""Build a splitter from a configuration: ``cv: {method: ..., n_splits: ..., embargo: ...}``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sklearn.model_selection import BaseCrossValidator, TimeSeriesSplit

from mltrainer.cv._base import PurgedSplitter
from mltrainer.cv._combinatorial import CombinatorialPurgedKFold
from mltrainer.cv._kfold import PurgedKFold
from mltrainer.cv._walk_forward import ExpandingWindowSplit, PurgedWalkForward
from mltrainer.exceptions import ConfigError, did_you_mean

__all__ = ["SPLITTER_METHODS", "make_splitter", "splitter_for_horizon"]

#: Method name -> splitter class, as the ``cv.method`` setting names them.
SPLITTER_METHODS: dict[str, type[BaseCrossValidator]] = {
    "purged_kfold": PurgedKFold,
    "combinatorial": CombinatorialPurgedKFold,
    "walk_forward": PurgedWalkForward,
    "expanding": ExpandingWindowSplit,
    "time_series": TimeSeriesSplit,
}


def _parameters(cls: type[BaseCrossValidator]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls.__init__).parameters
    return {name: p for name, p in params.items() if name not in ("self", "t1")}


def make_splitter(method: str, *, t1: pd.Series | None = None, **params: Any) -> BaseCrossValidator:
    """Build the splitter a ``cv`` configuration names, validating every parameter now.

    Parameters
    ----------
    method : {"purged_kfold", "combinatorial", "walk_forward", "expanding", "time_series"}
        ``time_series`` is scikit-learn's ``TimeSeriesSplit`` (``n_splits``, ``gap``,
        ``max_train_size``, ``test_size``); it does not purge with ``t1`` and is refused
        when ``t1`` has repeated timestamps (a panel).
    t1 : Series or None, default None
        Label end times aligned with X, given to the purged splitters.
    **params
        The splitter's own parameters (``n_splits``, ``embargo``, ``n_groups``,
        ``n_test_groups``, ``initial_train_size``, ``step_size``, ``max_train_size``,
        ``test_size``, ``gap``). A parameter set to None takes the splitter's default.

    Returns
    -------
    BaseCrossValidator

    Raises
    ------
    ConfigError
        For an unknown method or parameter, a missing required one or an invalid value.

    Examples
    --------
    >>> make_splitter("purged_kfold", n_splits=4, embargo="1D")
    PurgedKFold(n_splits=4, t1=None, embargo='1D')
    """
    if method not in SPLITTER_METHODS:
        raise ConfigError(
            f"cv: unknown method {method!r}{did_you_mean(str(method), SPLITTER_METHODS)}: "
            f"choose one of {', '.join(SPLITTER_METHODS)}"
        )
    cls = SPLITTER_METHODS[method]
    accepted = _parameters(cls)
    for name in params:
        if name not in accepted:
            hint = did_you_mean(name, accepted)
            if not hint and name == "embargo" and method == "time_series":
                hint = " (time_series has no embargo; use 'gap', or a purged method)"
            raise ConfigError(f"cv: unknown parameter {name!r} for {method}{hint}")
    given = {name: value for name, value in params.items() if value is not None}
    missing = [
        name
        for name, p in accepted.items()
        if p.default is inspect.Parameter.empty and name not in given
    ]
    if missing:
        raise ConfigError(f"cv: {method} needs {missing[0]!r}: set cv.{missing[0]}")
    if issubclass(cls, PurgedSplitter):
        splitter: BaseCrossValidator = cls(**given, t1=t1)
        try:
            splitter._check_params()
        except ConfigError as exc:
            raise ConfigError(f"cv ({method}): {exc}") from None
        return splitter
    if t1 is not None and t1.index.has_duplicates:
        # TimeSeriesSplit counts rows: in a panel it can cut through a timestamp and its
        # row `gap` covers fewer timestamps than the label horizon, so labels leak.
        raise ConfigError(
            f"cv: {method} splits by row and cannot keep rows sharing a timestamp together"
            " (a panel); use method 'walk_forward', which purges by label end time"
        )
    try:
        return cls(**given)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cv ({method}): {exc}") from None


def splitter_for_horizon(
    method: str, params: Mapping[str, Any], *, t1: pd.Series | None, horizon: int
) -> BaseCrossValidator:
    """The splitter a ``cv`` setting names, with the label horizon filling the time gaps.

    The translation from a run's ``cv`` section to a splitter: a purged method whose
    ``embargo`` is unset embargoes one label horizon; the row-based ``time_series``
    method's ``gap`` defaults to the horizon and may not be shorter (its training labels
    would overlap the test period); ``combinatorial`` ignores ``n_splits``.

    Parameters
    ----------
    method : str
        ``cv.method``.
    params : mapping
        The other ``cv`` settings that were set (None values take the defaults).
    t1 : Series or None
        Label end times (None checks the parameters only).
    horizon : int
        The label horizon in bars.

    Examples
    --------
    >>> splitter_for_horizon("purged_kfold", {"n_splits": 3}, t1=None, horizon=5)
    PurgedKFold(n_splits=3, t1=None, embargo=5)
    """
    given = {k: v for k, v in params.items() if v is not None}
    if method == "combinatorial":
        given.pop("n_splits", None)
    if method == "time_series":  # row-based: the gap must cover the label horizon
        gap = given.setdefault("gap", horizon)
        if gap < horizon:
            raise ConfigError(
                f"cv.gap={gap} is shorter than the label horizon {horizon}:"
                " training labels would overlap the test period; set cv.gap >="
                f" {horizon} or use a purged method"
            )
    else:
        given.setdefault("embargo", horizon)
    return make_splitter(method, t1=t1, **given)
