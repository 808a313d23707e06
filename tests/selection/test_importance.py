"""Feature selection: importance out of fold, selectors refitted inside training folds."""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import RFECV
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import estimator_checks_generator

from mltrainer.config import config_from_dict
from mltrainer.cv import CombinatorialPurgedKFold, PurgedKFold, cross_validate
from mltrainer.exceptions import ConfigError, DataError
from mltrainer.selection import (
    SelectByImportance,
    SelectByRFE,
    cluster_features,
    clustered_importance,
    jaccard_stability,
    permutation_importance,
    rfe,
    single_feature_importance,
    tree_importance,
)


def synthetic(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Daily rows: 8 informative, 8 redundant (linear mixes of them), 30 noise features."""
    rng = np.random.default_rng(seed)
    informative = rng.normal(size=(n, 8))
    mix = np.eye(8) + 0.3 * np.roll(np.eye(8), 1, axis=1)  # red_j = inf_j + 0.3 inf_{j-1}
    redundant = informative @ mix + 0.6 * rng.normal(size=(n, 8))
    noise = rng.normal(size=(n, 30))
    columns = (
        [f"inf_{i}" for i in range(8)]
        + [f"red_{i}" for i in range(8)]
        + [f"noise_{i}" for i in range(30)]
    )
    index = pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC")
    X = pd.DataFrame(np.hstack([informative, redundant, noise]), columns=columns, index=index)
    logit = informative @ np.linspace(1.0, 0.6, 8)
    y = pd.Series((logit + 0.7 * rng.logistic(size=n) > 0).astype(int), index=index)
    t1 = pd.Series(index + pd.Timedelta("3D"), index=index)
    return X, y, t1


def _xgb(**params: Any) -> xgb.XGBClassifier:
    base = {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1, "n_jobs": 2}
    return xgb.XGBClassifier(**{**base, "random_state": 0, **params})


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    return synthetic()


# -- permutation / clustered: the acceptance test ------------------------------------
@pytest.mark.slow
def test_permutation_ranks_informative_first_and_noise_last(data: Any) -> None:
    X, y, t1 = data
    result = permutation_importance(
        _xgb(), X, y, cv=PurgedKFold(4, embargo=3), t1=t1, n_repeats=5, random_state=0
    )
    ranking = result.ranking()
    assert sum(name.startswith("inf_") for name in ranking[:16]) >= 7
    assert all(name.startswith("noise_") for name in ranking[18:])  # noise fills the bottom
    assert (
        result.mean[[f"inf_{i}" for i in range(8)]].min()
        > result.mean.filter(like="noise_").median()
    )
    assert result.folds.shape == (4, 46)
    assert len(result.baseline) == 4
    assert result.scoring == "roc_auc"  # the task's headline scorer
    assert (result.baseline > 0.5).all()
    assert list(result.to_frame().columns) == ["mean", "std"]


@pytest.mark.slow
def test_clustered_puts_every_informative_cluster_above_every_noise_cluster(data: Any) -> None:
    X, y, t1 = data
    result = clustered_importance(
        _xgb(), X, y, cv=PurgedKFold(4, embargo=3), t1=t1, n_repeats=5, random_state=0
    )
    assert result.method == "clustered"
    assert result.groups is not None
    informative = [g for g, members in result.groups.items() if any("inf" in m for m in members)]
    noise = [g for g, members in result.groups.items() if all("noise" in m for m in members)]
    ranking = result.ranking()
    assert len(informative) == 8  # each inf_j clustered with its substitute red_j
    assert max(ranking.index(g) for g in informative) < min(ranking.index(g) for g in noise)
    per_feature = result.per_feature()
    assert set(per_feature.index) == set(X.columns)


def test_cluster_features_pairs_substitutes(data: Any) -> None:
    X, _, _ = data
    clusters = cluster_features(X)
    for i in range(8):
        assert any({f"inf_{i}", f"red_{i}"} <= set(m) for m in clusters.values())
    assert sum(len(m) for m in clusters.values()) == X.shape[1]
    assert len(cluster_features(X, n_clusters=5)) == 5
    with pytest.raises(ConfigError, match="n_clusters"):
        cluster_features(X, n_clusters=0)


def test_permutation_equals_sklearn_on_the_same_fold(data: Any) -> None:
    X, y, t1 = data
    X = X.iloc[:600, :12]
    y, t1 = y.iloc[:600], t1.iloc[:600]
    cv = PurgedKFold(3, t1=t1, embargo=3)
    ours = permutation_importance(
        _xgb(n_estimators=30), X, y, cv=cv, n_repeats=4, random_state=7, scoring="roc_auc"
    )
    folds = []
    for train, test in cv.split(X):
        model = _xgb(n_estimators=30).fit(X.iloc[train], y.iloc[train])
        theirs = sk_permutation_importance(
            model, X.iloc[test], y.iloc[test], n_repeats=4, random_state=7, scoring="roc_auc"
        )
        folds.append(theirs.importances_mean)
    expected = pd.Series(np.mean(folds, axis=0), index=X.columns)
    np.testing.assert_allclose(ours.mean[X.columns], expected, atol=1e-12)


def test_permutation_leaves_x_untouched_and_takes_arrays(data: Any) -> None:
    X, y, t1 = data
    X, y, t1 = X.iloc[:400, :6], y.iloc[:400], t1.iloc[:400]
    before = X.copy()
    frame_result = permutation_importance(
        LogisticRegression(), X, y, cv=3, t1=t1, n_repeats=2, random_state=0, n_jobs=2
    )
    pd.testing.assert_frame_equal(X, before)
    array_result = permutation_importance(
        LogisticRegression(), X.to_numpy(), y.to_numpy(), cv=3, n_repeats=2, random_state=0
    )
    assert list(array_result.mean.index) != []
    assert set(array_result.mean.index) == {f"x{i}" for i in range(6)}
    assert frame_result.mean.notna().all()


def test_feature_groups_are_permuted_together(data: Any) -> None:
    X, y, t1 = data
    X, y, t1 = X.iloc[:500], y.iloc[:500], t1.iloc[:500]
    groups = {"signal": ["inf_0", "red_0"], "junk": ["noise_0", "noise_1"]}
    result = permutation_importance(
        LogisticRegression(), X, y, cv=3, t1=t1, groups=groups, n_repeats=3, random_state=0
    )
    assert result.ranking() == ["signal", "junk"]
    assert result.mean["signal"] > 0.05
    with pytest.raises(ConfigError, match="'nope'"):
        permutation_importance(LogisticRegression(), X, y, cv=3, groups={"g": ["nope"]})


def test_single_feature_importance_ranks_informative_above_noise(data: Any) -> None:
    X, y, t1 = data
    columns = [f"inf_{i}" for i in range(4)] + [f"noise_{i}" for i in range(4)]
    result = single_feature_importance(
        LogisticRegression(), X[columns].iloc[:800], y.iloc[:800], cv=3, t1=t1.iloc[:800]
    )
    assert result.method == "sfi"
    assert set(result.ranking()[:4]) == set(columns[:4])


_SCREEN = ["inf_0", "inf_1", "inf_2", "inf_3", "noise_0", "noise_1", "noise_2", "noise_3"]


# -- tree importance -----------------------------------------------------------------------
def test_tree_importance_for_xgboost_with_and_without_names(data: Any) -> None:
    X, y, _ = data
    X, y = X[_SCREEN].iloc[:500], y.iloc[:500]
    named = _xgb(n_estimators=20).fit(X, y)
    unnamed = _xgb(n_estimators=20).fit(X.to_numpy(), y.to_numpy())
    names = list(X.columns)
    reference = tree_importance(named, names)
    for model in (named, unnamed, named.get_booster(), unnamed.get_booster()):
        gain = tree_importance(model, names)
        assert set(gain.index[:4]) == set(_SCREEN[:4])
        assert gain.sum() == pytest.approx(1.0)
        assert gain.is_monotonic_decreasing
        pd.testing.assert_series_equal(gain, reference)
    assert tree_importance(named).index.isin(names).all()  # names read from the model
    total = tree_importance(named, importance_type="weight")
    assert total.sum() == pytest.approx(1.0)


def test_tree_importance_for_lightgbm_and_forests(data: Any) -> None:
    X, y, _ = data
    X, y = X[_SCREEN].iloc[:500], y.iloc[:500]
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0).fit(X, y)
    for kind in ("gain", "split"):
        values = tree_importance(model, importance_type=kind)
        assert values.sum() == pytest.approx(1.0)
        assert set(values.index[:4]) == set(_SCREEN[:4])
    assert tree_importance(model.booster_).sum() == pytest.approx(1.0)
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    assert set(tree_importance(forest).index[:4]) == set(_SCREEN[:4])
    with pytest.raises(ConfigError, match="'split' is not an XGBoost"):
        tree_importance(_xgb(n_estimators=5).fit(X, y), importance_type="split")


def test_gain_on_a_model_without_importances_is_refused(data: Any) -> None:
    X, y, _ = data
    model = Pipeline([("model", LogisticRegression())]).fit(X.iloc[:200], y.iloc[:200])
    with pytest.raises(ConfigError, match="method 'gain' needs a tree model"):
        tree_importance(model)
    with pytest.raises(ConfigError, match="method 'gain'"):
        SelectByImportance(LogisticRegression(), method="gain").fit(X.iloc[:200], y.iloc[:200])


# -- RFE -----------------------------------------------------------------------------------
def test_rfe_keeps_the_informative_features(data: Any) -> None:
    X, y, t1 = data
    columns = [f"inf_{i}" for i in range(4)] + [f"noise_{i}" for i in range(8)]
    X, y, t1 = X[columns].iloc[:800], y.iloc[:800], t1.iloc[:800]
    result = rfe(LogisticRegression(), X, y, cv=3, t1=t1, step=2, n_repeats=2, random_state=0)
    assert set(columns[:4]) <= set(result.selected)
    assert (result.ranking[result.selected] == 1).all()
    assert result.scores["n_features"].tolist() == [12, 10, 8, 6, 4, 2, 1]
    assert len(result.fold_selections) == 3
    assert 0.0 <= result.stability <= 1.0
    exact = rfe(LogisticRegression(), X, y, cv=3, t1=t1, n_features=4, n_repeats=2)
    assert sorted(exact.selected) == sorted(columns[:4])
    with pytest.raises(ConfigError, match="n_features=20"):
        rfe(LogisticRegression(), X, y, cv=3, n_features=20)


def test_sklearn_rfecv_accepts_purged_splitters(data: Any) -> None:
    X, y, t1 = data
    X, y, t1 = X.iloc[:400, :10], y.iloc[:400], t1.iloc[:400]
    for cv in (PurgedKFold(3, t1=t1, embargo=2), CombinatorialPurgedKFold(4, 2, t1=t1)):
        fitted = RFECV(LogisticRegression(), cv=cv, step=2).fit(X, y)
        assert fitted.support_.sum() >= 1


def test_jaccard_stability() -> None:
    assert jaccard_stability([["a", "b"], ["a", "b"]]) == 1.0
    assert jaccard_stability([["a", "b"], ["b", "c"]]) == pytest.approx(1 / 3)
    assert jaccard_stability([["a"]]) == 1.0


# -- selectors -----------------------------------------------------------------------------
def _sklearn_checks() -> list[Any]:
    """scikit-learn's estimator checks for our selectors, minus the array-API input check,
    which only skips itself unless SCIPY_ARRAY_API is set (we never pass array-API inputs)."""
    selectors = [
        SelectByImportance(DecisionTreeClassifier(random_state=0), method="gain"),
        SelectByImportance(DecisionTreeClassifier(max_depth=3, random_state=0), cv=2, n_repeats=1),
        SelectByRFE(DecisionTreeClassifier(max_depth=3, random_state=0), cv=2, n_repeats=1),
    ]
    # Out of fold, a row of weight 2 and two copies of that row are not the same data: the
    # copies shift every later row's position in time, so the folds differ.
    out_of_fold = {
        "check_sample_weight_equivalence_on_dense_data": "folds depend on row positions",
        "check_sample_weight_equivalence_on_sparse_data": "folds depend on row positions",
    }
    cases = []
    for selector in selectors:
        leave_out = out_of_fold if getattr(selector, "method", "rfe") != "gain" else {}
        for estimator, check in estimator_checks_generator(selector):
            name = getattr(check, "func", check).__name__
            if "array_api" not in name and name not in leave_out:
                cases.append(pytest.param(estimator, check, id=f"{estimator!r}-{name}"))
    return cases


@pytest.mark.parametrize(("estimator", "check"), _sklearn_checks())
def test_selectors_follow_the_sklearn_contract(estimator: Any, check: Any) -> None:
    logging.getLogger("mltrainer").setLevel(logging.ERROR)
    try:
        check(estimator)
    finally:
        logging.getLogger("mltrainer").setLevel(logging.NOTSET)


def test_selector_top_k_threshold_and_bad_settings(data: Any) -> None:
    X, y, t1 = data
    X, y, t1 = X.iloc[:600], y.iloc[:600], t1.iloc[:600]
    selector = SelectByImportance(LogisticRegression(), top_k=8, t1=t1, n_repeats=2)
    selector.set_output(transform="pandas")
    out = selector.fit_transform(X, y)
    assert out.shape == (600, 8)
    assert list(out.columns) == [c for c in X.columns if c in set(selector.selected_features_)]
    assert selector.importances_.index[0] == selector.selected_features_[0]
    picky = SelectByImportance(LogisticRegression(), threshold=0.02, t1=t1, n_repeats=2).fit(X, y)
    assert (picky.importances_.loc[picky.selected_features_, "mean"] >= 0.02).all()
    with pytest.raises(ConfigError, match=r"top_k=50 is larger than the number of features \(46\)"):
        SelectByImportance(LogisticRegression(), top_k=50).fit(X, y)
    with pytest.raises(ConfigError, match="did you mean 'permutation'"):
        SelectByImportance(method="permutaton").fit(X, y)
    with pytest.raises(ConfigError, match=r"selection\.method: unknown method 'magic'"):
        config_from_dict({"selection": {"method": "magic"}})
    with pytest.raises(DataError, match="t1 has 100 rows but X has 600"):
        SelectByImportance(LogisticRegression(), t1=t1.iloc[:100]).fit(X, y)


def test_selector_in_a_pipeline_sees_only_its_training_fold(data: Any) -> None:
    X, y, t1 = data
    X, y, t1 = X.iloc[:600], y.iloc[:600], t1.iloc[:600]
    pipe = Pipeline(
        [
            ("select", SelectByImportance(LogisticRegression(), top_k=5, t1=t1, n_repeats=1)),
            ("model", LogisticRegression()),
        ]
    )
    result = cross_validate(pipe, X, y, cv=PurgedKFold(3, t1=t1), return_estimators=True)
    assert result.estimators is not None
    for est, n_train in zip(result.estimators, result.folds["n_train"], strict=True):
        selector = est.named_steps["select"]
        assert len(selector.selected_features_) == 5
        # the inner folds' test rows add up to the outer training rows, nothing more
        assert selector.importance_.folds.shape[0] == 3
        assert selector.n_features_in_ == 46
        assert n_train < 600


def test_selection_refitted_inside_folds_does_not_leak() -> None:
    """On pure noise, selecting on all rows then cross-validating looks skilful; in folds, not."""
    rng = np.random.default_rng(0)
    n, p = 240, 300
    index = pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"n{i}" for i in range(p)], index=index)
    y = pd.Series(rng.integers(0, 2, n), index=index)
    t1 = pd.Series(index + pd.Timedelta("1D"), index=index)
    model = LogisticRegression(max_iter=1000)
    cv = PurgedKFold(5, t1=t1, embargo=1)
    selector = SelectByImportance(
        model,
        top_k=10,
        cv=PurgedKFold(3),
        t1=t1,
        scoring="neg_log_loss",
        n_repeats=1,
        random_state=0,
    ).set_output(transform="pandas")
    chosen_on_all_rows = selector.fit_transform(X, y)
    leaky = cross_validate(model, chosen_on_all_rows, y, cv=cv, scoring="accuracy")
    honest = cross_validate(
        Pipeline([("select", selector), ("model", model)]), X, y, cv=cv, scoring="accuracy"
    )
    leaky_score = leaky.folds["accuracy"].mean()
    honest_score = honest.folds["accuracy"].mean()
    assert leaky_score > 0.6  # selection bias: the test folds helped choose the features
    assert abs(honest_score - 0.5) < 0.07  # refitted inside each training fold: chance
    assert leaky_score - honest_score > 0.08


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("accuracy", "classification"),
        ("neg_log_loss", "classification"),
        ("roc_auc", "classification"),
        ("r2", "regression"),
        ("neg_mean_squared_error", "regression"),
        ("neg_mean_absolute_error", "regression"),
    ],
)
def test_vectorised_scores_equal_sklearn_scorers(data: Any, name: str, task: str) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.metrics import get_scorer

    X, y, t1 = data
    X, t1 = X.iloc[:300, :6], t1.iloc[:300]
    target: Any = y.iloc[:300]
    model: Any = _xgb(n_estimators=10)
    if task == "regression":
        target = X["inf_0"] * 2 + X["inf_1"]
        model = Ridge()
    weight = np.linspace(0.5, 1.5, 300) if name != "roc_auc" else None
    kw = {"cv": 3, "t1": t1, "n_repeats": 2, "random_state": 0, "sample_weight": weight}
    fast = permutation_importance(model, X, target, scoring=name, **kw)
    slow = permutation_importance(model, X, target, scoring=get_scorer(name), **kw)
    np.testing.assert_allclose(fast.baseline, slow.baseline, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fast.mean[X.columns], slow.mean[X.columns], rtol=1e-5, atol=1e-7)


def test_t1_of_a_panel_fold_is_aligned_conservatively() -> None:
    from mltrainer.cv import align_t1

    days = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    index = days.repeat(2)  # two symbols per timestamp, labels of different lengths
    t1 = pd.Series(index + pd.to_timedelta([1, 3] * 4, unit="D"), index=index)
    X = pd.DataFrame({"x": np.arange(8.0)}, index=index)
    whole = X.iloc[[0, 1, 4, 5]]  # whole timestamps: exact
    pd.testing.assert_series_equal(align_t1(t1, whole), t1.iloc[[0, 1, 4, 5]])
    partial = X.iloc[[1, 2, 3]]  # one row of day 0 purged: each row gets its day's latest end
    aligned = align_t1(t1, partial)
    assert aligned is not None
    assert aligned.index.equals(partial.index)
    assert (aligned.to_numpy() == (partial.index + pd.Timedelta("3D")).to_numpy()).all()
