"""`mltrainer explain`, `mltrainer decisions` and `mltrainer predict --critical`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mltrainer.cli import main

FAST = [
    *("--set", "data.start=2013-01-01", "--set", "model.params.n_estimators=30"),
    *("--set", "cv.n_splits=3", "--set", "explain.global_rows_per_fold=50", "--quiet"),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


def test_train_predict_with_a_rule_then_list_decisions(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    assert main(["train", *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", "sp500-direction", "--data", "sp500", "--out", "p.csv"]) == 0
    assert "critical decisions" not in capsys.readouterr().out  # no rule stored: no records
    argv = ["predict", "sp500-direction", "--data", "sp500", "--out", "p.csv",
            "--critical", "probability_above=0.6", "--critical", "every_n=250"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().out  # with --out the notes go to stdout
    count = int(re.search(r"(\d+) critical decisions recorded", err).group(1))  # type: ignore[union-attr]
    written = pd.read_csv(workdir / "p.csv")
    assert written["decision_id"].notna().sum() == count > 0

    assert main(["decisions", "sp500-direction", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == count
    assert {"decision_id", "artifact_sha256", "contributions", "versions"} <= set(lines[0])
    assert main(["decisions", "sp500-direction", "--since", "2018-06-01", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "Critical decisions of sp500-direction (3)" in out
    assert main(["decisions", "sp500-direction", "--id", lines[-1]["decision_id"]]) == 0
    assert json.loads(capsys.readouterr().out)["decision_time"] == lines[-1]["decision_time"]
    assert main(["decisions", "sp500-direction", "--id", "1-0"]) == 2
    assert "no decision '1-0'" in capsys.readouterr().err
    assert (
        main(["predict", "sp500-direction", "--data", "sp500", "--critical", "probabilty=1"]) == 2
    )
    assert "did you mean 'probability_above'" in capsys.readouterr().err


def test_explain_prints_additivity_global_table_lime_and_writes_plots(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    argv = ["explain", "sp500-direction", "--data", "sp500", "--since", "2018-06-01",
            "--plot", "explain.html", "--out", "contributions.csv", "--lime", "1",
            "--lime-samples", "300", "--lime-repeats", "3"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "method tree" in out
    assert "margin space" in out
    assert "holds" in out
    assert "training (out of fold)" in out
    assert re.search(r"LIME .* stability \d\.\d\d .* agreement with SHAP top-5", out)
    html = (workdir / "explain.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*src=[\"']?https?:", html)
    table = pd.read_csv(workdir / "contributions.csv")
    assert pd.Timestamp(table.iloc[0, 0]) >= pd.Timestamp("2018-06-01", tz="UTC")
    features = [c for c in table.columns[1:] if c not in ("base", "output")]
    assert (table["base"] + table[features].sum(axis=1) - table["output"]).abs().max() < 1e-5
    assert main(["explain", "sp500-direction", "--data", "sp500", "--method", "permutation",
                 "--max-rows", "10"]) == 2  # fmt: skip
    assert re.search(r"would take about .* at most 10 rows", capsys.readouterr().err)
    assert main(["explain", "sp500-direction", "--data", "sp500", "--since", "2030-01-01"]) == 2
    assert "widen the window" in capsys.readouterr().err


@pytest.mark.redis
def test_predict_records_into_a_real_redis_stream(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
) -> None:
    import redis

    monkeypatch.chdir(workdir)
    if not (workdir / "models").exists():
        assert main(["train", *FAST]) == 0
    prefix = "test-cli-decisions"
    argv = ["predict", "sp500-direction", "--data", "sp500", "--store", redis_url,
            "--prefix", prefix, "--critical", "every_n=500"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    client = redis.Redis.from_url(redis_url)
    key = f"{prefix}:stream:decisions/sp500-direction"
    try:
        assert client.type(key) == b"stream"
        entries = client.xrange(key)
        assert len(entries) >= 5
        first = json.loads(entries[0][1][b"json"])
        assert first["model"] == "sp500-direction"
        assert first["reasons"] == ["one of every 500 decisions"]
        assert main(["decisions", "sp500-direction", "--store", redis_url, "--prefix", prefix,
                     "--json"]) == 0  # fmt: skip
        lines = capsys.readouterr().out.splitlines()
        assert [json.loads(line)["decision_id"] for line in lines] == [
            e.decode() for e, _ in entries
        ]
    finally:
        client.delete(key)
        client.close()
