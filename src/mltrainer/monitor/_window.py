"""The current data in a model's terms: features, predictions and realised labels.

Features are computed on the current bars with the model's stored feature spec (or taken
ready-made), labels with its stored label spec (or read from a file), and predictions in
label values with the monitored probability columns, row for row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.data import stamp_times
from mltrainer.exceptions import DataError, NotFoundError, SchemaError
from mltrainer.features import compute_features
from mltrainer.labels import forward_return, label_horizon, make_labels
from mltrainer.monitor._reference import proba_columns
from mltrainer.registry import LoadedModel

__all__ = ["CurrentWindow", "current_window", "read_labels"]


@dataclass
class CurrentWindow:
    """The current data in the model's terms, row for row.

    Attributes
    ----------
    X : DataFrame
        The model's features on complete rows (past the warm-up), indexed by t0.
    predictions : DataFrame
        ``prediction`` (label values) and the monitored ``proba_<class>`` columns.
    y : ndarray
        Realised label per row, NaN where not (yet) known.
    returns : ndarray
        Realised forward log return over the label horizon, NaN where unknown.
    n_warmup : int
        Input rows dropped because a feature was not known yet (the features' warm-up).
    n_in_training : int
        Complete input rows dropped because they are at or before the training data's
        last label end (they would score in-sample).
    """

    X: pd.DataFrame
    predictions: pd.DataFrame
    y: np.ndarray
    returns: np.ndarray
    n_warmup: int = 0
    n_in_training: int = 0

    @property
    def labelled(self) -> np.ndarray:
        """Rows whose label is known."""
        return np.isfinite(self.y)


def _check_features(X: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"features must be a pandas DataFrame, not {type(X).__name__}")
    names = model.feature_names
    missing = [n for n in names if n not in X.columns]
    if missing:
        raise SchemaError(
            f"current data lack feature(s) {missing} that model '{model.name}' v{model.version}"
            f" needs; pass every one of {names}"
        )
    bad = [n for n in names if not pd.api.types.is_numeric_dtype(X[n].dtype)]
    if bad:
        raise DataError(
            f"feature '{bad[0]}' is {X[bad[0]].dtype} in the current data but the model needs"
            " numbers: convert it (e.g. pd.to_numeric)"
        )
    return X[names]


def _labels_for(X: pd.DataFrame, labels: pd.Series | pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Align a given label series / frame (``label`` [+ ``return``]) on X's timestamps."""
    frame = labels.to_frame("label") if isinstance(labels, pd.Series) else labels
    if "label" not in frame.columns:
        raise DataError(
            f"labels have columns {list(frame.columns)}; name the realised label column 'label'"
        )
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError("labels must be indexed by timestamp (a DatetimeIndex), like the bars")
    if frame.index.tz is None:
        raise DataError(
            f"labels are indexed by naive times (first {frame.index[0]}): give them a zone,"
            " e.g. labels.tz_localize('America/New_York'), or read the file with"
            " read_labels(path, model.metadata), which stamps them as the model's bars were"
        )
    frame = frame.set_axis(frame.index.tz_convert("UTC"))
    if frame.index.has_duplicates:
        raise DataError("labels repeat a timestamp; give one label per decision time")
    y = frame["label"].reindex(X.index).to_numpy(dtype=float)
    ret = (
        frame["return"].reindex(X.index).to_numpy(dtype=float)
        if "return" in frame.columns
        else np.full(len(X), np.nan)
    )
    return y, ret


def read_labels(path: str | Path, metadata: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Read realised labels from CSV or Parquet: a time column, ``label``, optional ``return``.

    The time column is ``timestamp``/``date``/``datetime``/``time`` (or a Parquet
    DatetimeIndex). Its times are stamped the way the model's bars were (``metadata``:
    the version's metadata, whose stored ``data`` config gives the zone, bar time stamps and
    session close; see ``docs/config.md``): a time with a UTC offset is that instant, a
    naive time is wall-clock time in the bars' zone, and a date names the trading day whose
    bar closes at the session close, so date-only labels line up with close-stamped bars.
    Without ``metadata`` only times with a UTC offset are accepted.

    Raises
    ------
    DataError
        No time column or ``label`` column, non-numeric values, or naive times without
        ``metadata`` (naming the first row and the fix).
    """
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"labels file '{file}' not found; pass an existing CSV or Parquet")
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"labels file '{file}': use a .csv or .parquet file")
    frame = pd.read_csv(file) if suffix == ".csv" else pd.read_parquet(file)
    lower = {str(c).lower(): c for c in frame.columns}
    time_col = next(
        (lower[n] for n in ("timestamp", "date", "datetime", "time") if n in lower), None
    )
    if time_col is not None:
        frame = frame.set_index(time_col)
    elif not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(
            f"labels file '{file}': no time column; name it 'timestamp' (ISO-8601 times)"
        )
    frame = frame.rename(columns={c: str(c).lower() for c in frame.columns})
    if "label" not in frame.columns:
        raise DataError(
            f"labels file '{file}' has columns {list(frame.columns)}; name the label column 'label'"
        )
    for column in ("label", "return"):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column].dtype):
            raise DataError(
                f"labels file '{file}': column '{column}' is {frame[column].dtype}; write numbers"
            )
    data = ((metadata or {}).get("config") or {}).get("data") or {}
    stamps = stamp_times(
        frame.index,
        source=f"labels file '{file}'",
        tz=(data.get("tz") or "UTC") if metadata is not None else None,
        bar_time=data.get("bar_time") or "close",
        session_close=data.get("session_close"),
        bars=data.get("source"),
        path=file,
        fix=(
            "write every time with its UTC offset (e.g. 2017-01-03T21:00:00Z), or pass the"
            " model's metadata, read_labels(path, model.metadata), to read naive times and"
            " dates as the model's bars were"
        ),
    )
    frame = frame.set_axis(stamps)
    if "label" not in frame.columns:
        raise DataError(
            f"labels file '{file}' has columns {list(frame.columns)}; name the label column 'label'"
        )
    for column in ("label", "return"):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column].dtype):
            raise DataError(
                f"labels file '{file}': column '{column}' is {frame[column].dtype}; write numbers"
            )
    return frame[[c for c in ("label", "return") if c in frame.columns]]


def current_window(
    model: LoadedModel,
    *,
    bars: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
    labels: pd.Series | pd.DataFrame | None = None,
    allow_training_rows: bool = False,
) -> CurrentWindow:
    """Features, predictions and (where known) labels of the current data.

    Rows at or before the training data's last label end are dropped (they would score
    in-sample) unless ``allow_training_rows`` is True.

    Pass ``bars`` (features and, unless ``labels`` is given, labels are computed with the
    model's stored specs) or ``features`` (the model's feature columns; labels only when
    given). ``labels``: a Series, or a frame with ``label`` and optionally ``return``,
    indexed by timestamp.

    Raises
    ------
    SchemaError
        The current data lack a feature the model needs.
    DataError
        Wrong dtypes, or no complete row (an empty window or one inside the warm-up).
    """
    if (bars is None) == (features is None):
        raise DataError("pass the current data as bars=... or as features=..., not both")
    meta = model.metadata
    n_input = len(bars) if bars is not None else len(features)  # type: ignore[arg-type]
    if n_input == 0:
        raise DataError("the current window is empty (0 rows): pass the bars to monitor")
    y_all = ret_all = None
    if bars is not None:
        full = compute_features(bars, meta["features"]["spec"])
        X_all = _check_features(full, model)
        if labels is None:
            spec = meta.get("config", {}).get("label") or meta["label"]
            y_all = make_labels(bars, spec).y.to_numpy(dtype=float)
            ret_all = forward_return(bars, horizon=label_horizon(spec)).y.to_numpy(dtype=float)
    else:
        X_all = _check_features(features, model)
    complete = X_all.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise DataError(
            f"no row of the {n_input} current rows has every feature (the first rows are the"
            " features' warm-up): pass more history"
        )
    # Out of sample only: rows up to the training data's last label end were (or overlap)
    # what the model was fitted on and would score in-sample.
    n_warmup = int((~complete).sum())
    n_in_training = 0
    last_t1 = meta.get("data", {}).get("last_t1")
    if last_t1 is not None and not allow_training_rows:
        after = np.asarray(X_all.index > pd.Timestamp(last_t1))
        if not (complete & after).any():
            raise DataError(
                f"every complete current row is at or before the model's training data"
                f" (last label end {last_t1}): monitor bars after that time"
            )
        n_in_training = int((complete & ~after).sum())
        complete = complete & after
    X = X_all.loc[complete]
    if labels is not None:
        if X.index.has_duplicates:
            raise DataError(
                "labels given by timestamp cannot be matched to a panel (several symbols per"
                " timestamp); leave labels out so they are computed from the bars per symbol"
            )
        y, ret = _labels_for(X, labels)
    elif y_all is not None and ret_all is not None:
        y, ret = y_all[complete], ret_all[complete]
    else:
        y = ret = np.full(len(X), np.nan)
    preds = pd.DataFrame(index=X.index)
    raw = np.asarray(model.predict(X))
    classes = meta.get("label", {}).get("classes")
    if classes:
        values = np.asarray(classes, dtype=float)
        preds["prediction"] = values[raw.astype(np.int64)]
        proba = np.asarray(model.predict_proba(X))
        wanted = proba_columns(classes)
        for j, value in enumerate(values):
            if f"proba_{value:g}" in wanted:
                preds[f"proba_{value:g}"] = proba[:, j]
    else:
        preds["prediction"] = raw.astype(float)
    return CurrentWindow(
        X=X, predictions=preds, y=y, returns=ret, n_warmup=n_warmup, n_in_training=n_in_training
    )
