"""Notebook 02, fine-tuning: which parts of a pretrained network should train, and how fast.

Named recipes (a linear probe, fine-tuning from a group, and in the full profile full
fine-tuning with discriminative learning rates, gradual unfreezing, the BatchNorm policy and a
fixed learning rate far too high) against a small CNN trained from scratch, at a small and a
larger label budget, over seeds. Every compared recipe gets the same care: its penalty or
learning rate comes from one grid and its epoch from the validation split of its own label
budget; every comparison is paired on the seed and carries its interval.

* :mod:`.recipes`: :class:`Recipe`, :data:`RECIPES`, the grids, :func:`weight_change`;
* :mod:`.runs`: the protocol, :func:`run_recipe` and :func:`run_recipes`;
* :mod:`.result`: :func:`gains`, :func:`conclude`, :class:`FineTuningResult`, :func:`run_fine_tuning`.
"""

from .recipes import (BACKBONE, BATCH, FINE_TUNE_STEPS, LOWER, QUICK_LR_GRID, RECIPES, TARGET, Recipe, grid_for,
                      recipes_for, scratch_steps, weight_change)
from .result import (COMPARISONS, LEVEL_OFF_POINTS, PROBE, SCRATCH, FineTuningResult, conclude, gains,
                     run_fine_tuning)
from .runs import N_TEST, VAL_FRACTION, Context, RecipeRuns, Trained, run_recipe, run_recipes, train_recipe

__all__ = ["BACKBONE", "TARGET", "BATCH", "LOWER", "QUICK_LR_GRID", "FINE_TUNE_STEPS", "scratch_steps", "Recipe",
           "RECIPES", "recipes_for", "grid_for", "weight_change", "VAL_FRACTION", "N_TEST", "Context", "Trained",
           "RecipeRuns", "train_recipe", "run_recipe", "run_recipes", "PROBE", "SCRATCH", "LEVEL_OFF_POINTS",
           "COMPARISONS", "gains", "conclude", "FineTuningResult", "run_fine_tuning"]
