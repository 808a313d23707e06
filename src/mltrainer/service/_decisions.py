"""Decision records through the explainability package, shaped for the API.

``mltrainer.explain`` writes one append-only record per critical decision to the store
stream ``decisions/<model>`` and reads them back; the service reads and records only
through it (and so through the store records module).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

import pandas as pd

from mltrainer import explain
from mltrainer.exceptions import NotFoundError
from mltrainer.store import Store

__all__ = ["DECISION_ID", "get_decision", "read_decisions", "record_predictions"]

#: A decision id is a store stream entry id: ``<epoch ms>-<sequence>``.
DECISION_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


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
    records = explain.read_decisions(store, name, since=since, until=until, limit=limit)
    return [_plain(record) for record in records]


def get_decision(store: Store, name: str, decision_id: str) -> dict[str, Any]:
    """One decision record with its explanation; ``NotFoundError`` when there is none."""
    if not DECISION_ID.fullmatch(decision_id):
        raise NotFoundError(
            f"{decision_id[:40]!r} is not a decision id: ids look like 1735689600000-0"
        )
    return _plain(explain.get_decision(store, name, decision_id))


def record_predictions(
    model: Any, X: pd.DataFrame, predictions: pd.DataFrame, store: Store
) -> list[dict[str, Any]]:
    """Record the critical decisions of a prediction (the version's ``explain.critical``).

    Returns
    -------
    list of dict
        ``{"row", "decision_id", "top_contributions"}`` per recorded decision (empty when
        the version has no critical rule or no decision was critical).
    """
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
