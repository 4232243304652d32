"""Notebook 10's data: reading and auditing a folder of one's own, and the default data written as one.

* :func:`audit_data`: counts, unreadable files and exact duplicates of a folder or a CSV;
  :func:`item_of` reads ``<item>_<n>`` file names as views of one item.
* :func:`default_data`: the folder the notebook runs on when it is given none: the emoji set
  (:func:`~tlworkbench.data.emoji.write_emoji_folder`) where its font and emoji list are found,
  else :data:`FALLBACK` (animal-mnist silhouettes, installed with pip everywhere), written as a
  folder by :func:`write_dataset_folder`, and a one-line note that says so.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._validate import check_int
from ..config import Profile, data_home, get_profile
from ..data import IMAGE_SUFFIXES, load_dataset, subsample
from ..data.emoji import EMOJI_INSTALL, emoji_dir, has_emoji, write_emoji_folder
from ..errors import MissingAssetError

__all__ = ["DEFAULT", "FALLBACK", "FALLBACK_PER_CLASS", "DefaultData", "default_data", "write_dataset_folder",
           "audit_data", "item_of"]

#: The default set, and the set written in its place where the emoji font or list is absent.
DEFAULT = "emoji"
FALLBACK = "animal_mnist"
#: Images per class written for the fallback, by split and profile (about the emoji set's size).
FALLBACK_PER_CLASS = {("train", "quick"): 80, ("test", "quick"): 20, ("train", "full"): 400, ("test", "full"): 100}
_ITEM = re.compile(r"^(?P<item>.+)_\d+$")


class DefaultData(NamedTuple):
    """The default folder: ``path``, the set it holds (``name``), and ``note`` (empty for the emoji set,
    else the one line that says why the fallback is used and how to get the emoji set)."""

    path: str
    name: str
    note: str


def write_dataset_folder(name: str, root: str | Path | None = None, *, profile: str | Profile | None = None,
                         seed: int = 0, per_class: dict[str, int] | None = None) -> Path:
    """Write a registered image set as PNG files, ``root/{train,test}/<class>/<name>-<split>-<nnnn>.png``.

    Each split is drawn from the set's own split (``per_class`` images of each class, by ``seed``);
    every file is its own item (no ``_<n>`` suffix). A folder written before is reused.

    Args:
        name: a registered image set (``tlw.list_datasets("image")``).
        root: where to write (default: ``TLW_DATA/<name>/<profile>-<seed>``).
        profile: decides the images per class (:data:`FALLBACK_PER_CLASS`) unless ``per_class``.
        seed: the draw.
        per_class: ``{"train": k, "test": k}``.

    Raises:
        MissingAssetError: the set is not installed (the message gives the command).
    """
    from PIL import Image

    prof = get_profile(profile)
    seed = check_int(seed, "seed", "write_dataset_folder")
    counts = per_class or {s: FALLBACK_PER_CLASS[(s, prof.name)] for s in ("train", "test")}
    root = Path(root) if root is not None else data_home() / name / f"{prof.name}-{seed}"
    done = root / ".complete"
    if done.exists():
        return root
    for split in ("train", "test"):
        part = subsample(load_dataset(name, split=split), per_class=counts[split], seed=seed)
        images, labels = part.images.numpy(), part.targets.numpy()
        for j, (image, label) in enumerate(zip(images, labels)):
            folder = root / split / part.classes[label].replace("/", "-")
            folder.mkdir(parents=True, exist_ok=True)
            pixels = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
            Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"{name}-{split}-{j:04d}.png")
    done.write_text("written by tlworkbench.experiments.own_data_sets.write_dataset_folder\n")
    return root


def default_data(*, profile: str | Profile | None = None, seed: int = 0) -> DefaultData:
    """The folder notebook 10 runs on when it is given none.

    The emoji set where its font and emoji list are found (Debian's, or copies in
    ``TLW_DATA/emoji``), else :data:`FALLBACK`, with a note naming the install command.

    Raises:
        MissingAssetError: neither set is installed.
    """
    prof = get_profile(profile)
    if has_emoji():
        return DefaultData(str(write_emoji_folder(profile=prof, seed=seed)), DEFAULT, "")
    try:
        path = write_dataset_folder(FALLBACK, profile=prof, seed=seed)
    except MissingAssetError as err:
        raise MissingAssetError(f"Neither the emoji set nor {FALLBACK} is installed. For the emoji set: "
                                f"{EMOJI_INSTALL} (or copy NotoColorEmoji.ttf and emoji-test.txt into "
                                f"{emoji_dir()}); for {FALLBACK}: {err}") from err
    note = (f"The emoji set is not installed ({EMOJI_INSTALL}, or copy NotoColorEmoji.ttf and emoji-test.txt into "
            f"{emoji_dir()}): running on {FALLBACK} written as a folder instead.")
    return DefaultData(str(path), FALLBACK, note)


def item_of(path: str | Path) -> str:
    """The item a file shows: its name without a trailing ``_<n>`` (``fox_2.png`` -> ``fox``)."""
    stem = Path(path).stem
    m = _ITEM.match(stem)
    return m["item"] if m else stem


def _presplit(root: Path) -> dict[str, Path] | None:
    test = root / "test" if (root / "test").is_dir() else root / "val"
    if (root / "train").is_dir() and test.is_dir():
        return {"train": root / "train", "test": test}
    return None


def _image_key(path: Path) -> tuple[bytes | None, str]:
    """A digest of the decoded pixels, or ``(None, error)`` for a file that cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            px = np.asarray(im.convert("RGB"))
    except Exception as err:  # PIL raises several types for broken files
        return None, f"{type(err).__name__}: {err}"
    return hashlib.sha1(px.tobytes() + str(px.shape).encode()).digest(), ""


