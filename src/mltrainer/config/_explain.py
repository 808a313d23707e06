"""The ``explain`` section: global attributions at training time, explainer budgets, LIME,
and the critical-decision rule of the audit trail."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CriticalConfig", "DecisionRetentionConfig", "ExplainConfig", "LimeConfig"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _at_least(value: Any, minimum: int) -> Any:
    if value is not None and value < minimum:
        raise ValueError(f"must be at least {minimum}, got {value}")
    return value


class LimeConfig(_Section):
    """LIME: perturbations per explanation, seeds per row, size of the compared top sets."""

    num_samples: int = 5_000
    repeats: int = 10
    top_k: int = 5

    @field_validator("num_samples")
    @classmethod
    def _samples(cls, value: int) -> int:
        return int(_at_least(value, 10))

    @field_validator("repeats", "top_k")
    @classmethod
    def _positive(cls, value: int) -> int:
        return int(_at_least(value, 1))


class CriticalConfig(_Section):
    """Which decisions get an audit record: any condition that holds makes one critical.

    ``probability_above``: the largest class probability is at least this (classifiers).
    ``signal_above``: ``|signal|`` is at least this; the signal is the prediction of a
    regressor, ``2 p - 1`` of a binary classifier (p = probability of the positive class)
    and the probability-weighted mean label of a multi-class one (e.g. -1/0/1).
    ``top_quantile``: ``|signal|`` is in the top share ``q`` of the out-of-fold signals of
    training (saved with the version). ``every_n``: every n-th decision of each symbol in a
    prediction run, counting from its first. ``symbols``: always for these symbols.

    ``top_contributions`` contributions are stored (``all_contributions: true`` stores every
    feature's); ``lime: true`` also stores LIME's weights and their stability (slow).
    """

    probability_above: float | None = None
    signal_above: float | None = None
    top_quantile: float | None = None
    every_n: int | None = None
    symbols: list[str] = Field(default_factory=list)
    top_contributions: int = 5
    all_contributions: bool = False
    lime: bool = False

    @field_validator("probability_above")
    @classmethod
    def _probability(cls, value: float | None) -> float | None:
        if value is not None and not 0.0 < value <= 1.0:
            raise ValueError(f"must be a probability in (0, 1], got {value}")
        return value

    @field_validator("signal_above")
    @classmethod
    def _signal(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError(f"|signal| is compared with it, so it must be >= 0, got {value}")
        return value

    @field_validator("top_quantile")
    @classmethod
    def _share(cls, value: float | None) -> float | None:
        if value is not None and not 0.0 < value < 1.0:
            raise ValueError(f"must be a share in (0, 1), e.g. 0.05 for the top 5%, got {value}")
        return value

    @field_validator("every_n", "top_contributions")
    @classmethod
    def _count(cls, value: int | None) -> int | None:
        return _at_least(value, 1)

    @model_validator(mode="after")
    def _some_condition(self) -> CriticalConfig:
        if (
            self.probability_above is None
            and self.signal_above is None
            and self.top_quantile is None
            and self.every_n is None
            and not self.symbols
        ):
            raise ValueError(
                "a critical rule needs at least one condition: probability_above, "
                "signal_above, top_quantile, every_n or symbols"
            )
        return self


class DecisionRetentionConfig(_Section):
    """How long decision records are kept: the newest ``max_records`` and/or ``max_age``.

    Both unset (the default) keep every record; retention only ever removes the oldest
    records, it never rewrites one.
    """

    max_records: int | None = None
    max_age: str | None = None

    @field_validator("max_records")
    @classmethod
    def _records(cls, value: int | None) -> int | None:
        return _at_least(value, 1)

    @field_validator("max_age")
    @classmethod
    def _age(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            delta = pd.Timedelta(value)
        except (ValueError, TypeError):
            raise ValueError(f"'{value}' is not a duration; write it like '90D' or '52W'") from None
        if delta <= pd.Timedelta(0):
            raise ValueError(f"must be a positive duration, got '{value}'")
        return value


class ExplainConfig(_Section):
    """Explanations: what training saves, explainer budgets, LIME and the audit trail.

    ``global_rows_per_fold`` out-of-fold rows per fold are explained by that fold's model
    at training time (their mean |SHAP| per feature goes into the version's metadata; 0
    turns it off). ``background_size`` k-means centroids of the training rows are saved as
    the permutation/kernel background. ``method`` picks the explainer (``auto``: the exact
    one per model type); ``max_rows`` bounds a permutation/kernel call; ``max_evals`` is the
    permutation explainer's evaluations per row (kernel: ``nsamples``).
    """

    global_rows_per_fold: int = 200
    background_size: int = 50
    method: Literal["auto", "tree", "linear", "permutation", "kernel"] = "auto"
    max_rows: int = 1_000
    max_evals: int | None = None
    lime: LimeConfig = Field(default_factory=LimeConfig)
    critical: CriticalConfig | None = None
    retention: DecisionRetentionConfig = Field(default_factory=DecisionRetentionConfig)

    @field_validator("global_rows_per_fold")
    @classmethod
    def _rows(cls, value: int) -> int:
        return int(_at_least(value, 0))

    @field_validator("background_size", "max_rows")
    @classmethod
    def _positive(cls, value: int) -> int:
        return int(_at_least(value, 1))

    @field_validator("max_evals")
    @classmethod
    def _evals(cls, value: int | None) -> int | None:
        return _at_least(value, 1)
