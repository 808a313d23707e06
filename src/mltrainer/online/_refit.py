"""Refit on drift: a candidate fitted on buffered rows, kept only if it beats the incumbent.

When the detector fires it also estimates where the change began (ADWIN: the width of the
window it keeps after the cut). The refit waits until ``min_train_rows + eval_rows`` rows
have matured since then; a fresh model of the running kind is then fitted on those
post-change rows whose labels ended before the evaluation window (the most recent
``eval_rows`` matured rows), so no evaluation row, nor any label overlapping it, is seen in
training. The incumbent's losses on that window are the prequential losses of the
predictions it really made; the candidate's are its losses on the same rows. The candidate
replaces the incumbent only when its mean loss is lower by more than the noise band.

Noise band: ``band_z`` standard errors of the mean paired loss difference
``d_i = loss_incumbent_i - loss_candidate_i``. Labels over ``h`` bars overlap, so
neighbouring ``d_i`` are not independent: the standard error is that of the means of
consecutive blocks of ``h`` rows, ``se = std(block means, ddof=1) / sqrt(n_blocks)``.
Accepted when ``mean(d) > band_z * se``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mltrainer.exceptions import ConfigError

from ._prequential import row_loss
from ._ring import RingBuffer
from ._updaters import CandidateError, Updater

__all__ = ["RefitDecision", "RefitPolicy", "evaluate_refit", "noise_band"]


@dataclass(frozen=True)
class RefitPolicy:
    """When and how a drift alarm refits the model.

    Attributes
    ----------
    enabled : bool, default True
        Refit on drift at all (False: alarms are recorded only).
    eval_rows : int, default 100
        Most recent matured rows both models are scored on.
    min_train_rows : int, default 200
        Post-change rows (before the evaluation window) a candidate is fitted on, at least.
    train_rows : int, optional
        At most this many of the newest of those rows (default: all since the change).
    band_z : float, default 2.0
        Standard errors the candidate must win by.
    cooldown : int, optional
        Matured rows after a swap before the next alarm may refit (default
        ``eval_rows``: the next comparison scores only the new model's predictions).
    """

    enabled: bool = True
    eval_rows: int = 100
    min_train_rows: int = 200
    train_rows: int | None = None
    band_z: float = 2.0
    cooldown: int | None = None

    def __post_init__(self) -> None:
        for name in ("eval_rows", "min_train_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ConfigError(f"refit {name}={value!r} must be an int >= 2")
        if self.train_rows is not None and self.train_rows < self.min_train_rows:
            raise ConfigError(
                f"refit train_rows={self.train_rows} is below min_train_rows={self.min_train_rows}"
            )
        if not math.isfinite(self.band_z) or self.band_z < 0:
            raise ConfigError(f"refit band_z={self.band_z!r} must be a finite number >= 0")

    @property
    def rows_needed(self) -> int:
        """Rows that must mature after a change before its refit is tried."""
        return self.min_train_rows + self.eval_rows

    @property
    def rows_between(self) -> int:
        """Matured rows that must follow a swap before another refit."""
        return self.eval_rows if self.cooldown is None else int(self.cooldown)


@dataclass
class RefitDecision:
    """The outcome of one refit attempt, as recorded in the stream's events."""

    accepted: bool
    reason: str
    n_train: int = 0
    n_eval: int = 0
    incumbent_loss: float | None = None
    candidate_loss: float | None = None
    difference: float | None = None
    band: float | None = None
    first_t0: str | None = None
    last_t1: str | None = None
    candidate: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the candidate model is left out)."""
        out = asdict(self)
        out.pop("candidate")
        return out


def noise_band(differences: np.ndarray, *, block: int, z: float) -> float:
    """``z`` standard errors of the mean of ``differences``, from block means of ``block`` rows."""
    block = max(int(block), 1)
    n_blocks = len(differences) // block
    if n_blocks < 2:
        return float("inf")
    tail = differences[len(differences) - n_blocks * block :]  # newest complete blocks
    means = tail.reshape(n_blocks, block).mean(axis=1)
    return float(z * means.std(ddof=1) / math.sqrt(n_blocks))


def evaluate_refit(
    updater: Updater,
    buffer: RingBuffer,
    *,
    policy: RefitPolicy,
    horizon: int,
    kind: str,
    since_change: int | None = None,
) -> RefitDecision:
    """Fit a candidate on post-change rows and compare it with the incumbent (see the module).

    Parameters
    ----------
    since_change : int, optional
        Rows matured since the detected change (default: the whole buffer).
    """
    rows = buffer.snapshot(last=since_change)
    n = rows["X"].shape[0]
    if n < policy.rows_needed:
        return RefitDecision(
            False,
            f"{n} rows since the change; a refit needs {policy.eval_rows} to evaluate and "
            f"{policy.min_train_rows} to train on",
        )
    start = n - policy.eval_rows
    train = np.flatnonzero(rows["t1"][:start] < rows["t0"][start])  # purged before the window
    if policy.train_rows is not None:
        train = train[-policy.train_rows :]
    n_train = int(train.size)
    if n_train < policy.min_train_rows:
        return RefitDecision(
            False,
            f"only {n_train} rows end before the evaluation window; need {policy.min_train_rows}",
        )
    try:
        candidate = updater.candidate(rows["X"][train], rows["y"][train], rows["weight"][train])
    except CandidateError as exc:
        return RefitDecision(False, str(exc), n_train=n_train)
    probe = copy.copy(updater)
    probe.adopt(candidate)
    X_eval, y_eval = rows["X"][start:], rows["y"][start:]
    candidate_loss = np.array(
        [row_loss(probe.predict_row(x), y, kind=kind) for x, y in zip(X_eval, y_eval, strict=True)]
    )
    incumbent_loss = rows["loss"][start:]
    difference = incumbent_loss - candidate_loss
    band = noise_band(difference, block=horizon, z=policy.band_z)
    mean = float(difference.mean())
    accepted = mean > band
    verdict = "beats" if accepted else "does not beat"
    reason = (
        f"candidate mean loss {candidate_loss.mean():.5f} {verdict} incumbent "
        f"{incumbent_loss.mean():.5f} by more than the noise band: difference {mean:.5f}, "
        f"band {band:.5f} ({policy.band_z:g} block standard errors, {n_train} training rows)"
    )
    return RefitDecision(
        accepted,
        reason,
        n_train=n_train,
        n_eval=policy.eval_rows,
        incumbent_loss=float(incumbent_loss.mean()),
        candidate_loss=float(candidate_loss.mean()),
        difference=mean,
        band=band,
        first_t0=_iso(int(rows["t0"][train[0]])),
        last_t1=_iso(int(rows["t1"][train[-1]])),
        candidate=candidate if accepted else None,
    )


def _iso(stamp_ns: int) -> str:
    import pandas as pd

    return pd.Timestamp(stamp_ns, tz="UTC").isoformat()
