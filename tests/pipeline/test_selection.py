"""The Trainer's ``selection`` section and ``mltrainer importance``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mltrainer import Trainer, load_bars, load_model, predict_bars
from mltrainer.cli import main
from mltrainer.config import config_from_dict
from mltrainer.exceptions import ConfigError
from tests.conftest import run_config


def _config(tmp_path: Path, selection: dict[str, Any], **sections: Any) -> Any:
    defaults: dict[str, Any] = {
        "name": "sel-direction",
        "data": {"start": "2014-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 30}},
    }
    return run_config(tmp_path, **{**defaults, **sections, "selection": selection})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    tmp = tmp_path_factory.mktemp("selection")
    config = _config(tmp, {"method": "permutation", "top_k": 6, "n_repeats": 2})
    return tmp, Trainer(config).run()


def test_selected_model_is_saved_plain_on_its_columns(trained: tuple[Path, Any]) -> None:
    tmp, result = trained
    assert len(result.feature_names) == 6
    model = load_model("sel-direction", root=tmp / "models")
    assert model.feature_names == result.feature_names
    assert type(model.estimator).__name__ == "XGBClassifier"  # not a Pipeline or selector
    out = predict_bars(model, load_bars("sp500", start="2017-06-01"))
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].sum(axis=1), 1.0, rtol=1e-6)


def test_metadata_records_importances_folds_and_stability(trained: tuple[Path, Any]) -> None:
    tmp, result = trained
    meta = load_model("sel-direction", root=tmp / "models").metadata["selection"]
    assert meta["method"] == "permutation"
    assert meta["selected"] == meta["ranking"][:6]
    assert sorted(meta["selected"]) == sorted(result.feature_names)
    assert meta["n_candidates"] > 6
    assert set(meta["importances"]) == set(meta["ranking"])
    assert {"mean", "std"} == set(next(iter(meta["importances"].values())))
    assert len(meta["folds"]) == 3
    assert all(len(fold) == 6 for fold in meta["folds"])
    assert 0.0 <= meta["stability"] <= 1.0
    assert meta["scoring"] == "roc_auc"  # the run's headline scorer


def test_importance_command_prints_a_ranked_table_and_writes_html(
    trained: tuple[Path, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, result = trained
    html = tmp_path / "importance.html"
    code = main(["importance", "sel-direction", "--root", str(tmp / "models"), "--plot", str(html)])
    out = capsys.readouterr().out
    assert code == 0
    assert result.feature_names[0] in out
    assert "stability" in out
    assert "plotly" in html.read_text(encoding="utf-8")[:200_000].lower()
    code = main(["importance", "sel-direction", "--root", str(tmp / "models"), "--plot", "x.svg"])
    assert code == 2


def test_linear_model_with_uniqueness_weights_and_clustered(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {"method": "clustered", "n_repeats": 1, "n_splits": 2},
        model={"type": "logistic"},
        cv={"n_splits": 3, "sample_weight": "uniqueness"},
    )
    result = Trainer(config).run()
    model = load_model("sel-direction", root=tmp_path / "models")
    assert model.feature_names == result.feature_names
    assert type(model.estimator).__name__ == "Pipeline"  # the plain scaled logistic model
    assert model.metadata["selection"]["method"] == "clustered"


def test_default_is_no_selection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, {"method": "none"})
    assert config_from_dict({}).selection.method == "none"
    result = Trainer(config).run()
    meta = load_model("sel-direction", root=tmp_path / "models").metadata
    assert "selection" not in meta
    assert result.feature_names == meta["features"]["names"]
    assert len(result.feature_names) >= 15
    # importance falls back to the saved tree model's in-sample gain
    assert main(["importance", "sel-direction", "--root", str(tmp_path / "models")]) == 0
    assert "gain (in-sample" in capsys.readouterr().out


def test_bad_selection_settings_fail_before_cross_validation(tmp_path: Path) -> None:
    gain = _config(tmp_path, {"method": "gain"}, model={"type": "logistic"})
    with pytest.raises(ConfigError, match=r"selection\.method: 'gain' needs a tree model"):
        Trainer(gain).run()
    too_many = _config(tmp_path, {"method": "permutation", "top_k": 500})
    with pytest.raises(ConfigError, match=r"selection\.top_k=500 is larger than"):
        Trainer(too_many).run()
    with pytest.raises(ConfigError, match="did you mean 'method'"):
        _config(tmp_path, {"metod": "gain"})
