"""End to end: Plan/Trainer with each method, the with/without table, saved artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer.augment import GENERATOR_FILE, WindowGenerator
from mltrainer.cli import main
from mltrainer.config import config_from_dict
from mltrainer.exceptions import ConfigError
from mltrainer.models import CalibratedComposite
from mltrainer.pipeline import Plan, Trainer
from mltrainer.registry import ModelRegistry

from .conftest import FEATURES, LABEL


def _config(tmp_path: Path, augment: dict[str, Any], **extra: Any) -> Any:
    return config_from_dict(
        {
            "data": {"source": "sp500", "start": "2013-01-01", "end": "2016-12-31"},
            "features": FEATURES,
            "label": LABEL,
            "model": {"type": "logistic"},
            "cv": {"n_splits": 3},
            "registry": {"root": str(tmp_path / "models")},
            "store": {"url": f"sqlite:///{tmp_path}/store.db"},
            "augment": augment,
            **extra,
        }
    )


def test_smote_run_reports_real_vs_augmented_and_saves_a_calibrated_model(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, {"method": "smote", "sampling_strategy": 0.8})
    result = Trainer(config).run()
    report = result.augmentation
    assert report is not None
    assert {"real", "augmented", "recalibrated", "delta", "folds_better"} <= set(report.table)
    assert {"brier", "reliability_ece", "roc_auc_ovr"} <= set(report.table.index)
    assert not np.isnan(report.table.loc["brier", "recalibrated"])
    assert (result.folds["n_synthetic"] > 0).all()
    assert report.helped == (report.table.iloc[0]["delta"] > 0)
    assert (report.warning is None) == report.helped
    loaded = ModelRegistry(config.registry.root).load(config.name)
    assert isinstance(loaded.estimator, CalibratedComposite)
    meta = loaded.metadata["augment"]
    assert meta["method"] == "smote"
    assert meta["calibration"]["method"] == "isotonic"
    assert meta["n_synthetic_final"] > 0
    proba = loaded.predict_proba(result_features(config))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def result_features(config: Any) -> pd.DataFrame:
    return Plan.from_config(config).dataset.X.iloc[:20]


def test_same_folds_for_real_and_augmented(tmp_path: Path) -> None:
    config = _config(tmp_path, {"method": "block_bootstrap", "block": 10})
    plan = Plan.from_config(config)
    assert plan.resampler is not None
    from dataclasses import replace

    real = replace(plan, resampler=None).cross_validate()
    augmented = plan.cross_validate()
    cols = ["n_train", "n_test", "test_start", "test_end"]
    pd.testing.assert_frame_equal(real.folds[cols], augmented.folds[cols])
    assert (augmented.folds["n_synthetic"] == augmented.folds["n_train"]).all()
    assert (real.folds["n_synthetic"] == 0).all()


def test_regression_label_with_smote_is_refused_before_loading(tmp_path: Path) -> None:
    config = _config(tmp_path, {"method": "smote"}, label={"name": "forward_return", "horizon": 5})
    with pytest.raises(ConfigError, match="regression"):
        Plan.from_config(config, bars=pd.DataFrame())  # refused before the bars are read


def test_augmentation_with_feature_selection_is_refused_before_work(tmp_path: Path) -> None:
    config = _config(tmp_path, {"method": "smote"}, selection={"method": "permutation"})
    with pytest.raises(ConfigError, match=r"selection\.method: none"):
        Plan.from_config(config, bars=pd.DataFrame())


def test_importance_folds_include_augmentation(dataset: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    from mltrainer.augment import SmoteAugmenter
    from mltrainer.cv import PurgedKFold
    from mltrainer.selection import permutation_importance

    seen: list[int] = []

    class Counting(SmoteAugmenter):
        def resample(self, rows: Any, *, fold: int) -> Any:
            out = super().resample(rows, fold=fold)
            seen.append(out.n_synthetic)
            return out

    result = permutation_importance(
        LogisticRegression(max_iter=300),
        dataset.X,
        dataset.y,
        cv=PurgedKFold(3, t1=dataset.t1),
        t1=dataset.t1,
        n_repeats=2,
        resampler=Counting("smote", k_neighbors=3, sampling_strategy=0.8),
        random_state=0,
    )
    assert len(seen) == 3
    assert min(seen) > 0
    assert len(result.ranking()) == dataset.X.shape[1]


def test_paths_run_on_a_regression_label(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {"method": "block_bootstrap", "unit": "paths", "block": 10},
        label={"name": "forward_return", "horizon": 5},
        model={"type": "ridge"},
    )
    result = Trainer(config).run()
    assert result.augmentation is not None
    assert "brier" not in result.augmentation.table.index  # no probabilities to score
    assert result.augmentation.note == ""
    assert (result.folds["n_synthetic"] > 0).all()


def test_gan_run_saves_generator_and_gate_with_the_version(tmp_path: Path) -> None:
    augment = {
        "method": "gan",
        "epochs": 1,
        "window": 16,
        "batch_size": 64,
        "hidden": 8,
        "latent_dim": 4,
        "recalibrate": "none",
    }
    config = _config(tmp_path, augment, cv={"n_splits": 2})
    result = Trainer(config).run()
    report = result.augmentation
    assert report is not None
    gates = report.metadata()["gate"]
    assert set(gates) == {"-1", "0", "1"}
    assert "not recalibrated" in report.note
    loaded = ModelRegistry(config.registry.root).load(config.name)
    generator = WindowGenerator.from_bytes(loaded.read_file(GENERATOR_FILE))
    assert generator.sample(2).shape == (2, 16, 3)
    gate = json.loads(loaded.read_file("augment-gate.json"))
    assert gate["level"] == "strict"
    assert len(gate["checks"]) == 7
    assert b"plotly" in loaded.read_file("augment-gate.html")
    assert loaded.metadata["augment"]["gate"] == gates
    if not any(v["passed"] for k, v in gates.items() if k != "-1"):
        assert report.details["n_synthetic"] == [0, 0]  # a failed gate adds nothing


def test_train_cli_prints_the_table_and_the_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        "train",
        "--quiet",
        "--set", "data.start=2013-01-01",
        "--set", "data.end=2016-12-31",
        "--set", "model.type=logistic",
        "--set", "cv.n_splits=3",
        "--set", "label={name: triple_barrier, horizon: 5, vol_window: 10}",
        "--set", "augment={method: random_over}",
    ]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "real-only vs augmented" in out
    assert "reliability_ece" in out
    assert ("did not help" in out) or ("warning" not in out)


def test_augment_cli_writes_paths_and_report(tmp_path: Path) -> None:
    out, report = tmp_path / "synth.parquet", tmp_path / "synth.html"
    args = ["augment", "--method", "block_bootstrap", "--paths", "3", "--start", "2014-01-01"]
    assert main([*args, "--window", "16", "--out", str(out), "--report", str(report)]) == 0
    frame = pd.read_parquet(out)
    assert sorted(frame["path"].unique()) == [0, 1, 2]
    assert {"timestamp", "open", "high", "low", "close", "volume"} <= set(frame.columns)
    assert "Quality gate" in report.read_text(encoding="utf-8")


def test_augment_cli_keeps_failed_gan_paths_unless_allowed(tmp_path: Path) -> None:
    out = tmp_path / "gan.parquet"
    args = ["augment", "--method", "gan", "--paths", "2", "--start", "2010-01-01"]
    args += ["--window", "16", "--epochs", "1", "--batch-size", "64", "--hidden", "8"]
    code = main([*args, "--out", str(out)])
    assert (code == 0) == out.exists()
    assert main([*args, "--out", str(out), "--allow-failed"]) == 0
    assert out.exists()


def test_tuning_scores_include_augmentation(tmp_path: Path) -> None:
    from dataclasses import replace

    from mltrainer.tuning._objective import Objective

    config = _config(tmp_path, {"method": "random_over"})
    objective = Objective(config)
    assert objective.plan.resampler is not None
    outcome = objective.evaluate({})
    name = objective.scorer_name
    augmented = objective.plan.cross_validate(scoring=[name]).folds[name].tolist()
    real = replace(objective.plan, resampler=None).cross_validate(scoring=[name])
    np.testing.assert_allclose(outcome.fold_scores, augmented)
    assert not np.allclose(outcome.fold_scores, real.folds[name].tolist())
