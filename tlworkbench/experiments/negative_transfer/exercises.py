"""Exercises of notebook 04, negative transfer: frozen features from a related source, an
unrelated one and random layers, and the negative-transfer gap computed by hand.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds: a linear probe on the
frozen features of a small CNN (pretrained by the workbench, or left at its random start) for
10 labels per class of the target, on five seeds.
"""

from __future__ import annotations

import functools

import numpy as np

from ...data import load_dataset, subsample
from ...diagnostics import negative_transfer_gap
from ...evaluation import evaluate_features
from ...features import extract_features
from ..feature_extraction.arms import fixed_probe
from ...zoo import load_model
from .grid import ARCH, NO_SOURCE, TARGET, available_sources

__all__ = ["EXERCISES", "SEEDS", "WEIGHT_DECAY", "unrelated_source", "frozen_probe_errors", "better_source",
           "gap_points"]

#: The seeds of the exercises' probes: five pairs, as in the notebook.
SEEDS = (0, 1, 2, 3, 4)
#: The probes' penalty, one for every arm: an exercise keeps to seconds, so nothing is tuned here
#: (the notebook's runs choose theirs on validation).
WEIGHT_DECAY = 1e-3
#: Test images the probes are scored on (the first of the target's test split).
N_TEST = 500


def unrelated_source() -> str:
    """The quick profile's unrelated source: ``fashion_mnist``, or ``animal_mnist`` where the Debian
    package of Fashion-MNIST is not installed (:func:`~.grid.available_sources`)."""
    return available_sources("quick")[-1]


@functools.lru_cache(maxsize=1)
def _target_sets():
    """The target's training pool and first test images, read at the small CNN's input size (every
    source model of the exercises shares it)."""
    model = load_model(ARCH, num_classes=10, weights=None, seed=0)
    pool = load_dataset(TARGET, split="train", transform=model, profile="quick")
    test = load_dataset(TARGET, split="test", transform=model, profile="quick")
    return pool, test.subset(range(min(N_TEST, len(test))), name=f"{test.name}[:{N_TEST}]")


@functools.lru_cache(maxsize=8)
def frozen_probe_errors(source: str, *, per_class: int = 10) -> tuple[float, ...]:
    """Test error of a probe on the frozen features of ``ARCH`` pretrained on ``source`` (or left at
    its random start for ``"none"``), one per seed of :data:`SEEDS`, on ``per_class`` target labels
    per class, the penalty fixed at :data:`WEIGHT_DECAY` for every source alike."""
    if source == NO_SOURCE:
        model = load_model(ARCH, num_classes=10, weights=None, seed=0)
    else:
        model = load_model(ARCH, weights=f"tlw:{source}", profile="quick", progress=False)
    pool, test = _target_sets()
    test_xy = extract_features(model, test, cache=False, progress=False)
    errors = []
    for seed in SEEDS:
        x, y = extract_features(model, subsample(pool, per_class=per_class, seed=seed), cache=False, progress=False)
        probe = fixed_probe(x, y, weight_decay=WEIGHT_DECAY, num_classes=len(pool.classes), seed=seed)
        errors.append(round(1 - evaluate_features(probe, *test_xy, classes=test.classes).accuracy, 4))
    return tuple(errors)


def better_source(a: str = "font_digits", b: str | None = None) -> str:
    """The source whose frozen features give the lower mean test error (``b``: :func:`unrelated_source`)."""
    b = unrelated_source() if b is None else b
    return a if np.mean(frozen_probe_errors(a)) <= np.mean(frozen_probe_errors(b)) else b


def gap_points(source: str | None = None) -> float:
    """NTG in points: the probe's error on ``source``'s frozen features (default: :func:`unrelated_source`)
    minus on random layers', paired by seed."""
    source = unrelated_source() if source is None else source
    return round(100 * negative_transfer_gap(frozen_probe_errors(source), frozen_probe_errors(NO_SOURCE)).gap, 1)


def _source_explain(right: str) -> str:
    means = {s: 1 - np.mean(frozen_probe_errors(s)) for s in ("font_digits", unrelated_source(), NO_SOURCE)}
    return ("Mean accuracy over 5 seeds: " + ", ".join(f"{s} {v:.3f}" for s, v in means.items())
            + f". {right} is the better start" + (": features learned on a related task transfer."
                                                   if right == "font_digits" else ", though its task is unrelated."))


def _gap_explain(right: float) -> str:
    gap = negative_transfer_gap(frozen_probe_errors(unrelated_source()), frozen_probe_errors(NO_SOURCE))
    return (f"{gap.significant}: the 95% interval is [{100 * gap.low:+.1f}, {100 * gap.high:+.1f}] points, "
            f"n = {gap.n_transfer} seeds. A positive gap means the source hurt against random layers; an "
            "interval that covers 0 decides nothing.")


EXERCISES = [
    {
        "key": "better_source",
        "prompt": "A linear probe on the frozen features of the small CNN, 10 MNIST labels per class. Predict "
                  "which pretraining gives the better features: digits rendered from fonts (`'font_digits'`) "
                  "or the unrelated source (`unrelated_source()`: clothes, `'fashion_mnist'`, or animal "
                  "silhouettes, `'animal_mnist'`, where Fashion-MNIST is not installed), then run "
                  "`frozen_probe_errors(source)` from tlworkbench.experiments.negative_transfer.exercises for "
                  "both (test errors on 5 seeds) and pass the name with the lower mean error.",
        "solution": lambda: better_source(),
        "hint": "the mean of each list of errors; pass the source's name as a string",
        "explain": _source_explain,
        "wrong": "none",
    },
    {
        "key": "gap_by_hand",
        "prompt": "Compute the negative-transfer gap of the unrelated source against random layers: "
                  "`tlw.diagnostics.negative_transfer_gap(frozen_probe_errors(unrelated_source()), "
                  "frozen_probe_errors('none'))`. Predict its sign first. Pass `gap` in points "
                  "(100 x gap), rounded to one decimal.",
        "solution": lambda: gap_points(),
        "tolerance": 0.051,
        "hint": "NTG = error with the source minus error without it; multiply the gap by 100",
        "explain": _gap_explain,
        "wrong": 0.0,
    },
]
