"""Versioned model artifacts in safe formats, with checksums, atomic writes and aliases.

Layout: ``<root>/<name>/<version>/`` holds the model file (XGBoost JSON, LightGBM text or
skops), ``metadata.json`` and ``MANIFEST.json`` (SHA-256 of every other file);
``<root>/<name>/aliases.json`` maps aliases such as ``production`` to versions. No pickle
is ever written or read.
"""

from mltrainer.registry._formats import ModelFormat, is_trusted_type
from mltrainer.registry._lightgbm import LightGBMClassifierAdapter, LightGBMRegressorAdapter
from mltrainer.registry._loaded import LoadedModel
from mltrainer.registry._registry import ModelRegistry, ModelVersion, load_model

__all__ = [
    "LightGBMClassifierAdapter",
    "LightGBMRegressorAdapter",
    "LoadedModel",
    "ModelFormat",
    "ModelRegistry",
    "ModelVersion",
    "is_trusted_type",
    "load_model",
]
