"""Exact tree attributions: the boosters' own TreeSHAP, and ``shap``'s for scikit-learn trees.

XGBoost (``pred_contribs=True``) and LightGBM (``pred_contrib=True``) compute path-dependent
TreeSHAP natively; ``shap.TreeExplainer`` calls exactly these, so the values are identical.
Both explain the margin of a classifier (log-odds, or one logit per class) and the raw
prediction of a regressor with an identity link. scikit-learn forests and trees go through
``shap.TreeExplainer`` (exact, C++), in probability space for classifiers.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.explain._explanation import Explanation
from mltrainer.explain._target import Target

__all__ = ["FAST_ROWS", "FLOAT32_EPS", "TREE_KINDS", "TreeMethod", "tree_kind"]

#: Batches up to this many rows use the precomputed tables (after ``prepare_fast``).
FAST_ROWS = 64

FLOAT32_EPS = float(np.finfo(np.float32).eps)

#: Tree model families with an exact path.
TREE_KINDS = ("xgboost", "lightgbm", "sklearn")

# objectives whose prediction is the margin itself (identity link): explained in raw space
_XGB_IDENTITY = {
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:quantileerror",
}
_LGBM_IDENTITY = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}


def _qualified(obj: Any) -> set[str]:
    return {f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__}


def tree_kind(final: Any) -> str | None:
    """``"xgboost"``, ``"lightgbm"``, ``"sklearn"`` (forests, single trees) or None."""
    names = _qualified(final)
    if names & {"xgboost.sklearn.XGBModel", "xgboost.core.Booster"}:
        return "xgboost"
    if names & {
        "lightgbm.sklearn.LGBMModel",
        "lightgbm.basic.Booster",
        "mltrainer.registry._lightgbm.LightGBMRegressorAdapter",
    }:
        return "lightgbm"
    if names & {"sklearn.ensemble._forest.BaseForest", "sklearn.tree._classes.BaseDecisionTree"}:
        return "sklearn"
    return None


def xgb_booster(final: Any) -> Any:
    """The ``xgboost.Booster`` of a wrapper (or the booster itself)."""
    return final.get_booster() if hasattr(final, "get_booster") else final


def lgbm_booster(final: Any) -> Any:
    """The ``lightgbm.Booster`` of a wrapper or registry adapter (or the booster itself)."""
    return final.booster_ if hasattr(final, "booster_") else final


def xgb_settings(booster: Any) -> tuple[str, int]:
    """The XGBoost objective name (e.g. ``binary:logistic``) and its threads (0: all)."""
    config = json.loads(booster.save_config())
    threads = int(config["learner"].get("generic_param", {}).get("nthread", 0) or 0)
    return str(config["learner"]["objective"]["name"]), threads


def lgbm_objective(booster: Any) -> str:
    """The LightGBM objective name, e.g. ``binary`` or ``regression``."""
    head = booster.model_to_string(num_iteration=0)
    for line in head.splitlines():
        if line.startswith("objective="):
            return line.split("=", 1)[1].split()[0]
    return "regression"


def _outputs_last(array: np.ndarray, n_outputs: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k, p+1) or (n, p+1) booster contributions -> ((n, p, k) values, (n, k) bias)."""
    n = array.shape[0]
    block = np.asarray(array, dtype=np.float64).reshape(n, n_outputs, width + 1)
    return np.ascontiguousarray(block[:, :, :width].transpose(0, 2, 1)), block[:, :, width]


