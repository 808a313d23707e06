"""Whether tuned params replace the fixed ones: a test that knows how many trials were tried.

The best of N trials beats the fixed config on the folds it was picked on by luck alone as
N grows, so the paired test of its fold scores is not enough. Promotion needs all of:

1. a positive mean fold-score gain with a paired one-sided p-value below ``significance``;
2. the gain to survive the search. With out-of-fold signal returns (single-instrument
   trading labels): Hansen's SPA test (``arch.bootstrap.SPA``: stationary bootstrap,
   studentised, consistent p-value) of every completed trial's signal-return series
   against the fixed config's rejects "no trial earns more than the fixed config" at
   ``significance``, the best trial is among the ones it finds better, and the deflated
   Sharpe ratio of the best trial with N = every trial that ran is at least
   ``1 - significance``. Without signal returns: the paired p-value times N (Bonferroni)
   is below ``significance``.

N counts every trial that ran (complete and pruned): a pruned trial was looked at too.

Why signal returns and not a per-row loss: under "no skill" a position taken at t0 is
independent of the return to t1, so differences of signal returns are a martingale
difference sequence, which a block bootstrap over time handles. Per-row losses of models
refitted in each fold are not: their differences carry a fold-level component (each fold's
model pair) and a genuine gap on noise (a regularised model has a lower log loss), so a
bootstrap over rows finds "better" trials on pure noise. The fold scores themselves are
tested by the paired test over folds, the unit they are independent in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mltrainer.tuning._overfit import deflated_sharpe_ratio, paired_gain_test

__all__ = ["Evidence", "Promotion", "promotion_test", "spa_test"]

#: Fewest return blocks the SPA bootstrap is run on; fewer fall back to Bonferroni.
MIN_SPA_BLOCKS = 8
#: What the SPA test compares.
SPA_BASIS = "out-of-fold signal returns"
#: Bootstrap replications of the SPA test.
SPA_REPS = 1000


@dataclass(frozen=True)
class Evidence:
    """What one parameter set scored: the inputs of the promotion test.

    Attributes
    ----------
    fold_scores : sequence of float
        Out-of-fold score per fold (higher is better).
    returns : dict, optional
        Out-of-fold signal-return statistics: ``sharpe``, ``n``, ``skew``, ``kurtosis`` (for
        the deflated Sharpe ratio) and ``series``, the returns' means over time blocks, the
        same blocks for every trial (for the SPA test).
    """

    fold_scores: Sequence[float]
    returns: dict[str, Any] | None = None

    @property
    def series(self) -> list[float] | None:
        """The signal-return block means, if any."""
        series = (self.returns or {}).get("series")
        return list(series) if series else None


@dataclass
class Promotion:
    """The decision and every statistic behind it.

    ``rule`` names the tests applied; ``reasons`` says why the params were not promoted
    (empty when they were).
    """

    promoted: bool
    gain: float
    p_value: float
    n_tested: int
    rule: str
    spa_p_value: float | None = None
    spa_basis: str | None = None
    bonferroni_p_value: float | None = None
    deflated_sharpe: float | None = None
    best_sharpe: float | None = None
    reasons: list[str] = field(default_factory=list)


def spa_test(
    benchmark: np.ndarray,
    models: np.ndarray,
    *,
    significance: float,
    seed: int,
    reps: int = SPA_REPS,
) -> tuple[float, np.ndarray]:
    """Hansen's SPA test of ``models`` against ``benchmark`` (losses: lower is better).

    Parameters
    ----------
    benchmark : array of shape (T,)
        The benchmark's loss series.
    models : array of shape (T, M)
        The competing models' loss series.
    significance : float
        Level at which the better models are returned.
    seed : int
        Seed of the stationary bootstrap.

    Returns
    -------
    p_value : float
        The consistent p-value of "no model has a lower expected loss than the benchmark"
        (1.0 when every model's loss equals the benchmark's).
    better : ndarray of int
        Columns of ``models`` found better than the benchmark at ``significance``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bench = rng.normal(1.0, 0.1, 200)
    >>> models = bench[:, None] + rng.normal(0.0, 0.1, (200, 5))
    >>> models[:, 3] -= 0.1  # one model has a lower loss
    >>> p, better = spa_test(bench, models, significance=0.05, seed=0)
    >>> bool(p < 0.05), better.tolist()
    (True, [3])
    """
    from arch.bootstrap import SPA

    bench = np.asarray(benchmark, dtype=float)
    losses = np.asarray(models, dtype=float)
    differs = np.flatnonzero(np.any(losses != bench[:, None], axis=0))
    if differs.size == 0:  # nothing to test: only copies of the benchmark
        return 1.0, np.array([], dtype=np.int64)
    spa = SPA(bench, losses[:, differs], reps=reps, seed=seed)
    spa.compute()
    p_value = float(spa.pvalues["consistent"])
    better = differs[np.asarray(spa.better_models(significance), dtype=np.int64)]
    return p_value, better


def _spa_ready(best: Evidence, fixed: Evidence, trials: Sequence[Evidence]) -> list[int] | None:
    """Indices of the trials whose return series can be tested against the fixed config's."""
    bench, chosen = fixed.series, best.series
    if bench is None or chosen is None or len(bench) < MIN_SPA_BLOCKS:
        return None
    if len(chosen) != len(bench):
        return None
    usable = [
        i for i, t in enumerate(trials) if (t.series or []) and len(t.series or []) == len(bench)
    ]
    return usable if usable else None


