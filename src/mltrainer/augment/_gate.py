"""The quality gate of a window generator: do its windows look like held-out market data?

Four families of checks, each against real windows the generator never saw:

1. **Stylized facts** (see :mod:`mltrainer.augment._facts`) within stated tolerances of
   the held-out windows': excess kurtosis within a factor, return autocorrelations near
   zero, the absolute-return autocorrelation profile and the leverage profile within a
   mean absolute distance.
2. **Discriminative score**: a logistic regression on twelve summary statistics of a
   window, cross-validated, tells held-out real windows from synthetic ones; its ROC AUC
   must stay near 0.5: at most the tolerance, or (when real data alone are that
   distinguishable: held-out blocks come from fewer market regimes than the training
   windows) at most the AUC of held-out versus training real windows plus a margin.
3. **TSTR** (train on synthetic, test on real): a ridge regression predicting a window's
   last log range from its earlier bars, fitted on synthetic windows, must score (R² on
   the held-out windows) nearly as well as the same model fitted on the real training
   windows (TRTR).
4. **Memorisation**: the median distance from a synthetic window to its nearest training
   window must not be much smaller than the same distance for held-out real windows (a
   generator that replays its training data fails).

``strict`` and ``lenient`` differ only in the tolerances (:data:`GATE_TOLERANCES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mltrainer.augment._facts import StylizedFacts, stylized_facts
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["GATE_TOLERANCES", "GateResult", "quality_gate", "window_statistics"]

#: Tolerances of each gate level.
GATE_TOLERANCES: dict[str, dict[str, float]] = {
    "strict": {
        "kurtosis_low": 0.5,  # synthetic / real excess kurtosis at least this
        "kurtosis_high": 2.0,  # ... and at most this
        "acf_returns": 0.10,  # mean |acf(r)|, lags 1-5, at most real's + this
        "acf_abs": 0.15,  # mean |acf(|r|) synthetic - real|, lags 1-20
        "leverage": 0.10,  # mean |leverage synthetic - real|, lags 1-10
        "auc": 0.65,  # discriminative ROC AUC at most this, or the real baseline + margin
        "auc_margin": 0.05,
        "tstr": 0.05,  # TSTR R² at least TRTR R² minus this
        "memorisation": 0.8,  # NN distance synthetic / held-out at least
    },
    "lenient": {
        "kurtosis_low": 0.33,
        "kurtosis_high": 3.0,
        "acf_returns": 0.15,
        "acf_abs": 0.25,
        "leverage": 0.15,
        "auc": 0.75,
        "auc_margin": 0.10,
        "tstr": 0.10,
        "memorisation": 0.5,
    },
}

_FACT_CHECKS = ("kurtosis", "acf_returns", "acf_abs", "leverage")
_MAX_WINDOWS = 2000


@dataclass(frozen=True)
class Check:
    """One gate check: the synthetic value, the real reference, the rule and the verdict."""

    name: str
    value: float
    reference: float
    rule: str
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able values."""
        return {
            "name": self.name,
            "value": _finite(self.value),
            "reference": _finite(self.reference),
            "rule": self.rule,
            "passed": bool(self.passed),
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict, every check, and the facts of real and synthetic windows."""

    level: str
    checks: list[Check]
    real: StylizedFacts
    synthetic: StylizedFacts
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def facts_passed(self) -> bool:
        """True when every stylized-fact check passed."""
        return all(c.passed for c in self.checks if c.name in _FACT_CHECKS)

    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [check.name for check in self.checks if not check.passed]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able values (saved with a model version as ``augment-gate.json``)."""
        return {
            "level": self.level,
            "passed": self.passed,
            "failed": self.failed(),
            "checks": [check.as_dict() for check in self.checks],
            "tolerances": GATE_TOLERANCES[self.level],
            "real": self.real.as_dict(),
            "synthetic": self.synthetic.as_dict(),
            **self.extra,
        }

    def to_json(self) -> bytes:
        """:meth:`as_dict` as UTF-8 JSON."""
        return json.dumps(self.as_dict(), indent=2, allow_nan=False).encode("utf-8")

    def summary(self) -> str:
        """One line: passed or which checks failed."""
        if self.passed:
            return f"quality gate ({self.level}) passed"
        return f"quality gate ({self.level}) failed: {', '.join(self.failed())}"


def _subsample(windows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if windows.shape[0] <= _MAX_WINDOWS:
        return windows
    return windows[np.sort(rng.choice(windows.shape[0], _MAX_WINDOWS, replace=False))]


def window_statistics(windows: np.ndarray) -> np.ndarray:
    """Twelve summary statistics of each window (the discriminator's inputs).

    Returns
    -------
    ndarray, shape (n_windows, 12)
    """
    r, rng_, dv = windows[..., 0], windows[..., 1], windows[..., 2]
    a = np.abs(r)
    sd = r.std(axis=1) + 1e-12
    z = (r - r.mean(axis=1, keepdims=True)) / sd[:, None]

    def lag1(x: np.ndarray) -> np.ndarray:
        x = x - x.mean(axis=1, keepdims=True)
        den = np.sqrt(np.sum(x[:, :-1] ** 2, axis=1) * np.sum(x[:, 1:] ** 2, axis=1)) + 1e-12
        return np.sum(x[:, :-1] * x[:, 1:], axis=1) / den

    ra = rng_ - rng_.mean(axis=1, keepdims=True)
    aa = a - a.mean(axis=1, keepdims=True)
    corr = np.sum(ra * aa, axis=1) / (
        np.sqrt(np.sum(ra**2, axis=1) * np.sum(aa**2, axis=1)) + 1e-12
    )
    return np.column_stack(
        [
            np.log(sd),
            np.log(a.mean(axis=1) + 1e-12),
            np.mean(z**4, axis=1),
            np.mean(z**3, axis=1),
            lag1(r),
            lag1(a),
            np.log(np.maximum(rng_.mean(axis=1), 1e-12)),
            np.log(rng_.std(axis=1) + 1e-12),
            corr,
            np.max(np.abs(z), axis=1),
            dv.mean(axis=1),
            np.log(dv.std(axis=1) + 1e-12),
        ]
    )


def _discriminative_auc(real: np.ndarray, synthetic: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    n = min(real.shape[0], synthetic.shape[0])
    real = real[rng.choice(real.shape[0], n, replace=False)]
    synthetic = synthetic[rng.choice(synthetic.shape[0], n, replace=False)]
    X = np.nan_to_num(window_statistics(np.concatenate([real, synthetic])), posinf=0, neginf=0)
    y = np.r_[np.zeros(n), np.ones(n)]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def _tstr_features(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    past_r, past_range = np.abs(windows[:, :-1, 0]), windows[:, :-1, 1]
    X = np.column_stack(
        [
            past_r[:, -5:].mean(axis=1),
            past_r[:, -20:].mean(axis=1),
            past_r.mean(axis=1),
            past_range[:, -1],
            past_range[:, -5:].mean(axis=1),
            past_range[:, -20:].mean(axis=1),
        ]
    )
    return np.log(np.maximum(X, 0.0) + 1e-6), np.log(np.maximum(windows[:, -1, 1], 0.0) + 1e-6)


def _r2(train: np.ndarray, test: np.ndarray) -> float:
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    X_train, y_train = _tstr_features(train)
    X_test, y_test = _tstr_features(test)
    model = Ridge(alpha=1.0).fit(X_train, y_train)
    return float(r2_score(y_test, model.predict(X_test)))


def _memorisation(
    train: np.ndarray, heldout: np.ndarray, synthetic: np.ndarray
) -> tuple[float, float]:
    from sklearn.neighbors import NearestNeighbors

    scale = train[..., :2].reshape(-1, 2).std(axis=0) + 1e-12

    def flat(w: np.ndarray) -> np.ndarray:
        return (w[..., :2] / scale).reshape(w.shape[0], -1)

    nn = NearestNeighbors(n_neighbors=1).fit(flat(train))
    synth = float(np.median(nn.kneighbors(flat(synthetic))[0]))
    real = float(np.median(nn.kneighbors(flat(heldout))[0]))
    return synth, real


def quality_gate(
    train: np.ndarray,
    heldout: np.ndarray,
    synthetic: np.ndarray,
    *,
    level: str = "strict",
    seed: int = 0,
) -> GateResult:
    """Judge ``synthetic`` windows against ``heldout`` real windows (see the module).

    Parameters
    ----------
    train : ndarray, shape (n, W, 3)
        The real windows the generator was fitted on (TRTR, memorisation).
    heldout : ndarray, shape (m, W, 3)
        Real windows the generator never saw.
    synthetic : ndarray, shape (k, W, 3)
        The generator's windows.
    level : {"strict", "lenient"}
        Tolerances (:data:`GATE_TOLERANCES`).
    seed : int
        Seed of the subsampling and of the discriminator's folds.

    Raises
    ------
    ConfigError
        For an unknown level.
    DataError
        When a set has fewer than 10 windows or the window shapes differ.
    """
    if level not in GATE_TOLERANCES:
        raise ConfigError(f"augment.gate={level!r} is unknown: choose strict or lenient")
    for name, w in (("training", train), ("held-out", heldout), ("synthetic", synthetic)):
        if w.ndim != 3 or w.shape[0] < 10 or w.shape[2] < 3:
            raise DataError(
                f"the quality gate needs at least 10 {name} windows of 3 channels, got "
                f"shape {w.shape}: use more data or a shorter augment.window"
            )
    if not (train.shape[1:] == heldout.shape[1:] == synthetic.shape[1:]):
        raise DataError("the quality gate's windows differ in length or channels")
    tol = GATE_TOLERANCES[level]
    rng = np.random.default_rng(seed)
    reference = train  # every training window: a replayed one must find its twin
    train, heldout, synthetic = (_subsample(w, rng) for w in (train, heldout, synthetic))
    real, synth = stylized_facts(heldout), stylized_facts(synthetic)
    checks: list[Check] = []
    ratio = synth.kurtosis / real.kurtosis if real.kurtosis > 1 else np.nan
    if real.kurtosis > 1:
        ok = tol["kurtosis_low"] <= ratio <= tol["kurtosis_high"]
        rule = f"synthetic/real in [{tol['kurtosis_low']}, {tol['kurtosis_high']}]"
    else:
        ok = abs(synth.kurtosis - real.kurtosis) <= 1.0
        rule = "within 1 of real"
    checks.append(Check("kurtosis", synth.kurtosis, real.kurtosis, rule, bool(ok)))
    acf_s = float(np.mean(np.abs(synth.acf_returns[:5])))
    acf_r = float(np.mean(np.abs(real.acf_returns[:5])))
    limit = max(tol["acf_returns"], acf_r + 0.05)
    checks.append(
        Check("acf_returns", acf_s, acf_r, f"mean |acf| lags 1-5 <= {limit:.3f}", acf_s <= limit)
    )
    mae = float(np.mean(np.abs(synth.acf_abs - real.acf_abs)))
    checks.append(
        Check(
            "acf_abs",
            float(np.mean(synth.acf_abs)),
            float(np.mean(real.acf_abs)),
            f"mean |synthetic - real| over lags <= {tol['acf_abs']} (is {mae:.3f})",
            mae <= tol["acf_abs"],
        )
    )
    lev = float(np.mean(np.abs(synth.leverage - real.leverage)))
    checks.append(
        Check(
            "leverage",
            float(np.mean(synth.leverage)),
            float(np.mean(real.leverage)),
            f"mean |synthetic - real| over lags <= {tol['leverage']} (is {lev:.3f})",
            lev <= tol["leverage"],
        )
    )
    auc = _discriminative_auc(heldout, synthetic, seed)
    baseline = _discriminative_auc(heldout, train, seed)
    limit = max(tol["auc"], baseline + tol["auc_margin"])
    checks.append(
        Check(
            "discriminative_auc",
            auc,
            baseline,
            f"<= max({tol['auc']}, real-vs-real {baseline:.3f} + {tol['auc_margin']})",
            auc <= limit,
        )
    )
    tstr, trtr = _r2(synthetic, heldout), _r2(train, heldout)
    checks.append(
        Check("tstr_r2", tstr, trtr, f">= TRTR - {tol['tstr']}", tstr >= trtr - tol["tstr"])
    )
    synth_nn, real_nn = _memorisation(reference, heldout, synthetic)
    share = synth_nn / real_nn if real_nn > 0 else np.inf
    checks.append(
        Check(
            "memorisation",
            synth_nn,
            real_nn,
            f"NN distance synthetic/held-out >= {tol['memorisation']} (is {share:.3f})",
            share >= tol["memorisation"],
        )
    )
    probs = np.linspace(0.001, 0.999, 99)
    extra = {
        "quantiles": {
            "probabilities": probs.tolist(),
            "real": np.quantile(heldout[..., 0], probs).tolist(),
            "synthetic": np.quantile(synthetic[..., 0], probs).tolist(),
        },
        "n_windows": {
            "train": int(train.shape[0]),
            "heldout": int(heldout.shape[0]),
            "synthetic": int(synthetic.shape[0]),
        },
        "window": int(train.shape[1]),
    }
    return GateResult(level, checks, real, synth, extra)
