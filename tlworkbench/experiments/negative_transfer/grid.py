"""Notebook 04's grid: every source at every label budget and freezing depth, each arm tuned alike.

An arm is a source (or :data:`NO_SOURCE`, randomly initialised layers) and a ``freeze_to``
depth. The first ``depth`` groups keep their weights frozen and the rest, with a fresh head, are
trained. The arm ``(NO_SOURCE, 0)`` is the network trained from scratch; ``(NO_SOURCE, d)`` is
"the same algorithm without the source" for every source at depth ``d`` (Wang et al., 2019):
the same layers frozen, on random weights instead of the source's.

Every arm follows one protocol. The labelled budget of a seed is split into ``train`` and ``val``
(:func:`~tlworkbench.data.validation_split`, a fifth for validation); an arm that trains
convolutions runs AdamW with a one-cycle schedule for :data:`STEPS` steps of :data:`BATCH_SIZE`
(at least :data:`MIN_EPOCHS` epochs), keeps its best-validation epoch, and takes its learning
rate from the same grid (:data:`~tlworkbench.training.LR_GRID`, or the profile's sub-grid
:data:`LR_GRIDS`, the same for every arm); an arm that trains only the head fits a converged
L-BFGS probe whose penalty comes from :data:`~tlworkbench.training.WEIGHT_DECAY_GRID`. Each value
is chosen on the first seed's validation split (:func:`~tlworkbench.training.choose_on_validation`)
and reused for the other seeds; the chosen run, trained on ``train`` only, is the one tested.

The training length was checked on the scratch network at its chosen ``lr=1e-2`` over the five
quick seeds: at 10 labels per class, 80 epochs reached .730 against .764 for the 40 used here; at
30 per class, 40 epochs reached .908 against .902 for the 20 used here. (At 50 per class, 125
steps left scratch 1.9 points short of 240 steps, .912 against .931, so the quick profile's
larger budget is 30.)
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from ..._validate import check_int, check_sequence, check_type
from ...config import Profile, get_profile, limit_threads, resolve_progress
from ...data import ImageDataset, load_dataset, subsample, validation_split
from ...data.registry import missing_datasets
from ...distributed import run_grid
from ...errors import MissingAssetError
from ...evaluation import evaluate
from ...features import extract_features
from ...freezing import freeze_to, group_names
from ...sources import pretrain_source
from ...training import LR_GRID, WEIGHT_DECAY_GRID, choose_on_validation, epochs_for_steps, fit
from ...training.probe import fit_probe, probe_accuracy
from ...zoo import TransferModel, load_model

__all__ = ["ARCH", "TARGET", "NO_SOURCE", "SOURCES", "STAND_INS", "BUDGETS", "DEPTHS", "LR_GRIDS", "STEPS",
           "BATCH_SIZE", "MIN_EPOCHS", "available_sources", "source_note", "grid_settings", "depth_label",
           "transfer_grid"]

ARCH = "small_cnn"
TARGET = "mnist"
#: The "source" of the arms whose layers start from a random initialisation.
NO_SOURCE = "none"
#: Sources per profile: a related one and an unrelated one; the full profile adds animal
#: silhouettes and printed digits with shuffled labels. OpenCV's digits are not a source of an MNIST
#: target: they are its own images redrawn at 20 px (``source_overlap`` finds every one).
SOURCES = {
    "quick": ("font_digits", "fashion_mnist"),
    "full": ("font_digits", "fashion_mnist", "animal_mnist", "font_digits:random"),
}
#: The source that stands in for one whose data set is not installed: animal silhouettes are as
#: unrelated to handwritten digits as clothes are, and come from PyPI rather than a Debian package.
STAND_INS = {"fashion_mnist": "animal_mnist"}
BUDGETS = {"quick": (10, 30), "full": (5, 10, 30, 100)}
#: ``freeze_to`` depths: 0 fine-tunes everything, the number of backbone groups trains the head only.
DEPTHS = {"quick": (0, 3), "full": (0, 1, 2, 3)}
SEEDS = {"quick": (0, 1, 2, 3, 4), "full": (0, 1, 2, 3, 4)}
#: Learning rates every arm that trains convolutions chooses from (one grid for all of them). The
#: quick profile leaves out 3e-4, which no arm chose on a trial run of the whole grid (16 choices).
LR_GRIDS = {"quick": LR_GRID[1:], "full": LR_GRID}
#: Optimiser steps of the arms that train convolutions, in batches of :data:`BATCH_SIZE`.
STEPS = 120
BATCH_SIZE = 32
MIN_EPOCHS = 20


def _missing(sources: Sequence[str]) -> dict[str, str]:
    """The data sets behind ``sources`` that are not installed, with the command that installs each."""
    return missing_datasets(s.partition(":")[0] for s in sources)


def available_sources(profile: str | Profile | None = None) -> tuple[str, ...]:
    """The profile's :data:`SOURCES` whose data sets are installed; an absent one is replaced by its
    :data:`STAND_INS` entry (``fashion_mnist`` by ``animal_mnist``) unless that one is already a source.

    Raises:
        MissingAssetError: none of the profile's sources can be loaded.
    """
    wanted = SOURCES[get_profile(profile).name]
    missing = _missing([*wanted, *STAND_INS.values()])
    out: list[str] = []
    for source in wanted:
        name = source.partition(":")[0]
        if name not in missing:
            out.append(source)
        elif STAND_INS.get(name) and STAND_INS[name] not in missing and STAND_INS[name] not in wanted:
            out.append(STAND_INS[name])
    if not out:
        raise MissingAssetError("No source data set of notebook 04 is installed: "
                                + "; ".join(f"{n}: {cmd}" for n, cmd in missing.items()) + ".")
    return tuple(dict.fromkeys(out))


def source_note(profile: str | Profile | None = None) -> str:
    """One line naming the profile's sources that are not installed, what stands in for them and the
    install command; empty when every source is there."""
    wanted = SOURCES[get_profile(profile).name]
    missing = _missing(wanted)
    if not missing:
        return ""
    chosen = available_sources(profile)
    parts = []
    for name, command in missing.items():
        stand_in = STAND_INS.get(name)
        instead = (f"{stand_in} stands in for it" if stand_in in chosen and stand_in not in wanted
                   else "it is left out")
        parts.append(f"{name} is not installed ({command}): {instead}")
    return "; ".join(parts) + "."


def grid_settings(profile: str | Profile | None = None) -> dict[str, Any]:
    """The sources, budgets, depths, seeds and learning rates the notebook uses in a profile (the
    sources that are installed: :func:`available_sources`)."""
    name = get_profile(profile).name
    return {"target": TARGET, "sources": available_sources(name), "budgets": BUDGETS[name], "depths": DEPTHS[name],
            "seeds": SEEDS[name], "lr_grid": LR_GRIDS[name], "weight_decay_grid": WEIGHT_DECAY_GRID}


def depth_label(model_or_groups: TransferModel | Sequence[str], depth: int) -> str:
    """A readable name of a ``freeze_to`` depth: ``"fine-tune all"``, ``"conv1-conv2 frozen"``, ``"head only"``."""
    names = group_names(model_or_groups) if isinstance(model_or_groups, TransferModel) else list(model_or_groups)
    backbone = names[:-1]
    if depth == 0:
        return "fine-tune all"
    if depth >= len(backbone):
        return "head only"
    return f"{backbone[0]}-{backbone[depth - 1]} frozen" if depth > 1 else f"{backbone[0]} frozen"


class _Target:
    """The target's splits, read once and shared by every arm (one resized copy of the pixels)."""

    def __init__(self, target: str, prof: Profile) -> None:
        base = load_model(ARCH, num_classes=2, weights=None)
        self.train = load_dataset(target, split="train", transform=base, profile=prof)
        self.test = load_dataset(target, split="test", transform=base, profile=prof)
        self.num_classes = len(self.train.classes)
        self._parts: dict[tuple[int, int], tuple[ImageDataset, ImageDataset]] = {}

    def split(self, seed: int, budget: int) -> tuple[ImageDataset, ImageDataset]:
        if (seed, budget) not in self._parts:
            part = subsample(self.train, per_class=budget, seed=seed)
            self._parts[(seed, budget)] = validation_split(part, fraction=0.2, seed=seed)
        return self._parts[(seed, budget)]


