"""Augmentation inside training folds: SMOTE and relatives, block bootstraps, a gated GAN.

Every augmenter is a :class:`mltrainer.cv.Resampler`: the fold loop hands it the
training rows of one fold (after purging and embargo; ``fold=-1`` for the final fit) and
fits on what it returns, so a test row is never resampled, interpolated or learned from.
An augmenter builds each synthetic row from one contiguous training segment (rows whose
label spans chain together; a test block always breaks the chain), so a synthetic row's
``[t0, t1]`` stays inside training time:

- SMOTE-family rows take the later ``t0`` and the later ``t1`` of their two parents;
- bootstrap copies keep their source row's ``t0``, ``t1`` and weight;
- rows computed on synthetic paths (block-bootstrapped bars, or GAN windows) take the
  timestamp of the bar they stand on as ``t0`` and their label's end on the path as
  ``t1``, both inside the segment.

The index of the returned rows is therefore a DatetimeIndex that may repeat a ``t0``, as
a panel's does. ``Plan.from_config`` builds the augmenter from the ``augment`` section,
so cross-validation, selection and tuning all score augmented training; the Trainer
reports real-only against augmented scores on the same folds
(:func:`compare_augmentation`). See ``docs/augment.md``.
"""

from mltrainer.augment._block import BlockBootstrapAugmenter, bootstrap_path_augmenter
from mltrainer.augment._bootstrap import block_length, bootstrap_positions
from mltrainer.augment._calibration import (
    brier_score,
    cross_fitted_calibration,
    fit_calibration,
    reliability,
)
from mltrainer.augment._compare import AugmentationReport, compare_augmentation
from mltrainer.augment._factory import check_augment, check_folds, make_augmenter
from mltrainer.augment._facts import (
    CHANNELS,
    StylizedFacts,
    bar_channels,
    holdout_windows,
    stylized_facts,
    windows_from_bars,
    windows_of,
)
from mltrainer.augment._gan import (
    GENERATOR_FILE,
    GanAugmenter,
    GanSettings,
    WindowGenerator,
    gan_paths,
    train_generator,
)
from mltrainer.augment._gate import GATE_TOLERANCES, GateResult, quality_gate
from mltrainer.augment._path_rows import PathAugmenter
from mltrainer.augment._paths import bar_moves, bootstrap_paths, paths_frame, rebuild_bars
from mltrainer.augment._report import gate_html, gate_section, paths_figure, report_html
from mltrainer.augment._segments import merge_rows, training_segments
from mltrainer.augment._smote import SmoteAugmenter

__all__ = [
    "CHANNELS",
    "GATE_TOLERANCES",
    "GENERATOR_FILE",
    "AugmentationReport",
    "BlockBootstrapAugmenter",
    "GanAugmenter",
    "GanSettings",
    "GateResult",
    "PathAugmenter",
    "SmoteAugmenter",
    "StylizedFacts",
    "WindowGenerator",
    "bar_channels",
    "bar_moves",
    "block_length",
    "bootstrap_path_augmenter",
    "bootstrap_paths",
    "bootstrap_positions",
    "brier_score",
    "check_augment",
    "check_folds",
    "compare_augmentation",
    "cross_fitted_calibration",
    "fit_calibration",
    "gan_paths",
    "gate_html",
    "gate_section",
    "holdout_windows",
    "make_augmenter",
    "merge_rows",
    "paths_figure",
    "paths_frame",
    "quality_gate",
    "rebuild_bars",
    "reliability",
    "report_html",
    "stylized_facts",
    "train_generator",
    "training_segments",
    "windows_from_bars",
    "windows_of",
]
