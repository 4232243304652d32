"""Notebook 05, model selection: do transferability scores pick the model that fine-tunes best?

A zoo of candidates (ImageNet EfficientNet-Lite models, small CNNs pretrained by the workbench
on related and unrelated sources, two with shuffled labels, a random initialisation) is first
checked for leakage: a candidate pretrained on any image of the target's train or test split is
excluded (:mod:`.leakage`). The others are ranked for the target by transferability scores
computed before any training, and by the accuracy each reaches after a fine-tune whose learning
rate and epoch are chosen on validation (:mod:`.ground_truth`), beside a small CNN trained from
scratch with the same tuning. Kendall's τ with a bootstrap interval says how far each score can
be trusted, and whether it beats a ranking by parameter count that never looks at the target
(:mod:`.ranking`). Candidates pretrained on a data set that is not installed are left out
(:func:`candidates_for`, :func:`candidates_note`), and the tuned fine-tunes are the cells of a
grid that an executor can run and a folder can keep (:func:`tune_all`).
"""

from .core import (CANDIDATES, HEURISTIC, SCORE_NAMES, ModelSelectionResult, candidates_for, candidates_note,
                   conclude, missing_candidates, run_model_selection)
from .ground_truth import SCRATCH, TuningPlan, plan_for, tune_all, tune_candidate, tune_cell
from .leakage import TOLERANCE, check_leakage, pretraining_images, shared_images
from .plots import plot_score_vs_accuracy
from .ranking import bootstrap_taus, kendall_tau_b, ranking_table

__all__ = [
    "CANDIDATES", "HEURISTIC", "SCORE_NAMES", "SCRATCH", "TOLERANCE", "ModelSelectionResult", "TuningPlan",
    "bootstrap_taus", "candidates_for", "candidates_note", "check_leakage", "conclude", "kendall_tau_b",
    "missing_candidates", "plan_for", "plot_score_vs_accuracy", "pretraining_images", "ranking_table",
    "run_model_selection", "shared_images", "tune_all", "tune_candidate", "tune_cell",
]
