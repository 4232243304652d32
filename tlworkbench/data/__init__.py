"""Data sets: containers, the loader, the registry of named sets, splits and budgets, one's own
folders, domain shifts and named domains.

Where images and texts come from:

- offline sources that install from the package registries (:mod:`~tlworkbench.data.offline`:
  ``mnist``, ``fashion_mnist``, ``animal_mnist``, ``opencv_digits``, ``sklearn_digits``,
  ``font_digits``, ``font_letters``, ``faces``, ``fortunes``): nothing is downloaded;
- torchvision's sets (:mod:`~tlworkbench.data.torchvision_sets`), read from
  ``TLW_DATA/torchvision`` and downloaded there only in the full profile when online;
- one's own data (:mod:`~tlworkbench.data.folders`): :func:`load_image_folder`,
  :func:`load_text_csv` and :func:`load_text_folder`.

Every named set is listed by :func:`list_datasets` and loaded by :func:`load_dataset`. Domain
shifts are in :mod:`~tlworkbench.data.shifts` (``tlw.shifts``); :func:`load_domain` turns a
domain name such as ``"mnist+blur0.5"`` into images.

Example:
    >>> import tlworkbench as tlw
    >>> train = tlw.load_dataset("mnist", split="train")              # doctest: +SKIP
    >>> few = tlw.subsample(train, per_class=10, seed=0)              # doctest: +SKIP
"""

from . import shifts
from .containers import ImageDataset, TextDataset
from .decode import IMAGE_SUFFIXES
from .domains import DOMAIN_PAIRS, DomainPair, domain_pairs, load_domain, load_pair
from .folders import load_image_folder, load_text_csv, load_text_folder
from .loader import BatchLoader
from .offline import DIGITS, read_idx, render_glyphs
from .registry import DatasetCard, list_datasets, load_dataset, missing_datasets, register_dataset
from .overlap import shared_images
from .sampling import few_shot_episodes, image_keys, split_indices, stratified_split, subsample, validation_split
from .torchvision_sets import TORCHVISION_IMAGE_SIZE, torchvision_root

__all__ = [
    "ImageDataset",
    "TextDataset",
    "BatchLoader",
    "DatasetCard",
    "register_dataset",
    "list_datasets",
    "missing_datasets",
    "load_dataset",
    "stratified_split",
    "subsample",
    "shared_images",
    "few_shot_episodes",
    "split_indices",
    "image_keys",
    "DIGITS",
    "read_idx",
    "render_glyphs",
    "torchvision_root",
    "TORCHVISION_IMAGE_SIZE",
    "IMAGE_SUFFIXES",
    "load_image_folder",
    "load_text_csv",
    "load_text_folder",
    "shifts",
    "DomainPair",
    "DOMAIN_PAIRS",
    "domain_pairs",
    "load_domain",
    "load_pair",
]
