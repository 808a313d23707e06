"""What the Trainer calls: selection inside each CV training fold, then on all rows.

The Trainer hands :class:`TrainerSelection` its configured model; cross-validation runs
``Pipeline([("select", selector), ...model steps])`` so the selection is refitted on
every training fold, and the final model is the *plain* model fitted on the columns the
selector chose on all training rows (so the registry stores a native model whose
``feature_names`` are the selected columns).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from mltrainer.config import SelectionConfig
from mltrainer.cv import PurgedKFold, PurgedSplitter
from mltrainer.exceptions import ConfigError
from mltrainer.models import final_estimator
from mltrainer.selection._common import jaccard_stability
from mltrainer.selection._selectors import SelectByImportance, SelectByRFE
from mltrainer.selection._tree import supports_tree_importance

__all__ = ["TrainerSelection"]

logger = logging.getLogger("mltrainer")


class TrainerSelection:
    """Feature selection for one Trainer run (a no-op when ``method: none``).

    Parameters
    ----------
    config : SelectionConfig
        The ``selection`` section.
    estimator : estimator
        The configured, unfitted model (a ``Pipeline`` for linear models).
    t1 : Series
        Label end times of every row (selectors pick out each fold's rows).
    splitter : cross-validator
        The outer splitter; its embargo is reused by the inner importance folds.
    seed : int
        The run's seed (permutations, default estimators).
    n_features : int
        Number of candidate features, to check ``top_k`` before any fitting.
    scoring : str, optional
        The scorer importance is measured with: the run's headline scorer, so features
        are chosen by the measure the run is judged on.
    """

    def __init__(
        self,
        config: SelectionConfig,
        estimator: Any,
        *,
        t1: pd.Series,
        splitter: Any,
        seed: int,
        n_features: int,
        scoring: str | None = None,
    ) -> None:
        self.config = config
        self.scoring = scoring
        self.estimator = estimator
        self.t1 = t1
        self.splitter = splitter
        self.seed = seed
        self.selected: list[str] | None = None
        self.metadata: dict[str, Any] | None = None
        if self.enabled:
            self._check(n_features)

    @property
    def enabled(self) -> bool:
        """True unless ``method: none``."""
        return self.config.method != "none"

    def _check(self, n_features: int) -> None:
        config = self.config
        if config.method == "gain" and not supports_tree_importance(self.estimator):
            final = final_estimator(self.estimator)
            raise ConfigError(
                f"selection.method: 'gain' needs a tree model with importances, but "
                f"{type(final).__name__} has none: use 'permutation', 'sfi' or 'clustered'"
            )
        if config.top_k is not None and config.top_k > n_features:
            raise ConfigError(
                f"selection.top_k={config.top_k} is larger than the number of features "
                f"({n_features}): lower selection.top_k to at most {n_features}"
            )

    def selector(self) -> Any:
        """An unfitted selector configured like the section says."""
        config = self.config
        embargo = (
            getattr(self.splitter, "embargo", 0) if isinstance(self.splitter, PurgedSplitter) else 0
        )
        inner = PurgedKFold(config.n_splits, embargo=embargo if embargo is not None else 0)
        common: dict[str, Any] = {
            "cv": inner,
            "t1": self.t1,
            "scoring": self.scoring,
            "n_repeats": config.n_repeats,
            "random_state": self.seed,
        }
        if config.method == "rfe":
            rfe_selector = SelectByRFE(clone(self.estimator), n_features=config.top_k, **common)
            return rfe_selector.set_output(transform="pandas")
        return SelectByImportance(
            clone(self.estimator),
            method=config.method,
            top_k=config.top_k,
            threshold=config.threshold,
            **common,
        ).set_output(transform="pandas")

    def cv_estimator(self) -> Any:
        """What cross-validation fits: the selector then the model's own steps."""
        if not self.enabled:
            return self.estimator
        model = clone(self.estimator)
        steps = list(model.steps) if isinstance(model, Pipeline) else [("model", model)]
        return Pipeline([("select", self.selector()), *steps])

    def fit_final(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        cv_result: Any,
        sample_weight: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Select on all training rows; return X with the selected columns only.

        Also fills :attr:`selected` and :attr:`metadata` (importances, each fold's
        selection and their stability).
        """
        if not self.enabled:
            return X
        selector = self.selector().fit(X, y, sample_weight=sample_weight)
        selected = list(selector.selected_features_)
        folds = [list(est.steps[0][1].selected_features_) for est in (cv_result.estimators or [])]
        table = selector.importances_
        self.selected = selected
        self.metadata = {
            "method": self.config.method,
            "top_k": self.config.top_k,
            "threshold": self.config.threshold,
            "n_repeats": self.config.n_repeats,
            "n_splits": self.config.n_splits,
            "scoring": getattr(selector.importance_, "scoring", "") or "",
            "importances": {
                str(name): {"mean": _num(row["mean"]), "std": _num(row["std"])}
                for name, row in table.iterrows()
            },
            "ranking": [str(name) for name in table.index],
            "selected": selected,
            "n_candidates": int(X.shape[1]),
            "folds": folds,
            "stability": jaccard_stability(folds) if folds else None,
        }
        logger.info(
            "selection (%s): %d of %d features; fold stability %s",
            self.config.method,
            len(selected),
            X.shape[1],
            self.metadata["stability"],
        )
        columns = [c for c in X.columns if c in set(selected)]
        return X[columns]


def _num(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
