"""Notebook 04's grid: every source at every label budget and freezing depth, against scratch.

Every arm that trains convolutions follows one recipe: AdamW at ``lr=1e-2`` with a one-cycle
schedule, batches of 32 and :data:`STEPS` optimiser steps, at least 12 epochs
(:func:`~tlworkbench.training.epochs_for_steps`), which is where training from scratch
stops improving. A frozen backbone leaves a convex problem, so the head-only arm fits its linear
head to convergence with L-BFGS on cached features, with a small L2 penalty (weight decay 1e-3;
without it, heads fitted on 10 examples per class lost 6 to 8 points of accuracy in a trial run).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..._validate import check_float, check_int, check_sequence, check_type
from ...config import Profile, get_profile, limit_threads, resolve_progress
from ...data import ImageDataset, load_dataset, subsample
from ...diagnostics import gain_table
from ...evaluation import evaluate
from ...freezing import freeze_to, group_names
from ...sources import pretrain_source
from ...training import epochs_for_steps, fit
from ...zoo import TransferModel, load_model

__all__ = ["ARCH", "TARGET", "SOURCES", "BUDGETS", "DEPTHS", "STEPS", "grid_settings", "depth_label",
           "transfer_grid", "gaps", "gap_table"]

ARCH = "small_cnn"
TARGET = "mnist"
#: Sources per profile: related, unrelated, and meaningless labels on the target's own images.
SOURCES = {
    "quick": ("font_digits", "fashion_mnist", "mnist:random"),
    "full": ("font_digits", "fashion_mnist", "animal_mnist", "mnist:random", "font_digits:random"),
}
BUDGETS = {"quick": (10, 50), "full": (5, 10, 50, 200)}
#: ``freeze_to`` depths: 0 fine-tunes everything, the number of backbone groups trains the head only.
DEPTHS = {"quick": (0, 2, 3), "full": (0, 1, 2, 3)}
#: Optimiser steps of the arms that train convolutions. On MNIST, training from scratch at
#: ``lr=1e-2`` gained nothing from 120 epochs over 60 at 10 labels per class (100 images), and
#: half a point from 26 over 13 at 50 per class.
STEPS = 240
_MIN_EPOCHS = 12
_PROBE = {"optimizer": "lbfgs", "lr": 1.0, "epochs": 10, "weight_decay": 1e-3}
_VERDICTS = {"baseline better": "negative transfer", "arm better": "positive transfer",
             "inconclusive": "not significant"}


def grid_settings(profile: str | Profile | None = None) -> dict[str, Any]:
    """The sources, budgets, depths and seeds the notebook uses in a profile."""
    prof = get_profile(profile)
    return {"target": TARGET, "sources": SOURCES[prof.name], "budgets": BUDGETS[prof.name],
            "depths": DEPTHS[prof.name], "seeds": tuple(prof.seeds)}


def depth_label(model_or_groups: TransferModel | Sequence[str], depth: int) -> str:
    """A readable name of a ``freeze_to`` depth: ``"fine-tune all"``, ``"conv1-conv2 frozen"``, ``"head only"``."""
    names = group_names(model_or_groups) if isinstance(model_or_groups, TransferModel) else list(model_or_groups)
    backbone = names[:-1]
    if depth == 0:
        return "fine-tune all"
    if depth >= len(backbone):
        return "head only"
    return f"{backbone[0]}-{backbone[depth - 1]} frozen" if depth > 1 else f"{backbone[0]} frozen"


def _train_and_score(model: TransferModel, part: ImageDataset, test: ImageDataset, *, strategy: str, depth: int,
                     lr: float, batch_size: int, seed: int, prof: Profile) -> dict[str, Any]:
    freeze_to(model, depth)
    start = time.perf_counter()
    if depth >= len(model.groups) - 1:
        epochs = _PROBE["epochs"]
        fit(model, part, strategy="linear_probe", seed=seed, progress=False, profile=prof, **_PROBE)
    else:
        epochs = epochs_for_steps(len(part), steps=STEPS, batch_size=batch_size, min_epochs=_MIN_EPOCHS)
        fit(model, part, strategy=strategy, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, progress=False,
            profile=prof)
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, test).accuracy
    return {"epochs": epochs, "accuracy": accuracy, "error": 1.0 - accuracy, "seconds": seconds}


def transfer_grid(target: str = TARGET, *, sources: Sequence[str] | None = None,
                  budgets: Sequence[int] | None = None, depths: Sequence[int] | None = None,
                  seeds: Sequence[int] | None = None, lr: float = 1e-2, batch_size: int = 32,
                  threads: int | None = 1, profile: str | Profile | None = None,
                  progress: bool | None = None) -> pd.DataFrame:
    """Transfer every source at every budget and freezing depth, and train from scratch, per seed.

    For each seed and budget, ``per_class=budget`` target examples are drawn
    (:func:`~tlworkbench.data.subsample`, nested over budgets); the scratch arm and every
    (source, depth) arm train on exactly those and are tested on the whole target test split, so
    the arms of one seed are paired. Depth ``d`` is ``freeze_to(model, d)``: the first ``d``
    groups keep the source's weights frozen; the rest, and a fresh head, are trained.

    Args:
        target: the target data set.
        sources: workbench source keys (default: the profile's, see :data:`SOURCES`).
        budgets: labelled target examples per class (default: the profile's).
        depths: ``freeze_to`` depths (default: the profile's).
        seeds: seeds of the draw, the head's initialisation and training (default: the profile's).
        lr: learning rate of the arms that train convolutions (scratch included).
        batch_size: examples per step of those arms.
        threads: torch and BLAS threads while the grid runs (:func:`~tlworkbench.config.limit_threads`;
            ``None``: leave as set).
        profile: run profile (default sizes, source models).
        progress: a progress bar over the runs (and while a source model is first trained);
            ``None``: on in Jupyter only.

    Returns:
        One row per run: ``target``, ``source`` (``"scratch"`` for the baseline), ``depth``
        (``-1`` for scratch), ``frozen`` (readable depth), ``per_class``, ``seed``, ``n_train``,
        ``epochs`` (L-BFGS rounds for the head-only arm), ``accuracy``, ``error`` and ``seconds``
        (training time).

    Raises:
        InvalidParameterError: an empty sequence, or a depth outside ``[0, number of backbone groups]``.
        UnknownDatasetError: an unknown target or source.

    Example:
        >>> grid = transfer_grid("mnist", sources=("font_digits",), budgets=(10,), seeds=(0,))  # doctest: +SKIP
    """
    func = "transfer_grid"
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    settings = grid_settings(prof)
    groups = group_names(load_model(ARCH, num_classes=2, weights=None))
    sources = check_sequence(settings["sources"] if sources is None else sources, "sources", func, check_type, str,
                             "a data set name")
    budgets = check_sequence(settings["budgets"] if budgets is None else budgets, "budgets", func, check_int,
                             minimum=1)
    depths = check_sequence(settings["depths"] if depths is None else depths, "depths", func, check_int, minimum=0,
                            maximum=len(groups) - 1)
    seeds = check_sequence(settings["seeds"] if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    lr = check_float(lr, "lr", func, minimum=0.0, include_min=False)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    from tqdm.auto import tqdm

    with limit_threads(threads):
        for source in sources:  # train missing source models first, outside the timed runs
            pretrain_source(ARCH, source, profile=prof, progress=progress)
        base = load_model(ARCH, num_classes=2, weights=None)
        train = load_dataset(target, split="train", transform=base, profile=prof)
        test = load_dataset(target, split="test", transform=base, profile=prof)
        k = len(train.classes)
        runs = [(seed, budget, source, depth) for seed in seeds for budget in budgets
                for source in ("scratch", *sources) for depth in ((-1,) if source == "scratch" else depths)]
        rows = []
        parts: dict[tuple[int, int], ImageDataset] = {}
        for seed, budget, source, depth in tqdm(runs, desc="transfer grid", disable=not progress):
            if (seed, budget) not in parts:
                parts[(seed, budget)] = subsample(train, per_class=budget, seed=seed)
            part = parts[(seed, budget)]
            if source == "scratch":
                model = load_model(ARCH, num_classes=k, weights=None, seed=seed)
                out = _train_and_score(model, part, test, strategy="scratch", depth=0, lr=lr,
                                       batch_size=batch_size, seed=seed, prof=prof)
            else:
                model = load_model(ARCH, num_classes=k, weights=f"tlw:{source}", seed=seed, profile=prof)
                out = _train_and_score(model, part, test, strategy="fine_tune", depth=depth, lr=lr,
                                       batch_size=batch_size, seed=seed, prof=prof)
            rows.append({"target": target, "source": source, "depth": depth,
                         "frozen": "scratch" if source == "scratch" else depth_label(groups, depth),
                         "per_class": budget, "seed": seed, "n_train": len(part), **out})
    return pd.DataFrame(rows)


def gaps(grid: pd.DataFrame, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The negative-transfer gap of every (source, budget, depth), with a paired bootstrap interval.

    Each transfer run is paired with the scratch run of its budget and seed
    (:func:`~tlworkbench.diagnostics.gain_table` on the error, with the percentile bootstrap of
    :func:`~tlworkbench.diagnostics.negative_transfer_gap`).

    Args:
        grid: :func:`transfer_grid`'s frame.
        level: confidence level of the interval.
        n_boot: bootstrap resamples.
        seed: seed of the bootstrap.

    Returns:
        One row per (source, budget, depth): ``source``, ``per_class``, ``depth``, ``frozen``,
        ``transfer_error``, ``scratch_error`` (means over seeds), ``ntg`` (their difference;
        positive: transfer hurt), ``low``, ``high`` (the interval), ``verdict`` and ``seeds``.

    Raises:
        DataError: a transfer run without the scratch run of its budget and seed.
    """
    table = gain_table(grid, arm_column="source", baseline="scratch", by="per_class", split=("depth", "frozen"),
                       value="error", higher_is_better=False, interval="percentile", level=level, n_boot=n_boot,
                       seed=seed)
    return pd.DataFrame({"source": table["source"], "per_class": table["per_class"], "depth": table["depth"],
                         "frozen": table["frozen"], "transfer_error": table["mean"],
                         "scratch_error": table["baseline_mean"], "ntg": table["gain"], "low": table["low"],
                         "high": table["high"], "verdict": table["verdict"].map(_VERDICTS), "seeds": table["n"]})


def gap_table(gap_frame: pd.DataFrame) -> pd.DataFrame:
    """NTG with its interval as text, one row per source and depth, one column per budget.

    Returns:
        Cells like ``"+0.152 [+0.131, +0.170] *"``; ``*`` marks an interval that excludes 0.
    """
    def cell(row: pd.Series) -> str:
        mark = " *" if row["verdict"] != "not significant" else ""
        return f"{row['ntg']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]{mark}"

    frame = gap_frame.assign(cell=gap_frame.apply(cell, axis=1))
    order = list(pd.unique(gap_frame["source"]))
    table = frame.pivot_table(index=["source", "depth", "frozen"], columns="per_class", values="cell", aggfunc="first")
    table.columns = [f"NTG at {b}/class" for b in table.columns]
    table = table.reset_index()
    table["source"] = pd.Categorical(table["source"], categories=order, ordered=True)
    return table.sort_values(["source", "depth"]).reset_index(drop=True).astype({"source": str})
