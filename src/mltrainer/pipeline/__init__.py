"""The pipeline: the training plan (config -> dataset, splitter, scorers, estimator) and the
Trainer on it; predictions on new bars with a registered model."""

from mltrainer.pipeline._dataset import Dataset, build_dataset, encode_classes
from mltrainer.pipeline._destinations import (
    check_destinations,
    check_output_file,
    check_registry_root,
    check_store,
)
from mltrainer.pipeline._params import load_best_params
from mltrainer.pipeline._plan import FinalFit, Plan, check_config, min_rows
from mltrainer.pipeline._predict import load_bars_for, model_features, predict_bars
from mltrainer.pipeline._retrain import retrain
from mltrainer.pipeline._trainer import ProgressCallback, Trainer, TrainResult, oof_frame

__all__ = [
    "Dataset",
    "FinalFit",
    "Plan",
    "ProgressCallback",
    "TrainResult",
    "Trainer",
    "build_dataset",
    "check_config",
    "check_destinations",
    "check_output_file",
    "check_registry_root",
    "check_store",
    "encode_classes",
    "load_bars_for",
    "load_best_params",
    "min_rows",
    "model_features",
    "oof_frame",
    "predict_bars",
    "retrain",
]
