"""Data augmentation of training batches with ``torchvision.transforms.v2``.

Augmentation belongs to the path of training batches only: :func:`augmented` returns a view of
an image set whose batches are augmented (each image drawn alone, on the resized uint8 pixels,
before the normalisation), while the set itself, its features in the feature cache, and the
validation and test sets stay as they are. :func:`tlworkbench.training.fit` applies it to the
phases that run the backbone (fine-tuning) and never to a phase that trains a head on cached
features, where an augmented image would never be seen.

Recipes (:data:`AUGMENTATIONS`):

- ``"light"``: a random crop of 70-100% of the area (aspect 3/4-4/3, resized back) and a
  horizontal flip, the quick profile's default (:data:`DEFAULT_AUGMENTATION`): cheap on a CPU
  and safe at 64 px.
- ``"standard"``: the crop from 50% of the area, the flip, a rotation up to 15 degrees and a
  colour jitter (brightness, contrast, saturation 0.3, hue 0.05), the full profile's default.
- ``"none"``: no augmentation.

A horizontal flip or a colour change can change a class (digits, text, left and right hands,
ripe and unripe fruit); pass ``augment=`` your own ``v2.Compose`` then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .._validate import check_choice, param_error
from ..config import Profile, get_profile
from ..errors import DataError
from .containers import ImageDataset

__all__ = ["AUGMENTATIONS", "DEFAULT_AUGMENTATION", "augmentation", "augmented", "AugmentedImages"]

AUGMENTATIONS = ("none", "light", "standard")
#: The recipe ``augment=True`` picks, by profile.
DEFAULT_AUGMENTATION = {"quick": "light", "full": "standard"}


def augmentation(kind: str | bool = True, *, size: int, profile: str | Profile | None = None) -> Callable | None:
    """A ``torchvision.transforms.v2`` pipeline for one ``(C, H, W)`` uint8 image, or ``None``.

    Args:
        kind: one of :data:`AUGMENTATIONS`, ``True`` (the profile's default,
            :data:`DEFAULT_AUGMENTATION`) or ``False`` (none).
        size: the side of the images (the crop is resized back to it).
        profile: the run profile for ``kind=True`` (``None``: ``TLW_PROFILE``).

    Returns:
        The pipeline, or ``None`` for no augmentation.

    Raises:
        UnknownNameError: an unknown ``kind``.
    """
    from torchvision.transforms import v2

    if kind is True:
        kind = DEFAULT_AUGMENTATION.get(get_profile(profile).name, "light")
    elif kind is False:
        kind = "none"
    kind = check_choice(kind, "augment", "augmentation", AUGMENTATIONS)
    if kind == "none":
        return None
    scale = (0.7, 1.0) if kind == "light" else (0.5, 1.0)
    steps: list[Any] = [v2.RandomResizedCrop(size, scale=scale, ratio=(3 / 4, 4 / 3), antialias=True),
                        v2.RandomHorizontalFlip()]
    if kind == "standard":
        steps += [v2.RandomRotation(15), v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05)]
    return v2.Compose(steps)


class AugmentedImages(ImageDataset):
    """An image set whose batches are augmented, image by image, before the normalisation.

    A view: it shares the images and the resized pixels with the set it was made from.
    Randomness comes from torch's global generator (``fit`` seeds it), so a run is repeatable.

    Attributes:
        augment: the per-image pipeline (uint8 ``(C, H, W)`` in, the same out).
    """

    augment: Callable

    def finish(self, pixels: torch.Tensor) -> torch.Tensor:
        """Augment each image of the uint8 batch, then normalise it as the plain set does."""
        if len(pixels):
            pixels = torch.stack([self.augment(p) for p in pixels])
        return super().finish(pixels)


def augmented(dataset: Any, augment: Callable | str | bool | None, *,
              profile: str | Profile | None = None) -> Any:
    """The view of ``dataset`` whose training batches are augmented (``dataset`` itself for none).

    Args:
        dataset: an :class:`~tlworkbench.data.ImageDataset`, read through a model's transform.
        augment: a recipe name (:data:`AUGMENTATIONS`), ``True`` (the profile's default), a
            callable on one uint8 ``(C, H, W)`` image (a ``v2.Compose``), or ``None``/``False``.
        profile: the run profile for ``augment=True``.

    Returns:
        An :class:`AugmentedImages` view, or ``dataset`` when there is nothing to do.

    Raises:
        DataError: augmentation asked for a text set.
        UnknownNameError: an unknown recipe.
        InvalidParameterError: an object that is neither a recipe nor callable.
    """
    if augment is None or augment is False:
        return dataset
    if getattr(dataset, "modality", None) != "image":
        raise DataError("Augmentation here works on image sets; a text set trains without it (pass augment=None).")
    if isinstance(augment, (str, bool)):
        t = dataset.transform
        size = t.size if t is not None else int(dataset.images.shape[-1])
        augment = augmentation(augment, size=size, profile=profile)
        if augment is None:
            return dataset
    elif not callable(augment):
        raise param_error("augment", "augmented", f"one of {AUGMENTATIONS}, True, False, None or a callable",
                          augment)
    view = AugmentedImages(dataset.images, dataset.targets, dataset.classes, name=f"{dataset.name}+augment",
                           domain=dataset.domain, transform=dataset.transform)
    view._resized = dataset._resized
    view._on_device = dataset._on_device
    view.augment = augment
    return view
