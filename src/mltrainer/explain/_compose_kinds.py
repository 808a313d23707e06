"""Explanations of stacks, regime switchers and calibrated models, from their members'.

Each composer below receives the composite, the explained rows (the composite's
features) and every member's own explanation, and returns one exactly additive
explanation of the composite's output (``base + sum(contributions) = output``, checked
against the composite's own output, never against the sum):

- **stack, weights meta** (``f = sum_m w_m p_m``): the members' probabilities (values for
  regressors) weighted, as for averaging; margin members are carried into probability
  space through their link (``link_to_probability``).
- **stack, logistic meta** (binary): the stack's margin ``b + sum_m c_m logit(p_m) +
  sum_j c_j x_j``. A margin member's contributions enter times ``c_m`` (its margin *is*
  ``logit(p_m)``); a probability member is carried into logit space by the secant slope of
  the logit; a passthrough column contributes ``c_j (x_j - mean_j)`` (``mean_j``: its mean
  over the meta model's training rows). A multi-class logistic meta reads
  log-probabilities, which are not additive in the members' contributions: refused.
- **stack, ridge meta** (regressors): ``b + sum_m c_m f_m + sum_j c_j x_j``, exact.
- **regime switcher**: each row's output is its regime's members' mean (hard switching) or
  the regimes' outputs mixed by their probabilities (``soft``), so each row's
  contributions are its members' weighted by that row's weights. The regime itself (read
  from its columns, causally, over the explained rows in time order) is taken as given:
  its own effect is not attributed to the regime columns.
- **calibrated classifier** (classifier + isotonic or Platt map): the classifier's
  probability contributions scaled by the map's secant slope between the base probability
  and the row's probability, per class, which sums exactly to ``cal(p) - cal(p_base)``: a
  linearisation, like the link of ``link_to_probability``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.explain._compose import compose_weighted, link_to_probability, scatter
from mltrainer.explain._explanation import Explanation
from mltrainer.models import apply_calibration, dwell

__all__ = ["compose_calibrated", "compose_regime", "compose_stacking", "link_to_logit"]

_PASSTHROUGH = "x:"
_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1.0 - 1e-6)  # the stack's own clip of member probabilities
    return np.asarray(np.log(q / (1.0 - q)))


def _secant(f0: np.ndarray, f1: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """``(f1 - f0) / (x1 - x0)``, and 1 where the row did not move (nothing to scale)."""
    dx = x1 - x0
    moved = np.abs(dx) > _EPS
    return np.where(moved, (f1 - f0) / np.where(moved, dx, 1.0), 1.0)


def link_to_logit(member: Explanation) -> Explanation:
    """A binary probability explanation carried into logit space, exactly additive.

    Contributions are scaled by the row's secant slope of the logit between the base
    probability and the row's probability, so they sum to ``logit(p) - logit(p_base)``.

    Raises
    ------
    ConfigError
        For a multi-output explanation or one not in probability space.
    """
    if member.space != "probability" or member.n_outputs != 1:
        raise ConfigError("only a binary probability explanation can be carried to logit space")
    p0 = member.base
    p1 = p0 + member.contributions.sum(axis=1)
    g0, g1 = _logit(p0), _logit(p1)
    slope = _secant(g0, g1, p0, p1)
    return Explanation(
        contributions=member.contributions * slope[:, None, :],
        base=g0,
        output=_logit(member.output),
        space="margin",
        outputs=member.outputs,
        feature_names=member.feature_names,
        data=member.data,
        method=member.method,
        tolerance=max(member.tolerance * float(np.max(slope, initial=1.0)), 1e-9),
        probabilities=member.probabilities,
        classes=member.classes,
        notes=[*member.notes, "probability contributions carried to logit space (linearised)"],
    )


def compose_stacking(
    composite: Any,
    frame: pd.DataFrame,
    members: Mapping[str, Explanation],
    *,
    space: str | None = None,
) -> Explanation:
    """The explanation of a ``StackingComposite`` with a linear meta model (module notes).

    Raises
    ------
    ConfigError
        For a non-linear (``member``) or multi-class logistic meta model, or a space the
        members cannot be composed in.
    """
    combination = composite.linear_combination()  # ConfigError for a non-linear meta
    kind = composite.meta_["type"]
    classifier = composite.task_ == "classifier"
    if kind == "weights":
        names = list(combination["inputs"])
        chosen = space or ("probability" if classifier else "raw")
        return compose_weighted(
            {name: members[name] for name in names},
            frame,
            np.asarray(combination["coef"], dtype=float),
            space=chosen,
            label="stack (weights meta)",
        )
    if classifier and len(composite.classes_) > 2:
        raise ConfigError(
            "a multi-class logistic stack combines members' log-probabilities, which are "
            "not additive in their contributions: explain each member (model.native(name))"
        )
    chosen = "margin" if classifier else "raw"
    if space not in (None, chosen):
        raise ConfigError(f"a {kind} stack is explained in {chosen} space, not {space}")
    inputs = list(combination["inputs"])
    coef = np.asarray(combination["coef"], dtype=float).reshape(-1)
    intercept = float(np.asarray(combination["intercept"], dtype=float).reshape(-1)[0])
    columns = list(frame.columns)
    n = len(frame)
    values = np.zeros((n, len(columns), 1))
    base = np.full((n, 1), intercept)
    tolerance = 1e-9
    parts: dict[str, Explanation] = {}
    outputs: list[str] | None = None
    center = np.asarray(composite.meta_["center"], dtype=float)
    for j, (name, c) in enumerate(zip(inputs, coef, strict=True)):
        if name.startswith(_PASSTHROUGH):
            column = name[len(_PASSTHROUGH) :]
            x = frame[column].to_numpy(dtype=float)
            values[:, columns.index(column), 0] += c * (x - center[j])
            base[:, 0] += c * center[j]
            continue
        member_name = name.split(":", 1)[0]
        member = members[member_name]
        if classifier and member.space == "probability":
            member = link_to_logit(member)
        if member.space != chosen or member.n_outputs != 1:
            raise ConfigError(
                f"member {member_name!r} is explained in {member.space} space "
                f"({member.method}), which a {kind} stack cannot compose"
            )
        parts[member_name] = member
        outputs = list(member.outputs)
        values += c * scatter(member, columns)
        base += c * member.base
        tolerance += abs(c) * member.tolerance
    meta = composite.meta_inputs(frame).to_numpy(dtype=float)
    output = (meta @ coef + intercept)[:, None]
    notes = [
        f"stack with a {kind} meta model on {list(parts)}, composed in {chosen} space "
        f"(coefficients {np.round(coef, 6).tolist()})"
    ]
    if classifier:
        notes.append("the output is the stack's margin: sigmoid(output) is its probability")
    return Explanation(
        contributions=values,
        base=base,
        output=output,
        space=chosen,
        outputs=outputs or ["prediction"],
        feature_names=columns,
        data=frame,
        method="composite",
        tolerance=tolerance,
        members=dict(members),
        weights={name: float(c) for name, c in zip(inputs, coef, strict=True)},
        notes=notes,
    )


def _regime_weights(composite: Any, frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Each row's weight of each member, shape (n_rows, n_members)."""
    probabilities = composite.regime_probabilities(frame)
    n_regimes = probabilities.shape[1]
    if composite.rule_["soft"]:
        per_regime = probabilities
    else:
        regime = dwell(np.argmax(probabilities, axis=1), int(composite.rule_["min_dwell"]))
        per_regime = np.eye(n_regimes)[regime]
    weights = np.zeros((len(frame), len(names)))
    position = {name: m for m, name in enumerate(names)}
    for r, assigned in enumerate(composite.assignment_):
        for name in assigned:
            weights[:, position[name]] += per_regime[:, r] / len(assigned)
    return weights


