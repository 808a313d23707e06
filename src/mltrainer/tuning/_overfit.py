"""How much did tuning overfit? Deflated Sharpe ratio, PBO by CSCV, a paired significance test."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats

__all__ = ["deflated_sharpe_ratio", "paired_gain_test", "probability_of_backtest_overfitting"]

_EULER_GAMMA = 0.5772156649015329


def deflated_sharpe_ratio(
    sharpe: float,
    trial_sharpes: np.ndarray,
    *,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    n_trials: int | None = None,
) -> float:
    """Probability that the best trial's Sharpe ratio beats the best of N unskilled trials.

    Bailey and Lopez de Prado (2014): the expected maximum Sharpe ratio of ``N`` trials
    with zero true skill, ``SR0 = sqrt(V) ((1 - g) Z(1 - 1/N) + g Z(1 - 1/(N e)))``, is
    the benchmark of a probabilistic Sharpe ratio that corrects for non-normal returns.

    Parameters
    ----------
    sharpe : float
        The selected trial's Sharpe ratio per observation (not annualised).
    trial_sharpes : array
        Sharpe ratios of the trials (same units): their variance is the spread of
        unskilled trials.
    n_obs : int
        Number of return observations behind ``sharpe``.
    skew, kurtosis : float
        Skewness and (non-excess) kurtosis of the selected trial's returns.
    n_trials : int, optional
        N, the number of trials the best was selected from (default: the number of
        finite ``trial_sharpes``). Give every trial that ran, pruned ones included, when
        only some of them have a Sharpe ratio.

    Examples
    --------
    >>> sharpes = np.array([0.01, -0.02, 0.03, 0.0, 0.02])
    >>> round(deflated_sharpe_ratio(0.03, sharpes, n_obs=1000), 3)
    0.588
    >>> round(deflated_sharpe_ratio(0.03, sharpes, n_obs=1000, n_trials=100), 3)
    0.278
    """
    srs = np.asarray(trial_sharpes, dtype=float)
    srs = srs[np.isfinite(srs)]
    if srs.size < 2 or n_obs < 3:
        return float("nan")
    n = max(int(n_trials), srs.size) if n_trials is not None else srs.size
    if n < 2:
        return float("nan")
    var = float(np.var(srs, ddof=1))
    sr0 = math.sqrt(var) * (
        (1 - _EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
        + _EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    denom = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if denom <= 0:
        return float("nan")
    z = (sharpe - sr0) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return float(stats.norm.cdf(z))


def probability_of_backtest_overfitting(
    performance: np.ndarray, *, n_blocks: int | None = None
) -> tuple[float, int]:
    """PBO by combinatorially symmetric cross-validation (Bailey et al. 2017).

    Parameters
    ----------
    performance : array of shape (T, N)
        Performance of each of N trials over T time-ordered observations (or blocks).
    n_blocks : int, optional
        Even number S of blocks the rows are cut into (default: the largest even number
        <= min(T, 16)). Every half of the blocks is an in-sample set, the rest out-of-sample.

    Returns
    -------
    pbo : float
        Share of the C(S, S/2) splits where the in-sample best trial ranks in the bottom
        half out of sample (NaN with fewer than 2 trials or 4 rows).
    n_blocks : int
        The S used.
    """
    perf = np.asarray(performance, dtype=float)
    t, n = perf.shape
    s = n_blocks if n_blocks is not None else min(t, 16) // 2 * 2
    if n < 2 or s < 4 or t < s:
        return float("nan"), s
    blocks = np.stack([b.mean(axis=0) for b in np.array_split(perf, s)])  # (S, N)
    sizes = np.array([len(b) for b in np.array_split(np.arange(t), s)], dtype=float)
    combos = np.array(list(itertools.combinations(range(s), s // 2)))
    mask = np.zeros((len(combos), s))
    mask[np.arange(len(combos))[:, None], combos] = 1.0
    weighted = blocks * sizes[:, None]
    in_mean = (mask @ weighted) / (mask @ sizes)[:, None]
    out_mask = 1.0 - mask
    out_mean = (out_mask @ weighted) / (out_mask @ sizes)[:, None]
    best = np.argmax(in_mean, axis=1)
    chosen = out_mean[np.arange(len(combos)), best]
    rank = (out_mean < chosen[:, None]).sum(axis=1) + 1  # 1 = worst out of sample
    omega = rank / (n + 1)
    logit = np.log(omega / (1 - omega))
    return float(np.mean(logit <= 0)), s


def paired_gain_test(tuned: np.ndarray, fixed: np.ndarray) -> tuple[float, float]:
    """Mean fold-score gain of ``tuned`` over ``fixed`` and its one-sided paired t-test p-value."""
    a = np.asarray(tuned, dtype=float)
    b = np.asarray(fixed, dtype=float)
    diff = a - b
    gain = float(diff.mean())
    if diff.size < 2:
        return gain, float("nan")
    sd = float(diff.std(ddof=1))
    if sd == 0:
        return gain, 0.0 if gain > 0 else 1.0
    t = gain / (sd / math.sqrt(diff.size))
    return gain, float(stats.t.sf(t, df=diff.size - 1))
