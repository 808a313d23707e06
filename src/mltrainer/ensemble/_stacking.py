"""Stacking without leakage: the meta model learns only from out-of-fold member outputs.

``StackingEnsemble.fit(X, y)`` on a training fold:

1. splits X with the inner splitter (a purged splitter realigns its label end times to X's
   rows, so the inner folds are purged and embargoed inside the training fold);
2. runs every member through the one fold loop (:func:`mltrainer.cv.cross_validate`): each
   row's member output comes from a member fitted on other rows only;
3. fits the meta model on the rows that every member predicted out of fold;
4. refits every member on all of X.

Cross-validated with an outer splitter, the outer test fold is never part of X, so it
reaches nothing but the final predictions: the outer score is honest. scikit-learn's
``StackingClassifier(cv=TimeSeriesSplit())`` cannot do this: ``cross_val_predict`` needs
a partition, and a time-series split leaves the first rows untested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mltrainer.cv import PurgedKFold, cross_validate, fit_params
from mltrainer.ensemble._base import BaseEnsemble
from mltrainer.ensemble._meta import fit_linear_meta, fit_weights
from mltrainer.exceptions import ConfigError
from mltrainer.models import META_MEMBER, StackingComposite, meta_input_names, meta_inputs

__all__ = ["META_KINDS", "StackingEnsemble", "out_of_fold_outputs"]

#: ``meta`` values besides an estimator.
META_KINDS = ("weights", "logistic", "ridge")


def _mean_over_paths(values: np.ndarray) -> np.ndarray:
    """(n, paths, width) -> (n, width): the mean over the paths that tested each row."""
    tested = np.isfinite(values).all(axis=2)
    count = tested.sum(axis=1)
    total = np.where(tested[:, :, None], values, 0.0).sum(axis=1)
    out = np.full(total.shape, np.nan)
    ok = count > 0
    out[ok] = total[ok] / count[ok, None]
    return out


def _probabilities(frame: pd.DataFrame) -> np.ndarray:
    """Out-of-fold probabilities (n, K); a combinatorial splitter's paths averaged."""
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame.to_numpy(dtype=float)
    classes = frame.columns.get_level_values(1).unique()
    blocks = np.stack([frame.xs(c, axis=1, level=1).to_numpy(float) for c in classes], axis=-1)
    return _mean_over_paths(blocks)


def _predictions(frame: pd.DataFrame) -> np.ndarray:
    """Out-of-fold predictions (n,); several paths averaged."""
    return _mean_over_paths(frame.to_numpy(dtype=float)[:, :, None])[:, 0]


