"""One's own data: an image folder, a CSV file of texts, or a folder of text files.

Folders follow torchvision's ImageFolder layout (``path/<class>/<file>``, or ``path/train/<class>``
beside ``path/test/<class>`` or ``path/val/<class>``, which then decide the split). Without
train/test folders, ``split="train"``/``"test"`` is a stratified split fixed by ``seed``, and a
test example identical to a train example is dropped. Unreadable files are skipped with a warning
that names them.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._validate import check_choice, check_fraction, check_int, check_optional, check_type
from ..errors import DataError, InvalidParameterError, MissingAssetError
from .containers import ImageDataset, TextDataset
from .decode import IMAGE_SUFFIXES, read_image_file, run_parallel
from .sampling import image_keys, split_indices

__all__ = ["load_image_folder", "load_text_csv", "load_text_folder"]


@dataclass(frozen=True)
class _Split:
    """The checked split arguments of one call."""

    func: str
    split: str
    test_fraction: float
    seed: int


def _split_args(func: str, split: Any, test_fraction: Any, seed: Any, name: Any) -> _Split:
    split = check_choice(split, "split", func, ("all", "train", "test"), error=InvalidParameterError)
    check_optional(name, check_type, "name", func, str, "a str or None")
    seed = check_int(seed, "seed", func)
    if split != "all":
        test_fraction = check_fraction(test_fraction, "test_fraction", func)
    return _Split(func, split, test_fraction, seed)


def _existing(path: str | os.PathLike, func: str, *, folder: bool) -> Path:
    p = Path(path).expanduser()
    if (folder and not p.is_dir()) or (not folder and not p.is_file()):
        what = "an existing folder" if folder else "an existing file"
        state = "does not exist" if not p.exists() else ("is a file" if folder else "is a folder")
        raise MissingAssetError(f"The 'path' parameter of {func} must be {what}. Got {str(path)!r}, which {state}.")
    return p


def _class_dirs(folder: Path) -> list[str]:
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


@dataclass(frozen=True)
class _Layout:
    """The class folders to read: the classes, the folders holding them, and whether they were pre-split."""

    root: Path
    classes: list[str]
    folders: list[Path]
    presplit: bool
    example: str


def _layout(path: str | os.PathLike, args: _Split, example: tuple[str, str]) -> _Layout:
    """Find the classes of a folder, and the folders that ``args.split`` reads."""
    root = _existing(path, args.func, folder=True)
    example_text = ", ".join(f"{root}/{e}" for e in example)
    test = root / "test" if (root / "test").is_dir() else root / "val"
    if (root / "train").is_dir() and test.is_dir() and _class_dirs(root / "train"):
        train = root / "train"
        classes = sorted(set(_class_dirs(train)) | set(_class_dirs(test)))
        folders = [train, test] if args.split == "all" else [train if args.split == "train" else test]
        layout = _Layout(root, classes, folders, True, example_text)
    else:
        layout = _Layout(root, _class_dirs(root), [root], False, example_text)
    if len(layout.classes) < 2:
        raise _fewer_than_two(args.func, root, layout.classes, example_text)
    return layout


def _files_by_class(layout: _Layout, suffixes: Sequence[str]) -> tuple[list[Path], list[int]]:
    files, labels = [], []
    for folder in layout.folders:
        for k, c in enumerate(layout.classes):
            d = folder / c
            if not d.is_dir():
                continue
            for f in sorted(d.rglob("*")):
                if f.is_file() and f.suffix.lower() in suffixes and not f.name.startswith("."):
                    files.append(f)
                    labels.append(k)
    return files, labels


def _fewer_than_two(func: str, root: Path, found: Sequence[str], example: str) -> DataError:
    return DataError(f"{func} needs at least two classes, one sub-folder per class ({example}). Found "
                     f"{len(found)} class folder(s) with data in {str(root)!r}: {list(found)}. Add a folder per class.")


def _drop_empty_classes(labels: list[int], layout: _Layout, func: str) -> tuple[np.ndarray, list[str]]:
    classes = layout.classes
    present = sorted(set(labels))
    if len(present) < len(classes):
        empty = [c for k, c in enumerate(classes) if k not in present]
        warnings.warn(f"{func}: the class folders {empty} in {str(layout.root)!r} hold nothing readable; they are "
                      "left out.", stacklevel=3)
    if len(present) < 2:
        raise _fewer_than_two(func, layout.root, [classes[k] for k in present], layout.example)
    remap = {old: new for new, old in enumerate(present)}
    return np.asarray([remap[k] for k in labels], dtype=np.int64), [classes[k] for k in present]


def _split_for(args: _Split, labels: np.ndarray, keys: Sequence[Any], classes: Sequence[str], *,
               presplit: bool = False) -> np.ndarray:
    """The indices ``args.split`` keeps: all of them for ``"all"`` or a pre-split folder."""
    if args.split == "all" or presplit:
        return np.arange(len(labels))
    counts = np.bincount(labels, minlength=len(classes))
    if counts.min() < 2:
        small = [classes[i] for i in np.flatnonzero(counts < 2)]
        raise DataError(f"{args.func} cannot make a stratified {args.split!r} split: the classes {small} have fewer "
                        "than two examples. Add examples to them, or use split='all'.")
    try:
        return split_indices(labels, args.split, test_fraction=args.test_fraction, seed=args.seed, keys=keys)
    except ValueError as err:  # scikit-learn: a test split smaller than the number of classes
        raise DataError(f"{args.func} cannot make a stratified split with test_fraction={args.test_fraction} "
                        f"({err}). Raise test_fraction, add examples, or use split='all'.") from err


def _texts(texts: list[str], y: np.ndarray, idx: np.ndarray, classes: list[str], name: str, split: str,
           transform: Any) -> TextDataset:
    ds = TextDataset([texts[i] for i in idx], y[idx], classes, name=f"{name}:{split}", domain=name)
    return ds.with_transform(transform) if transform is not None else ds


def load_image_folder(path: str | os.PathLike, *, size: int | None = 64, channels: int | None = None,
                      split: str = "all", test_fraction: float = 0.2, seed: int = 0, name: str | None = None,
                      transform: Any = None) -> ImageDataset:
    """Load one's own images, one sub-folder per class (torchvision's ImageFolder layout).

    ``path/<class>/<image>`` (sub-folders below a class folder are read too), or
    ``path/train/<class>/...`` with ``path/test/<class>/...`` (or ``val``): then ``split`` picks
    the folder. Images are decoded once into memory; unreadable files are skipped with a warning
    that names them.

    Args:
        path: the folder.
        size: every image's shorter side is scaled to ``size``, then the centre is cropped to a
            square; ``None`` keeps the images as they are (they must then share one size).
        channels: 1 or 3; ``None`` picks 1 when every image is grey, else 3.
        split: ``"all"``, or ``"train"``/``"test"`` (the layout's folders, or else a stratified
            split of ``test_fraction`` fixed by ``seed``; a test image identical to a train image
            is dropped).
        test_fraction: the test share of a stratified split.
        seed: the seed of that split.
        name: the data set's name (default: the folder's name).
        transform: an ImageTransform or a model (see :meth:`ImageDataset.with_transform`).

    Returns:
        An :class:`ImageDataset` named ``"<name>:<split>"`` with the folder names as classes.

    Raises:
        MissingAssetError: ``path`` is not a folder.
        DataError: fewer than two classes with readable images, images of different sizes with
            ``size=None``, or classes too small to split.
        InvalidParameterError: a bad ``size``, ``channels``, ``split``, ``test_fraction`` or ``seed``.

    Example:
        >>> ds = load_image_folder("~/photos/defects", size=96, split="train")   # doctest: +SKIP
    """
    func = "load_image_folder"
    args = _split_args(func, split, test_fraction, seed, name)
    channels = check_optional(channels, check_int, "channels", func, minimum=1, maximum=3)
    check_choice(channels, "channels", func, (None, 1, 3), error=InvalidParameterError)
    size = check_optional(size, check_int, "size", func, minimum=1)
    layout = _layout(path, args, ("cat/1.png", "dog/2.png"))
    root = layout.root
    files, labels = _files_by_class(layout, IMAGE_SUFFIXES)
    results = run_parallel([functools.partial(read_image_file, f, size) for f in files])
    bad = [(f, r) for f, r in zip(files, results) if isinstance(r, Exception)]
    if bad:
        names = [str(f.relative_to(root)) for f, _ in bad]
        warnings.warn(f"{func} skipped {len(bad)} unreadable image(s) in {str(root)!r}: {names[:20]}"
                      f"{' ...' if len(names) > 20 else ''} (first error: {bad[0][1]}).", stacklevel=2)
    arrays = [r for r in results if not isinstance(r, Exception)]
    kept = [k for k, r in zip(labels, results) if not isinstance(r, Exception)]
    y, classes = _drop_empty_classes(kept, layout, func)
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise DataError(f"The images in {str(root)!r} have {len(shapes)} different sizes ({shapes[:3]} ...) and "
                        f"the 'size' parameter of {func} is None. Pass size=64 (or another side) to resize them.")
    x = np.stack(arrays)  # (N, H, W, 3)
    grey = bool((x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all())
    want = channels or (1 if grey else 3)
    keys = image_keys(x)
    if want == 1:  # grey copies every channel; colour is averaged, as ImageTransform does
        x = x[..., :1] if grey else np.round(x.mean(axis=-1, keepdims=True)).astype(np.uint8)
    images = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
    idx = _split_for(args, y, keys, classes, presplit=layout.presplit)
    name = name or root.name
    ds = ImageDataset(images[torch.as_tensor(idx, dtype=torch.long)], y[idx], classes, name=f"{name}:{args.split}",
                      domain=name)
    return ds.with_transform(transform) if transform is not None else ds


def _ordered_classes(labels: Sequence[str], classes: Sequence[str] | None, func: str, where: str) -> list[str]:
    found = sorted(set(labels), key=lambda s: (0, int(s), s) if s.lstrip("-").isdigit() else (1, 0, s))
    if classes is None:
        return found
    classes = [str(c) for c in classes]
    unknown = [c for c in found if c not in classes]
    if unknown:
        raise DataError(f"{where} has labels {unknown[:10]} that are not in the 'classes' parameter of {func} "
                        f"({classes}). Add them to classes, or pass classes=None to take the labels found.")
    return classes


def load_text_csv(path: str | os.PathLike, *, text_column: str = "text", label_column: str = "label",
                  split: str = "all", test_fraction: float = 0.2, seed: int = 0,
                  classes: Sequence[str] | None = None, sep: str = ",", encoding: str = "utf-8",
                  name: str | None = None, transform: Any = None) -> TextDataset:
    """Load one's own labelled texts from a CSV file.

    Args:
        path: the CSV file (with a header row).
        text_column: the column that holds the texts.
        label_column: the column that holds the labels (names or numbers).
        split: ``"all"``, or ``"train"``/``"test"`` of a stratified split of ``test_fraction``
            fixed by ``seed`` (a test text identical to a train text is dropped).
        test_fraction: the test share of that split.
        seed: the seed of that split.
        classes: the class names in label order (default: the labels found, sorted, numbers
            numerically); pass the same list for two files so their labels agree.
        sep: the field separator.
        encoding: the file's text encoding.
        name: the data set's name (default: the file's stem).
        transform: a text model or TextTransform that batches are tokenised with.

    Returns:
        A :class:`TextDataset` named ``"<name>:<split>"``; rows without a text or label are
        dropped with a warning.

    Raises:
        MissingAssetError: ``path`` is not a file.
        DataError: the file cannot be parsed, a column is missing (the message lists the columns
            found), fewer than two classes, or labels outside ``classes``.
        InvalidParameterError: a bad ``split``, ``test_fraction`` or ``seed``.

    Example:
        >>> train = load_text_csv("reviews.csv", text_column="review", label_column="stars",
        ...                       split="train")   # doctest: +SKIP
    """
    func = "load_text_csv"
    args = _split_args(func, split, test_fraction, seed, name)
    p = _existing(path, func, folder=False)
    try:
        df = pd.read_csv(p, sep=sep, encoding=encoding, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{str(p)!r} cannot be read as a CSV file ({type(err).__name__}: {err}). Check the "
                        "'sep' and 'encoding' parameters.") from err
    for param, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in df.columns:
            raise DataError(f"The CSV file {str(p)!r} has no column {column!r} (the {param!r} parameter of {func}). "
                            f"Columns found: {list(df.columns)}. Pass {param}=<one of them>.")
    texts, labels = df[text_column].str.strip(), df[label_column].str.strip()
    ok = texts.notna() & (texts != "") & labels.notna() & (labels != "")
    if not ok.all():
        rows = (np.flatnonzero(~ok.to_numpy()) + 2).tolist()  # line numbers, after the header
        warnings.warn(f"{func} dropped {len(rows)} row(s) of {str(p)!r} without a text or a label (lines "
                      f"{rows[:10]}{' ...' if len(rows) > 10 else ''}).", stacklevel=2)
    texts, labels = texts[ok].tolist(), labels[ok].tolist()
    names = _ordered_classes(labels, classes, func, f"The CSV file {str(p)!r}")
    if len(set(labels)) < 2:
        raise DataError(f"The {label_column!r} column of {str(p)!r} holds {len(set(labels))} class(es) "
                        f"({sorted(set(labels))}); {func} needs at least two.")
    index = {c: k for k, c in enumerate(names)}
    y = np.asarray([index[s] for s in labels], dtype=np.int64)
    idx = _split_for(args, y, texts, names)
    return _texts(texts, y, idx, names, name or p.stem, args.split, transform)


def load_text_folder(path: str | os.PathLike, *, split: str = "all", test_fraction: float = 0.2, seed: int = 0,
                     suffixes: Sequence[str] = (".txt",), encoding: str = "utf-8", name: str | None = None,
                     transform: Any = None) -> TextDataset:
    """Load one's own texts, one file per text and one sub-folder per class.

    ``path/<class>/<file>.txt`` (as scikit-learn's ``load_files`` reads it), or
    ``path/train/<class>/...`` with ``path/test/<class>/...`` (or ``val``). Files that cannot be
    decoded, and empty ones, are skipped with a warning that names them.

    Args:
        path: the folder.
        split: ``"all"``, or ``"train"``/``"test"`` (the layout's folders, or else a stratified
            split of ``test_fraction`` fixed by ``seed``).
        test_fraction: the test share of that split.
        seed: the seed of that split.
        suffixes: the file endings read.
        encoding: the files' text encoding.
        name: the data set's name (default: the folder's name).
        transform: a text model or TextTransform that batches are tokenised with.

    Returns:
        A :class:`TextDataset` with the folder names as classes.

    Raises:
        MissingAssetError: ``path`` is not a folder.
        DataError: fewer than two classes with readable texts, or classes too small to split.
        InvalidParameterError: a bad ``split``, ``test_fraction`` or ``seed``.
    """
    func = "load_text_folder"
    args = _split_args(func, split, test_fraction, seed, name)
    layout = _layout(path, args, ("spam/1.txt", "ham/2.txt"))
    root = layout.root
    files, labels = _files_by_class(layout, tuple(s.lower() for s in suffixes))
    texts, kept, bad = [], [], []
    for f, k in zip(files, labels):
        try:
            t = " ".join(f.read_text(encoding=encoding).split())
        except (OSError, UnicodeDecodeError) as err:
            bad.append(f"{f.relative_to(root)} ({type(err).__name__})")
            continue
        if not t:
            bad.append(f"{f.relative_to(root)} (empty)")
            continue
        texts.append(t)
        kept.append(k)
    if bad:
        warnings.warn(f"{func} skipped {len(bad)} file(s) in {str(root)!r}: {bad[:20]}"
                      f"{' ...' if len(bad) > 20 else ''}.", stacklevel=2)
    y, classes = _drop_empty_classes(kept, layout, func)
    idx = _split_for(args, y, texts, classes, presplit=layout.presplit)
    return _texts(texts, y, idx, classes, name or root.name, args.split, transform)
