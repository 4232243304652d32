"""Exercises of notebook 02, fine-tuning: what ``freeze_to`` leaves trainable, and a learning rate
ten times higher in the loop written by hand.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds. The hand-written loop
of the notebook is the same recipe as :func:`fit_like_the_loop`, which trains through
:func:`tlworkbench.training.fit` (plain SGD, constant learning rate, no step floor, PyTorch's
running BatchNorm statistics), so that both give the same weights.
"""

from __future__ import annotations

import functools

from ...data import load_dataset, subsample
from ...evaluation import evaluate
from ...freezing import count_parameters, freeze_to
from ...training import fit
from ...zoo import TransferModel, load_model
from .recipes import BACKBONE

__all__ = ["EXERCISES", "LOOP", "loop_data", "fit_like_the_loop", "loop_accuracy", "trainable_after_freeze_to"]

#: The hand-written loop's settings in notebook 02: a small CNN from its seeded initialisation on
#: 20 MNIST digits per class, SGD with momentum 0.9 at a constant rate, batches of 32.
LOOP = {"target": "mnist", "per_class": 20, "epochs": 10, "lr": 0.05, "batch_size": 32, "seed": 0}


def loop_data(model: TransferModel, *, per_class: int = LOOP["per_class"], seed: int = LOOP["seed"]):
    """The loop's training images (``per_class`` per class, drawn with ``seed``) and the test split."""
    train = subsample(load_dataset(LOOP["target"], split="train", transform=model, profile="quick"),
                      per_class=per_class, seed=seed)
    return train, load_dataset(LOOP["target"], split="test", transform=model, profile="quick")


def fit_like_the_loop(model: TransferModel, train, *, lr: float = LOOP["lr"], epochs: int = LOOP["epochs"],
                      batch_size: int = LOOP["batch_size"], seed: int = LOOP["seed"]):
    """:func:`~tlworkbench.training.fit` with the hand-written loop's recipe; returns the history."""
    return fit(model, train, strategy="fine_tune", optimizer="sgd", lr=lr, epochs=epochs, batch_size=batch_size,
               schedule=None, min_steps=0, bn_stats="running", seed=seed, progress=False)


@functools.lru_cache(maxsize=16)
def loop_accuracy(lr: float = LOOP["lr"]) -> float:
    """Test accuracy (3 places) of the loop's small CNN trained by :func:`fit_like_the_loop` at ``lr``."""
    model = load_model("small_cnn", num_classes=10, seed=LOOP["seed"])
    train, test = loop_data(model)
    fit_like_the_loop(model, train, lr=lr)
    return round(evaluate(model, test).accuracy, 3)


def trainable_after_freeze_to(n: int) -> int:
    """Trainable parameters of EfficientNet-Lite0 (10 classes) after ``freeze_to(model, n)``."""
    model = load_model(BACKBONE, num_classes=10, image_size=32)
    freeze_to(model, n)
    return count_parameters(model)[0]


def _freeze_to_explain(right: int) -> str:
    total = count_parameters(load_model(BACKBONE, num_classes=10, image_size=32))[1]
    return (f"{right / total:.0%} of the {total:,} parameters train: the first 8 groups (stem to stage7) "
            "are frozen, and `top` and the head train.")


def _lr_explain(right: float) -> str:
    base = loop_accuracy()
    way = "above" if right > base else "below" if right < base else "equal to"
    return (f"{abs(right - base) * 100:.1f} points {way} the {base:.3f} at lr 0.05. A rate too high makes each "
            "step overshoot; the learning-rate range test above shows where the loss starts to climb.")


EXERCISES = [
    {
        "key": "freeze_to",
        "prompt": "`tlw.freeze_to(model, n)` freezes the first n groups. Predict how many parameters still "
                  "train after `tlw.freeze_to(model, 8)` on EfficientNet-Lite0 with 10 classes (look at the "
                  "params column of the trainable table), then run it and pass "
                  "`tlw.count_parameters(model)[0]`.",
        "solution": lambda: trainable_after_freeze_to(8),
        "hint": "the groups are stem, stage1 ... stage7, top, head; freeze_to(model, 8) freezes stem to stage7",
        "explain": _freeze_to_explain,
        "wrong": 12810,
    },
    {
        "key": "rate_too_high",
        "prompt": "The loop written by hand trains at lr 0.05. Predict the test accuracy at lr 0.5 (ten times "
                  "higher, the same ten epochs), then change `lr` in the loop's cell, or run "
                  "`loop_accuracy(0.5)` from tlworkbench.experiments.fine_tuning.exercises, and pass the "
                  "accuracy.",
        "solution": lambda: loop_accuracy(0.5),
        "tolerance": 0.002,
        "hint": "the accuracy of the loop after changing lr = 0.05 to lr = 0.5 (a fraction between 0 and 1)",
        "explain": _lr_explain,
        "wrong": 1.0,
    },
]
