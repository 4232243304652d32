"""Exercises of notebook 00, the tour: the head change, freezing, and a probe on fewer labels.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in a few seconds.
"""

from __future__ import annotations

import functools

from ..data import load_dataset, subsample, validation_split
from ..freezing import count_parameters, freeze, group_names, unfreeze
from ..zoo import load_model
from .feature_extraction import BACKBONE, VAL_FRACTION
from .tour import tour_probe

__all__ = ["EXERCISES", "head_params", "probe_accuracy", "trainable_after_unfreezing"]


def head_params(num_classes: int = 5) -> int:
    """Parameters of EfficientNet-Lite0's new head for ``num_classes`` classes."""
    model = load_model(BACKBONE, num_classes=num_classes, image_size=32)
    return sum(p.numel() for p in model.head.parameters())


def trainable_after_unfreezing(n_groups: int = 1) -> int:
    """Trainable parameters once the backbone is frozen and its last ``n_groups`` groups unfrozen."""
    model = load_model(BACKBONE, num_classes=10, image_size=32)
    freeze(model)
    body = [g for g in group_names(model) if g != "head"]
    unfreeze(model, body[-n_groups:])
    return count_parameters(model)[0]


@functools.lru_cache(maxsize=16)
def probe_accuracy(per_class: int = 5, *, target: str = "animal_mnist", seed: int = 0,
                   profile: str | None = None) -> float:
    """Test accuracy of the tour's probe (one seed) on ``per_class`` labels per class of ``target``,
    rounded to 3 places."""
    model = load_model(BACKBONE, num_classes=10, image_size=64 if profile in (None, "quick") else None,
                       seed=seed, profile=profile)
    train_all = load_dataset(target, split="train", transform=model, profile=profile)
    test = load_dataset(target, split="test", transform=model, profile=profile)
    train, val = validation_split(subsample(train_all, per_class=per_class, seed=seed), fraction=VAL_FRACTION,
                                  seed=seed)
    freeze(model)
    evaluation, _ = tour_probe(model, train, val, test, seed=seed)
    return round(evaluation.accuracy, 3)


EXERCISES = [
    {
        "key": "head_params",
        "prompt": "The tour gives EfficientNet-Lite0 a head for 10 classes. Predict how many parameters a "
                  "head for 5 classes has (the backbone ends in 1,280 features), then load "
                  "`tlw.load_model('efficientnet_lite0', num_classes=5)` and count "
                  "`sum(p.numel() for p in model.head.parameters())`. Pass that number.",
        "solution": lambda: head_params(5),
        "hint": "a linear head has one weight per (feature, class) pair plus one bias per class",
        "explain": "1,280 features x 5 classes + 5 biases: the head is tiny beside the backbone's 3.4 million.",
        "wrong": 12810,
    },
    {
        "key": "unfreeze_last",
        "prompt": "After `tlw.freeze(target_model)` only the head trains. Predict whether unfreezing the last "
                  "group of the backbone (`tlw.unfreeze(target_model, [groups[-2]])` with "
                  "`groups = list(tlw.trainable_table(target_model)['group'])`) adds more or fewer "
                  "parameters than the head has, then run it and pass `count_parameters(target_model)[0]` "
                  "(from tlworkbench.freezing): the number of trainable parameters.",
        "solution": lambda: trainable_after_unfreezing(1),
        "hint": "the 'trainable' column of tlw.trainable_table(target_model) after unfreezing, summed",
        "explain": "The last group of the backbone holds far more parameters than the head: fine-tuning "
                   "even one group multiplies what trains.",
        "wrong": 12810,
    },
    {
        "key": "fewer_labels",
        "prompt": "The tour's probe used 20 labels per class. Predict its test accuracy with 5 labels per class "
                  "(4 to train, 1 to validate), then run "
                  "`probe_accuracy(5)` from tlworkbench.experiments.exercises_tour and pass the accuracy "
                  "(a fraction, e.g. 0.6).",
        "solution": lambda: probe_accuracy(5),
        "tolerance": 0.005,
        "hint": "the accuracy printed by probe_accuracy(5); compare it with the probe row of the summary",
        "explain": lambda right: (f"Against {probe_accuracy(20):.3f} with 20 labels per class on the same seed, "
                                  "and chance at 0.100: what the frozen ImageNet features give at each budget is "
                                  "what notebook 01 measures over seeds."),
        "wrong": 0.795,
    },
]
