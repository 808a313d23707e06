"""Tests of MANIFEST.json: versions written by the single-file registry still load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.exceptions import ChecksumError, ConfigError
from mltrainer.registry import ModelRegistry
from mltrainer.registry._lightgbm import LightGBMClassifierAdapter

# written by the registry of commit 2bc202d (one model file per version, manifest schema 1)
LEGACY = Path(__file__).parent / "data" / "legacy_v1"


@pytest.fixture
def legacy(tmp_path: Path) -> ModelRegistry:
    root = tmp_path / "models"
    shutil.copytree(LEGACY, root)
    return ModelRegistry(root)


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((LEGACY / "expected.json").read_text())


@pytest.mark.parametrize(
    ("name", "filename", "native"),
    [
        ("xgb", "model.json", "XGBClassifier"),
        ("lgbm", "model.txt", "LightGBMClassifierAdapter"),
        ("logistic", "model.skops", "LogisticRegression"),
    ],
)
def test_schema_1_versions_load_and_predict_as_saved(
    name: str, filename: str, native: str, legacy: ModelRegistry, expected: dict
) -> None:
    manifest = json.loads((legacy.root / name / "1" / "MANIFEST.json").read_text())
    assert manifest["schema"] == 1
    assert "files" not in manifest["format_options"]  # the old layout lists no model files
    assert filename in manifest["files"]
    X = pd.DataFrame(expected["X"])[expected["columns"]]
    model = legacy.load(name)
    assert model.feature_names == expected["columns"]
    # as saved, to rounding: a newer NumPy/BLAS may sum in another order (1 ulp seen)
    np.testing.assert_allclose(
        model.predict_proba(X), np.asarray(expected["proba"][name]), rtol=1e-12, atol=1e-15
    )
    assert type(model.native()).__name__ == native
    assert list(model.members) == ["model"]
    assert model.metadata.get("parent") is None
    assert legacy.lineage(name, 1) == []
    row = legacy.list_versions(name)[0]
    assert (row["ok"], row["problem"], row["parent"]) == (True, None, None)


def test_schema_1_extra_files_aliases_and_checksums_still_work(legacy: ModelRegistry) -> None:
    assert legacy.load("logistic").read_file("profile.json") == b'{"hello": 1}\n'
    assert legacy.load("xgb", "production").version == 1
    lgbm = legacy.load("lgbm")
    assert isinstance(lgbm.estimator, LightGBMClassifierAdapter)
    np.testing.assert_array_equal(lgbm.classes_, [-1, 0, 1])
    path = legacy.root / "xgb" / "1" / "model.json"
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(ChecksumError, match=r"model\.json has SHA-256"):
        legacy.load("xgb")


def test_new_versions_beside_old_ones_use_schema_2(legacy: ModelRegistry) -> None:
    old = legacy.load("logistic")
    saved = legacy.save("logistic", old.estimator, feature_names=old.feature_names, parent=1)
    manifest = json.loads((saved.path / "MANIFEST.json").read_text())
    assert manifest["schema"] == 2
    assert manifest["format_options"]["files"] == ["model.skops"]
    assert legacy.lineage("logistic") == [1]


def test_a_manifest_from_a_newer_mltrainer_is_refused(legacy: ModelRegistry) -> None:
    path = legacy.root / "xgb" / "1" / "MANIFEST.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "schema": 3}))
    with pytest.raises(ConfigError, match=r"schema 3.*upgrade mltrainer"):
        legacy.load("xgb")


def test_a_schema_1_manifest_without_its_model_file_is_refused(legacy: ModelRegistry) -> None:
    path = legacy.root / "xgb" / "1" / "MANIFEST.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]["model.json"]
    path.write_text(json.dumps(manifest))
    (legacy.root / "xgb" / "1" / "model.json").unlink()
    with pytest.raises(ChecksumError, match=r"'model\.json', which MANIFEST\.json does not cover"):
        legacy.load("xgb")
