"""The Trainer end to end on real bundled bars: scores, determinism, registry, time-correctness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer import Trainer, load_bars, load_model, predict_bars
from mltrainer.exceptions import ChecksumError, ConfigError, DataError, SchemaError
from mltrainer.pipeline import build_dataset
from tests.conftest import run_config


def _config(tmp_path: Path, **sections: Any) -> Any:
    return run_config(tmp_path, **sections)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    tmp = tmp_path_factory.mktemp("train")
    config = _config(tmp)
    first = Trainer(config).run()
    second = Trainer(config).run()
    return tmp, first, second


def test_run_scores_every_fold_and_saves(trained: tuple[Path, Any, Any]) -> None:
    _, result, _ = trained
    assert result.version == 1
    assert len(result.folds) == 3
    assert {"roc_auc", "accuracy", "neg_log_loss"} <= set(result.folds.columns)
    assert 0.3 < result.mean_scores["roc_auc"] < 0.7  # daily direction is hard: near chance
    assert len(result.feature_names) >= 15
    assert result.cv["n_purged"] > 0  # 5-bar labels overlap the test folds' edges
    assert (result.path / "metadata.json").is_file()
    tested = result.predictions["path_0"].notna()
    assert tested.sum() == result.folds["n_test"].sum()


def test_two_runs_give_two_versions_with_identical_scores(
    trained: tuple[Path, Any, Any],
) -> None:
    _, first, second = trained
    assert (first.version, second.version) == (1, 2)
    pd.testing.assert_frame_equal(
        first.folds.drop(columns=["fit_time", "score_time"]),
        second.folds.drop(columns=["fit_time", "score_time"]),
    )


def test_metadata_records_what_users_need(trained: tuple[Path, Any, Any]) -> None:
    tmp, result, _ = trained
    model = load_model("test-direction", 1, root=tmp / "models")
    meta = model.metadata
    assert len(meta["features"]["names"]) >= 15
    assert len(meta["scores"]["folds"]) == 3
    assert meta["label"]["classes"] == [0.0, 1.0]
    assert meta["data"]["rows"] > 1000
    assert len(meta["data"]["sha256"]) == 64
    assert meta["cv"]["method"] == "purged_kfold"
    assert meta["scores"]["mean"]["roc_auc"] == pytest.approx(result.mean_scores["roc_auc"])


def test_loaded_model_predicts_like_the_trained_one(trained: tuple[Path, Any, Any]) -> None:
    tmp, _, _ = trained
    model = load_model("test-direction", root=tmp / "models")
    assert model.version == 2
    bars = load_bars("sp500", start="2017-01-01")
    out = predict_bars(model, bars)
    assert set(out["prediction"].unique()) <= {0.0, 1.0}
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].sum(axis=1), 1.0, rtol=1e-6)


def test_missing_feature_is_named(trained: tuple[Path, Any, Any]) -> None:
    tmp, _, _ = trained
    model = load_model("test-direction", root=tmp / "models")
    X = pd.DataFrame(np.zeros((3, len(model.feature_names))), columns=model.feature_names)
    with pytest.raises(SchemaError, match=model.feature_names[0]):
        model.predict(X.drop(columns=model.feature_names[0]))


def test_tampered_artifact_fails_checksum(trained: tuple[Path, Any, Any]) -> None:
    tmp, _, _ = trained
    folder = tmp / "models" / "test-direction" / "1"
    model_file = next(p for p in folder.iterdir() if p.name.startswith("model"))
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_file.write_bytes(bytes(data))
    with pytest.raises(ChecksumError):
        load_model("test-direction", 1, root=tmp / "models")


def test_dataset_is_time_correct_under_truncation() -> None:
    """Rows built from bars up to a cut equal the full-history rows: no look-ahead anywhere."""
    bars = load_bars("sp500", start="2015-01-01")
    label = {"name": "direction", "horizon": 5}
    full = build_dataset(bars, features=None, label=label)
    cut = bars.index[700]
    part = build_dataset(bars.loc[:cut], features=None, label=label)
    known = full.t1 <= cut
    rows = full.X.index[known.to_numpy()]
    pd.testing.assert_frame_equal(part.X.loc[rows], full.X.loc[rows])
    pd.testing.assert_series_equal(part.y.loc[rows], full.y.loc[rows])
    assert (part.t1 <= cut).all()  # nothing labelled with bars beyond the data
    assert (full.t1 >= full.X.index).all()


@pytest.mark.parametrize(
    ("label", "model", "cv"),
    [
        (
            {"name": "forward_volatility", "horizon": 10},
            {"type": "lightgbm"},
            {"method": "walk_forward", "n_splits": 3},
        ),
        (
            {"name": "forward_return", "horizon": 5},
            {"type": "ridge"},
            {"method": "time_series", "n_splits": 3},
        ),
        (
            {"name": "triple_barrier", "horizon": 10},
            {"type": "logistic"},
            {"method": "combinatorial", "n_groups": 4, "n_test_groups": 2},
        ),
    ],
    ids=["volatility-lightgbm", "return-ridge", "barrier-logistic-cpcv"],
)
def test_other_labels_models_and_splitters(
    tmp_path: Path, label: dict[str, Any], model: dict[str, Any], cv: dict[str, Any]
) -> None:
    config = _config(tmp_path, label=label, model={**model, "params": {}}, cv=None)
    config = config.model_copy(update={"cv": config.cv.model_validate(cv)})
    result = Trainer(config).run()
    assert len(result.folds) >= 3
    assert np.isfinite(list(result.mean_scores.values())).all()
    loaded = load_model("test-direction", root=tmp_path / "models")
    assert loaded.metadata["label"]["name"] == label["name"]


def test_panel_with_uniqueness_weights(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        data={"source": ["sp500", "nasdaq"], "start": "2014-01-01"},
        label={"name": "triple_barrier", "horizon": 10},
        model={"type": "random_forest", "params": {"n_estimators": 30}},
        cv={"n_splits": 3, "sample_weight": "uniqueness"},
    )
    result = Trainer(config).run()
    assert result.n_rows > 2 * 900
    assert len(result.folds) == 3


def test_bad_input_fails_before_work(tmp_path: Path) -> None:
    csv = tmp_path / "bars.csv"
    frame = load_bars("sp500", start="2018-01-01").reset_index()
    frame = pd.concat([frame.iloc[:50], frame.iloc[[49]], frame.iloc[50:]])
    frame.to_csv(csv, index=False)
    duplicated = str(frame.iloc[49]["timestamp"].date())
    with pytest.raises(DataError, match=duplicated):
        Trainer(_config(tmp_path, data={"source": str(csv), "start": None})).run()
    with pytest.raises(DataError, match="rows"):
        Trainer(_config(tmp_path, data={"start": "2018-11-01"})).run()
    short_gap = _config(tmp_path, cv={"method": "time_series", "gap": 2})
    with pytest.raises(ConfigError, match=r"cv\.gap=2 is shorter than the label horizon 5"):
        Trainer(short_gap).run()
    with pytest.raises(ConfigError, match="n_estimator"):
        Trainer(_config(tmp_path, model={"params": {"n_estimator": 5}})).run()
    assert not (tmp_path / "models").exists()  # nothing written by failed runs


def test_augmentation_with_a_stacked_ensemble_is_refused(tmp_path: Path) -> None:
    from mltrainer.exceptions import ConfigError
    from mltrainer.pipeline import check_config

    config = _config(
        tmp_path,
        model={
            "type": "ensemble",
            "combine": "stack",
            "members": [{"name": "a", "type": "logistic"}, {"name": "b", "type": "xgboost"}],
        },
        augment={"method": "smote"},
    )
    with pytest.raises(ConfigError, match="combine: stack is not supported"):
        check_config(config)
