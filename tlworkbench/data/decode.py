"""Decoding image files into uint8 arrays of one size, several files at a time.

One's own folders and torchvision's folder-backed sets (EuroSAT, Oxford-IIIT Pet, Flowers-102)
are decoded once, at load: every image is fitted to a square (the shorter side scaled, the
centre cropped) and kept in memory, so no epoch decodes a file again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "fit_image", "read_image_file", "run_parallel"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def fit_image(img: Any, size: int | None) -> np.ndarray:
    """An RGB array ``(H, W, 3)`` of a PIL image: the shorter side scaled to ``size``, then the centre cropped.

    ``size=None`` keeps the image's own size. The EXIF orientation is applied; 16-bit and float
    grey images are scaled to 0-255 rather than clipped.
    """
    from PIL import Image, ImageOps

    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        a = np.asarray(img, dtype=np.float32)
        a = a / 257.0 if img.mode.startswith("I;16") else a * (255.0 / max(float(a.max()), 1e-12))
        img = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))
    img = ImageOps.exif_transpose(img).convert("RGB")
    if size is not None and img.size != (size, size):
        img = ImageOps.fit(img, (size, size), method=Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def read_image_file(path: Path, size: int | None) -> np.ndarray:
    """Decode one image file with :func:`fit_image`."""
    from PIL import Image

    with Image.open(path) as img:
        if size is not None and img.format == "JPEG":
            img.draft("RGB", (size, size))  # decode JPEGs at a reduced scale when it is enough
        img.load()
        return fit_image(img, size)


def _attempt(job: Callable[[], Any]) -> Any:
    from PIL import Image

    try:
        return job()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        return err  # PIL reports damaged files with all of these


def run_parallel(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run decoding jobs in threads (PIL releases the GIL while decoding and resizing).

    Returns:
        One result per job, in order; a job that failed on a damaged file gives its exception
        instead, so the caller can name the files it skipped.
    """
    workers = min(8, os.cpu_count() or 1)
    if workers == 1 or len(jobs) < 64:
        return [_attempt(job) for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_attempt, jobs))
