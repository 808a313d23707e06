"""Averaging and voting: members fitted on the same rows, outputs combined by fixed weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.ensemble._base import BaseEnsemble
from mltrainer.exceptions import ConfigError
from mltrainer.models import AveragingComposite, VotingComposite

__all__ = ["VOTING", "VotingEnsemble"]

#: ``voting`` values: ``soft`` averages probabilities (classifiers) or predictions
#: (regressors); ``hard`` takes the weighted majority of predicted labels.
VOTING = ("soft", "hard")


class VotingEnsemble(BaseEnsemble):
    """The weighted mean of members' probabilities or predictions, or their weighted vote.

    ``voting="soft"`` is averaging: the weighted mean of the members' ``predict_proba``
    (classifiers) or ``predict`` (regressors). ``voting="hard"`` (classifiers only) predicts
    the class with the largest weighted vote of the members' labels; its ``predict_proba`` is
    the share of the vote. The fitted form is an :class:`~mltrainer.models.AveragingComposite`
    or a :class:`~mltrainer.models.VotingComposite`.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members by name; all classifiers or all regressors.
    voting : {"soft", "hard"}, default "soft"
    weights : list of float, optional
        One non-negative weight per member (normalised); default equal.

    Attributes
    ----------
    composite_ : AveragingComposite or VotingComposite
    members_ : dict of str to estimator
        The fitted members.
    weights_ : ndarray
        The normalised weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> y = (X[:, 0] > 9).astype(int)
    >>> model = VotingEnsemble(
    ...     [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=2))]
    ... ).fit(X, y)
    >>> model.predict(X[[0, 19]]).tolist(), model.weights_.tolist()
    ([0, 1], [0.5, 0.5])
    """

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]],
        *,
        voting: str = "soft",
        weights: Sequence[float] | None = None,
    ) -> None:
        self.estimators = estimators
        self.voting = voting
        self.weights = weights

    def _fit(
        self,
        pairs: list[tuple[str, Any]],
        data: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        task: str,
    ) -> Any:
        if self.voting not in VOTING:
            raise ConfigError(f"voting={self.voting!r} is not one of {VOTING}")
        if self.voting == "hard" and task != "classifier":
            raise ConfigError(
                "voting='hard' votes on class labels: use it with classifiers, and "
                "voting='soft' (the mean) with regressors"
            )
        cls = VotingComposite if self.voting == "hard" else AveragingComposite
        composite = cls(pairs, weights=self.weights).fit(data, y, sample_weight=sample_weight)
        self.members_ = dict(composite.named_estimators_)
        self.weights_ = composite.weights_
        return composite
