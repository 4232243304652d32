"""Training the recipes of notebook 02 under one protocol.

Each label budget is drawn per seed (:func:`~tlworkbench.data.subsample`) and split into a
training part and a validation part (:func:`~tlworkbench.data.validation_split`, a fifth of each
class). Every recipe trains on the training part; its hyper-parameter (the probe's penalty, every
other recipe's learning rate) and its epoch are chosen on the validation part; the chosen run,
trained on the training part only, is evaluated once on the test images. Hyper-parameters are
chosen on the first seed's split at each budget and reused for the other seeds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..._validate import check_int
from ...config import Profile, get_profile, resolve_progress
from ...data import ImageDataset, image_keys, load_dataset, stratified_split, subsample, validation_split
from ...evaluation import evaluate
from ...features import FeatureCache, extract_features
from ...freezing import count_parameters, set_bn_policy
from ...training import History, choose_on_validation, fit, probe_accuracy
from ...zoo import TransferModel, load_model
from .recipes import BACKBONE, BATCH, TARGET, Recipe, _check_budgets, grid_for, recipes_for, weight_change

__all__ = ["VAL_FRACTION", "N_TEST", "Trained", "Context", "RecipeRuns", "train_recipe", "run_recipe", "run_recipes"]

#: The share of each class of a label budget kept for validation.
VAL_FRACTION = 0.2
#: Test images (stratified), each chosen run evaluated once on them.
N_TEST = 500


@dataclass
class Trained:
    """One trained run: the model (best validation epoch), its History and validation accuracy."""

    model: TransferModel
    history: History
    val_accuracy: float
    seconds: float


class Context:
    """What the runs of one experiment share: the data sets read through each model's
    transforms, the test subset and the feature cache."""

    def __init__(self, profile: str | Profile | None = None, *, n_test: int = N_TEST,
                 cache: FeatureCache | None = None) -> None:
        self.profile = get_profile(profile)
        self.n_test = check_int(n_test, "n_test", "Context", minimum=10)
        self.cache = FeatureCache() if cache is None else cache
        self._data: dict[str, tuple[ImageDataset, ImageDataset]] = {}

    def load(self, recipe: Recipe, seed: int) -> TransferModel:
        """A fresh model for ``recipe`` (a pretrained one at the profile's image size)."""
        size = self.profile.image_size if recipe.weights is not None else None
        model = load_model(recipe.model, num_classes=10, weights=recipe.weights, image_size=size, seed=seed)
        return set_bn_policy(model, recipe.bn_policy)

    def data(self, recipe: Recipe, model: TransferModel) -> tuple[ImageDataset, ImageDataset]:
        """The training pool and the test subset, read through ``model``'s transforms."""
        if recipe.model not in self._data:
            prof = self.profile
            train = load_dataset(TARGET, split="train", transform=model, profile=prof)
            test = load_dataset(TARGET, split="test", transform=model, profile=prof)
            test = test.subset(stratified_split(test.targets.numpy(), self.n_test, seed=0))
            self._data[recipe.model] = (train, test)
        return self._data[recipe.model]

    def split(self, recipe: Recipe, model: TransferModel, per_class: int, seed: int
              ) -> tuple[ImageDataset, ImageDataset]:
        """``(train, val)`` of the label budget ``per_class`` drawn with ``seed``."""
        pool, _ = self.data(recipe, model)
        return validation_split(subsample(pool, per_class=per_class, seed=seed), fraction=VAL_FRACTION, seed=seed)

    def test_accuracy(self, recipe: Recipe, trained: Trained) -> float:
        """Accuracy on the test subset (a probe reads the frozen backbone's cached test features)."""
        _, test = self.data(recipe, trained.model)
        if recipe.strategy == "linear_probe":
            f, y = extract_features(trained.model, test, cache=self.cache, progress=False)
            return probe_accuracy(trained.model.head, f, y)
        return evaluate(trained.model, test).accuracy


def train_recipe(recipe: Recipe, context: Context, *, per_class: int, seed: int, value: float | None,
                 head: dict[str, torch.Tensor] | None = None) -> Trained:
    """Train ``recipe`` once on the training part of its budget, with validation.

    Args:
        recipe: the recipe.
        context: the shared data and cache.
        per_class: the label budget.
        seed: draws the budget and seeds the run.
        value: the probe's ``weight_decay`` or the learning rate (``None``: fit's default).
        head: the state of the probe's head to start from (``recipe.probe_first``).
    """
    model = context.load(recipe, seed)
    train, val = context.split(recipe, model, per_class, seed)
    if head is not None:
        model.head.load_state_dict(head)
    common = dict(seed=seed, progress=False, cache=context.cache, profile=context.profile)
    start = time.process_time()
    if recipe.strategy == "linear_probe":
        # a convex problem trained to convergence: validation chooses the penalty, not an epoch
        history = fit(model, train, strategy="linear_probe", weight_decay=value, **common)
        f, y = extract_features(model, val, cache=context.cache, progress=False)
        val_accuracy = probe_accuracy(model.head, f, y)
    else:
        history = fit(model, train, val, strategy=recipe.strategy, lr=value, batch_size=BATCH,
                      epochs=recipe.epochs(len(train), per_class), **common, **dict(recipe.fit_kwargs))
        val_accuracy = float(history.best_accuracy)
    return Trained(model, history, val_accuracy, time.process_time() - start)


def _choose(recipe: Recipe, context: Context, *, per_class: int, seed: int, head: Any) -> tuple[Any, Trained]:
    """The recipe's hyper-parameter chosen on validation, and the run trained with it."""
    choice = choose_on_validation(
        lambda v: (lambda t: (t.val_accuracy, t))(train_recipe(recipe, context, per_class=per_class, seed=seed,
                                                               value=v, head=head)),
        grid_for(recipe, context.profile), name=recipe.knob, progress=False)
    return choice, choice.output


def _saturation(history: History) -> tuple[float, float]:
    """Best validation accuracy over the first three quarters of the epochs, and over all of them
    (NaN without validation rows): a run that has levelled off gains nothing in its last quarter."""
    val = history.frame.loc[history.frame["split"] == "val", "accuracy"].to_numpy() \
        if "split" in history.frame else np.array([])
    if not len(val):
        return float("nan"), float("nan")
    early = max(1, (3 * len(val)) // 4)
    return float(val[:early].max()), float(val.max())


def run_recipe(recipe: Recipe, *, per_class: int, seed: int = 0, profile: str | Profile | None = None,
               n_test: int = N_TEST, value: float | None = None, context: Context | None = None
               ) -> tuple[dict[str, Any], History, TransferModel]:
    """Train one recipe at one hyper-parameter value and evaluate it on the test images.

    The recipe trains on the training part of ``per_class`` labels per class, with the rest of
    the budget as validation data (the best epoch is kept; a probe trains to convergence).
    ``value`` is the probe's penalty or the learning rate (default: the recipe's fixed rate, else
    fit's default); a ``probe_first`` recipe starts from a linear probe trained with fit's
    defaults.

    Returns:
        ``(row, history, model)``.
    """
    per_class = check_int(per_class, "per_class", "run_recipe", minimum=2)
    context = Context(profile, n_test=n_test) if context is None else context
    head = None
    if recipe.probe_first:
        probe = Recipe(f"{recipe.model}: linear probe", "linear_probe", model=recipe.model, probe_first=False)
        head = train_recipe(probe, context, per_class=per_class, seed=seed, value=None).model.head.state_dict()
    value = recipe.lr if value is None else value
    trained = train_recipe(recipe, context, per_class=per_class, seed=seed, value=value, head=head)
    return _row(recipe, context, trained, per_class, seed, value), trained.history, trained.model


def _row(recipe: Recipe, context: Context, trained: Trained, per_class: int, seed: int, value: Any) -> dict[str, Any]:
    frame = trained.history.frame
    trainable = (int(frame["trainable_params"].max()) if "trainable_params" in frame
                 else count_parameters(trained.model)[0])
    early, best = _saturation(trained.history)
    return {"recipe": recipe.name, "strategy": recipe.strategy, "model": recipe.model, "per_class": per_class,
            "seed": seed, "accuracy": round(context.test_accuracy(recipe, trained), 4),
            "val_accuracy": round(trained.val_accuracy, 4), "knob": recipe.knob, "value": value,
            "tuned": recipe.tuned, "epochs": trained.history.epochs,
            "best_epoch": trained.history.best_epoch, "val_best_3q": early, "val_best": best,
            "seconds": round(trained.seconds, 1), "trainable_params": trainable}


@dataclass
class RecipeRuns:
    """What :func:`run_recipes` returns (the parts of :class:`FineTuningResult` it fills)."""

    table: pd.DataFrame
    choices: pd.DataFrame
    histories: dict[str, History]
    weight_changes: dict[str, pd.DataFrame]
    test_overlap: int


def run_recipes(recipes: Sequence[Recipe] | None = None, *, per_class: Sequence[int] = (10, 50),
                seeds: Sequence[int] | None = None, profile: str | Profile | None = None, n_test: int = N_TEST,
                progress: bool | None = None) -> RecipeRuns:
    """Every recipe (default: :func:`recipes_for` the profile) at every label budget and seed.

    At each budget the first seed chooses every recipe's hyper-parameter on its validation
    split (:func:`~tlworkbench.training.choose_on_validation`); the other seeds reuse it. A
    ``probe_first`` recipe starts from the linear probe of the same seed and budget.
    """
    from tqdm.auto import tqdm

    func = "run_recipes"
    prof = get_profile(profile)
    recipes = recipes_for(prof) if recipes is None else tuple(recipes)
    recipes = tuple(sorted(recipes, key=lambda r: r.strategy != "linear_probe"))  # probes first: LP-FT needs them
    budgets = _check_budgets(per_class, func)
    seeds = tuple(prof.seeds if seeds is None else (check_int(s, "seeds", func) for s in seeds))
    context = Context(prof, n_test=n_test)
    jobs = [(n, s, r) for n in budgets for s in seeds for r in recipes if not r.large_only or n == max(budgets)]
    rows, choices, histories, changes = [], [], {}, {}
    chosen: dict[tuple[str, int], Any] = {}
    heads: dict[tuple[str, int, int], dict[str, torch.Tensor]] = {}
    for n, seed, recipe in tqdm(jobs, desc="recipes", disable=not resolve_progress(progress)):
        head = heads.get((recipe.model, n, seed)) if recipe.probe_first else None
        if recipe.probe_first and head is None:
            raise ValueError(f"The recipe {recipe.name!r} starts from a linear probe of {recipe.model!r}; "
                             f"add a linear_probe recipe of that model to 'recipes'.")
        if (recipe.name, n) not in chosen:
            choice, trained = _choose(recipe, context, per_class=n, seed=seed, head=head)
            chosen[(recipe.name, n)] = choice.best
            choices.append(choice.table.rename(columns={recipe.knob: "value"}).assign(
                recipe=recipe.name, per_class=n, seed=seed, knob=recipe.knob))
        else:
            trained = train_recipe(recipe, context, per_class=n, seed=seed, value=chosen[(recipe.name, n)], head=head)
        if recipe.strategy == "linear_probe":
            heads[(recipe.model, n, seed)] = {k: v.clone() for k, v in trained.model.head.state_dict().items()}
        rows.append(_row(recipe, context, trained, n, seed, chosen[(recipe.name, n)]))
        if seed == seeds[0]:
            histories[f"{recipe.name} @ {n}"] = trained.history
            moves = recipe.model == BACKBONE and recipe.strategy != "linear_probe"
            if moves and n == max(budgets):
                changes[f"{recipe.name} @ {n}"] = weight_change(trained.model)
    choice_table = pd.concat(choices, ignore_index=True)[["recipe", "per_class", "seed", "knob", "value", "val_score",
                                                          "chosen"]]
    return RecipeRuns(pd.DataFrame(rows), choice_table, histories, changes,
                      _test_overlap(context, recipes, budgets, seeds))


def _test_overlap(context: Context, recipes: Sequence[Recipe], budgets: Sequence[int], seeds: Sequence[int]) -> int:
    """Images of any label budget that are exact copies of a test image (there should be none)."""
    recipe = recipes[0]
    model = context.load(recipe, 0)
    pool, test = context.data(recipe, model)
    test_keys = set(image_keys(test.images.numpy()))
    seen: set[bytes] = set()
    for seed in seeds:
        budget = subsample(pool, per_class=max(budgets), seed=seed)
        seen.update(image_keys(budget.images.numpy()))
    return len(seen & test_keys)
