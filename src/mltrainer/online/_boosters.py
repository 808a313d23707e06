"""Online updates of gradient-boosted trees: XGBoost continued training, LightGBM refit.

A booster has no ``get_params``: the training params come from the registry version's
metadata (``metadata["params"]``) and are stored with every checkpoint and new version.
Each update trains on the newest ``window`` rows of the buffer (all of it by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from mltrainer.exceptions import ConfigError

from ._ring import RingBuffer
from ._updaters import Updater, new_like

__all__ = ["LightGBMContinue", "LightGBMRefit", "XGBoostContinue"]

_NOT_BOOSTER_PARAMS = ("missing", "n_estimators", "early_stopping_rounds", "callbacks")


def _positive(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name}={value!r} must be an int >= 1")


def _rows(buffer: RingBuffer, window: int | None) -> dict[str, np.ndarray]:
    rows = buffer.snapshot(last=window)
    if rows["X"].shape[0] == 0:
        raise ConfigError("the buffer is empty; an update needs matured rows")
    return rows


class XGBoostContinue(Updater):
    """Append ``trees_per_update`` trees per update, then refresh leaves once at ``max_trees``.

    Parameters
    ----------
    trees_per_update : int, default 10
        Boosting rounds added by one update (``xgb.train(..., xgb_model=booster)``).
    max_trees : int, optional
        Cap on the rounds of the booster (default: twice those it was trained with).
        An update that would pass it runs XGBoost's ``refresh`` updater instead: the
        leaves of the existing trees are re-estimated on the window, no tree is added.
    window : int, optional
        Newest buffered rows an update trains on (default: the whole buffer).
    """

    method = "continue"
    default_update = "batch:256"

    def __init__(
        self, *, trees_per_update: int = 10, max_trees: int | None = None, window: int | None = None
    ) -> None:
        super().__init__()
        _positive("trees_per_update", trees_per_update)
        _positive("max_trees", max_trees, allow_none=True)
        _positive("window", window, allow_none=True)
        self.trees_per_update = int(trees_per_update)
        self.max_trees = max_trees
        self.window = window
        self.n_refreshed = 0
        self._booster: Any = None
        self._native: dict[str, Any] = {}
        self._cap = 0

    def _bind(self, estimator: Any) -> None:
        super()._bind(estimator)
        self._booster = estimator.get_booster()
        self._native = self._native_params()
        rounds = self._booster.num_boosted_rounds()
        self._cap = int(self.max_trees) if self.max_trees is not None else max(2 * rounds, 1)

    def _native_params(self) -> dict[str, Any]:
        wrapper = new_like(self._estimator, self.params, kind=self.kind, seed=self.seed)
        native = {k: v for k, v in wrapper.get_xgb_params().items() if v is not None}
        for key in _NOT_BOOSTER_PARAMS:
            native.pop(key, None)
        config = json.loads(self._booster.save_config())
        native["objective"] = config["learner"]["objective"]["name"]
        if native["objective"].startswith("multi:"):
            native["num_class"] = self.n_classes
        native.setdefault("seed", self.seed or 0)
        return native

    @property
    def native_params(self) -> dict[str, Any]:
        """The booster params updates train with (stored with checkpoints and versions)."""
        return dict(self._native)

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        """Add trees fitted on the buffer's window (or refresh the leaves at the cap)."""
        import xgboost as xgb

        rows = _rows(buffer, self.window)
        names = self._booster.feature_names
        train = xgb.DMatrix(rows["X"], label=rows["y"], weight=rows["weight"], feature_names=names)
        rounds = self._booster.num_boosted_rounds()
        if rounds + self.trees_per_update <= self._cap:
            booster = xgb.train(
                self._native, train, num_boost_round=self.trees_per_update, xgb_model=self._booster
            )
        else:
            params = {k: v for k, v in self._native.items() if k != "tree_method"}
            params.update(process_type="update", updater="refresh", refresh_leaf=True, verbosity=0)
            booster = xgb.train(params, train, num_boost_round=rounds, xgb_model=self._booster)
            self.n_refreshed += 1
        self._set_booster(booster)
        self.n_updates += 1

    def _set_booster(self, booster: Any) -> None:
        import xgboost as xgb

        wrapper = xgb.XGBClassifier() if self.kind == "classification" else xgb.XGBRegressor()
        wrapper.load_model(bytearray(booster.save_raw("json")))
        native, cap = self._native, self._cap
        super()._bind(wrapper)
        self._booster = wrapper.get_booster()
        self._native, self._cap = native, cap

    def state(self) -> dict[str, np.ndarray]:
        """The booster (XGBoost JSON bytes) and the counters."""
        out = super().state()
        out["xgb_model"] = np.frombuffer(bytes(self._booster.save_raw("json")), dtype=np.uint8)
        out["xgb_refreshed"] = np.array([self.n_refreshed])
        return out

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load the stored booster."""
        import xgboost as xgb

        super().restore(state)
        if "xgb_model" in state:
            booster = xgb.Booster()
            booster.load_model(bytearray(np.asarray(state["xgb_model"], dtype=np.uint8).tobytes()))
            self._set_booster(booster)
            self.n_refreshed = int(np.asarray(state["xgb_refreshed"]).ravel()[0])


class _LightGBM(Updater):
    """Shared plumbing of the LightGBM updaters: the booster and its one-row predictions."""

    default_update = "batch:256"

    def __init__(self, *, window: int | None = None) -> None:
        super().__init__()
        _positive("window", window, allow_none=True)
        self.window = window
        self._booster: Any = None
        self._changed = False
        self._per_round = 1
        self._initial_rounds = 0

    def _bind(self, estimator: Any) -> None:
        self._estimator = estimator
        self._booster = estimator.booster_
        self._predictor = self
        self._changed = False
        per_round = self.n_classes if self.kind == "classification" and self.n_classes > 2 else 1
        self._per_round = max(per_round, 1)
        self._initial_rounds = self._booster.num_trees() // self._per_round

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities or ``[value]`` from ``Booster.predict`` on one row."""
        # one thread: OpenMP start-up would cost ~7 ms per row (measured 18 us with one)
        raw = np.asarray(self._booster.predict(x.reshape(1, -1), num_threads=1), dtype=np.float64)[
            0
        ]
        if self.kind != "classification":
            return np.atleast_1d(raw)
        if np.ndim(raw) == 0:
            p = float(raw)
            return np.array([1.0 - p, p])
        return np.asarray(raw)

    def _set_booster(self, booster: Any) -> None:
        self._booster = booster
        self._changed = True

    def estimator(self) -> Any:
        """The trained wrapper, or None once updated (the registry saves LightGBM wrappers)."""
        return None if self._changed else self._estimator

    def _native_params(self) -> dict[str, Any]:
        wrapper = new_like(self._estimator, self.params, kind=self.kind, seed=self.seed)
        params = {
            k: v
            for k, v in wrapper.get_params().items()
            if v is not None and k not in ("n_estimators", "importance_type", "class_weight")
        }
        dump = self._booster.dump_model(num_iteration=0)
        params["objective"] = str(dump["objective"]).split()[0]
        if params["objective"].startswith("multiclass"):
            params["num_class"] = int(dump["num_class"])
        params.setdefault("verbose", -1)
        params.setdefault("seed", self.seed or 0)
        return params

    def state(self) -> dict[str, np.ndarray]:
        """The booster (LightGBM text model) and the counters."""
        out = super().state()
        text = self._booster.model_to_string().encode("utf-8")
        out["lgb_model"] = np.frombuffer(text, dtype=np.uint8)
        out["lgb_changed"] = np.array([int(self._changed)])
        return out

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load the stored booster."""
        import lightgbm as lgb

        super().restore(state)
        if "lgb_model" in state:
            text = np.asarray(state["lgb_model"], dtype=np.uint8).tobytes().decode("utf-8")
            self._booster = lgb.Booster(model_str=text)
            self._changed = bool(int(np.asarray(state["lgb_changed"]).ravel()[0]))


class LightGBMRefit(_LightGBM):
    """LightGBM ``Booster.refit``: every leaf becomes ``decay_rate * old + (1 - decay) * new``.

    Parameters
    ----------
    decay_rate : float, default 0.9
        Weight of the old leaf values, in ``[0, 1)``.
    window : int, optional
        Newest buffered rows each refit uses (default: the whole buffer).
    """

    method = "refit"

    def __init__(self, *, decay_rate: float = 0.9, window: int | None = None) -> None:
        super().__init__(window=window)
        if not 0.0 <= float(decay_rate) < 1.0:
            raise ConfigError(f"decay_rate={decay_rate!r} must be in [0, 1), e.g. 0.9")
        self.decay_rate = float(decay_rate)

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        """Refit the leaves on the buffer's window."""
        rows = _rows(buffer, self.window)
        booster = self._booster.refit(
            rows["X"], rows["y"], decay_rate=self.decay_rate, weight=rows["weight"]
        )
        self._set_booster(booster)
        self.n_updates += 1


