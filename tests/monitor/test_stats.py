"""mltrainer.monitor statistics: drift tests, calibration, profile, metrics, concept drift.

Sizes are small except the issue's "done when" checks (50 features, 200,000 reference
rows, 50,000 current rows), each run once. The calibration is size-aware (the effect
threshold scales with ``sqrt(1/n + 1/m)``), so the 100-repetition false-alarm check runs
on 20,000 / 5,000 rows to stay fast.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.monitor import (
    ReferenceProfile,
    build_profile,
    feature_drift,
    label_drift,
    prediction_drift,
)
from mltrainer.monitor._profile import is_categorical
from mltrainer.monitor._statistics import ks_pvalues, ks_statistic, wasserstein_sorted

N_FEATURES = 50


def normal_frame(rows: int, seed: int, n_features: int = N_FEATURES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((rows, n_features))
    return pd.DataFrame(data, columns=[f"f{i:02d}" for i in range(n_features)])


def shift_three(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A real shift in exactly f03 (mean), f17 (scale) and f41 (shape: heavy tails)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["f03"] = out["f03"] + 0.2
    out["f17"] = out["f17"] * 1.3
    out["f41"] = rng.standard_t(3, len(out)) / np.sqrt(3.0)  # same variance, other shape
    return out


# -- the statistics against scipy ----------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "m", "discrete"),
    [(3000, 1000, False), (300, 200, True), (17, 5, False), (1, 7, False), (50, 7, True)],
)
def test_ks_and_wasserstein_equal_scipy(n: int, m: int, discrete: bool) -> None:
    rng = np.random.default_rng(n + m)
    if discrete:
        a, b = rng.integers(0, 5, n).astype(float), rng.integers(0, 6, m).astype(float)
    else:
        a, b = rng.normal(size=n), rng.normal(0.2, size=m)
    a, b = np.sort(a), np.sort(b)
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert wasserstein_sorted(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


values = st.lists(st.integers(-20, 20).map(lambda v: v / 4), min_size=2, max_size=60)


@settings(max_examples=150, deadline=None)
@given(a=values, b=values)
def test_ks_and_wasserstein_equal_scipy_with_ties(a: list[float], b: list[float]) -> None:
    ref, cur = np.sort(np.asarray(a)), np.sort(np.asarray(b))
    expected_d = stats.ks_2samp(a, b, method="asymp").statistic
    assert ks_statistic(ref, cur) == pytest.approx(expected_d, abs=1e-12)
    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_sorted(ref, cur) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_large_sample_wasserstein_and_pvalues_close_to_scipy() -> None:
    rng = np.random.default_rng(0)
    a, b = np.sort(rng.normal(size=40_000)), np.sort(rng.normal(0.02, 1.1, size=10_000))
    exact = stats.wasserstein_distance(a, b)
    assert wasserstein_sorted(a, b) == pytest.approx(exact, rel=0.02)
    result = stats.ks_2samp(a, b, method="asymp")
    p = ks_pvalues(np.array([result.statistic]), np.array([a.size]), np.array([b.size]))
    assert p[0] == pytest.approx(result.pvalue, abs=2e-3)


# -- feature drift: the acceptance checks -----------------------------------------
def test_three_shifted_of_fifty_flagged_small() -> None:
    profile = build_profile(normal_frame(20_000, 1))
    report = feature_drift(profile, shift_three(normal_frame(5_000, 2), 3))
    assert report.drifted == ["f03", "f17", "f41"]
    table = report.table
    assert list(table.columns[:8]) == [
        "test", "statistic", "p_value", "p_adjusted", "psi", "wasserstein", "effect",
        "effect_threshold",
    ]  # fmt: skip
    assert (table["test"] == "ks").all()
    assert (table["p_adjusted"] >= table["p_value"] - 1e-15).all()
    assert report.n_reference == 20_000
    assert report.n_current == 5_000


@pytest.mark.slow
def test_no_shift_flags_nothing_in_at_least_95_of_100() -> None:
    """100 seeded windows (5 references x 20 current windows, 20,000 / 5,000 rows).

    Also checks the calibration alone (``min_effect=0``: adjusted p-value and the
    size-calibrated null threshold, no practical floor) keeps false alarms near alpha.
    """
    clean = clean_without_floor = 0
    for r in range(5):
        profile = build_profile(normal_frame(20_000, 100 + r), random_state=r)
        for c in range(20):
            current = normal_frame(5_000, 1_000 + 20 * r + c)
            clean += not feature_drift(profile, current).drifted
            clean_without_floor += not feature_drift(profile, current, min_effect=0).drifted
    assert clean >= 95
    assert clean_without_floor >= 95


def test_done_when_full_size() -> None:
    """50 features, 200,000 reference rows, 50,000 current rows: one run of each case."""
    reference = normal_frame(200_000, 7)
    profile = build_profile(reference, max_rows=None)
    shifted = feature_drift(profile, shift_three(normal_frame(50_000, 8), 9))
    assert shifted.drifted == ["f03", "f17", "f41"]
    assert not feature_drift(profile, normal_frame(50_000, 10)).drifted
    tiny = normal_frame(50_000, 11) + 0.01  # 0.01 standard deviations in every feature
    report = feature_drift(profile, tiny)
    assert not report.drifted
    assert (report.table["effect"] < report.table["effect_threshold"]).all()


def test_tiny_shift_flags_nothing_and_dataframe_reference_matches_scipy() -> None:
    reference = normal_frame(20_000, 21, n_features=10)
    current = normal_frame(5_000, 22, n_features=10) + 0.01
    report = feature_drift(reference, current)
    assert not report.drifted
    expected = [stats.ks_2samp(reference[c], current[c]).statistic for c in reference]
    np.testing.assert_allclose(report.table["statistic"], expected, atol=1e-12)


def test_effect_threshold_shrinks_with_window_size() -> None:
    profile = build_profile(normal_frame(20_000, 31, n_features=3))
    small = feature_drift(profile, normal_frame(200, 32, n_features=3), min_effect=0)
    large = feature_drift(profile, normal_frame(20_000, 33, n_features=3), min_effect=0)
    assert (small.table["effect_threshold"] > 3 * large.table["effect_threshold"]).all()
    floor = feature_drift(profile, normal_frame(20_000, 33, n_features=3), min_effect=0.3)
    assert (floor.table["effect_threshold"] == 0.3).all()


def test_threads_give_the_same_report() -> None:
    profile = build_profile(normal_frame(5_000, 43, n_features=8))
    current = shift_three(normal_frame(2_000, 44, n_features=50), 45).iloc[:, :8]
    one = feature_drift(profile, current)
    pd.testing.assert_frame_equal(one.table, feature_drift(profile, current, n_jobs=2).table)
    assert "f03" in one.drifted
    with pytest.raises(ConfigError, match="n_jobs"):
        feature_drift(profile, current, n_jobs=0)


def test_corrections() -> None:
    profile = build_profile(normal_frame(5_000, 41, n_features=20))
    current = normal_frame(2_000, 42, n_features=20)
    none = feature_drift(profile, current, correction="none").table
    bonf = feature_drift(profile, current, correction="bonferroni").table
    bh = feature_drift(profile, current).table
    np.testing.assert_allclose(none["p_adjusted"], none["p_value"])
    np.testing.assert_allclose(bonf["p_adjusted"], np.minimum(none["p_value"] * 20, 1))
    assert (bh["p_adjusted"] <= bonf["p_adjusted"] + 1e-12).all()
    assert (bh["p_adjusted"] >= bh["p_value"] - 1e-12).all()


# -- categorical columns ------------------------------------------------------------------
def calendar_frame(rows: int, seed: int, weekday_p: np.ndarray | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = np.full(5, 0.2) if weekday_p is None else weekday_p
    return pd.DataFrame(
        {
            "day_of_week": rng.choice(5, size=rows, p=p),
            "regime": rng.choice(["calm", "storm"], size=rows, p=[0.8, 0.2]),
            "ret": rng.normal(size=rows),
        }
    )


def test_categorical_rule_and_override() -> None:
    frame = calendar_frame(1_000, 0)
    assert is_categorical(frame["day_of_week"])
    assert is_categorical(frame["regime"])
    assert not is_categorical(frame["ret"])
    assert not is_categorical(pd.Series(np.arange(100)))  # 100 distinct integers
    profile = build_profile(frame, categorical={"day_of_week": False})
    assert not profile.features["day_of_week"].categorical
    assert profile.features["regime"].categorical


def test_categorical_chi_square() -> None:
    profile = build_profile(calendar_frame(20_000, 1))
    same = feature_drift(profile, calendar_frame(5_000, 2))
    assert same.table.loc["day_of_week", "test"] == "chi2"
    assert same.table.loc["regime", "test"] == "chi2"
    assert same.table.loc["ret", "test"] == "ks"
    assert not same.drifted
    moved = calendar_frame(5_000, 3, weekday_p=np.array([0.3, 0.3, 0.2, 0.1, 0.1]))
    report = feature_drift(profile, moved)
    assert report.drifted == ["day_of_week"]
    row = report.table.loc["day_of_week"]
    counts = np.bincount(moved["day_of_week"], minlength=5)
    ref = profile.features["day_of_week"].counts
    expected = stats.chi2_contingency(np.vstack([ref, counts]), correction=False)
    assert row["statistic"] == pytest.approx(expected.statistic)
    assert row["p_value"] == pytest.approx(expected.pvalue)
    unseen = calendar_frame(5_000, 4)
    unseen.loc[: len(unseen) // 3, "regime"] = "crash"  # a category the reference never had
    assert "regime" in feature_drift(profile, unseen).drifted


# -- predictions, labels and the profile --------------------------------------------------
def test_prediction_and_label_drift() -> None:
    rng = np.random.default_rng(5)
    X = normal_frame(10_000, 6, n_features=3)
    proba = 1 / (1 + np.exp(-X["f00"].to_numpy()))
    labels = (rng.random(10_000) < proba).astype(int)
    profile = build_profile(X, predictions=proba, labels=labels, kind="classification")
    assert profile.labels is not None
    assert profile.labels.categorical
    same = prediction_drift(profile, proba[:3_000])
    assert same.table.index.tolist() == ["prediction"]
    assert not same.drifted
    assert prediction_drift(profile, np.clip(proba[:3_000] + 0.15, 0, 1)).drifted
    assert not label_drift(profile, labels[:3_000]).drifted
    assert label_drift(profile, np.ones(3_000, dtype=int)).drifted == ["label"]
    two_col = build_profile(X, predictions=np.column_stack([1 - proba, proba]))
    assert list(two_col.predictions) == ["proba_0", "proba_1"]


def test_profile_json_round_trip() -> None:
    frame = calendar_frame(3_000, 8)
    profile = build_profile(
        frame, predictions=frame["ret"].to_numpy() * 0.1, labels=frame["ret"].to_numpy(),
        kind="regression", metrics={"ic": 0.05, "r2": float("nan")}, max_rows=1_000,
    )  # fmt: skip
    text = json.dumps(profile.to_dict(), allow_nan=False)
    again = ReferenceProfile.from_dict(json.loads(text))
    assert again.feature_names == profile.feature_names
    assert again.kind == "regression"
    assert again.metrics["ic"] == 0.05
    assert np.isnan(again.metrics["r2"])
    assert again.features["ret"].sample.size == 1_000
    current = calendar_frame(1_000, 9)
    pd.testing.assert_frame_equal(
        feature_drift(profile, current).table, feature_drift(again, current).table
    )
    json.dumps(feature_drift(again, current).to_dict(), allow_nan=False)
    with pytest.raises(DataError, match="format"):
        ReferenceProfile.from_dict({**profile.to_dict(), "format": 99})


# -- bad input ----------------------------------------------------------------------------
def test_bad_input_errors() -> None:
    profile = build_profile(calendar_frame(500, 10))
    current = calendar_frame(100, 11)
    with pytest.raises(DataError, match=r"lack the feature\(s\) \['ret'\]"):
        feature_drift(profile, current.drop(columns="ret"))
    with pytest.raises(DataError, match="did you mean 'rets'"):
        feature_drift(profile, current.rename(columns={"ret": "rets"}))
    with pytest.raises(DataError, match=r"'ret' is str.*convert it to numbers"):
        feature_drift(profile, current.assign(ret=current["ret"].astype(str)))
    with pytest.raises(DataError, match=r"'day_of_week' is .*numeric in the reference"):
        feature_drift(profile, current.assign(day_of_week="mon"))
    with pytest.raises(DataError, match="empty"):
        feature_drift(profile, current.iloc[:0])
    with pytest.raises(DataError, match="no non-missing values"):
        feature_drift(profile, current.assign(ret=np.nan))
    with pytest.raises(DataError, match="inf"):
        feature_drift(profile, current.assign(ret=np.inf))
    with pytest.raises(ConfigError, match="did you mean 'fdr_bh'"):
        feature_drift(profile, current, correction="fdr_hb")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="alpha"):
        feature_drift(profile, current, alpha=1.5)
    with pytest.raises(ConfigError, match="did you mean 'rows'"):
        feature_drift(profile, current, calibration="row")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="sketch_size"):
        build_profile(current, sketch_size=1)
    with pytest.raises(DataError, match="not in the reference"):
        feature_drift(profile, current, features=["nope"])
    with pytest.raises(DataError, match="no predictions"):
        prediction_drift(profile, np.zeros(10))
    with pytest.raises(DataError, match="DataFrame"):
        build_profile(np.zeros((3, 2)))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="labels have 2 rows"):
        build_profile(current, labels=[0, 1])
    assert feature_drift(profile, current, features=["ret"]).table.index.tolist() == ["ret"]


def test_missing_values_and_row_sample() -> None:
    reference = normal_frame(3_000, 51, n_features=2)
    reference.loc[:99, "f00"] = np.nan
    profile = build_profile(reference, max_rows=1_000)
    column = profile.features["f00"]
    assert column.n == 2_900
    assert column.n_missing == 100
    assert column.sample.size < 1_000  # the sampled rows minus their missing values
    assert np.all(np.diff(column.sample) >= 0)
    current = normal_frame(500, 52, n_features=2)
    current.loc[:49, "f01"] = np.nan
    report = feature_drift(profile, current)
    assert report.table["n_current"].tolist() == [500, 450]
    assert not report.drifted
