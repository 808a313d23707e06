"""Model outputs and labels as named columns, for profiling and drift tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError

__all__ = ["label_series", "prediction_frame"]


def prediction_frame(predictions: Any, *, n_rows: int | None = None) -> pd.DataFrame:
    """Predictions as a frame: one ``prediction`` column, or ``proba_j`` per class."""
    if isinstance(predictions, pd.DataFrame):
        frame = predictions.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    else:
        arr = np.asarray(predictions)
        if arr.ndim == 1:
            frame = pd.DataFrame({"prediction": arr})
        elif arr.ndim == 2:
            frame = pd.DataFrame(arr, columns=[f"proba_{j}" for j in range(arr.shape[1])])
        else:
            raise DataError(f"predictions have {arr.ndim} dimensions: pass shape (n,) or (n, k)")
    if n_rows is not None and len(frame) != n_rows:
        raise DataError(f"predictions have {len(frame)} rows but X has {n_rows}: align them")
    return frame


def label_series(labels: Any, *, n_rows: int | None = None) -> pd.Series:
    """Labels as a Series named ``label`` (index dropped)."""
    series = pd.Series(np.asarray(labels) if not isinstance(labels, pd.Series) else labels)
    series = series.reset_index(drop=True).rename("label")
    if n_rows is not None and len(series) != n_rows:
        raise DataError(f"labels have {len(series)} rows but X has {n_rows}: align them")
    return series
