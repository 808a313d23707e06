"""LIME done right: built from the training statistics saved with the version, repeated.

``lime.lime_tabular.LimeTabularExplainer`` is given the version's training statistics
(quartile bins with each bin's mean, std and bounds, value counts of categorical features)
through ``training_data_stats``, so it perturbs a row the way the training rows vary and no
training data is needed at explain time. Built on the row alone (``training_data=row``, the
trap this module avoids) every perturbation would be the row itself and every weight zero.

Classifiers are explained in probability mode (``predict_proba``), regressors in regression
mode. LIME is a random local fit: each row is explained ``repeats`` times with different
seeds, and the stability of its top ``k`` features (mean pairwise Jaccard of the top-k sets,
and the worst pair) is reported beside the mean weights, together with the agreement of
LIME's top features with SHAP's (also a Jaccard index) - disagreement is reported, not
hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.explain._explainer import Explainer
from mltrainer.explain._explanation import Explanation
from mltrainer.explain._target import as_input, check_frame, class_label
from mltrainer.explain._training import TrainingStats, load_stats

__all__ = ["LimeExplanation", "jaccard", "lime_explain", "lime_stats"]


def jaccard(a: set[str], b: set[str]) -> float:
    """``|a & b| / |a | b|`` (1.0 for two empty sets)."""
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)


def _stability(tops: list[set[str]]) -> tuple[float, float]:
    pairs = [jaccard(a, b) for a, b in combinations(tops, 2)]
    if not pairs:
        return 1.0, 1.0
    return float(np.mean(pairs)), float(np.min(pairs))


def lime_stats(stats: TrainingStats) -> tuple[dict[str, Any], list[int]]:
    """``training_data_stats`` for ``LimeTabularExplainer`` and the categorical columns.

    Keys are column positions, as LIME expects: ``means``/``stds``/``mins``/``maxs`` per
    quartile bin of each continuous feature, ``bins`` (their edges), ``feature_values`` /
    ``feature_frequencies`` (bin numbers and their training counts; the values and counts
    of a categorical feature).
    """
    out: dict[str, dict[int, Any]] = {
        key: {} for key in ("means", "stds", "mins", "maxs", "bins", "feature_values",
                            "feature_frequencies")
    }  # fmt: skip
    categorical: list[int] = []
    for j, name in enumerate(stats.features):
        if name in stats.categorical:
            values, counts = stats.categorical[name]
            categorical.append(j)
            out["feature_values"][j] = list(values)
            out["feature_frequencies"][j] = list(counts)
            continue
        entry = stats.bins[name]
        out["bins"][j] = list(entry["edges"])
        for key in ("means", "stds", "mins", "maxs"):
            out[key][j] = list(entry[key])
        out["feature_values"][j] = list(range(len(entry["edges"]) + 1))
        out["feature_frequencies"][j] = list(entry["counts"])
    return out, categorical


@dataclass(frozen=True)
class LimeExplanation:
    """LIME weights of some rows, repeated over seeds, with their stability.

    Attributes
    ----------
    feature_names : list of str
    index : Index
        The explained rows.
    output : list of str
        The explained output of each row (the positive class, the predicted class, or
        ``prediction``).
    weights : ndarray of shape (n_rows, repeats, n_features)
        LIME's weight of each feature (on "the feature is in the row's quartile bin" /
        "equals the row's category") for every seed.
    intercepts, scores : ndarray of shape (n_rows, repeats)
        The local model's intercept and weighted R².
    top_k : int
    stability : ndarray of shape (n_rows,)
        Mean pairwise Jaccard index of the top-k features over the seeds.
    stability_min : ndarray of shape (n_rows,)
        The worst pair.
    shap_top : list of list of str
        SHAP's top-k features of each row (empty when not compared).
    agreement : ndarray of shape (n_rows,)
        Jaccard index of LIME's top-k (by mean |weight|) with SHAP's top-k (NaN when not
        compared).
    num_samples : int
        Perturbations per explanation.
    seeds : list of int
    """

    feature_names: list[str]
    index: pd.Index
    output: list[str]
    weights: np.ndarray
    intercepts: np.ndarray
    scores: np.ndarray
    top_k: int
    stability: np.ndarray
    stability_min: np.ndarray
    shap_top: list[list[str]] = field(default_factory=list)
    agreement: np.ndarray = field(default_factory=lambda: np.zeros(0))
    num_samples: int = 5_000
    seeds: list[int] = field(default_factory=list)

    @property
    def mean_weights(self) -> pd.DataFrame:
        """Mean weight over the seeds (rows x features)."""
        return pd.DataFrame(self.weights.mean(axis=1), index=self.index, columns=self.feature_names)

    def top(self, row: int = 0) -> list[tuple[str, float]]:
        """LIME's top-k features of a row by mean |weight|: ``[(feature, mean weight)]``."""
        mean = self.weights[row].mean(axis=0)
        order = np.argsort(-np.abs(mean), kind="stable")[: self.top_k]
        return [(self.feature_names[j], float(mean[j])) for j in order]

    def record(self, row: int = 0) -> dict[str, Any]:
        """The JSON stored in a decision record for one row."""
        return {
            "output": self.output[row],
            "top": [[name, weight] for name, weight in self.top(row)],
            "stability": float(self.stability[row]),
            "stability_min": float(self.stability_min[row]),
            "shap_top": list(self.shap_top[row]) if self.shap_top else [],
            "agreement": (
                None
                if not self.agreement.size or np.isnan(self.agreement[row])
                else float(self.agreement[row])
            ),
            "score": float(np.mean(self.scores[row])),
            "num_samples": self.num_samples,
            "repeats": len(self.seeds),
            "top_k": self.top_k,
        }


