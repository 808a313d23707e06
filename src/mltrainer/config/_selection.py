"""The ``selection`` section of the config (off by default; see ``mltrainer.selection``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from mltrainer.exceptions import did_you_mean

__all__ = ["SELECTION_METHODS", "SelectionConfig"]

#: ``selection.method`` values.
SELECTION_METHODS = ("none", "gain", "permutation", "sfi", "clustered", "rfe")


class SelectionConfig(BaseModel):
    """Feature selection, refitted inside each training fold; ``method: none`` keeps all.

    ``top_k`` keeps at most that many features (for ``rfe``: exactly that many);
    ``threshold`` keeps features whose mean importance is at least that; ``n_repeats``
    permutations per feature and fold; ``n_splits`` inner purged folds used to measure
    importance on each training fold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "none"
    top_k: int | None = None
    threshold: float | None = None
    n_repeats: int = 5
    n_splits: int = 3

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in SELECTION_METHODS:
            raise ValueError(
                f"unknown method '{value}'{did_you_mean(value, SELECTION_METHODS)};"
                f" choose one of {', '.join(SELECTION_METHODS)}"
            )
        return value

    @field_validator("top_k", "n_repeats")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    @field_validator("n_splits")
    @classmethod
    def _two_splits(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"must be at least 2, got {value}")
        return value
