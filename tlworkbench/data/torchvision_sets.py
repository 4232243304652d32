"""torchvision's data sets, read from the data cache and downloaded there only when allowed.

``tv_mnist``, ``usps``, ``svhn``, ``cifar10``, ``stl10``, ``eurosat``, ``oxford_pets`` and
``flowers102`` are read from :func:`torchvision_root` (``TLW_DATA/torchvision``) and downloaded
there only when :func:`tlworkbench.config.is_online_allowed` says so (the full profile,
``TLW_OFFLINE`` unset); otherwise a :class:`~tlworkbench.errors.MissingAssetError` names the
folder and the files to place in it. Sets whose images differ in size are resized once, at load,
to a fixed square (:data:`TORCHVISION_IMAGE_SIZE`).

A download is written into a temporary folder first and renamed into place file by file, so an
interrupted download never leaves a half-written file.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Profile, data_home, is_online_allowed
from ..errors import CorruptFileError, MissingAssetError
from .containers import ImageDataset
from .decode import fit_image, run_parallel
from .offline import DIGITS
from .sampling import image_keys, split_indices

__all__ = [
    "TORCHVISION_IMAGE_SIZE",
    "TORCHVISION_SETS",
    "STL10_CLASSES",
    "torchvision_root",
    "torchvision_loader",
    "has_torchvision",
]

# Sets whose images differ in size (or are large) are resized once, at load, to this square side:
# the shorter side is scaled to it, then the centre is cropped.
TORCHVISION_IMAGE_SIZE = {"stl10": 96, "eurosat": 64, "oxford_pets": 96, "flowers102": 96}
STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def torchvision_root() -> Path:
    """The folder torchvision's sets are read from and downloaded to: ``TLW_DATA/torchvision``."""
    return data_home() / "torchvision"


@dataclass(frozen=True)
class _TorchvisionSet:
    name: str
    title: str
    files: tuple[str, ...]  # relative to the root; a trailing "/" is a folder that must not be empty
    url: str
    read: Callable[[Path, str], tuple[torch.Tensor, np.ndarray, list[str]]]
    fetch: Callable[[Path], None]  # torchvision's own download into a folder


