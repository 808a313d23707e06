"""The one rule for label end times: ``t1`` travels with X and is realigned to X's rows.

A splitter (or ``cross_validate``) may be handed ``t1`` for more rows than the X it splits:
inside a ``Pipeline`` or a nested ``GridSearchCV`` an inner splitter sees only an outer
training fold, while its ``t1`` covers every row. Rows are then picked out of ``t1`` by
X's index. Every place that needs the label end times of X's rows calls :func:`align_t1`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mltrainer.exceptions import ConfigError, DataError

__all__ = ["align_t1", "reconcile_t1"]


def align_t1(t1: pd.Series | None, X: Any) -> pd.Series | None:
    """The label end times of X's rows, given ``t1`` for X or for a superset of X's rows.

    Parameters
    ----------
    t1 : Series or None
        Label end times indexed by decision time, for X's rows or a superset of them.
    X : DataFrame, Series or array-like
        The rows to align to. Arrays carry no index: ``t1`` must then have one row per row.

    Returns
    -------
    Series or None
        Indexed like X. When repeated (panel) timestamps make rows ambiguous, each row
        gets the latest label end of its timestamp: never shorter than its own, so
        purging with it can only remove more.

    Raises
    ------
    DataError
        When ``t1`` is not a Series or does not cover X's rows.

    Examples
    --------
    >>> t0 = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    >>> t1 = pd.Series(t0 + pd.Timedelta("1D"), index=t0)
    >>> X = pd.DataFrame({"x": [1.0, 2.0]}, index=t0[1:3])
    >>> align_t1(t1, X).index.equals(X.index)
    True
    """
    if t1 is None:
        return None
    if not isinstance(t1, pd.Series):
        raise DataError(f"t1 must be a Series of label end times, got {type(t1).__name__}")
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    if len(t1) == n:
        return t1  # row for row; the splitters check that the index lines up
    if len(t1) < n or not isinstance(X, pd.DataFrame | pd.Series):
        raise DataError(
            f"t1 has {len(t1)} rows but X has {n}: pass t1 for X's rows (or, with X a "
            "DataFrame indexed by decision time, for a superset of them)"
        )
    sub = t1[t1.index.isin(X.index)]
    if len(sub) == n and sub.index.equals(X.index):
        return sub
    times = X.index.get_level_values(0) if isinstance(X.index, pd.MultiIndex) else X.index
    if n and bool(times.isin(t1.index.get_level_values(0)).all()):
        latest = t1.groupby(level=0, sort=False).max()
        return pd.Series(latest.reindex(times).to_numpy(), index=X.index, name=t1.name)
    raise DataError(
        f"t1 has {len(t1)} rows but X has {n} and t1 does not cover X's decision times: pass "
        "t1 indexed like X, or like a superset of X's rows"
    )


def reconcile_t1(given: pd.Series | None, own: pd.Series | None, X: Any) -> pd.Series | None:
    """One ``t1`` for X from the one given to a function and the one a splitter holds.

    Either may be missing; both may be given only when they agree on X's rows.

    Raises
    ------
    ConfigError
        When both are given and disagree on X's rows.
    """
    mine = align_t1(given, X)
    theirs = align_t1(own, X)
    if mine is None or theirs is None:
        return mine if theirs is None else theirs
    if mine is not theirs and not mine.equals(theirs):
        raise ConfigError(
            "t1 was given both to the function and to its splitter, with different values for "
            "X's rows: give it once"
        )
    return mine
