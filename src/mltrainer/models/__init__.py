"""Model types: a catalogue whose entries say everything about their kind, and composites.

Build estimators with :func:`make_model`; ask an entry (:func:`model_type`, or
:func:`model_type_of` for a fitted estimator) for its defaults, search space, thread
parameter, registry format, native importance and online update methods. Composites
(:class:`AveragingComposite`, :class:`VotingComposite`, :class:`StackingComposite`,
:class:`RegimeComposite`) combine fitted members and are saved as one version.
"""

from mltrainer.models._calibrated import CalibratedComposite, apply_calibration, check_calibration
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
    Composite,
    VotingComposite,
    check_member_name,
)
from mltrainer.models._importance import NativeImportance, impurity_importance, model_names
from mltrainer.models._members import PrefitComposite
from mltrainer.models._regime import REGIME_METHODS, RegimeComposite, dwell, regime_probabilities
from mltrainer.models._stacking import (
    META_MEMBER,
    META_TYPES,
    StackingComposite,
    meta_input_names,
    meta_inputs,
)
from mltrainer.models._steps import final_estimator, final_step_name, preprocessing_steps

__all__ = [
    "COMPOSITES",
    "META_MEMBER",
    "META_TYPES",
    "MODEL_CATALOGUE",
    "REGIME_METHODS",
    "UPDATE_METHODS",
    "AveragingComposite",
    "CalibratedComposite",
    "Composite",
    "ModelType",
    "NativeImportance",
    "PrefitComposite",
    "RegimeComposite",
    "StackingComposite",
    "Task",
    "VotingComposite",
    "apply_calibration",
    "check_calibration",
    "check_member_name",
    "default_params",
    "dwell",
    "estimator_params",
    "final_estimator",
    "final_step_name",
    "impurity_importance",
    "make_model",
    "meta_input_names",
    "meta_inputs",
    "model_names",
    "model_type",
    "model_type_of",
    "preprocessing_steps",
    "regime_probabilities",
]
