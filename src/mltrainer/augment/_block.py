"""Block-bootstrap augmenters: training rows in blocks, or price paths from resampled bars."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._bootstrap import block_length, bootstrap_positions
from mltrainer.augment._path_rows import PathAugmenter
from mltrainer.augment._paths import bootstrap_paths
from mltrainer.augment._segments import SyntheticRows, merge_rows, training_segments
from mltrainer.cv import TrainingRows

__all__ = ["BlockBootstrapAugmenter", "bootstrap_path_augmenter"]


class BlockBootstrapAugmenter:
    """Adds block-bootstrap resamples of each contiguous training segment's rows.

    Synthetic rows are exact copies of real rows of the same segment, with their ``t0``,
    ``t1`` and weight; blocks keep runs of consecutive rows together.

    Parameters
    ----------
    kind : {"stationary", "circular"}
        ``arch`` bootstrap.
    block : "auto" or float
        Mean (stationary) or fixed (circular) block length in rows; ``auto`` is the
        optimal length of the segment's targets.
    multiplier : float, default 2.0
        Rows after augmentation over real rows.
    weight : float, default 1.0
        Factor on the copies' weights.
    random_state : int, default 0
        Seed; each fold and segment draws its own stream.
    """

    def __init__(
        self,
        *,
        kind: str = "stationary",
        block: float | str = "auto",
        multiplier: float = 2.0,
        weight: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.kind = kind
        self.block = block
        self.multiplier = multiplier
        self.weight = weight
        self.random_state = random_state

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        """The real rows plus ``multiplier - 1`` block resamples of every segment."""
        X = rows.X
        assert isinstance(X, pd.DataFrame)
        synthetic = []
        y = np.asarray(rows.y)
        weights = np.ones(len(rows)) if rows.sample_weight is None else rows.sample_weight
        t1 = pd.DatetimeIndex(rows.t1)
        for segment in training_segments(rows):
            n = len(segment)
            wanted = round((self.multiplier - 1.0) * n)
            if wanted < 1 or n < 2:
                continue
            length = (
                block_length(y[segment.rows].astype(float), self.kind)
                if self.block == "auto"
                else float(self.block)
            )
            state = np.random.SeedSequence([int(self.random_state), fold + 1, segment.number])
            draws = bootstrap_positions(
                n,
                kind=self.kind,
                block=min(length, n),
                n_resamples=max(1, math.ceil(wanted / n)),
                seed=int(state.generate_state(1)[0]),
            ).ravel()[:wanted]
            source = segment.rows[draws]
            synthetic.append(
                SyntheticRows(
                    X.iloc[source],
                    y[source],
                    np.asarray(weights, dtype=float)[source],
                    t1[source],
                )
            )
        return merge_rows(rows, synthetic, weight=self.weight)


def bootstrap_path_augmenter(
    bars: pd.DataFrame,
    *,
    features: Sequence[Mapping[str, Any]] | None,
    label: Mapping[str, Any],
    columns: Sequence[str],
    classes: Sequence[float] | None,
    kind: str = "stationary",
    block: float | str = "auto",
    multiplier: float = 2.0,
    weight: float = 1.0,
    random_state: int = 0,
) -> PathAugmenter:
    """A :class:`PathAugmenter` whose paths are block bootstraps of the segment's bars."""

    def source(segment_bars: pd.DataFrame, n_paths: int, seed: int) -> list[pd.DataFrame]:
        return bootstrap_paths(segment_bars, n_paths, kind=kind, block=block, seed=seed)

    return PathAugmenter(
        bars,
        source,
        features=features,
        label=label,
        columns=columns,
        classes=classes,
        multiplier=multiplier,
        weight=weight,
        random_state=random_state,
    )
