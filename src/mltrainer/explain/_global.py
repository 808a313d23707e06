"""Global attributions: the out-of-fold profile saved at training, and its drift later.

At training time every fold's model explains a sample of its own test rows, so the mean
|SHAP| per feature describes out-of-sample behaviour (never rows a model was fitted on).
The profile is stored in the version's metadata (``metadata["explain"]["global"]``) for the
features the saved model sees. Later, :func:`attribution_shift` explains the rows of a
monitoring window with the saved model and measures how far the window's profile has moved
from training's: the total-variation distance between the two profiles normalised to
shares (0 = same ranking of influence, 1 = disjoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.explain._critical import proba_columns_of, signal
from mltrainer.explain._explainer import Explainer
from mltrainer.explain._sampling import SamplingMethod

__all__ = [
    "attribution_profile",
    "attribution_shift",
    "oof_attributions",
    "oof_signal",
    "training_explanations",
]


#: Window rows explained by :func:`attribution_shift` for models without an exact method.
SAMPLED_ROWS = 50


def oof_attributions(
    estimators: Sequence[Any],
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
    X: pd.DataFrame,
    *,
    features: Sequence[str],
    rows_per_fold: int = 200,
    background_size: int = 50,
    max_rows: int = 1_000,
    random_state: int = 0,
) -> dict[str, Any]:
    """Mean |SHAP| per feature of each fold's model on a sample of its own test rows.

    Parameters
    ----------
    estimators : sequence
        The fitted estimator of each split (``cross_validate(return_estimators=True)``).
    splits : iterable of (train, test)
        The same splits, in order (``splitter.split(X)``).
    X : DataFrame
        Every training row (candidate features).
    features : sequence of str
        The features the saved model sees: the profile is reported for these.
    rows_per_fold : int, default 200
        Test rows explained per fold (a seeded sample, in time order); at most
        :data:`SAMPLED_ROWS` for a model explained by the permutation/kernel explainers
        (seconds per row), which ``rows_per_fold`` in the result then says.
    background_size : int, default 50
        k-means rows of each fold's *training* rows, for models without an exact method.
    max_rows : int, default 1000
        Budget of a permutation/kernel call.
    random_state : int, default 0

    Returns
    -------
    dict
        ``mean_abs`` (feature -> value, the saved model's features, largest first),
        ``other_features`` (mean |SHAP| of fold features the saved model dropped),
        ``method``, ``space``, ``outputs``, ``n_rows``, ``n_folds``, ``rows_per_fold``,
        ``max_residual``.
    """
    rng = np.random.default_rng(random_state)
    totals: dict[str, float] = {}
    n_rows = 0
    methods: set[str] = set()
    spaces: set[str] = set()
    outputs: list[str] = []
    residual = 0.0
    used = 0
    for estimator, (train, test) in zip(estimators, splits, strict=True):
        test = np.asarray(test)
        explainer = Explainer(  # a model without an exact method: its fold's training rows
            estimator,
            feature_names=list(X.columns),
            background=X.iloc[np.asarray(train)],
            background_size=background_size,
            max_rows=max_rows,
            random_state=random_state,
        )
        sampled = any(isinstance(m, SamplingMethod) for m in explainer.methods.values())
        size = min(rows_per_fold, SAMPLED_ROWS) if sampled else rows_per_fold
        used = max(used, min(size, test.size))
        take = np.sort(rng.choice(test, size=min(size, test.size), replace=False))
        explanation = explainer.explain(X.iloc[take], probabilities=False)
        magnitude = np.abs(explanation.contributions).mean(axis=2).sum(axis=0)
        for name, value in zip(explanation.feature_names, magnitude, strict=True):
            totals[name] = totals.get(name, 0.0) + float(value)
        n_rows += explanation.n_rows
        methods.add(explanation.method)
        spaces.add(explanation.space)
        outputs = explanation.outputs
        residual = max(residual, explanation.max_residual)
    chosen = {f: totals.get(f, 0.0) / max(n_rows, 1) for f in features}
    other = sum(v for f, v in totals.items() if f not in set(features)) / max(n_rows, 1)
    ordered = dict(sorted(chosen.items(), key=lambda item: -item[1]))
    return {
        "mean_abs": ordered,
        "other_features": other,
        "method": ",".join(sorted(methods)),
        "space": ",".join(sorted(spaces)),
        "outputs": outputs,
        "n_rows": n_rows,
        "n_folds": len(estimators),
        "rows_per_fold": used,
        "max_residual": residual,
    }


def oof_signal(
    probabilities: pd.DataFrame | None, predictions: pd.Series, classes: Any
) -> np.ndarray:
    """The out-of-fold signal of every training row (NaN where never tested).

    ``probabilities`` has one column per encoded class (0..K-1) as ``CVResult`` gives it
    (the first path of a combinatorial splitter).
    """
    if not classes:
        return predictions.to_numpy(dtype=float)
    assert probabilities is not None
    if isinstance(probabilities.columns, pd.MultiIndex):
        probabilities = probabilities["path_0"]
    frame = pd.DataFrame(probabilities.to_numpy(dtype=float), columns=proba_columns_of(classes))
    return signal(frame, classes)


def attribution_profile(model: Any) -> pd.Series | None:
    """The training profile of a version (mean |SHAP| per feature), or None if not saved."""
    profile = ((model.metadata.get("explain") or {}).get("global") or {}).get("mean_abs")
    if not profile:
        return None
    return pd.Series({str(k): float(v) for k, v in profile.items()}, name="mean_abs")


def _shares(values: pd.Series) -> pd.Series:
    total = float(values.sum())
    return values / total if total > 0 else values * 0.0


def attribution_shift(
    model: Any,
    X: pd.DataFrame,
    *,
    max_rows: int = 500,
    explainer: Explainer | None = None,
    random_state: int = 0,
) -> dict[str, Any] | None:
    """How far the attribution profile of the rows ``X`` is from training's.

    Parameters
    ----------
    model : LoadedModel
        A version saved with a training profile.
    X : DataFrame
        The window's feature rows (a seeded sample of ``max_rows`` is explained).
    max_rows : int, default 500
        Rows explained at most (at most 50 for models explained by sampling).
    explainer : Explainer, optional
        Reuse an explainer of ``model``.
    random_state : int, default 0

    Returns
    -------
    dict or None
        ``shift`` (total-variation distance of the share profiles, in [0, 1]),
        ``current`` and ``training`` (mean |SHAP| per feature), ``n_rows``; None when the
        version has no training profile or ``X`` has no rows.
    """
    training = attribution_profile(model)
    if training is None or len(X) == 0:
        return None
    explainer = explainer or Explainer(model, max_rows=max(max_rows, 1), random_state=random_state)
    exact = all(name in ("tree", "linear") for name in explainer.method_names.values())
    limit = max_rows if exact else min(max_rows, SAMPLED_ROWS)
    rows = X
    if len(X) > limit:
        rng = np.random.default_rng(random_state)
        rows = X.iloc[np.sort(rng.choice(len(X), size=limit, replace=False))]
    current = explainer.explain(rows, probabilities=False).mean_abs()
    names = list(training.index)
    now = current.reindex(names).fillna(0.0)
    shift = 0.5 * float(np.abs(_shares(now) - _shares(training)).sum())
    return {
        "shift": shift,
        "current": {k: float(v) for k, v in now.items()},
        "training": {k: float(v) for k, v in training.items()},
        "n_rows": len(rows),
    }


def training_explanations(
    *,
    X: pd.DataFrame,
    final_X: pd.DataFrame,
    cv_result: Any,
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
    classes: Sequence[Any] | None,
    settings: Any,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What a training run saves for explanations: metadata and the version's extra files.

    Parameters
    ----------
    X : DataFrame
        Every training row, candidate features (what cross-validation saw).
    final_X : DataFrame
        The training rows of the features the saved model sees.
    cv_result : CVResult
        Cross-validation with ``return_estimators=True`` (for the out-of-fold profile).
    splits : iterable of (train, test)
        The splits of ``cv_result``, in order.
    classes : sequence or None
        The label's classes.
    settings : ExplainConfig
        ``global_rows_per_fold`` (0: no profile), ``background_size``, ``max_rows``.
    seed : int, default 0

    Returns
    -------
    metadata : dict
        ``{"global": <oof_attributions>, "files": [...], "seconds": ...}`` for
        ``metadata["explain"]``.
    files : dict of str to bytes
        ``explain_background.json`` and ``explain_stats.json``.
    """
    import time

    from mltrainer.explain._training import training_explain_files

    start = time.perf_counter()
    signal_values = oof_signal(cv_result.probabilities, cv_result.predictions["path_0"], classes)
    files = training_explain_files(
        final_X,
        signal=signal_values,
        background_size=settings.background_size,
        random_state=seed,
    )
    metadata: dict[str, Any] = {"files": sorted(files)}
    if settings.global_rows_per_fold > 0 and cv_result.estimators is not None:
        metadata["global"] = oof_attributions(
            cv_result.estimators,
            splits,
            X,
            features=list(final_X.columns),
            rows_per_fold=settings.global_rows_per_fold,
            background_size=settings.background_size,
            max_rows=settings.max_rows,
            random_state=seed,
        )
    metadata["seconds"] = time.perf_counter() - start
    return metadata, files
