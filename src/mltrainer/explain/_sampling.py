"""Model-agnostic attributions: ``shap``'s permutation and kernel explainers, on a budget.

Any estimator with ``predict_proba`` (classifiers: explained in probability space, never on
its labels) or ``predict`` (regressors: raw) is explained against a k-means background of
its *training* rows (saved with the version), never against current data. Both explainers
are additive by construction (the permutation explainer's forward and backward passes
telescope; the kernel explainer constrains the sum), so the residual is float rounding.
Their cost is ``rows x evaluations x background rows`` model calls: above ``max_rows`` rows a
call is refused with the estimated time before any work starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.explain._explanation import Explanation
from mltrainer.explain._target import Target, as_input
from mltrainer.explain._training import Background

__all__ = ["DEFAULT_MAX_EVALS", "DEFAULT_MAX_ROWS", "SamplingMethod"]

#: Rows a permutation or kernel call explains at most unless ``max_rows`` says otherwise.
DEFAULT_MAX_ROWS = 1_000
#: Model evaluations per row of the permutation explainer (shap's default).
DEFAULT_MAX_EVALS = 500


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3_600:.1f} h"


class SamplingMethod:
    """``shap.PermutationExplainer`` or ``shap.KernelExplainer`` on the model's output.

    Parameters
    ----------
    target : Target
        The model; when its preprocessing maps columns one to one, the final estimator is
        explained on the seen columns (the background passes through the same steps).
    kind : {"permutation", "kernel"}
    background : Background
        Training rows (k-means centroids and weights) over ``target.feature_names``. The
        kernel explainer weighs each centroid by its share of the training rows; the
        permutation explainer's masker weighs the centroids equally.
    max_rows : int
        Rows one call may explain.
    max_evals : int, optional
        Permutation: model evaluations per row (default 500, at least ``2 p + 1``).
        Kernel: ``nsamples`` (default shap's ``2 p + 2048``).
    random_state : int
        Seeds the permutations (kernel: the coalition sampling).
    """

    def __init__(
        self,
        target: Target,
        *,
        kind: str,
        background: Background,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_evals: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.target = target
        self.name = kind
        self.max_rows = max_rows
        self.random_state = random_state
        self.space = "probability" if target.task == "classification" else "raw"
        columns = list(target.feature_names)
        missing = [c for c in columns if c not in background.data.columns]
        if missing:
            raise ConfigError(
                f"the background lacks feature {missing[0]!r} of the model; build it from "
                "the model's training rows"
            )
        frame = background.data[columns]
        self.direct = target.seen is not None  # explain the final estimator on seen columns
        if self.direct:
            self.background = target.final_input(frame)
            self.names = target.seen_names
        else:
            self.background = frame.to_numpy(dtype=float)
            self.names = columns
        self.weights = np.asarray(background.weights, dtype=float)
        width = len(self.names)
        if kind == "permutation":
            self.evals = max(int(max_evals or DEFAULT_MAX_EVALS), 2 * width + 1)
        else:
            self.evals = int(max_evals) if max_evals else 2 * width + 2048
        self.n_outputs = len(target.outputs)

    def function(self) -> Callable[[np.ndarray], np.ndarray]:
        """The explained output as a function of the explained columns (numpy in and out)."""
        target, k = self.target, self.n_outputs
        model = target.final if self.direct else target.estimator
        names = self.names
        classify = target.task == "classification"

        def output(data: np.ndarray) -> np.ndarray:
            batch = as_input(model, np.asarray(data, dtype=float), names)
            if classify:
                values = np.asarray(model.predict_proba(batch), dtype=np.float64)[:, -k:]
                return values[:, 0] if k == 1 else values
            return np.asarray(model.predict(batch), dtype=np.float64).reshape(-1)

        return output

    def _inputs(self, frame: pd.DataFrame) -> np.ndarray:
        if self.direct:
            return self.target.final_input(frame)
        return frame.to_numpy(dtype=float)

    def estimate_seconds(self, n_rows: int) -> float:
        """Estimated seconds to explain ``n_rows`` rows (times one batch of model calls)."""
        f = self.function()
        reps = max(1, 2_000 // max(len(self.background), 1))
        batch = np.repeat(self.background, reps, axis=0)
        start = time.perf_counter()
        f(batch)
        per_row = (time.perf_counter() - start) / len(batch)
        return n_rows * self.evals * len(self.background) * per_row

    def check_budget(self, n_rows: int) -> None:
        """Refuse more than ``max_rows`` rows, with the estimated time, before any work."""
        if n_rows <= self.max_rows:
            return
        estimate = self.estimate_seconds(n_rows)
        raise ConfigError(
            f"{self.name} explanations of {n_rows:,} rows would take about "
            f"{_duration(estimate)} ({self.evals} evaluations x {len(self.background)} "
            f"background rows per row); explain at most {self.max_rows:,} rows (a sample, "
            "or a shorter --since), or raise the budget with --max-rows / max_rows="
        )

    def explain(self, frame: pd.DataFrame, *, interactions: bool = False) -> Explanation:
        """Contributions of every row of ``frame`` (columns = the target's features)."""
        if interactions:
            raise ConfigError(
                f"interaction values need an exact tree model; the {self.name} explainer "
                "gives main effects only: explain without interactions"
            )
        self.check_budget(len(frame))
        import shap

        data = self._inputs(frame)
        f = self.function()
        n, k = len(frame), self.n_outputs
        if self.name == "permutation":
            masker = shap.maskers.Independent(self.background, max_samples=len(self.background))
            explainer = shap.PermutationExplainer(f, masker, seed=self.random_state)
            result = explainer(data, max_evals=self.evals, silent=True)
            values = np.asarray(result.values, dtype=np.float64)
            base = np.asarray(result.base_values, dtype=np.float64)
        else:
            summary = shap.utils._legacy.DenseData(
                self.background, [str(c) for c in self.names], None, self.weights
            )
            explainer = shap.KernelExplainer(f, summary, seed=self.random_state)
            values = np.asarray(
                explainer.shap_values(data, nsamples=self.evals, silent=True), dtype=np.float64
            )
            base = np.broadcast_to(np.asarray(explainer.expected_value, dtype=np.float64), (n, k))
        values = values.reshape(n, len(self.names), k)
        output = f(data).reshape(n, k)
        return Explanation(
            contributions=values,
            base=np.asarray(base, dtype=np.float64).reshape(n, k).copy(),
            output=output,
            space=self.space,
            outputs=self.target.outputs,
            feature_names=list(self.names),
            data=frame[list(self.names)],
            method=self.name,
            tolerance=1e-6,
        )
