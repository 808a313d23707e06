"""Model types: a small catalogue with defaults per task, and composites of fitted members."""

from mltrainer.models._catalogue import MODEL_CATALOGUE, ModelType, Task, default_params, make_model
from mltrainer.models._composite import (
    COMPOSITES,
    AveragingComposite,
    Composite,
    check_member_name,
)
from mltrainer.models._steps import final_estimator, final_step_name, preprocessing_steps

__all__ = [
    "COMPOSITES",
    "MODEL_CATALOGUE",
    "AveragingComposite",
    "Composite",
    "ModelType",
    "Task",
    "check_member_name",
    "default_params",
    "final_estimator",
    "final_step_name",
    "make_model",
    "preprocessing_steps",
]
