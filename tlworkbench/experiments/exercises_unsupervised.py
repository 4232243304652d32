"""Exercises of notebook 07, unsupervised transfer: asking k-means for the wrong number of
clusters, and what turning a detector's scores around does to its AUROC.

Each entry of :data:`EXERCISES` is a spec read by :func:`tlworkbench.exercises.exercise_sheet`;
its ``solution`` computes the right answer through the package in seconds, on the raw pixels of
the target's test images.
"""

from __future__ import annotations

import functools

import numpy as np

from ..data import load_dataset
from ..unsupervised import EmbeddingAnomalyScorer, auroc, cluster_scores
from .unsupervised import NOVEL_CLASS, TARGET

__all__ = ["EXERCISES", "pixel_nmi", "pixel_auroc"]

#: Test images the exercises use (the first of the target's test split).
N_IMAGES = 1000


@functools.lru_cache(maxsize=2)
def _pixels() -> tuple[np.ndarray, np.ndarray, list[str]]:
    data = load_dataset(TARGET, split="test", profile="quick")
    x = data.images[:N_IMAGES].reshape(min(N_IMAGES, len(data)), -1).numpy().astype(np.float32) / 255
    return x, data.targets[:N_IMAGES].numpy(), list(data.classes)


@functools.lru_cache(maxsize=8)
def pixel_nmi(n_clusters: int = 5) -> float:
    """NMI (3 places) of k-means with ``n_clusters`` clusters on the target's raw pixels."""
    x, y, _ = _pixels()
    return round(cluster_scores(x, y, n_clusters=n_clusters, seed=0)["nmi"], 3)


@functools.lru_cache(maxsize=4)
def pixel_auroc(flip: bool = True) -> float:
    """AUROC (3 places) of the k-NN detector on raw pixels for the notebook's novel class, fitted
    on the other classes' first half and scoring the second half; ``flip`` negates the scores."""
    x, y, classes = _pixels()
    novel = classes.index(NOVEL_CLASS)
    half = len(y) // 2
    normal = x[:half][y[:half] != novel]
    scores = EmbeddingAnomalyScorer(method="knn", k=5).fit(normal).score(x[half:])
    return round(auroc(-scores if flip else scores, y[half:] == novel), 3)


EXERCISES = [
    {
        "key": "five_clusters",
        "prompt": "k-means was asked for ten clusters, one per animal. Predict what NMI does on the raw pixels "
                  "if you ask for five, then run `pixel_nmi(5)` and `pixel_nmi(10)` from "
                  "tlworkbench.experiments.exercises_unsupervised and pass `pixel_nmi(5)`.",
        "solution": lambda: pixel_nmi(5),
        "tolerance": 0.002,
        "hint": "the number pixel_nmi(5) returns (between 0 and 1)",
        "explain": lambda right: (f"Against {pixel_nmi(10):.3f} with ten clusters. NMI does not require the "
                                  "number of classes, but five clusters must merge animals, and each merged "
                                  "cluster says less about the class."),
        "wrong": 1.0,
    },
    {
        "key": "flipped_scores",
        "prompt": "A detector's AUROC is the chance that a novel image scores above a known one. Predict the "
                  "AUROC if the k-NN scores are negated (the most typical images flagged first), then run "
                  "`pixel_auroc(flip=False)` and `pixel_auroc(flip=True)` and pass the flipped one.",
        "solution": lambda: pixel_auroc(True),
        "tolerance": 0.0015,
        "hint": "AUROC(-s) = 1 - AUROC(s) when no two scores tie",
        "explain": lambda right: (f"1 - {pixel_auroc(False):.3f}: the same ranking read backwards. An AUROC below "
                                  "0.5 is a detector pointing the wrong way, as some classes do in the per-class "
                                  "table above."),
        "wrong": 0.5,
    },
]
