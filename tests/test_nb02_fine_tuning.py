"""Notebook 02: the effects it states, checked through the same functions, in the quick profile.

Each test runs the notebook's experiment with its fixed seeds and asserts the effect with a margin
that held in the runs made (each test says what was seen); the numbers the notebook prints come
from these same functions.
"""

from __future__ import annotations

import pytest

from tlworkbench.config import get_profile
from tlworkbench.data import load_dataset, subsample
from tlworkbench.experiments import fine_tuning
from tlworkbench.training import WEIGHT_DECAY_GRID, fit
from tlworkbench.zoo import load_model

pytestmark = pytest.mark.slow


# --- recipes and helpers --------------------------------------------------------------------------------


def test_the_quick_profile_runs_three_recipes_and_the_full_profile_adds_the_cached_backbones(monkeypatch):
    quick = fine_tuning.recipes_for("quick")
    assert [r.name for r in quick] == ["linear probe", "fine-tune from stage7", "small CNN from scratch"]
    cached = lambda profile=None: ("resnet18",) if get_profile(profile).name == "full" else ()  # noqa: E731
    monkeypatch.setattr(fine_tuning.recipes, "extra_backbones", cached)
    full = fine_tuning.recipes_for("full")
    assert full[:len(fine_tuning.RECIPES)] == fine_tuning.RECIPES
    assert [(r.model, r.strategy) for r in full[len(fine_tuning.RECIPES):]] == [("resnet18", "linear_probe"),
                                                                               ("resnet18", "fine_tune")]


def test_every_compared_recipe_chooses_from_one_grid_and_only_the_demonstration_is_fixed():
    grids = {r.name: fine_tuning.grid_for(r, "full") for r in fine_tuning.RECIPES}
    assert grids["linear probe"] == WEIGHT_DECAY_GRID
    adam = {grids[r.name] for r in fine_tuning.RECIPES if r.strategy != "linear_probe" and r.tuned}
    assert len(adam) == 1  # one learning-rate grid for the fine-tunes and scratch alike
    assert [r.name for r in fine_tuning.RECIPES if not r.tuned] == ["fine-tune all, lr 3e-2 (untuned)"]
    quick = {fine_tuning.grid_for(r, "quick") for r in fine_tuning.recipes_for("quick") if r.strategy != "linear_probe"}
    assert quick == {fine_tuning.QUICK_LR_GRID}


def test_a_recipe_runs_on_another_pretrained_backbone():
    recipe = fine_tuning.Recipe("efficientnet_lite1: linear probe", "linear_probe", model="efficientnet_lite1",
                                probe_first=False)
    row, _, model = fine_tuning.run_recipe(recipe, per_class=5, seed=0, profile="quick", n_test=100)
    assert model.name == "efficientnet_lite1" and model.transforms.size == 64  # the profile's image size
    assert row["recipe"] == recipe.name and row["accuracy"] > 0.2  # chance is 0.1


def test_discriminative_learning_rates_move_the_lower_groups_least():
    model = load_model("efficientnet_lite0", num_classes=10, image_size=64, seed=0)
    train = subsample(load_dataset("animal_mnist", transform=model, profile="quick"), per_class=3, seed=0)
    fit(model, train, strategy="fine_tune", epochs=2, lr=1e-2, lr_mult=fine_tuning.LOWER, batch_size=15,
        min_steps=0, seed=0, progress=False, cache=False)
    moved = fine_tuning.weight_change(model).set_index("group")["relative change"]
    assert 0 < moved["stem"] < moved["top"]  # seen: stem moved a fraction of what top moved


# --- the experiment ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fine_tuned():
    return fine_tuning.run_fine_tuning(profile="quick", per_class=(10, 50))


def _gain(result, arm, baseline, per_class):
    g = result.gains
    return g[(g["arm"] == arm) & (g["baseline"] == baseline) & (g["per_class"] == per_class)].iloc[0]


def test_every_recipe_ran_on_the_same_three_seeds_with_choices_made_on_validation(fine_tuned):
    table = fine_tuned.table
    seeds = table.groupby(["recipe", "per_class"])["seed"].apply(lambda s: tuple(sorted(s)))
    assert set(seeds) == {(0, 1, 2)} and len(seeds) == 6  # 3 recipes x 2 budgets
    chosen = fine_tuned.choices[fine_tuned.choices["chosen"]]
    assert len(chosen) == table[["recipe", "per_class"]].drop_duplicates().shape[0]  # one choice per recipe and budget
    tried = fine_tuned.choices.groupby(["recipe", "per_class"])["value"].apply(tuple)
    assert {tried[("fine-tune from stage7", b)] for b in (10, 50)} == {fine_tuning.QUICK_LR_GRID}
    assert {tried[("small CNN from scratch", b)] for b in (10, 50)} == {fine_tuning.QUICK_LR_GRID}
    assert fine_tuned.test_overlap == 0 and fine_tuned.n_test >= 500
    assert (fine_tuned.gains["n"] == 3).all()


def test_fine_tuning_from_stage7_does_not_beat_the_tuned_probe(fine_tuned):
    # seen with one torch thread: -0.8 points [-5.0, +3.4] at 10 and +0.8 [-2.8, +4.4] at 50 labels
    # per class; with two: -1.9 [-3.0, -0.7] (the probe better) and -1.1 [-4.1, +1.9], n = 3.
    for b in (10, 50):
        row = _gain(fine_tuned, "fine-tune from stage7", "linear probe", b)
        assert row["verdict"] != "arm better" and -5 < row["gain"] < 3


def test_scratch_trails_the_probe_at_10_labels_per_class_and_catches_up_at_50(fine_tuned):
    small = _gain(fine_tuned, "small CNN from scratch", "linear probe", 10)
    # seen: -7.1 points [-14.7, +0.5] (one torch thread) and -9.1 [-10.2, -8.1] (two), 0 of 3 seeds
    assert small["gain"] < -4 and small["wins"] == 0
    large = _gain(fine_tuned, "small CNN from scratch", "linear probe", 50)
    assert large["verdict"] == "inconclusive" and abs(large["gain"]) < 4  # seen: +0.9 [-3.3, +5.2], +2.1 [-0.6, +4.9]


def test_scratch_trains_until_its_validation_accuracy_levels_off(fine_tuned):
    scratch = fine_tuned.table[fine_tuned.table["recipe"] == "small CNN from scratch"]
    rise = 100 * (scratch["val_best"] - scratch["val_best_3q"])
    assert rise.max() <= fine_tuning.LEVEL_OFF_POINTS  # seen: at most 1 point in the last quarter of the epochs


def test_the_conclusion_states_every_comparison_with_its_interval(fine_tuned):
    text = fine_tuned.conclusion
    for _, row in fine_tuned.gains.iterrows():
        assert f"{row['gain']:+.1f} points [{row['low']:+.1f}, {row['high']:+.1f}], 95% t-interval, n = 3" in text
    assert "has levelled off" in text and "0 of the labelled images" in text
