"""What a version keeps from its training rows so it can be explained without them.

Two files are saved with every model version (``ModelRegistry.save(extra_files=...)``,
checksummed in its manifest):

- ``explain_background.json``: a k-means summary of the training rows (centroids and the
  share of rows in each), the background of the permutation and kernel explainers and the
  reference of linear models without a centring scaler;
- ``explain_stats.json``: per-feature training statistics (mean, std, min, max, quartiles),
  which features are categorical with their value counts, the quartile bins LIME perturbs
  in (with each bin's mean, std and bounds), and the distribution of the out-of-fold
  ``|signal|`` (for the ``top_quantile`` critical rule).

Nothing of the current data goes into either: both describe the training rows only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError, NotFoundError

__all__ = [
    "BACKGROUND_FILE",
    "STATS_FILE",
    "Background",
    "TrainingStats",
    "background_from_frame",
    "load_background",
    "load_stats",
    "training_explain_files",
]

BACKGROUND_FILE = "explain_background.json"
STATS_FILE = "explain_stats.json"
_FORMAT = 1
_MAX_CATEGORIES = 20  # the monitor's categorical rule (integer values, at most 20 distinct)
_SIGNAL_GRID = np.linspace(0.0, 1.0, 201)


@dataclass(frozen=True)
class Background:
    """A weighted summary of the training rows.

    Attributes
    ----------
    data : DataFrame
        One row per centroid, columns = the model's features.
    weights : ndarray
        The share of training rows each centroid stands for (sums to 1).
    """

    data: pd.DataFrame
    weights: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``explain_background.json``)."""
        return {
            "format": _FORMAT,
            "features": [str(c) for c in self.data.columns],
            "rows": self.data.to_numpy(dtype=float).tolist(),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Background:
        """Read the JSON form back."""
        frame = pd.DataFrame(np.asarray(data["rows"], dtype=float), columns=data["features"])
        return cls(frame, np.asarray(data["weights"], dtype=float))


def _complete(X: pd.DataFrame) -> np.ndarray:
    data = X.to_numpy(dtype=float)
    if np.isnan(data).any():  # k-means needs complete rows: a missing value takes its mean
        means = np.nanmean(np.where(np.isfinite(data), data, np.nan), axis=0)
        data = np.where(np.isnan(data), np.nan_to_num(means)[None, :], data)
    return data


def background_from_frame(X: pd.DataFrame, *, size: int = 50, random_state: int = 0) -> Background:
    """Summarise training rows by ``size`` k-means centroids weighted by their row counts.

    Fewer rows than ``size`` are kept as they are, each with the same weight.

    Raises
    ------
    DataError
        If ``X`` has no rows.
    """
    if len(X) == 0:
        raise DataError("the background needs training rows; X has none")
    data = _complete(X)
    if len(X) <= size:
        return Background(pd.DataFrame(data, columns=X.columns), np.full(len(X), 1.0 / len(X)))
    distinct, counts_of = np.unique(data, axis=0, return_counts=True)
    if len(distinct) <= size:  # few distinct rows (e.g. calendar features): each is a centroid
        return Background(pd.DataFrame(distinct, columns=X.columns), counts_of / counts_of.sum())
    from sklearn.cluster import KMeans

    scale = data.std(axis=0)
    scale[scale == 0] = 1.0
    centre = data.mean(axis=0)
    kmeans = KMeans(n_clusters=size, n_init=3, random_state=random_state)
    labels = kmeans.fit_predict((data - centre) / scale)  # clusters in standardised units
    counts = np.bincount(labels, minlength=size).astype(float)
    centroids = kmeans.cluster_centers_ * scale + centre
    keep = counts > 0
    return Background(
        pd.DataFrame(centroids[keep], columns=X.columns), counts[keep] / counts[keep].sum()
    )


def _is_categorical(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size == 0 or not np.array_equal(finite, np.round(finite)):
        return False
    return int(np.unique(finite).size) <= _MAX_CATEGORIES


@dataclass(frozen=True)
class TrainingStats:
    """Per-feature statistics of the training rows (``explain_stats.json``).

    Attributes
    ----------
    features : list of str
    means, stds, mins, maxs : ndarray
    quartiles : ndarray of shape (n_features, 3)
        The 25th, 50th and 75th percentiles.
    categorical : dict of str to (values, counts)
        Categorical features (integer-valued, at most 20 distinct values).
    bins : dict of str to dict
        LIME's quartile bins of each continuous feature: ``edges`` and each bin's ``means``,
        ``stds``, ``mins``, ``maxs`` and ``counts``.
    n_rows : int
        Training rows described.
    signal_quantiles : ndarray or None
        Quantiles of the out-of-fold ``|signal|`` on a grid of 201 levels (0, 0.005, .., 1).
    """

    features: list[str]
    means: np.ndarray
    stds: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    quartiles: np.ndarray
    categorical: dict[str, tuple[list[float], list[int]]]
    bins: dict[str, dict[str, list[float]]]
    n_rows: int
    signal_quantiles: np.ndarray | None = None

    @classmethod
    def from_frame(cls, X: pd.DataFrame, *, signal: np.ndarray | None = None) -> TrainingStats:
        """Measure the training rows ``X`` (and the out-of-fold ``|signal|``, if given).

        Raises
        ------
        DataError
            With fewer than 2 rows: one row has zero variance, so every perturbation of it
            would be the row itself (the LIME trap of ``training_data=row.reshape(1, -1)``).
        """
        if len(X) < 2:
            raise DataError(
                f"training statistics need at least 2 rows, got {len(X)}: one row has zero "
                "variance, so every LIME perturbation would be the row itself; pass the "
                "training rows"
            )
        features = [str(c) for c in X.columns]
        data = X.to_numpy(dtype=float)
        categorical: dict[str, tuple[list[float], list[int]]] = {}
        bins: dict[str, dict[str, list[float]]] = {}
        for j, name in enumerate(features):
            column = data[:, j]
            column = column[np.isfinite(column)]
            if column.size == 0:
                raise DataError(f"feature {name!r} has no finite training value")
            if _is_categorical(column):
                values, counts = np.unique(column, return_counts=True)
                categorical[name] = (values.tolist(), counts.astype(int).tolist())
                continue
            edges = np.unique(np.percentile(column, [25, 50, 75]))
            which = np.searchsorted(edges, column)  # as lime's QuartileDiscretizer
            parts = [column[which == b] for b in range(edges.size + 1)]
            bins[name] = {
                "edges": edges.tolist(),
                "means": [float(p.mean()) if p.size else 0.0 for p in parts],
                "stds": [float(p.std()) + 1e-11 if p.size else 1e-11 for p in parts],
                "mins": [float(column.min()), *edges.tolist()],
                "maxs": [*edges.tolist(), float(column.max())],
                "counts": [int(p.size) for p in parts],
            }
        quantiles = None
        if signal is not None:
            finite = np.abs(np.asarray(signal, dtype=float))
            finite = finite[np.isfinite(finite)]
            quantiles = np.quantile(finite, _SIGNAL_GRID) if finite.size else None
        return cls(
            features=features,
            means=np.nanmean(data, axis=0),
            stds=np.nanstd(data, axis=0),
            mins=np.nanmin(data, axis=0),
            maxs=np.nanmax(data, axis=0),
            quartiles=np.nanpercentile(data, [25, 50, 75], axis=0).T,
            categorical=categorical,
            bins=bins,
            n_rows=len(X),
            signal_quantiles=quantiles,
        )

    def signal_threshold(self, top: float) -> float | None:
        """The ``|signal|`` above which a decision is in the top ``top`` share of training's."""
        if self.signal_quantiles is None:
            return None
        return float(np.interp(1.0 - top, _SIGNAL_GRID, self.signal_quantiles))

    def subset(self, features: Sequence[str]) -> TrainingStats:
        """The statistics of some of the features, in the given order."""
        position = {name: j for j, name in enumerate(self.features)}
        missing = [f for f in features if f not in position]
        if missing:
            raise DataError(f"the saved training statistics have no feature {missing[0]!r}")
        take = [position[f] for f in features]
        return TrainingStats(
            features=list(features),
            means=self.means[take],
            stds=self.stds[take],
            mins=self.mins[take],
            maxs=self.maxs[take],
            quartiles=self.quartiles[take],
            categorical={f: v for f, v in self.categorical.items() if f in set(features)},
            bins={f: v for f, v in self.bins.items() if f in set(features)},
            n_rows=self.n_rows,
            signal_quantiles=self.signal_quantiles,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``explain_stats.json``)."""
        return {
            "format": _FORMAT,
            "features": self.features,
            "n_rows": self.n_rows,
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "mins": self.mins.tolist(),
            "maxs": self.maxs.tolist(),
            "quartiles": self.quartiles.tolist(),
            "categorical": {
                name: {"values": values, "counts": counts}
                for name, (values, counts) in self.categorical.items()
            },
            "bins": self.bins,
            "signal_quantiles": (
                None if self.signal_quantiles is None else self.signal_quantiles.tolist()
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingStats:
        """Read the JSON form back."""
        quantiles = data.get("signal_quantiles")
        return cls(
            features=list(data["features"]),
            means=np.asarray(data["means"], dtype=float),
            stds=np.asarray(data["stds"], dtype=float),
            mins=np.asarray(data["mins"], dtype=float),
            maxs=np.asarray(data["maxs"], dtype=float),
            quartiles=np.asarray(data["quartiles"], dtype=float).reshape(-1, 3),
            categorical={
                name: (list(entry["values"]), list(entry["counts"]))
                for name, entry in data["categorical"].items()
            },
            bins=dict(data["bins"]),
            n_rows=int(data["n_rows"]),
            signal_quantiles=None if quantiles is None else np.asarray(quantiles, dtype=float),
        )


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode("utf-8")


def training_explain_files(
    X: pd.DataFrame,
    *,
    signal: np.ndarray | None = None,
    background_size: int = 50,
    random_state: int = 0,
) -> dict[str, bytes]:
    """Build ``explain_background.json`` and ``explain_stats.json`` from the training rows.

    Parameters
    ----------
    X : DataFrame
        The training rows of the features the saved model sees.
    signal : ndarray, optional
        Out-of-fold signal of the training rows (for the ``top_quantile`` rule).
    background_size : int, default 50
        k-means centroids kept as the background.
    random_state : int, default 0
        Seeds k-means.

    Returns
    -------
    dict of str to bytes
        For ``ModelRegistry.save(..., extra_files=...)``.
    """
    background = background_from_frame(X, size=background_size, random_state=random_state)
    stats = TrainingStats.from_frame(X, signal=signal)
    return {BACKGROUND_FILE: _dump(background.to_dict()), STATS_FILE: _dump(stats.to_dict())}


def _retrain_message(model: Any, filename: str, purpose: str) -> str:
    return (
        f"model '{model.name}' version {model.version} has no {filename} (it was saved before "
        f"explanations existed), so {purpose}; retrain it with `mltrainer train` (or "
        "mltrainer.pipeline.retrain) to save the training statistics"
    )


def load_background(model: Any) -> Background:
    """The background saved with a registered version (checksum verified).

    Raises
    ------
    NotFoundError
        When the version was saved before explanations existed (says to retrain).
    """
    if not (model.path / BACKGROUND_FILE).exists():
        raise NotFoundError(
            _retrain_message(
                model,
                BACKGROUND_FILE,
                "the permutation and kernel explainers have no background (or pass background=)",
            )
        )
    return Background.from_dict(json.loads(model.read_file(BACKGROUND_FILE)))


def load_stats(model: Any, *, purpose: str = "LIME has no training statistics") -> TrainingStats:
    """The training statistics saved with a registered version (checksum verified).

    Raises
    ------
    NotFoundError
        When the version was saved before explanations existed (says to retrain).
    """
    if not (model.path / STATS_FILE).exists():
        raise NotFoundError(_retrain_message(model, STATS_FILE, purpose))
    return TrainingStats.from_dict(json.loads(model.read_file(STATS_FILE)))
