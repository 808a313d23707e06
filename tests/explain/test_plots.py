"""The offline HTML plots: summary, bar, waterfall, dependence; no script from the network."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.exceptions import ConfigError
from mltrainer.explain import dependence_figure, explain, write_explanation_html
from mltrainer.models import make_model


def test_html_opens_offline_with_the_four_views(
    tmp_path: Path, frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = make_model("xgboost", "classification", {"n_estimators": 30}).fit(
        frame, targets["multiclass"]
    )
    result = explain(model, frame.iloc[:120])
    path = write_explanation_html(tmp_path / "out" / "explain.html", result, title="t <x>")
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?https?:", text, re.IGNORECASE)
    assert "Plotly.newPlot" in text
    assert len(re.findall(r"Plotly\.newPlot", text)) == 4
    assert text.count("plotly.js v") <= 2  # the library embedded once
    assert len(text) > 3_000_000  # ... in full (about 4.6 MB)
    for heading in ("Summary", "Global importance", "One decision", "Dependence"):
        assert f"<h2>{heading}</h2>" in text
    assert "t &lt;x&gt;" in text
    assert [p.name for p in path.parent.iterdir()] == ["explain.html"]  # no temp file left


def test_dependence_colours_by_the_interaction_partner(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = make_model("xgboost", "classification", {"n_estimators": 60}).fit(
        frame, targets["binary"]
    )
    result = explain(model, frame)
    figure = dependence_figure(result, "f1")
    assert "coloured by f2" in figure.layout.title.text  # f1 acts through f1 * f2
    with pytest.raises(ConfigError, match="feature 'nope' is not explained"):
        dependence_figure(result, "nope")
    with pytest.raises(ConfigError, match="no rows"):
        write_explanation_html("x.html", result.rows(slice(0, 0)))
