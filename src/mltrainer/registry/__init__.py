"""Versioned model artifacts in safe formats, with checksums, atomic writes and aliases.

Layout: ``<root>/<name>/<version>/`` holds the model's files (XGBoost JSON, LightGBM text
or skops; a composite adds ``spec.json`` and one ``member-<name>.*`` file per member),
``metadata.json`` and ``MANIFEST.json`` (the format, its options and the SHA-256 of every
other file); ``<root>/<name>/aliases.json`` maps aliases such as ``production`` to
versions. No pickle is ever written or read, and skops files load only when every object
in them has one of the exact types :func:`is_trusted_type` accepts.
"""

from mltrainer.registry._loaded import LoadedModel
from mltrainer.registry._registry import ModelRegistry, ModelVersion, load_model

__all__ = [
    "LoadedModel",
    "ModelRegistry",
    "ModelVersion",
    "load_model",
]
