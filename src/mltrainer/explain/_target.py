"""What is being explained: one fitted model, its preprocessing, its features and outputs.

A :class:`Target` is built once per model (or composite member). It knows the columns the
model reads, how its preprocessing maps them to the final estimator's inputs (column
selectors and per-column scalers keep a one-to-one map, so exact attributions of the final
estimator are attributions of those input columns), the task and the class labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from mltrainer.exceptions import SchemaError
from mltrainer.models import final_estimator, preprocessing_steps

__all__ = [
    "Target",
    "as_input",
    "check_frame",
    "class_label",
    "is_scaler",
    "make_target",
    "seen_positions",
]


def class_label(value: Any) -> str:
    """The text of a class label: ``1.0`` -> ``"1"``, ``-1`` -> ``"-1"``, ``"up"`` -> ``"up"``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def check_frame(
    X: Any, feature_names: Sequence[str], *, what: str = "model", index: pd.Index | None = None
) -> pd.DataFrame:
    """``X[feature_names]`` as float, refusing a missing or non-numeric feature by name.

    ``index`` (``pd.Index(feature_names)``, built once by the caller) lets a frame whose
    columns are exactly the features, all float64, pass without per-column work.

    Raises
    ------
    SchemaError
        If ``X`` is not a DataFrame, lacks a feature, or holds a non-numeric one.
    """
    if not isinstance(X, pd.DataFrame):
        raise SchemaError(
            f"explain needs a DataFrame with the {what}'s feature columns, got "
            f"{type(X).__name__}; pass pd.DataFrame(X, columns=[...])"
        )
    if (
        index is not None
        and X.columns.equals(index)
        and all(dtype == np.float64 for dtype in X.dtypes.to_numpy())
    ):
        return X
    names = list(feature_names)
    present = set(X.columns)
    missing = [name for name in names if name not in present]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise SchemaError(
            f"X lacks feature {shown}{more} that the {what} was trained on; compute the "
            "model's features on the bars (mltrainer.features.compute_features with the "
            "version's feature spec) or pass X[model.feature_names]"
        )
    frame = X if list(X.columns) == names else X[names]
    dtypes = frame.dtypes
    bad = [c for c, t in dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        raise SchemaError(
            f"feature {bad[0]!r} has dtype {dtypes[bad[0]]}, not numeric; "
            "pass the numeric features the model was trained on"
        )
    if all(t == np.float64 for t in dtypes):
        return frame
    return frame.astype(float)


def as_input(model: Any, data: np.ndarray, names: Sequence[str]) -> Any:
    """``data`` as a frame for a model fitted on named columns, else as the array."""
    try:
        fitted = getattr(model, "feature_names_in_", None)
    except Exception:  # some wrappers raise instead of returning None
        fitted = None
    if fitted is None:
        return data
    return pd.DataFrame(
        data, columns=[str(n) for n in fitted] if len(fitted) == len(names) else names
    )


def _is_selector(step: Any) -> bool:
    return callable(getattr(step, "get_support", None))


def is_scaler(step: Any) -> bool:
    return isinstance(step, StandardScaler)


@dataclass(frozen=True)
class Target:
    """One fitted model ready to explain.

    Attributes
    ----------
    estimator : object
        What predicts from ``X[feature_names]`` (a pipeline, or the model itself).
    final : object
        The final estimator after the preprocessing.
    steps : list of (str, object)
        The fitted preprocessing steps.
    feature_names : list of str
        Columns ``estimator`` reads, in order.
    seen : list of int or None
        Positions (in ``feature_names``) of the final estimator's inputs when every step
        is a column selector or a per-column scaler (one-to-one); None otherwise.
    task : {"classification", "regression"}
    classes : list of str or None
        Class labels, in the order of ``predict_proba``'s columns.
    """

    estimator: Any
    final: Any
    steps: list[tuple[str, Any]]
    feature_names: list[str]
    seen: list[int] | None
    task: str
    classes: list[str] | None

    @property
    def seen_names(self) -> list[str]:
        """The features the final estimator sees (all of them when the map is not 1:1)."""
        if self.seen is None:
            return list(self.feature_names)
        return [self.feature_names[j] for j in self.seen]

    @property
    def outputs(self) -> list[str]:
        """Explained outputs: the positive class (binary), every class, or ``prediction``."""
        if self.classes is None:
            return ["prediction"]
        return self.classes[-1:] if len(self.classes) == 2 else list(self.classes)

    def final_input(self, frame: pd.DataFrame) -> np.ndarray:
        """The final estimator's input for ``frame`` (its columns = :attr:`feature_names`).

        Each step gets a frame when it was fitted on one (and an array otherwise), as in
        training, so scikit-learn never warns about feature names.
        """
        data: Any = frame.to_numpy(dtype=float)
        if not self.steps:
            return np.asarray(data)
        names: Any = list(frame.columns)
        for _, step in self.steps:
            data = step.transform(as_input(step, data, names))
            if isinstance(data, pd.DataFrame):
                names = list(data.columns)
                data = data.to_numpy(dtype=float)
            elif hasattr(step, "get_feature_names_out"):
                names = [str(n) for n in step.get_feature_names_out()]
        return np.asarray(data, dtype=float)

    def seen_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The columns of ``frame`` the final estimator sees."""
        if self.seen is None or len(self.seen) == len(self.feature_names):
            return frame  # every column, in order (check_frame made it so)
        return frame[self.seen_names]

    def scaling(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """``(center, scale, centred)`` of the composed steps over the seen features.

        The final estimator's input is ``(x[seen] - center) / scale`` (identity without a
        scaler). ``centred`` is True when the last scaler removes its training mean, so the
        final input's training mean is exactly zero.
        """
        width = len(self.feature_names)
        center, scale = np.zeros(width), np.ones(width)
        centred = False
        for _, step in self.steps:
            if _is_selector(step):
                mask = np.asarray(step.get_support(), dtype=bool)
                center, scale = center[mask], scale[mask]
            else:  # a StandardScaler (make_target admits no other step on this path)
                mean = np.asarray(step.mean_, dtype=float) if step.with_mean else 0.0
                std = np.asarray(step.scale_, dtype=float) if step.with_std else 1.0
                # (x - c) / s, then (. - m) / d  ==  (x - (c + m s)) / (s d)
                center = center + np.broadcast_to(mean, center.shape) * scale
                scale = scale * np.broadcast_to(std, scale.shape)
                centred = centred or bool(step.with_mean)
        return center, scale, centred


def seen_positions(steps: list[tuple[str, Any]], width: int) -> list[int] | None:
    kept = np.arange(width)
    for _, step in steps:
        if step is None or step == "passthrough":
            continue
        if _is_selector(step):
            mask = np.asarray(step.get_support(), dtype=bool)
            if mask.shape != kept.shape:
                return None
            kept = kept[mask]
        elif not is_scaler(step):
            return None
    return [int(j) for j in kept]


def _task(final: Any, estimator: Any) -> str:
    if callable(getattr(estimator, "predict_proba", None)) and hasattr(final, "classes_"):
        return "classification"
    return "classification" if hasattr(final, "classes_") else "regression"


def make_target(
    estimator: Any,
    feature_names: Sequence[str],
    *,
    classes: Sequence[Any] | None = None,
) -> Target:
    """Analyse a fitted model (or composite member) that reads ``feature_names``.

    Parameters
    ----------
    estimator : object
        A fitted estimator or pipeline (XGBoost, LightGBM, scikit-learn, or a registry
        adapter).
    feature_names : sequence of str
        The columns it reads, in order.
    classes : sequence, optional
        Class labels to name the outputs with (label values such as -1/0/1); default the
        estimator's ``classes_``.
    """
    steps = [(name, step) for name, step in preprocessing_steps(estimator) if step is not None]
    steps = [(name, step) for name, step in steps if not isinstance(step, str)]
    final = final_estimator(estimator)
    task = _task(final, estimator)
    labels: list[str] | None = None
    if task == "classification":
        source = classes if classes is not None else getattr(estimator, "classes_", None)
        if source is None:
            source = getattr(final, "classes_", [])
        labels = [class_label(value) for value in np.asarray(source).tolist()]
    names = [str(name) for name in feature_names]
    return Target(
        estimator=estimator,
        final=final,
        steps=steps,
        feature_names=names,
        seen=seen_positions(steps, len(names)),
        task=task,
        classes=labels,
    )
