"""Model types: a small catalogue with defaults per task (classification or regression)."""

from mltrainer.models._catalogue import MODEL_CATALOGUE, ModelType, Task, default_params, make_model
from mltrainer.models._steps import final_estimator, final_step_name, preprocessing_steps

__all__ = [
    "MODEL_CATALOGUE",
    "ModelType",
    "Task",
    "default_params",
    "final_estimator",
    "final_step_name",
    "make_model",
    "preprocessing_steps",
]
