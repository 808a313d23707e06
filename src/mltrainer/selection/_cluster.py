"""Clustered importance: features grouped by correlation, whole clusters permuted together.

Two substitutes (say a 10-day and a 12-day momentum) share the information: permuting
one leaves the other, so each looks unimportant. Permuting the whole cluster at once
measures what the cluster carries (Lopez de Prado, *Machine Learning for Asset
Managers*, ch. 6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import silhouette_score

from mltrainer.exceptions import ConfigError
from mltrainer.selection._common import as_frame
from mltrainer.selection._permutation import permutation_importance
from mltrainer.selection._result import ImportanceResult

__all__ = ["cluster_features", "clustered_importance", "correlation_distance"]


def correlation_distance(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """``sqrt((1 - |corr|) / 2)`` between every pair of columns (0 = perfect substitutes).

    A constant column has no correlation: it is put at the maximum distance.
    """
    frame = as_frame(X)
    values = frame.to_numpy(dtype=float)
    centred = values - values.mean(axis=0)
    scale = np.sqrt((centred**2).sum(axis=0))
    safe = np.where(scale > 0, scale, 1.0)
    corr = (centred.T @ centred) / np.outer(safe, safe)
    corr = np.where(np.outer(scale > 0, scale > 0), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    dist = np.sqrt(np.clip((1.0 - np.abs(corr)) / 2.0, 0.0, None))
    np.fill_diagonal(dist, 0.0)
    return pd.DataFrame(dist, index=frame.columns, columns=frame.columns)


def cluster_features(
    X: pd.DataFrame | np.ndarray,
    *,
    n_clusters: int | None = None,
    max_distance: float | None = None,
) -> dict[str, list[str]]:
    """Group features by correlation distance (average-linkage hierarchical clustering).

    Parameters
    ----------
    X : DataFrame or ndarray, shape (n, p)
        Features (the training rows: clustering uses no labels).
    n_clusters : int, optional
        Cut the tree into this many clusters.
    max_distance : float, optional
        Cut the tree at this correlation distance (0.5 joins features with
        ``|corr| >= 0.5`` on average). Used when ``n_clusters`` is None.
        With neither, the number of clusters with the best silhouette is chosen.

    Returns
    -------
    dict
        ``cluster_0``, ``cluster_1``, ... -> feature names, clusters ordered by their
        first feature's column position.
    """
    frame = as_frame(X)
    columns = list(frame.columns)
    p = len(columns)
    if n_clusters is not None and (
        isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 1 <= n_clusters <= p
    ):
        raise ConfigError(
            f"n_clusters={n_clusters!r} must be an int between 1 and the {p} features"
        )
    if p == 1:
        return {"cluster_0": columns}
    dist = correlation_distance(frame).to_numpy()
    tree = linkage(squareform(dist, checks=False), method="average")
    if n_clusters is not None:
        labels = fcluster(tree, n_clusters, criterion="maxclust")
    elif max_distance is not None:
        labels = fcluster(tree, max_distance, criterion="distance")
    else:
        labels = _best_silhouette(tree, dist, p)
    clusters: dict[int, list[str]] = {}
    for column, label in zip(columns, labels, strict=True):
        clusters.setdefault(int(label), []).append(column)
    return {f"cluster_{i}": members for i, members in enumerate(clusters.values())}


def _best_silhouette(tree: np.ndarray, dist: np.ndarray, p: int) -> np.ndarray:
    best, best_labels = -np.inf, np.ones(p, dtype=int)
    for k in range(2, p):
        labels = fcluster(tree, k, criterion="maxclust")
        if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= p:
            continue
        score = silhouette_score(dist, labels, metric="precomputed")
        if score > best:
            best, best_labels = score, labels
    return best_labels


def clustered_importance(
    estimator: Any,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    cv: Any,
    t1: pd.Series | None = None,
    clusters: Mapping[str, Sequence[str]] | None = None,
    n_clusters: int | None = None,
    max_distance: float | None = None,
    scoring: Any = None,
    n_repeats: int = 10,
    sample_weight: Any = None,
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
) -> ImportanceResult:
    """Permutation importance of whole clusters of correlated features, out of fold.

    Parameters
    ----------
    estimator, X, y, cv, t1, scoring, n_repeats, sample_weight, random_state, n_jobs
        As :func:`permutation_importance`.
    clusters : mapping of str to list of str, optional
        Clusters to use; default :func:`cluster_features` on X with ``n_clusters`` /
        ``max_distance``.
    n_clusters, max_distance : optional
        Passed to :func:`cluster_features`.

    Returns
    -------
    ImportanceResult
        ``method="clustered"``, indexed by cluster; ``groups`` maps each cluster to its
        features and :meth:`~ImportanceResult.per_feature` gives every feature its
        cluster's value.
    """
    if clusters is None:
        clusters = cluster_features(X, n_clusters=n_clusters, max_distance=max_distance)
    result = permutation_importance(
        estimator,
        X,
        y,
        cv=cv,
        t1=t1,
        scoring=scoring,
        n_repeats=n_repeats,
        groups=clusters,
        sample_weight=sample_weight,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return ImportanceResult(
        method="clustered",
        mean=result.mean,
        std=result.std,
        folds=result.folds,
        scoring=result.scoring,
        baseline=result.baseline,
        groups=result.groups,
    )
