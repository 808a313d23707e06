"""Path-dependent TreeSHAP for one row in microseconds: precomputed leaf tables.

For a single row the boosters' TreeSHAP (and ``shap.TreeExplainer``, which calls it) costs
about a millisecond on 300 trees of depth 6, most of it the algorithm itself. The leaf
formulation of TreeSHAP lets all of that be precomputed once per model:

for a leaf with value ``v`` whose path tests the distinct features ``U`` (``u = |U|``), each
with zero fraction ``z_j`` (the product of the cover ratios of its edges) and one fraction
``o_j`` (1 when the row satisfies every edge of feature ``j``), the leaf contributes to a
feature ``i`` of ``U``::

    phi_i = v (o_i - z_i) prod_{j in B} z_j  sum_{k=0}^{|A|} k! (u-k-1)! / u!  e_{|A|-k}(z_A)

where ``A`` (``B``) are the other features of ``U`` the row does (does not) satisfy and
``e_m`` the elementary symmetric polynomial of degree ``m``. A row enters only through the
pattern of satisfied features, so a table of ``phi`` for each of the ``2^u`` patterns of each
leaf turns the explanation of a row into: evaluate every split once, read each leaf's
pattern, add its table entry (a numba kernel, tens of microseconds). The same pass finds the
leaf the row reaches in every tree, so the margin is computed by traversal, independently
of the tables, and additivity stays a real check.

Tables are built only when they fit ``max_bytes`` (a leaf's table holds ``2^u x u`` floats),
trees use numerical splits only, and the result equals the booster's own ``pred_contribs``
(XGBoost) / ``pred_contrib`` (LightGBM) on check rows; otherwise :func:`build_tables`
returns None and the native path is used.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_MAX_BYTES", "LeafTables", "build_tables"]

logger = logging.getLogger("mltrainer")

#: Largest table built by default (bytes).
DEFAULT_MAX_BYTES = 256 * 2**20
_MAX_UNIQUE = 10  # 2^10 patterns per leaf at most

_XGB, _LGBM = 0, 1
_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2


@dataclass
class _Trees:
    """Flat nodes of every tree plus each leaf's path (edges and distinct features)."""

    rule: int
    n_outputs: int
    node_feature: np.ndarray  # internal nodes only (global node ids)
    node_threshold: np.ndarray
    node_default_left: np.ndarray
    node_missing: np.ndarray
    leaf_value: np.ndarray
    leaf_output: np.ndarray
    leaf_cover: np.ndarray  # leaf cover / root cover
    edge_node: np.ndarray  # (L, depth)
    edge_left: np.ndarray  # (L, depth)
    edge_slot: np.ndarray  # (L, depth)
    n_edges: np.ndarray  # (L,)
    slot_feature: np.ndarray  # (L, u_max)
    slot_zero: np.ndarray  # (L, u_max)
    n_unique: np.ndarray  # (L,)


class _Builder:
    def __init__(self, rule: int, n_outputs: int) -> None:
        self.rule, self.n_outputs = rule, n_outputs
        self.nodes: list[tuple[int, float, bool, int]] = []
        self.leaves: list[tuple[float, int, float, list[tuple[int, bool, int, float]]]] = []

    def node(self, feature: int, threshold: float, default_left: bool, missing: int) -> int:
        self.nodes.append((feature, threshold, default_left, missing))
        return len(self.nodes) - 1

    def leaf(
        self, value: float, output: int, cover: float, path: list[tuple[int, bool, int, float]]
    ) -> None:
        # path: (node id, went left, feature, cover ratio child / node)
        self.leaves.append((value, output, cover, list(path)))

    def finish(self) -> _Trees:
        depth = max((len(p) for *_, p in self.leaves), default=0) or 1
        n_leaves = len(self.leaves)
        edge_node = np.zeros((n_leaves, depth), np.int64)
        edge_left = np.zeros((n_leaves, depth), np.bool_)
        edge_slot = np.zeros((n_leaves, depth), np.int64)
        n_edges = np.zeros(n_leaves, np.int64)
        slots: list[list[int]] = []
        zeros: list[list[float]] = []
        for leaf, (_, _, _, path) in enumerate(self.leaves):
            features: list[int] = []
            zero: list[float] = []
            for e, (node, left, feature, ratio) in enumerate(path):
                if feature not in features:
                    features.append(feature)
                    zero.append(1.0)
                slot = features.index(feature)
                zero[slot] *= ratio
                edge_node[leaf, e], edge_left[leaf, e], edge_slot[leaf, e] = node, left, slot
            n_edges[leaf] = len(path)
            slots.append(features)
            zeros.append(zero)
        u_max = max((len(s) for s in slots), default=0) or 1
        slot_feature = np.zeros((n_leaves, u_max), np.int64)
        slot_zero = np.zeros((n_leaves, u_max))
        for leaf, (features, zero) in enumerate(zip(slots, zeros, strict=True)):
            slot_feature[leaf, : len(features)] = features
            slot_zero[leaf, : len(zero)] = zero
        nodes = self.nodes or [(0, 0.0, False, 0)]
        return _Trees(
            rule=self.rule,
            n_outputs=self.n_outputs,
            node_feature=np.array([n[0] for n in nodes], np.int64),
            node_threshold=np.array([n[1] for n in nodes], np.float64),
            node_default_left=np.array([n[2] for n in nodes], np.bool_),
            node_missing=np.array([n[3] for n in nodes], np.int64),
            leaf_value=np.array([leaf[0] for leaf in self.leaves], np.float64),
            leaf_output=np.array([leaf[1] for leaf in self.leaves], np.int64),
            leaf_cover=np.array([leaf[2] for leaf in self.leaves], np.float64),
            edge_node=edge_node,
            edge_left=edge_left,
            edge_slot=edge_slot,
            n_edges=n_edges,
            slot_feature=slot_feature,
            slot_zero=slot_zero,
            n_unique=np.array([len(s) for s in slots], np.int64),
        )