def compose_regime(
    composite: Any,
    frame: pd.DataFrame,
    members: Mapping[str, Explanation],
    *,
    space: str | None = None,
) -> Explanation:
    """The explanation of a ``RegimeComposite`` (module notes); rows in time order.

    Raises
    ------
    ConfigError
        For a space the members cannot be composed in.
    """
    names = list(members)
    chosen = space or ("probability" if composite.task_ == "classifier" else "raw")
    weights = _regime_weights(composite, frame, names)
    composed = compose_weighted(
        members, frame, weights, space=chosen, label="regime switcher (per-row weights)"
    )
    note = (
        f"regimes from {composite.rule_['method']} on {composite.rule_['columns']} are taken "
        "as given at each row; their own effect is not attributed"
    )
    return replace(composed, notes=[*composed.notes, note])


def compose_calibrated(
    composite: Any,
    frame: pd.DataFrame,
    members: Mapping[str, Explanation],
    *,
    space: str | None = None,
) -> Explanation:
    """The explanation of a ``CalibratedComposite`` in probability space (module notes).

    Raises
    ------
    ConfigError
        For a space other than probability.
    """
    if space not in (None, "probability"):
        raise ConfigError(f"a calibrated model is explained in probability space, not {space}")
    member = members["model"]
    if member.space == "margin":
        member = link_to_probability(member)
    if member.space != "probability":
        raise ConfigError(f"the calibrated model's classifier is explained in {member.space}")
    p0, p1 = member.base, member.output
    if member.n_outputs == 1:  # binary: the positive class
        c0 = apply_calibration(composite.calibration_, np.column_stack([1 - p0, p0]))[:, 1:]
        c1 = apply_calibration(composite.calibration_, np.column_stack([1 - p1, p1]))[:, 1:]
    else:
        c0 = apply_calibration(composite.calibration_, p0)
        c1 = apply_calibration(composite.calibration_, p1)
    slope = _secant(c0, c1, p0, p1)
    # a row whose classifier output did not move from the base: the map's change is
    # carried by no feature, so put it on the base
    still = np.abs(p1 - p0) <= _EPS
    base = np.where(still, c1, c0)
    values = member.contributions * np.where(still, 0.0, slope)[:, None, :]
    output = np.asarray(composite.predict_proba(frame), dtype=float)
    output = output[:, 1:] if member.n_outputs == 1 else output
    method = composite.calibration_["method"]
    return Explanation(
        contributions=values,
        base=base,
        output=output,
        space="probability",
        outputs=member.outputs,
        feature_names=member.feature_names,
        data=frame[member.feature_names] if set(member.feature_names) <= set(frame) else frame,
        method="composite",
        tolerance=max(member.tolerance * float(np.max(np.abs(slope), initial=1.0)), 1e-9),
        members=dict(members),
        weights={"model": 1.0},
        notes=[
            f"classifier probabilities through its {method} calibration map: contributions "
            "scaled by the map's secant slope (linearised)"
        ],
    )
