"""Feature selection measured out of sample and refitted inside each training fold.

Importance:

- :func:`tree_importance`: in-sample gain/split (XGBoost, LightGBM) or impurity (MDI,
  scikit-learn forests), a quick screen;
- :func:`permutation_importance`: mean decrease of the score (MDA) on purged test folds;
- :func:`single_feature_importance`: each feature alone, out of fold (SFI);
- :func:`clustered_importance`: correlated features permuted together, so substitutes
  do not hide each other;
- :func:`rfe`: recursive elimination by out-of-fold importance, with the stability of
  the selected set across folds.

Selectors :class:`SelectByImportance` and :class:`SelectByRFE` are scikit-learn
transformers: in a ``Pipeline`` they are refitted inside every training fold. The
Trainer's ``selection`` config section uses them (see ``docs/selection.md``).
"""

from mltrainer.selection._cluster import cluster_features, clustered_importance
from mltrainer.selection._common import jaccard_stability
from mltrainer.selection._permutation import permutation_importance
from mltrainer.selection._result import ImportanceResult
from mltrainer.selection._rfe import RFEResult, rfe
from mltrainer.selection._selectors import IMPORTANCE_METHODS, SelectByImportance, SelectByRFE
from mltrainer.selection._sfi import single_feature_importance
from mltrainer.selection._training import TrainerSelection
from mltrainer.selection._tree import supports_tree_importance, tree_importance

__all__ = [
    "IMPORTANCE_METHODS",
    "ImportanceResult",
    "RFEResult",
    "SelectByImportance",
    "SelectByRFE",
    "TrainerSelection",
    "cluster_features",
    "clustered_importance",
    "jaccard_stability",
    "permutation_importance",
    "rfe",
    "single_feature_importance",
    "supports_tree_importance",
    "tree_importance",
]
