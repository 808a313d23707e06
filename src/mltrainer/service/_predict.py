"""``POST /api/models/{name}/predict``: feature rows or bars in, predictions out.

Rows go through the loaded version's own schema check (the same ``SchemaError`` text as
``LoadedModel.predict``); bars are validated as the version's training bars were read
(``validate_bars`` with its stored ``data`` settings) and turned into its features with
its stored feature spec, exactly as :func:`mltrainer.pipeline.predict_bars` does. Nothing
here writes to the registry; critical decisions are recorded through
:mod:`mltrainer.service._decisions` when the build can explain them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mltrainer.data import validate_bars
from mltrainer.exceptions import ConfigError, DataError, SchemaError
from mltrainer.features import compute_features
from mltrainer.registry import LoadedModel
from mltrainer.service import _decisions
from mltrainer.service._state import ServiceState

__all__ = ["HARD_MAX_ROWS", "Bar", "PredictRequest", "predict"]

#: The schema's bound on rows or bars per request (the settings' ``max_rows`` is lower).
HARD_MAX_ROWS = 100_000
_MAX_FEATURES = 10_000


class Bar(BaseModel):
    """One market bar (stamped as the model's training bars were: see its ``data``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    symbol: str | None = Field(default=None, min_length=1, max_length=64)


class PredictRequest(BaseModel):
    """Exactly one of ``rows``, ``columns`` + ``data``, or ``bars``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    rows: list[dict[str, float | None]] | None = Field(
        default=None,
        max_length=HARD_MAX_ROWS,
        description="feature rows as objects {feature: value}; null is a missing value",
    )
    columns: list[str] | None = Field(
        default=None, max_length=_MAX_FEATURES, description="feature names, in the model's order"
    )
    data: list[list[float | None]] | None = Field(
        default=None, max_length=HARD_MAX_ROWS, description="rows of values, one per column"
    )
    index: list[datetime] | None = Field(
        default=None,
        max_length=HARD_MAX_ROWS,
        description="decision time of each row (default: now); ignored with bars",
    )
    bars: list[Bar] | None = Field(
        default=None,
        max_length=HARD_MAX_ROWS,
        description="bars with enough history for the model's features (warm-up rows are "
        "not predicted)",
    )
    version: int | str | None = Field(
        default=None, description="version number or alias (default: latest)"
    )

    @model_validator(mode="after")
    def _one_input(self) -> PredictRequest:
        given = [
            name
            for name, present in (
                ("rows", self.rows is not None),
                ("columns/data", self.columns is not None or self.data is not None),
                ("bars", self.bars is not None),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of rows, columns + data, or bars"
                + (f" (got {' and '.join(given)})" if given else "")
            )
        if (self.columns is None) != (self.data is None):
            raise ValueError("columns and data go together: data holds one value per column")
        return self


def _check_size(n: int, limit: int, what: str) -> None:
    if n == 0:
        raise DataError(f"no {what} to predict: send at least one")
    if n > limit:
        raise DataError(f"{n} {what} in one request is above the service's limit of {limit}")


def _rows_frame(model: LoadedModel, request: PredictRequest, limit: int) -> pd.DataFrame:
    features = model.feature_names
    if request.rows is not None:
        rows = request.rows
        _check_size(len(rows), limit, "rows")
        keys = list(rows[0])
        first = set(keys)
        for i, row in enumerate(rows):
            if row.keys() != first:
                odd = sorted(set(row) ^ first)[:5]
                raise SchemaError(
                    f"row {i} has other features than row 0 (differs in {odd}); send the "
                    "model's features in every row"
                )
        columns = features if first == set(features) else keys  # objects carry no order
        values = np.array(
            [[np.nan if (v := row[c]) is None else v for c in columns] for row in rows],
            dtype=np.float64,
        ).reshape(len(rows), len(columns))
    else:
        assert request.columns is not None
        assert request.data is not None
        columns, data = request.columns, request.data
        _check_size(len(data), limit, "rows")
        for i, given in enumerate(data):
            if len(given) != len(columns):
                raise SchemaError(
                    f"data row {i} has {len(given)} values for {len(columns)} columns; send one "
                    "value per column"
                )
        values = np.array(
            [[np.nan if v is None else v for v in row] for row in data], dtype=np.float64
        ).reshape(len(data), len(columns))
    n = values.shape[0]
    index = request.index
    if index is not None and len(index) != n:
        raise DataError(f"index has {len(index)} times for {n} rows; send one time per row")
    stamps = pd.DatetimeIndex(
        [pd.Timestamp(t) for t in index] if index is not None else [datetime.now(UTC)] * n,
        name="timestamp",
    )
    stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
    return pd.DataFrame(values, columns=list(columns), index=stamps)


def _bars_features(
    model: LoadedModel, request: PredictRequest, limit: int
) -> tuple[pd.DataFrame, list[str] | None]:
    """The model's features on the request's bars (rows past the warm-up), and symbols."""
    assert request.bars is not None
    _check_size(len(request.bars), limit, "bars")
    records = [bar.model_dump() for bar in request.bars]
    frame = pd.DataFrame.from_records(records).set_index("timestamp")
    if frame["symbol"].isna().all():
        frame = frame.drop(columns="symbol")
    elif frame["symbol"].isna().any():
        row = int(np.flatnonzero(frame["symbol"].isna().to_numpy())[0])
        raise DataError(f"bar {row} has no symbol while others do; give every bar its symbol")
    metadata = model.metadata
    data = (metadata.get("config") or {}).get("data") or {}
    bars = validate_bars(
        frame,
        source="request bars",
        tz=data.get("tz") or "UTC",
        bar_time=data.get("bar_time") or "close",
        session_close=data.get("session_close"),
    )
    features = compute_features(bars, metadata["features"]["spec"])[model.feature_names]
    complete = features.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise DataError(
            f"no row of the {len(bars)} bars is past the features' warm-up; pass more history"
        )
    symbols = bars["symbol"].loc[complete].tolist() if "symbol" in bars.columns else None
    return features.loc[complete], symbols


def _predict_frame(model: LoadedModel, X: pd.DataFrame, classes: list[Any] | None) -> pd.DataFrame:
    """``predict_bars``-shaped output: ``prediction`` in label values and ``proba_<class>``."""
    try:
        raw = np.asarray(model.predict(X))
        proba = np.asarray(model.predict_proba(X)) if classes else None
    except (SchemaError, ConfigError, DataError):
        raise
    except ValueError as exc:  # the library refused the values (NaN for a linear model...)
        raise DataError(f"model '{model.name}' v{model.version} could not predict: {exc}") from None
    out = pd.DataFrame(index=X.index)
    if classes:
        values = np.asarray(classes, dtype=float)
        out["prediction"] = values[raw.astype(np.int64)]
        assert proba is not None
        for i, value in enumerate(values):
            out[f"proba_{value:g}"] = proba[:, i]
    else:
        out["prediction"] = raw.astype(float)
    return out


def predict(state: ServiceState, name: str, request: PredictRequest) -> dict[str, Any]:
    """Predict with a version of `name`; record its critical decisions when possible."""
    model = state.load(name, request.version)
    classes = state.classes(model)
    limit = state.settings.max_rows
    symbols = None
    if request.bars is not None:
        X, symbols = _bars_features(model, request, limit)
        index: list[str] | None = [t.isoformat() for t in X.index]
    else:
        X = _rows_frame(model, request, limit)
        index = None if request.index is None else [t.isoformat() for t in X.index]
    out = _predict_frame(model, X, classes)
    if symbols is not None:
        out.insert(0, "symbol", symbols)
    decisions = _decisions.record_predictions(model, X, out, state.store)
    proba_columns = [c for c in out.columns if c.startswith("proba_")]
    return {
        "model": name,
        "version": model.version,
        "classes": classes,
        "n_rows": len(out),
        "index": index,
        "symbols": symbols,
        "predictions": out["prediction"].tolist(),
        "probabilities": out[proba_columns].to_numpy().tolist() if proba_columns else None,
        "decisions": decisions,
    }
