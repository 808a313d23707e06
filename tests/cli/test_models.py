"""`models list/show` and `predict` as a new user reads them.

`predict` uses the `production` alias when there is one, says which version predicted and
how many rows went to the warm-up, and prints integer labels as integers; `models list`
prints numbers for their magnitude on one line and flags a tampered version; `models show`
prints classes as [0, 1] and the embargo as 5.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from mltrainer.cli import main
from mltrainer.registry import ModelRegistry
from tests.cli.conftest import NAME


def _predict(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[pd.DataFrame, str]:
    assert main(["predict", NAME, "--data", "sp500", *extra]) == 0
    captured = capsys.readouterr()
    csv = Path("predictions.csv")
    csv.write_text(captured.out, encoding="utf-8")
    return pd.read_csv(csv, dtype={"prediction": str}), captured.err


def test_predict_uses_production_and_says_which_version(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latest, note = _predict(capsys)
    assert f"Predicted with {NAME} v2 (latest; no 'production' alias)" in note
    assert main(["models", "promote", NAME, "1"]) == 0
    capsys.readouterr()
    production, note = _predict(capsys)
    assert f"Predicted with {NAME} v1 (alias 'production')" in note
    explicit, note = _predict(capsys, "--version", "1")
    assert f"Predicted with {NAME} v1 (--version 1)" in note
    pd.testing.assert_frame_equal(production, explicit)  # production is version 1
    assert not np.allclose(production["proba_1"], latest["proba_1"])  # not the latest
    assert set(production["prediction"]) <= {"0", "1"}  # not 1.0 / 0.0


def test_predict_says_how_many_rows_went_to_the_warm_up(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", NAME, "--data", "sp500", "--out", "out/p.csv"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"(\d+) of (\d+) rows; (\d+) went to the features' warm-up", out)
    assert found, out
    n_pred, n_bars, n_warmup = map(int, found.groups())
    assert n_warmup > 0
    assert n_pred + n_warmup == n_bars == 5031  # every bundled S&P 500 bar is accounted for
    assert len(pd.read_csv("out/p.csv")) == n_pred


def test_models_show_prints_plain_values(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "show", NAME]) == 0
    out = capsys.readouterr().out
    assert "classes=[0, 1]" in out
    assert "embargo=5," in out
    assert "'5'" not in out
    assert "0.0, 1.0" not in out
    mean = re.search(r"mean scores: (.*)", out)
    assert mean
    assert re.fullmatch(r"(\w+=-?\d\.\d{4}(, )?)+", mean.group(1)), mean.group(1)


def _save(registry: ModelRegistry, scores: dict[str, float]) -> None:
    model = Ridge().fit(np.eye(3)[:, :2], [0.0, 1.0, 2.0])
    registry.save("reg", model, feature_names=["a", "b"], metadata={"scores": {"mean": scores}})


def test_models_list_formats_numbers_and_flags_a_tampered_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    registry = ModelRegistry("models")
    _save(registry, {"neg_mean_squared_error": -2.56e-05, "r2": 0.5196182396606576})
    _save(registry, {"neg_mean_squared_error": -3.1e-05, "r2": 0.25})
    meta = tmp_path / "models" / "reg" / "2" / "metadata.json"
    edited = json.loads(meta.read_text(encoding="utf-8"))
    edited["scores"]["mean"]["r2"] = 0.99  # someone improves the score by hand
    meta.write_text(json.dumps(edited), encoding="utf-8")

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if "│ reg" in line}
    assert set(rows) == {"1", "2"}  # one line per version: nothing wraps
    assert "neg_mean_squared_error=-2.560e-05, r2=0.5196" in rows["1"]
    assert "0.5196182396606576" not in out
    assert "-0.0000" not in out
    assert " ok " in rows["1"]
    assert "FAILED" in rows["2"]
    assert "0.99" not in rows["2"]  # a tampered version's content is not shown as fact
    problem = [line for line in out.splitlines() if line.startswith("check failed reg v2:")]
    assert len(problem) == 1
    assert "metadata.json" in problem[0]


def test_predict_checks_out_before_loading(
    trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def loaded(*args: object, **kwargs: object) -> None:
        raise AssertionError("bars loaded before --out was checked")

    monkeypatch.setattr("mltrainer.pipeline._predict.load_bars", loaded)
    Path("a-file").write_text("x", encoding="utf-8")
    for out, message in (("a-file/p.csv", "'a-file' is a file"), (".", "is a folder")):
        assert main(["predict", NAME, "--data", "sp500", "--out", out]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --out")
        assert message in err
        assert len(err.splitlines()) == 1
