"""Model types: a small catalogue with defaults per task (classification or regression)."""

from mltrainer.models._catalogue import MODEL_CATALOGUE, ModelType, Task, default_params, make_model

__all__ = ["MODEL_CATALOGUE", "ModelType", "Task", "default_params", "make_model"]
