"""Retrain a registered model with its stored config, on bars up to a given time."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from mltrainer.config import Config, config_from_dict
from mltrainer.exceptions import DataError
from mltrainer.pipeline._trainer import Trainer

__all__ = ["retrain"]

logger = logging.getLogger("mltrainer")


def retrain(model: Any, until: pd.Timestamp, *, config: Config | None = None) -> int:
    """Retrain ``model`` (a LoadedModel) with its stored config on its data up to ``until``.

    ``data.end`` becomes ``until``: a live run retrains on everything up to now, and a
    backfill (an explicit past time) never trains on bars after its time. The registry and
    store of ``config`` (default: the stored ones) receive the new version, whose
    ``parent`` is ``model``'s version.

    Returns
    -------
    int
        The new version.

    Raises
    ------
    DataError
        When the version has no stored config.
    """
    stored = model.metadata.get("config") or {}
    if not stored:
        raise DataError(f"model '{model.name}' has no stored config to retrain from")
    # the stored config is a full dump: null means "unset" (e.g. cv.gap for purged_kfold)
    raw = {
        key: {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value
        for key, value in stored.items()
    }
    if config is not None:
        raw.update(
            registry=config.registry.model_dump(mode="json"),
            store=config.store.model_dump(mode="json"),
        )
    raw["data"] = {**raw.get("data", {}), "end": pd.Timestamp(until).isoformat()}
    result = Trainer(config_from_dict(raw), parent=int(model.version)).run()
    logger.info("retrained %r: version %d (parent %d)", result.name, result.version, model.version)
    return int(result.version)
