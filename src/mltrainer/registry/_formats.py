"""Model file formats: one small class per library behind a Protocol; no pickle anywhere.

* ``xgboost``: XGBoost scikit-learn wrappers, ``model.json`` (XGBoost's own JSON).
* ``lightgbm``: LightGBM scikit-learn wrappers, ``model.txt`` (LightGBM's text model),
  loaded into a :class:`LightGBMClassifierAdapter` / :class:`LightGBMRegressorAdapter`.
* ``skops``: any other scikit-learn estimator or pipeline, ``model.skops``, loaded only
  when every type it holds is on an allow-list (scikit-learn, NumPy, a few builtins).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from mltrainer.exceptions import ConfigError
from mltrainer.registry._lightgbm import LightGBMClassifierAdapter, LightGBMRegressorAdapter
from mltrainer.registry._metadata import to_jsonable

_ALLOWED_PREFIXES = ("sklearn.", "numpy.")
# parts of the allowed libraries that read, write or fetch files: refused all the same
_DENIED_PREFIXES = (
    "numpy.load",
    "numpy.save",
    "numpy.fromfile",
    "numpy.memmap",
    "numpy.lib.npyio",
    "numpy.lib._npyio_impl",
    "numpy.ctypeslib",
    "numpy.f2py",
    "numpy.testing",
    "sklearn.datasets",
)
_ALLOWED_BUILTINS = frozenset(
    [
        "builtins.NoneType",
        "builtins.bool",
        "builtins.int",
        "builtins.float",
        "builtins.complex",
        "builtins.str",
        "builtins.bytes",
        "builtins.list",
        "builtins.tuple",
        "builtins.dict",
        "builtins.set",
        "builtins.frozenset",
        "builtins.slice",
        "collections.OrderedDict",
    ]
)


def is_trusted_type(qualified_name: str) -> bool:
    """Return whether a type named by skops may be loaded.

    Parameters
    ----------
    qualified_name : str
        ``module.QualName`` as returned by ``skops.io.get_untrusted_types``.
    """
    if qualified_name in _ALLOWED_BUILTINS:
        return True
    return qualified_name.startswith(_ALLOWED_PREFIXES) and not qualified_name.startswith(
        _DENIED_PREFIXES
    )


def _qualified(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _from_library(model: Any, library: str) -> bool:
    """True when a class in ``model``'s MRO comes from ``library`` (no import needed)."""
    return any(
        cls.__module__ == library or cls.__module__.startswith(f"{library}.")
        for cls in type(model).__mro__
    )


