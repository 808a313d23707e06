"""Explanations: exact attributions for every model, LIME with a stability score, global
attributions, and an append-only audit trail of critical decisions.

:func:`explain` (or an :class:`Explainer` built once) returns an :class:`Explanation`: per-row
contributions, the base value and the output space they add up in (``margin``,
``probability`` or ``raw``), with the additivity residual measured.
"""

from mltrainer.explain._compose import compose_averaging, link_to_probability
from mltrainer.explain._compose_kinds import compose_calibrated, compose_regime, compose_stacking
from mltrainer.explain._composers import COMPOSERS, composable, composer_for
from mltrainer.explain._critical import critical_decisions, signal
from mltrainer.explain._decisions import (
    DecisionRecorder,
    audit_predictions,
    explain_decision,
    explain_decisions,
    get_decision,
    library_versions,
    model_fingerprint,
    read_decisions,
    record_decisions,
    reexplain,
    stored_settings,
)
from mltrainer.explain._explainer import METHODS, Explainer, explain
from mltrainer.explain._explanation import SPACES, Explanation
from mltrainer.explain._global import (
    attribution_profile,
    attribution_shift,
    oof_attributions,
    training_explanations,
)
from mltrainer.explain._lime import LimeExplanation, jaccard, lime_explain
from mltrainer.explain._plots import (
    bar_figure,
    dependence_figure,
    summary_figure,
    waterfall_figure,
    write_explanation_html,
)
from mltrainer.explain._training import (
    BACKGROUND_FILE,
    STATS_FILE,
    Background,
    TrainingStats,
    background_from_frame,
    load_background,
    load_stats,
    training_explain_files,
)

__all__ = [
    "BACKGROUND_FILE",
    "COMPOSERS",
    "METHODS",
    "SPACES",
    "STATS_FILE",
    "Background",
    "DecisionRecorder",
    "Explainer",
    "Explanation",
    "LimeExplanation",
    "TrainingStats",
    "attribution_profile",
    "attribution_shift",
    "audit_predictions",
    "background_from_frame",
    "bar_figure",
    "composable",
    "compose_averaging",
    "compose_calibrated",
    "compose_regime",
    "compose_stacking",
    "composer_for",
    "critical_decisions",
    "dependence_figure",
    "explain",
    "explain_decision",
    "explain_decisions",
    "get_decision",
    "jaccard",
    "library_versions",
    "lime_explain",
    "link_to_probability",
    "load_background",
    "load_stats",
    "model_fingerprint",
    "oof_attributions",
    "read_decisions",
    "record_decisions",
    "reexplain",
    "signal",
    "stored_settings",
    "summary_figure",
    "training_explain_files",
    "training_explanations",
    "waterfall_figure",
    "write_explanation_html",
]