def promotion_test(
    best: Evidence,
    fixed: Evidence,
    trials: Sequence[Evidence],
    *,
    n_tested: int,
    significance: float,
    seed: int = 0,
) -> Promotion:
    """Decide whether ``best`` replaces ``fixed`` after a search over ``n_tested`` trials.

    Parameters
    ----------
    best : Evidence
        The selected (best) trial.
    fixed : Evidence
        The fixed config, the benchmark.
    trials : sequence of Evidence
        Every completed trial, ``best`` among them (the fixed config's own trial may be too).
    n_tested : int
        N, the trials that ran (complete and pruned).
    significance : float
        Level of every test.
    seed : int, default 0
        Seed of the SPA bootstrap.

    Returns
    -------
    Promotion
    """
    n_tested = max(int(n_tested), 1)
    gain, p_value = paired_gain_test(np.asarray(best.fold_scores), np.asarray(fixed.fold_scores))
    reasons: list[str] = []
    if not (gain > 0 and p_value == p_value and p_value < significance):
        reasons.append(
            f"the fold-score gain {gain:+.4f} is not significant (paired p={p_value:.3g},"
            f" needs < {significance})"
        )
    out = Promotion(
        promoted=False, gain=gain, p_value=p_value, n_tested=n_tested, rule="", reasons=reasons
    )
    rules = [f"paired t-test p < {significance}"]
    usable = _spa_ready(best, fixed, trials)
    if usable is not None:
        # SPA compares losses (lower is better): a signal return's loss is its negative
        models = -np.array([trials[i].series for i in usable], dtype=float).T
        bench = -np.asarray(fixed.series, dtype=float)
        p_spa, better = spa_test(bench, models, significance=significance, seed=seed)
        out.spa_p_value, out.spa_basis = p_spa, SPA_BASIS
        chosen = -np.asarray(best.series, dtype=float)
        best_found = any(np.array_equal(models[:, j], chosen) for j in better)
        rules.append(f"SPA over {len(usable)} trials' {SPA_BASIS} p < {significance}")
        if not p_spa < significance:
            reasons.append(
                f"the SPA test finds no trial of {len(usable)} that earns more than the fixed"
                f" config in {SPA_BASIS} (p={p_spa:.3g})"
            )
        elif not best_found:
            reasons.append(
                f"the SPA test finds some trials better than the fixed config in {SPA_BASIS}"
                f" (p={p_spa:.3g}), but not the best-scoring one"
            )
    else:
        corrected = min(1.0, p_value * n_tested) if p_value == p_value else float("nan")
        out.bonferroni_p_value = corrected
        rules.append(f"Bonferroni p x {n_tested} < {significance}")
        if not corrected < significance:
            reasons.append(
                f"corrected for {n_tested} trials the paired p-value is {corrected:.3g}"
                f" (Bonferroni; needs < {significance})"
            )
    _deflate(out, best, trials, significance, rules)
    out.rule = "; ".join(rules)
    out.promoted = not reasons
    return out


def _deflate(
    out: Promotion,
    best: Evidence,
    trials: Sequence[Evidence],
    significance: float,
    rules: list[str],
) -> None:
    """The deflated Sharpe condition, when the trials have signal returns."""
    with_returns = [t.returns for t in trials if t.returns]
    if not best.returns or len(with_returns) < 2:
        return
    stats = best.returns
    sharpes = np.array([r["sharpe"] for r in with_returns], dtype=float)
    dsr = deflated_sharpe_ratio(
        float(stats["sharpe"]),
        sharpes,
        n_obs=int(stats["n"]),
        skew=float(stats["skew"]),
        kurtosis=float(stats["kurtosis"]),
        n_trials=out.n_tested,
    )
    out.best_sharpe, out.deflated_sharpe = float(stats["sharpe"]), dsr
    rules.append(f"deflated Sharpe (N={out.n_tested}) >= {1 - significance:g}")
    if not dsr >= 1 - significance:
        out.reasons.append(
            f"the best trial's out-of-fold signal Sharpe {stats['sharpe']:.3f} does not beat"
            f" the best of {out.n_tested} unskilled trials (deflated Sharpe {dsr:.3f},"
            f" needs >= {1 - significance:g})"
        )
