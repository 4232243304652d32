"""Exercises of notebook 06: another number of ways per episode, and a zero-shot split of close relatives.

:func:`exercise_specs` writes them for the sets the notebook runs on (:func:`~.targets.choose_targets`);
``EXERCISES`` holds those of kana and Fashion-MNIST.
"""

from __future__ import annotations

from typing import Any

from ...config import Profile, get_profile
from ...few_shot import PrototypeClassifier, episode_accuracies, episode_indices
from .episodes import N_EPISODES, N_QUERY
from .result import run_few_shot_zero_shot
from .targets import Targets, embed_few_shot

__all__ = ["EXERCISES", "OTHER_WAYS", "HARD_SPLITS", "HARD_SPLIT", "exercise_specs", "prototype_accuracy",
           "split_against_chance"]

#: The number of ways the first exercise asks about: ten katakana, or three of the five test animals.
OTHER_WAYS = {"kana": 10, "animal_mnist": 3}
#: Per zero-shot set, a split of the notebook's table whose three unseen classes are close relatives:
#: three upper-body garments, or three furry four-legged mammals.
HARD_SPLITS = {"fashion_mnist": "T-shirt/top, Coat, Shirt", "animal_mnist": "bear, cat, dog"}
HARD_SPLIT = HARD_SPLITS["fashion_mnist"]
_KANA = Targets("kana", "fashion_mnist", "")


def prototype_accuracy(n_way: int = 5, k_shot: int = 1, *, target: str = "kana",
                       profile: str | Profile | None = None) -> float:
    """Mean query accuracy of cosine prototypes on ImageNet features over :data:`N_EPISODES` test
    episodes of the few-shot set ``target`` (for kana, support and queries in different fonts),
    with ``n_way`` classes."""
    data = embed_few_shot(target, get_profile(profile))["test"]
    eps = episode_indices(data["labels"], n_way=n_way, k_shot=k_shot, n_query=N_QUERY, n_episodes=N_EPISODES,
                          seed=2, groups=data["fonts"])
    x = data["imagenet"]
    acc = episode_accuracies(lambda e: PrototypeClassifier("cosine").fit(x[e.support], e.support_y).predict(x[e.query]),
                             eps)
    return round(float(acc.mean()), 3)


def split_against_chance(unseen: str = HARD_SPLIT, *, targets: Targets = _KANA,
                         profile: str | Profile | None = None) -> str:
    """``"higher"`` or ``"lower"``: the unseen-class accuracy of a split of the notebook's run on
    ``targets`` against chance (one in three)."""
    z = run_few_shot_zero_shot(few_shot=targets.few_shot, zero_shot=targets.zero_shot, profile=profile).zero_shot
    row = z[z["unseen"] == unseen]
    if row.empty:
        return "not in the table"
    return "higher" if float(row["unseen_accuracy"].iloc[0]) > float(row["chance"].iloc[0]) else "lower"


_EXPLAIN: dict[str, Any] = {
    "fashion_mnist": "The map can only place an image near a description if the seen classes taught it what "
                     "tells such descriptions apart; for three tops, nothing did.",
    "animal_mnist": lambda right: ("The map can only place an image near a description if the seen classes "
                                   "taught it what tells such descriptions apart; for these three mammals "
                                   + ("the seen animals did not." if right == "lower" else
                                      "the seen animals taught it enough to beat chance.")),
}
#: The answer the tests check is told wrong (the opposite of what the quick profile measured):
#: seen lower for the tops (.197 against chance .333) and for the mammals (.284 against .333).
_WRONG = {"fashion_mnist": "higher", "animal_mnist": "higher"}


def exercise_specs(targets: Targets = _KANA, *, profile: str | Profile | None = None) -> list[dict[str, Any]]:
    """The two exercises for the sets of ``targets``; their solutions call the experiment with the
    notebook's arguments (``profile`` as the notebook passes it), so they read its stored result."""
    ways, hard = OTHER_WAYS[targets.few_shot], HARD_SPLITS[targets.zero_shot]
    test_words = "katakana" if targets.few_shot == "kana" else "test animals"
    more = ways > 5
    relatives = ("three upper-body garments whose descriptions are close to one another and whose seen "
                 "relatives (pullover, dress) are close too" if targets.zero_shot == "fashion_mnist" else
                 "three furry four-legged mammals whose descriptions share words (fur, legs, a tail)")
    chance = f"chance rises from 0.2 to {1 / ways:.2f}" if not more else f"chance falls from 0.2 to {1 / ways:.2f}"
    return [
        {
            "key": "more_ways",
            "prompt": f"The episodes have 5 ways. Predict whether prototypes on ImageNet features get more or less "
                      f"accurate at 1 shot with {ways} ways, and by how much; then run "
                      f"`fs_exercises.prototype_accuracy(n_way={ways}, k_shot=1, target={targets.few_shot!r})` "
                      "and pass the accuracy it returns.",
            "solution": lambda: prototype_accuracy(ways, 1, target=targets.few_shot, profile=profile),
            "hint": f"call prototype_accuracy with n_way={ways} and k_shot=1; the 5-way number is in the summary table",
            "explain": lambda right: (f"{ways} ways on the {test_words} give {right:.3f}, to set beside the 5-way "
                                      f"figure of the summary: each query now has {ways - 1} wrong prototypes to be "
                                      f"confused with, and {chance}."),
            "tolerance": 0.002,
            "wrong": 0.5 if more else 0.2,
        },
        {
            "key": "no_relatives",
            "prompt": f"In the zero-shot table, the split with unseen classes '{hard}' holds {relatives}. Predict "
                      "whether its unseen-class accuracy is higher or lower than chance; check in "
                      "`result.zero_shot` and pass 'higher' or 'lower'.",
            "solution": lambda: split_against_chance(hard, targets=targets, profile=profile),
            "hint": "compare the columns unseen_accuracy and chance of that row of result.zero_shot",
            "explain": _EXPLAIN[targets.zero_shot],
            "wrong": _WRONG[targets.zero_shot],
        },
    ]


EXERCISES = exercise_specs()
