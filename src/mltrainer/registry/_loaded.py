"""A model loaded from the registry: the estimator plus its identity, metadata and schema check."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.registry._lightgbm import LightGBMRegressorAdapter
from mltrainer.registry._manifest import verify
from mltrainer.registry._schema import check_features


class LoadedModel:
    """A verified model version ready to predict on frames with the training features.

    Every prediction first checks that ``X`` is a DataFrame whose columns equal
    ``feature_names`` in order and are numeric (:class:`~mltrainer.exceptions.SchemaError`
    otherwise).

    Parameters
    ----------
    name : str
        Model name.
    version : int
        Version number.
    path : Path
        The version directory.
    metadata : mapping
        The stored ``metadata.json``.
    feature_names : sequence of str
        Features the model was trained on, in order.
    estimator : object
        The deserialised model (XGBoost wrapper, LightGBM adapter or scikit-learn estimator).
    """

    def __init__(
        self,
        *,
        name: str,
        version: int,
        path: Path,
        metadata: Mapping[str, Any],
        feature_names: Sequence[str],
        estimator: Any,
    ) -> None:
        self.name = name
        self.version = version
        self.path = path
        self._metadata = copy.deepcopy(dict(metadata))
        self._feature_names = [str(feature) for feature in feature_names]
        self.estimator = estimator

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the stored metadata."""
        return copy.deepcopy(self._metadata)

    @property
    def feature_names(self) -> list[str]:
        """A copy of the training feature names, in order (usable as ``X[model.feature_names]``)."""
        return list(self._feature_names)

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of a classifier.

        Raises
        ------
        AttributeError
            If the model is a regressor.
        """
        classes = getattr(self.estimator, "classes_", None)
        if classes is None:
            raise AttributeError(
                f"model '{self.name}' version {self.version} "
                f"({type(self.estimator).__name__}) is a regressor and has no classes_"
            )
        return np.asarray(classes)

    def _input(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        # frames to models that know feature names; arrays otherwise, so scikit-learn
        # does not warn about names the model was fitted without
        if isinstance(self.estimator, LightGBMRegressorAdapter):
            return X
        if getattr(self.estimator, "feature_names_in_", None) is not None:
            return X
        return X.to_numpy()

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predict targets (regressors) or class labels (classifiers).

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_features)
            Columns equal to ``feature_names``, in order.

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        SchemaError
            If the columns do not match the training features.
        """
        check_features(X, self._feature_names)
        return np.asarray(self.estimator.predict(self._input(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_features)
            Columns equal to ``feature_names``, in order.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Raises
        ------
        AttributeError
            If the model is a regressor (it has no probabilities; use ``predict``).
        SchemaError
            If the columns do not match the training features.
        """
        predict_proba = getattr(self.estimator, "predict_proba", None)
        if predict_proba is None:
            raise AttributeError(
                f"model '{self.name}' version {self.version} "
                f"({type(self.estimator).__name__}) has no predict_proba: it is a regressor "
                "or a classifier without probabilities; use predict()"
            )
        check_features(X, self._feature_names)
        return np.asarray(predict_proba(self._input(X)))

    def read_file(self, filename: str) -> bytes:
        """Return the bytes of a file saved with this version, its SHA-256 re-verified.

        Parameters
        ----------
        filename : str
            A file listed in the version's manifest, e.g. ``"profile.json"`` (saved with
            ``ModelRegistry.save(..., extra_files=...)``).

        Raises
        ------
        ChecksumError
            If the file is not in the manifest, is missing, or changed since it was saved.
        """
        _, contents = verify(self.path, only=filename)
        return contents[filename]

    def __repr__(self) -> str:
        return (
            f"LoadedModel(name={self.name!r}, version={self.version}, "
            f"estimator={type(self.estimator).__name__}, n_features={len(self._feature_names)})"
        )
