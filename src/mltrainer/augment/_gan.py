"""A WGAN-GP on windows of bar moves, its quality gate, and GAN-augmented training folds.

The generator (see :mod:`mltrainer.augment._gan_torch`; torch is imported only here,
when a GAN is trained or loaded) learns windows of the three channels of
:mod:`mltrainer.augment._facts` (log return, log range, log volume change), standardised
with the training windows' means and standard deviations. Synthetic bars are rebuilt
from generated windows chained one after another: each bar opens at the previous close,
its body is the generated return, its range is the generated range (at least the body),
split evenly into the two wicks, and its volume follows the generated changes.

A :class:`WindowGenerator` is saved as one file, ``torch.save`` of plain tensors, lists
and numbers (the generator's ``state_dict``, the scaler and the settings), and loaded
with ``torch.load(weights_only=True)``: no pickled code.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._facts import bar_channels, holdout_windows
from mltrainer.augment._gate import GateResult, quality_gate
from mltrainer.augment._path_rows import PathAugmenter
from mltrainer.augment._paths import rebuild_bars
from mltrainer.augment._segments import Segment
from mltrainer.cv import TrainingRows
from mltrainer.exceptions import ConfigError, DataError

__all__ = [
    "GENERATOR_FILE",
    "GanAugmenter",
    "GanSettings",
    "WindowGenerator",
    "gan_paths",
    "train_generator",
    "windows_to_moves",
]

logger = logging.getLogger("mltrainer")

#: File name of the final fit's generator inside a model version.
GENERATOR_FILE = "augment-generator.pt"
_FORMAT = 1
_CHANNELS = 3


@dataclass(frozen=True)
class GanSettings:
    """Size and training of the window GAN (see ``augment`` in the config)."""

    window: int = 64
    epochs: int = 300
    batch_size: int = 128
    latent_dim: int = 8
    hidden: int = 32
    n_critic: int = 5
    learning_rate: float = 1e-4
    gp_weight: float = 10.0
    threads: int = 1


@dataclass
class WindowGenerator:
    """A trained generator of raw windows (shape ``(n, window, 3)``) and its scaler."""

    settings: GanSettings
    state: dict[str, Any]
    mean: np.ndarray
    std: np.ndarray
    history: dict[str, Any] = field(default_factory=dict)

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` windows in raw units (log return, log range, log volume change)."""
        from mltrainer.augment._gan_torch import sample_windows

        z = sample_windows(self.state, asdict(self.settings), channels=_CHANNELS, n=n, seed=seed)
        return z * self.std + self.mean

    def to_bytes(self) -> bytes:
        """The generator as one ``torch.save`` file of tensors, lists and numbers."""
        import torch

        payload = {
            "format": _FORMAT,
            "settings": asdict(self.settings),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "generator": {k: v.detach().cpu() for k, v in self.state.items()},
            "steps": int(self.history.get("steps", 0)),
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> WindowGenerator:
        """Load a generator saved by :meth:`to_bytes` (``weights_only=True``).

        Raises
        ------
        DataError
            When the file is not a generator of this format.
        """
        import pickle

        import torch

        try:
            payload = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        except (RuntimeError, pickle.UnpicklingError, EOFError) as exc:
            raise DataError(f"not a window generator file ({exc}); re-save it") from exc
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise DataError("not a window generator file of format 1; re-save it")
        return cls(
            GanSettings(**payload["settings"]),
            dict(payload["generator"]),
            np.asarray(payload["mean"], dtype=float),
            np.asarray(payload["std"], dtype=float),
            {"steps": payload.get("steps", 0)},
        )


def _check_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - torch is a dependency
        raise ConfigError("augment.method: gan needs torch (pip install torch==2.13.0)") from None


def train_generator(
    windows: np.ndarray,
    settings: GanSettings,
    *,
    seed: int,
    on_epoch: Callable[[int, WindowGenerator], bool] | None = None,
) -> WindowGenerator:
    """Fit a :class:`WindowGenerator` on raw training windows ``(n, window, 3)``.

    ``on_epoch(epoch, generator_so_far)`` is called after each epoch; returning True
    stops the training (e.g. once the quality gate passes).

    Raises
    ------
    DataError
        When there are fewer windows than a batch, or a window of another length.
    """
    _check_torch()
    windows = np.asarray(windows, dtype=float)
    if windows.ndim != 3 or windows.shape[1] != settings.window or windows.shape[2] != _CHANNELS:
        raise DataError(
            f"GAN windows must have shape (n, {settings.window}, 3), got {windows.shape}"
        )
    if windows.shape[0] < settings.batch_size:
        raise DataError(
            f"augment gan: {windows.shape[0]} training windows of {settings.window} bars, "
            f"fewer than a batch ({settings.batch_size}): lower augment.batch_size or "
            "augment.window, or use more data"
        )
    from mltrainer.augment._gan_torch import train_wgan_gp

    flat = windows.reshape(-1, _CHANNELS)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    callback = None
    if on_epoch is not None:

        def callback(epoch: int, state: dict[str, Any]) -> bool:
            return bool(on_epoch(epoch, WindowGenerator(settings, state, mean, std)))

    state, history = train_wgan_gp(
        ((windows - mean) / std), asdict(settings), seed=seed, on_epoch=callback
    )
    return WindowGenerator(settings, state, mean, std, history)


def windows_to_moves(windows: np.ndarray) -> np.ndarray:
    """Bar moves (see :data:`mltrainer.augment._paths.MOVES`) of raw windows, in order."""
    flat = np.asarray(windows, dtype=float).reshape(-1, _CHANNELS)
    body = flat[:, 0]
    wicks = np.maximum(flat[:, 1] - np.abs(body), 0.0) / 2.0
    return np.column_stack([np.zeros_like(body), body, wicks, wicks, flat[:, 2]])


def gan_paths(
    generator: WindowGenerator, bars: pd.DataFrame, n_paths: int, *, seed: int
) -> list[pd.DataFrame]:
    """``n_paths`` synthetic paths with ``bars``' timestamps, from its first bar."""
    n_moves = len(bars) - 1
    per_path = math.ceil(n_moves / generator.settings.window)
    windows = generator.sample(n_paths * per_path, seed=seed)
    first = bars.iloc[0]
    index = pd.DatetimeIndex(bars.index)
    out = []
    for k in range(n_paths):
        moves = windows_to_moves(windows[k * per_path : (k + 1) * per_path])[:n_moves]
        out.append(rebuild_bars(moves, first=first, index=index))
    return out


def _seed(random_state: int, fold: int) -> int:
    return int(np.random.SeedSequence([int(random_state), fold + 1, 7]).generate_state(1)[0])


class GanAugmenter(PathAugmenter):
    """Rows computed on GAN paths of each training segment, when the gate passes.

    In every fold the GAN is fitted on the windows of that fold's training segments only
    (less the held-out blocks of :func:`~mltrainer.augment._facts.holdout_windows`),
    judged by :func:`~mltrainer.augment.quality_gate` on the held-out windows, and used
    only when it passes; otherwise the fold is fitted on its real rows alone. The final
    fit's generator and gate are kept for the model version (:meth:`extra_files`).

    Parameters
    ----------
    bars, features, label, columns, classes, multiplier, weight, random_state
        As :class:`~mltrainer.augment._path_rows.PathAugmenter`.
    settings : GanSettings
        Network size and training.
    gate : {"strict", "lenient"}
        The gate's tolerances.
    holdout : float, default 0.2
        Share of the training bars held out for the gate.
    """

    def __init__(
        self,
        bars: pd.DataFrame,
        *,
        features: Sequence[Mapping[str, Any]] | None,
        label: Mapping[str, Any],
        columns: Sequence[str],
        classes: Sequence[float] | None,
        settings: GanSettings | None = None,
        gate: str = "strict",
        holdout: float = 0.2,
        multiplier: float = 2.0,
        weight: float = 1.0,
        random_state: int = 0,
    ) -> None:
        super().__init__(
            bars,
            self._paths,
            features=features,
            label=label,
            columns=columns,
            classes=classes,
            multiplier=multiplier,
            weight=weight,
            random_state=random_state,
        )
        self.settings = settings or GanSettings()
        self.gate = gate
        self.holdout = holdout
        self.gates_: dict[int, GateResult] = {}
        self.history_: dict[int, dict[str, Any]] = {}
        self.final_generator_: WindowGenerator | None = None
        self._generator: WindowGenerator | None = None

    def windows(self, segments: list[Segment]) -> tuple[np.ndarray, np.ndarray]:
        """Training and held-out windows of the segments' bars."""
        train, held = [], []
        window = self.settings.window
        for segment in segments:
            bars = self.segment_bars(segment)
            if len(bars) <= window + 1:
                continue
            tr, he = holdout_windows(bar_channels(bars), window, self.holdout)
            train.append(tr)
            held.append(he)
        empty = np.zeros((0, window, _CHANNELS))
        return (
            np.concatenate(train) if train else empty,
            np.concatenate(held) if held else empty,
        )

    def check(self, rows: TrainingRows, *, fold: int) -> None:
        """Refuse a fold with fewer training windows than a batch or too few held out."""
        from mltrainer.augment._segments import training_segments

        train, held = self.windows(training_segments(rows))
        where = "the final fit" if fold < 0 else f"training fold {fold}"
        if train.shape[0] < self.settings.batch_size:
            raise DataError(
                f"augment gan: {where} has {train.shape[0]} windows of "
                f"{self.settings.window} bars, fewer than a batch ({self.settings.batch_size})"
                ": lower augment.batch_size or augment.window, or use more data"
            )
        if held.shape[0] < 10:
            raise DataError(
                f"augment gan: {where} holds out {held.shape[0]} windows for the quality "
                "gate, fewer than 10: raise augment.holdout or lower augment.window"
            )

    def prepare(self, rows: TrainingRows, segments: list[Segment], *, fold: int) -> bool:
        """Fit the GAN on this fold's training windows and run the gate."""
        self.check(rows, fold=fold)
        train, held = self.windows(segments)
        seed = _seed(self.random_state, fold)
        generator = train_generator(train, self.settings, seed=seed)
        synthetic = generator.sample(max(held.shape[0], 200), seed=seed + 1)
        gate = quality_gate(train, held, synthetic, level=self.gate, seed=seed)
        self.gates_[fold] = gate
        self.history_[fold] = dict(generator.history)
        where = "final fit" if fold < 0 else f"fold {fold}"
        if fold < 0:
            self.final_generator_ = generator
        if not gate.passed:
            logger.warning("augment gan, %s: %s; no synthetic rows", where, gate.summary())
            self._generator = None
            return False
        logger.info("augment gan, %s: %s", where, gate.summary())
        self._generator = generator
        return True

    def _paths(self, bars: pd.DataFrame, n_paths: int, seed: int) -> list[pd.DataFrame]:
        assert self._generator is not None
        return gan_paths(self._generator, bars, n_paths, seed=seed)

    def metadata(self) -> dict[str, Any]:
        """The gate's verdict per fold (``-1``: final fit) and the training history."""
        return {
            "gate": {
                str(fold): {"passed": g.passed, "failed": g.failed()}
                for fold, g in sorted(self.gates_.items())
            },
            "generator_steps": {
                str(fold): int(h.get("steps", 0)) for fold, h in sorted(self.history_.items())
            },
            "settings": asdict(self.settings),
            "gate_level": self.gate,
        }

    def extra_files(self) -> dict[str, bytes]:
        """The final fit's generator and gate figures, to save with the model version."""
        from mltrainer.augment._report import gate_html

        out: dict[str, bytes] = {}
        if self.final_generator_ is not None:
            out[GENERATOR_FILE] = self.final_generator_.to_bytes()
        final = self.gates_.get(-1)
        if final is not None:
            out["augment-gate.json"] = final.to_json()
            out["augment-gate.html"] = gate_html(final, title="GAN quality gate (final fit)")
        return out