def _label_position(classes: list[str], proba_row: np.ndarray | None) -> int:
    if len(classes) == 2:
        return 1
    return int(np.argmax(proba_row)) if proba_row is not None else 0


def lime_explain(
    model: Any,
    X: pd.DataFrame,
    *,
    stats: TrainingStats | None = None,
    num_samples: int = 5_000,
    repeats: int = 10,
    top_k: int = 5,
    random_state: int = 0,
    compare: Explanation | bool = True,
) -> LimeExplanation:
    """Explain rows with LIME from saved training statistics, ``repeats`` seeds each.

    Parameters
    ----------
    model : LoadedModel or fitted estimator
        A registered version (its ``explain_stats.json`` is used) or an estimator with
        ``stats``.
    X : DataFrame
        The rows, with the model's features.
    stats : TrainingStats, optional
        Training statistics (default: those saved with the version).
    num_samples : int, default 5000
        Perturbations per explanation.
    repeats : int, default 10
        Seeds per row (``random_state``, ``random_state + 1``, ...).
    top_k : int, default 5
        Size of the top sets compared for stability and agreement.
    random_state : int, default 0
    compare : Explanation or bool, default True
        Compare with SHAP's top-k: an explanation of the same rows, True to compute it,
        False to skip.

    Raises
    ------
    NotFoundError
        For a version saved before explanations existed (says to retrain).
    ConfigError
        For an estimator without ``stats``, or bad counts.
    """
    if repeats < 1 or num_samples < 10 or top_k < 1:
        raise ConfigError(
            f"LIME needs repeats >= 1, num_samples >= 10 and top_k >= 1; got repeats="
            f"{repeats}, num_samples={num_samples}, top_k={top_k}"
        )
    explainer = Explainer(model) if compare is True or stats is None else None
    names = list(explainer.feature_names) if explainer is not None else list(X.columns)
    if stats is None:
        if explainer is None or not hasattr(model, "path"):
            raise ConfigError(
                "LIME needs the training statistics: explain a registered version (they are "
                "saved with it) or pass stats=TrainingStats.from_frame(training rows)"
            )
        stats = load_stats(model)
    stats = stats.subset(names)
    frame = check_frame(X, names)
    if explainer is not None:
        classify = explainer.task == "classification"
        classes = list(explainer.classes or [])
    else:
        classify = callable(getattr(model, "predict_proba", None))
        classes = [class_label(c) for c in np.asarray(getattr(model, "classes_", [])).tolist()]

    loaded = hasattr(model, "path") and hasattr(model, "estimator")

    def predict(data: np.ndarray) -> np.ndarray:
        rows = pd.DataFrame(data, columns=names) if loaded else as_input(model, data, names)
        if classify:
            return np.asarray(model.predict_proba(rows), dtype=float)
        return np.asarray(model.predict(rows), dtype=float)

    from lime.lime_tabular import LimeTabularExplainer

    training, categorical = lime_stats(stats)
    placeholder = np.vstack([stats.mins, stats.maxs])  # LIME reads only its width here
    proba = predict(frame.to_numpy(dtype=float)) if classify else None
    n, p = frame.shape
    weights = np.zeros((n, repeats, p))
    intercepts = np.zeros((n, repeats))
    scores = np.zeros((n, repeats))
    outputs: list[str] = []
    seeds = [random_state + r for r in range(repeats)]
    for i in range(n):
        row = frame.iloc[i].to_numpy(dtype=float)
        label = _label_position(classes, None if proba is None else proba[i]) if classify else 0
        outputs.append(classes[label] if classify and classes else "prediction")
        for r, seed in enumerate(seeds):
            lime = LimeTabularExplainer(
                placeholder,
                mode="classification" if classify else "regression",
                feature_names=names,
                categorical_features=categorical,
                discretize_continuous=True,
                training_data_stats=training,
                random_state=seed,
            )
            result = lime.explain_instance(
                row,
                predict,
                labels=(label,) if classify else (1,),
                num_features=p,
                num_samples=num_samples,
            )
            key = label if classify else 1
            for j, w in result.as_map()[key]:
                weights[i, r, j] = w
            intercepts[i, r] = float(result.intercept[key])
            scores[i, r] = float(result.score)
    tops = [
        [{names[j] for j in np.argsort(-np.abs(weights[i, r]), kind="stable")[:top_k]}
         for r in range(repeats)]
        for i in range(n)
    ]  # fmt: skip
    stab = [_stability(t) for t in tops]
    result_rows = LimeExplanation(
        feature_names=names,
        index=frame.index,
        output=outputs,
        weights=weights,
        intercepts=intercepts,
        scores=scores,
        top_k=top_k,
        stability=np.array([s[0] for s in stab]),
        stability_min=np.array([s[1] for s in stab]),
        num_samples=num_samples,
        seeds=seeds,
    )
    if compare is False:
        return result_rows
    shap = compare if isinstance(compare, Explanation) else explainer.explain(frame)  # type: ignore[union-attr]
    shap_top: list[list[str]] = []
    agreement = np.full(n, np.nan)
    for i in range(n):
        position = outputs[i] if outputs[i] in shap.outputs else None
        top_shap = [name for name, _ in shap.top(i, k=top_k, output=position)]
        shap_top.append(top_shap)
        agreement[i] = jaccard({name for name, _ in result_rows.top(i)}, set(top_shap))
    return LimeExplanation(**{**result_rows.__dict__, "shap_top": shap_top, "agreement": agreement})
