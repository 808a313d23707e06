"""Decision records through the explainability package, when this build has it.

``mltrainer.explain`` writes one append-only record per critical decision to the store
stream ``decisions/<model>`` and reads them back (``read_decisions``, ``get_decision``,
``audit_predictions``). The service asks for it on each call rather than at import, so the
same code serves a build without it (no decisions: empty lists, 404 for an id, and
predictions without records) and one with it.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from datetime import datetime
from types import ModuleType
from typing import Any

import pandas as pd

from mltrainer.exceptions import NotFoundError
from mltrainer.store import Store

__all__ = [
    "DECISION_ID",
    "available",
    "get_decision",
    "read_decisions",
    "record_predictions",
]

#: A decision id is a store stream entry id: ``<epoch ms>-<sequence>``.
DECISION_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def _explain() -> ModuleType | None:
    try:
        return importlib.import_module("mltrainer.explain")
    except ModuleNotFoundError as exc:
        if exc.name in ("mltrainer.explain", "mltrainer"):
            return None
        raise


def available() -> bool:
    """Whether this build records and reads decisions (``mltrainer.explain`` is installed)."""
    return _explain() is not None


def _plain(record: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return dict(record)


def read_decisions(
    store: Store,
    name: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The newest `limit` decision records of `name` in ``[since, until]``, oldest first."""
    explain = _explain()
    if explain is None:
        return []
    records = explain.read_decisions(store, name, since=since, until=until, limit=limit)
    return [_plain(record) for record in records]


def get_decision(store: Store, name: str, decision_id: str) -> dict[str, Any]:
    """One decision record with its explanation; ``NotFoundError`` when there is none."""
    if not DECISION_ID.fullmatch(decision_id):
        raise NotFoundError(
            f"{decision_id[:40]!r} is not a decision id: ids look like 1735689600000-0"
        )
    explain = _explain()
    if explain is None:
        raise NotFoundError(
            f"model '{name}' has no decision {decision_id}: this build has no "
            "mltrainer.explain, which records decisions"
        )
    return _plain(explain.get_decision(store, name, decision_id))


def record_predictions(
    model: Any, X: pd.DataFrame, predictions: pd.DataFrame, store: Store
) -> list[dict[str, Any]] | None:
    """Record the critical decisions of a prediction (the version's ``explain.critical``).

    Returns
    -------
    list of dict or None
        ``{"row", "decision_id", "top_contributions"}`` per recorded decision; None when
        this build cannot record decisions (no ``mltrainer.explain``).
    """
    explain = _explain()
    if explain is None:
        return None
    ids = explain.audit_predictions(model, X, predictions, store=store)
    if ids is None:
        return []
    out = []
    for row, decision_id in enumerate(ids.tolist()):
        if decision_id is None:
            continue
        record = _plain(explain.get_decision(store, model.name, decision_id))
        out.append(
            {
                "row": row,
                "decision_id": decision_id,
                "top_contributions": record.get("contributions", []),
            }
        )
    return out
