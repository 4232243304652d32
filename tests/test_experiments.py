"""The effects the notebooks state, checked through the same functions, in the quick profile.

Each test runs a notebook's experiment with fixed seeds and asserts the effect with a margin that
held across the seeds tried; the numbers a notebook prints come from these same functions.
"""

from __future__ import annotations

import pytest

from tlworkbench.experiments import fine_tuning, tour
from tlworkbench.zoo import load_model

pytestmark = pytest.mark.slow


# --- 00 tour ---------------------------------------------------------------------------------------


def test_tour_imagenet_weights_name_the_photos_and_a_probe_learns_silhouettes():
    imagenet = load_model("efficientnet_lite0")
    top1 = tour.classify_photos(imagenet, tour.photos(), k=1).set_index("photo")["class"]
    assert top1["coffee"] == "espresso"
    assert top1["chelsea"] in {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
    model = load_model("efficientnet_lite0", num_classes=10, image_size=64, seed=0)
    result = tour.tour_probe(model, per_class=20, seed=0, profile="quick")
    assert result.evaluation.accuracy > 0.7  # chance is 0.1; measured 0.81
    assert f"{result.evaluation.accuracy:.1%}" in result.conclusion


# --- 02 fine-tuning -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fine_tuned():
    return fine_tuning.run_fine_tuning(budgets=(10, 50), seed=0, profile="quick")


def test_fine_tuning_the_top_beats_the_probe(fine_tuned):
    acc = fine_tuned.table.set_index(["recipe", "budget"])["accuracy"]
    assert acc[("fine-tune from stage7", 50)] > acc[("linear probe", 50)] + 0.02


def test_a_learning_rate_far_too_high_ends_below_the_probe(fine_tuned):
    acc = fine_tuned.table.set_index(["recipe", "budget"])["accuracy"]
    assert acc[("fine-tune all, lr x30", 50)] < acc[("linear probe", 50)] - 0.1
    assert acc[("fine-tune all, lr x30", 50)] < acc[("fine-tune all, discriminative lr", 50)] - 0.1


def test_fine_tuning_moves_lower_groups_least(fine_tuned):
    change = fine_tuning.weight_change(fine_tuned.models["fine-tune all, discriminative lr @ 50"])
    moved = change.set_index("group")["relative change"]
    assert moved["stem"] < moved["top"]
