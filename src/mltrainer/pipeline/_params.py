"""``model.params: optimized``: the promoted best params of ``mltrainer tune``, from the store."""

from __future__ import annotations

from typing import Any

from mltrainer.config import Config
from mltrainer.exceptions import NotFoundError
from mltrainer.store import BestParams, open_store, tuning_key

__all__ = ["load_best_params"]


def load_best_params(config: Config) -> dict[str, Any]:
    """The promoted best params of this model from the store, with where they came from.

    Returns
    -------
    dict
        ``params`` (the tuned values only), ``study``, ``time``, ``score``, ``scorer``...
        (a :class:`~mltrainer.store.BestParams` record).

    Raises
    ------
    NotFoundError
        When no tuning run has promoted params for this model name and type; the message
        gives the last study's gain and p-value when it did not beat the fixed params.
    """
    name, model_type = config.name, config.model.type
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        best = store.get(tuning_key(name, model_type, "best"))
        last = store.get(tuning_key(name, model_type, "last"))
        url = store.url
    if best is None:
        why = ""
        if last is not None:
            p_value = last.get("p_value")
            p_text = f"{p_value:.3g}" if isinstance(p_value, int | float) else str(p_value)
            why = (
                f" (the last study '{last['study']}' did not beat the fixed params:"
                f" gain {last['gain']:+.4f}, p={p_text})"
            )
        raise NotFoundError(
            f"model.params: optimized, but the store {url} holds no tuned params for"
            f" '{name}' ({model_type}){why}; run `mltrainer tune CONFIG` first or set"
            " model.params: fixed"
        )
    return BestParams.from_dict(best).to_dict()