class TreeMethod:
    """Exact TreeSHAP of one tree model (built once, reused for every call).

    Parameters
    ----------
    target : Target
        A tree model whose preprocessing maps columns one to one (``target.seen``).
    """

    name = "tree"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.kind = tree_kind(target.final)
        assert self.kind is not None
        assert target.seen is not None
        self.n_outputs = len(target.outputs)
        self.threads = 0
        if self.kind == "xgboost":
            self.booster = xgb_booster(target.final)
            objective, self.threads = xgb_settings(self.booster)
            identity = objective in _XGB_IDENTITY
        elif self.kind == "lightgbm":
            self.booster = lgbm_booster(target.final)
            objective = lgbm_objective(self.booster)
            identity = objective in _LGBM_IDENTITY
        else:
            self.booster = None
            identity = True
        if target.task == "classification":
            self.space = "probability" if self.kind == "sklearn" else "margin"
        else:
            self.space = "raw" if identity else "margin"
        self._shap: Any = None
        self.fast: Any = None  # LeafTables once prepare_fast succeeded

    def prepare_fast(self, rows: pd.DataFrame, *, max_bytes: int | None = None) -> bool:
        """Precompute single-row TreeSHAP tables (XGBoost, LightGBM); True when they apply.

        ``rows`` (columns = the target's features) are the check rows the tables must
        reproduce exactly; small batches are then explained by the tables.
        """
        if self.kind not in ("xgboost", "lightgbm"):
            return False
        from mltrainer.explain._fasttree import DEFAULT_MAX_BYTES, build_tables

        data = self.target.final_input(rows)
        compute = self._xgb if self.kind == "xgboost" else self._lgbm

        def native(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            values, bias, margin, _ = compute(batch, False)
            return values, bias, np.asarray(margin).reshape(len(batch), self.n_outputs)

        self.fast = build_tables(
            self.kind,
            self.booster,
            n_features=data.shape[1],
            n_outputs=self.n_outputs,
            native=native,
            check_rows=data,
            max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
        )
        return self.fast is not None

    # -- the libraries' own computations ----------------------------------------------------

    def _xgb(self, data: np.ndarray, interactions: bool) -> tuple[Any, ...]:
        import xgboost as xgb

        width = data.shape[1]
        # the model's own thread count: a DMatrix on every core costs tens of milliseconds
        # per call on a busy machine, more than the contributions themselves
        matrix = xgb.DMatrix(
            data, feature_names=self.booster.feature_names, nthread=self.threads or -1
        )
        raw = self.booster.predict(matrix, pred_contribs=True, validate_features=False)
        values, bias = _outputs_last(raw, self.n_outputs, width)
        margin = self.booster.predict(matrix, output_margin=True, validate_features=False)
        pairs = None
        if interactions:
            inter = self.booster.predict(matrix, pred_interactions=True, validate_features=False)
            inter = np.asarray(inter, dtype=np.float64).reshape(
                data.shape[0], self.n_outputs, width + 1, width + 1
            )
            pairs = np.ascontiguousarray(inter[:, :, :width, :width].transpose(0, 2, 3, 1))
        return values, bias, np.asarray(margin, dtype=np.float64), pairs

    def _lgbm(self, data: np.ndarray, interactions: bool) -> tuple[Any, ...]:
        width = data.shape[1]
        raw = self.booster.predict(data, pred_contrib=True)
        values, bias = _outputs_last(np.asarray(raw), self.n_outputs, width)
        margin = np.asarray(self.booster.predict(data, raw_score=True), dtype=np.float64)
        pairs = self._shap_interactions(data) if interactions else None
        return values, bias, margin, pairs

    def _explainer(self) -> Any:
        if self._shap is None:
            import shap

            model = self.booster if self.kind == "lightgbm" else self.target.final
            self._shap = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
        return self._shap

    def _shap_interactions(self, data: np.ndarray) -> np.ndarray:
        raw = np.asarray(self._explainer().shap_interaction_values(data), dtype=np.float64)
        if raw.ndim == 3:  # (n, p, p): one output
            raw = raw[..., None]
        return self._keep_outputs(raw)

    def _keep_outputs(self, array: np.ndarray) -> np.ndarray:
        # a binary classifier explains its positive class only (the last output)
        if array.shape[-1] != self.n_outputs:
            array = array[..., -self.n_outputs :]
        return np.ascontiguousarray(array)

    def _forest_output(self, data: np.ndarray) -> np.ndarray:
        """The forest's output with its trees summed in order (deterministic).

        scikit-learn adds the trees' outputs from several threads, so the last bits of
        ``predict_proba`` change from call to call; summing in order gives the same value
        every time (an explanation must be reproducible), equal to scikit-learn's up to
        float rounding.
        """
        final = self.target.final
        classify = self.target.task == "classification"
        trees = getattr(final, "estimators_", None) or [final]
        data32 = np.asarray(data, dtype=np.float32)
        total = None
        for tree in trees:
            part = tree.predict_proba(data32) if classify else tree.predict(data32)
            part = np.asarray(part, dtype=np.float64)
            total = part if total is None else total + part
        assert total is not None
        total = total / len(trees)
        if classify:
            return total[:, -self.n_outputs :]
        return total

    def _sklearn(self, data: np.ndarray, interactions: bool) -> tuple[Any, ...]:
        explainer = self._explainer()
        raw = np.asarray(explainer.shap_values(data, check_additivity=False), dtype=np.float64)
        values = self._keep_outputs(raw if raw.ndim == 3 else raw[..., None])
        expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        expected = expected[-self.n_outputs :]
        bias = np.broadcast_to(expected, (data.shape[0], self.n_outputs)).copy()
        output = self._forest_output(data)
        pairs = self._shap_interactions(data) if interactions else None
        return values, bias, output, pairs

    # -- the explanation ---------------------------------------------------------------------

    def explain(self, frame: pd.DataFrame, *, interactions: bool = False) -> Explanation:
        """Contributions of every row of ``frame`` (columns = the target's features)."""
        data = self.target.final_input(frame)
        if self.fast is not None and not interactions and len(data) <= FAST_ROWS:
            values, bias, output = self.fast(data)
            pairs = None
        else:
            compute = {"xgboost": self._xgb, "lightgbm": self._lgbm, "sklearn": self._sklearn}
            values, bias, output, pairs = compute[str(self.kind)](data, interactions)
        output = np.asarray(output, dtype=np.float64).reshape(data.shape[0], self.n_outputs)
        tolerance = 1e-6
        if self.kind == "xgboost":
            # XGBoost sums leaf values in float32: allow its rounding of each term
            scale = np.abs(values).sum(axis=1) + np.abs(bias) + np.abs(output)
            bound = 2.0 * (data.shape[1] + 2) * FLOAT32_EPS * float(scale.max(initial=0.0))
            tolerance = max(tolerance, bound)
        return Explanation(
            contributions=values,
            base=bias,
            output=output,
            space=self.space,
            outputs=self.target.outputs,
            feature_names=self.target.seen_names,
            data=self.target.seen_frame(frame),
            method=self.name,
            tolerance=tolerance,
            interactions=pairs,
        )
