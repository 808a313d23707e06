"""mltrainer: the model trainer of a trading system.

Market bars in; time-correct cross-validated, versioned, explainable models out.

>>> import tempfile
>>> from mltrainer import Trainer, load_model
>>> from mltrainer.config import config_from_dict
>>> root = tempfile.mkdtemp()
>>> config = config_from_dict({
...     "data": {"source": "sp500", "start": "2016-01-01"},
...     "model": {"type": "xgboost", "params": {"n_estimators": 20}},
...     "registry": {"root": f"{root}/models"},
...     "store": {"url": f"sqlite:///{root}/store.db"},
... })
>>> result = Trainer(config).run()
>>> sorted(result.mean_scores)
['accuracy', 'neg_log_loss', 'roc_auc']
>>> load_model("sp500-direction", root=f"{root}/models").version
1
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("mltrainer")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from mltrainer.config import Config, load_config
    from mltrainer.data import load_bars
    from mltrainer.pipeline import Trainer, TrainResult, predict_bars
    from mltrainer.registry import LoadedModel, ModelRegistry, load_model
    from mltrainer.store import open_store

# Imported on first use, so `mltrainer --help` stays fast and light.
_LAZY = {
    "Config": "mltrainer.config",
    "load_config": "mltrainer.config",
    "load_bars": "mltrainer.data",
    "Trainer": "mltrainer.pipeline",
    "TrainResult": "mltrainer.pipeline",
    "predict_bars": "mltrainer.pipeline",
    "LoadedModel": "mltrainer.registry",
    "ModelRegistry": "mltrainer.registry",
    "load_model": "mltrainer.registry",
    "open_store": "mltrainer.store",
}

__all__ = [
    "Config",
    "LoadedModel",
    "ModelRegistry",
    "TrainResult",
    "Trainer",
    "__version__",
    "load_bars",
    "load_config",
    "load_model",
    "open_store",
    "predict_bars",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mltrainer' has no attribute '{name}'")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