def audit_data(path: str | Path) -> dict[str, Any]:
    """Look at one's own data before training: counts, unreadable files, exact duplicates.

    Args:
        path: a folder with one sub-folder per class (optionally under ``train/`` and ``test/``),
            or a CSV file with ``text`` and ``label`` columns.

    Returns:
        A dict: ``files`` (one row per file or text: ``split``, ``class``, ``item``, ``file``,
        ``readable``, ``error``), ``counts`` (classes by split), ``broken`` (the unreadable
        rows), ``duplicates`` (rows whose content repeats an earlier row: ``duplicate_of``,
        ``across_splits`` when a test file copies a training file).

    Raises:
        MissingAssetError: ``path`` does not exist.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise MissingAssetError(f"The data {str(root)!r} does not exist. Pass a folder with one sub-folder per "
                                "class, or a CSV file with 'text' and 'label' columns.")
    rows = []
    if root.is_file():
        frame = pd.read_csv(root)
        for i, (text, label) in enumerate(zip(frame.get("text", []), frame.get("label", []))):
            ok = isinstance(text, str) and bool(text.strip())
            rows.append({"split": "all", "class": str(label), "item": str(i), "file": f"row {i + 2}", "readable": ok,
                         "error": "" if ok else "empty text", "key": text.strip().encode() if ok else None})
    else:
        sides = _presplit(root) or {"all": root}
        for split, folder in sides.items():
            for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                for f in sorted(d.rglob("*")):
                    if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                        key, error = _image_key(f)
                        rows.append({"split": split, "class": d.name, "item": item_of(f),
                                     "file": str(f.relative_to(root)), "readable": key is not None, "error": error,
                                     "key": key})
    files = pd.DataFrame(rows, columns=["split", "class", "item", "file", "readable", "error", "key"])
    counts = files[files["readable"]].pivot_table(index="class", columns="split", values="file", aggfunc="count",
                                                  fill_value=0)
    first: dict[bytes, int] = {}
    dup = []
    for i, key in enumerate(files["key"]):
        if key is None:
            continue
        if key in first:
            j = first[key]
            dup.append({**files.iloc[i].drop("key").to_dict(), "duplicate_of": files.at[j, "file"],
                        "across_splits": files.at[j, "split"] != files.at[i, "split"]})
        else:
            first[key] = i
    duplicates = pd.DataFrame(dup, columns=[*files.columns.drop("key"), "duplicate_of", "across_splits"])
    return {"files": files.drop(columns="key"), "counts": counts,
            "broken": files[~files["readable"]].drop(columns="key"),
            "duplicates": duplicates}
