"""The data set registry: what each named set is, and loading it by name.

The built-in sets are the cards of :mod:`tlworkbench.data.catalogue`; the registry reads that
table on first use, so importing the package registers nothing. :func:`register_dataset` adds
one's own card beside them. Loaded splits are kept in memory per process (keyed by name, split,
profile, ``TLW_DATA`` and, for generated sets, the seed), so a notebook that loads a set twice
reads its source once.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._validate import check_choice, check_int, check_optional, check_type, param_error
from ..config import Profile, get_profile
from ..errors import InvalidParameterError, UnknownDatasetError
from .containers import ImageDataset, TextDataset
from .sampling import stratified_split

__all__ = ["DatasetCard", "register_dataset", "list_datasets", "missing_datasets", "load_dataset"]


@dataclass(frozen=True)
class DatasetCard:
    """What a data set is and where it comes from.

    Attributes:
        name: the registry name.
        modality: ``"image"``, ``"text"`` or ``"speech"``.
        load: ``load(split, profile, seed)`` returning the whole split, uncapped.
        classes: number of classes.
        domain: the domain label used by domain-shift experiments.
        source: where the data comes from.
        licence: the data's licence.
        install: the command that makes it available.
        available: whether it can be loaded right now.
        size: a short description of its size.
        splits: how train and test are made.
        seeded: whether ``seed`` changes the data itself (rendered sets), not only a subset.
    """

    name: str
    modality: str
    load: Callable[[str, Profile, int], ImageDataset | TextDataset]
    classes: int
    domain: str
    source: str
    licence: str
    install: str
    available: Callable[[], bool]
    size: str
    splits: str
    seeded: bool = False


_DATASETS: OrderedDict[str, DatasetCard] = OrderedDict()
_CACHE: dict[tuple[Any, ...], ImageDataset | TextDataset] = {}


def _registry() -> OrderedDict[str, DatasetCard]:
    """The registered cards, the built-in ones first (read from the catalogue on first use)."""
    if not _DATASETS:
        from .catalogue import builtin_cards

        for card in builtin_cards():
            _DATASETS[card.name] = card
    return _DATASETS


def register_dataset(card: DatasetCard) -> DatasetCard:
    """Add a data set to the registry.

    Args:
        card: the set's card; its ``load(split, profile, seed)`` returns a whole split.

    Returns:
        The card.

    Raises:
        InvalidParameterError: ``card`` is not a DatasetCard, or its name is already taken.
    """
    check_type(card, "card", "register_dataset", DatasetCard, "a DatasetCard")
    registry = _registry()
    if card.name in registry:
        raise param_error("card", "register_dataset", "a card whose name is not taken", card.name,
                          hint="Pick another name (see tlw.list_datasets()).")
    registry[card.name] = card
    return card


def missing_datasets(names: Iterable[str]) -> dict[str, str]:
    """The registered sets among ``names`` that cannot be loaded here, each with the command that
    makes it available; only those cards are checked (:func:`list_datasets` checks every set, some
    slowly). Unknown names are left out."""
    cards = _registry()
    return {n: cards[n].install for n in dict.fromkeys(names) if n in cards and not cards[n].available()}


def list_datasets(modality: str | None = None) -> pd.DataFrame:
    """The registered data sets.

    Args:
        modality: ``"image"``, ``"text"`` or ``"speech"`` to keep only those (``None``: all).

    Returns:
        One row per set: name, modality, classes, size, domain, source, licence, whether it is
        available right now, the command (or files) that make it available when it is not, and
        how its splits are made.

    Raises:
        InvalidParameterError: ``modality`` is not ``"image"``, ``"text"``, ``"speech"`` or ``None``.
    """
    check_choice(modality, "modality", "list_datasets", (None, "image", "text", "speech"), error=InvalidParameterError)
    rows = []
    for c in _registry().values():
        if modality is not None and c.modality != modality:
            continue
        ok = c.available()
        rows.append({"name": c.name, "modality": c.modality, "classes": c.classes, "size": c.size,
                     "domain": c.domain, "source": c.source, "licence": c.licence, "available": ok,
                     "install": "" if ok else c.install, "splits": c.splits})
    return pd.DataFrame(rows)


def load_dataset(name: str, *, split: str = "train", transform: Any = None, profile: str | Profile | None = None,
                 max_size: int | None = None, seed: int = 0) -> ImageDataset | TextDataset:
    """Load a registered data set.

    Args:
        name: a name from :func:`list_datasets`.
        split: ``"train"`` or ``"test"`` (disjoint, fixed by the data set's documented split).
        transform: an ImageTransform, or a model whose ``.transforms`` the data are read through
            (size, channels, normalisation; a text model's tokeniser for a text set).
        profile: caps the size in the quick profile (``max_train``/``max_test``) and decides
            whether torchvision sets may be downloaded.
        max_size: a cap of one's own (a stratified subset, fixed by ``seed``).
        seed: the seed of that subset, and of generated sets (fonts).

    Returns:
        An :class:`~tlworkbench.data.ImageDataset` or :class:`~tlworkbench.data.TextDataset`.

    Raises:
        UnknownDatasetError: the name is not registered (with the closest name).
        MissingAssetError: the package or file behind it is not installed (with the command).
        CorruptFileError: a data file cannot be read.
        InvalidParameterError: an unknown split, a bad ``max_size`` or ``seed``.

    Example:
        >>> train = load_dataset("mnist", split="train", transform=model)   # doctest: +SKIP
    """
    func = "load_dataset"
    registry = _registry()
    check_choice(name, "name", func, registry, error=UnknownDatasetError)
    check_choice(split, "split", func, ("train", "test"), error=InvalidParameterError)
    max_size = check_optional(max_size, check_int, "max_size", func, minimum=1)
    seed = check_int(seed, "seed", func)
    card = registry[name]
    prof = get_profile(profile)
    key = (name, split, seed if card.seeded else 0, prof.name, os.environ.get("TLW_DATA", ""))
    if key not in _CACHE:
        _CACHE[key] = card.load(split, prof, seed)
    ds = _CACHE[key]
    cap = max_size if max_size is not None else (prof.max_train if split == "train" else prof.max_test)
    if cap is not None and len(ds) > cap:
        ds = ds.subset(stratified_split(ds.targets.numpy(), cap, seed=seed))
    return ds.with_transform(transform) if transform is not None else ds
