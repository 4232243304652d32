"""Exercises of notebook 01, feature extraction: the input size and the depth the probe reads.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds (one probe on 10
labels per class, features cached on disk).
"""

from __future__ import annotations

import functools

from ...data import load_dataset, subsample, validation_split
from ...evaluation import evaluate_features
from ...features import extract_features
from ...zoo import load_model
from .arms import BACKBONE, VAL_FRACTION, feature_cache, tune_probe

__all__ = ["EXERCISES", "probe_accuracy"]

#: Test images the exercises score on (the first of the test split), to keep them quick.
N_TEST = 500


@functools.lru_cache(maxsize=16)
def probe_accuracy(target: str = "animal_mnist", *, per_class: int = 10, size: int = 64, depth: str | None = None,
                   seed: int = 0, n_test: int = N_TEST) -> float:
    """Test accuracy of a linear probe on EfficientNet-Lite0's ImageNet features, rounded to 3 places.

    ``per_class`` labelled training images per class are drawn with ``seed``, a fifth of them set
    aside to choose the probe's penalty; the images are read at ``size`` px, the features taken
    after group ``depth`` (``None``: the whole backbone) and pooled; the probe is scored on the
    first ``n_test`` test images.
    """
    model = load_model(BACKBONE, num_classes=10, image_size=size)
    pool = load_dataset(target, split="train", transform=model, profile="quick")
    test = load_dataset(target, split="test", transform=model, profile="quick")
    test = test.subset(range(min(n_test, len(test))), name=f"{test.name}[:{n_test}]")
    train, val = validation_split(subsample(pool, per_class=per_class, seed=seed), fraction=VAL_FRACTION, seed=seed)
    store = feature_cache()
    xy = [extract_features(model, d, depth=depth, cache=store, progress=False) for d in (train, val, test)]
    choice = tune_probe(xy[0], xy[1], num_classes=len(pool.classes), seed=seed)
    return round(evaluate_features(choice.output, *xy[2], classes=test.classes).accuracy, 3)


def _compared(right: float, base: float, where: str) -> str:
    """A sentence comparing the exercise's accuracy with the probe's ``base`` one."""
    way = "above" if right > base else "below" if right < base else "equal to"
    return f"That is {abs(right - base) * 100:.1f} points {way} the {base:.3f} {where}."


EXERCISES = [
    {
        "key": "smaller_images",
        "prompt": "The probe reads animal silhouettes at 64 px. Predict its accuracy at 32 px (the images "
                  "are 28 px, so 32 px loses almost nothing of the image itself), then run "
                  "`probe_accuracy(size=32)` and `probe_accuracy(size=64)` from "
                  "tlworkbench.experiments.feature_extraction.exercises (10 labels per class, 500 test "
                  "images) and pass the accuracy at 32 px.",
        "solution": lambda: probe_accuracy(size=32),
        "tolerance": 0.005,
        "hint": "the number probe_accuracy(size=32) returns (a fraction between 0 and 1)",
        "explain": lambda right: _compared(right, probe_accuracy(), "at 64 px") + " The ImageNet network was trained "
                   "on 224 px photos; at 32 px its deepest layers see a 1 x 1 map, so the input size is part of "
                   "what transfers.",
        "wrong": 0.9,
    },
    {
        "key": "earlier_depth",
        "prompt": "The probe reads the last layer of the backbone. Predict whether the features after "
                  "`stage5`, halfway up, do better or worse on animal silhouettes, then run "
                  "`probe_accuracy(depth='stage5')` and pass its accuracy.",
        "solution": lambda: probe_accuracy(depth="stage5"),
        "tolerance": 0.005,
        "hint": "the number probe_accuracy(depth='stage5') returns; compare it with probe_accuracy()",
        "explain": lambda right: _compared(right, probe_accuracy(), "after the last layer") + " Middle layers hold "
                   "shapes and parts less tied to ImageNet's classes; which depth is best depends on how far the "
                   "target is from ImageNet (the depth table above).",
        "wrong": 1.0,
    },
]