class ModelFormat(Protocol):
    """How one kind of model is written to, and read back from, a version directory."""

    name: ClassVar[str]
    filename: ClassVar[str]

    def accepts(self, model: Any) -> bool:
        """Return whether this format can store ``model``."""
        ...

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        """Write ``model`` to ``directory / filename``; return JSON options needed to load it."""
        ...

    def load(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """Rebuild the model from the (already verified) bytes of its file and the options."""
        ...


class XGBoostFormat:
    """XGBoost ``XGBClassifier`` / ``XGBRegressor`` as XGBoost JSON (``save_model``)."""

    name: ClassVar[str] = "xgboost"
    filename: ClassVar[str] = "model.json"

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` is an XGBoost classifier or regressor wrapper."""
        if not _from_library(model, "xgboost"):
            return False
        import xgboost as xgb

        return isinstance(model, (xgb.XGBClassifier, xgb.XGBRegressor))

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        """Write ``model.json``; the options name the wrapper class."""
        import xgboost as xgb
        from sklearn.exceptions import NotFittedError

        try:
            model.get_booster()
        except NotFittedError as exc:
            raise ConfigError(
                f"model {_qualified(model)} is not fitted; call fit() before saving it"
            ) from exc
        estimator = "XGBClassifier" if isinstance(model, xgb.XGBClassifier) else "XGBRegressor"
        model.save_model(directory / self.filename)
        return {"estimator": estimator}

    def load(self, data: bytes, options: Mapping[str, Any]) -> Any:
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
        model.load_model(bytearray(data))
        return model


class LightGBMFormat:
    """LightGBM ``LGBMClassifier`` / ``LGBMRegressor`` as LightGBM text (``model.txt``)."""

    name: ClassVar[str] = "lightgbm"
    filename: ClassVar[str] = "model.txt"

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` is a LightGBM classifier or regressor wrapper."""
        if not _from_library(model, "lightgbm"):
            return False
        import lightgbm as lgb

        return isinstance(model, (lgb.LGBMClassifier, lgb.LGBMRegressor))

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        """Write ``model.txt``; the options hold the classes (with dtype) and importance type."""
        import lightgbm as lgb

        try:
            booster = model.booster_
        except (AttributeError, ValueError) as exc:  # LGBMNotFittedError is both
            raise ConfigError(
                f"model {_qualified(model)} is not fitted; call fit() before saving it"
            ) from exc
        if callable(model.objective):
            raise ConfigError(
                f"model {_qualified(model)} has a custom objective function, which cannot be "
                "stored; refit it with a built-in objective string"
            )
        booster.save_model(str(directory / self.filename))
        options: dict[str, Any] = {
            "estimator": "LGBMRegressor",
            "importance_type": str(model.importance_type),
        }
        if isinstance(model, lgb.LGBMClassifier):
            classes = np.asarray(model.classes_)
            options["estimator"] = "LGBMClassifier"
            options["classes"] = to_jsonable(classes, where="classes_")
            options["classes_dtype"] = classes.dtype.str if classes.dtype.kind in "biufU" else None
        return options

    def load(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """Load into a :class:`LightGBMClassifierAdapter` or :class:`LightGBMRegressorAdapter`."""
        import lightgbm as lgb

        booster = lgb.Booster(model_str=data.decode("utf-8"))
        importance_type = str(options.get("importance_type", "split"))
        if options.get("estimator") == "LGBMClassifier":
            dtype = options.get("classes_dtype")
            classes = np.asarray(options["classes"], dtype=np.dtype(dtype) if dtype else object)
            return LightGBMClassifierAdapter(
                booster, classes=classes, importance_type=importance_type
            )
        return LightGBMRegressorAdapter(booster, importance_type=importance_type)


class SkopsFormat:
    """Any scikit-learn estimator or pipeline of scikit-learn/NumPy parts, via ``skops.io``."""

    name: ClassVar[str] = "skops"
    filename: ClassVar[str] = "model.skops"

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` is a scikit-learn estimator."""
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    @staticmethod
    def _refused(data: bytes) -> tuple[list[str], list[str]]:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=data)
        return untrusted, [name for name in untrusted if not is_trusted_type(name)]

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        """Write ``model.skops``; refuse models that could not be loaded back safely."""
        import skops.io as sio
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(model)
        except NotFittedError as exc:
            raise ConfigError(
                f"model {_qualified(model)} is not fitted; call fit() before saving it"
            ) from exc
        data = sio.dumps(model)
        _, refused = self._refused(data)
        if refused:
            raise ConfigError(
                f"model {_qualified(model)} holds type(s) {', '.join(refused)} that the registry "
                "will not load (only sklearn.*, numpy.* and builtin types are trusted); "
                "build the model from scikit-learn parts only"
            )
        (directory / self.filename).write_bytes(data)
        return {"estimator": _qualified(model)}

    def load(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """Load after checking every type in the file against the allow-list."""
        import skops.io as sio

        untrusted, refused = self._refused(data)
        if refused:
            raise ConfigError(
                f"refusing to load {self.filename}: it holds untrusted type(s) "
                f"{', '.join(refused)} (only sklearn.*, numpy.* and builtin types are loaded); "
                "re-save the model from scikit-learn parts only"
            )
        return sio.loads(data, trusted=untrusted)


FORMATS: tuple[ModelFormat, ...] = (XGBoostFormat(), LightGBMFormat(), SkopsFormat())


def format_for(model: Any) -> ModelFormat:
    """Return the format that stores ``model``.

    Raises
    ------
    ConfigError
        If no format supports the model's type.
    """
    for fmt in FORMATS:
        if fmt.accepts(model):
            return fmt
    raise ConfigError(
        f"cannot save a model of type {_qualified(model)}: supported are xgboost "
        "XGBClassifier/XGBRegressor ('xgboost'), lightgbm LGBMClassifier/LGBMRegressor "
        "('lightgbm') and scikit-learn estimators or pipelines ('skops')"
    )


def format_named(name: object) -> ModelFormat:
    """Return the format called ``name`` (as recorded in MANIFEST.json).

    Raises
    ------
    ConfigError
        If no format has that name.
    """
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise ConfigError(
        f"MANIFEST.json names format {name!r}; known formats are "
        f"{[fmt.name for fmt in FORMATS]}: upgrade mltrainer to load this model"
    )
