"""Ensembles honest in time: averaging, voting, leak-free stacking, causal regime switching.

Every ensemble is a scikit-learn estimator over named catalogue members; fitted, it holds a
predict-only composite of :mod:`mltrainer.models` (:func:`as_composite`) that the registry
saves as one version, every member in its native format:

- :class:`VotingEnsemble`: the weighted mean of probabilities / predictions (soft) or the
  weighted vote of labels (hard);
- :class:`StackingEnsemble`: a meta model (non-negative weights summing to 1, logistic,
  ridge) fitted on the members' out-of-fold outputs from an inner purged split of each
  training fold, the members then refitted on the whole fold;
- :class:`RegimeEnsemble`: members per market regime, the regime at t computed from rows up
  to t only (volatility quantiles, a Gaussian mixture on row t, Markov-switching filtered
  probabilities), with ``min_dwell`` hysteresis, a recorded fallback and soft mixing.

The training plan builds them from ``model: {type: ensemble, ...}`` (:func:`make_ensemble`)
and reports them beside their members on the same folds (:func:`compare_on_folds`). See
``docs/ensembles.md``.
"""

from mltrainer.ensemble._base import BaseEnsemble, as_composite
from mltrainer.ensemble._build import (
    inner_splitter,
    is_ensemble,
    make_ensemble,
    member_defaults,
    route_params,
)
from mltrainer.ensemble._check import check_ensemble_config, check_ensemble_data
from mltrainer.ensemble._detect import fit_regime_rule
from mltrainer.ensemble._meta import fit_linear_meta, fit_weights
from mltrainer.ensemble._regime import RegimeEnsemble
from mltrainer.ensemble._report import EnsembleReport, compare_on_folds, describe
from mltrainer.ensemble._stacking import StackingEnsemble, out_of_fold_outputs
from mltrainer.ensemble._voting import VotingEnsemble

__all__ = [
    "BaseEnsemble",
    "EnsembleReport",
    "RegimeEnsemble",
    "StackingEnsemble",
    "VotingEnsemble",
    "as_composite",
    "check_ensemble_config",
    "check_ensemble_data",
    "compare_on_folds",
    "describe",
    "fit_linear_meta",
    "fit_regime_rule",
    "fit_weights",
    "inner_splitter",
    "is_ensemble",
    "make_ensemble",
    "member_defaults",
    "out_of_fold_outputs",
    "route_params",
]
