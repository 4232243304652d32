"""Notebook 00: the effects it states, checked through the same functions, in the quick profile.

Each test runs a notebook's experiment with fixed seeds and asserts the effect with a margin that
held across the runs made (each test says what was seen); the numbers a notebook prints come from
these same functions. The fast unit tests of the experiment helpers live beside their modules'
tests (test_domain_mismatch.py, test_negative_transfer.py, ...).
"""

from __future__ import annotations

import pytest

from tlworkbench.experiments import tour
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
