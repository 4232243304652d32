"""Exercises of notebook 03, domain mismatch: AdaBN on inverted digits, and which shift is larger.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds, from the source model
the notebook loads (trained once, then read from the cache).
"""

from __future__ import annotations

import copy
import functools

from ...adaptation import adapt_batchnorm
from ...data.domains import load_domain
from ...evaluation import evaluate
from .shift import source_model, shift_vs_drop

__all__ = ["EXERCISES", "adabn_accuracy", "farther_target"]


@functools.lru_cache(maxsize=8)
def adabn_accuracy(target: str = "mnist+invert1", *, source: str = "font_digits", adapt: bool = True) -> float:
    """Test accuracy (3 places) of the ``source`` model on ``target``, after AdaBN on the target's
    unlabelled training images when ``adapt`` (on a copy; the cached model is left as it is)."""
    model = copy.deepcopy(source_model(source, profile="quick", progress=False))
    test = load_domain(target, split="test", transform=model, profile="quick")
    if adapt:
        adapt_batchnorm(model, load_domain(target, split="train", transform=model, profile="quick"), progress=False)
    return round(evaluate(model, test).accuracy, 3)


@functools.lru_cache(maxsize=8)
def shift_pair(a: str = "mnist", b: str = "mnist+colour1", *, source: str = "font_digits") -> dict[str, float]:
    """MMD² between the ``source`` model's features of its own test images and of ``a``'s and ``b``'s."""
    frame = shift_vs_drop(source, [a, b], model=source_model(source, profile="quick", progress=False),
                          max_samples=300, n_permutations=20, profile="quick", progress=False)
    return {row.target: float(row.mmd2) for row in frame.itertuples()}


def farther_target(a: str = "mnist", b: str = "mnist+colour1", *, source: str = "font_digits") -> str:
    """The one of ``a`` and ``b`` whose features lie farther from the source's (larger MMD²)."""
    mmd = shift_pair(a, b, source=source)
    return max(mmd, key=mmd.get)


def _adabn_explain(right: float) -> str:
    before = adabn_accuracy(adapt=False)
    way = "up" if right > before else "down" if right < before else "unchanged"
    return (f"From {before:.3f} without it: {abs(right - before) * 100:.1f} points {way}. AdaBN re-estimates "
            "only the BatchNorm statistics and changes no weight: what the filters themselves read differently "
            "on the target stays as it was.")


def _shift_explain(right: str) -> str:
    mmd = shift_pair()
    return ("MMD² " + ", ".join(f"{k} {v:.3f}" for k, v in mmd.items()) + f": {right} is farther from the "
            "printed digits in the source model's feature space. Compare with the accuracy each loses in the "
            "table above.")


EXERCISES = [
    {
        "key": "adabn_inverted",
        "prompt": "The source model (digits rendered from fonts) reads dark digits on a light ground "
                  "(`mnist+invert1`) badly. Predict its accuracy there after AdaBN (BatchNorm statistics "
                  "re-estimated on the target's unlabelled images), then run "
                  "`adabn_accuracy('mnist+invert1')` from tlworkbench.experiments.domain_mismatch.exercises "
                  "and pass it (`adabn_accuracy('mnist+invert1', adapt=False)` gives it before AdaBN).",
        "solution": lambda: adabn_accuracy("mnist+invert1"),
        "tolerance": 0.002,
        "hint": "the number adabn_accuracy('mnist+invert1') returns (a fraction between 0 and 1)",
        "explain": _adabn_explain,
        "wrong": 0.9,
    },
    {
        "key": "farther_shift",
        "prompt": "Which is farther from the printed digits for the source model: real handwriting "
                  "(`'mnist'`) or the same handwriting in random colours (`'mnist+colour1'`)? Predict, then "
                  "run `shift_pair()` from tlworkbench.experiments.domain_mismatch.exercises (MMD² on 300 "
                  "images each) and pass the name of the farther one.",
        "solution": lambda: farther_target(),
        "judge": lambda answer, right: isinstance(answer, str) and answer.strip().strip("'\"").lower() == right,
        "hint": "the larger of the two MMD² values shift_pair() returns; pass its key, a string",
        "explain": _shift_explain,
        "wrong": "no answer",
    },
]
