"""The ``tuning`` section of the config (see ``mltrainer.tuning`` and ``docs/tuning.md``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mltrainer.exceptions import ConfigError

__all__ = ["TuningConfig", "parse_interval"]


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_INTERVAL = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhdw]?)\s*", re.IGNORECASE)


def parse_interval(value: str | float | int) -> float:
    """Seconds in an interval such as ``7d``, ``12h``, ``30m``, ``45s``, ``2w`` or seconds.

    Examples
    --------
    >>> parse_interval("7d")
    604800.0
    >>> parse_interval(90)
    90.0
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _INTERVAL.fullmatch(str(value))
        if match is None:
            raise ConfigError(
                f"'{value}' is not an interval; use e.g. 7d, 12h, 30m, 45s or seconds"
            )
        seconds = float(match[1]) * _UNITS[(match[2] or "s").lower()]
    if not seconds > 0:
        raise ConfigError(f"interval must be positive, got '{value}'")
    return seconds


class TuningConfig(BaseModel):
    """Hyperparameter tuning with Optuna on the configured purged CV.

    ``search_space`` overrides the model type's default ranges: ``param: {low, high}``
    (``log: true``, ``step``), ``param: {choices: [...]}``, or ``param: null`` to drop one.
    ``n_trials`` is the number of finished trials the study should hold; ``timeout`` (s)
    bounds each worker; ``seed`` (default: the config's) seeds the TPE sampler; ``pruner``
    is ``median``, ``wilcoxon`` or ``none``; ``storage`` is an Optuna storage URL
    (``sqlite:///``, ``redis://``/``rediss://``, ``postgresql://``); ``workers`` processes
    share the study; ``every`` (e.g. ``7d``) re-tunes on a schedule; tuned params replace
    the fixed ones only when a paired one-sided test of fold scores gives a p-value below
    ``significance`` after the correction for the number of trials (docs/tuning.md);
    RUNNING trials without a heartbeat for ``stale_after`` s are failed. ``nested`` also
    estimates the tuning procedure's out-of-sample score by nested purged CV, with
    ``nested_trials`` trials per inner study.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    search_space: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    n_trials: int = 50
    timeout: float | None = None
    seed: int | None = None
    pruner: Literal["median", "wilcoxon", "none"] = "median"
    storage: str = "sqlite:///optuna.db"
    study_name: str | None = None
    workers: int = 1
    every: str | None = None
    significance: float = 0.05
    scoring: str | None = None
    stale_after: float = 900.0
    nested: bool = False
    nested_trials: int = 20

    @field_validator("n_trials", "workers", "nested_trials")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    @field_validator("significance")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(f"must be in (0, 1], got {value}")
        return value

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value
