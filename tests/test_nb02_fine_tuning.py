"""Notebook 02: the effects it states, checked through the same functions, in the quick profile.

Each test runs a notebook's experiment with fixed seeds and asserts the effect with a margin that
held across the runs made (each test says what was seen); the numbers a notebook prints come from
these same functions. The fast unit tests of the experiment helpers live beside their modules'
tests (test_domain_mismatch.py, test_negative_transfer.py, ...).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tlworkbench.experiments import feature_extraction as fx
from tlworkbench.experiments import fine_tuning

pytestmark = pytest.mark.slow


# --- 02 fine-tuning -------------------------------------------------------------------------------------


def test_the_full_profile_adds_recipes_for_the_cached_torchvision_backbones(monkeypatch):
    assert fine_tuning.recipes_for("quick") == fine_tuning.RECIPES
    table = pd.DataFrame({"name": ["efficientnet_lite0", "resnet18"], "source": ["ImageNet-1k", "ImageNet-1k"],
                          "offline": [True, True]})
    monkeypatch.setattr(fx, "list_models", lambda modality=None: table)
    extra = fine_tuning.recipes_for("full")[len(fine_tuning.RECIPES):]
    assert [(r.model, r.strategy) for r in extra] == [("resnet18", "linear_probe"), ("resnet18", "fine_tune")]


def test_a_recipe_runs_on_another_pretrained_backbone():
    recipe = fine_tuning.Recipe("efficientnet_lite1: linear probe", "linear_probe", model="efficientnet_lite1",
                                probe_first=False)
    row, _, model = fine_tuning.run_recipe(recipe, per_class=5, seed=0, profile="quick", n_test=100)
    assert model.name == "efficientnet_lite1" and model.transforms.size == 64  # the profile's image size
    assert row["recipe"] == recipe.name and row["accuracy"] > 0.2  # chance is 0.1


@pytest.fixture(scope="module")
def fine_tuned():
    return fine_tuning.run_fine_tuning(per_class=(10, 50), seed=0, profile="quick")


def test_fine_tuning_the_top_beats_the_probe(fine_tuned):
    acc = fine_tuned.table.set_index(["recipe", "per_class"])["accuracy"]
    assert acc[("fine-tune from stage7", 50)] > acc[("linear probe", 50)] + 0.02


def test_a_learning_rate_far_too_high_ends_below_the_probe(fine_tuned):
    acc = fine_tuned.table.set_index(["recipe", "per_class"])["accuracy"]
    assert acc[("fine-tune all, lr x30", 50)] < acc[("linear probe", 50)] - 0.1
    assert acc[("fine-tune all, lr x30", 50)] < acc[("fine-tune all, discriminative lr", 50)] - 0.1


def test_fine_tuning_moves_lower_groups_least(fine_tuned):
    change = fine_tuning.weight_change(fine_tuned.models["fine-tune all, discriminative lr @ 50"])
    moved = change.set_index("group")["relative change"]
    assert moved["stem"] < moved["top"]
