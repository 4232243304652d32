"""Domains by name, and named source -> target pairs for domain-mismatch experiments.

A domain is a registered image set, optionally shifted: ``"mnist"``, ``"mnist+blur0.5"``,
``"mnist+noise0.2+rotate0.3"``. :func:`load_domain` is the one way a domain name becomes images:
the set is loaded as :func:`~tlworkbench.data.load_dataset` gives it (its fixed split and the
profile's size cap), and the shift is drawn from ``2 * seed`` for the train split and
``2 * seed + 1`` for the test split, so train and test images of a shifted domain get different
draws while one name and seed always give the same images, as a source or as a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._validate import check_int, check_type, param_error
from ..config import Profile
from ..errors import DataError, UnknownDatasetError, did_you_mean
from .containers import ImageDataset
from . import shifts
from .registry import list_datasets, load_dataset

__all__ = ["DomainPair", "DOMAIN_PAIRS", "domain_pairs", "load_domain", "load_pair"]


@dataclass(frozen=True)
class DomainPair:
    """A source and a target for domain-mismatch experiments.

    Attributes:
        name: ``"<source>-><target>"``.
        source: a domain name (a data set, optionally with a shift: ``"mnist+blur0.5"``).
        target: likewise.
        description: what differs between the two.
    """

    name: str
    source: str
    target: str
    description: str


def _pair(source: str, target: str, description: str, name: str | None = None) -> DomainPair:
    return DomainPair(name or f"{source}->{target}", source, target, description)


DOMAIN_PAIRS: dict[str, DomainPair] = {p.name: p for p in [
    _pair("font_digits", "mnist", "printed digits in 15 typefaces -> handwriting (as SynDigits -> MNIST)"),
    _pair("mnist", "sklearn_digits", "28 px handwriting -> 8x8 scans with 17 grey levels"),
    _pair("mnist", "opencv_digits", "the same MNIST digits cut to 20 px in another framing: resolution and framing only"),
    _pair("sklearn_digits", "mnist", "8x8 coarse scans -> 28 px handwriting"),
    _pair("mnist", "mnist+blur0.5", "the same digits out of focus", "mnist->mnist+blur"),
    _pair("mnist", "mnist+invert1", "dark digits on a light ground", "mnist->mnist+invert"),
    _pair("mnist", "mnist+colour1", "digits in random colours", "mnist->mnist+colour"),
    _pair("mnist", "mnist+background1", "digits blended with photo patches (MNIST-M)", "mnist->mnist+background"),
    _pair("mnist", "mnist+noise0.5", "digits under Gaussian noise", "mnist->mnist+noise"),
    _pair("mnist", "mnist+lowres0.7", "digits through a 9 px thumbnail", "mnist->mnist+lowres"),
    _pair("mnist", "mnist+thick1", "thicker strokes", "mnist->mnist+thick"),
    _pair("mnist", "mnist+rotate0.5", "digits turned by 45 degrees", "mnist->mnist+rotate"),
    _pair("mnist", "mnist+elastic1", "elastically distorted digits", "mnist->mnist+elastic"),
    _pair("tv_mnist", "usps", "MNIST -> USPS postal digits (full profile: torchvision download)"),
    _pair("svhn", "tv_mnist", "house-number photos -> handwriting (full profile: torchvision download)"),
]}


def domain_pairs() -> pd.DataFrame:
    """The named source -> target pairs.

    Returns:
        One row per pair: name, source, target, description, and whether both sets are
        available right now (offline packages installed, or torchvision files in place).
    """
    table = list_datasets()
    avail = dict(zip(table["name"], table["available"]))
    rows = []
    for p in DOMAIN_PAIRS.values():
        bases = [p.source.partition("+")[0], p.target.partition("+")[0]]
        rows.append({"name": p.name, "source": p.source, "target": p.target, "description": p.description,
                     "available": all(avail.get(b, False) for b in bases)})
    return pd.DataFrame(rows)


def load_domain(spec: str, *, split: str = "test", transform: Any = None,
                profile: str | Profile | None = None, seed: int = 0) -> ImageDataset:
    """A domain by name: a registered image set, optionally shifted (``"mnist+blur0.5"``).

    Args:
        spec: ``"<data set>"`` or ``"<data set>+<shift>"`` (see
            :func:`tlworkbench.data.shifts.make_shift`).
        split: ``"train"`` or ``"test"``.
        transform: a model or ImageTransform the images are read through.
        profile: run profile (caps sizes in the quick profile).
        seed: the seed of the shift's random draws (``2 * seed`` for train, ``2 * seed + 1`` for
            test); the set itself is the one :func:`~tlworkbench.data.load_dataset` gives with
            its default seed.

    Returns:
        An :class:`~tlworkbench.data.ImageDataset` whose domain is ``spec``'s label
        (``"mnist+blur0.5"``).

    Raises:
        InvalidParameterError: ``spec`` is not a non-empty str, a bad ``split`` or ``seed``.
        UnknownDatasetError, UnknownNameError: an unknown data set or shift (with the closest name).
        DataError: the set holds texts, not images.

    Example:
        >>> blurred = load_domain("mnist+blur0.5", split="test")          # doctest: +SKIP
    """
    func = "load_domain"
    check_type(spec, "spec", func, str, "a domain name such as 'mnist+blur0.5'")
    if not spec.strip():
        raise param_error("spec", func, "a domain name such as 'mnist+blur0.5'", spec)
    seed = check_int(seed, "seed", func)
    base, _, shift_name = spec.partition("+")
    shift = shifts.make_shift(shift_name) if shift_name else None
    data = load_dataset(base, split=split, profile=profile)
    if not isinstance(data, ImageDataset):
        raise DataError(f"A domain is made of images; {base!r} holds {data.modality}s.")
    if shift is not None:
        data = shifts.shift_dataset(data, shift, seed=2 * seed + (1 if split == "test" else 0))
    return data.with_transform(transform) if transform is not None else data


def load_pair(name: str, *, profile: str | Profile | None = None, seed: int = 0,
              transform: Any = None) -> tuple[ImageDataset, ImageDataset, ImageDataset, ImageDataset]:
    """Load a source -> target pair as ``(source_train, source_test, target_train, target_test)``.

    Each side is :func:`load_domain` of its name, so a domain gives the same images here as
    anywhere else.

    Args:
        name: a name from :func:`domain_pairs`, or any ``"<domain>-><domain>"`` of registered
            image sets with the same classes (``"mnist->fashion_mnist"`` is refused).
        profile: the run profile (caps sizes in the quick profile).
        seed: the seed of the shifts (see :func:`load_domain`).
        transform: an ImageTransform or a model; all four sets are read through it.

    Returns:
        Four :class:`~tlworkbench.data.ImageDataset` objects; a shifted side's domain is
        labelled like ``"mnist+blur0.5"``.

    Raises:
        InvalidParameterError: ``name`` is not a str.
        UnknownDatasetError: an unknown pair or data set name (with the closest one).
        UnknownNameError: an unknown shift (with the closest one).
        DataError: source and target have different classes.
        MissingAssetError: a set is not installed (with the command).

    Example:
        >>> src_tr, src_te, tgt_tr, tgt_te = load_pair("font_digits->mnist", transform=model)  # doctest: +SKIP
    """
    check_type(name, "name", "load_pair", str, "a pair name such as 'font_digits->mnist'")
    if name in DOMAIN_PAIRS:
        source, target = DOMAIN_PAIRS[name].source, DOMAIN_PAIRS[name].target
    elif "->" in name:
        source, _, target = (s.strip() for s in name.partition("->"))
    else:
        raise UnknownDatasetError(f"Unknown domain pair {name!r}.{did_you_mean(name, DOMAIN_PAIRS)} Write "
                                  "'<source>-><target>', or see tlw.data.domain_pairs().")
    known = set(list_datasets()["name"])
    for spec in (source, target):
        base = spec.partition("+")[0]
        if base not in known:
            close = did_you_mean(name, DOMAIN_PAIRS).replace("Did you mean", "Or the named pair")
            raise UnknownDatasetError(f"Unknown data set {base!r} in the pair {name!r}.{did_you_mean(base, known)}"
                                      f"{close} See tlw.data.domain_pairs() and tlw.list_datasets().")
    sides = [load_domain(spec, split=split, transform=transform, profile=profile, seed=seed)
             for spec in (source, target) for split in ("train", "test")]
    if sides[0].classes != sides[2].classes:
        raise DataError(f"The source and target of {name!r} have different classes ({sides[0].classes[:5]}... vs "
                        f"{sides[2].classes[:5]}...). A domain pair needs the same classes in the same order.")
    return sides[0], sides[1], sides[2], sides[3]
