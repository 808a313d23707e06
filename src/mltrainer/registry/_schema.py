"""The check a frame passes before a stored model predicts on it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mltrainer.exceptions import SchemaError

_SHOWN = 8


def _quoted(names: Sequence[object]) -> str:
    shown = ", ".join(repr(str(name)) for name in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def check_features(X: object, feature_names: Sequence[str]) -> pd.DataFrame:
    """Check that ``X`` has exactly the model's features, in order, all numeric.

    Parameters
    ----------
    X : object
        What the caller passed to ``predict``.
    feature_names : sequence of str
        The features the model was trained on, in training order.

    Returns
    -------
    DataFrame
        ``X`` itself (not copied).

    Raises
    ------
    SchemaError
        If ``X`` is not a DataFrame, has duplicate, missing, extra or reordered columns,
        a non-numeric column, or (with two rows or more) a column that is NaN on every
        row, which means it was not computed; the message names the columns and the fix.
        One row with a missing value is accepted (models such as XGBoost handle it).
    """
    expected = list(feature_names)
    if not isinstance(X, pd.DataFrame):
        raise SchemaError(
            f"X must be a pandas DataFrame with the model's {len(expected)} feature columns, "
            f"got {type(X).__name__}; build one with pd.DataFrame(X, columns=model.feature_names)"
        )
    columns = list(X.columns)
    if columns == expected:
        _check_numeric(X)
        _check_not_all_missing(X)
        return X
    duplicated = X.columns[X.columns.duplicated()].unique().tolist()
    if duplicated:
        raise SchemaError(f"X has duplicate column(s) {_quoted(duplicated)}; keep one of each")
    present = set(columns)
    missing = [name for name in expected if name not in present]
    if missing:
        raise SchemaError(
            f"missing feature(s) {_quoted(missing)} in X: the model was trained on "
            f"{len(expected)} features; compute them with the same feature spec"
        )
    wanted = set(expected)
    extra = [name for name in columns if name not in wanted]
    if extra:
        raise SchemaError(
            f"X has extra column(s) {_quoted(extra)} the model was not trained on; "
            "select the model's features with X[model.feature_names]"
        )
    first = next(
        i for i, (got, want) in enumerate(zip(columns, expected, strict=True)) if got != want
    )
    raise SchemaError(
        f"X has the model's features in a different order (column {first} is "
        f"{str(columns[first])!r}, expected {expected[first]!r}); "
        "reorder with X[model.feature_names]"
    )


def _check_numeric(X: pd.DataFrame) -> None:
    for name, dtype in X.dtypes.items():
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise SchemaError(
                f"feature column {str(name)!r} has non-numeric dtype {dtype}; "
                f"convert it, e.g. X[{str(name)!r}].astype(float)"
            )


def _check_not_all_missing(X: pd.DataFrame) -> None:
    if len(X) < 2:  # one row: a single missing value, not a missing column
        return
    empty = X.columns[X.isna().to_numpy().all(axis=0)].tolist()
    if empty:
        raise SchemaError(
            f"feature column(s) {_quoted(empty)} are NaN on all {len(X)} rows: the feature "
            "was not computed (too little history for its warm-up, or a missing input "
            "column); compute it, or drop the rows before the warm-up ends"
        )
