"""The reference saved with every model version at training time, and reading it back.

Two files go into the version directory (checksummed in its manifest):

- ``profile.json``: the :class:`ReferenceProfile` of the training features, the out-of-fold
  predictions (column ``prediction`` in label values, plus ``proba_<class>``: the positive
  class for binary models, every class otherwise) and the labels, with the mean OOF scores;
- ``reference_sample.json``: the last ``max_pairs`` out-of-fold rows in time order, label,
  prediction and probabilities *paired*, so concept drift can compare a metric on the
  reference with the current window (the profile keeps each column's values apart).

Predictions are written in label values (e.g. -1/0/1), exactly as
:func:`mltrainer.predict_bars` returns them, so training and monitoring compare like with like.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import NotFoundError
from mltrainer.monitor._profile import ReferenceProfile, build_profile

__all__ = [
    "PROFILE_FILE",
    "SAMPLE_FILE",
    "load_reference",
    "proba_columns",
    "training_reference_files",
]

logger = logging.getLogger("mltrainer")

PROFILE_FILE = "profile.json"
SAMPLE_FILE = "reference_sample.json"


def proba_columns(classes: list[float] | None) -> list[str]:
    """The probability columns monitored: the positive class when binary, else every class."""
    if not classes:
        return []
    names = [f"proba_{value:g}" for value in classes]
    return names[-1:] if len(names) == 2 else names


def training_reference_files(
    X: pd.DataFrame,
    oof: pd.DataFrame,
    *,
    kind: str,
    metrics: Mapping[str, float] | None = None,
    max_rows: int | None = 20_000,
    max_pairs: int = 5_000,
    random_state: int = 0,
) -> dict[str, bytes]:
    """Build ``profile.json`` and ``reference_sample.json`` for a training run.

    Parameters
    ----------
    X : DataFrame
        The training features, indexed by decision time, in time order.
    oof : DataFrame
        Indexed like X: ``label``, ``prediction`` (label values) and the monitored
        ``proba_<class>`` columns (see :func:`proba_columns`) of the out-of-fold
        predictions; NaN where a row was never tested.
    kind : {"classification", "regression"}
        The label's task.
    metrics : mapping, optional
        Mean out-of-fold scores kept in the profile.
    max_rows : int or None, default 20_000
        Rows kept in the profile's sorted samples.
    max_pairs : int, default 5_000
        The newest tested rows kept, paired, for concept drift.
    random_state : int, default 0
        Seeds the profile's row sample.

    Returns
    -------
    dict of str to bytes
        File name -> content, for ``ModelRegistry.save(..., extra_files=...)``.
    """
    predictions = oof.drop(columns=["label"])
    profile = build_profile(
        X,
        predictions=predictions,
        labels=oof["label"].to_numpy(),
        kind=kind,
        metrics=dict(metrics or {}),
        max_rows=max_rows,
        random_state=random_state,
    )
    tested = oof[oof["prediction"].notna()].iloc[-max_pairs:]
    sample: dict[str, Any] = {
        "format": 1,
        "t0": [t.isoformat() for t in tested.index],
        "columns": {
            str(c): [None if np.isnan(v) else float(v) for v in tested[c].to_numpy(dtype=float)]
            for c in tested.columns
        },
    }
    return {
        PROFILE_FILE: _dump(profile.to_dict()),
        SAMPLE_FILE: _dump(sample),
    }


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode("utf-8")


def load_reference(model: Any) -> tuple[ReferenceProfile, pd.DataFrame | None]:
    """Read (and checksum-verify) a model version's profile and paired reference sample.

    Parameters
    ----------
    model : LoadedModel
        From :func:`mltrainer.load_model`.

    Returns
    -------
    profile : ReferenceProfile
    sample : DataFrame or None
        ``label``, ``prediction`` (and ``proba_*``) indexed by t0; None when not saved.

    Raises
    ------
    NotFoundError
        When the version was saved without a profile (trained before monitoring existed).
    """
    if not (model.path / PROFILE_FILE).exists():
        raise NotFoundError(
            f"model '{model.name}' version {model.version} has no {PROFILE_FILE} (it was saved "
            "without a reference profile); retrain it with `mltrainer train` to monitor it"
        )
    raw = model.read_file(PROFILE_FILE)  # ChecksumError when changed since training
    profile = ReferenceProfile.from_dict(json.loads(raw))
    if not (model.path / SAMPLE_FILE).exists():
        return profile, None
    data = json.loads(model.read_file(SAMPLE_FILE))
    index = pd.DatetimeIndex(pd.to_datetime(data["t0"], utc=True), name="timestamp")
    columns = {
        name: np.array([np.nan if v is None else v for v in values], dtype=float)
        for name, values in data["columns"].items()
    }
    return profile, pd.DataFrame(columns, index=index)
