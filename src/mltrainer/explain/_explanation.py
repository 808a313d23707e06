"""The result of an attribution: per-row contributions, base value and the space they live in.

Every method returns the same :class:`Explanation`: ``base + contributions.sum() = output``
row by row, in a named output space, with the residual of that identity measured (never
assumed) and the tolerance the method promises.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, did_you_mean

__all__ = ["SPACES", "Explanation", "Space"]

Space = Literal["margin", "probability", "raw"]

#: The output spaces an explanation can be in: ``margin`` (log-odds or softmax logits of a
#: classifier, before the link), ``probability`` (a class probability) and ``raw`` (a
#: regressor's prediction, in the label's units).
SPACES: tuple[str, ...] = ("margin", "probability", "raw")


@dataclass(frozen=True, eq=False)
class Explanation:
    """Attributions of a model's outputs to its input features, row by row.

    Arrays are kept with an explicit output axis (``k`` outputs: 1 for regressors and
    binary classifiers, which explain the positive class; one per class otherwise);
    :attr:`values` and :attr:`base_values` drop it when ``k == 1``, like ``shap``.

    Attributes
    ----------
    contributions : ndarray of shape (n_rows, n_features, n_outputs)
        Each feature's contribution to each output.
    base : ndarray of shape (n_rows, n_outputs)
        The expected output the contributions start from.
    output : ndarray of shape (n_rows, n_outputs)
        The model's output in :attr:`space`, computed by the model itself (not as the sum),
        so :attr:`residual` is a real check.
    space : {"margin", "probability", "raw"}
        The space of ``base``, ``output`` and the contributions.
    outputs : list of str
        The explained outputs: class labels (binary: the positive class only) or
        ``["prediction"]``.
    feature_names : list of str
        The features the model actually saw (after any selection), in order.
    data : DataFrame
        The explained rows' values of those features, indexed like the input.
    method : str
        ``tree``, ``linear``, ``permutation``, ``kernel`` or ``composite``.
    tolerance : float
        The additivity residual the method guarantees (per row and output); above it
        :attr:`additive` is False.
    probabilities : ndarray of shape (n_rows, n_classes) or None
        The model's class probabilities (classifiers), whatever the space.
    classes : list of str or None
        Class labels of ``probabilities``' columns.
    members : dict of str to Explanation
        For a composite: each member's own explanation (in its own space and features).
    weights : dict of str to float
        For a composite: the weight of each member in the composition.
    interactions : ndarray of shape (n_rows, n_features, n_features, n_outputs) or None
        SHAP interaction values (trees, when asked): the diagonal holds main effects.
    notes : list of str
        What a reader must know about this explanation (e.g. what a composite composes).
    """

    contributions: np.ndarray
    base: np.ndarray
    output: np.ndarray
    space: str
    outputs: list[str]
    feature_names: list[str]
    data: pd.DataFrame
    method: str
    tolerance: float = 1e-6
    probabilities: np.ndarray | None = None
    classes: list[str] | None = None
    members: dict[str, Explanation] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    interactions: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n, p, k = self.contributions.shape
        if self.base.shape != (n, k) or self.output.shape != (n, k):
            raise ConfigError(
                f"explanation arrays disagree: contributions {self.contributions.shape}, "
                f"base {self.base.shape}, output {self.output.shape}"
            )
        if len(self.feature_names) != p or len(self.outputs) != k:
            raise ConfigError(
                f"explanation has {p} features and {k} outputs but names "
                f"{len(self.feature_names)} features and {len(self.outputs)} outputs"
            )
        if self.space not in SPACES:
            raise ConfigError(f"unknown output space {self.space!r}; one of {SPACES}")

    # -- shapes ----------------------------------------------------------------------------

    @property
    def n_rows(self) -> int:
        """Explained rows."""
        return int(self.contributions.shape[0])

    @property
    def n_outputs(self) -> int:
        """Explained outputs (1 for regressors and binary classifiers)."""
        return int(self.contributions.shape[2])

    @property
    def index(self) -> pd.Index:
        """The explained rows' index (decision times)."""
        return self.data.index

    @property
    def values(self) -> np.ndarray:
        """Contributions: (n_rows, n_features), or (n_rows, n_features, n_outputs) if k > 1."""
        return self.contributions[:, :, 0] if self.n_outputs == 1 else self.contributions

    @property
    def base_values(self) -> np.ndarray:
        """Base values: (n_rows,), or (n_rows, n_outputs) if k > 1."""
        return self.base[:, 0] if self.n_outputs == 1 else self.base

    @property
    def output_values(self) -> np.ndarray:
        """Model outputs in :attr:`space`: (n_rows,), or (n_rows, n_outputs) if k > 1."""
        return self.output[:, 0] if self.n_outputs == 1 else self.output

    # -- additivity ------------------------------------------------------------------------

    @property
    def residual(self) -> np.ndarray:
        """``output - base - sum(contributions)``, shape (n_rows, n_outputs)."""
        return np.asarray(self.output - self.base - self.contributions.sum(axis=1))

    @property
    def max_residual(self) -> float:
        """The largest absolute additivity residual (0.0 for no rows)."""
        residual = np.abs(self.residual)
        return float(residual.max()) if residual.size else 0.0

    @property
    def additive(self) -> bool:
        """Whether every residual is within :attr:`tolerance`."""
        return self.max_residual <= self.tolerance

    # -- views -----------------------------------------------------------------------------

    def _output_position(self, output: str | int | None) -> int:
        if output is None:
            return 0 if self.n_outputs == 1 else -1
        if isinstance(output, int) and not isinstance(output, bool):
            if not -self.n_outputs <= output < self.n_outputs:
                raise ConfigError(f"output {output} is out of range: {self.n_outputs} outputs")
            return output % self.n_outputs
        name = str(output)
        if name not in self.outputs:
            raise ConfigError(
                f"output {name!r} is not explained{did_you_mean(name, self.outputs)}; "
                f"outputs: {self.outputs}"
            )
        return self.outputs.index(name)

    def frame(self, output: str | int | None = None) -> pd.DataFrame:
        """Contributions of one output as a frame (rows = explained rows, columns = features).

        ``output`` is a name of :attr:`outputs` or a position; it may be omitted when there
        is one output.
        """
        k = self._output_position(output)
        if k < 0:
            raise ConfigError(
                f"this explanation has {self.n_outputs} outputs {self.outputs}: pass output="
            )
        return pd.DataFrame(
            self.contributions[:, :, k], index=self.data.index, columns=self.feature_names
        )

    def mean_abs(self) -> pd.Series:
        """Mean |contribution| per feature over rows and outputs (global importance)."""
        values = np.abs(self.contributions).mean(axis=(0, 2)) if self.n_rows else np.zeros(0)
        if not self.n_rows:
            values = np.zeros(len(self.feature_names))
        return pd.Series(values, index=self.feature_names, name="mean_abs").sort_values(
            ascending=False
        )

    def top(self, row: int = 0, *, k: int | None = 5, output: str | int | None = None) -> list:
        """The ``k`` largest contributions of one row by absolute value: ``[(feature, value)]``.

        ``k=None`` gives every feature, still ordered by absolute value.
        """
        position = self._output_position(output)
        if position < 0:
            position = int(np.argmax(self.output[row]))
        values = self.contributions[row, :, position]
        order = np.argsort(-np.abs(values), kind="stable")
        chosen = order if k is None else order[:k]
        return [(self.feature_names[j], float(values[j])) for j in chosen]

    def rows(self, positions: Any) -> Explanation:
        """The explanation of a subset of rows (positions or a boolean mask)."""
        take = np.arange(self.n_rows)[positions]
        return replace(
            self,
            contributions=self.contributions[take],
            base=self.base[take],
            output=self.output[take],
            data=self.data.iloc[take],
            probabilities=None if self.probabilities is None else self.probabilities[take],
            members={name: member.rows(take) for name, member in self.members.items()},
            interactions=None if self.interactions is None else self.interactions[take],
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary: method, space, outputs, additivity and global importance."""
        return {
            "method": self.method,
            "space": self.space,
            "outputs": list(self.outputs),
            "n_rows": self.n_rows,
            "max_residual": self.max_residual,
            "tolerance": self.tolerance,
            "additive": self.additive,
            "mean_abs": {str(k): float(v) for k, v in self.mean_abs().items()},
            "members": {name: m.method for name, m in self.members.items()},
            "weights": dict(self.weights),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        members = f", members={list(self.members)}" if self.members else ""
        return (
            f"Explanation(method={self.method!r}, space={self.space!r}, rows={self.n_rows}, "
            f"features={len(self.feature_names)}, outputs={self.outputs}, "
            f"max_residual={self.max_residual:.2e}{members})"
        )
