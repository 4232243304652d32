"""Notebook 00: the effects it states, checked through the same functions, in the quick profile.

The fixture runs the notebook's experiment with the notebook's own arguments; each test asserts
an effect with a margin that held in the runs made (each test says what was seen).
"""

from __future__ import annotations

import pytest

from tlworkbench.diagnostics import paired_difference
from tlworkbench.experiments import tour
from tlworkbench.training import LR_GRID, WEIGHT_DECAY_GRID
from tlworkbench.zoo import load_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tour_result() -> tour.ProbeResult:
    return tour.run_tour(profile="quick", target="animal_mnist")  # as notebooks/00_tour.py calls it


def test_imagenet_weights_name_the_photos():
    imagenet = load_model("efficientnet_lite0")
    top1 = tour.classify_photos(imagenet, tour.photos(), k=1).set_index("photo")["class"]
    assert top1["coffee"] == "espresso"
    assert top1["chelsea"] in {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


def test_probe_and_scratch_train_on_the_same_labels_and_choose_on_validation(tour_result):
    runs = tour_result.runs
    assert len(runs) == 2 * len(tour.TOUR_SEEDS) and set(runs["arm"]) == {"probe", "scratch"}
    assert (runs["n_train"] == 160).all() and (runs["n_val"] == 40).all()  # 20 per class: 16 + 4
    probe, scratch = runs[runs["arm"] == "probe"], runs[runs["arm"] == "scratch"]
    assert probe["value"].isin(WEIGHT_DECAY_GRID).all() and scratch["value"].isin(LR_GRID).all()
    assert runs["val_accuracy"].between(0, 1).all()
    assert tour_result.evaluation.accuracy == pytest.approx(probe["accuracy"].iloc[0])
    assert len(tour_result.evaluation.y_true) == 1000


def test_the_comparison_is_a_paired_interval_over_five_seeds(tour_result):
    runs = tour_result.runs
    wide = runs.pivot(index="seed", columns="arm", values="accuracy")
    diff = paired_difference(100 * wide["probe"], 100 * wide["scratch"], unit="points")
    assert tour_result.comparison == diff and diff.n == 5
    assert str(diff) in tour_result.conclusion
    assert f"{wide['probe'].mean():.1%}" in tour_result.conclusion
    assert f"{wide['scratch'].mean():.1%}" in tour_result.conclusion


def test_both_arms_learn_the_silhouettes_and_neither_is_shown_ahead(tour_result):
    acc = tour_result.runs.groupby("arm")["accuracy"]
    # seen per seed: probe .782 to .807 (mean .794), scratch .726 to .823 (mean .765); chance is .1
    assert acc.min()["probe"] > 0.75 and acc.min()["scratch"] > 0.68
    # seen: +2.9 points [-1.8, +7.7], n = 5: the tuned small CNN is within the interval of the probe
    diff = tour_result.comparison
    assert diff.verdict == "inconclusive" and diff.low < 0 < diff.high
    assert -3.0 < diff.mean < 8.0
    assert "neither arm is shown to be ahead" in tour_result.conclusion
