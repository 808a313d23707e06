"""A model loaded from the registry: the estimator, its members and natives, metadata, schema."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, NotFoundError, did_you_mean
from mltrainer.models import Composite, final_estimator, preprocessing_steps
from mltrainer.registry._lightgbm import LightGBMRegressorAdapter
from mltrainer.registry._manifest import verify
from mltrainer.registry._schema import check_features

#: The member name of a model that is not a composite.
SINGLE_MEMBER = "model"


class LoadedModel:
    """A verified model version ready to predict on frames with the training features.

    Every prediction first checks that ``X`` is a DataFrame whose columns equal
    ``feature_names`` in order and are numeric (:class:`~mltrainer.exceptions.SchemaError`
    otherwise); a composite then hands each member its own columns.

    The fitted library objects inside are reachable for explanations (SHAP), continued
    boosting and online updates: :attr:`members` (a plain model is the one member
    ``"model"``), :meth:`native` (a member's final estimator, e.g. the ``XGBClassifier``
    or the ``LogisticRegression`` after its scaler), :meth:`preprocessing` (the fitted
    steps before it) and :meth:`member_features` (the columns a member reads).

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
        The deserialised model (XGBoost wrapper, LightGBM adapter, scikit-learn estimator,
        or a composite of those).
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

    # -- members and the native estimators inside --------------------------------------

    @property
    def is_composite(self) -> bool:
        """Whether the model is a composite of several members."""
        return isinstance(self.estimator, Composite)

    @property
    def members(self) -> dict[str, Any]:
        """The fitted members by name, in order (``{"model": estimator}`` for a plain model).

        Each is what its format loaded: an XGBoost wrapper, a LightGBM adapter (its
        ``booster_`` is the ``lightgbm.Booster``) or a scikit-learn estimator or pipeline.
        """
        if isinstance(self.estimator, Composite):
            return dict(self.estimator.composite_members())
        return {SINGLE_MEMBER: self.estimator}

    def _member(self, name: str | None) -> tuple[str, Any]:
        members = self.members
        if name is None:
            if len(members) == 1:
                return next(iter(members.items()))
            raise ConfigError(
                f"model '{self.name}' version {self.version} is a composite of members "
                f"{list(members)}; pass one of them, e.g. native({next(iter(members))!r})"
            )
        if name not in members:
            raise NotFoundError(
                f"model '{self.name}' version {self.version} has no member {name!r}"
                f"{did_you_mean(name, members)}; members: {list(members)}"
            )
        return name, members[name]

    def native(self, name: str | None = None) -> Any:
        """A member's final estimator, past any preprocessing (e.g. a Pipeline's last step).

        Parameters
        ----------
        name : str, optional
            The member; may be omitted for a model with one member.

        Raises
        ------
        ConfigError
            If ``name`` is omitted for a composite.
        NotFoundError
            If there is no member called ``name``.
        """
        return final_estimator(self._member(name)[1])

    def preprocessing(self, name: str | None = None) -> list[tuple[str, Any]]:
        """The fitted ``(step name, transformer)`` steps a member runs before its estimator.

        Empty for a member without preprocessing; ``name`` as in :meth:`native`.
        """
        return preprocessing_steps(self._member(name)[1])

    def member_features(self, name: str | None = None) -> list[str]:
        """The columns of ``X`` a member reads, in order (``name`` as in :meth:`native`).

        ``X[model.member_features(name)]``, passed through :meth:`preprocessing`, is what
        :meth:`native` predicts from.
        """
        member, _ = self._member(name)
        if isinstance(self.estimator, Composite):
            columns = self.estimator.composite_features().get(member)
            if columns is not None:
                return list(columns)
        return self.feature_names

    # -- prediction -----------------------------------------------------------------------

    def _input(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        # frames to models that know feature names (and to composites, which pick each
        # member's columns by name); arrays otherwise, so scikit-learn does not warn about
        # names the model was fitted without
        if isinstance(self.estimator, LightGBMRegressorAdapter | Composite):
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
        members = f", members={list(self.members)}" if self.is_composite else ""
        return (
            f"LoadedModel(name={self.name!r}, version={self.version}, "
            f"estimator={type(self.estimator).__name__}{members}, "
            f"n_features={len(self._feature_names)})"
        )
