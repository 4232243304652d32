"""Exercises of notebook 10, your own data: how far each augmentation recipe moves a batch, and
which test items the kept model never gets right.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds (the second reads the
notebook's memoized experiment).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..data.augment import augmented
from ..data.emoji import write_emoji_folder
from ..zoo import load_model
from .own_data import load_own_data, run_own_data

__all__ = ["EXERCISES", "batch_change", "more_or_less", "items_always_wrong"]

#: Training images per measured batch.
N_BATCH = 64


@functools.lru_cache(maxsize=4)
def batch_change(recipe: str, *, seed: int = 0) -> float:
    """Mean absolute change (in normalised units, 3 places) that ``recipe`` makes to the first
    :data:`N_BATCH` training images of the emoji set, read at 64 px by EfficientNet-Lite0."""
    train, _, _, _ = load_own_data(write_emoji_folder(profile="quick"), profile="quick")
    data = train.with_transform(load_model("efficientnet_lite0", image_size=64).transforms)
    idx = torch.arange(min(N_BATCH, len(data)))
    plain, _ = data.get_batch(idx)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        changed, _ = augmented(data, recipe).get_batch(idx)
    return round(float((changed - plain).abs().mean()), 3)


def more_or_less() -> str:
    """``"more"`` when ``"standard"`` changes a batch more than ``"light"`` does, else ``"less"``."""
    return "more" if batch_change("standard") > batch_change("light") else "less"


def items_always_wrong(result: object | None = None) -> int:
    """Test items (emoji) whose every view the kept model of notebook 10 gets wrong."""
    result = result if result is not None else run_own_data(profile="quick")
    files = result.audit["files"]  # type: ignore[attr-defined]
    items = files[files["readable"] & (files["split"] == "test")]["item"].to_numpy()
    ev = result.evaluations[result.kept]  # type: ignore[attr-defined]
    right = ev.y_pred == ev.y_true
    return int(sum(not right[items == item].any() for item in np.unique(items)))


EXERCISES = [
    {
        "key": "standard_augmentation",
        "prompt": "The fine-tune used the quick profile's 'light' recipe (crops of 70-100% and flips). Predict "
                  "whether the full profile's 'standard' recipe (crops from 50%, rotations, colour jitter) "
                  "changes a training batch more or less, then run `batch_change('light')` and "
                  "`batch_change('standard')` and pass 'more' or 'less'.",
        "solution": more_or_less,
        "hint": "compare the two numbers batch_change returns: the mean change of each pixel",
        "explain": lambda right: (f"'light' moves a pixel by {batch_change('light'):.3f} on average, 'standard' by "
                                  f"{batch_change('standard'):.3f}. Stronger augmentation is a stronger "
                                  "regulariser: it helps when the model over-fits, and costs when the changes "
                                  "destroy what the class depends on."),
        "wrong": "same",
    },
    {
        "key": "never_right",
        "prompt": "Each test emoji is drawn in several styles. Count the test emoji whose every style the kept "
                  "model gets wrong: group `ev.y_pred == ev.y_true` by the test items of the audit table, "
                  "and pass the number of items with no right answer.",
        "solution": items_always_wrong,
        "hint": "the files table of result.audit, its test rows, in order, give each test image's item",
        "explain": "These emoji look like no training emoji of their class (a new kind of vehicle or fruit): more "
                   "styles of the same emoji would not help, more emoji would.",
        "wrong": 46,
    },
]
