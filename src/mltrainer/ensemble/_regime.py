"""Causal regime switching: a regime rule fitted on the training rows, members per regime.

``RegimeEnsemble.fit(X, y)`` fits the regime rule on X's regime columns, assigns each
training row the regime the rule gives it *causally* (the same computation as at prediction
time: row t from rows up to t, then ``min_dwell`` hysteresis), fits every member on each
regime's rows, and uses the fallback member (fitted on all rows) for a regime with too few
rows or without every class. What it did is recorded in ``regime_counts_`` and
``fallbacks_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mltrainer.cv import fit_params
from mltrainer.ensemble._base import BaseEnsemble
from mltrainer.ensemble._detect import fit_regime_rule
from mltrainer.exceptions import ConfigError
from mltrainer.models import REGIME_METHODS, RegimeComposite, dwell, regime_probabilities

__all__ = ["RegimeEnsemble"]

_FALLBACK = "fallback"


class RegimeEnsemble(BaseEnsemble):
    """Members fitted per market regime, switched (or mixed) by a causal regime rule.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members; each regime gets its own fitted copy of every member, and predicts
        their equal-weight mean.
    method : {"volatility", "gmm", "markov"}, default "volatility"
        Quantiles of one column; a Gaussian mixture on the columns (row t alone); Markov
        switching on one column (filtered probabilities).
    features : list of str or int, optional
        The columns the rule reads (names for frames, positions for arrays); default the
        first column.
    n_regimes : int, default 2
    min_dwell : int, default 1
        Rows a new regime must hold before the switch (1: no hysteresis).
    soft : bool, default False
        Mix the regimes' outputs by their probabilities (gmm, markov) instead of switching.
    fallback : str, optional
        The member used in regimes with too few rows (default: the first member).
    min_rows : int, default 50
        Fewest training rows a regime needs for its own members.
    random_state : int, optional
        Seed of the Gaussian mixture.

    Attributes
    ----------
    composite_ : RegimeComposite
    members_ : None
        Members are fitted per regime, not on every row.
    regime_rule_ : dict
        The fitted rule (thresholds, mixture or Markov parameters).
    regime_counts_ : list of int
        Training rows per regime.
    fallbacks_ : dict of int to str
        Regimes that use the fallback member, and why.
    """

    _reserved = (_FALLBACK,)

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]],
        *,
        method: str = "volatility",
        features: Sequence[Any] | None = None,
        n_regimes: int = 2,
        min_dwell: int = 1,
        soft: bool = False,
        fallback: str | None = None,
        min_rows: int = 50,
        random_state: int | None = None,
    ) -> None:
        self.estimators = estimators
        self.method = method
        self.features = features
        self.n_regimes = n_regimes
        self.min_dwell = min_dwell
        self.soft = soft
        self.fallback = fallback
        self.min_rows = min_rows
        self.random_state = random_state

    def _check(self, names: list[str]) -> str:
        if self.method not in REGIME_METHODS:
            raise ConfigError(f"method={self.method!r} is not one of {REGIME_METHODS}")
        for label, value, low in (
            ("n_regimes", self.n_regimes, 2),
            ("min_dwell", self.min_dwell, 1),
            ("min_rows", self.min_rows, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ConfigError(f"{label}={value!r} must be an integer of at least {low}")
        if self.soft and self.method == "volatility":
            raise ConfigError("soft=True needs regime probabilities: use method gmm or markov")
        if self.soft and self.min_dwell > 1:
            raise ConfigError("min_dwell applies to switching; with soft=True use min_dwell=1")
        fallback = names[0] if self.fallback is None else self.fallback
        if fallback not in names:
            raise ConfigError(f"fallback={fallback!r} is not a member; members: {names}")
        return fallback

    def _columns(self, data: pd.DataFrame | np.ndarray) -> list[Any]:
        if isinstance(data, pd.DataFrame):
            names = [str(c) for c in data.columns]
            wanted = [names[0]] if self.features is None else [str(c) for c in self.features]
            missing = sorted(set(wanted) - set(names))
            if missing:
                raise ConfigError(f"regime features {missing} are not columns of X")
            return wanted
        wanted_idx = [0] if self.features is None else list(self.features)
        if not all(isinstance(c, int | np.integer) and 0 <= c < data.shape[1] for c in wanted_idx):
            raise ConfigError(
                f"regime features {wanted_idx} must be column positions for an array X "
                f"(0..{data.shape[1] - 1}); fit on a DataFrame to name them"
            )
        return [int(c) for c in wanted_idx]

    def _fit(
        self,
        pairs: list[tuple[str, Any]],
        data: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        task: str,
    ) -> Any:
        names = [name for name, _ in pairs]
        fallback = self._check(names)
        columns = self._columns(data)
        values = (
            data[columns].to_numpy(dtype=float)
            if isinstance(data, pd.DataFrame)
            else np.asarray(data[:, columns], dtype=float)
        )
        rule = fit_regime_rule(
            self.method,
            values,
            columns=columns,
            n_regimes=int(self.n_regimes),
            min_dwell=int(self.min_dwell),
            soft=bool(self.soft),
            random_state=self.random_state,
        )
        regime = dwell(np.argmax(regime_probabilities(rule, values), axis=1), self.min_dwell)
        classes = np.unique(y) if task == "classifier" else None
        members: dict[str, Any] = {}
        assignment: list[list[str]] = []
        fallbacks: dict[int, str] = {}
        counts = np.bincount(regime, minlength=rule["n_regimes"])
        for r in range(rule["n_regimes"]):
            rows = np.flatnonzero(regime == r)
            reason = None
            if rows.size < self.min_rows:
                reason = f"{rows.size} training rows < min_rows={self.min_rows}"
            elif classes is not None and np.unique(y[rows]).size < classes.size:
                reason = f"its {rows.size} training rows lack a class"
            if reason is not None:
                fallbacks[r] = reason
                assignment.append([f"{_FALLBACK}-{fallback}"])
                continue
            part = data.iloc[rows] if isinstance(data, pd.DataFrame) else data[rows]
            weight = None if sample_weight is None else sample_weight[rows]
            chosen = []
            for name, member in pairs:
                fitted = clone(member)
                fitted.fit(part, y[rows], **fit_params(fitted, weight))
                members[f"r{r}-{name}"] = fitted
                chosen.append(f"r{r}-{name}")
            assignment.append(chosen)
        if fallbacks:
            member = clone(dict(pairs)[fallback])
            member.fit(data, y, **fit_params(member, sample_weight))
            members[f"{_FALLBACK}-{fallback}"] = member
        self.members_ = None
        self.regime_rule_ = rule
        self.regime_counts_ = counts.astype(int).tolist()
        self.fallbacks_ = fallbacks
        spec = {
            "task": task,
            "features": {name: None for name in members},
            "n_features_in": int(data.shape[1]),
            "feature_names_in": (
                [str(c) for c in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "regime": rule,
            "assignment": assignment,
            "fallbacks": sorted(fallbacks),
        }
        if classes is not None:
            spec["classes"] = classes.tolist()
        return RegimeComposite.from_composite(spec, members)

    def regimes(self, X: Any) -> np.ndarray:
        """The regime of each row of ``X`` (rows in time order), as the composite gives it."""
        return np.asarray(self.composite_.regimes(X))
