"""Model types: a catalogue whose entries say everything about their kind, and composites.

Build estimators with :func:`make_model`; ask an entry (:func:`model_type`, or
:func:`model_type_of` for a fitted estimator) for its defaults, search space, thread
parameter, registry format, native importance and online update methods. Composites
(:class:`AveragingComposite`, ...) combine fitted members and are saved as one version.
"""

from mltrainer.models._catalogue import (
    MODEL_CATALOGUE,
    UPDATE_METHODS,
    ModelType,
    Task,
    default_params,
    estimator_params,
    make_model,
    model_type,
    model_type_of,
)
from mltrainer.models._composite import (
    COMPOSITES,
    AveragingComposite,
    CalibratedComposite,
    Composite,
    apply_calibration,
    check_calibration,
    check_member_name,
)
from mltrainer.models._importance import model_names
from mltrainer.models._steps import final_estimator, final_step_name, preprocessing_steps

__all__ = [
    "COMPOSITES",
    "MODEL_CATALOGUE",
    "UPDATE_METHODS",
    "AveragingComposite",
    "CalibratedComposite",
    "Composite",
    "ModelType",
    "Task",
    "apply_calibration",
    "check_calibration",
    "check_member_name",
    "default_params",
    "estimator_params",
    "final_estimator",
    "final_step_name",
    "make_model",
    "model_names",
    "model_type",
    "model_type_of",
    "preprocessing_steps",
]