class _Arms:
    """Training and scoring of one arm on one seed's split, for one value of its grid."""

    def __init__(self, data: _Target, prof: Profile) -> None:
        self.data, self.prof = data, prof
        self.head_only = len(group_names(load_model(ARCH, num_classes=2, weights=None))) - 1
        self._features: dict[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def model(self, source: str, depth: int, seed: int) -> TransferModel:
        weights = None if source == NO_SOURCE else f"tlw:{source}"
        model = load_model(ARCH, num_classes=self.data.num_classes, weights=weights, seed=seed, profile=self.prof)
        return freeze_to(model, depth)

    def train(self, source: str, depth: int, seed: int, budget: int, lr: float,
              epochs: int | None = None) -> tuple[float, Any]:
        """Fine-tune the groups above ``depth``; the validation accuracy and the trained model.
        ``epochs=None``: :data:`STEPS` steps, at least :data:`MIN_EPOCHS` epochs."""
        train, val = self.data.split(seed, budget)
        model = self.model(source, depth, seed)
        if epochs is None:
            epochs = epochs_for_steps(len(train), steps=STEPS, batch_size=BATCH_SIZE, min_epochs=MIN_EPOCHS)
        # min_steps=0: exactly ``epochs`` (the default ones already give STEPS steps)
        fit(model, train, val, strategy="fine_tune", epochs=epochs, lr=lr, batch_size=BATCH_SIZE, seed=seed,
            min_steps=0, progress=False, profile=self.prof)
        return evaluate(model, val).accuracy, {"model": model, "epochs": epochs}

    def probe(self, source: str, seed: int, budget: int, weight_decay: float) -> tuple[float, Any]:
        """A linear probe on the frozen backbone's features; the validation accuracy and the probe."""
        train, val = self.data.split(seed, budget)
        (f_train, y_train), (f_val, y_val) = (self.features(source, seed, split, budget) for split in ("train", "val"))
        probe = fit_probe(f_train, y_train, num_classes=self.data.num_classes, weight_decay=weight_decay, seed=seed)
        return probe_accuracy(probe, f_val, y_val), {"probe": probe, "epochs": 1}

    def features(self, source: str, seed: int, split: str, budget: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen backbone features of a split, computed once per backbone (a source's is the same
        for every seed; random layers differ by seed) and shared by every penalty of the grid."""
        key = (source, seed, split, budget)
        if key not in self._features:
            model = self.model(source, self.head_only, seed)
            data = self.data.test if split == "test" else self.data.split(seed, budget)[split == "val"]
            self._features[key] = extract_features(model, data, cache=False, progress=False)
        return self._features[key]

    def test_accuracy(self, source: str, depth: int, seed: int, out: dict[str, Any]) -> float:
        if depth < self.head_only:
            return evaluate(out["model"], self.data.test).accuracy
        # a source's backbone is the same for every seed: its test features are computed once
        return probe_accuracy(out["probe"], *self.features(source, seed if source == NO_SOURCE else 0, "test"))


@functools.lru_cache(maxsize=2)
def _shared(target: str, prof: Profile, make_target: Any, make_arms: Any) -> Any:
    """One process's target data and features, kept for every arm the process runs."""
    return make_arms(make_target(target, prof), prof)


@functools.lru_cache(maxsize=1)
def _groups() -> tuple[str, ...]:
    return tuple(group_names(load_model(ARCH, num_classes=2, weights=None)))


def run_arm(*, target: str, source: str, depth: int, budget: int, seeds: Sequence[int], profile: Profile,
            lr_grid: Sequence[float], epochs: int | None = None, threads: int | None = 1) -> dict[str, Any]:
    """One arm at one budget, a cell of :func:`transfer_grid`: its value chosen on the first seed,
    then the other seeds trained with it.

    Returns:
        ``{"runs": [...], "choices": [...]}``: the rows of :func:`transfer_grid`'s two tables.
    """
    with limit_threads(threads):
        arms = _shared(target, profile, _Target, _Arms)
        groups = _groups()
        probe = depth >= arms.head_only
        hyper, grid = ("weight_decay", WEIGHT_DECAY_GRID) if probe else ("lr", tuple(lr_grid))
        extra = {} if epochs is None else {"epochs": epochs}

        def run(value: float, seed: int) -> tuple[float, Any]:
            start = time.process_time()
            score, out = (arms.probe(source, seed, budget, value) if probe
                          else arms.train(source, depth, seed, budget, value, **extra))
            return score, {**out, "seconds": time.process_time() - start}

        choice = choose_on_validation(lambda value: run(value, seeds[0]), grid, name=hyper, progress=False)
        choices = choice.table.rename(columns={hyper: "value"}).assign(
            per_class=budget, source=source, depth=depth, hyper=hyper, seed=seeds[0])
        rows = []
        for seed in seeds:
            score, out = (choice.score, choice.output) if seed == seeds[0] else run(choice.best, seed)
            accuracy = arms.test_accuracy(source, depth, seed, out)
            train, val = arms.data.split(seed, budget)
            rows.append({"target": target, "source": source, "depth": depth, "frozen": depth_label(groups, depth),
                         "arm": "scratch" if (source, depth) == (NO_SOURCE, 0) else source,
                         "per_class": budget, "seed": seed, "n_train": len(train), "n_val": len(val),
                         "hyper": hyper, "value": choice.best, "epochs": out["epochs"], "val_accuracy": score,
                         "accuracy": accuracy, "error": 1.0 - accuracy, "seconds": out["seconds"]})
    return {"runs": rows, "choices": choices.to_dict("records")}


def transfer_grid(target: str = TARGET, *, sources: Sequence[str] | None = None,
                  budgets: Sequence[int] | None = None, depths: Sequence[int] | None = None,
                  seeds: Sequence[int] | None = None, threads: int | None = 1, epochs: int | None = None,
                  profile: str | Profile | None = None, progress: bool | None = None, executor: Any = None,
                  folder: str | os.PathLike | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every arm (each source, and no source, at each depth) at every budget and seed.

    For each seed and budget, ``per_class=budget`` target examples are drawn
    (:func:`~tlworkbench.data.subsample`, nested over budgets) and split into ``train`` and
    ``val``; every arm of that seed trains on the same ``train``, chooses on the same ``val`` and is
    tested on the whole target test split, so the arms of one seed are paired. The learning rate
    (or a probe's penalty) of each arm and budget is chosen on the first seed and reused.

    Each arm at each budget is one cell of a grid (:func:`~tlworkbench.distributed.run_grid`,
    :func:`run_arm`): with ``executor`` the cells run in other processes (each reads the target
    and computes frozen features once for the arms it runs), with ``folder`` every finished cell
    is kept on disk and a run that stopped continues where it was. Missing source models are
    trained first, in this process.

    Args:
        target: the target data set.
        sources: workbench source keys (default: the profile's that are installed,
            :func:`available_sources`).
        budgets: labelled target examples per class, validation included (default: the profile's).
        depths: ``freeze_to`` depths (default: the profile's).
        seeds: seeds of the draw, the initialisation and training; the first chooses (default:
            the profile's).
        threads: torch and BLAS threads while a cell runs (``None``: leave as set).
        epochs: epochs of the arms that train convolutions (``None``: :data:`STEPS` steps of
            :data:`BATCH_SIZE`, at least :data:`MIN_EPOCHS` epochs).
        profile: run profile (sizes, source models, the learning-rate grid).
        progress: a progress bar over the arms; ``None``: on in Jupyter only.
        executor: a :class:`concurrent.futures.Executor` that runs the cells (a Dask client's
            ``get_executor()``, a ``ProcessPoolExecutor``); ``None``: in this process, in order.
        folder: keep every finished cell there and read back those already kept.

    Returns:
        ``(runs, choices)``. ``runs``: one row per run with ``target``, ``source``
        (:data:`NO_SOURCE` for random layers), ``depth``, ``frozen`` (readable depth), ``arm``
        (``"scratch"`` for the no-source arm at depth 0, otherwise the source), ``per_class``,
        ``seed``, ``n_train``, ``n_val``, ``hyper`` (``"lr"`` or ``"weight_decay"``), ``value``
        (the chosen one), ``epochs``, ``val_accuracy``, ``accuracy``, ``error`` and ``seconds``
        (CPU seconds of training). ``choices``: one row per arm, budget and grid value with its
        validation accuracy on the first seed and whether it was chosen.

    Raises:
        InvalidParameterError: an empty sequence, or a depth outside ``[0, number of backbone groups]``.
        UnknownDatasetError: an unknown target or source.

    Example:
        >>> runs, choices = transfer_grid("mnist", sources=("font_digits",), budgets=(10,))  # doctest: +SKIP
    """
    func = "transfer_grid"
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    groups = _groups()
    sources = check_sequence(grid_settings(prof)["sources"] if sources is None else sources, "sources", func,
                             check_type, str, "a data set name")
    budgets = check_sequence(BUDGETS[prof.name] if budgets is None else budgets, "budgets", func, check_int,
                             minimum=2)
    depths = check_sequence(DEPTHS[prof.name] if depths is None else depths, "depths", func, check_int, minimum=0,
                            maximum=len(groups) - 1)
    seeds = check_sequence(SEEDS[prof.name] if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    if epochs is not None:
        epochs = check_int(epochs, "epochs", func, minimum=1)
    with limit_threads(threads):
        for source in sources:  # train missing source models first, outside the timed runs
            pretrain_source(ARCH, source, profile=prof, progress=progress)
    common = {"target": target, "seeds": tuple(seeds), "profile": prof, "lr_grid": tuple(LR_GRIDS[prof.name]),
              "epochs": epochs}
    cells = [{**common, "source": source, "depth": depth, "budget": budget, "threads": threads}
             for budget in budgets for depth in depths for source in (NO_SOURCE, *sources)]
    frame = run_grid(cells, run_arm, executor=executor, folder=folder, progress=progress, desc="arms",
                     key=lambda cell: {"grid": "negative_transfer", **{k: v for k, v in cell.items()
                                                                       if k != "threads"}})
    rows = [row for cell in frame["runs"] for row in cell]
    choices = pd.DataFrame([row for cell in frame["choices"] for row in cell])
    runs = pd.DataFrame(rows).sort_values(["per_class", "seed", "depth"], kind="stable").reset_index(drop=True)
    columns = ["per_class", "source", "depth", "hyper", "value", "val_score", "chosen", "seed"]
    return runs, choices[columns]
