"""The sampler, the pruner and the fixed config of every study, outer or nested."""

from __future__ import annotations

import warnings
from typing import Any

import optuna

from mltrainer.config import Config
from mltrainer.ensemble import is_ensemble, member_defaults
from mltrainer.models import default_params

__all__ = ["fixed_values", "make_pruner", "make_sampler"]


def make_sampler(config: Config, worker: int = 0) -> optuna.samplers.BaseSampler:
    """Seeded TPE; each worker gets its own seed so workers do not draw the same points."""
    seed = config.tuning.seed if config.tuning.seed is not None else config.seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed + worker, n_startup_trials=5)


def make_pruner(config: Config) -> optuna.pruners.BasePruner:
    """``median`` (running mean vs the median of earlier trials), ``wilcoxon`` or ``none``."""
    kind = config.tuning.pruner
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if kind == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    return optuna.pruners.NopPruner()


def fixed_values(config: Config, kind: str) -> dict[str, Any]:
    """The fixed config's params: the catalogue defaults under ``model.params`` (for an
    ensemble, each member's, prefixed by the member name)."""
    if is_ensemble(config.model):
        return member_defaults(config.model, kind)
    return {**default_params(config.model.type, kind), **config.model.params}
