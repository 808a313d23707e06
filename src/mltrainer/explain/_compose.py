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
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.explain._explanation import Explanation

__all__ = ["COMPOSERS", "Composer", "compose_averaging", "composer_for", "link_to_probability"]

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


def _scatter(member: Explanation, names: list[str]) -> np.ndarray:
    position = {name: j for j, name in enumerate(names)}
    out = np.zeros((member.n_rows, len(names), member.n_outputs))
    out[:, [position[f] for f in member.feature_names], :] = member.contributions
    return out


def _default_space(members: Mapping[str, Explanation]) -> str:
    spaces = {m.space for m in members.values()}
    if spaces == {"raw"}:
        return "raw"
    return "margin" if spaces == {"margin"} else "probability"


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
    names = list(members)
    chosen = space or _default_space(members)
    parts: dict[str, Explanation] = {}
    for name in names:
        member = members[name]
        if member.space == chosen:
            parts[name] = member
        elif chosen == "probability" and member.space == "margin":
            parts[name] = link_to_probability(member)
        else:
            hint = (
                "explain it in probability space (space='probability')"
                if member.space == "probability"
                else "members must share one output space"
            )
            raise ConfigError(
                f"member {name!r} is explained in {member.space} space ({member.method}), "
                f"which cannot be composed in {chosen} space: {hint}"
            )
    outputs = {tuple(p.outputs) for p in parts.values()}
    if len(outputs) != 1:
        raise ConfigError(f"members explain different outputs {sorted(outputs)}")
    columns = list(frame.columns)
    values = sum(w * _scatter(parts[n], columns) for w, n in zip(weights, names, strict=True))
    base = sum(w * parts[n].base for w, n in zip(weights, names, strict=True))
    output = sum(w * parts[n].output for w, n in zip(weights, names, strict=True))
    tolerance = float(sum(w * parts[n].tolerance for w, n in zip(weights, names, strict=True)))
    notes = [
        f"averaging composite of {names} with weights {np.round(weights, 6).tolist()}, "
        f"composed in {chosen} space"
    ]
    if chosen == "margin":
        notes.append(
            "the output is the weighted mean of the members' margins, not the composite's "
            "probability (the mean of the members' probabilities); space='probability' "
            "explains the probability itself"
        )
    return Explanation(
        contributions=np.asarray(values),
        base=np.asarray(base),
        output=np.asarray(output),
        space=chosen,
        outputs=list(next(iter(outputs))),
        feature_names=columns,
        data=frame,
        method="composite",
        tolerance=max(tolerance, 1e-9),
        members=dict(members),
        weights={n: float(w) for n, w in zip(names, weights, strict=True)},
        notes=notes,
    )


#: The composer of each composite kind (``Composite.composite_kind``): exactly these. A new
#: kind adds its composer here, or defines ``compose_explanation(frame, members, *, space)``
#: on its class (see :func:`composer_for`).
COMPOSERS: Mapping[str, Composer] = MappingProxyType({"averaging": compose_averaging})


def composer_for(composite: Any) -> Composer:
    """The composer of ``composite``: its own ``compose_explanation`` or its kind's entry.

    Raises
    ------
    ConfigError
        When neither exists (naming the kinds that can be explained).
    """
    own = getattr(composite, "compose_explanation", None)
    if callable(own):
        return lambda _composite, frame, members, *, space=None: own(frame, members, space=space)
    kind = getattr(composite, "composite_kind", None)
    composer = COMPOSERS.get(str(kind))
    if composer is None:
        raise ConfigError(
            f"composite kind {kind!r} ({type(composite).__name__}) has no explanation "
            f"composer; explainable kinds: {', '.join(COMPOSERS)} (or define "
            "compose_explanation(frame, members, *, space) on the class)"
        )
    return composer
