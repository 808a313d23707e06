"""Tuning results: the summary of a study, written to and read back from the store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mltrainer.config import Config
from mltrainer.store import Batch, BestParams, TuningRun, open_store, tuning_key

__all__ = ["TuneResult", "plain", "store_key", "write_result"]


def store_key(config: Config, leaf: str) -> str:
    """Store key of a tuning record of this model: ``tuning/<name>/<model type>/<leaf>``."""
    return tuning_key(config.name, config.model.type, leaf)


@dataclass
class TuneResult:
    """What one tuning run found, and whether its params replace the fixed ones.

    ``gain`` and ``p_value`` compare the best trial's fold scores with the fixed config's
    (paired, one-sided). ``promoted`` also needs the gain to survive the search over
    ``n_tested`` trials (``promotion_rule``: with out-of-fold signal returns the SPA test
    against the fixed config, ``spa_p_value``, and the deflated Sharpe ratio,
    ``deflated_sharpe``; without them Bonferroni, ``bonferroni_p_value``);
    ``promotion_reasons`` says why not. ``pbo`` measures how much
    the best trial owes to selection on this history. ``best_score`` is in-sample to the
    search; ``nested`` (a :class:`~mltrainer.tuning.NestedResult` as a dict, when run) and
    ``nested_score`` estimate the tuned model's out-of-sample score.
    """

    study: str
    storage: str
    scorer: str
    best_params: dict[str, Any]
    best_score: float
    best_trial: int
    best_fold_scores: list[float]
    fixed_score: float
    fixed_fold_scores: list[float]
    gain: float
    p_value: float
    significance: float
    promoted: bool
    n_trials: int
    n_complete: int
    n_pruned: int
    n_failed: int
    started: str
    finished: str
    duration_s: float
    deflated_sharpe: float | None = None
    best_sharpe: float | None = None
    pbo: float | None = None
    pbo_blocks: int | None = None
    pbo_basis: str | None = None
    search_space: dict[str, str] = field(default_factory=dict)
    n_tested: int | None = None
    promotion_rule: str | None = None
    promotion_reasons: list[str] = field(default_factory=list)
    spa_p_value: float | None = None
    spa_basis: str | None = None
    bonferroni_p_value: float | None = None
    nested: dict[str, Any] | None = None
    nested_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None, at any depth)."""
        return plain(asdict(self))


def plain(value: Any) -> Any:
    """``value`` with NaN floats replaced by None in every dict and list (JSON-ready)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def write_result(config: Config, result: TuneResult) -> None:
    """Record ``result`` in the configured store: ``last``, ``history``, ``last_run``, ``best``.

    ``best`` (what ``model.params: optimized`` reads) is replaced only when the result is
    promoted, so an insignificant study never displaces params that earned their place.
    """
    record = result.to_dict()
    batch = Batch().put(store_key(config, "last"), record)  # one transaction: all or none
    batch.append(store_key(config, "history"), record)
    if result.promoted:
        best = BestParams(
            params=result.best_params,
            score=result.best_score,
            scorer=result.scorer,
            study=result.study,
            storage=result.storage,
            n_trials=result.n_trials,
            time=result.finished,
            p_value=result.p_value,
            fixed_score=result.fixed_score,
            nested_score=result.nested_score,
            n_tested=result.n_tested,
        )
        batch.put(store_key(config, "best"), best.to_dict())
    batch.put(store_key(config, "last_run"), TuningRun(time=result.finished).to_dict())
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        store.write(batch)
