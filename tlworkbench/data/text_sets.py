"""Offline text sets: Debian package descriptions, labelled by the archive section of each package.

Every Debian or Ubuntu machine keeps the metadata of its installed packages in dpkg's status
file: a name, a section (``admin``, ``devel``, ``perl``, ...) and a description, which is a
one-line synopsis followed by a long description. :func:`read_package_records` parses that file;
:func:`load_packages` (the ``debian_packages`` card) gives the packages of the sections in
:data:`PACKAGE_SECTIONS` as a text set, labelled by section. Technical, operational text with no
download: a target for a model pretrained on such text. Which packages are there depends on the
machine (what is installed); the loader says what it found. The fortunes set (Debian's
``fortunes``, general text) is loaded by :func:`tlworkbench.data.offline.load_fortunes`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validate import check_choice
from ..config import Profile
from ..errors import DataError, MissingAssetError
from .containers import TextDataset
from .sampling import split_indices

__all__ = ["DPKG_STATUS", "PACKAGE_SECTIONS", "PACKAGE_FIELDS", "MIN_PER_SECTION", "PackageRecord",
           "dpkg_status_file", "read_package_records", "package_texts", "load_packages"]

#: dpkg's status file: the metadata of every installed package (``TLW_DPKG_STATUS`` overrides it).
DPKG_STATUS = Path("/var/lib/dpkg/status")
#: The sections read, in class order: tools and languages of a working system. Library sections
#: (``libs``, ``libdevel``) are left out: their descriptions mostly say "shared library".
PACKAGE_SECTIONS = ("admin", "devel", "perl", "python", "utils")
#: What a text can be: the one-line synopsis, the long description, or both (synopsis first).
PACKAGE_FIELDS = ("synopsis", "long", "full")
#: Fewest installed packages a section needs to be a class.
MIN_PER_SECTION = 15
_INSTALL = "sudo apt-get install dpkg (present on every Debian and Ubuntu system)"


@dataclass(frozen=True)
class PackageRecord:
    """One installed package: ``name``, ``section`` (without an archive area such as
    ``universe/``), ``synopsis`` (the first line of its description) and ``long`` (the rest,
    paragraphs joined, without the ``.`` lines)."""

    name: str
    section: str
    synopsis: str
    long: str


def dpkg_status_file() -> Path:
    """The status file read: ``TLW_DPKG_STATUS`` when set, else :data:`DPKG_STATUS`."""
    return Path(os.environ.get("TLW_DPKG_STATUS", "").strip() or DPKG_STATUS)


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and key is not None:
            fields[key] += "\n" + line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def read_package_records(path: str | os.PathLike | None = None) -> list[PackageRecord]:
    """The installed packages in a dpkg status file, sorted by name (one record per name).

    Args:
        path: the status file (default: :func:`dpkg_status_file`).

    Returns:
        One :class:`PackageRecord` per package whose status is "install ok installed" and that
        has a section and a description.

    Raises:
        MissingAssetError: the file is not there (not a Debian-like system).

    Example:
        >>> records = read_package_records()  # doctest: +SKIP
        >>> records[0].section  # doctest: +SKIP
        'admin'
    """
    path = Path(path) if path is not None else dpkg_status_file()
    if not path.is_file():
        raise MissingAssetError(f"dpkg's status file {str(path)!r} is not there: the package descriptions come "
                                f"from a Debian or Ubuntu system ({_INSTALL}), or set TLW_DPKG_STATUS to a copy "
                                "of such a file.")
    records: dict[str, PackageRecord] = {}
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
        f = _fields(block)
        if "install ok installed" not in f.get("Status", "") or not f.get("Section") or not f.get("Description"):
            continue
        synopsis, _, rest = f["Description"].partition("\n")
        paragraphs = [" ".join(line.split()) for line in rest.splitlines() if line.strip() not in ("", ".")]
        records.setdefault(f["Package"], PackageRecord(f["Package"], f["Section"].rsplit("/", 1)[-1],
                                                       " ".join(synopsis.split()), " ".join(paragraphs)))
    return [records[k] for k in sorted(records)]


def package_texts(records: list[PackageRecord], field: str = "full") -> list[str]:
    """The text of each record: ``"synopsis"``, ``"long"`` (the synopsis when there is no long
    description) or ``"full"`` (``"synopsis. long"``).

    Example:
        >>> r = PackageRecord("x", "utils", "file finder", "Finds files fast.")
        >>> package_texts([r], "full")
        ['file finder. Finds files fast.']
    """
    check_choice(field, "field", "package_texts", PACKAGE_FIELDS)
    if field == "synopsis":
        return [r.synopsis for r in records]
    if field == "long":
        return [r.long or r.synopsis for r in records]
    return [f"{r.synopsis}. {r.long}".strip() if r.long else r.synopsis for r in records]


def section_records(records: list[PackageRecord], sections: tuple[str, ...] = PACKAGE_SECTIONS, *,
                    min_per_section: int = MIN_PER_SECTION) -> tuple[list[PackageRecord], np.ndarray]:
    """The records of ``sections`` and their class indices.

    Raises:
        DataError: a section has fewer than ``min_per_section`` installed packages.
    """
    counts = {s: sum(r.section == s for r in records) for s in sections}
    few = {s: n for s, n in counts.items() if n < min_per_section}
    if few:
        raise DataError(f"The package descriptions need at least {min_per_section} installed packages in each of "
                        f"the sections {list(sections)}; this machine has {few}. Install more packages of those "
                        "sections, or point TLW_DPKG_STATUS at the status file of a fuller system.")
    kept = [r for r in records if r.section in sections]
    return kept, np.asarray([sections.index(r.section) for r in kept])


def load_packages(split: str, profile: Profile, seed: int, *, field: str = "full") -> TextDataset:
    """The ``debian_packages`` card's loader: installed packages of :data:`PACKAGE_SECTIONS`,
    labelled by section, split 80/20 (stratified, seed 0; the split is by package name)."""
    kept, y = section_records(read_package_records())
    texts = package_texts(kept, field)
    idx = split_indices(y, split, keys=[r.name for r in kept])
    return TextDataset([texts[i] for i in idx], y[idx], list(PACKAGE_SECTIONS), name=f"debian_packages:{split}",
                       domain="debian_packages")
