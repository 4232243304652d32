"""The texts of notebook 08 and their embeddings, each computed once per encoder.

* The general task: Debian's fortunes of five harmless categories (``fortunes``), a pool of
  training texts (capped per class in the quick profile) and a test set.
* The domain task: descriptions of the installed Debian packages, labelled by section
  (``debian_packages``), as two texts per package: the synopsis and the long description.

:func:`text_tasks` says which of the two can run here: both, or the domain task alone where
fortunes are not installed (the notebook then leaves the general task out and says so).

Every text is embedded once by each encoder (:func:`~tlworkbench.text.embed_texts`, batched by
length); the seeds and label budgets index rows of those embeddings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...config import Profile, get_profile
from ...data import load_dataset, missing_datasets, stratified_split
from ...data.text_sets import PACKAGE_SECTIONS, package_texts, read_package_records, section_records
from ...errors import DataError, MissingAssetError
from ...text import MAX_LENGTH, embed_texts
from ...zoo import load_model

__all__ = ["GENERAL", "DOMAIN", "ENCODERS", "N_TOP", "QUICK_POOL_PER_CLASS", "N_TEST", "fortunes_data",
           "packages_data", "duplicates", "text_tasks", "task_note"]

GENERAL = "fortunes"
DOMAIN = "debian_packages"
#: The generic encoder and the one further trained on site-reliability text.
ENCODERS = ("minilm", "minilm_sre")
#: Transformer layers fine-tuned (of MiniLM's six): their input is kept when embedding.
N_TOP = 2
#: Training texts per class of fortunes in the quick profile (the full profile reads them all).
QUICK_POOL_PER_CLASS = 100
#: Test texts of fortunes in the quick profile (stratified, seed 0).
N_TEST = 300


def text_tasks() -> tuple[str, ...]:
    """The tasks notebook 08 runs here: ``(GENERAL, DOMAIN)``, or ``(DOMAIN,)`` where Debian's
    fortunes are not installed.

    Raises:
        MissingAssetError: the package descriptions (dpkg's status file) are absent too, as on
            macOS; the message names both sets and the fortunes' install command.
    """
    missing = missing_datasets((GENERAL, DOMAIN))
    if DOMAIN in missing:
        general = f" ({missing[GENERAL]})" if GENERAL in missing else ""
        raise MissingAssetError(
            f"Notebook 08 needs the descriptions of installed Debian packages ({DOMAIN!r}, read from dpkg's status "
            f"file), which this system does not have; without them it cannot run, even with {GENERAL!r}{general}. "
            "Run it on Debian or Ubuntu (a container will do).")
    return (DOMAIN,) if GENERAL in missing else (GENERAL, DOMAIN)


def task_note(tasks: tuple[str, ...]) -> str:
    """One line saying which task was left out and how to install it ("" when both ran)."""
    if GENERAL in tasks:
        return ""
    install = missing_datasets((GENERAL,)).get(GENERAL, "")
    return (f"The general task ({GENERAL}) is left out: Debian's fortunes are not installed ({install}); "
            f"the comparisons below run on the package descriptions ({DOMAIN}) alone.")


def duplicates(a: list[str], b: list[str]) -> int:
    """How many texts of ``b`` are also in ``a`` (after folding case and spaces).

    Example:
        >>> duplicates(["A  cat", "dog"], ["a cat", "bird"])
        1
    """
    seen = {" ".join(t.lower().split()) for t in a}
    return sum(" ".join(t.lower().split()) in seen for t in b)


def _embed_all(texts: dict[str, list[str]], *, keep: str | None, progress: bool | None) -> dict[str, Any]:
    """``{encoder: {part: TextEmbedding}}``: one pass of each encoder over each part; the generic
    encoder keeps the hidden states entering its top :data:`N_TOP` layers when ``keep`` is
    ``"all"``."""
    out: dict[str, Any] = {}
    for name in ENCODERS:
        model = load_model(name, num_classes=2)
        top = N_TOP if keep == "all" and name == ENCODERS[0] else 0
        out[name] = {part: embed_texts(model, t, max_length=MAX_LENGTH, keep_top=top, progress=progress)
                     for part, t in texts.items()}
        out[f"{name}:model"] = model
    return out


def fortunes_data(profile: str | Profile | None = None, *, progress: bool | None = None) -> dict[str, Any]:
    """The fortunes pool and test set, embedded by both encoders.

    Returns:
        ``{"texts": {"pool", "test"}, "y": {"pool", "test"}, "classes", "emb": {encoder: {part:
        TextEmbedding}}, "model": the generic model, "duplicates"}``; the generic encoder keeps
        the hidden states entering its top :data:`N_TOP` layers (for fine-tuning).

    Raises:
        MissingAssetError: Debian's fortunes are not installed (the message gives the command).
        DataError: a test text is a copy of a pool text.
    """
    prof = get_profile(profile)
    train, test = load_dataset(GENERAL, split="train", profile=prof), load_dataset(GENERAL, split="test", profile=prof)
    y_train, y_test = train.targets.numpy(), test.targets.numpy()
    if prof.name == "quick":
        per_class = min(QUICK_POOL_PER_CLASS, int(np.bincount(y_train).min()))
        pool = np.sort(np.concatenate([np.flatnonzero(y_train == c)[np.random.default_rng(0).permutation(
            int((y_train == c).sum()))[:per_class]] for c in range(len(train.classes))]))
        test_idx = stratified_split(y_test, min(N_TEST, len(y_test)), seed=0) if len(y_test) > N_TEST \
            else np.arange(len(y_test))
    else:
        pool, test_idx = np.arange(len(y_train)), np.arange(len(y_test))
    texts = {"pool": [train.texts[i] for i in pool], "test": [test.texts[i] for i in test_idx]}
    shared = duplicates(texts["pool"], texts["test"])
    if shared:
        raise DataError(f"{shared} fortunes of the test set are also in the training pool.")
    emb = _embed_all(texts, keep="all", progress=progress)
    return {"texts": texts, "y": {"pool": y_train[pool], "test": y_test[test_idx]}, "classes": list(train.classes),
            "emb": {k: v for k, v in emb.items() if ":" not in k}, "model": emb["minilm:model"], "duplicates": shared}


def packages_data(*, progress: bool | None = None) -> dict[str, Any]:
    """The installed packages of :data:`~tlworkbench.data.text_sets.PACKAGE_SECTIONS` that have
    a long description, as two texts each (the synopsis and the long description), embedded by
    both encoders.

    Returns:
        ``{"names", "y", "classes", "texts": {field: [str]}, "emb": {encoder: {field:
        TextEmbedding}}}``.
    """
    records, y = section_records([r for r in read_package_records() if r.long])
    texts = {field: package_texts(records, field) for field in ("synopsis", "long")}
    emb = _embed_all(texts, keep=None, progress=progress)
    return {"names": [r.name for r in records], "y": y, "classes": list(PACKAGE_SECTIONS), "texts": texts,
            "emb": {k: v for k, v in emb.items() if ":" not in k}}


def features(data: dict[str, Any], encoder: str, part: str) -> torch.Tensor:
    """The pooled embeddings of ``part`` by ``encoder``."""
    return data["emb"][encoder][part].features
