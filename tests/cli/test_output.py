"""Numbers print for their magnitude; metadata values print as a reader writes them."""

from __future__ import annotations

import numpy as np
import pytest

from mltrainer.cli._output import fmt, plain


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.5196182396606576, "0.5196"),
        (-0.7212965369224549, "-0.7213"),
        (-2.56e-05, "-2.560e-05"),  # was -0.0000
        (3.2e-07, "3.200e-07"),
        (0.0, "0.0000"),
        (123456.789, "123456.7890"),
        (12345678.9, "1.235e+07"),
        (np.float32(0.25), "0.2500"),
        (np.int64(4715), "4715"),
        (7, "7"),
        (float("nan"), "NaN"),
        (float("-inf"), "-inf"),
        (True, "True"),
        ("purged_kfold", "purged_kfold"),
    ],
)
def test_fmt_keeps_the_magnitude(value: object, shown: str) -> None:
    assert fmt(value) == shown


def test_small_scores_never_print_as_zero() -> None:
    for exponent in range(-12, -3):
        for sign in (1, -1):
            text = fmt(sign * 2.56 * 10.0**exponent)
            assert float(text) != 0.0, text
            assert len(text) <= 10


def test_plain_values() -> None:
    label = {"name": "direction", "horizon": 5, "classes": [0.0, 1.0]}
    assert plain(label) == "name=direction, horizon=5, classes=[0, 1]"
    assert plain({"classes": [-1.0, 0.0, 1.0]}) == "classes=[-1, 0, 1]"
    assert plain({"embargo": "5", "gap": None}) == "embargo=5, gap=none"
    assert plain({"roc_auc": 0.5068020381345761}) == "roc_auc=0.5068"
    assert plain(["a", 2.5]) == "[a, 2.5000]"
