"""The recipes of notebook 02, their grids, and how far fine-tuning moved the weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..._validate import check_int
from ...config import Profile, get_profile
from ...training import LR_GRID, WEIGHT_DECAY_GRID, epochs_for_steps
from ...zoo import TransferModel, load_model
from ..feature_extraction import extra_backbones, scratch_steps

__all__ = ["BACKBONE", "TARGET", "BATCH", "LOWER", "QUICK_LR_GRID", "FINE_TUNE_STEPS", "scratch_steps", "Recipe",
           "RECIPES", "recipes_for", "grid_for", "weight_change"]

BACKBONE = "efficientnet_lite0"
TARGET = "animal_mnist"
BATCH = 32
#: Learning-rate multipliers of "fine-tune all, discriminative lr": the lower groups learn slower.
LOWER = {"stem": 0.1, "stage1": 0.1, "stage2": 0.1, "stage3": 0.1, "stage4": 0.3, "stage5": 0.3}

#: The learning rates every Adam(W) recipe of the quick profile chooses from: the upper two of
#: :data:`~tlworkbench.training.LR_GRID`, one grid for every recipe compared (the full profile
#: uses the whole of ``LR_GRID``). Two values keep the quick profile within its CPU budget; on
#: the first seed's validation splits of both budgets, a grid of (1e-3, 3e-3, 1e-2) had chosen
#: 3e-3 or 1e-2 for every recipe, never 1e-3.
QUICK_LR_GRID = LR_GRID[2:]

#: Optimizer steps of a fine-tuning recipe. Measured on the first seed's validation split at 50
#: labels per class (fine-tune from stage7, lr 3e-3 / 1e-2): best validation accuracy .84 / .85
#: after 30 steps, .89 / .89 after 60, .85 / .84 after 90.
FINE_TUNE_STEPS = 60


# The scratch recipe takes notebook 01's step rule (:func:`scratch_steps`). On the first seed's
# validation split of ``animal_mnist`` (28 px, lr 3e-3 / 1e-2) the best validation accuracy over
# 400 steps at 10 labels per class was reached within the first 100; over 600 steps at 50 labels
# per class it was .94 / .95 by step 450 and .94 / .95 at 600. Each run's last quarter of epochs
# is checked again in :func:`~tlworkbench.experiments.fine_tuning.conclude`.


@dataclass(frozen=True)
class Recipe:
    """One way of adapting the model.

    Attributes:
        name: how the recipe is shown.
        strategy: the :func:`~tlworkbench.training.fit` strategy.
        model: the zoo model it starts from.
        weights: the weights it starts from (``"default"``: ImageNet for EfficientNet; ``None``:
            a random initialisation, read at the images' own size).
        probe_first: start from the linear probe of the same model, seed and label budget (its
            head, its penalty chosen on validation), then apply ``strategy`` ("LP-FT", Kumar et
            al., ICLR 2022): the backbone is never pulled by gradients from a random head.
        steps: about how many optimizer steps ``strategy`` takes (the best epoch is then chosen
            on validation; default :data:`FINE_TUNE_STEPS`); ``None`` for training from scratch:
            :func:`scratch_steps`, enough for the validation accuracy to level off.
        lr: ``None``: chosen on validation from the profile's grid (:func:`grid_for`), as every
            compared recipe is; a number: a fixed rate, for a recipe that demonstrates a rate
            and is not part of the comparison.
        fit_kwargs: anything else for ``fit`` (``from_group``, ``lr_mult``...).
        bn_policy: the BatchNorm policy during training.
        large_only: run only at the largest budget.
        quick: part of the quick profile (the others run in the full profile only).
    """

    name: str
    strategy: str
    model: str = BACKBONE
    weights: str | None = "default"
    probe_first: bool = True
    steps: int | None = FINE_TUNE_STEPS
    lr: float | None = None
    fit_kwargs: Mapping[str, Any] = field(default_factory=dict)
    bn_policy: str = "frozen"
    large_only: bool = False
    quick: bool = True

    @property
    def tuned(self) -> bool:
        """Whether the recipe's hyper-parameter is chosen on validation data."""
        return self.lr is None

    @property
    def knob(self) -> str:
        """The hyper-parameter chosen on validation: ``"weight_decay"`` for a probe, else ``"lr"``."""
        return "weight_decay" if self.strategy == "linear_probe" else "lr"

    def epochs(self, n_train: int, per_class: int, batch_size: int = BATCH) -> int | None:
        """Epochs of the main phase over ``n_train`` examples (``None`` for a probe: fit's
        default L-BFGS epochs, a converged probe)."""
        if self.strategy == "linear_probe":
            return None
        steps = scratch_steps(per_class) if self.steps is None else self.steps
        return epochs_for_steps(n_train, steps=steps, batch_size=batch_size,
                                min_epochs=4 if self.strategy == "gradual_unfreeze" else 2)


RECIPES: tuple[Recipe, ...] = (
    Recipe("linear probe", "linear_probe", probe_first=False),
    Recipe("fine-tune from stage7", "fine_tune", fit_kwargs={"from_group": "stage7"}),
    Recipe("small CNN from scratch", "scratch", model="small_cnn", weights=None, probe_first=False, steps=None),
    Recipe("fine-tune all, discriminative lr", "fine_tune", fit_kwargs={"lr_mult": LOWER}, large_only=True,
           quick=False),
    Recipe("fine-tune from stage7, BN train", "fine_tune", fit_kwargs={"from_group": "stage7"}, bn_policy="train",
           large_only=True, quick=False),
    Recipe("gradual unfreezing", "gradual_unfreeze", probe_first=False, large_only=True, quick=False),
    Recipe("fine-tune all, lr 3e-2 (untuned)", "fine_tune", lr=3e-2, large_only=True, quick=False),
)


def recipes_for(profile: str | Profile | None = None) -> tuple[Recipe, ...]:
    """The recipes of a profile.

    Quick: the linear probe, fine-tuning from stage7 and the small CNN from scratch. Full: every
    recipe of :data:`RECIPES`, and a linear probe and a fine-tune of every layer for each
    torchvision ImageNet backbone whose weights are in the torch hub cache
    (:func:`~tlworkbench.experiments.feature_extraction.extra_backbones`).
    """
    prof = get_profile(profile)
    if prof.name == "quick":
        return tuple(r for r in RECIPES if r.quick)
    extra = []
    for name in extra_backbones(prof):
        extra.append(Recipe(f"{name}: linear probe", "linear_probe", model=name, probe_first=False))
        extra.append(Recipe(f"{name}: fine-tune all", "fine_tune", model=name))
    return RECIPES + tuple(extra)


def grid_for(recipe: Recipe, profile: str | Profile | None = None) -> tuple[float, ...]:
    """The values ``recipe`` chooses from on validation: the probe's penalties
    (:data:`~tlworkbench.training.WEIGHT_DECAY_GRID`), or the profile's learning rates (one grid
    for every recipe: :data:`QUICK_LR_GRID` or :data:`~tlworkbench.training.LR_GRID`); a recipe
    with a fixed ``lr`` has that one value."""
    if recipe.strategy == "linear_probe":
        return WEIGHT_DECAY_GRID
    if not recipe.tuned:
        return (recipe.lr,)
    return QUICK_LR_GRID if get_profile(profile).name == "quick" else LR_GRID


def weight_change(model: TransferModel, *, reference: str | None = None) -> pd.DataFrame:
    """How far each group's parameters moved from the pretrained ones: ``||w - w0|| / ||w0||``.

    The head has no pretrained counterpart (transfer learning replaced it), so its row says
    ``"new"``; the backbone groups show what fine-tuning adjusted.
    """
    pretrained = load_model(reference or model.name, weights="default")
    rows = []
    for (name, group), (_, ref) in zip(list(model.groups.items())[:-1], list(pretrained.groups.items())[:-1]):
        num = sum(float((p.detach().cpu() - q.detach()).pow(2).sum())
                  for p, q in zip(group.parameters(), ref.parameters()))
        den = sum(float(q.detach().pow(2).sum()) for q in ref.parameters())
        rows.append({"group": name, "relative change": (num / den) ** 0.5 if den else 0.0})
    rows.append({"group": "head", "relative change": float("nan")})
    out = pd.DataFrame(rows)
    out["origin"] = ["pretrained"] * (len(out) - 1) + ["new (replaced head)"]
    return out


def _check_budgets(per_class: Any, func: str) -> tuple[int, ...]:
    from ..._validate import check_sequence

    return tuple(check_sequence(per_class, "per_class", func, check_int, minimum=2))
