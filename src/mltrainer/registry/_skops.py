"""scikit-learn models via ``skops.io``, loaded only when every type in the file is trusted.

Trust is exact: a skops file is a zip whose ``schema.json`` names the type of every object
it rebuilds. Each must be one of :data:`TRUSTED_TYPES` (the estimator, transformer and array
types that mltrainer's own models are made of) and be rebuilt as data; a function, a bound
method, a ``functools.partial`` or any node kind skops may add later is refused by name,
even when it comes from scikit-learn or NumPy. A new model type that needs another type
fails the catalogue test in ``tests/registry`` until its types are added here.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from mltrainer.exceptions import ConfigError
from mltrainer.models import COMPOSITES
from mltrainer.registry._protocol import not_fitted, qualified, single_file

_BUILTINS = ("dict", "list", "tuple", "str", "int", "float", "bool", "NoneType", "slice")
_NUMPY_SCALARS = (
    "bool",
    "bool_",
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "str_",
)
_SKLEARN = (
    # pipelines and scalers (logistic, ridge and sgd are scaled inside a Pipeline)
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    # linear models
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier",
    "sklearn.linear_model._stochastic_gradient.SGDRegressor",
    # the loss objects a fitted SGD model holds, one per `loss` it may be given
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.CyHuberLoss",
    "sklearn.linear_model._sgd_fast.Hinge",
    "sklearn.linear_model._sgd_fast.ModifiedHuber",
    "sklearn.linear_model._sgd_fast.SquaredHinge",
    "sklearn.linear_model._sgd_fast.EpsilonInsensitive",
    "sklearn.linear_model._sgd_fast.SquaredEpsilonInsensitive",
    # random forests
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
)
_MLTRAINER = (
    "mltrainer.selection._selectors.SelectByImportance",
    "mltrainer.selection._selectors.SelectByRFE",
)

#: Every type a skops file may hold, by exact ``module.QualName``.
TRUSTED_TYPES: frozenset[str] = frozenset(
    [f"builtins.{name}" for name in _BUILTINS]
    + [f"numpy.{name}" for name in _NUMPY_SCALARS]
    + ["numpy.ndarray"]
    + list(_SKLEARN)
    + list(_MLTRAINER)
    + [f"{cls.__module__}.{cls.__qualname__}" for cls in COMPOSITES.values()]
)

# skops node kinds that rebuild data (objects from their attributes, containers, arrays,
# trees, losses, type references); FunctionNode, MethodNode, PartialNode, OperatorFuncNode
# and anything else are refused whatever they name
_DATA_NODES = frozenset(
    [
        "ObjectNode",
        "DictNode",
        "ListNode",
        "TupleNode",
        "JsonNode",
        "NdArrayNode",
        "TreeNode",
        "LossNode",
        "TypeNode",
        "CachedNode",
    ]
)
_CALLABLE_NODES = {
    "FunctionNode": "function",
    "MethodNode": "bound method",
    "PartialNode": "functools.partial",
    "OperatorFuncNode": "operator function",
}


def is_trusted_type(qualified_name: str) -> bool:
    """Return whether a skops file may hold an object of this type.

    Parameters
    ----------
    qualified_name : str
        ``module.QualName``, e.g. ``"sklearn.tree._tree.Tree"``.

    Examples
    --------
    >>> is_trusted_type("sklearn.linear_model._ridge.Ridge")
    True
    >>> is_trusted_type("sklearn.preprocessing._function_transformer.FunctionTransformer")
    False
    """
    return qualified_name in TRUSTED_TYPES


def _nodes(tree: Any) -> Iterator[tuple[str, str]]:
    """Every ``(node kind, module.QualName)`` in a skops schema (iteratively, any depth)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                yield str(node["__loader__"]), f"{node.get('__module__')}.{node.get('__class__')}"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def skops_types(data: bytes) -> set[tuple[str, str]]:
    """The ``(node kind, type)`` pairs a skops file rebuilds.

    Raises
    ------
    ConfigError
        If ``data`` is not a skops file (a zip holding ``schema.json``).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a skops file ({exc}); re-save the model") from exc
    return set(_nodes(schema))


def refused_types(data: bytes) -> list[str]:
    """Descriptions of what a skops file holds that may not be loaded (empty: all trusted)."""
    refused: set[str] = set()
    for kind, name in skops_types(data):
        if kind in _CALLABLE_NODES:
            refused.add(f"{_CALLABLE_NODES[kind]} {name}")
        elif kind not in _DATA_NODES:
            refused.add(f"{name} (skops node {kind})")
        elif not is_trusted_type(name):
            refused.add(name)
    return sorted(refused)


class SkopsFormat:
    """A scikit-learn estimator or pipeline of trusted types, via ``skops.io``."""

    name: ClassVar[str] = "skops"

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` is a scikit-learn estimator."""
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(self, model: Any, directory: Path, *, stem: str = "model") -> dict[str, Any]:
        """Write ``<stem>.skops``; refuse a model that could not be loaded back."""
        import skops.io as sio
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(model)
        except NotFittedError as exc:
            raise not_fitted(model) from exc
        try:
            data = sio.dumps(model)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"skops cannot write model {qualified(model)} ({exc}); keep only arrays, "
                "numbers, strings and scikit-learn parts in its fitted attributes"
            ) from exc
        refused = refused_types(data)
        if refused:
            raise ConfigError(
                f"model {qualified(model)} holds {', '.join(refused)}, which the registry "
                "will not load (only the exact types in "
                "mltrainer.registry.is_trusted_type); build it from the catalogue's parts"
            )
        filename = f"{stem}.skops"
        (directory / filename).write_bytes(data)
        return {"files": [filename], "estimator": qualified(model)}

    def load(self, files: Mapping[str, bytes], options: Mapping[str, Any]) -> Any:
        """Load after checking every object in the file against :data:`TRUSTED_TYPES`."""
        import skops.io as sio

        data = single_file(files, options, fmt=self.name)
        refused = refused_types(data)
        if refused:
            raise ConfigError(
                f"refusing to load {options['files'][0]}: it holds {', '.join(refused)}, "
                "not on the registry's exact allow-list; re-save the model with mltrainer"
            )
        return sio.loads(data, trusted=sorted(name for _, name in skops_types(data)))
