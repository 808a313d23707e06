"""Ensembles through the training plan: `mltrainer train`, the honest report, the registry,
predict, tuning, `models show`, and bad settings refused before any fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mltrainer import Trainer, load_bars, load_model, predict_bars
from mltrainer.cli import main
from mltrainer.config import config_from_dict
from mltrainer.ensemble import BaseEnsemble, StackingEnsemble
from mltrainer.exceptions import ConfigError
from mltrainer.pipeline import Plan
from mltrainer.tuning import Objective

MEMBERS = [
    {"name": "xgb", "type": "xgboost", "params": {"n_estimators": 20, "max_depth": 2}},
    {"name": "lgbm", "type": "lightgbm", "params": {"n_estimators": 20}},
    {"name": "logit", "type": "logistic"},
]


def _raw(tmp: Path, model: dict[str, Any], **sections: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "ens",
        "data": {"source": "sp500", "start": "2015-06-01"},
        "model": {"type": "ensemble", "members": MEMBERS, **model},
        "cv": {"n_splits": 3},
        "registry": {"root": str(tmp / "models")},
        "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
        "tuning": {"storage": f"sqlite:///{tmp / 'optuna.db'}", "n_trials": 2},
    }
    raw.update(sections)
    return raw


@pytest.fixture(scope="module")
def stacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    tmp = tmp_path_factory.mktemp("stack")
    config = config_from_dict(
        _raw(tmp, {"combine": "stack", "meta": {"type": "logistic", "n_splits": 3}})
    )
    return tmp, config, Trainer(config).run()


def test_stack_is_reported_beside_its_members_on_the_same_folds(
    stacked: tuple[Path, Any, Any],
) -> None:
    tmp, config, result = stacked
    report = result.ensemble
    assert report is not None
    table = report.folds
    assert list(table.columns) == ["split", "ensemble", "xgb", "lgbm", "logit", "average"]
    assert len(table) == 3
    np.testing.assert_allclose(table["ensemble"], result.folds["roc_auc"], rtol=0, atol=0)
    # each member's column is that member trained alone on the same outer folds
    plan = Plan.from_config(config)
    for name, member in plan.model().estimators:
        alone = plan.cross_validate(member)
        np.testing.assert_allclose(table[name], alone.folds["roc_auc"], rtol=0, atol=1e-12)
    assert report.verdict.startswith(
        "the ensemble beats" if report.beats_best else "the ensemble does not beat"
    )
    assert len(report.meta_weights) == 3
    assert set(report.meta_weights[0]) >= {"meta", "xgb:logit", "lgbm:logit", "logit:logit"}
    # the metadata holds the same, for the registry and `models show`
    meta = load_model("ens", root=tmp / "models").metadata["ensemble"]
    assert meta["combine"] == "stack"
    assert meta["members"] == ["xgb", "lgbm", "logit"]
    assert meta["folds"]["roc_auc"]["xgb"] == pytest.approx(table["xgb"].tolist())
    assert meta["verdict"] == report.verdict
    assert meta["coefficients"]["space"] == "logit"


def test_one_version_predicts_like_any_model(stacked: tuple[Path, Any, Any]) -> None:
    tmp, _, result = stacked
    model = load_model("ens", root=tmp / "models")
    assert result.version == 1
    assert model.is_composite
    assert sorted(p.name for p in result.path.iterdir() if p.name.startswith("member-")) == [
        "member-lgbm.txt",
        "member-logit.skops",
        "member-xgb.json",
    ]
    bars = load_bars("sp500", start="2018-01-01")
    out = predict_bars(model, bars)
    assert set(out.columns) == {"prediction", "proba_0", "proba_1"}
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].sum(axis=1), 1.0)


def test_models_show_lists_members_and_weights(
    stacked: tuple[Path, Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, _, _ = stacked
    assert main(["models", "--root", str(tmp / "models"), "show", "ens"]) == 0
    out = capsys.readouterr().out
    assert "ensemble: stack (stacking)" in out
    assert "members: xgb, lgbm, logit" in out
    assert "coefficients" in out
    assert "xgb:logit" in out
    assert "the ensemble" in out
    assert "best member" in out


def test_tuning_searches_each_members_space_with_prefixed_names(
    stacked: tuple[Path, Any, Any],
) -> None:
    _, config, result = stacked
    objective = Objective(config)
    assert {"xgb__max_depth", "lgbm__num_leaves", "logit__C"} <= set(objective.space)
    assert all("__" in name for name in objective.space)
    # an empty trial is exactly what `mltrainer train` cross-validated
    outcome = objective.evaluate({})
    np.testing.assert_allclose(outcome.fold_scores, result.folds["roc_auc"], rtol=0, atol=1e-12)
    estimator = objective.estimator({"xgb__max_depth": 5, "logit__C": 0.3})
    assert isinstance(estimator, StackingEnsemble)
    params = estimator.get_params()
    # catalogue names, routed by the plan (the logistic member is a scaled pipeline)
    assert (params["xgb__max_depth"], params["logit__model__C"]) == (5, 0.3)


def test_regime_training_records_occupancy_and_stays_causal(tmp_path: Path) -> None:
    config = config_from_dict(
        _raw(
            tmp_path,
            {
                "combine": "regime",
                "members": MEMBERS[:1],
                "regime": {"method": "volatility", "n_regimes": 2, "min_dwell": 5, "min_rows": 60},
            },
        )
    )
    result = Trainer(config).run()
    report = result.ensemble
    assert report is not None
    assert list(report.folds.columns)[:3] == ["split", "ensemble", "xgb"]
    assert len(report.regime_occupancy) == 3
    first = report.regime_occupancy[0]
    assert len(first["train"]) == 2
    assert sum(first["test"]) == result.folds["n_test"].iloc[0]
    model = load_model("ens", root=tmp_path / "models")
    meta = model.metadata["ensemble"]
    assert meta["regime"]["method"] == "volatility"
    assert len(meta["regime"]["thresholds"]) == 1
    # appending future bars changes no past prediction (features and regimes are causal)
    bars = load_bars("sp500", start="2016-01-01")
    short = predict_bars(model, bars.loc[:"2017-06-30"])
    full = predict_bars(model, bars)
    common = full.loc[short.index]
    np.testing.assert_allclose(common.to_numpy(), short.to_numpy(), rtol=0, atol=1e-12)
    assert model.estimator.regimes(model_features(model, bars)).max() == 1


def model_features(model: Any, bars: Any) -> Any:
    from mltrainer.features import compute_features

    return compute_features(bars, model.metadata["features"]["spec"]).dropna()[model.feature_names]


BAD: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"combine": "average", "members": [MEMBERS[2], {"name": "r", "type": "ridge"}]},
        {},
        "mixed tasks",
    ),
    ({"combine": "average", "members": [MEMBERS[0], MEMBERS[0]]}, {}, "repeats the name"),
    ({"combine": "average", "members": []}, {}, "members is empty"),
    ({"combine": "average", "meta": {"type": "logistic"}}, {}, "meta is the stack's meta model"),
    ({"combine": "stack", "meta": {"type": "ridge"}}, {}, "meta.type: ridge is for regression"),
    (
        {"combine": "average", "members": [{"name": "x", "type": "xgbost"}]},
        {},
        r"model.members\[0\].type \(x\): unknown model type 'xgbost' \(did you mean 'xgboost'",
    ),
    (
        {
            "combine": "average",
            "members": [{"name": "x", "type": "xgboost", "params": {"max_dept": 3}}],
        },
        {},
        r"model.members\[0\].params \(x\): unknown parameter 'max_dept'",
    ),
    ({"combine": "average", "params": {"max_depth": 3}}, {}, "<member>__<param>"),
    (
        {"combine": "regime", "regime": {"features": ["volatility_21"]}},
        {},
        "'volatility_21' is not a column of the dataset .did you mean 'volatility_20'",
    ),
    (
        {"combine": "regime", "regime": {"features": ["direction"]}},
        {},
        "'direction' is the label",
    ),
    (
        {"combine": "regime", "regime": {"min_rows": 400}},
        {},
        "outer training fold 0 has .* rows, fewer than n_regimes 2 x min_rows 400",
    ),
    (
        {"combine": "regime", "regime": {"method": "markov"}},
        {"data": {"source": ["sp500", "nasdaq"], "start": "2015-06-01"}},
        "follow one series in time order",
    ),
    (
        {"combine": "regime"},
        {"selection": {"method": "permutation", "top_k": 5}},
        "selection.method must be none with combine: regime",
    ),
    (
        {"combine": "stack", "meta": {"n_splits": 3}},
        {"cv": {"method": "walk_forward", "n_splits": 3, "test_size": 150}},
        "model.meta: the inner folds cannot split outer training fold 0",
    ),
    (
        {"combine": "vote_hard"},
        {"label": {"name": "forward_return", "horizon": 5}},
        "mixed tasks|does not do regression",
    ),
]


@pytest.mark.parametrize(("model", "sections", "message"), BAD)
def test_bad_settings_are_one_line_errors_before_any_fit(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    model: dict[str, Any],
    sections: dict[str, Any],
    message: str,
) -> None:
    def no_fit(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("an ensemble was fitted before the settings were checked")

    monkeypatch.setattr(BaseEnsemble, "fit", no_fit)
    with pytest.raises(ConfigError, match=message) as info:
        Plan.from_config(config_from_dict(_raw(tmp_path, model, **sections)))
    assert "\n" not in str(info.value)


def test_inner_folds_too_small_for_the_stack_are_refused() -> None:
    from sklearn.linear_model import LogisticRegression

    from mltrainer.cv import PurgedKFold, PurgedWalkForward
    from mltrainer.ensemble import check_ensemble_data
    from tests.ensemble.conftest import make_series

    data = make_series(n=200)
    outer = PurgedKFold(2, t1=data.t1)
    members = [("lr", LogisticRegression())]
    tiny = StackingEnsemble(members, cv=PurgedWalkForward(2, t1=data.t1, test_size=45))
    with pytest.raises(ConfigError, match=r"model.meta.n_splits: inner fold 0 of outer training"):
        check_ensemble_data(tiny, data.X, t1=data.t1, splitter=outer)
    few = StackingEnsemble(members, cv=PurgedWalkForward(1, t1=data.t1, test_size=15))
    with pytest.raises(ConfigError, match=r"only 15 rows of outer training fold 0"):
        check_ensemble_data(few, data.X, t1=data.t1, splitter=outer)
    fine = StackingEnsemble(members, cv=PurgedKFold(3, t1=data.t1))
    check_ensemble_data(fine, data.X, t1=data.t1, splitter=outer)


def test_mltrainer_tune_on_an_ensemble_stores_prefixed_params(tmp_path: Path) -> None:
    from mltrainer.tuning import tune

    config = config_from_dict(
        _raw(tmp_path, {"combine": "average", "members": MEMBERS[::2]}, name="ens-tune")
    )
    result = tune(config, n_trials=2)
    assert result.n_complete == 2
    assert result.best_params
    assert all(key.split("__")[0] in {"xgb", "logit"} for key in result.best_params)
    # the warm start is the fixed config: the members' catalogue defaults, prefixed
    assert result.fixed_fold_scores


def test_cli_train_prints_the_ensemble_beside_its_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    # a hard vote has no exact attribution: skip the sampled global profile (tens of seconds)
    raw = _raw(
        tmp_path, {"combine": "vote_hard"}, name="ens-cli", explain={"global_rows_per_fold": 0}
    )
    path = tmp_path / "ens.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Ensemble vs members, roc_auc on the same outer folds" in out
    assert "average" in out
    assert "logit" in out
    assert "best member" in out
    assert "Saved ens-cli version 1" in out


def test_retrain_rebuilds_the_ensemble_from_its_stored_config(
    stacked: tuple[Path, Any, Any],
) -> None:
    import pandas as pd

    from mltrainer.pipeline import retrain

    tmp, _, _ = stacked
    model = load_model("ens", 1, root=tmp / "models")
    version = retrain(model, pd.Timestamp("2018-06-29", tz="UTC"))
    again = load_model("ens", version, root=tmp / "models")
    assert again.metadata["parent"] == 1
    assert again.metadata["ensemble"]["members"] == ["xgb", "lgbm", "logit"]
    assert again.metadata["data"]["last_t1"] <= "2018-06-29T23:59:59+00:00"


@pytest.mark.parametrize(
    "sections",
    [
        {"selection": {"method": "permutation", "top_k": 8, "n_repeats": 1, "n_splits": 2}},
        {"cv": {"method": "combinatorial", "n_groups": 4, "n_test_groups": 2}},
    ],
    ids=["selection", "combinatorial"],
)
def test_average_with_selection_or_combinatorial_folds(
    tmp_path: Path, sections: dict[str, Any]
) -> None:
    members = [MEMBERS[0], MEMBERS[2]]
    config = config_from_dict(
        _raw(tmp_path, {"combine": "average", "members": members}, **sections)
    )
    result = Trainer(config).run()
    report = result.ensemble
    assert report is not None
    assert len(report.folds) == len(result.folds)
    np.testing.assert_allclose(report.folds["ensemble"], result.folds["roc_auc"])
    # an equal-weight average of two members is the ensemble itself
    np.testing.assert_allclose(report.folds["average"], report.folds["ensemble"], atol=1e-12)
    model = load_model("ens", root=tmp_path / "models")
    assert list(model.members) == ["xgb", "logit"]
