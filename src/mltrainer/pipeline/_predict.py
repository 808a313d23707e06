"""Predict with a registered model on new bars: same features, schema checked, classes decoded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.data import load_bars
from mltrainer.exceptions import DataError
from mltrainer.explain import audit_predictions
from mltrainer.features import compute_features

__all__ = ["load_bars_for", "model_features", "predict_bars"]


def predict_bars(
    model: Any,
    bars: pd.DataFrame,
    *,
    critical: Any = None,
    store: Any = None,
    record: bool = True,
) -> pd.DataFrame:
    """Compute the model's features on ``bars`` and predict every row past the warm-up.

    With a critical rule (``critical``, else the version's stored ``explain.critical``),
    every critical decision is explained and gets one append-only decision record in the
    store (see :func:`mltrainer.explain.audit_predictions`).

    Parameters
    ----------
    model : LoadedModel
        From :func:`mltrainer.load_model`; its metadata holds the feature spec and classes.
    bars : DataFrame
        Validated bars (see :func:`mltrainer.data.load_bars`).
    critical : CriticalConfig or dict, optional
        The critical rule (overrides the stored one).
    store : Store, optional
        Where decision records go (default: the store of the version's stored config).
    record : bool, default True
        False skips the decision records.

    Returns
    -------
    DataFrame
        Indexed by decision time: ``symbol`` (panels), ``prediction`` (label values, e.g.
        0/1 or -1/0/1 as integers when the classes are whole numbers, or the regression
        value) and ``proba_<class>`` columns for classifiers. Rows before every feature is
        known (the warm-up) get no prediction: ``len(bars) - len(result)`` of them. With a
        critical rule also ``decision_id`` (None for decisions that are not critical).
    """
    X, complete = model_features(model, bars)
    out = pd.DataFrame(index=X.index)
    if "symbol" in bars.columns:
        out["symbol"] = bars["symbol"].loc[complete].to_numpy()
    raw = np.asarray(model.predict(X))
    classes = model.metadata.get("label", {}).get("classes")
    if classes:
        values = np.asarray(classes, dtype=float)
        labels = values.astype(np.int64) if np.all(values == np.round(values)) else values
        out["prediction"] = labels[raw.astype(np.int64)]  # 1 / 0, not 1.0 / 0.0
        proba = np.asarray(model.predict_proba(X))
        for i, value in enumerate(values):
            out[f"proba_{value:g}"] = proba[:, i]
    else:
        out["prediction"] = raw.astype(float)
    if record:
        ids = audit_predictions(model, X, out, rule=critical, store=store)
        if ids is not None:
            out["decision_id"] = ids
    return out


def model_features(model: Any, bars: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's features on ``bars`` (its stored spec), rows past the warm-up only.

    Returns
    -------
    X : DataFrame
        Columns ``model.feature_names``, indexed by decision time.
    complete : ndarray of bool
        Which rows of ``bars`` are in ``X``.

    Raises
    ------
    DataError
        If no row is past the warm-up.
    """
    spec = model.metadata["features"]["spec"]
    features = compute_features(bars, spec)[list(model.feature_names)]
    complete = features.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise DataError(
            f"no row of the {len(bars)} bars is past the features' warm-up; pass more history"
        )
    return features.loc[complete], complete


def load_bars_for(metadata: Mapping[str, Any], source: Any, **kwargs: Any) -> pd.DataFrame:
    """Load bars from ``source`` read the way a model version's training data was read.

    ``metadata`` is the version's metadata (``model.metadata``): the column mapping, time
    zone, bar time stamps and session close come from its stored ``data`` config, so a
    file is read for prediction or monitoring exactly as it was for training. ``kwargs``
    go to :func:`mltrainer.data.load_bars` (e.g. ``start``).
    """
    data = (metadata.get("config") or {}).get("data") or {}
    return load_bars(
        source,
        columns=data.get("columns") or None,
        tz=data.get("tz") or "UTC",
        bar_time=data.get("bar_time") or "close",
        session_close=data.get("session_close"),
        **kwargs,
    )
