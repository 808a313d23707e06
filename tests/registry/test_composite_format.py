"""Tests of the composite format: one version, every member in its native format, spec.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mltrainer.exceptions import ChecksumError, ConfigError, NotFoundError
from mltrainer.models import AveragingComposite
from mltrainer.registry import ModelRegistry
from mltrainer.registry._lightgbm import LightGBMClassifierAdapter

FEATURES = ["ret_1", "rsi_14", "vol_20", "mom_5"]
XGB_COLUMNS = ["ret_1", "rsi_14", "mom_5"]
LGBM_COLUMNS = ["vol_20", "ret_1"]


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(5)
    index = pd.date_range("2024-01-01", periods=240, freq="D", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(240, 4)), index=index, columns=FEATURES)
    signal = X["ret_1"].to_numpy() + 0.5 * X["mom_5"].to_numpy() - 0.3 * X["vol_20"].to_numpy()
    return {"X": X, "y": (signal > 0).astype(int), "reg": signal + 0.1 * rng.normal(size=240)}


def _booster_pair(data: dict[str, Any]) -> AveragingComposite:
    return AveragingComposite(
        [
            ("xgb", xgb.XGBClassifier(n_estimators=12, max_depth=2, random_state=0, n_jobs=1)),
            (
                "lgbm",
                lgb.LGBMClassifier(
                    n_estimators=12,
                    num_leaves=4,
                    min_child_samples=5,
                    random_state=0,
                    n_jobs=1,
                    verbose=-1,
                ),
            ),
        ],
        weights=[2, 1],
        features={"xgb": XGB_COLUMNS, "lgbm": LGBM_COLUMNS},
    ).fit(data["X"], data["y"])


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def _rewrite(path: Path, data: bytes) -> None:
    """Replace a file of a version and fix the manifest, as anyone who can write it can."""
    path.write_bytes(data)
    manifest_path = path.parent / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][path.name] = hashlib.sha256(data).hexdigest()
    manifest_path.write_text(json.dumps(manifest))


def test_xgboost_plus_lightgbm_is_one_version_that_predicts_identically(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    composite = _booster_pair(data)
    X = data["X"]
    saved = registry.save("pair", composite, feature_names=FEATURES, metadata={"note": "ens"})
    names = sorted(p.name for p in saved.path.iterdir())
    assert names == [
        "MANIFEST.json",
        "member-lgbm.txt",
        "member-xgb.json",
        "metadata.json",
        "spec.json",
    ]
    manifest = json.loads((saved.path / "MANIFEST.json").read_text())
    assert manifest["schema"] == 2
    assert manifest["format"] == "composite"
    assert manifest["format_options"]["files"] == [
        "spec.json",
        "member-xgb.json",
        "member-lgbm.txt",
    ]
    assert manifest["format_options"]["members"] == {"xgb": "xgboost", "lgbm": "lightgbm"}
    assert set(manifest["files"]) == set(names) - {"MANIFEST.json"}
    spec = json.loads((saved.path / "spec.json").read_text())
    assert (spec["kind"], spec["class"]) == (
        "averaging",
        "mltrainer.models._composite.AveragingComposite",
    )
    assert [m["name"] for m in spec["members"]] == ["xgb", "lgbm"]
    assert [m["feature_names"] for m in spec["members"]] == [XGB_COLUMNS, LGBM_COLUMNS]
    assert spec["params"]["weights"] == pytest.approx([2 / 3, 1 / 3])

    loaded = registry.load("pair")
    assert loaded.metadata["format"] == "composite"
    assert loaded.is_composite
    np.testing.assert_array_equal(loaded.predict_proba(X), composite.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), composite.predict(X))
    np.testing.assert_array_equal(loaded.classes_, [0, 1])
    # the natives inside, with their own columns
    assert list(loaded.members) == ["xgb", "lgbm"]
    native_xgb = loaded.native("xgb")
    assert isinstance(native_xgb, xgb.XGBClassifier)
    assert isinstance(loaded.native("lgbm"), LightGBMClassifierAdapter)
    assert loaded.member_features("xgb") == XGB_COLUMNS
    assert loaded.member_features("lgbm") == LGBM_COLUMNS
    assert loaded.preprocessing("xgb") == []
    np.testing.assert_array_equal(
        native_xgb.predict_proba(X[loaded.member_features("xgb")]),
        composite.named_estimators_["xgb"].predict_proba(X[XGB_COLUMNS]),
    )
    # native contributions for SHAP-style explanations, per member
    contributions = native_xgb.get_booster().predict(
        xgb.DMatrix(X[XGB_COLUMNS]), pred_contribs=True
    )
    assert contributions.shape == (len(X), len(XGB_COLUMNS) + 1)
    with pytest.raises(ConfigError, match=r"composite of members \['xgb', 'lgbm'\]"):
        loaded.native()
    with pytest.raises(NotFoundError, match="did you mean 'xgb'"):
        loaded.native("xgbb")
    assert "members=['xgb', 'lgbm']" in repr(loaded)


def test_composite_of_regressors_with_a_scaled_skops_member(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    composite = AveragingComposite(
        [
            ("ridge", make_pipeline(StandardScaler(), Ridge(alpha=3.0))),
            ("lgbm", lgb.LGBMRegressor(n_estimators=10, num_leaves=4, verbose=-1, n_jobs=1)),
        ],
        features={"ridge": ["ret_1", "mom_5"]},
    ).fit(data["X"], data["reg"])
    saved = registry.save("reg", composite, feature_names=FEATURES)
    assert {"member-ridge.skops", "member-lgbm.txt", "spec.json"} <= {
        p.name for p in saved.path.iterdir()
    }
    loaded = registry.load("reg")
    np.testing.assert_array_equal(loaded.predict(data["X"]), composite.predict(data["X"]))
    assert type(loaded.native("ridge")).__name__ == "Ridge"
    steps = loaded.preprocessing("ridge")
    assert [type(step).__name__ for _, step in steps] == ["StandardScaler"]
    assert loaded.member_features("lgbm") == FEATURES  # reads every column
    with pytest.raises(AttributeError, match="regressor"):
        _ = loaded.classes_


def test_plain_model_is_one_member(data: dict[str, Any], registry: ModelRegistry) -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(data["X"], data["y"])
    registry.save("plain", model, feature_names=FEATURES)
    loaded = registry.load("plain")
    assert not loaded.is_composite
    assert list(loaded.members) == ["model"]
    assert isinstance(loaded.native(), LogisticRegression)
    np.testing.assert_array_equal(loaded.native().coef_, model[-1].coef_)
    assert [name for name, _ in loaded.preprocessing()] == ["standardscaler"]
    assert loaded.member_features() == FEATURES
    assert loaded.native("model") is loaded.native()


@pytest.mark.parametrize("member", ["member-xgb.json", "member-lgbm.txt", "spec.json"])
def test_tampered_member_file_fails_the_checksum(
    member: str, data: dict[str, Any], registry: ModelRegistry
) -> None:
    saved = registry.save("pair", _booster_pair(data), feature_names=FEATURES)
    path = saved.path / member
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match=rf"{member.replace('.', '[.]')} has SHA-256"):
        registry.load("pair")


def _spec_with(saved_path: Path, change: Any) -> None:
    spec = json.loads((saved_path / "spec.json").read_text())
    change(spec)
    _rewrite(saved_path / "spec.json", json.dumps(spec).encode())


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/etc/passwd", "outside the version folder"),
        ("../../pair/1/member-xgb.json", "outside the version folder"),
        ("sub/member-xgb.json", "outside the version folder"),
        ("..", "outside the version folder"),
        ("metadata-copy.json", "does not cover"),
        ("metadata.json", "does not cover"),
    ],
)
def test_spec_naming_a_file_outside_the_version_is_refused(
    target: str, message: str, data: dict[str, Any], registry: ModelRegistry
) -> None:
    saved = registry.save("pair", _booster_pair(data), feature_names=FEATURES)

    def point_elsewhere(spec: dict[str, Any]) -> None:
        spec["members"][0]["options"]["files"] = [target]

    _spec_with(saved.path, point_elsewhere)
    with pytest.raises(ChecksumError, match=message):
        registry.load("pair")


def test_manifest_naming_model_files_outside_the_version_is_refused(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    saved = registry.save("pair", _booster_pair(data), feature_names=FEATURES)
    manifest_path = saved.path / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_options"]["files"] = ["spec.json", "../other/member-xgb.json"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ChecksumError, match="outside the version folder"):
        registry.load("pair")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(kind="stacking"), "not on the allow-list"),
        (lambda s: s.update({"class": "evil.module.Averaging"}), "not on the allow-list"),
        (lambda s: s["members"][0].update(format="pickle"), "format 'pickle'"),
        (lambda s: s["members"][0].update(format="composite"), "format 'composite'"),
        (lambda s: s["members"][0].update(name="../x"), "invalid composite member name"),
        (lambda s: s["members"].append(s["members"][0]), "twice"),
        (lambda s: s["params"].update(weights=[1.0]), "list of 2 numbers"),
        (lambda s: s["members"][0].update(feature_names=["vol_20"]), "member columns that differ"),
        (lambda s: s.update(schema=9), "schema 9"),
    ],
)
def test_spec_kinds_classes_and_members_outside_the_allow_list_are_refused(
    change: Any, message: str, data: dict[str, Any], registry: ModelRegistry
) -> None:
    saved = registry.save("pair", _booster_pair(data), feature_names=FEATURES)
    _spec_with(saved.path, change)
    with pytest.raises(ConfigError, match=message):
        registry.load("pair")


class LookAlike(AveragingComposite):
    """A subclass: not on the allow-list, so the registry will not save it."""


def test_only_exact_composite_classes_are_saved(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    lookalike = LookAlike([("lr", LogisticRegression())]).fit(data["X"], data["y"])
    with pytest.raises(ConfigError, match=r"LookAlike is not one the registry can load back"):
        registry.save("x", lookalike, feature_names=FEATURES)
    with pytest.raises(ConfigError, match="not fitted"):
        registry.save(
            "x", AveragingComposite([("lr", LogisticRegression())]), feature_names=FEATURES
        )
    inner = AveragingComposite([("lr", LogisticRegression())]).fit(data["X"], data["y"])
    from sklearn.frozen import FrozenEstimator

    nested = AveragingComposite([("inner", FrozenEstimator(inner))]).fit(data["X"], data["y"])
    with pytest.raises(ConfigError, match="composites do not nest"):
        registry.save("x", nested, feature_names=FEATURES)
    with pytest.raises(ConfigError, match="3 names but the model was fitted on 4"):
        registry.save("x", inner, feature_names=FEATURES[:3])
    assert registry.list_models() == []


def test_extra_file_clashing_with_a_member_file_is_refused(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    with pytest.raises(ConfigError, match=r"invalid.*'member-\*'"):
        registry.save(
            "pair",
            _booster_pair(data),
            feature_names=FEATURES,
            extra_files={"member-xgb.json": b"{}"},
        )
    assert registry.list_models() == []
    assert not (registry.root / "pair").exists()  # refused before anything was written
    plain = LogisticRegression().fit(data["X"], data["y"])
    for name in ("spec.json", "model.txt", "member-a.skops"):
        with pytest.raises(ConfigError, match="invalid"):
            registry.save("plain", plain, feature_names=FEATURES, extra_files={name: b"{}"})
