"""The augmenter a config asks for, checked against every fold before any work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._block import BlockBootstrapAugmenter, bootstrap_path_augmenter
from mltrainer.augment._gan import GanAugmenter, GanSettings
from mltrainer.augment._smote import SmoteAugmenter
from mltrainer.config import AugmentConfig
from mltrainer.config._augment import SMOTE_METHODS
from mltrainer.cv import PurgedSplitter, TrainingRows
from mltrainer.exceptions import ConfigError

__all__ = ["check_augment", "check_folds", "make_augmenter"]


def check_augment(config: AugmentConfig, kind: str, *, selection: str = "none") -> None:
    """Refuse settings that are wrong for the label's task (needs no data).

    Raises
    ------
    ConfigError
        SMOTE-family methods or a recalibration on a regression label; augmentation
        together with feature selection (the selector's inner folds would score
        synthetic rows as if they were held out).
    """
    if config.enabled and selection != "none":
        raise ConfigError(
            f"augment.method: {config.method} with selection.method: {selection} is not "
            "supported: the selection's inner folds would hold synthetic rows; set "
            "selection.method: none (or augment.method: none)"
        )
    if kind == "classification":
        return
    if config.method in SMOTE_METHODS:
        raise ConfigError(
            f"augment.method: {config.method} oversamples classes, but the label is a "
            "regression: use block_bootstrap or gan, or a classification label"
        )
    if config.value("recalibrate") != "none":
        raise ConfigError(
            "augment.recalibrate calibrates class probabilities, but the label is a "
            "regression: set augment.recalibrate: none"
        )


def make_augmenter(
    config: AugmentConfig,
    *,
    kind: str,
    bars: pd.DataFrame,
    features: Sequence[Mapping[str, Any]] | None,
    label: Mapping[str, Any],
    columns: Sequence[str],
    classes: Sequence[float] | None,
    seed: int,
) -> Any:
    """The resampler for ``config`` (None for ``method: none``).

    Parameters
    ----------
    config : AugmentConfig
        The ``augment`` section.
    kind : str
        The label's task.
    bars : DataFrame
        The run's bars (paths and the GAN learn from their training segments only).
    features, label : spec
        How the real rows were computed (synthetic paths get the same).
    columns : list of str
        The real rows' feature columns.
    classes : list of float or None
        The label's class values (classification).
    seed : int
        The run's seed (``augment.seed`` overrides it).
    """
    check_augment(config, kind)
    if not config.enabled:
        return None
    v = config.value
    random_state = int(v("seed") if v("seed") is not None else seed)
    if config.method in SMOTE_METHODS:
        return SmoteAugmenter(
            config.method,
            k_neighbors=int(v("k_neighbors") or 5),
            sampling_strategy=v("sampling_strategy"),
            weight=float(v("weight")),
            random_state=random_state,
        )
    common: dict[str, Any] = {
        "features": features,
        "label": label,
        "columns": columns,
        "classes": classes,
        "multiplier": float(v("multiplier")),
        "weight": float(v("weight")),
        "random_state": random_state,
    }
    if config.method == "block_bootstrap":
        if v("unit") == "paths":
            return bootstrap_path_augmenter(bars, kind=v("kind"), block=v("block"), **common)
        return BlockBootstrapAugmenter(
            kind=v("kind"),
            block=v("block"),
            multiplier=float(v("multiplier")),
            weight=float(v("weight")),
            random_state=random_state,
        )
    settings = GanSettings(
        window=int(v("window")),
        epochs=int(v("epochs")),
        batch_size=int(v("batch_size")),
        latent_dim=int(v("latent_dim")),
        hidden=int(v("hidden")),
        n_critic=int(v("n_critic")),
        learning_rate=float(v("learning_rate")),
        gp_weight=float(v("gp_weight")),
    )
    return GanAugmenter(
        bars, settings=settings, gate=v("gate"), holdout=float(v("holdout")), **common
    )


def check_folds(
    augmenter: Any, X: pd.DataFrame, y: pd.Series, t1: pd.Series, splitter: Any
) -> None:
    """Run the augmenter's per-fold check on every split's training rows and on all rows.

    Cheap (no fitting): it refuses, before any model is fitted, a fold where SMOTE has
    too few rows of a class or the GAN too few windows.
    """
    if augmenter is None:
        return
    if isinstance(augmenter, SmoteAugmenter):
        for fold, (train, _) in enumerate(_splits(splitter, X, y)):
            augmenter.check_fold(np.asarray(y)[train], fold=fold)
        augmenter.check_fold(np.asarray(y), fold=-1)
        return
    if isinstance(augmenter, GanAugmenter):
        for fold, (train, _) in enumerate(_splits(splitter, X, y)):
            rows = TrainingRows(X.iloc[train], y.iloc[train], None, t1.iloc[train])
            augmenter.check(rows, fold=fold)
        augmenter.check(TrainingRows(X, y, None, t1), fold=-1)


def _splits(splitter: Any, X: pd.DataFrame, y: pd.Series) -> Any:
    if isinstance(splitter, PurgedSplitter):
        return ((info.train, info.test) for info in splitter.split_with_info(X))
    return splitter.split(X, y)
