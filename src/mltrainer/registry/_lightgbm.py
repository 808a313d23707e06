"""Adapters that give a LightGBM Booster loaded from text the scikit-learn wrapper's surface."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class LightGBMRegressorAdapter:
    """A LightGBM regressor restored from ``model.txt``.

    Predictions equal those of the ``LGBMRegressor`` that was saved.

    Parameters
    ----------
    booster : lightgbm.Booster
        The booster loaded from the saved text model.
    importance_type : {"split", "gain"}, default "split"
        What ``feature_importances_`` reports, as in the original wrapper.
    """

    def __init__(self, booster: Any, *, importance_type: str = "split") -> None:
        self.booster_ = booster
        self.importance_type = importance_type

    @property
    def n_features_in_(self) -> int:
        """Number of features the booster was trained on."""
        return int(self.booster_.num_feature())

    @property
    def feature_name_(self) -> list[str]:
        """Feature names stored in the booster."""
        return list(self.booster_.feature_name())

    @property
    def feature_importances_(self) -> np.ndarray:
        """Feature importances of kind ``importance_type``."""
        return np.asarray(self.booster_.feature_importance(importance_type=self.importance_type))

    def _raw(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return np.asarray(self.booster_.predict(X))

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predict targets for ``X``.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_features)
            Feature rows.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._raw(X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features_in_={self.n_features_in_})"


class LightGBMClassifierAdapter(LightGBMRegressorAdapter):
    """A LightGBM classifier restored from ``model.txt`` plus its stored class labels.

    Parameters
    ----------
    booster : lightgbm.Booster
        The booster loaded from the saved text model.
    classes : ndarray
        The original ``classes_`` (e.g. ``[-1, 0, 1]``), in the booster's label order.
    importance_type : {"split", "gain"}, default "split"
        What ``feature_importances_`` reports.
    """

    def __init__(
        self, booster: Any, *, classes: np.ndarray, importance_type: str = "split"
    ) -> None:
        super().__init__(booster, importance_type=importance_type)
        self.classes_ = np.asarray(classes)

    @property
    def n_classes_(self) -> int:
        """Number of classes."""
        return len(self.classes_)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_features)
            Feature rows.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        raw = self._raw(X)
        if raw.ndim == 1:  # binary objective: probability of the positive class
            return np.vstack((1.0 - raw, raw)).transpose()
        return raw

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predict class labels (the most probable of ``classes_``).

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_features)
            Feature rows.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
