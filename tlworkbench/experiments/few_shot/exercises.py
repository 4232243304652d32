"""Exercises of notebook 06: more ways per episode, and a zero-shot split without relatives."""

from __future__ import annotations

import numpy as np

from ...config import Profile, get_profile
from ...few_shot import PrototypeClassifier, episode_accuracies, episode_indices
from .episodes import N_EPISODES, N_QUERY, embed_kana
from .result import run_few_shot_zero_shot

__all__ = ["EXERCISES", "prototype_accuracy", "split_against_chance", "HARD_SPLIT"]

#: The split of the zero-shot table whose three unseen classes are all worn on the upper body.
HARD_SPLIT = "T-shirt/top, Coat, Shirt"


def prototype_accuracy(n_way: int = 5, k_shot: int = 1, *, profile: str | Profile | None = None) -> float:
    """Mean query accuracy of cosine prototypes on ImageNet features over :data:`N_EPISODES`
    katakana test episodes (support and queries in different fonts), with ``n_way`` classes."""
    data = embed_kana(get_profile(profile))["test"]
    eps = episode_indices(data["labels"], n_way=n_way, k_shot=k_shot, n_query=N_QUERY, n_episodes=N_EPISODES,
                          seed=2, groups=data["fonts"])
    x = data["imagenet"]
    acc = episode_accuracies(lambda e: PrototypeClassifier("cosine").fit(x[e.support], e.support_y).predict(x[e.query]),
                             eps)
    return round(float(acc.mean()), 3)


def split_against_chance(unseen: str = HARD_SPLIT, *, profile: str | Profile | None = None) -> str:
    """``"higher"`` or ``"lower"``: the unseen-class accuracy of a split of the notebook's run
    against chance (one in three)."""
    z = run_few_shot_zero_shot(profile=profile).zero_shot
    row = z[z["unseen"] == unseen]
    if row.empty:
        return "not in the table"
    return "higher" if float(row["unseen_accuracy"].iloc[0]) > float(row["chance"].iloc[0]) else "lower"


EXERCISES = [
    {
        "key": "more_ways",
        "prompt": "The episodes have 5 ways. Predict whether prototypes on ImageNet features get more or less "
                  "accurate at 1 shot with 10 ways, and by how much; then run "
                  "`fs.exercises.prototype_accuracy(n_way=10, k_shot=1)` and pass the accuracy it returns.",
        "solution": lambda: prototype_accuracy(10, 1),
        "hint": "call prototype_accuracy with n_way=10 and k_shot=1; the 5-way number is in the summary table",
        "explain": lambda right: (f"Ten ways give {right:.3f}, to set beside the 5-way figure of the summary: "
                                  "each query now has nine wrong prototypes to be confused with, and chance "
                                  "falls from 0.2 to 0.1."),
        "tolerance": 0.002,
        "wrong": 0.5,
    },
    {
        "key": "no_relatives",
        "prompt": f"In the zero-shot table, the split with unseen classes '{HARD_SPLIT}' holds three upper-body "
                  "garments whose descriptions are close to one another and whose seen relatives (pullover, "
                  "dress) are close too. Predict whether its unseen-class accuracy is higher or lower than "
                  "chance; check in `result.zero_shot` and pass 'higher' or 'lower'.",
        "solution": lambda: split_against_chance(HARD_SPLIT),
        "hint": "compare the columns unseen_accuracy and chance of that row of result.zero_shot",
        "explain": "The map can only place an image near a description if the seen classes taught it what "
                   "tells such descriptions apart; for three tops, nothing did.",
        "wrong": "higher",  # seen lower: .197 against chance .333
    },
]
