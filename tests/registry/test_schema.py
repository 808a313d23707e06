"""`model.predict` refuses a feature column that is NaN on every row, naming it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from xgboost import XGBClassifier

from mltrainer.exceptions import SchemaError
from mltrainer.registry import ModelRegistry
from mltrainer.registry._schema import check_features

FEATURES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.normal(size=(40, 3)), columns=FEATURES)


def test_an_all_nan_column_is_refused_by_name(frame: pd.DataFrame, tmp_path: Path) -> None:
    model = XGBClassifier(n_estimators=5, max_depth=2).fit(frame, (frame["a"] > 0).astype(int))
    registry = ModelRegistry(tmp_path)
    registry.save("m", model, feature_names=FEATURES)
    loaded = registry.load("m")
    broken = frame.assign(b=np.nan)
    for call in (loaded.predict, loaded.predict_proba):
        with pytest.raises(SchemaError, match=r"feature column\(s\) 'b' are NaN on all 40 rows"):
            call(broken)
    with pytest.raises(SchemaError, match=r"'a', 'c' are NaN"):
        loaded.predict(frame.assign(a=np.nan, c=np.nan))
    # a NaN here and there is data, not a missing column: XGBoost handles it
    holes = frame.copy()
    holes.loc[::2, "b"] = np.nan
    assert len(loaded.predict(holes)) == 40
    # one row with a missing value is accepted (a single live bar)
    assert len(loaded.predict(broken.iloc[:1])) == 1


def test_check_features_passes_empty_and_complete_frames(frame: pd.DataFrame) -> None:
    assert check_features(frame, FEATURES) is frame
    assert len(check_features(frame.iloc[:0], FEATURES)) == 0
