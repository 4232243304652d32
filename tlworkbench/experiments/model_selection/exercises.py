"""Exercises of notebook 05, model selection: what one swap costs Kendall's τ, and which source
LogME prefers before any training.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds.
"""

from __future__ import annotations

import functools

import numpy as np

from ...data import load_dataset, subsample
from ...diagnostics import logme
from ...features import extract_features
from ...selection import Candidate
from ...zoo import load_model
from .core import missing_candidates
from .ranking import kendall_tau_b

__all__ = ["EXERCISES", "tau_after_swap", "unrelated_source", "logme_scores", "logme_choice"]

#: The unrelated sources, in order of preference: clothes, or animal silhouettes where the Debian
#: package of Fashion-MNIST is not installed.
UNRELATED = ("fashion_mnist", "animal_mnist")


def tau_after_swap(n: int = 6) -> float:
    """Kendall's τ-b (3 places) between a ranking of ``n`` candidates and the same with its top two swapped."""
    truth = np.arange(n, dtype=float)
    score = truth.copy()
    score[[-1, -2]] = score[[-2, -1]]
    return round(float(kendall_tau_b(score, truth)), 3)


def unrelated_source() -> str:
    """The first of :data:`UNRELATED` whose data set is installed."""
    for source in UNRELATED:
        if not missing_candidates([Candidate(source, "small_cnn", f"tlw:{source}")]):
            return source
    return UNRELATED[-1]


def logme_scores(target: str = "mnist", *, per_class: int = 20, seed: int = 0) -> dict[str, float]:
    """LogME of the frozen features of the small CNN pretrained by the workbench on printed digits
    and on :func:`unrelated_source`, on ``per_class`` labelled images per class of ``target`` (no
    training on the target)."""
    return _logme_scores(target, ("font_digits", unrelated_source()), per_class=per_class, seed=seed)


@functools.lru_cache(maxsize=4)
def _logme_scores(target: str, sources: tuple[str, ...], *, per_class: int, seed: int) -> dict[str, float]:
    out = {}
    for source in sources:
        model = load_model("small_cnn", weights=f"tlw:{source}", profile="quick", progress=False)
        data = subsample(load_dataset(target, split="train", transform=model, profile="quick"), per_class=per_class,
                         seed=seed)
        x, y = extract_features(model, data, cache=False, progress=False)
        out[source] = round(float(logme(x.numpy(), y.numpy())), 4)
    return out


def logme_choice() -> str:
    """The source with the larger LogME on MNIST."""
    scores = logme_scores()
    return max(scores, key=scores.get)


EXERCISES = [
    {
        "key": "one_swap",
        "prompt": "A score ranks six candidates exactly as the tuned fine-tune does, except that it swaps the "
                  "best two. Predict Kendall's τ, then compute it with "
                  "`kendall_tau_b(score, truth)` from tlworkbench.experiments.model_selection "
                  "(`truth = [0, 1, 2, 3, 4, 5]`, `score = [0, 1, 2, 3, 5, 4]`) and pass it, rounded to 3 places.",
        "solution": lambda: tau_after_swap(6),
        "tolerance": 0.0005,
        "hint": "τ counts agreeing minus disagreeing pairs over all 15 pairs of six candidates",
        "explain": "One disagreeing pair of 15: (14 - 1) / 15. A τ of .87 can still pick the wrong best model, "
                   "which is why the notebook also asks whether the best by the score is the best by fine-tuning.",
        "wrong": 1.0,
    },
    {
        "key": "logme_choice",
        "prompt": "Before any training on MNIST, which pretrained small CNN does LogME prefer: the one trained on "
                  "printed digits (`'font_digits'`) or on an unrelated source (`unrelated_source()`: clothes, "
                  "`'fashion_mnist'`, or animal silhouettes where that set is not installed)? Predict, then run "
                  "`logme_scores()` from tlworkbench.experiments.model_selection.exercises (20 labels per "
                  "class, frozen features) and pass the name with the larger LogME.",
        "solution": lambda: logme_choice(),
        "hint": "the larger of the two values logme_scores() returns; pass its key, a string",
        "explain": lambda right: (f"LogME {logme_scores()}: the evidence that the frozen features explain the "
                                  f"labels is larger for {right}; compare with the frozen-feature probes of notebook 04's exercises."),
        "wrong": "neither",
    },
]
