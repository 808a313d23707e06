"""The compiled kernel of the fast single-row TreeSHAP (imported only when it is used).

numba compiles it once and caches the machine code on disk (``cache=True``), so later
processes load it in milliseconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["rows_kernel"]


@njit(cache=True, nogil=True)
def rows_kernel(
    X: Any,
    rule: int,
    node_feature: Any,
    node_threshold: Any,
    node_default_left: Any,
    node_missing: Any,
    leaf_value: Any,
    leaf_output: Any,
    edge_node: Any,
    edge_left: Any,
    edge_slot: Any,
    n_edges: Any,
    slot_feature: Any,
    n_unique: Any,
    table: Any,
    phi: Any,
    margin: Any,
) -> None:  # pragma: no cover - compiled
    """Add each row's TreeSHAP values to ``phi`` (n, p, k) and its leaf values to ``margin``.

    Every split is evaluated once per row (XGBoost: ``float32(x) < t``, NaN to the default
    child; LightGBM: ``x <= t`` with its missing-value rules); each leaf's pattern of
    satisfied path features indexes its table; a leaf whose whole path is satisfied is the
    one the row reaches in its tree.
    """
    n_nodes = node_feature.shape[0]
    n_leaves = leaf_value.shape[0]
    left = np.empty(n_nodes, np.bool_)
    for r in range(X.shape[0]):
        for node in range(n_nodes):
            x = X[r, node_feature[node]]
            if rule == 0:
                if np.isnan(x):
                    left[node] = node_default_left[node]
                else:
                    left[node] = np.float32(x) < np.float32(node_threshold[node])
            else:
                missing = node_missing[node]
                if np.isnan(x) and missing != 2:
                    x = 0.0
                if (missing == 1 and abs(x) <= 1e-35) or (missing == 2 and np.isnan(x)):
                    left[node] = node_default_left[node]
                else:
                    left[node] = x <= node_threshold[node]
        for leaf in range(n_leaves):
            full = (1 << n_unique[leaf]) - 1
            bits = full
            for e in range(n_edges[leaf]):
                if left[edge_node[leaf, e]] != edge_left[leaf, e]:
                    bits &= ~(1 << edge_slot[leaf, e])
            out = leaf_output[leaf]
            if bits == full:
                margin[r, out] += leaf_value[leaf]
            for s in range(n_unique[leaf]):
                phi[r, slot_feature[leaf, s], out] += table[leaf, bits, s]
