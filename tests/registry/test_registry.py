"""Tests of mltrainer.registry: formats round trip, checksums, atomic saves, aliases, schema."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mltrainer.registry
from mltrainer.exceptions import ChecksumError, ConfigError, NotFoundError, SchemaError, StoreError
from mltrainer.registry import LoadedModel, ModelRegistry, ModelVersion, load_model
from mltrainer.registry import _skops as skops_module
from mltrainer.registry._lightgbm import LightGBMClassifierAdapter, LightGBMRegressorAdapter
from mltrainer.registry._skops import is_trusted_type

FEATURES = ["ret_1", "rsi_14", "vol_20", "mom_5"]
N_ROWS = 200


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    index = pd.date_range("2024-01-01", periods=N_ROWS, freq="D", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(N_ROWS, len(FEATURES))), index=index, columns=FEATURES)
    signal = X["ret_1"].to_numpy() + 0.5 * X["mom_5"].to_numpy()
    return {
        "X": X,
        "binary": (signal > 0).astype(int),
        "ternary": np.digitize(signal, [-0.4, 0.4]) - 1,  # -1 / 0 / 1
        "reg": signal + 0.1 * rng.normal(size=N_ROWS),
    }


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def _fit_pipeline(data: dict[str, Any]) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(data["X"], data["binary"])


MODELS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "xgb-clf": (
        "xgboost",
        lambda d: xgb.XGBClassifier(n_estimators=8, max_depth=2, random_state=0, n_jobs=1).fit(
            d["X"], d["binary"]
        ),
    ),
    "xgb-reg": (
        "xgboost",
        lambda d: xgb.XGBRegressor(n_estimators=8, max_depth=2, random_state=0, n_jobs=1).fit(
            d["X"], d["reg"]
        ),
    ),
    "lgbm-clf-ternary": (
        "lightgbm",
        lambda d: lgb.LGBMClassifier(
            n_estimators=10, num_leaves=4, min_child_samples=5, random_state=0, n_jobs=1, verbose=-1
        ).fit(d["X"], d["ternary"]),
    ),
    "lgbm-clf-binary": (
        "lightgbm",
        lambda d: lgb.LGBMClassifier(
            n_estimators=10, num_leaves=4, random_state=0, n_jobs=1, verbose=-1
        ).fit(d["X"], d["binary"]),
    ),
    "lgbm-clf-strings": (
        "lightgbm",
        lambda d: lgb.LGBMClassifier(
            n_estimators=10, num_leaves=4, random_state=0, n_jobs=1, verbose=-1
        ).fit(d["X"], np.where(d["binary"] == 1, "up", "down")),
    ),
    "xgb-clf-ndarray": (
        "xgboost",
        lambda d: xgb.XGBClassifier(n_estimators=8, max_depth=2, random_state=0, n_jobs=1).fit(
            d["X"].to_numpy(), d["binary"]
        ),
    ),
    "lgbm-reg": (
        "lightgbm",
        lambda d: lgb.LGBMRegressor(
            n_estimators=10, num_leaves=4, random_state=0, n_jobs=1, verbose=-1
        ).fit(d["X"], d["reg"]),
    ),
    "sk-pipeline": ("skops", _fit_pipeline),
    "sk-pipeline-ndarray": (
        "skops",
        lambda d: make_pipeline(StandardScaler(), LogisticRegression()).fit(
            d["X"].to_numpy(), d["binary"]
        ),
    ),
    "sk-forest": (
        "skops",
        lambda d: RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(
            d["X"], d["ternary"]
        ),
    ),
    "sk-ridge": ("skops", lambda d: Ridge(alpha=1.0).fit(d["X"], d["reg"])),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_round_trip_gives_identical_predictions(
    kind: str, data: dict[str, Any], registry: ModelRegistry
) -> None:
    expected_format, fit = MODELS[kind]
    model = fit(data)
    X = data["X"]
    saved = registry.save("spy", model, feature_names=FEATURES, metadata={"kind": kind})
    assert saved == ModelVersion(name="spy", version=1, path=registry.root / "spy" / "1")
    names = {p.name for p in saved.path.iterdir()}
    assert {"metadata.json", "MANIFEST.json"} < names
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in names)

    loaded = registry.load("spy")
    assert isinstance(loaded, LoadedModel)
    assert (loaded.name, loaded.version, loaded.path) == ("spy", 1, saved.path)
    assert loaded.feature_names == FEATURES
    assert loaded.metadata["format"] == expected_format
    assert loaded.metadata["kind"] == kind
    np.testing.assert_array_equal(
        loaded.predict(X), model.predict(X if "ndarray" not in kind else X.to_numpy())
    )
    if hasattr(model, "predict_proba"):
        original = model.predict_proba(X if "ndarray" not in kind else X.to_numpy())
        np.testing.assert_array_equal(loaded.predict_proba(X), original)
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
        assert loaded.classes_.dtype == np.asarray(model.classes_).dtype
    else:
        with pytest.raises(AttributeError, match="predict_proba"):
            loaded.predict_proba(X)
        with pytest.raises(AttributeError, match="regressor"):
            _ = loaded.classes_


def test_lightgbm_adapter_exposes_wrapper_surface(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    model = MODELS["lgbm-clf-ternary"][1](data)
    registry.save("lgbm", model, feature_names=FEATURES)
    est = registry.load("lgbm").estimator
    assert isinstance(est, LightGBMClassifierAdapter)
    np.testing.assert_array_equal(est.classes_, [-1, 0, 1])
    assert est.n_features_in_ == len(FEATURES)
    assert est.n_classes_ == 3
    np.testing.assert_array_equal(est.feature_importances_, model.feature_importances_)
    assert est.booster_.num_trees() == model.booster_.num_trees()
    assert set(np.unique(est.predict(data["X"]))) <= {-1, 0, 1}

    regressor = MODELS["lgbm-reg"][1](data)
    registry.save("lgbm-reg", regressor, feature_names=FEATURES)
    reg = registry.load("lgbm-reg").estimator
    assert isinstance(reg, LightGBMRegressorAdapter)
    assert not hasattr(reg, "predict_proba")


def test_xgboost_classifier_classes_restored(data: dict[str, Any], registry: ModelRegistry) -> None:
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2, random_state=0, n_jobs=1).fit(
        data["X"], data["ternary"] + 1
    )
    registry.save("xgb3", model, feature_names=FEATURES)
    loaded = registry.load("xgb3")
    assert isinstance(loaded.estimator, xgb.XGBClassifier)
    np.testing.assert_array_equal(loaded.classes_, [0, 1, 2])
    np.testing.assert_array_equal(loaded.predict_proba(data["X"]), model.predict_proba(data["X"]))


def test_versions_increment_and_resolve(data: dict[str, Any], registry: ModelRegistry) -> None:
    model = _fit_pipeline(data)
    got = [
        registry.save("spy", model, feature_names=FEATURES, metadata={"scores": {"mean": s}})
        for s in (0.51, 0.53, 0.52)
    ]
    assert [v.version for v in got] == [1, 2, 3]
    assert registry.list_models() == ["spy"]
    rows = registry.list_versions("spy")
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert [r["score"] for r in rows] == [0.51, 0.53, 0.52]
    assert all(r["format"] == "skops" and r["aliases"] == [] for r in rows)
    assert registry.resolve("spy", "latest") == 3
    assert registry.resolve("spy", "2") == 2
    assert registry.resolve("spy", np.int64(1)) == 1  # type: ignore[arg-type]
    assert registry.load("spy", 2).metadata["version"] == 2
    assert load_model("spy", "latest", root=registry.root).version == 3
    with pytest.raises(NotFoundError, match=r"no version 9; versions: \[1, 2, 3\]"):
        registry.load("spy", 9)


def test_metadata_contents(data: dict[str, Any], registry: ModelRegistry) -> None:
    user = {
        "params": {"C": np.float64(1.0), "max_iter": np.int64(100)},
        "scores": {"folds": np.array([0.5, np.nan, 0.6]), "mean": np.float32(0.55)},
        "train_end": pd.Timestamp("2024-07-18", tz="UTC"),
        "importances": pd.Series([0.1, 0.2], index=["ret_1", "rsi_14"]),
        "inf": float("inf"),
    }
    before = repr(user)
    registry.save("spy", _fit_pipeline(data), feature_names=FEATURES, metadata=user)
    assert repr(user) == before  # the caller's mapping is not mutated
    meta = registry.metadata("spy")
    assert (meta["name"], meta["version"], meta["format"]) == ("spy", 1, "skops")
    assert meta["feature_names"] == FEATURES
    created = dt.datetime.fromisoformat(meta["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60
    expected = {"python", "numpy", "pandas", "scikit-learn", "xgboost", "lightgbm", "skops"}
    assert expected | {"mltrainer"} <= set(meta["versions"])
    assert meta["versions"]["numpy"] == np.__version__
    assert meta["versions"]["xgboost"] is not None
    assert "git_commit" in meta
    assert meta["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40,64}", meta["git_commit"])
    assert meta["params"] == {"C": 1.0, "max_iter": 100}
    assert meta["scores"]["folds"] == [0.5, None, 0.6]  # NaN is written as null
    assert meta["inf"] is None
    assert meta["train_end"] == "2024-07-18T00:00:00+00:00"
    assert meta["importances"] == {"ret_1": 0.1, "rsi_14": 0.2}


def test_metadata_rejections(data: dict[str, Any], registry: ModelRegistry) -> None:
    model = _fit_pipeline(data)
    with pytest.raises(ConfigError, match="'version' is reserved"):
        registry.save("spy", model, feature_names=FEATURES, metadata={"version": 4})
    with pytest.raises(ConfigError, match=r"metadata\['bad'\] holds a .*object"):
        registry.save("spy", model, feature_names=FEATURES, metadata={"bad": object()})
    # the reserved key with the registry's own value is fine
    registry.save("spy", model, feature_names=FEATURES, metadata={"feature_names": FEATURES})
    assert registry.resolve("spy", "latest") == 1


def _flip_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("filename", ["model.skops", "metadata.json"])
def test_tampered_file_raises_checksum_error(
    filename: str, data: dict[str, Any], registry: ModelRegistry
) -> None:
    saved = registry.save("spy", _fit_pipeline(data), feature_names=FEATURES)
    target = saved.path / filename
    manifest = json.loads((saved.path / "MANIFEST.json").read_text())
    expected_hash = manifest["files"][filename]
    _flip_byte(target)
    with pytest.raises(ChecksumError) as info:
        registry.load("spy")
    message = str(info.value)
    assert filename in message
    assert expected_hash in message
    assert re.search(r"SHA-256 [0-9a-f]{64}", message)
    if filename == "metadata.json":
        with pytest.raises(ChecksumError, match=r"metadata\.json"):
            registry.metadata("spy")


def test_added_or_removed_file_raises_checksum_error(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    saved = registry.save("spy", MODELS["xgb-reg"][1](data), feature_names=FEATURES)
    (saved.path / "extra.bin").write_bytes(b"x")
    with pytest.raises(ChecksumError, match=r"extra\.bin"):
        registry.load("spy")
    (saved.path / "extra.bin").unlink()
    registry.load("spy")  # clean again
    (saved.path / "model.json").unlink()
    with pytest.raises(ChecksumError, match=r"model\.json.*missing"):
        registry.load("spy")


def _assert_only_version_one(registry: ModelRegistry, data: dict[str, Any]) -> None:
    model_dir = registry.root / "spy"
    assert [r["version"] for r in registry.list_versions("spy")] == [1]
    assert sorted(p.name for p in model_dir.iterdir()) == ["1"]  # no temp dir left
    np.testing.assert_array_equal(
        registry.load("spy").predict(data["X"]), _fit_pipeline(data).predict(data["X"])
    )


def test_crash_in_format_writer_leaves_no_half_version(
    data: dict[str, Any], registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fit_pipeline(data)
    registry.save("spy", model, feature_names=FEATURES)

    def crash(self: Any, model: Any, directory: Path, *, stem: str = "model") -> dict[str, Any]:
        (directory / "model.skops").write_bytes(b"half a model")
        raise RuntimeError("disk full")

    monkeypatch.setattr(skops_module.SkopsFormat, "save", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        registry.save("spy", model, feature_names=FEATURES)
    monkeypatch.undo()
    _assert_only_version_one(registry, data)
    assert registry.save("spy", model, feature_names=FEATURES).version == 2


def test_crash_at_rename_leaves_no_half_version(
    data: dict[str, Any], registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fit_pipeline(data)
    registry.save("spy", model, feature_names=FEATURES)

    def failing_rename(src: Any, dst: Any) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(StoreError, match="I/O error"):
        registry.save("spy", model, feature_names=FEATURES)
    monkeypatch.undo()
    _assert_only_version_one(registry, data)
    assert registry.save("spy", model, feature_names=FEATURES).version == 2


def test_stale_temp_dirs_are_ignored_then_cleaned(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    model = _fit_pipeline(data)
    registry.save("spy", model, feature_names=FEATURES)
    model_dir = registry.root / "spy"
    stale, fresh = model_dir / ".tmp-stale", model_dir / ".tmp-fresh"
    for tmp in (stale, fresh):
        tmp.mkdir()
        (tmp / "model.skops").write_bytes(b"partial")
    stale_file = model_dir / ".tmp-aliases.json-0"
    stale_file.write_bytes(b"{")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(stale_file, (old, old))
    assert [r["version"] for r in registry.list_versions("spy")] == [1]
    assert registry.save("spy", model, feature_names=FEATURES).version == 2
    assert not stale.exists()
    assert not stale_file.exists()
    assert fresh.exists()


def test_concurrent_saves_get_distinct_versions(
    data: dict[str, Any], registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fit_pipeline(data)
    registry.save("spy", model, feature_names=FEATURES)
    barrier = threading.Barrier(2, timeout=30)
    real_rename = os.rename
    waited: set[int] = set()

    def rename_together(src: Any, dst: Any) -> None:
        if Path(src).name.startswith(".tmp-") and threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()  # both threads hold the same next number before renaming
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_together)
    results: list[int] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            saved = registry.save("spy", model, feature_names=FEATURES, metadata={"worker": i})
            results.append(saved.version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(waited) == 2  # both reached the rename with the same number
    assert sorted(results) == [2, 3]
    workers = set()
    for version in (2, 3):
        loaded = registry.load("spy", version)  # manifest and metadata rewritten on retry
        assert loaded.metadata["version"] == version
        workers.add(loaded.metadata["worker"])
    assert workers == {0, 1}
    assert not [p for p in (registry.root / "spy").iterdir() if p.name.startswith(".tmp-")]


def test_promote_rollback_and_aliases(data: dict[str, Any], registry: ModelRegistry) -> None:
    model = _fit_pipeline(data)
    for _ in range(3):
        registry.save("spy", model, feature_names=FEATURES)
    assert registry.aliases("spy") == {}
    assert registry.promote("spy", 1) == 1
    assert registry.promote("spy", "latest") == 3
    registry.set_alias("spy", "staging", 2)
    assert registry.aliases("spy") == {"production": 3, "staging": 2}
    assert registry.load("spy", "production").version == 3
    assert registry.load("spy", "staging").version == 2
    rows = {r["version"]: r["aliases"] for r in registry.list_versions("spy")}
    assert rows == {1: [], 2: ["staging"], 3: ["production"]}
    book = json.loads((registry.root / "spy" / "aliases.json").read_text())
    assert book == {
        "aliases": {"production": 3, "staging": 2},
        "history": {"production": [1, 3], "staging": [2]},
    }
    assert registry.rollback("spy") == 1
    assert registry.load("spy", "production").version == 1
    with pytest.raises(NotFoundError, match="no earlier version"):
        registry.rollback("spy")
    assert registry.aliases("spy")["production"] == 1  # failed rollback changed nothing
    with pytest.raises(NotFoundError, match=r"no alias 'productoin'.*did you mean 'production'"):
        registry.rollback("spy", "productoin")
    with pytest.raises(NotFoundError, match="no alias 'canary'"):
        registry.load("spy", "canary")
    assert not [p for p in (registry.root / "spy").iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("alias", ["latest", "12", "", "-x", "a/b", 3])
def test_invalid_alias_names(alias: Any, data: dict[str, Any], registry: ModelRegistry) -> None:
    registry.save("spy", _fit_pipeline(data), feature_names=FEATURES)
    with pytest.raises(ConfigError, match="invalid alias"):
        registry.set_alias("spy", alias, 1)


def test_schema_errors(data: dict[str, Any], registry: ModelRegistry) -> None:
    registry.save("spy", MODELS["xgb-clf"][1](data), feature_names=FEATURES)
    model = registry.load("spy")
    X = data["X"]
    with pytest.raises(SchemaError, match=r"missing feature\(s\) 'rsi_14'.*trained on 4 features"):
        model.predict(X.drop(columns=["rsi_14"]))
    with pytest.raises(SchemaError, match=r"extra column\(s\) 'close'.*X\[model.feature_names\]"):
        model.predict(X.assign(close=1.0))
    reordered = X[["rsi_14", "ret_1", "vol_20", "mom_5"]]
    with pytest.raises(SchemaError, match=r"different order.*X\[model.feature_names\]"):
        model.predict_proba(reordered)
    np.testing.assert_array_equal(model.predict(reordered[model.feature_names]), model.predict(X))
    with pytest.raises(SchemaError, match="'vol_20' has non-numeric dtype"):
        model.predict(X.assign(vol_20=X["vol_20"].astype(str)))
    with pytest.raises(SchemaError, match="must be a pandas DataFrame"):
        model.predict(X.to_numpy())
    # int and bool columns are numeric and accepted
    assert model.predict(X.assign(ret_1=(X["ret_1"] > 0))).shape == (N_ROWS,)


class Doubler(TransformerMixin, BaseEstimator):
    """A custom transformer: not in the skops allow-list."""

    def fit(self, X: Any, y: Any = None) -> Doubler:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.asarray(X) * 2.0


def test_untrusted_skops_types_refused(data: dict[str, Any], registry: ModelRegistry) -> None:
    X = data["X"].to_numpy()
    custom = make_pipeline(Doubler(), LogisticRegression()).fit(X, data["binary"])
    with pytest.raises(ConfigError, match=r"Doubler.*will not load"):
        registry.save("spy", custom, feature_names=FEATURES)
    assert registry.list_models() == []

    # an artifact placed by someone else, with checksums that match, is still refused
    saved = registry.save("spy", _fit_pipeline(data), feature_names=FEATURES)
    payload = sio.dumps(custom)
    (saved.path / "model.skops").write_bytes(payload)
    manifest_path = saved.path / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["model.skops"] = hashlib.sha256(payload).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"refusing to load model.skops.*Doubler"):
        registry.load("spy")


def test_trusted_type_allow_list() -> None:
    assert is_trusted_type("sklearn.tree._tree.Tree")
    assert is_trusted_type("numpy.float64")
    assert is_trusted_type("builtins.dict")
    assert not is_trusted_type("builtins.eval")
    assert not is_trusted_type("os.system")
    assert not is_trusted_type("numpy.load")
    assert not is_trusted_type("sklearnx.Model")
    assert not is_trusted_type("tests.test_registry.Doubler")
    assert not is_trusted_type("sklearn.datasets._base.load_iris")


def test_unknown_names_suggest(data: dict[str, Any], registry: ModelRegistry) -> None:
    registry.save("spy-direction", _fit_pipeline(data), feature_names=FEATURES)
    with pytest.raises(NotFoundError, match=r"did you mean 'spy-direction'\?.*models: \["):
        registry.load("spy-directon")
    with pytest.raises(LookupError):
        registry.list_versions("qqq")
    for bad in ["../evil", ".hidden", "", "a b"]:
        with pytest.raises(ConfigError, match="invalid model name"):
            registry.load(bad)
    with pytest.raises(ConfigError, match="invalid model name"):
        registry.save("../evil", _fit_pipeline(data), feature_names=FEATURES)
    assert ModelRegistry(registry.root / "nowhere").list_models() == []


def test_save_rejects_bad_models_and_features(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    with pytest.raises(ConfigError, match=r"builtins.dict.*xgboost.*lightgbm.*skops"):
        registry.save("spy", {"weights": [1, 2]}, feature_names=FEATURES)
    with pytest.raises(ConfigError, match="not fitted"):
        registry.save("spy", LogisticRegression(), feature_names=FEATURES)
    with pytest.raises(ConfigError, match="not fitted"):
        registry.save("spy", xgb.XGBRegressor(), feature_names=FEATURES)
    with pytest.raises(ConfigError, match="not fitted"):
        registry.save("spy", lgb.LGBMClassifier(), feature_names=FEATURES)
    model = _fit_pipeline(data)
    with pytest.raises(ConfigError, match="3 names but the model was fitted on 4"):
        registry.save("spy", model, feature_names=FEATURES[:3])
    with pytest.raises(ConfigError, match="differ from the model's feature_names_in_"):
        registry.save("spy", model, feature_names=FEATURES[::-1])
    with pytest.raises(ConfigError, match="repeats"):
        registry.save("spy", model, feature_names=["a", "a", "b", "c"])
    with pytest.raises(ConfigError, match="list of column names"):
        registry.save("spy", model, feature_names="ret_1")
    assert registry.list_models() == []


def test_no_pickle_imports_in_registry_source() -> None:
    source_dir = Path(mltrainer.registry.__file__).parent
    pattern = re.compile(r"^\s*(import|from)\s+(c?pickle|_pickle|joblib|cloudpickle|dill)\b", re.M)
    sources = list(source_dir.glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        text = source.read_text()
        assert not pattern.search(text), source
        assert "pickle.load" not in text, source
        assert "joblib." not in text, source


def test_lineage_records_and_walks_parents(data: dict[str, Any], registry: ModelRegistry) -> None:
    model = _fit_pipeline(data)
    assert registry.save("spy", model, feature_names=FEATURES).version == 1
    registry.save("spy", model, feature_names=FEATURES, parent=1)  # 2: an update of 1
    registry.save("spy", model, feature_names=FEATURES)  # 3: a fresh retrain
    registry.promote("spy", 2)
    registry.save("spy", model, feature_names=FEATURES, parent=np.int64(2))  # type: ignore[arg-type]
    registry.save("spy", model, feature_names=FEATURES, parent=registry.resolve("spy", "latest"))
    assert registry.metadata("spy", 2)["parent"] == 1
    assert registry.metadata("spy", 3)["parent"] is None
    assert registry.lineage("spy") == [4, 2, 1]
    assert registry.lineage("spy", "production") == [1]
    assert registry.lineage("spy", 3) == []
    assert [r["parent"] for r in registry.list_versions("spy")] == [None, 1, None, 2, 4]
    with pytest.raises(NotFoundError, match=r"parent version 9 of model 'spy' does not exist"):
        registry.save("spy", model, feature_names=FEATURES, parent=9)
    with pytest.raises(NotFoundError, match="parent version 1 of model 'qqq'"):
        registry.save("qqq", model, feature_names=FEATURES, parent=1)
    for bad in (True, "2", 1.0):
        with pytest.raises(ConfigError, match="parent must be a version number"):
            registry.save("spy", model, feature_names=FEATURES, parent=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'parent' is reserved"):
        registry.save("spy", model, feature_names=FEATURES, metadata={"parent": 1})
    assert registry.resolve("spy", "latest") == 5  # refused saves wrote nothing
    # an ancestor folder removed by hand ends the chain
    import shutil

    shutil.rmtree(registry.root / "spy" / "2")
    assert registry.lineage("spy") == [4, 2]


def test_lineage_refuses_parents_that_do_not_go_back(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    model = _fit_pipeline(data)
    registry.save("spy", model, feature_names=FEATURES)
    saved = registry.save("spy", model, feature_names=FEATURES, parent=1)
    meta_path = saved.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["parent"] = 2  # a loop, with the manifest's SHA fixed to match
    payload = json.dumps(meta).encode()
    meta_path.write_bytes(payload)
    manifest_path = saved.path / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["metadata.json"] = hashlib.sha256(payload).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ChecksumError, match="records parent 2, which is not an earlier version"):
        registry.lineage("spy", 2)


def test_list_versions_flags_a_tampered_or_broken_version(
    data: dict[str, Any], registry: ModelRegistry
) -> None:
    model = _fit_pipeline(data)
    for _ in range(4):
        registry.save("spy", model, feature_names=FEATURES, metadata={"scores": {"mean": 0.5}})
    model_dir = registry.root / "spy"
    tampered = model_dir / "2" / "metadata.json"
    tampered.write_text(tampered.read_text().replace('"mean": 0.5', '"mean": 0.9'))
    (model_dir / "3" / "MANIFEST.json").unlink()
    (model_dir / "4" / "metadata.json").unlink()
    rows = {row["version"]: row for row in registry.list_versions("spy")}
    assert rows[1]["ok"] is True
    assert rows[1]["problem"] is None
    assert rows[1]["score"] == 0.5
    for version, reason in ((2, "has SHA-256"), (3, "MANIFEST.json is missing"), (4, "missing")):
        assert rows[version]["ok"] is False
        assert reason in rows[version]["problem"]
        assert rows[version]["score"] is None  # a tampered score is not shown as real
        assert rows[version]["created_at"] is None
