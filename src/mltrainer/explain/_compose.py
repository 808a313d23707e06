"""Explanations of composites, composed exactly from their members' explanations.

One composer per composite kind (:data:`COMPOSERS`, or the composite's own
``compose_explanation``): it receives the composite, the explained rows and each
member's own explanation, and returns the composite's explanation with the members kept.

The averaging composite (``AveragingComposite``: ``f = sum_m w_m f_m``) composes in one of
two spaces, each with an exact additivity identity:

- ``margin`` (classifiers whose members all have a margin) and ``raw`` (regressors):
  ``contributions = sum_m w_m phi_m``, ``base = sum_m w_m base_m`` and ``output = sum_m w_m
  g_m``, the weighted mean of the members' margins (their raw predictions for
  regressors, which *is* the composite's prediction). SHAP values are linear in the
  model, so this is the SHAP decomposition of the mean margin. For classifiers the mean
  margin is not the composite's output: the composite averages probabilities, and
  ``sigma(mean margin) != mean sigma(margin)``.
- ``probability`` (classifiers): the composite's own output, ``sum_m w_m p_m``. A member
  explained in probability space (a forest, a permutation explainer) enters as it is; a
  member explained in margin space is carried through its link (sigmoid or softmax) by
  the link's slope averaged along the straight line from its base margin to the row's
  margin (the secant slope for a sigmoid), which sums exactly to ``p_m(x) - p_m(base)``.
  These probability contributions are additive and keep each member's signs and
  proportions per class; they are a linearisation, not the Shapley values of
  ``sigma o g_m``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.explain._explanation import Explanation

__all__ = ["Composer", "compose_averaging", "compose_weighted", "link_to_probability", "scatter"]

#: ``composer(composite, frame, members, *, space) -> Explanation``: ``frame`` holds the
#: composite's features, ``members`` each member's explanation by name, ``space`` the
#: requested space (None: the composer's default).
Composer = Callable[..., Explanation]

_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(32)
_NODES = 0.5 * (_GAUSS_NODES + 1.0)  # on [0, 1]
_WEIGHTS = 0.5 * _GAUSS_WEIGHTS


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def _softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def link_to_probability(member: Explanation) -> Explanation:
    """A margin-space explanation carried into probability space, exactly additive.

    Binary (one logit ``g``): every contribution is multiplied by the secant slope
    ``(sigma(b + S) - sigma(b)) / S`` with ``S`` the row's sum of contributions (the slope
    ``sigma'(b)`` when ``S = 0``), so they sum to ``sigma(b + S) - sigma(b)``. Several
    classes (softmax logits): the softmax Jacobian averaged along ``b + t S`` for ``t`` in
    [0, 1] (32-point Gauss-Legendre) maps each feature's logit contributions to probability
    contributions that sum to ``softmax(b + S) - softmax(b)``. The output is the member's own
    probability (``sigma`` / ``softmax`` of its margin output).
    """
    if member.space != "margin":
        raise ConfigError(f"only a margin explanation can be linked, not {member.space}")
    phi, base = member.contributions, member.base
    total = phi.sum(axis=1)  # (n, k)
    if member.n_outputs == 1:
        p0 = _sigmoid(base)
        p1 = _sigmoid(base + total)
        safe = np.where(np.abs(total) > 1e-12, total, 1.0)
        slope = np.where(np.abs(total) > 1e-12, (p1 - p0) / safe, p0 * (1.0 - p0))
        values = phi * slope[:, None, :]
        output = _sigmoid(member.output)
        new_base = p0
    else:
        z = base[:, None, :] + _NODES[None, :, None] * total[:, None, :]  # (n, q, k)
        p = _softmax(z)
        jac = p[..., :, None] * (np.eye(p.shape[-1])[None, None] - p[..., None, :])
        mean_jac = np.einsum("q,nqcd->ncd", _WEIGHTS, jac)  # (n, k, k)
        values = np.einsum("njd,ncd->njc", phi, mean_jac)
        output = _softmax(member.output)
        new_base = _softmax(base)
    return Explanation(
        contributions=values,
        base=new_base,
        output=output,
        space="probability",
        outputs=member.outputs,
        feature_names=member.feature_names,
        data=member.data,
        method=member.method,
        tolerance=max(member.tolerance, 1e-9),
        probabilities=member.probabilities,
        classes=member.classes,
        notes=[*member.notes, "margin contributions carried through the link (linearised)"],
    )


def scatter(member: Explanation, names: list[str]) -> np.ndarray:
    position = {name: j for j, name in enumerate(names)}
    out = np.zeros((member.n_rows, len(names), member.n_outputs))
    out[:, [position[f] for f in member.feature_names], :] = member.contributions
    return out


def _default_space(members: Mapping[str, Explanation]) -> str:
    spaces = {m.space for m in members.values()}
    if spaces == {"raw"}:
        return "raw"
    return "margin" if spaces == {"margin"} else "probability"


def _carry(name: str, member: Explanation, chosen: str) -> Explanation:
    """``member`` in the ``chosen`` space (a margin carried into probability), or refused."""
    if member.space == chosen:
        return member
    if chosen == "probability" and member.space == "margin":
        return link_to_probability(member)
    hint = (
        "explain it in probability space (space='probability')"
        if member.space == "probability"
        else "members must share one output space"
    )
    raise ConfigError(
        f"member {name!r} is explained in {member.space} space ({member.method}), "
        f"which cannot be composed in {chosen} space: {hint}"
    )


def compose_weighted(
    members: Mapping[str, Explanation],
    frame: pd.DataFrame,
    weights: np.ndarray,
    *,
    space: str,
    label: str,
) -> Explanation:
    """``sum_m w_m f_m`` explained in ``space``: weights per member, or per row and member.

    Parameters
    ----------
    members : dict of str to Explanation
        Each member's explanation, in the order of ``weights``' last axis.
    frame : DataFrame
        The composite's features of the explained rows.
    weights : ndarray of shape (n_members,) or (n_rows, n_members)
    space : {"margin", "probability", "raw"}
    label : str
        What is composed, for the explanation's notes.

    Raises
    ------
    ConfigError
        For a space the members cannot be composed in (naming the member).
    """
    names = list(members)
    parts = {name: _carry(name, members[name], space) for name in names}
    outputs = {tuple(p.outputs) for p in parts.values()}
    if len(outputs) != 1:
        raise ConfigError(f"members explain different outputs {sorted(outputs)}")
    columns = list(frame.columns)
    w = np.asarray(weights, dtype=float)
    per_row = w.reshape(1, -1) if w.ndim == 1 else w  # (n or 1, members)
    values = sum(
        per_row[:, m, None, None] * scatter(parts[n], columns) for m, n in enumerate(names)
    )
    base = sum(per_row[:, m, None] * parts[n].base for m, n in enumerate(names))
    output = sum(per_row[:, m, None] * parts[n].output for m, n in enumerate(names))
    scale = np.abs(per_row).max(axis=0)
    tolerance = float(sum(scale[m] * parts[n].tolerance for m, n in enumerate(names)))
    shown = np.round(w, 6).tolist() if w.ndim == 1 else "per row"
    notes = [f"{label} of {names} with weights {shown}, composed in {space} space"]
    if space == "margin":
        notes.append(
            "the output is the weighted mean of the members' margins, not the composite's "
            "probability (the mean of the members' probabilities); space='probability' "
            "explains the probability itself"
        )
    mean = per_row.mean(axis=0)
    return Explanation(
        contributions=np.asarray(values),
        base=np.asarray(base),
        output=np.asarray(output),
        space=space,
        outputs=list(next(iter(outputs))),
        feature_names=columns,
        data=frame,
        method="composite",
        tolerance=max(tolerance, 1e-9),
        members=dict(members),
        weights={n: float(mean[m]) for m, n in enumerate(names)},
        notes=notes,
    )


def compose_averaging(
    composite: Any,
    frame: pd.DataFrame,
    members: Mapping[str, Explanation],
    *,
    space: str | None = None,
) -> Explanation:
    """The explanation of an ``AveragingComposite`` (see the module notes for the spaces).

    Raises
    ------
    ConfigError
        For a space the members cannot be composed in (naming the member).
    """
    weights = np.asarray(composite.weights_, dtype=float)
    chosen = space or _default_space(members)
    return compose_weighted(members, frame, weights, space=chosen, label="averaging composite")
