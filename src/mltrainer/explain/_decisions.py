"""The audit trail: one append-only record per critical decision, written through the store.

:func:`explain_decisions` explains the critical rows of a prediction run and builds their
:class:`~mltrainer.store.DecisionRecord`; :func:`record_decisions` appends them to the
model's stream ``decisions/<model>`` (a Redis Stream, or an append-only SQLite table) with
the configured retention; :func:`read_decisions` and :func:`get_decision` read them back
(by decision time, or by decision id = the stream entry id); :func:`reexplain` recomputes a
stored decision from its model version and stored inputs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.config import CriticalConfig, DecisionRetentionConfig, LimeConfig
from mltrainer.exceptions import ConfigError, NotFoundError
from mltrainer.explain._critical import critical_decisions, proba_columns_of
from mltrainer.explain._explainer import Explainer
from mltrainer.explain._explanation import Explanation
from mltrainer.explain._target import class_label
from mltrainer.explain._training import load_stats
from mltrainer.store import DecisionRecord, Store, TimeLike, decisions_stream, entry_time

__all__ = [
    "DecisionRecorder",
    "audit_predictions",
    "explain_decision",
    "explain_decisions",
    "get_decision",
    "library_versions",
    "model_fingerprint",
    "read_decisions",
    "record_decisions",
    "reexplain",
    "stored_settings",
]

_LIBRARIES = {
    "mltrainer": ("mltrainer",),
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "scikit-learn": ("scikit-learn",),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "lightgbm": ("lightgbm",),
    "shap": ("shap",),
    "lime": ("lime",),
}


def library_versions() -> dict[str, str]:
    """Versions of mltrainer and of the libraries that compute explanations."""
    out: dict[str, str] = {}
    for name, distributions in _LIBRARIES.items():
        for distribution in distributions:
            try:
                out[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def model_fingerprint(model: Any) -> tuple[str, dict[str, str]]:
    """SHA-256 of the version's ``MANIFEST.json`` and the SHA-256 of each model file."""
    import json

    raw = (model.path / "MANIFEST.json").read_bytes()
    manifest = json.loads(raw)
    listed = (manifest.get("format_options") or {}).get("files") or []
    files = manifest.get("files", {})
    return hashlib.sha256(raw).hexdigest(), {name: files[name] for name in listed if name in files}


