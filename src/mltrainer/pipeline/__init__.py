"""The pipeline: config in, registered model and report out."""

from mltrainer.pipeline._dataset import Dataset, build_dataset, encode_classes
from mltrainer.pipeline._predict import predict_bars
from mltrainer.pipeline._trainer import ProgressCallback, Trainer, TrainResult, default_scoring

__all__ = [
    "Dataset",
    "ProgressCallback",
    "TrainResult",
    "Trainer",
    "build_dataset",
    "default_scoring",
    "encode_classes",
    "predict_bars",
]
