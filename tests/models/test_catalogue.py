"""Model catalogue: every type builds for its tasks, defaults apply, errors name the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mltrainer.exceptions import ConfigError
from mltrainer.models import MODEL_CATALOGUE, default_params, make_model

CASES = [(name, task) for name, entry in MODEL_CATALOGUE.items() for task in entry.tasks]


@pytest.mark.parametrize(("name", "task"), CASES)
def test_each_model_fits_and_predicts(name: str, task: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    signal = X[:, 0] - 0.5 * X[:, 1]
    y = (signal > 0).astype(int) if task == "classification" else signal
    model = make_model(
        name,
        task,
        {"n_estimators": 20} if "n_estimators" in default_params(name, task) else None,
        random_state=0,
    )
    model.fit(X, y)
    prediction = model.predict(X)
    assert prediction.shape == (300,)
    if task == "classification":
        assert (prediction == y).mean() > 0.8
        assert model.predict_proba(X).shape == (300, 2)
    else:
        assert np.corrcoef(prediction, y)[0, 1] > 0.8


def test_same_seed_same_model() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    a = make_model("xgboost", "classification", {"n_estimators": 30}, random_state=7).fit(X, y)
    b = make_model("xgboost", "classification", {"n_estimators": 30}, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_params_override_defaults() -> None:
    model = make_model("random_forest", "regression", {"max_depth": 2})
    assert model.get_params()["max_depth"] == 2
    assert (
        model.get_params()["min_samples_leaf"]
        == default_params("random_forest", "regression")["min_samples_leaf"]
    )


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (("xgbost", "classification", None), "did you mean 'xgboost'"),
        (("logistic", "regression", None), "does not do regression"),
        (("ridge", "classification", None), "does not do classification"),
        (("lightgbm", "regression", {"num_leave": 4}), "did you mean 'num_leaves'"),
        (("random_forest", "classification", {"max_dept": 4}), "did you mean 'max_depth'"),
    ],
)
def test_bad_model_settings(args: tuple, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        make_model(*args)


def test_each_catalogue_entry_is_the_truth_the_registry_and_tuning_read(
    tmp_path: Path,
) -> None:
    """The format, search space and importance of every type come from its entry."""
    import numpy as np
    import pandas as pd

    from mltrainer.models import MODEL_CATALOGUE, make_model, model_type_of
    from mltrainer.registry import ModelRegistry
    from mltrainer.selection import supports_tree_importance
    from mltrainer.tuning import search_space

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    labels = {"classification": (X["a"] > 0).astype(int), "regression": X["a"] * 2.0}
    registry = ModelRegistry(tmp_path)
    for name, entry in MODEL_CATALOGUE.items():
        for task in entry.tasks:
            model = make_model(name, task, random_state=0).fit(X, labels[task])
            assert model_type_of(model) is entry
            saved = registry.save(f"{name}-{task}", model, feature_names=list(X.columns))
            assert registry.metadata(saved.name)["format"] == entry.registry_format
            assert set(search_space(name, task=task)) == set(entry.search_space)
            assert supports_tree_importance(model) == (entry.importance is not None)


def test_sgd_trains_from_the_cli(tmp_path: Path) -> None:
    from mltrainer.cli import main
    from mltrainer.registry import load_model

    args = ["train", "--set", "model.type=sgd", "--set", "data.start=2016-01-01"]
    args += ["--set", f"registry.root={tmp_path / 'models'}"]
    args += ["--set", f"store.url=sqlite:///{tmp_path / 'store.db'}"]
    assert main(args) == 0
    model = load_model("sp500-direction", root=tmp_path / "models")
    assert model.metadata["model_type"] == "sgd"
    assert type(model.native()).__name__ == "SGDClassifier"
    assert model.metadata["params"]["model__loss"] == "log_loss"