def _plain(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _output_position(explanation: Explanation, probabilities: np.ndarray | None, row: int) -> int:
    if explanation.n_outputs == 1:
        return 0
    if probabilities is not None:
        return int(np.argmax(probabilities[row]))
    return int(np.argmax(explanation.output[row]))


def _records(
    model: Any,
    explanation: Explanation,
    predictions: pd.DataFrame,
    reasons: Sequence[list[str]],
    *,
    rule: CriticalConfig,
    lime: Any = None,
    context: tuple[str, dict[str, str], dict[str, str], list[Any] | None] | None = None,
) -> list[DecisionRecord]:
    if context is None:
        classes = (model.metadata.get("label") or {}).get("classes")
        context = (*model_fingerprint(model), library_versions(), classes)
    sha, files, versions, classes = context
    probability_columns = proba_columns_of(classes) if classes else []
    top = None if rule.all_contributions else rule.top_contributions
    records = []
    data = explanation.data.to_numpy(dtype=float)
    # columns read once as arrays: one row's pandas access costs more than its explanation
    decided = predictions["prediction"].to_numpy(dtype=float)
    symbols = predictions["symbol"].to_numpy() if "symbol" in predictions.columns else None
    proba = (
        np.column_stack([predictions[c].to_numpy(dtype=float) for c in probability_columns])
        if classes
        else None
    )
    labels = [class_label(c) for c in classes] if classes else []
    times = pd.DatetimeIndex(explanation.index)
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    residual = explanation.residual
    for i in range(explanation.n_rows):
        k = _output_position(explanation, explanation.probabilities, i)
        records.append(
            DecisionRecord(
                model=model.name,
                version=int(model.version),
                artifact_sha256=sha,
                decision_time=times[i].isoformat(),
                symbol=None if symbols is None else str(symbols[i]),
                features={
                    name: _plain(v)
                    for name, v in zip(explanation.feature_names, data[i], strict=True)
                },
                prediction=float(decided[i]),
                probabilities=(
                    None
                    if proba is None
                    else {label: float(p) for label, p in zip(labels, proba[i], strict=True)}
                ),
                output=explanation.outputs[k],
                space=explanation.space,
                base_value=float(explanation.base[i, k]),
                output_value=float(explanation.output[i, k]),
                contributions=[[n, v] for n, v in explanation.top(i, k=top, output=k)],
                n_features=len(explanation.feature_names),
                method=explanation.method,
                residual=float(residual[i, k]),
                reasons=list(reasons[i]),
                versions=versions,
                model_files=files,
                lime=None if lime is None else lime.record(i),
            )
        )
    return records


def explain_decisions(
    model: Any,
    features: pd.DataFrame,
    predictions: pd.DataFrame,
    rule: CriticalConfig | dict[str, Any],
    *,
    explainer: Explainer | None = None,
    lime: LimeConfig | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, list[DecisionRecord]]:
    """Find the critical decisions of a prediction run and build their records.

    Parameters
    ----------
    model : LoadedModel
        The registered version that predicted.
    features : DataFrame
        The rows it predicted from (its features), aligned with ``predictions``.
    predictions : DataFrame
        From :func:`mltrainer.predict_bars`.
    rule : CriticalConfig or dict
        The ``explain.critical`` rule.
    explainer : Explainer, optional
        Reuse an explainer of ``model`` (default: a new one).
    lime : LimeConfig, optional
        LIME settings when the rule asks for LIME.
    seed : int, default 0
        Seeds LIME.

    Returns
    -------
    mask : ndarray of bool
        The critical rows.
    records : list of DecisionRecord
        One per critical row, in row order (not yet written).
    """
    if not isinstance(rule, CriticalConfig):
        rule = CriticalConfig.model_validate(rule)
    classes = (model.metadata.get("label") or {}).get("classes")
    threshold = None
    if rule.top_quantile is not None:
        stats = load_stats(model, purpose="the top_quantile rule has no training signals")
        threshold = stats.signal_threshold(rule.top_quantile)
    mask, reasons = critical_decisions(
        predictions, rule, classes=classes, signal_threshold=threshold
    )
    if not mask.any():
        return mask, []
    explainer = explainer or Explainer(model)
    rows = features.loc[mask] if len(features) == len(mask) else features.iloc[np.flatnonzero(mask)]
    explanation = explainer.explain(rows)
    lime_rows = None
    if rule.lime:
        from mltrainer.explain._lime import lime_explain

        settings = lime or LimeConfig()
        lime_rows = lime_explain(
            model,
            rows,
            num_samples=settings.num_samples,
            repeats=settings.repeats,
            top_k=settings.top_k,
            random_state=seed,
            compare=explanation,
        )
    chosen = [reasons[i] for i in np.flatnonzero(mask)]
    records = _records(model, explanation, predictions.loc[mask], chosen, rule=rule, lime=lime_rows)
    return mask, records


def record_decisions(
    store: Store,
    model: str,
    records: Sequence[DecisionRecord],
    *,
    retention: DecisionRetentionConfig | None = None,
) -> list[str]:
    """Append decision records to ``decisions/<model>`` (one transaction); return their ids.

    Retention (``max_records``, ``max_age`` before now) is applied in the same transaction;
    it only removes the oldest records.
    """
    retention = retention or DecisionRetentionConfig()
    min_time = None
    if retention.max_age is not None:
        min_time = pd.Timestamp.now(tz="UTC") - pd.Timedelta(retention.max_age)
    if not records and retention.max_records is None and min_time is None:
        return []
    return store.stream_add(
        decisions_stream(model),
        [record.to_dict() for record in records],
        max_len=retention.max_records,
        min_time=min_time,
    )


def _with_id(entry_id: str, value: Any) -> DecisionRecord:
    record = DecisionRecord.from_dict(value)
    return replace(record, decision_id=entry_id, recorded_at=entry_time(entry_id).isoformat())


def _utc(value: TimeLike | str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value, unit="s") if isinstance(value, int | float) else pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def read_decisions(
    store: Store,
    model: str,
    *,
    since: TimeLike | str | None = None,
    until: TimeLike | str | None = None,
    symbol: str | None = None,
    limit: int | None = None,
) -> list[DecisionRecord]:
    """Decision records of ``model`` with ``since <= decision time <= until``, oldest first.

    A decision is recorded at or after its time, so only entries recorded since ``since``
    are read. ``limit`` keeps the newest records.
    """
    start, end = _utc(since), _utc(until)
    entries = store.stream_range(decisions_stream(model), start=start)
    records = [_with_id(entry, value) for entry, value in entries]
    out = []
    for record in records:
        when = pd.Timestamp(record.decision_time)
        if start is not None and when < start:
            continue
        if end is not None and when > end:
            continue
        if symbol is not None and record.symbol != symbol:
            continue
        out.append(record)
    if limit is not None:
        return out[len(out) - limit :] if limit > 0 else []
    return out


def get_decision(store: Store, model: str, decision_id: str) -> DecisionRecord:
    """The decision record ``decision_id`` (a stream entry id) of ``model``.

    Raises
    ------
    NotFoundError
        When there is no such record (or retention removed it).
    """
    value = store.stream_get(decisions_stream(model), decision_id)
    if value is None:
        raise NotFoundError(
            f"model '{model}' has no decision {decision_id!r} (never recorded, or removed by "
            "explain.retention); list them with `mltrainer decisions NAME`"
        )
    return _with_id(decision_id, value)


def reexplain(model: Any, record: DecisionRecord) -> Explanation:
    """Explain a stored decision again from its version and its stored inputs.

    Raises
    ------
    NotFoundError
        When ``model`` is not the record's version or its artifact changed since.
    """
    if model.name != record.model or int(model.version) != record.version:
        raise NotFoundError(
            f"the decision was made by '{record.model}' version {record.version}, not "
            f"'{model.name}' version {model.version}: load that version"
        )
    sha, _ = model_fingerprint(model)
    if sha != record.artifact_sha256:
        raise NotFoundError(
            f"'{model.name}' version {model.version} is not the artifact that decided "
            f"(MANIFEST SHA-256 {sha[:12]}... != {record.artifact_sha256[:12]}...)"
        )
    row = pd.DataFrame(
        [[np.nan if v is None else v for v in record.features.values()]],
        columns=list(record.features),
        index=pd.DatetimeIndex([pd.Timestamp(record.decision_time)]),
    )
    return Explainer(model).explain(row)


def stored_settings(model: Any) -> Any:
    """The ``explain`` section of the version's stored config (defaults when absent)."""
    from mltrainer.config import ExplainConfig

    section = ((model.metadata.get("config") or {}).get("explain")) or {}
    return ExplainConfig.model_validate(section)


def audit_predictions(
    model: Any,
    features: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    rule: CriticalConfig | dict[str, Any] | None = None,
    store: Store | None = None,
    settings: Any = None,
) -> pd.Series | None:
    """Record every critical decision of a prediction run; return the decision ids.

    Parameters
    ----------
    model : LoadedModel
        The version that predicted.
    features : DataFrame
        Its input rows, aligned with ``predictions``.
    predictions : DataFrame
        From :func:`mltrainer.predict_bars`.
    rule : CriticalConfig or dict, optional
        The critical rule; default the version's stored ``explain.critical``.
    store : Store, optional
        Where to write; default the store of the version's stored config.
    settings : ExplainConfig, optional
        LIME and retention settings; default the version's stored ``explain`` section.

    Returns
    -------
    Series or None
        Indexed like ``predictions``: the decision id of each critical row (None
        elsewhere); None when there is no critical rule.
    """
    settings = settings if settings is not None else stored_settings(model)
    rule = rule if rule is not None else settings.critical
    if rule is None:
        return None
    seed = int((model.metadata.get("config") or {}).get("seed", 0))
    explainer = Explainer(
        model,
        method=settings.method,
        max_rows=settings.max_rows,
        max_evals=settings.max_evals,
        random_state=seed,
    )
    mask, records = explain_decisions(
        model, features, predictions, rule, explainer=explainer, lime=settings.lime, seed=seed
    )
    ids = pd.Series([None] * len(predictions), index=predictions.index, dtype=object)
    if not records:
        return ids
    if store is None:
        from mltrainer.store import open_store

        section = (model.metadata.get("config") or {}).get("store") or {}
        with open_store(section.get("url"), prefix=section.get("prefix", "mltrainer")) as own:
            written = record_decisions(own, model.name, records, retention=settings.retention)
    else:
        written = record_decisions(store, model.name, records, retention=settings.retention)
    ids.iloc[np.flatnonzero(mask)] = written
    return ids


def _prediction_frame(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``predict_bars``-shaped predictions of ``frame`` (label values, ``proba_*``)."""
    out = pd.DataFrame(index=frame.index)
    raw = np.asarray(model.predict(frame[model.feature_names]))
    classes = (model.metadata.get("label") or {}).get("classes")
    if classes:
        values = np.asarray(classes, dtype=float)
        out["prediction"] = values[raw.astype(np.int64)]
        proba = np.asarray(model.predict_proba(frame[model.feature_names]))
        for column, j in zip(proba_columns_of(classes), range(proba.shape[1]), strict=True):
            out[column] = proba[:, j]
    else:
        out["prediction"] = raw.astype(float)
    return out


class DecisionRecorder:
    """Record single decisions of one version as they are made (the per-decision path).

    The explainer (with the fast single-row tree tables), the version's fingerprint and the
    library versions are built once, so each :meth:`record` costs the contributions plus one
    store write.

    Parameters
    ----------
    model : LoadedModel
        The version that decides.
    store : Store, optional
        Where records are appended (``decisions/<model>``); None builds records only.
    retention : DecisionRetentionConfig, optional
        Applied on every write.
    explainer : Explainer, optional
        Default ``Explainer(model, fast=True)``.
    top_contributions : int or None, default 5
        Contributions stored per record (None: all).
    """

    def __init__(
        self,
        model: Any,
        *,
        store: Store | None = None,
        retention: DecisionRetentionConfig | None = None,
        explainer: Explainer | None = None,
        top_contributions: int | None = 5,
    ) -> None:
        self.model = model
        self.store = store
        self.retention = retention
        self.explainer = explainer or Explainer(model, fast=True)
        classes = (model.metadata.get("label") or {}).get("classes")
        self.context = (*model_fingerprint(model), library_versions(), classes)
        self.rule = CriticalConfig(
            every_n=1,
            top_contributions=top_contributions or 1,
            all_contributions=top_contributions is None,
        )

    def record(
        self,
        row: pd.DataFrame,
        *,
        prediction: pd.DataFrame | None = None,
        symbol: str | None = None,
        reasons: Sequence[str] = ("requested",),
    ) -> DecisionRecord:
        """Explain one decision, build its record and append it (when there is a store).

        Parameters
        ----------
        row : DataFrame
            One row of the model's features, indexed by the decision time.
        prediction : DataFrame, optional
            Its ``predict_bars`` row (default: predicted here with the model).
        symbol : str, optional
            The instrument.
        reasons : sequence of str
            Why it is recorded.
        """
        if len(row) != 1:
            raise ConfigError(
                f"a decision is one row, got {len(row)}; use explain_decisions for a batch"
            )
        explanation = self.explainer.explain(row, probabilities=False)
        predictions = prediction if prediction is not None else _prediction_frame(self.model, row)
        if symbol is not None:
            predictions = predictions.assign(symbol=symbol)
        (record,) = _records(
            self.model,
            explanation,
            predictions,
            [list(reasons)],
            rule=self.rule,
            context=self.context,
        )
        if self.store is None:
            return record
        (entry,) = record_decisions(self.store, self.model.name, [record], retention=self.retention)
        return replace(record, decision_id=entry, recorded_at=entry_time(entry).isoformat())


def explain_decision(
    model: Any,
    row: pd.DataFrame,
    *,
    prediction: pd.DataFrame | None = None,
    symbol: str | None = None,
    reasons: Sequence[str] = ("requested",),
    explainer: Explainer | None = None,
    top_contributions: int | None = 5,
    store: Store | None = None,
    retention: DecisionRetentionConfig | None = None,
) -> DecisionRecord:
    """Explain one decision and build its record; with ``store`` also append it.

    For many decisions build a :class:`DecisionRecorder` once instead.

    Parameters
    ----------
    model : LoadedModel
        The version that decides.
    row : DataFrame
        One row of the model's features, indexed by the decision time.
    prediction : DataFrame, optional
        Its ``predict_bars`` row (default: predicted here).
    symbol : str, optional
        The instrument.
    reasons : sequence of str
        Why it is recorded.
    explainer : Explainer, optional
        Reuse an explainer of ``model``.
    top_contributions : int or None, default 5
        Contributions stored (None: all).
    store : Store, optional
        Append the record to ``decisions/<model>``; its id is then set on the record.
    retention : DecisionRetentionConfig, optional
        Applied when writing.
    """
    recorder = DecisionRecorder(
        model,
        store=store,
        retention=retention,
        explainer=explainer or Explainer(model),
        top_contributions=top_contributions,
    )
    return recorder.record(row, prediction=prediction, symbol=symbol, reasons=reasons)
