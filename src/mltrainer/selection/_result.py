"""What the importance functions return: mean and std per feature, and each fold's values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ImportanceResult"]


@dataclass(frozen=True)
class ImportanceResult:
    """Importance of each feature (or feature group), measured out of fold.

    Attributes
    ----------
    method : str
        ``"permutation"``, ``"clustered"``, ``"sfi"`` or ``"gain"``.
    mean, std : Series
        Mean and standard deviation per feature or group, sorted by ``mean`` descending.
        For permutation methods: the mean decrease of the score when the feature (group)
        is permuted, over folds and repeats. For ``sfi``: the out-of-fold score of a model
        trained on that feature alone.
    folds : DataFrame
        One row per fold, one column per feature or group: the fold's mean value.
    scoring : str
        The scorer's name (empty for ``gain``).
    baseline : Series
        Permutation methods: each fold's score before permuting (the out-of-fold score of
        the model on all features). Empty otherwise.
    groups : dict or None
        Feature groups (clusters): group name -> its features. None when each feature is
        measured on its own.
    """

    method: str
    mean: pd.Series
    std: pd.Series
    folds: pd.DataFrame
    scoring: str = ""
    baseline: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    groups: Mapping[str, Sequence[str]] | None = None

    def to_frame(self) -> pd.DataFrame:
        """``mean`` and ``std`` columns, sorted by ``mean`` descending."""
        return pd.DataFrame({"mean": self.mean, "std": self.std})

    def ranking(self) -> list[str]:
        """Features (or groups) from most to least important."""
        return [str(name) for name in self.mean.index]

    def per_feature(self) -> pd.DataFrame:
        """``mean``/``std`` per feature: each feature takes its group's values.

        Sorted by ``mean`` descending; features of one group stay together.
        """
        if self.groups is None:
            return self.to_frame()
        rows = [
            (feature, self.mean[name], self.std[name], name)
            for name in self.mean.index
            for feature in self.groups[name]
        ]
        frame = pd.DataFrame(rows, columns=["feature", "mean", "std", "group"])
        return frame.set_index("feature")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (what the registry's metadata stores)."""
        out: dict[str, Any] = {
            "method": self.method,
            "scoring": self.scoring,
            "mean": {str(k): _num(v) for k, v in self.mean.items()},
            "std": {str(k): _num(v) for k, v in self.std.items()},
        }
        if len(self.baseline):
            out["baseline"] = [_num(v) for v in self.baseline]
        if self.groups is not None:
            out["groups"] = {str(k): [str(f) for f in v] for k, v in self.groups.items()}
        return out


def _num(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def summarise(
    method: str,
    values: np.ndarray,
    names: Sequence[str],
    *,
    scoring: str = "",
    baseline: np.ndarray | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> ImportanceResult:
    """Build a result from ``values`` of shape (n_folds, n_repeats, n_features).

    A fold that gave no evidence is NaN throughout and is left out of the mean and std
    (never counted as zero importance).
    """
    n_folds = values.shape[0]
    flat = values.reshape(-1, values.shape[-1])
    usable = flat[~np.isnan(flat).all(axis=1)]
    if usable.shape[0]:
        mean_values = usable.mean(axis=0)
        std_values = usable.std(axis=0, ddof=1 if usable.shape[0] > 1 else 0)
    else:  # no fold could be scored: nothing is known
        mean_values = std_values = np.full(flat.shape[-1], np.nan)
    mean = pd.Series(mean_values, index=list(names), name="mean")
    std = pd.Series(std_values, index=list(names), name="std")
    order = mean.sort_values(ascending=False, kind="stable").index
    folds = pd.DataFrame(values.mean(axis=1), columns=list(names))
    folds.index.name = "fold"
    base = pd.Series(
        np.asarray(baseline if baseline is not None else [], dtype=float),
        index=range(n_folds) if baseline is not None else range(0),
        name="baseline",
    )
    return ImportanceResult(
        method=method,
        mean=mean.loc[order],
        std=std.loc[order],
        folds=folds,
        scoring=scoring,
        baseline=base,
        groups=None if groups is None else {str(k): list(v) for k, v in groups.items()},
    )