class _UnsupportedError(Exception):
    """The model has something the tables do not cover (categorical split, dart, ...)."""


def _xgboost_trees(booster: Any, n_outputs: int) -> _Trees:
    model = json.loads(booster.save_raw("json"))
    gbm = model["learner"]["gradient_booster"]
    if gbm.get("name") != "gbtree":
        raise _UnsupportedError(f"booster {gbm.get('name')}")
    trees = gbm["model"]["trees"]
    info = gbm["model"]["tree_info"]
    builder = _Builder(_XGB, n_outputs)
    for tree, output in zip(trees, info, strict=True):
        if any(int(t) != 0 for t in tree.get("split_type", [])):
            raise _UnsupportedError("categorical split")
        left, right = tree["left_children"], tree["right_children"]
        feature, cond = tree["split_indices"], tree["split_conditions"]
        default, cover = tree["default_left"], tree["sum_hessian"]
        root_cover = float(cover[0])
        ids: dict[int, int] = {}
        stack: list[tuple[int, list[tuple[int, bool, int, float]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            if left[node] == -1:
                builder.leaf(float(cond[node]), int(output), float(cover[node]) / root_cover, path)
                continue
            ids[node] = builder.node(
                int(feature[node]), float(np.float32(cond[node])), bool(default[node]), 0
            )
            c = float(cover[node])
            for child, is_left in ((left[node], True), (right[node], False)):
                ratio = float(cover[child]) / c if c > 0 else 0.0
                stack.append((child, [*path, (ids[node], is_left, int(feature[node]), ratio)]))
    return builder.finish()


_LGBM_MISSING = {"None": _MISSING_NONE, "Zero": _MISSING_ZERO, "NaN": _MISSING_NAN}


def _lightgbm_trees(booster: Any, n_outputs: int) -> _Trees:
    model = booster.dump_model()
    if model.get("average_output"):
        raise _UnsupportedError("random forest mode (average_output)")
    builder = _Builder(_LGBM, n_outputs)
    per_iteration = int(model.get("num_tree_per_iteration", 1))
    for index, tree in enumerate(model["tree_info"]):
        root = tree["tree_structure"]
        output = index % per_iteration
        root_cover = float(root.get("internal_count", root.get("leaf_count", 1)))
        stack: list[tuple[dict[str, Any], list[tuple[int, bool, int, float]]]] = [(root, [])]
        while stack:
            node, path = stack.pop()
            if "leaf_value" in node:
                count = float(node.get("leaf_count", root_cover))
                builder.leaf(float(node["leaf_value"]), output, count / root_cover, path)
                continue
            if node.get("decision_type") != "<=":
                raise _UnsupportedError(f"decision {node.get('decision_type')}")
            missing = _LGBM_MISSING.get(str(node.get("missing_type")))
            if missing is None:
                raise _UnsupportedError(f"missing type {node.get('missing_type')}")
            nid = builder.node(
                int(node["split_feature"]),
                float(node["threshold"]),
                bool(node["default_left"]),
                missing,
            )
            c = float(node["internal_count"])
            for child, is_left in ((node["left_child"], True), (node["right_child"], False)):
                count = float(child.get("internal_count", child.get("leaf_count", 0)))
                ratio = count / c if c > 0 else 0.0
                stack.append((child, [*path, (nid, is_left, int(node["split_feature"]), ratio)]))
    return builder.finish()


def _weights(u_max: int) -> np.ndarray:
    """``W[u, k] = k! (u - k - 1)! / u!`` for ``0 <= k < u <= u_max``."""
    out = np.zeros((u_max + 1, u_max + 1))
    for u in range(1, u_max + 1):
        for k in range(u):
            out[u, k] = math.factorial(k) * math.factorial(u - k - 1) / math.factorial(u)
    return out


def _tables(trees: _Trees) -> np.ndarray:
    """``table[l, pattern, slot]``: leaf ``l``'s contribution to its slot's feature."""
    n_leaves, u_max = trees.slot_zero.shape
    z, u, v = trees.slot_zero, trees.n_unique, trees.leaf_value
    weights = _weights(u_max)[u]  # (L, u_max + 1)
    table = np.zeros((n_leaves, 2**u_max, u_max))
    slots = np.arange(u_max)
    in_path = slots[None, :] < u[:, None]  # (L, u_max)
    for pattern in range(2**u_max):
        bits = ((pattern >> slots) & 1).astype(bool)  # (u_max,)
        valid = ~np.any(bits[None, :] & ~in_path, axis=1)  # no bit beyond the leaf's u
        for i in range(u_max):
            others = in_path & (slots != i)[None, :]
            in_a = others & bits[None, :]
            in_b = others & ~bits[None, :]
            prod_b = np.where(in_b, z, 1.0).prod(axis=1)
            e = np.zeros((n_leaves, u_max + 1))
            e[:, 0] = 1.0
            for j in range(u_max):
                zj = np.where(in_a[:, j], z[:, j], 0.0)[:, None]
                e[:, 1:] = e[:, 1:] + zj * e[:, :-1]
            a = in_a.sum(axis=1)
            total = np.zeros(n_leaves)
            for k in range(u_max):
                ok = k <= a
                term = weights[:, k] * np.take_along_axis(e, np.maximum(a - k, 0)[:, None], 1)[:, 0]
                total += np.where(ok, term, 0.0)
            o_i = float(bits[i])
            value = v * (o_i - z[:, i]) * prod_b * total
            table[:, pattern, i] = np.where(in_path[:, i] & valid, value, 0.0)
    return table


@dataclass
class LeafTables:
    """Precomputed TreeSHAP of one booster (see the module notes).

    Call it on rows of the booster's inputs to get ``(contributions (n, p, k), bias (k,),
    margin (n, k))`` equal to the booster's own TreeSHAP and margin.
    """

    trees: _Trees
    table: np.ndarray
    bias: np.ndarray  # SHAP base value per output
    base_margin: np.ndarray  # margin before any tree (base score) per output
    n_features: int

    def __call__(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        data = np.ascontiguousarray(data, dtype=np.float64)
        n, k = data.shape[0], self.trees.n_outputs
        phi = np.zeros((n, self.n_features, k))
        margin = np.tile(self.base_margin, (n, 1))
        from mltrainer.explain._fastkernel import rows_kernel

        t = self.trees
        rows_kernel(
            data, t.rule, t.node_feature, t.node_threshold, t.node_default_left, t.node_missing,
            t.leaf_value, t.leaf_output, t.edge_node, t.edge_left, t.edge_slot, t.n_edges,
            t.slot_feature, t.n_unique, self.table, phi, margin,
        )  # fmt: skip
        return phi, np.tile(self.bias, (n, 1)), margin

    @property
    def nbytes(self) -> int:
        """Memory held by the table."""
        return int(self.table.nbytes)


def build_tables(
    kind: str,
    booster: Any,
    *,
    n_features: int,
    n_outputs: int,
    native: Any,
    check_rows: np.ndarray,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LeafTables | None:
    """Tables for an XGBoost or LightGBM booster, or None when they do not apply.

    Parameters
    ----------
    kind : {"xgboost", "lightgbm"}
    booster : xgboost.Booster or lightgbm.Booster
    n_features, n_outputs : int
        The booster's inputs and outputs (1 for binary and regression).
    native : callable
        ``native(rows) -> (contributions, bias, margin)`` by the booster itself, used to
        read the SHAP base value and to check the tables on ``check_rows``.
    check_rows : ndarray
        Rows the tables must reproduce (to 1e-6 relative to the margin's scale).
    max_bytes : int
        Refuse tables larger than this.
    """
    try:
        trees = (_xgboost_trees if kind == "xgboost" else _lightgbm_trees)(booster, n_outputs)
    except _UnsupportedError as why:
        logger.info("fast single-row TreeSHAP not available (%s): using the native path", why)
        return None
    n_leaves, u_max = trees.slot_zero.shape
    size = n_leaves * 2**u_max * u_max * 8
    if u_max > _MAX_UNIQUE or size > max_bytes:
        logger.info(
            "fast single-row TreeSHAP tables would take %.0f MB (limit %.0f MB): native path",
            size / 2**20,
            max_bytes / 2**20,
        )
        return None
    table = _tables(trees)
    values, bias, margin = native(check_rows)
    expected = np.zeros(n_outputs)
    np.add.at(expected, trees.leaf_output, trees.leaf_value * trees.leaf_cover)
    bias_row = np.asarray(bias[0], dtype=np.float64)
    tables = LeafTables(trees, table, bias_row, bias_row - expected, n_features)
    got_values, _, got_margin = tables(check_rows)
    scale = 1.0 + float(np.abs(values).sum(axis=1).max(initial=0.0))
    error = max(
        float(np.abs(got_values - values).max(initial=0.0)),
        float(np.abs(got_margin - margin).max(initial=0.0)),
    )
    if error > 1e-6 * scale * (8 if kind == "xgboost" else 1):
        logger.warning(
            "fast single-row TreeSHAP differs from the booster's by %.3g: native path", error
        )
        return None
    return tables
