"""Notebook 02, fine-tuning: which parts of a pretrained network should train, and how fast.

Runs named recipes (a linear probe, fine-tuning from a group, full two-stage fine-tuning,
gradual unfreezing, discriminative learning rates, the BatchNorm policy, a learning rate that is
far too high, and a small CNN from scratch) at a small and a larger label budget, and collects
their accuracy, time, trainable parameters and learning curves in one table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._validate import check_int, check_sequence
from ..config import Profile, data_home, get_profile, resolve_progress
from ..data import ImageDataset, load_dataset, stratified_split, subsample
from ..evaluation import evaluate
from ..features import FeatureCache
from ..freezing import count_parameters, set_bn_policy
from ..training import History, epochs_for_steps, fit
from ..zoo import TransferModel, load_model

__all__ = ["Recipe", "RECIPES", "recipes_for", "run_recipe", "run_recipes", "FineTuningResult", "run_fine_tuning", "conclude", "weight_change"]

BACKBONE = "efficientnet_lite0"
TARGET = "animal_mnist"


@dataclass(frozen=True)
class Recipe:
    """One way of adapting the model.

    Attributes:
        name: how the recipe is shown.
        strategy: the :func:`~tlworkbench.training.fit` strategy.
        model: the zoo model it starts from.
        weights: the weights it starts from (``"default"``: ImageNet for EfficientNet).
        probe_first: train the new head alone first (a linear probe on cached features), then
            apply ``strategy`` ("LP-FT", Kumar et al., ICLR 2022): the backbone is never pulled
            by gradients from a random head.
        steps: about how many optimizer steps ``strategy`` takes; the epochs follow from the
            label budget (:meth:`epochs`), so small budgets are not starved of steps.
        lr: the base learning rate.
        fit_kwargs: anything else for ``fit`` (``from_group``, ``lr_mult``...).
        bn_policy: the BatchNorm policy during training.
        large_only: run only at the largest budget (to keep the notebook's time in bounds).
    """

    name: str
    strategy: str
    model: str = BACKBONE
    weights: str | None = "default"
    probe_first: bool = True
    steps: int = 30
    lr: float = 1e-3
    fit_kwargs: Mapping[str, Any] = field(default_factory=dict)
    bn_policy: str = "frozen"
    large_only: bool = False

    def epochs(self, n_train: int, batch_size: int) -> int:
        """Epochs of the main phase over ``n_train`` examples: at least :attr:`steps` steps, at
        least 2 epochs, and for gradual unfreezing at least 4 (the head, then the top three groups
        one by one); a linear probe takes one L-BFGS epoch."""
        if self.strategy == "linear_probe":
            return 1
        return epochs_for_steps(n_train, steps=self.steps, batch_size=batch_size,
                                min_epochs=4 if self.strategy == "gradual_unfreeze" else 2)


BATCH = 32
LOWER = {"stem": 0.1, "stage1": 0.1, "stage2": 0.1, "stage3": 0.1, "stage4": 0.3, "stage5": 0.3}

RECIPES: tuple[Recipe, ...] = (
    Recipe("linear probe", "linear_probe", probe_first=False),
    Recipe("fine-tune from stage7", "fine_tune", fit_kwargs={"from_group": "stage7"}),
    Recipe("fine-tune all, discriminative lr", "fine_tune", fit_kwargs={"lr_mult": LOWER}, large_only=True),
    Recipe("fine-tune from stage7, BN train", "fine_tune", fit_kwargs={"from_group": "stage7"},
           bn_policy="train", large_only=True),
    Recipe("gradual unfreezing", "gradual_unfreeze", probe_first=False, large_only=True),
    Recipe("fine-tune all, lr x30", "fine_tune", lr=3e-2, large_only=True),
    Recipe("small CNN from scratch", "scratch", model="small_cnn", weights=None, probe_first=False, steps=150,
           lr=3e-3),
)


def recipes_for(profile: str | Profile | None = None) -> tuple[Recipe, ...]:
    """The recipes of a profile: :data:`RECIPES`, and in the full profile a linear probe and a
    fine-tune of every layer for each torchvision ImageNet backbone whose weights are in the
    torch hub cache (:func:`~tlworkbench.experiments.feature_extraction.extra_backbones`)."""
    from .feature_extraction import extra_backbones

    extra = []
    for name in extra_backbones(profile):
        extra.append(Recipe(f"{name}: linear probe", "linear_probe", model=name, probe_first=False))
        extra.append(Recipe(f"{name}: fine-tune all", "fine_tune", model=name, lr=3e-4))
    return RECIPES + tuple(extra)


def _data(model: TransferModel, profile: Profile, per_class: int, seed: int, n_test: int
          ) -> tuple[ImageDataset, ImageDataset]:
    train = load_dataset(TARGET, split="train", transform=model, profile=profile)
    test = load_dataset(TARGET, split="test", transform=model, profile=profile)
    test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=0))
    return subsample(train, per_class=per_class, seed=seed), test


def run_recipe(recipe: Recipe, *, per_class: int, seed: int = 0, profile: str | Profile | None = None,
               n_test: int = 300, cache: FeatureCache | None = None
               ) -> tuple[dict[str, Any], History, TransferModel]:
    """Train one recipe on ``per_class`` labels per class; return its row, the History of its main
    phase, and the model."""
    per_class = check_int(per_class, "per_class", "run_recipe", minimum=1)
    prof = get_profile(profile)
    size = prof.image_size if recipe.weights is not None else None  # pretrained: the profile's size
    model = load_model(recipe.model, num_classes=10, weights=recipe.weights, image_size=size, seed=seed)
    set_bn_policy(model, recipe.bn_policy)
    train, test = _data(model, prof, per_class, seed, n_test)
    cache = cache if cache is not None else True
    start = time.perf_counter()
    if recipe.probe_first:
        fit(model, train, strategy="linear_probe", seed=seed, progress=False, cache=cache)
    kwargs = dict(recipe.fit_kwargs)
    epochs = recipe.epochs(len(train), BATCH)
    history = fit(model, train, strategy=recipe.strategy, epochs=epochs, lr=recipe.lr, seed=seed,
                  batch_size=BATCH, progress=False, cache=cache, **kwargs)
    seconds = time.perf_counter() - start
    frame = history.frame
    trained = int(frame["trainable_params"].max()) if "trainable_params" in frame else count_parameters(model)[0]
    row = {"recipe": recipe.name, "strategy": recipe.strategy, "per_class": per_class, "seed": seed,
           "accuracy": round(evaluate(model, test).accuracy, 4), "seconds": round(seconds, 1),
           "trainable_params": trained, "epochs": epochs, "lr": recipe.lr}
    return row, history, model


def run_recipes(recipes: Sequence[Recipe] | None = None, *, per_class: Sequence[int] = (10, 50), seed: int = 0,
                profile: str | Profile | None = None, progress: bool | None = None
                ) -> tuple[pd.DataFrame, dict[str, History], dict[str, TransferModel]]:
    """Every recipe (default: :func:`recipes_for` the profile) at every label budget it applies to.

    Returns:
        ``(table, histories, models)``: one row per run, and each run's History and trained
        model keyed ``"name @ per_class"``.
    """
    from tqdm.auto import tqdm

    recipes = recipes_for(profile) if recipes is None else recipes
    per_class = check_sequence(per_class, "per_class", "run_recipes", check_int, minimum=1)
    cache = FeatureCache(data_home() / "features")
    jobs = [(r, n) for n in per_class for r in recipes if not r.large_only or n == max(per_class)]
    rows, histories, models = [], {}, {}
    for recipe, n in tqdm(jobs, desc="recipes", disable=not resolve_progress(progress)):
        row, history, model = run_recipe(recipe, per_class=n, seed=seed, profile=profile, cache=cache)
        rows.append(row)
        histories[f"{recipe.name} @ {n}"] = history
        models[f"{recipe.name} @ {n}"] = model
    return pd.DataFrame(rows), histories, models


def weight_change(model: TransferModel, *, reference: str | None = None) -> pd.DataFrame:
    """How far each group's parameters moved from the pretrained ones: ``||w - w0|| / ||w0||``.

    The head has no pretrained counterpart (transfer learning replaced it), so its row says
    ``"new"``; the backbone groups show what fine-tuning adjusted.
    """
    pretrained = load_model(reference or model.name, weights="default")
    rows = []
    for (name, group), (_, ref) in zip(list(model.groups.items())[:-1], list(pretrained.groups.items())[:-1]):
        num = sum(float((p.detach().cpu() - q.detach()).pow(2).sum()) for p, q in zip(group.parameters(), ref.parameters()))
        den = sum(float(q.detach().pow(2).sum()) for q in ref.parameters())
        rows.append({"group": name, "relative change": (num / den) ** 0.5 if den else 0.0})
    rows.append({"group": "head", "relative change": float("nan")})
    out = pd.DataFrame(rows)
    out["origin"] = ["pretrained"] * (len(out) - 1) + ["new (replaced head)"]
    return out


def conclude(table: pd.DataFrame) -> str:
    """The notebook's conclusion, written from the measured table."""
    t = table.set_index(["recipe", "per_class"])["accuracy"]
    budgets = sorted(table["per_class"].unique())
    lines = []
    for b in budgets:
        probe = t[("linear probe", b)]
        tuned = {r: t[(r, bb)] for r, bb in t.index if bb == b and r not in ("linear probe",)}
        best = max(tuned, key=tuned.get)
        verdict = "beats" if tuned[best] > probe else "does not beat"
        lines.append(f"At {b} labels per class the linear probe reaches {probe:.3f}; the best other recipe, "
                     f"{best} ({tuned[best]:.3f}), {verdict} it.")
    big = budgets[-1]
    if ("fine-tune all, lr x30", big) in t.index:
        lines.append(f"With a learning rate 30 times too high, fine-tuning everything ends at "
                     f"{t[('fine-tune all, lr x30', big)]:.3f} against "
                     f"{t[('fine-tune all, discriminative lr', big)]:.3f} at the usual rates and "
                     f"{t[('linear probe', big)]:.3f} for the probe: the pretrained features are lost.")
    if ("fine-tune from stage7, BN train", big) in t.index:
        lines.append(f"Fine-tuning from stage7 with the frozen groups' BatchNorm kept frozen: "
                     f"{t[('fine-tune from stage7', big)]:.3f}; with their statistics updated on the target: "
                     f"{t[('fine-tune from stage7, BN train', big)]:.3f}.")
    secs = table.groupby("recipe")["seconds"].sum()
    lines.append(f"Time over all budgets: the probe {secs['linear probe']:.0f} s, fine-tuning from stage7 "
                 f"{secs['fine-tune from stage7']:.0f} s, fine-tuning everything "
                 f"{secs['fine-tune all, discriminative lr']:.0f} s.")
    return "\n".join(lines)


@dataclass
class FineTuningResult:
    """What notebook 02 shows."""

    table: pd.DataFrame
    histories: dict[str, History]
    models: dict[str, TransferModel]

    @property
    def conclusion(self) -> str:
        return conclude(self.table)


def run_fine_tuning(*, per_class: Sequence[int] = (10, 50), seed: int = 0, profile: str | Profile | None = None,
                    progress: bool | None = None) -> FineTuningResult:
    """Run every recipe of notebook 02."""
    table, histories, models = run_recipes(per_class=per_class, seed=seed, profile=profile, progress=progress)
    return FineTuningResult(table, histories, models)