class LightGBMContinue(_LightGBM):
    """Append ``trees_per_update`` trees per update (``init_model``), refit at ``max_trees``.

    Parameters
    ----------
    trees_per_update : int, default 10
        Trees added per update.
    max_trees : int, optional
        Cap on the trees (default twice those trained); past it an update refits the
        leaves (``decay_rate`` 0.9) instead of adding trees.
    window : int, optional
        Newest buffered rows an update trains on (default: the whole buffer).
    """

    method = "continue"

    def __init__(
        self, *, trees_per_update: int = 10, max_trees: int | None = None, window: int | None = None
    ) -> None:
        super().__init__(window=window)
        _positive("trees_per_update", trees_per_update)
        _positive("max_trees", max_trees, allow_none=True)
        self.trees_per_update = int(trees_per_update)
        self.max_trees = max_trees

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        """Add trees fitted on the buffer's window (or refit the leaves at the cap)."""
        import lightgbm as lgb

        rows = _rows(buffer, self.window)
        rounds = self._booster.num_trees() // self._per_round
        cap = self.max_trees if self.max_trees is not None else 2 * max(self._initial_rounds, 1)
        if rounds + self.trees_per_update <= cap:
            data = lgb.Dataset(rows["X"], rows["y"], weight=rows["weight"], free_raw_data=False)
            booster = lgb.train(
                self._native_params(),
                data,
                num_boost_round=self.trees_per_update,
                init_model=self._booster,
            )
        else:
            booster = self._booster.refit(
                rows["X"], rows["y"], decay_rate=0.9, weight=rows["weight"]
            )
        self._set_booster(booster)
        self.n_updates += 1