def _read_tv_mnist(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import MNIST

    ds = MNIST(str(root), train=split == "train", download=False)
    return ds.data.unsqueeze(1).contiguous(), ds.targets.numpy(), DIGITS


def _read_usps(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import USPS

    ds = USPS(str(root), train=split == "train", download=False)
    return torch.from_numpy(np.ascontiguousarray(ds.data)).unsqueeze(1), np.asarray(ds.targets), DIGITS


def _read_svhn(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import SVHN

    ds = SVHN(str(root), split=split, download=False)  # label 10 ("0") is already mapped to 0
    return torch.from_numpy(np.ascontiguousarray(ds.data)), np.asarray(ds.labels), DIGITS


def _read_cifar10(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(str(root), train=split == "train", download=False)
    images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
    return images, np.asarray(ds.targets), list(ds.classes)


def _read_stl10(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import STL10

    ds = STL10(str(root), split=split, download=False)
    classes = list(getattr(ds, "classes", None) or STL10_CLASSES)
    return torch.from_numpy(np.ascontiguousarray(ds.data)), np.asarray(ds.labels, dtype=np.int64), classes


def _decode_indexed(ds: Any, what: str) -> tuple[torch.Tensor, np.ndarray]:
    """Decode a torchvision folder-backed set through ``ds[i]`` (its transform fits each image)."""
    results = run_parallel([functools.partial(ds.__getitem__, i) for i in range(len(ds))])
    good = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    bad = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    if bad:
        warnings.warn(f"Skipped {len(bad)} unreadable images of {what} (indices {bad[:10]}"
                      f"{' ...' if len(bad) > 10 else ''}): {results[bad[0]]}", stacklevel=3)
    if not good:
        raise CorruptFileError(f"No image of {what} could be read: {results[0] if results else 'no images'}.")
    images = np.stack([results[i][0] for i in good])
    labels = np.asarray([results[i][1] for i in good], dtype=np.int64)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels


@functools.lru_cache(maxsize=1)
def _eurosat_all(root: str, size: int) -> tuple[torch.Tensor, np.ndarray, tuple[str, ...]]:
    from torchvision.datasets import EuroSAT

    ds = EuroSAT(root, transform=functools.partial(fit_image, size=size), download=False)
    images, labels = _decode_indexed(ds, "EuroSAT")
    return images, labels, tuple(ds.classes)


def _read_eurosat(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    images, labels, classes = _eurosat_all(str(root), TORCHVISION_IMAGE_SIZE["eurosat"])
    idx = split_indices(labels, split, keys=image_keys(images.numpy()))  # no official split
    return images[torch.as_tensor(idx)], labels[idx], list(classes)


def _read_pets(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import OxfordIIITPet

    size = TORCHVISION_IMAGE_SIZE["oxford_pets"]
    ds = OxfordIIITPet(str(root), split="trainval" if split == "train" else "test", target_types="category",
                       transform=functools.partial(fit_image, size=size), download=False)
    images, labels = _decode_indexed(ds, f"Oxford-IIIT Pet ({split})")
    return images, labels, list(ds.classes)


def _read_flowers(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import Flowers102

    fit = functools.partial(fit_image, size=TORCHVISION_IMAGE_SIZE["flowers102"])
    names = ("train", "val") if split == "train" else ("test",)
    parts = [Flowers102(str(root), split=s, transform=fit, download=False) for s in names]
    decoded = [_decode_indexed(ds, f"Flowers-102 ({s})") for ds, s in zip(parts, names)]
    images = torch.cat([d[0] for d in decoded])
    labels = np.concatenate([d[1] for d in decoded])
    return images, labels, list(parts[0].classes)


def _fetch(cls_name: str, *calls: dict[str, Any]) -> Callable[[Path], None]:
    def fetch(folder: Path) -> None:
        import torchvision.datasets as tvd

        cls = getattr(tvd, cls_name)
        for kwargs in calls or ({},):
            cls(str(folder), download=True, **kwargs)
    return fetch


_MNIST_RAW = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TORCHVISION_SETS: dict[str, _TorchvisionSet] = {
    "tv_mnist": _TorchvisionSet(
        "tv_mnist", "MNIST", tuple(f"MNIST/raw/{f}" for f in _MNIST_RAW),
        "https://ossci-datasets.s3.amazonaws.com/mnist/ (the four .gz files, decompressed)",
        _read_tv_mnist, _fetch("MNIST")),
    "usps": _TorchvisionSet(
        "usps", "USPS", ("usps.bz2", "usps.t.bz2"),
        "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/ (usps.bz2, usps.t.bz2)",
        _read_usps, _fetch("USPS", {"train": True}, {"train": False})),
    "svhn": _TorchvisionSet(
        "svhn", "SVHN", ("train_32x32.mat", "test_32x32.mat"),
        "http://ufldl.stanford.edu/housenumbers/ (train_32x32.mat, test_32x32.mat)",
        _read_svhn, _fetch("SVHN", {"split": "train"}, {"split": "test"})),
    "cifar10": _TorchvisionSet(
        "cifar10", "CIFAR-10",
        tuple(f"cifar-10-batches-py/{f}" for f in
              ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
               "batches.meta")),
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extracted)",
        _read_cifar10, _fetch("CIFAR10")),
    "stl10": _TorchvisionSet(
        "stl10", "STL-10",
        tuple(f"stl10_binary/{f}" for f in
              ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "unlabeled_X.bin", "class_names.txt")),
        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz (extracted; about 2.6 GB)",
        _read_stl10, _fetch("STL10", {"split": "test"})),
    "eurosat": _TorchvisionSet(
        "eurosat", "EuroSAT", ("eurosat/2750/",),
        "https://huggingface.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/"
        "EuroSAT.zip (extracted: eurosat/2750/<class>/*.jpg)",
        _read_eurosat, _fetch("EuroSAT")),
    "oxford_pets": _TorchvisionSet(
        "oxford_pets", "Oxford-IIIT Pet",
        ("oxford-iiit-pet/images/", "oxford-iiit-pet/annotations/trainval.txt", "oxford-iiit-pet/annotations/test.txt"),
        "https://www.robots.ox.ac.uk/~vgg/data/pets/data/ (images.tar.gz and annotations.tar.gz, extracted)",
        _read_pets, _fetch("OxfordIIITPet")),
    "flowers102": _TorchvisionSet(
        "flowers102", "Flowers-102", ("flowers-102/jpg/", "flowers-102/imagelabels.mat", "flowers-102/setid.mat"),
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (102flowers.tgz extracted, imagelabels.mat, setid.mat)",
        _read_flowers, _fetch("Flowers102")),
}


def _missing_files(spec: _TorchvisionSet, root: Path) -> list[str]:
    missing = []
    for rel in spec.files:
        path = root / rel
        if rel.endswith("/"):
            if not (path.is_dir() and any(path.iterdir())):
                missing.append(rel)
        elif not path.is_file():
            missing.append(rel)
    return missing


def _download_into(spec: _TorchvisionSet, root: Path) -> None:
    """Download with torchvision into a temporary folder, then rename each file into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", suffix=".download", dir=root))
    try:
        spec.fetch(tmp)
        for src in sorted(tmp.rglob("*")):
            if src.is_file():
                dest = root / src.relative_to(tmp)
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dest)
    except Exception as err:  # network, checksum and archive errors come in many types
        raise MissingAssetError(
            f"Downloading {spec.title} into {str(root)!r} failed ({type(err).__name__}: {err}). Nothing was left "
            f"half written. Try again, or place these files there by hand: {list(spec.files)}, from {spec.url}."
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def torchvision_loader(key: str) -> Callable[[str, Profile, int], ImageDataset]:
    """The loader of the torchvision set ``key``: read from the cache, downloaded first when allowed."""
    def load(split: str, profile: Profile, seed: int) -> ImageDataset:
        spec = TORCHVISION_SETS[key]
        root = torchvision_root()
        missing = _missing_files(spec, root)
        if missing:
            if not is_online_allowed(profile):
                raise MissingAssetError(
                    f"{spec.title} (data set {key!r}) is not in {str(root)!r} and downloads are off (profile "
                    f"{profile.name!r}; TLW_OFFLINE also turns them off). Place these files there: {missing}, "
                    f"from {spec.url}; or load it with profile='full' on a machine that is online, which downloads "
                    "it to that folder."
                )
            _download_into(spec, root)
        try:
            images, labels, classes = spec.read(root, split)
        except (MissingAssetError, CorruptFileError):
            raise
        except Exception as err:  # torchvision raises RuntimeError, ValueError, pickle or struct errors
            raise CorruptFileError(
                f"The {spec.title} files in {str(root)!r} cannot be read ({type(err).__name__}: {err}). Delete "
                f"{sorted({f.split('/')[0] for f in spec.files})} there, then place them again or load with "
                "profile='full' online to download them."
            ) from err
        domain = "mnist" if key == "tv_mnist" else key  # the same domain as the offline MNIST digits
        return ImageDataset(images, labels, classes, name=f"{key}:{split}", domain=domain)
    return load


def has_torchvision(key: str) -> Callable[[], bool]:
    """Whether the set ``key`` can be loaded now: its files are in place, or downloads are allowed."""
    return lambda: not _missing_files(TORCHVISION_SETS[key], torchvision_root()) or is_online_allowed()
