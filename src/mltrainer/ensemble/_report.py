"""The honest report: the ensemble beside each member and the equal-weight average.

Scores come from the *same* outer folds: the ensemble's own cross-validation keeps each
fold's fitted ensemble, whose members were fitted on that fold's training rows; each member
and their equal-weight average are scored on the fold's test rows. A regime ensemble fits
members per regime, so its members are cross-validated once more, as an equal-weight
average on the same splits (the fold loop, same splitter, weights and resampler). When the
ensemble does not beat its best member, :attr:`EnsembleReport.verdict` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from mltrainer.cv import CVResult, Resampler, build_scorers, cross_validate, resolve_cv
from mltrainer.ensemble._base import BaseEnsemble
from mltrainer.ensemble._regime import RegimeEnsemble
from mltrainer.ensemble._stacking import StackingEnsemble
from mltrainer.ensemble._voting import VotingEnsemble
from mltrainer.exceptions import ConfigError
from mltrainer.models import (
    AveragingComposite,
    RegimeComposite,
    StackingComposite,
    VotingComposite,
)

__all__ = ["ENSEMBLE", "EQUAL_AVERAGE", "EnsembleReport", "compare_on_folds", "describe"]

#: Column names of the ensemble and of the equal-weight average in the report.
ENSEMBLE, EQUAL_AVERAGE = "ensemble", "average"


@dataclass(frozen=True)
class EnsembleReport:
    """Fold scores of the ensemble, each member and the equal-weight average.

    Attributes
    ----------
    headline : str
        The scorer the verdict compares (the run's first).
    scores : dict of str to DataFrame
        Per scorer: one row per outer split, columns ``ensemble``, ``average`` and each
        member (greater is better, scikit-learn's convention).
    meta_weights : list of dict
        Per split: the stack's meta weights / coefficients, or the voting weights.
    regime_occupancy : list of dict
        Per split: training and test rows per regime and the regimes that fell back.
    best_member : str
        The member with the best mean headline score.
    beats_best : bool
        Whether the ensemble's mean headline score is above the best member's.
    verdict : str
        One line saying whether the ensemble beat its best member out of sample.
    """

    headline: str
    scores: dict[str, pd.DataFrame]
    meta_weights: list[dict[str, Any]]
    regime_occupancy: list[dict[str, Any]]
    best_member: str
    beats_best: bool
    verdict: str

    @property
    def folds(self) -> pd.DataFrame:
        """The headline scorer's table (one row per split)."""
        return self.scores[self.headline]

    def means(self, scorer: str | None = None) -> dict[str, float]:
        """Mean score over the splits per column (``scorer`` default: the headline)."""
        table = self.scores[scorer or self.headline]
        return {str(c): float(table[c].mean()) for c in table.columns if c != "split"}

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able: fold scores and means per scorer, weights, occupancy, verdict."""
        return {
            "headline": self.headline,
            "folds": {
                name: {str(c): [float(v) for v in table[c]] for c in table.columns if c != "split"}
                for name, table in self.scores.items()
            },
            "mean": {name: self.means(name) for name in self.scores},
            "meta_weights": self.meta_weights,
            "regime_occupancy": self.regime_occupancy,
            "best_member": self.best_member,
            "beats_best_member": self.beats_best,
            "verdict": self.verdict,
        }


def _split_pipeline(model: Any) -> tuple[Any, Any]:
    if isinstance(model, Pipeline):
        return model[:-1], model.steps[-1][1]
    return None, model


def _equal_average(template: Any, ensemble: BaseEnsemble) -> Any:
    average = VotingEnsemble([(name, clone(est)) for name, est in ensemble.estimators])
    if isinstance(template, Pipeline):
        model = clone(template)
        model.steps[-1] = (model.steps[-1][0], average)
        return model
    return average


def _frozen_average(members: dict[str, Any], X: Any, y: Any) -> AveragingComposite:
    frozen = [(name, FrozenEstimator(member)) for name, member in members.items()]
    return AveragingComposite(frozen).fit(X, y)


def _weights(ensemble: Any) -> dict[str, Any]:
    if isinstance(ensemble, StackingEnsemble):
        meta = ensemble.meta if isinstance(ensemble.meta, str) else type(ensemble.meta).__name__
        return {"meta": meta, "n_meta_rows": ensemble.n_meta_rows_, **ensemble.meta_weights_}
    if isinstance(ensemble, VotingEnsemble):
        return dict(zip(ensemble.members_, ensemble.weights_.tolist(), strict=True))
    return {}


def _occupancy(ensemble: Any, X_test: Any) -> dict[str, Any]:
    if not isinstance(ensemble, RegimeEnsemble):
        return {}
    n = int(ensemble.n_regimes)
    test = np.bincount(ensemble.regimes(X_test), minlength=n)
    return {
        "train": list(ensemble.regime_counts_),
        "test": test.astype(int).tolist(),
        "fallbacks": {str(r): why for r, why in ensemble.fallbacks_.items()},
    }


def compare_on_folds(
    cv_result: CVResult,
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    *,
    cv: Any,
    scoring: Sequence[str],
    t1: pd.Series | None = None,
    sample_weight: np.ndarray | None = None,
    resampler: Resampler | None = None,
) -> EnsembleReport:
    """Score each member and the equal-weight average on the ensemble's outer folds.

    Parameters
    ----------
    cv_result : CVResult
        The ensemble's cross-validation, run with ``return_estimators=True``.
    X, y : DataFrame, Series or ndarray
        The rows it was run on.
    cv : splitter
        The splitter it was run with (split again: the same test rows in the same order).
    scoring : sequence of str
        Its scorers; the first is the headline.
    t1, sample_weight, resampler
        As given to the ensemble's cross-validation.

    Raises
    ------
    ConfigError
        When the result holds no fitted ensembles.
    """
    models = cv_result.estimators
    if not models or not isinstance(_split_pipeline(models[0])[1], BaseEnsemble):
        raise ConfigError(
            "compare_on_folds needs the ensemble's cross-validation with return_estimators=True"
        )
    splits = [np.asarray(test) for _, test in resolve_cv(cv, X, t1).split(X)]
    if len(splits) != len(models):
        raise ConfigError("compare_on_folds: the splitter gives other splits than cv_result")
    target = np.asarray(y)
    averages: list[Any] | None = None
    if _split_pipeline(models[0])[1].members_ is None:  # members fitted per regime
        average_cv = cross_validate(
            _equal_average(models[0], _split_pipeline(models[0])[1]),
            X,
            y,
            cv=cv,
            t1=t1,
            scoring=list(scoring),
            sample_weight=sample_weight,
            resampler=resampler,
            return_estimators=True,
        )
        averages = average_cv.estimators
    names = list(scoring)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    weights, occupancy = [], []
    for k, (model, test) in enumerate(zip(models, splits, strict=True)):
        pre, ensemble = _split_pipeline(model)
        X_test = X.iloc[test] if isinstance(X, pd.DataFrame) else X[test]
        y_test = target[test]
        kw = {} if sample_weight is None else {"sample_weight": sample_weight[test]}
        source = ensemble if averages is None else _split_pipeline(averages[k])[1]
        members = dict(source.members_)
        inputs = pre.transform(X_test) if pre is not None else X_test
        if averages is None:
            average: Any = _frozen_average(members, inputs, y_test)
        else:
            average = source
        scored = {**members, EQUAL_AVERAGE: average}
        for scorer_name, scorer in build_scorers(ensemble, names).items():
            row = {"split": float(k), ENSEMBLE: float(cv_result.folds[scorer_name].iloc[k])}
            for column, estimator in scored.items():
                row[column] = float(scorer(estimator, inputs, y_test, **kw))
            rows[scorer_name].append(row)
        weights.append(_weights(ensemble))
        occupancy.append(_occupancy(ensemble, inputs))
    scores = {name: pd.DataFrame(table).astype({"split": int}) for name, table in rows.items()}
    return _verdict(scores, names[0], weights, occupancy, list(members))


def _verdict(
    scores: dict[str, pd.DataFrame],
    headline: str,
    weights: list[dict[str, Any]],
    occupancy: list[dict[str, Any]],
    members: list[str],
) -> EnsembleReport:
    table = scores[headline]
    means = {c: float(table[c].mean()) for c in [ENSEMBLE, EQUAL_AVERAGE, *members]}
    best = max(members, key=lambda name: means[name])
    n = len(table)
    wins = int((table[ENSEMBLE] > table[best]).sum())
    ens, top, avg = means[ENSEMBLE], means[best], means[EQUAL_AVERAGE]
    beats = ens > top
    if beats:
        verdict = (
            f"the ensemble beats its best member {best} out of sample: mean {headline} "
            f"{ens:.4f} vs {top:.4f} ({ens - top:+.4f}, better in {wins} of {n} folds); "
            f"equal-weight average {avg:.4f}"
        )
    else:
        verdict = (
            f"the ensemble does not beat its best member {best} out of sample: mean "
            f"{headline} {ens:.4f} vs {top:.4f} on the same {n} folds (better in {wins}); "
            f"equal-weight average {avg:.4f}"
        )
    return EnsembleReport(
        headline=headline,
        scores=scores,
        meta_weights=weights,
        regime_occupancy=[o for o in occupancy if o],
        best_member=best,
        beats_best=beats,
        verdict=verdict,
    )


def describe(composite: Any) -> dict[str, Any]:
    """What ``mltrainer models show`` lists about a saved composite: members, weights,
    the meta model, the regime rule's thresholds and assignment.

    Examples
    --------
    >>> describe(object())
    {}
    """
    if isinstance(composite, AveragingComposite | VotingComposite):
        return {
            "kind": composite.composite_kind,
            "members": list(composite.named_estimators_),
            "weights": dict(
                zip(composite.named_estimators_, composite.weights_.tolist(), strict=True)
            ),
        }
    if isinstance(composite, StackingComposite):
        meta = composite.meta_
        out: dict[str, Any] = {
            "kind": "stacking",
            "members": [m for m in composite.named_estimators_],
            "meta": meta["type"],
            "passthrough": list(composite.passthrough_),
        }
        if meta["type"] == "weights":
            out["weights"] = dict(
                zip(
                    [m for m in composite.named_estimators_],
                    [float(w) for w in meta["weights"]],
                    strict=True,
                )
            )
        elif meta["type"] in ("logistic", "ridge"):
            out["coefficients"] = composite.linear_combination()
        return out
    if isinstance(composite, RegimeComposite):
        rule = composite.rule_
        shown = {
            key: rule[key]
            for key in ("method", "columns", "n_regimes", "min_dwell", "soft", "thresholds")
            if key in rule
        }
        return {
            "kind": "regime",
            "members": list(composite.named_estimators_),
            "regime": shown,
            "assignment": composite.assignment_,
            "fallbacks": composite.fallbacks_,
        }
    return {}
