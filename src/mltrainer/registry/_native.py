"""Boosters in their libraries' own formats: XGBoost JSON and LightGBM text."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mltrainer.exceptions import ConfigError
from mltrainer.registry._lightgbm import LightGBMClassifierAdapter, LightGBMRegressorAdapter
from mltrainer.registry._metadata import to_jsonable
from mltrainer.registry._protocol import from_library, not_fitted, qualified, single_file


class XGBoostFormat:
    """XGBoost ``XGBClassifier`` / ``XGBRegressor`` as XGBoost JSON (``<stem>.json``)."""

    name: ClassVar[str] = "xgboost"

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` is an XGBoost classifier or regressor wrapper."""
        if not from_library(model, "xgboost"):
            return False
        import xgboost as xgb

        return isinstance(model, (xgb.XGBClassifier, xgb.XGBRegressor))

    def save(self, model: Any, directory: Path, *, stem: str = "model") -> dict[str, Any]:
        """Write ``<stem>.json`` (``save_model``); the options name the wrapper class."""
        import xgboost as xgb
        from sklearn.exceptions import NotFittedError

        try:
            model.get_booster()
        except NotFittedError as exc:
            raise not_fitted(model) from exc
        estimator = "XGBClassifier" if isinstance(model, xgb.XGBClassifier) else "XGBRegressor"
        filename = f"{stem}.json"
        model.save_model(directory / filename)
        return {"files": [filename], "estimator": estimator}

    def load(self, files: Mapping[str, bytes], options: Mapping[str, Any]) -> Any:
        """Load into a fresh ``XGBClassifier()`` or ``XGBRegressor()``."""
        import xgboost as xgb

        classes = {"XGBClassifier": xgb.XGBClassifier, "XGBRegressor": xgb.XGBRegressor}
        estimator = options.get("estimator")
        if estimator not in classes:
            raise ConfigError(
                f"MANIFEST.json names xgboost estimator {estimator!r}; expected one of "
                f"{sorted(classes)}: re-save the model with this version of mltrainer"
            )
        model = classes[estimator]()
        model.load_model(bytearray(single_file(files, options, fmt=self.name)))
        return model


class LightGBMFormat:
    """LightGBM ``LGBMClassifier`` / ``LGBMRegressor`` as LightGBM text (``<stem>.txt``)."""

    name: ClassVar[str] = "lightgbm"

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` is a LightGBM classifier or regressor wrapper."""
        if not from_library(model, "lightgbm"):
            return False
        import lightgbm as lgb

        return isinstance(model, (lgb.LGBMClassifier, lgb.LGBMRegressor))

    def save(self, model: Any, directory: Path, *, stem: str = "model") -> dict[str, Any]:
        """Write ``<stem>.txt``; the options hold the classes (with dtype), importance type."""
        import lightgbm as lgb

        try:
            booster = model.booster_
        except (AttributeError, ValueError) as exc:  # LGBMNotFittedError is both
            raise not_fitted(model) from exc
        if callable(model.objective):
            raise ConfigError(
                f"model {qualified(model)} has a custom objective function, which cannot be "
                "stored; refit it with a built-in objective string"
            )
        filename = f"{stem}.txt"
        booster.save_model(str(directory / filename))
        options: dict[str, Any] = {
            "files": [filename],
            "estimator": "LGBMRegressor",
            "importance_type": str(model.importance_type),
        }
        if isinstance(model, lgb.LGBMClassifier):
            classes = np.asarray(model.classes_)
            options["estimator"] = "LGBMClassifier"
            options["classes"] = to_jsonable(classes, where="classes_")
            options["classes_dtype"] = classes.dtype.str if classes.dtype.kind in "biufU" else None
        return options

    def load(self, files: Mapping[str, bytes], options: Mapping[str, Any]) -> Any:
        """Load into a :class:`LightGBMClassifierAdapter` or :class:`LightGBMRegressorAdapter`."""
        import lightgbm as lgb

        data = single_file(files, options, fmt=self.name)
        booster = lgb.Booster(model_str=data.decode("utf-8"))
        importance_type = str(options.get("importance_type", "split"))
        if options.get("estimator") == "LGBMClassifier":
            dtype = options.get("classes_dtype")
            classes = np.asarray(options["classes"], dtype=np.dtype(dtype) if dtype else object)
            return LightGBMClassifierAdapter(
                booster, classes=classes, importance_type=importance_type
            )
        return LightGBMRegressorAdapter(booster, importance_type=importance_type)
