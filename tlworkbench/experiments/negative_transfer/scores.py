"""What notebook 04 measures before any training on the target, and the sources ranked by harm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..._validate import check_int, check_optional, check_sequence, check_type
from ...config import Profile, get_profile, limit_threads, resolve_progress
from ...data import load_dataset, shared_images, subsample
from ...data.overlap import grey_images
from ...diagnostics import h_score, leep, logme, proxy_a_distance
from ...features import extract_features
from ...sources import pretrain_source
from ...zoo import load_model
from ...zoo.weights import read_card
from .gaps import COMPARISONS
from .grid import ARCH, NO_SOURCE, TARGET, grid_settings

__all__ = ["RELATEDNESS", "pre_training_scores", "source_overlap", "source_ranking"]

#: What each source has in common with an MNIST target, for tables and the conclusion.
RELATEDNESS = {
    "font_digits": "same classes, other domain (printed digits)",
    "opencv_digits": "the target's own digits, redrawn at 20 px (not a fair source)",
    "fashion_mnist": "unrelated classes and images (clothes)",
    "animal_mnist": "unrelated classes and images (animal silhouettes)",
    "mnist:random": "the target's own images, shuffled labels",
    "font_digits:random": "printed digits, shuffled labels",
}


def _source_images(source: str, per_class: int, *, transform: Any, prof: Profile, seed: int) -> torch.Tensor:
    name = source.partition(":")[0]
    data = load_dataset(name, split="train", transform=transform, profile=prof)
    part = subsample(data, per_class=min(per_class, int(data.class_counts().min())), seed=seed)
    return part.get_batch(torch.arange(len(part)))[0].flatten(1)


def pre_training_scores(target: str = TARGET, *, sources: Sequence[str] | None = None, per_class: int | None = None,
                        seed: int = 0, threads: int | None = 1, profile: str | Profile | None = None,
                        progress: bool | None = None) -> pd.DataFrame:
    """What can be measured before any training on the target, per source.

    On ``per_class`` labelled target examples per class (default: the profile's largest
    budget), each source model, with its own head and frozen, gives LEEP (how well its source-class
    predictions explain the target labels), LogME and H-score (how well its frozen features
    separate the target classes); ``pixel_distance`` is the proxy A-distance between the source's
    and the target's images, pixel by pixel (0: indistinguishable, 2: perfectly separable).
    Larger is better for LEEP, LogME and H-score.

    Args:
        target: the target data set.
        sources: workbench source keys (default: the profile's).
        per_class: labelled target examples per class the scores see.
        seed: seed of the draw of target and source examples.
        threads: torch and BLAS threads while scoring (:func:`~tlworkbench.config.limit_threads`).
        profile: run profile.
        progress: a progress bar while a source model is first trained; ``None``: on in Jupyter only.

    Returns:
        One row per source: ``source``, ``relatedness``, ``leep``, ``logme``, ``h_score``,
        ``pixel_distance``, ``source_accuracy`` (on the source's own test split, from the card).
    """
    func = "pre_training_scores"
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    settings = grid_settings(prof)
    sources = check_sequence(settings["sources"] if sources is None else sources, "sources", func, check_type, str,
                             "a data set name")
    per_class = check_optional(per_class, check_int, "per_class", func, minimum=1)
    per_class = max(settings["budgets"]) if per_class is None else per_class
    seed = check_int(seed, "seed", func, minimum=0)
    rows = []
    with limit_threads(threads):
        base = load_model(ARCH, num_classes=2, weights=None)
        train = load_dataset(target, split="train", transform=base, profile=prof)
        part = subsample(train, per_class=per_class, seed=seed)
        target_pixels = part.get_batch(torch.arange(len(part)))[0].flatten(1)
        for source in sources:
            model = load_model(ARCH, weights=f"tlw:{source}", profile=prof, progress=progress)
            feats, labels = extract_features(model, part, cache=False, progress=False)
            f, y = feats.numpy().astype(np.float64), labels.numpy()
            with torch.no_grad():
                probs = model.head(feats).softmax(dim=1).numpy().astype(np.float64)
            # another draw than the target's, so a source of the target's own images is a fair two-sample case
            pixels = _source_images(source, per_class, transform=base, prof=prof, seed=seed + 1)
            card = read_card(pretrain_source(ARCH, source, profile=prof, progress=False))
            rows.append({"source": source, "relatedness": RELATEDNESS.get(source, ""),
                         "leep": leep(probs, y), "logme": logme(f, y), "h_score": h_score(f, y),
                         "pixel_distance": proxy_a_distance(pixels.numpy(), target_pixels.numpy(), seed=seed),
                         "source_accuracy": card.get("source_accuracy")})
    return pd.DataFrame(rows)


def source_overlap(target: str = TARGET, *, sources: Sequence[str] | None = None,
                   profile: str | Profile | None = None) -> pd.DataFrame:
    """How many of the target's images each source model saw, exact or redrawn at another size.

    A source model sees its data set's training split (trained on it) and its test split (its
    best epoch is chosen there), so both are compared with the target's training and test splits
    by :func:`~tlworkbench.data.shared_images` (exact digests at a common size, and copies
    redrawn at another size, such as OpenCV's 20 px digits of MNIST's images).

    Args:
        target: the target data set.
        sources: workbench source keys (default: the profile's).
        profile: run profile (decides the splits' sizes).

    Returns:
        One row per source: ``source``, ``source_images`` (train and test), ``in_target_train``
        and ``in_target_test`` (target images that also occur in the source's data).
    """
    func = "source_overlap"
    prof = get_profile(profile)
    sources = check_sequence(grid_settings(prof)["sources"] if sources is None else sources, "sources", func,
                             check_type, str, "a data set name")
    seen = {split: load_dataset(target, split=split, profile=prof) for split in ("train", "test")}
    rows = []
    for source in sources:
        name = source.partition(":")[0]
        own = np.concatenate([grey_images(load_dataset(name, split=split, profile=prof)) for split in ("train", "test")])
        rows.append({"source": source, "source_images": len(own),
                     **{f"in_target_{split}": shared_images(data, own)["shared"] for split, data in seen.items()}})
    return pd.DataFrame(rows)


def source_ranking(gap_frame: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Sources from least to most harmful, next to what was measured before training.

    Harm is the mean NTG against the no-source twin over every budget and depth of the grid
    (what the source itself did); ``ntg_vs_scratch`` is the mean against the scratch network;
    ``ntg_fine_tune_all`` and ``ntg_head_only`` are the twin gaps at the shallowest and deepest
    depth. The ``*_rank`` columns rank each pre-training score from best (1) to worst (for
    ``pixel_distance``: nearest first).

    Returns:
        One row per source, sorted by ``mean_ntg`` (most harmful last).
    """
    twin = gap_frame[(gap_frame["comparison"] == COMPARISONS[0]) & (gap_frame["source"] != NO_SOURCE)]
    scratch = gap_frame[(gap_frame["comparison"] == COMPARISONS[1]) & (gap_frame["source"] != NO_SOURCE)]
    deepest, shallowest = twin["depth"].max(), twin["depth"].min()
    harm = twin.groupby("source").agg(mean_ntg=("ntg", "mean"), worst_ntg=("ntg", "max"))
    harm["ntg_vs_scratch"] = scratch.groupby("source")["ntg"].mean()
    harm["ntg_fine_tune_all"] = twin[twin["depth"] == shallowest].groupby("source")["ntg"].mean()
    harm["ntg_head_only"] = twin[twin["depth"] == deepest].groupby("source")["ntg"].mean()
    out = scores.set_index("source").join(harm, how="inner")
    for col in ("leep", "logme", "h_score"):
        out[f"{col}_rank"] = out[col].rank(ascending=False, method="min").astype(int)
    out["pixel_distance_rank"] = out["pixel_distance"].rank(ascending=True, method="min").astype(int)
    return out.sort_values("mean_ntg").reset_index()
