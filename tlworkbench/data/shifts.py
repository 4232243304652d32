"""Domain shifts by name: controlled changes of an image set that make a new domain.

A shift transforms a uint8 image batch ``(N, C, H, W)`` with a ``strength`` in [0, 1] (0 leaves
the images unchanged) and draws every random choice from the call's ``seed``. Shifts compose with
:class:`Compose` or ``+`` (``Blur(0.5) + Noise(0.3)``), and :func:`make_shift` builds them from
their names (``"blur0.5+noise0.3"``), the same names that label the shifted domains
(``"mnist+blur0.5"``, see :func:`tlworkbench.data.load_domain`). This module is ``tlw.shifts``.

Example:
    >>> import tlworkbench as tlw
    >>> tlw.shifts.make_shift("blur0.5+noise0.3").name
    'blur0.5+noise0.3'
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pandas as pd

from .._validate import check_choice, check_int, check_type, param_error
from ..errors import UnknownNameError
from . import shift_kinds
from .containers import ImageDataset
from .shift_base import Compose, Shift
from .shift_kinds import (
    PHOTOS,
    Background,
    Blur,
    Colour,
    Elastic,
    Invert,
    Noise,
    Resolution,
    Rotation,
    Thickness,
)

__all__ = ["Shift", "Compose", *shift_kinds.__all__, "SHIFT_KINDS", "make_shift", "list_shifts", "shift_dataset"]

SHIFT_KINDS: dict[str, Any] = {
    "lowres": Resolution,
    "thick": Thickness,
    "thin": functools.partial(Thickness, thinner=True),
    "invert": Invert,
    "colour": Colour,
    "background": Background,
    "noise": Noise,
    "blur": Blur,
    "rotate": Rotation,
    "elastic": Elastic,
}

_WHAT = {
    "lowres": "down- then up-sampled (to 15% of the side at strength 1)",
    "thick": "strokes dilated (by a 14th of the side at strength 1)",
    "thin": "strokes eroded (by a 28th of the side at strength 1)",
    "invert": "blended towards the negative",
    "colour": "a random bright colour on a random dark one (3 channels)",
    "background": "MNIST-M: |image - patch of a real photo| (3 channels)",
    "noise": "Gaussian noise (sigma 100 grey levels at strength 1)",
    "blur": "Gaussian blur (sigma 8% of the side at strength 1)",
    "rotate": "rotated by up to 90 degrees, either way",
    "elastic": "elastic distortion (RMS displacement 6% of the side at strength 1)",
}

_PART = re.compile(r"^([a-z_]+?)(\d+(?:\.\d*)?|\.\d+)?$")


def make_shift(spec: str | Shift | Compose) -> Shift | Compose:
    """A shift from its name: ``"blur"`` (strength 1), ``"blur0.5"``, ``"blur0.5+noise0.3"``.

    Args:
        spec: a name as in :func:`list_shifts`, with an optional strength, several joined by
            ``+``; a Shift or Compose is returned as it is.

    Raises:
        UnknownNameError: an unknown kind (with the closest one).
        InvalidParameterError: a strength outside [0, 1], or a name that cannot be parsed.

    Example:
        >>> make_shift("blur0.5+noise0.3").name
        'blur0.5+noise0.3'
    """
    if isinstance(spec, (Shift, Compose)):
        return spec
    func = "make_shift"
    if not isinstance(spec, str) or not spec.strip():
        raise param_error("spec", func, "a shift name such as 'blur0.5', a Shift or a Compose", spec)
    parts = []
    for part in spec.strip().lower().split("+"):
        m = _PART.match(part.strip())
        if m is None:
            raise param_error("spec", func, "kinds with optional strengths joined by '+', as 'blur0.5+noise0.3'",
                              spec, hint=f"{part!r} cannot be read. Kinds: {list(SHIFT_KINDS)}.")
        kind, strength = m.group(1), m.group(2)
        check_choice(kind, "spec", func, SHIFT_KINDS, error=UnknownNameError, what="made of the shift kinds")
        parts.append(SHIFT_KINDS[kind](float(strength)) if strength is not None else SHIFT_KINDS[kind]())
    return parts[0] if len(parts) == 1 else Compose(parts)


def list_shifts() -> pd.DataFrame:
    """The shift kinds: name, class and what strength 1 does."""
    rows = []
    for kind, cls in SHIFT_KINDS.items():
        cls = getattr(cls, "func", cls)
        rows.append({"kind": kind, "class": cls.__name__, "what": _WHAT[kind]})
    return pd.DataFrame(rows)


def shift_dataset(dataset: ImageDataset, shift: str | Shift | Compose, *, seed: int = 0) -> ImageDataset:
    """A shifted copy of an image set: a new domain with the same labels and classes.

    Args:
        dataset: the set to shift (its transform is kept).
        shift: a Shift, a Compose, or a name for :func:`make_shift`.
        seed: the seed of the shift's random choices.

    Returns:
        An :class:`~tlworkbench.data.ImageDataset` named like ``"mnist+blur0.5:train"`` with
        domain ``"mnist+blur0.5"``.

    Raises:
        InvalidParameterError: ``dataset`` is not an ImageDataset, or ``seed`` is not an int.

    Example:
        >>> target = shift_dataset(load_dataset("mnist", split="test"), "blur0.5")   # doctest: +SKIP
    """
    check_type(dataset, "dataset", "shift_dataset", ImageDataset, "an ImageDataset")
    seed = check_int(seed, "seed", "shift_dataset")
    shift = make_shift(shift)
    base, sep, split = dataset.name.partition(":")
    return ImageDataset(shift(dataset.images, seed=seed), dataset.targets.clone(), dataset.classes,
                        name=f"{base}+{shift.name}{sep}{split}", domain=f"{dataset.domain}+{shift.name}",
                        transform=dataset.transform)
