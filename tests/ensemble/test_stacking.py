"""Stacking without leakage: nested purged out-of-fold outputs, meta models, sklearn refusing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mltrainer.cv import (
    CombinatorialPurgedKFold,
    PurgedKFold,
    PurgedWalkForward,
    cross_validate,
)
from mltrainer.ensemble import StackingEnsemble, fit_weights, out_of_fold_outputs
from mltrainer.exceptions import ConfigError, MltrainerError
from mltrainer.models import StackingComposite, meta_inputs
from tests.ensemble._spies import Recorder, SpyClassifier, SpyRegressor
from tests.ensemble.conftest import HORIZON, Series


def _overlaps(t0: pd.DatetimeIndex, t1: pd.Series, rows: pd.Index, others: pd.Index) -> bool:
    """Whether any label span [t0, t1] of ``rows`` overlaps one of ``others``."""
    a0, a1 = rows.to_numpy(), t1.loc[rows].to_numpy()
    b0, b1 = others.to_numpy(), t1.loc[others].to_numpy()
    order = np.argsort(b0)
    b0, b1 = b0[order], np.maximum.accumulate(b1[order])
    k = np.searchsorted(b0, a1, side="right") - 1  # last other span starting before a1 ends
    return bool(((k >= 0) & (b1[np.maximum(k, 0)] >= a0)).any())


def test_no_outer_test_row_ever_reaches_the_meta_model(series: Series) -> None:
    """Spies log every fit and predict; the outer folds are marked by the fold loop."""
    X, y, t1 = series.X, series.y, series.t1
    log = Recorder()
    stack = StackingEnsemble(
        [("s1", SpyClassifier(log, "member")), ("s2", SpyClassifier(log, "member", C=0.1))],
        meta=SpyClassifier(log, "meta"),
        cv=PurgedKFold(3, t1=t1, embargo=HORIZON),
    )
    outer = PurgedKFold(4, t1=t1, embargo=HORIZON)
    log.mark("fold")
    cross_validate(
        stack, X, y, cv=outer, t1=t1, scoring=["roc_auc"], on_fold=lambda f, n: log.mark("fold")
    )
    segments: list[list[tuple[str, str, int, Any]]] = []
    for event in log.events:
        if event[0] == "mark":
            segments.append([])
        else:
            segments[-1].append(event)
    segments = segments[:-1]  # after the last fold: nothing
    splits = list(outer.split(X))
    assert len(segments) == len(splits) == 4
    for (train, test), events in zip(splits, segments, strict=True):
        test_rows, train_rows = X.index[test], X.index[train]
        fitted = [rows for kind, _, _, rows in events if kind == "fit"]
        meta_fits = [rows for kind, role, _, rows in events if kind == "fit" and role == "meta"]
        assert len(meta_fits) == 1
        meta_rows = meta_fits[0]
        # the meta model trains on outer training rows only, and on no outer test row
        assert not meta_rows.isin(test_rows).any()
        assert meta_rows.isin(train_rows).all()
        assert len(meta_rows) > 0.5 * len(train_rows)
        # no fit of any model in this outer fold sees an outer test row
        assert all(not rows.isin(test_rows).any() for rows in fitted)
        # each meta row's member output came from a member fitted on rows whose labels do
        # not overlap its own label span (purged inner folds)
        fits = {who: rows for kind, role, who, rows in events if kind == "fit"}
        inner_predicts = [
            (who, rows)
            for kind, role, who, rows in events
            if kind == "predict" and role == "member" and rows.isin(meta_rows).any()
        ]
        assert len({who for who, _ in inner_predicts}) == 2 * 3  # 2 members x 3 inner folds
        for who, rows in inner_predicts:
            assert not _overlaps(X.index, t1, rows, fits[who])
        # the outer test fold is predicted by the final members only
        test_predicts = [
            who
            for kind, role, who, rows in events
            if kind == "predict" and rows.isin(test_rows).any()
        ]
        refits = [
            who for kind, role, who, rows in events if kind == "fit" and len(rows) == len(train)
        ]
        assert set(test_predicts) <= set(refits) | {
            who for kind, role, who, rows in events if role == "meta"
        }


def test_scikit_learn_stacking_refuses_time_series_cv_ours_runs(series: Series) -> None:
    X, y = series.X, series.y
    members = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ]
    with pytest.raises(ValueError, match="cross_val_predict only works for partitions"):
        StackingClassifier(members, cv=TimeSeriesSplit(3)).fit(X, y)
    ours = StackingEnsemble(members, cv=TimeSeriesSplit(3, gap=HORIZON)).fit(X, y)
    # the first block is never tested: the meta model learns from the later rows only
    first_test = next(TimeSeriesSplit(3, gap=HORIZON).split(X))[1][0]
    assert ours.n_meta_rows_ == len(X) - first_test
    assert ours.meta_index_[0] == X.index[first_test]
    assert ours.predict_proba(X).shape == (len(X), 2)
    # and purged walk-forward inner folds, realigned to a training subset
    part = X.iloc[100:400]
    walk = StackingEnsemble(members, cv=PurgedWalkForward(3, t1=series.t1, embargo=HORIZON))
    walk.fit(part, y.iloc[100:400])
    assert walk.n_meta_rows_ == 3 * (300 // 4)


def test_weights_meta_minimises_log_loss_on_the_simplex(series: Series) -> None:
    X, y, t1 = series.X, series.y, series.t1
    members = [
        ("a", make_pipeline(StandardScaler(), LogisticRegression())),
        ("b", DecisionTreeClassifier(max_depth=2, random_state=0)),
        ("c", LogisticRegression(C=1e-4)),
    ]
    cv = PurgedKFold(3, t1=t1, embargo=HORIZON)
    stack = StackingEnsemble(members, cv=cv).fit(X, y)
    weights = np.array([stack.meta_weights_[n] for n in ("a", "b", "c")])
    assert weights.min() >= 0
    assert weights.sum() == pytest.approx(1.0)
    outputs = out_of_fold_outputs(members, X, y.to_numpy(), cv=cv, task="classifier")
    true = np.column_stack([out[np.arange(len(y)), y.to_numpy()] for out in outputs.values()])

    def loss(w: np.ndarray) -> float:
        return float(-np.mean(np.log(np.maximum(true @ w, 1e-15))))

    grid = (
        np.array([(i, j, 20 - i - j) for i in range(21) for j in range(21 - i)], dtype=float) / 20
    )
    assert loss(weights) <= min(loss(w) for w in grid) + 1e-9
    # the composite mixes the refitted members' probabilities by exactly these weights
    mixed = sum(w * stack.members_[n].predict_proba(X) for w, n in zip(weights, "abc", strict=True))
    np.testing.assert_allclose(stack.predict_proba(X), mixed, rtol=0, atol=1e-12)
    # regression: squared error, a convex problem with a known answer
    target = np.linspace(-1, 1, 50)
    assert fit_weights([target, -target], target, task="regressor").tolist() == [1.0, 0.0]


def test_logistic_meta_equals_scikit_learn_on_member_logits(series: Series) -> None:
    X, y, t1 = series.X, series.y, series.t1
    members = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ]
    cv = PurgedKFold(3, t1=t1, embargo=HORIZON)
    stack = StackingEnsemble(
        members, meta="logistic", meta_params={"C": 0.5}, cv=cv, passthrough=["b"]
    )
    stack.fit(X, y)
    outputs = out_of_fold_outputs(members, X, y.to_numpy(), cv=cv, task="classifier")
    inputs = meta_inputs(
        outputs, meta="logistic", task="classifier", passthrough=X[["b"]].to_numpy()
    )
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000)).fit(
        inputs, y
    )
    new = {name: member.predict_proba(X) for name, member in stack.members_.items()}
    new_inputs = meta_inputs(
        new, meta="logistic", task="classifier", passthrough=X[["b"]].to_numpy()
    )
    np.testing.assert_allclose(
        stack.predict_proba(X), reference.predict_proba(new_inputs), rtol=0, atol=1e-12
    )
    assert list(stack.meta_weights_) == ["lr:logit", "tree:logit", "x:b"]
    composite = stack.composite_
    assert isinstance(composite, StackingComposite)
    linear = composite.linear_combination()
    logit = linear["intercept"] + new_inputs @ np.asarray(linear["coef"])
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), stack.predict_proba(X)[:, 1], atol=1e-12)


def test_ridge_meta_with_passthrough_for_regressors(series: Series) -> None:
    X, reg, t1 = series.X, series.reg, series.t1
    members = [("ridge", Ridge()), ("spy", SpyRegressor())]
    stack = StackingEnsemble(
        members, meta="ridge", cv=PurgedKFold(3, t1=t1, embargo=HORIZON), passthrough=True
    ).fit(X, reg)
    linear = stack.composite_.linear_combination()
    assert linear["space"] == "value"
    assert linear["inputs"] == ["ridge", "spy", "x:a", "x:b", "x:ret", "x:vol"]
    outputs = {n: m.predict(X) for n, m in stack.members_.items()}
    inputs = meta_inputs(outputs, meta="ridge", task="regressor", passthrough=X.to_numpy())
    np.testing.assert_allclose(
        stack.predict(X), linear["intercept"] + inputs @ np.asarray(linear["coef"]), atol=1e-10
    )


def test_combinatorial_inner_folds_average_the_paths(series: Series) -> None:
    X, y, t1 = series.X, series.y, series.t1
    cv = CombinatorialPurgedKFold(4, 2, t1=t1, embargo=HORIZON)
    stack = StackingEnsemble(
        [("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.01))], cv=cv
    )
    stack.fit(X, y)
    assert stack.n_meta_rows_ == len(X)  # every row is tested on 3 paths, averaged
    outputs = out_of_fold_outputs(
        [("lr", LogisticRegression())], X, y.to_numpy(), cv=cv, task="classifier"
    )
    result = cross_validate(LogisticRegression(), X, y, cv=cv, scoring={})
    paths = np.stack([result.probabilities[f"path_{p}"].to_numpy() for p in range(3)], axis=1)
    np.testing.assert_allclose(outputs["lr"], paths.mean(axis=1), atol=1e-12)


def test_stacking_settings_are_refused_with_one_line(series: Series) -> None:
    X, y, reg = series.X, series.y, series.reg
    lr, ridge = [("lr", LogisticRegression())], [("ridge", Ridge())]
    cases = [
        (StackingEnsemble(lr, meta="ridge"), y, "meta='ridge' is for regressors"),
        (StackingEnsemble(ridge, meta="logistic"), reg, "meta='logistic' is for classifiers"),
        (StackingEnsemble(lr, passthrough=True), y, "passthrough needs a logistic"),
        (StackingEnsemble(lr, meta="nope"), y, "is not one of"),
        (StackingEnsemble([("meta", LogisticRegression())]), y, "is not allowed here"),
        (StackingEnsemble([("a__b", LogisticRegression())]), y, "is not allowed here"),
        (StackingEnsemble(lr + ridge), y, "mixed tasks"),
        (StackingEnsemble([]), y, "empty"),
        (StackingEnsemble(lr + lr), y, "repeats member name"),
    ]
    for estimator, target, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            estimator.fit(X, target)
        assert "\n" not in str(info.value)
    # inner folds that leave the meta model one class only
    late = pd.Series(np.r_[np.arange(20) % 2, np.ones(20, dtype=int)], index=X.index[:40])
    walk = StackingEnsemble(lr, cv=PurgedWalkForward(1, test_size=20))
    with pytest.raises(ConfigError, match="predicted out of fold by every member"):
        walk.fit(X.iloc[:40], late)
    # inner folds the training rows cannot hold: the splitter's own one-line error
    with pytest.raises(MltrainerError, match="no training row left"):
        StackingEnsemble(lr, cv=PurgedWalkForward(9, t1=series.t1)).fit(X.iloc[:12], y.iloc[:12])


def test_members_are_tunable_by_prefixed_params() -> None:
    stack = StackingEnsemble([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier())])
    stack.set_params(lr__C=0.25, tree__max_depth=2, meta="logistic")
    params = stack.get_params()
    assert (params["lr__C"], params["tree__max_depth"], params["meta"]) == (0.25, 2, "logistic")
