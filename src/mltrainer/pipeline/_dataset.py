"""Bars -> features + labels -> one aligned, time-indexed dataset (warm-up rows dropped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError
from mltrainer.features import compute_features
from mltrainer.labels import make_labels

__all__ = ["Dataset", "build_dataset", "encode_classes"]


@dataclass(frozen=True)
class Dataset:
    """Aligned training rows: X indexed by decision time t0, y, and label end times t1.

    Attributes
    ----------
    X : DataFrame
        Features, indexed by t0 (UTC); panels repeat a t0 once per symbol.
    y : Series
        Targets; for classification encoded as 0..K-1 (``classes[y]`` gives the label value).
    t1 : Series
        When each label becomes known (t1 >= t0), aligned with X.
    kind : str
        ``"classification"`` or ``"regression"``.
    classes : list of float or None
        Label values in encoding order, for classification.
    symbols : Series or None
        The symbol of each row for panels.
    """

    X: pd.DataFrame
    y: pd.Series
    t1: pd.Series
    kind: str
    classes: list[float] | None
    symbols: pd.Series | None
    n_dropped: int

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.X.columns]


def encode_classes(y: pd.Series) -> tuple[pd.Series, list[float]]:
    """Encode class values (e.g. -1/0/1) as 0..K-1 for every model type; return the classes."""
    values = y.to_numpy(dtype=float)
    classes = np.sort(pd.unique(values))
    codes = np.searchsorted(classes, values)
    return pd.Series(codes.astype(np.int64), index=y.index, name=y.name), classes.tolist()


def build_dataset(
    bars: pd.DataFrame,
    *,
    features: Sequence[Mapping[str, Any]] | None,
    label: Mapping[str, Any],
) -> Dataset:
    """Compute causal features and labels on ``bars`` and keep the rows where both exist.

    Rows in a feature's warm-up and rows whose label needs bars beyond the data are dropped,
    never filled.
    """
    X_all = compute_features(bars, features)
    labels = make_labels(bars, label)
    mask = X_all.notna().all(axis=1).to_numpy() & np.asarray(labels.valid, dtype=bool)
    if not mask.any():
        raise DataError(
            f"no row has every feature and a complete label ({len(bars)} bars); "
            "use more data or shorter feature windows / label horizon"
        )
    X = X_all.loc[mask]
    y = labels.y.loc[mask].rename("y")
    t1 = labels.t1.loc[mask].rename("t1")
    symbols = bars["symbol"].loc[mask] if "symbol" in bars.columns else None
    classes: list[float] | None = None
    if labels.kind == "classification":
        y, classes = encode_classes(y)
        if len(classes) < 2:
            raise DataError(
                f"label '{labels.name}' has a single class ({classes[0]}) over {len(y)} rows;"
                " change the label threshold or horizon"
            )
    return Dataset(
        X=X,
        y=y,
        t1=t1,
        kind=labels.kind,
        classes=classes,
        symbols=symbols,
        n_dropped=int((~mask).sum()),
    )