def out_of_fold_outputs(
    pairs: Sequence[tuple[str, Any]],
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    *,
    cv: Any,
    task: str,
    sample_weight: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each member's out-of-fold probabilities (classifiers) or predictions, by the fold loop.

    Rows no inner split tested (the first block of a walk-forward split) hold NaN; a
    combinatorial splitter's paths are averaged.
    """
    outputs: dict[str, np.ndarray] = {}
    for name, member in pairs:
        result = cross_validate(member, X, y, cv=cv, scoring={}, sample_weight=sample_weight)
        if task == "classifier":
            if result.probabilities is None:
                raise ConfigError(
                    f"member {name!r} has no predict_proba: stack classifiers that do"
                )
            outputs[name] = _probabilities(result.probabilities)
        else:
            outputs[name] = _predictions(result.predictions)
    return outputs


class StackingEnsemble(BaseEnsemble):
    """Members combined by a meta model fitted on their inner out-of-fold outputs.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members by name; all classifiers or all regressors.
    meta : {"weights", "logistic", "ridge"} or estimator, default "weights"
        ``weights``: non-negative weights summing to 1 on the members' probabilities
        (classifiers) or predictions (regressors); ``logistic`` (classifiers) on member
        logits; ``ridge`` (regressors) on member predictions; an estimator: fitted on the
        same inputs as ``logistic``/``ridge`` (saved as the member ``meta``).
    meta_params : dict, optional
        Parameters of the ``logistic`` / ``ridge`` meta model (``C``, ``alpha``, ...).
    cv : int or splitter, default 3
        The inner splitter. A purged splitter holding ``t1`` for every row (the training
        plan's) realigns to each training fold; an int is ``PurgedKFold(cv)`` with no label
        spans (t1 = t0), so pass a splitter for overlapping labels.
    passthrough : bool or list of str, default False
        Also give the meta model the raw features (True: all; a list: those columns).
        Not with ``meta="weights"``.
    random_state : int, optional
        Seed of the logistic meta model.

    Attributes
    ----------
    composite_ : StackingComposite
    members_ : dict of str to estimator
        The members refitted on every training row.
    meta_weights_ : dict
        The meta model's fitted numbers by input (weights, or coefficients in standardised
        units) for reports.
    n_meta_rows_ : int
        Rows the meta model was fitted on (predicted out of fold by every member).
    meta_index_ : Index or ndarray
        Those rows (X's index labels, or positions for arrays).
    """

    _reserved = (META_MEMBER,)

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]],
        *,
        meta: Any = "weights",
        meta_params: Mapping[str, Any] | None = None,
        cv: Any = 3,
        passthrough: bool | Sequence[str] = False,
        random_state: int | None = None,
    ) -> None:
        self.estimators = estimators
        self.meta = meta
        self.meta_params = meta_params
        self.cv = cv
        self.passthrough = passthrough
        self.random_state = random_state

    def _meta_kind(self, task: str) -> str:
        meta = self.meta
        if isinstance(meta, str):
            if meta not in META_KINDS:
                raise ConfigError(f"meta={meta!r} is not one of {META_KINDS} or an estimator")
            if meta == "logistic" and task != "classifier":
                raise ConfigError("meta='logistic' is for classifiers; use 'ridge' or 'weights'")
            if meta == "ridge" and task != "regressor":
                raise ConfigError("meta='ridge' is for regressors; use 'logistic' or 'weights'")
            if self.meta_params and meta == "weights":
                raise ConfigError("meta='weights' takes no meta_params")
            return meta
        if not hasattr(meta, "fit"):
            raise ConfigError(f"meta must be one of {META_KINDS} or an estimator, got {meta!r}")
        return "member"

    def _passthrough(self, data: pd.DataFrame | np.ndarray, kind: str) -> list[str]:
        wanted = self.passthrough
        if wanted is False or wanted is None or (not isinstance(wanted, bool) and not wanted):
            return []
        if kind == "weights":
            raise ConfigError("passthrough needs a logistic, ridge or estimator meta, not weights")
        if not isinstance(data, pd.DataFrame) or not all(isinstance(c, str) for c in data.columns):
            raise ConfigError("passthrough selects columns by name: fit on a DataFrame")
        columns = [str(c) for c in data.columns]
        chosen = columns if wanted is True else [str(c) for c in wanted]
        missing = sorted(set(chosen) - set(columns))
        if missing:
            raise ConfigError(f"passthrough names columns {missing} that X does not have")
        return chosen

    def _inner_cv(self) -> Any:
        cv = self.cv
        if isinstance(cv, bool) or cv is None:
            raise ConfigError(f"cv={cv!r} is not an inner splitter: pass a splitter or an int")
        return PurgedKFold(int(cv)) if isinstance(cv, int | np.integer) else cv

    def _fit(
        self,
        pairs: list[tuple[str, Any]],
        data: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        task: str,
    ) -> Any:
        kind = self._meta_kind(task)
        passthrough = self._passthrough(data, kind)
        outputs = out_of_fold_outputs(
            pairs, data, y, cv=self._inner_cv(), task=task, sample_weight=sample_weight
        )
        classes = np.unique(y) if task == "classifier" else None
        tested = np.ones(len(y), dtype=bool)
        for out in outputs.values():
            tested &= np.isfinite(out).all(axis=1) if out.ndim == 2 else np.isfinite(out)
        rows = np.flatnonzero(tested)
        if rows.size < 2 or (classes is not None and np.unique(y[rows]).size < 2):
            raise ConfigError(
                f"only {rows.size} rows were predicted out of fold by every member (of "
                f"{len(y)}): the inner splits leave too little for the meta model; use more "
                "rows or fewer inner splits (model.meta.n_splits)"
            )
        names = [name for name, _ in pairs]
        at_rows = {name: out[rows] for name, out in outputs.items()}
        weight = None if sample_weight is None else sample_weight[rows]
        n_classes = 0 if classes is None else classes.size
        input_names = meta_input_names(
            names, meta=kind, task=task, n_classes=n_classes, passthrough=passthrough
        )
        meta_spec: dict[str, Any] = {"type": kind, "inputs": input_names}
        fitted_meta = None
        if kind == "weights":
            weights = fit_weights(
                list(at_rows.values()), y[rows], task=task, classes=classes, sample_weight=weight
            )
            meta_spec["weights"] = weights.tolist()
            self.meta_weights_ = dict(zip(names, weights.tolist(), strict=True))
        else:
            raw = None
            if passthrough:
                assert isinstance(data, pd.DataFrame)
                raw = data[passthrough].to_numpy(dtype=float)[rows]
            inputs = meta_inputs(at_rows, meta=kind, task=task, passthrough=raw)
            if kind == "member":
                frame = pd.DataFrame(inputs, columns=input_names, index=_labels(data, rows))
                fitted_meta = clone(self.meta).fit(frame, y[rows], **fit_params(self.meta, weight))
            else:
                numbers = fit_linear_meta(
                    kind,
                    inputs,
                    y[rows],
                    params=self.meta_params,
                    sample_weight=weight,
                    random_state=self.random_state,
                )
                meta_spec.update({k: v.tolist() for k, v in numbers.items()})
                coef = numbers["coef"]
                self.meta_weights_ = {
                    name: coef[:, j].tolist() if coef.shape[0] > 1 else float(coef[0, j])
                    for j, name in enumerate(input_names)
                }
        if kind == "member":
            self.meta_weights_ = {}
        self.n_meta_rows_ = int(rows.size)
        self.meta_index_ = _labels(data, rows)
        members = {name: _refit(member, data, y, sample_weight) for name, member in pairs}
        self.members_ = dict(members)
        if fitted_meta is not None:
            members[META_MEMBER] = fitted_meta
        spec = {
            "task": task,
            "features": {name: None for name in members},
            "n_features_in": int(data.shape[1]),
            "feature_names_in": (
                [str(c) for c in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "meta": meta_spec,
            "passthrough": passthrough,
        }
        if classes is not None:
            spec["classes"] = classes.tolist()
        return StackingComposite.from_composite(spec, members)


def _labels(data: pd.DataFrame | np.ndarray, rows: np.ndarray) -> Any:
    return data.index[rows] if isinstance(data, pd.DataFrame) else rows


def _refit(
    member: Any, data: pd.DataFrame | np.ndarray, y: np.ndarray, weight: np.ndarray | None
) -> Any:
    fitted = clone(member)
    fitted.fit(data, y, **fit_params(fitted, weight))
    return fitted
