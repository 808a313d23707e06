"""The fitted stack: members' outputs combined by a meta model that JSON can hold.

A :class:`StackingComposite` is predict-only: the ensemble layer fits the members and the
meta model (out of fold, see :mod:`mltrainer.ensemble`), then builds it from the members
and a spec. The meta model is one of

- ``weights``: non-negative weights summing to 1 on the members' probabilities
  (classifiers) or predictions (regressors);
- ``logistic``: a logistic regression on standardised member logits (binary: one logit
  per member; K classes: K log-probabilities per member), plus passthrough columns;
- ``ridge``: a ridge regression on standardised member predictions, plus passthrough;
- ``member``: any other fitted model, saved as the member ``meta`` in its native format.

:func:`meta_inputs` turns member outputs into the meta model's inputs; the ensemble layer
fits the meta model on exactly what this module computes at prediction time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from mltrainer.exceptions import ConfigError
from mltrainer.models._members import PrefitComposite, check_weights, member_input

__all__ = ["META_MEMBER", "META_TYPES", "StackingComposite", "meta_input_names", "meta_inputs"]

#: The member name a non-linear meta model is saved under.
META_MEMBER = "meta"
#: The kinds of meta model a stack's spec can hold.
META_TYPES = ("weights", "logistic", "ridge", "member")
_EPS = 1e-6
_PASSTHROUGH = "x:"


def meta_input_names(
    members: Sequence[str],
    *,
    meta: str,
    task: str,
    n_classes: int,
    passthrough: Sequence[str] = (),
) -> list[str]:
    """The names of the meta model's inputs, in order.

    ``weights`` reads each member's raw output (``<m>:p<k>`` per class, or ``<m>``);
    the other meta models read ``<m>:logit`` (binary), ``<m>:logp<k>`` (K classes) or
    ``<m>`` (regression), then ``x:<column>`` for each passthrough column.

    Examples
    --------
    >>> meta_input_names(["xgb", "lr"], meta="logistic", task="classifier", n_classes=2,
    ...                  passthrough=["rsi_14"])
    ['xgb:logit', 'lr:logit', 'x:rsi_14']
    """
    names: list[str] = []
    for member in members:
        if task == "regressor":
            names.append(member)
        elif meta == "weights":
            names.extend(f"{member}:p{k}" for k in range(n_classes))
        elif n_classes == 2:
            names.append(f"{member}:logit")
        else:
            names.extend(f"{member}:logp{k}" for k in range(n_classes))
    if meta != "weights":
        names.extend(f"{_PASSTHROUGH}{column}" for column in passthrough)
    return names


def meta_inputs(
    outputs: Mapping[str, np.ndarray],
    *,
    meta: str,
    task: str,
    passthrough: np.ndarray | None = None,
) -> np.ndarray:
    """The meta model's input matrix from each member's output (in member order).

    Parameters
    ----------
    outputs : mapping of str to ndarray
        Probabilities of shape (n, K) per classifier member, predictions of shape (n,) per
        regressor member.
    meta : str
        One of :data:`META_TYPES`.
    task : {"classifier", "regressor"}
    passthrough : ndarray of shape (n, p), optional
        Raw feature columns appended for meta models other than ``weights``.

    Returns
    -------
    ndarray of shape (n, n_inputs), columns as :func:`meta_input_names`.
    """
    blocks: list[np.ndarray] = []
    for output in outputs.values():
        out = np.asarray(output, dtype=float)
        if task == "regressor":
            blocks.append(out.reshape(-1, 1))
        elif meta == "weights":
            blocks.append(out)
        elif out.shape[1] == 2:
            p = np.clip(out[:, 1], _EPS, 1.0 - _EPS)
            blocks.append((np.log(p) - np.log1p(-p)).reshape(-1, 1))
        else:
            blocks.append(np.log(np.clip(out, _EPS, 1.0)))
    if meta != "weights" and passthrough is not None and passthrough.shape[1]:
        blocks.append(np.asarray(passthrough, dtype=float))
    return np.hstack(blocks)


def _floats(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.shape != shape or not np.all(np.isfinite(array)):
        raise ConfigError(f"the stacking spec's {what} must be finite numbers of shape {shape}")
    return array


class StackingComposite(PrefitComposite):
    """Members combined by a fitted meta model (see the module docstring), predict-only.

    Build it with :meth:`from_composite` (the ensemble layer and the registry both do).

    Parameters
    ----------
    estimators : list of (str, estimator)
        The fitted members by name, in order; for a ``member`` meta model the last one is
        the fitted meta model, named ``"meta"``.
    spec : dict
        As :meth:`composite_spec` returns it.

    Attributes
    ----------
    meta_ : dict
        The meta model's part of the spec (type, inputs and its fitted numbers).
    passthrough_ : list of str
        Columns of X the meta model reads directly.
    """

    composite_kind: ClassVar[str] = "stacking"

    def _predictors(self, members: dict[str, Any]) -> dict[str, Any]:
        meta = self.spec.get("meta") if isinstance(self.spec, Mapping) else None
        if isinstance(meta, Mapping) and meta.get("type") == "member":
            return {name: m for name, m in members.items() if name != META_MEMBER}
        return members

    def _build_combiner(self, spec: Mapping[str, Any]) -> None:
        meta = spec.get("meta")
        if not isinstance(meta, Mapping) or meta.get("type") not in META_TYPES:
            raise ConfigError(
                f"the stacking spec's meta must be a mapping with type in {META_TYPES}, "
                f"got {meta!r:.80}; re-save the model"
            )
        kind = str(meta["type"])
        passthrough = spec.get("passthrough") or []
        columns = list(getattr(self, "feature_names_in_", []))
        if not isinstance(passthrough, list) or not set(passthrough) <= set(columns):
            raise ConfigError(
                f"the stacking spec passes through {passthrough!r:.80}, not columns of X"
            )
        if kind == "weights" and passthrough:
            raise ConfigError("the stacking spec has passthrough columns with a weights meta")
        members = list(self._predictors(dict(self.named_estimators_)))
        if kind == "member" and META_MEMBER not in self.named_estimators_:
            raise ConfigError("the stacking spec has a 'member' meta model but no member 'meta'")
        n_classes = len(self.classes_) if self.task_ == "classifier" else 0
        inputs = meta_input_names(
            members, meta=kind, task=self.task_, n_classes=n_classes, passthrough=passthrough
        )
        if meta.get("inputs") != inputs:
            raise ConfigError(
                f"the stacking spec's meta inputs {meta.get('inputs')!r:.80} do not match "
                f"members {members}; re-save the model"
            )
        clean: dict[str, Any] = {"type": kind, "inputs": inputs}
        if kind == "weights":
            weights = check_weights(meta.get("weights"), len(members))
            if not np.allclose(weights, np.asarray(meta["weights"], dtype=float)):
                raise ConfigError("the stacking spec's weights are not normalised; re-save it")
            clean["weights"] = weights
        elif kind in ("logistic", "ridge"):
            n = len(inputs)
            clean["center"] = _floats(meta.get("center"), (n,), "meta center")
            clean["scale"] = _floats(meta.get("scale"), (n,), "meta scale")
            rows = 1 if kind == "ridge" or n_classes == 2 else n_classes
            clean["coef"] = _floats(meta.get("coef"), (rows, n), "meta coef")
            clean["intercept"] = _floats(meta.get("intercept"), (rows,), "meta intercept")
            if kind == "logistic" and self.task_ != "classifier":
                raise ConfigError("the stacking spec has a logistic meta model for a regressor")
            if kind == "ridge" and self.task_ != "regressor":
                raise ConfigError("the stacking spec has a ridge meta model for a classifier")
            if np.any(clean["scale"] <= 0):
                raise ConfigError("the stacking spec's meta scale must be positive")
        else:
            model = self.named_estimators_[META_MEMBER]
            if self.task_ == "classifier" and (
                np.asarray(getattr(model, "classes_", [])).tolist() != self.classes_.tolist()
            ):
                raise ConfigError("the stacking spec's meta member has other classes")
        self.meta_ = clean
        self.passthrough_ = [str(c) for c in passthrough]

    # -- prediction -------------------------------------------------------------------------

    def _inputs(self, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        members = self._predictors(dict(self.named_estimators_))
        outputs = {name: self._output(name, data) for name in members}
        passthrough = None
        if self.passthrough_:
            assert isinstance(data, pd.DataFrame)  # _data names the columns
            passthrough = data[self.passthrough_].to_numpy(dtype=float)
        return meta_inputs(
            outputs, meta=self.meta_["type"], task=self.task_, passthrough=passthrough
        )

    def meta_inputs(self, X: Any) -> pd.DataFrame:
        """The meta model's inputs for ``X`` (columns ``meta_["inputs"]``, X's index)."""
        data = self._data(X)
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.DataFrame(self._inputs(data), columns=self.meta_["inputs"], index=index)

    def _combined(self, X: Any) -> np.ndarray:
        data = self._data(X)
        meta = self.meta_
        kind = meta["type"]
        members = list(self._predictors(dict(self.named_estimators_)))
        if kind == "weights":
            total: np.ndarray | None = None
            for weight, name in zip(meta["weights"], members, strict=True):
                part = weight * self._output(name, data)
                total = part if total is None else total + part
            assert total is not None
            return total
        inputs = self._inputs(data)
        if kind == "member":
            model = self.named_estimators_[META_MEMBER]
            frame = pd.DataFrame(inputs, columns=meta["inputs"])
            method = "predict_proba" if self.task_ == "classifier" else "predict"
            return np.asarray(getattr(model, method)(member_input(model, frame)), dtype=float)
        z = (inputs - meta["center"]) / meta["scale"]
        decision = z @ meta["coef"].T + meta["intercept"]
        if kind == "ridge":
            return np.asarray(decision[:, 0])
        if decision.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-decision[:, 0]))
            return np.column_stack([1.0 - p, p])
        shifted = np.exp(decision - decision.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))

    # -- explanations and the spec ------------------------------------------------------------

    def linear_combination(self) -> dict[str, Any]:
        """The stack as a linear map of member outputs and raw columns, for explanations.

        Returns
        -------
        dict
            ``space``: what is combined linearly (``"probability"`` or ``"value"`` for
            weights, ``"logit"`` for logistic, ``"value"`` for ridge); ``coef``: one
            coefficient per meta input in raw units (per output row for K-class logistic);
            ``intercept``; ``inputs``: the input names. A member's exact attribution in that
            space times its coefficient is its contribution to the stack.

        Raises
        ------
        ConfigError
            For a non-linear (``member``) meta model.
        """
        check_is_fitted(self, "meta_")
        meta = self.meta_
        kind = meta["type"]
        if kind == "member":
            raise ConfigError("the stack's meta model is not linear: explain it as a model")
        if kind == "weights":
            space = "probability" if self.task_ == "classifier" else "value"
            return {
                "space": space,
                "coef": [float(w) for w in meta["weights"]],
                "intercept": 0.0,
                "inputs": list(members_of(self)),
            }
        coef = meta["coef"] / meta["scale"]
        intercept = meta["intercept"] - coef @ meta["center"]
        return {
            "space": "logit" if kind == "logistic" else "value",
            "coef": coef.tolist() if coef.shape[0] > 1 else coef[0].tolist(),
            "intercept": intercept.tolist() if intercept.size > 1 else float(intercept[0]),
            "inputs": list(meta["inputs"]),
        }

    def composite_spec(self) -> dict[str, Any]:
        """Members' columns, task, classes, the meta model and passthrough columns, as JSON."""
        spec = self._base_spec()
        meta = {
            key: value.tolist() if isinstance(value, np.ndarray) else value
            for key, value in self.meta_.items()
        }
        spec["meta"] = meta
        spec["passthrough"] = list(self.passthrough_)
        return spec


def members_of(model: StackingComposite) -> list[str]:
    """The names of the members whose outputs the meta model combines (not ``meta``)."""
    return list(model._predictors(dict(model.named_estimators_)))
