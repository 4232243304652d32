"""Notebook 03's label-based remedies: the source model fine-tuned on a few target labels, against
the same small CNN trained from scratch on the same labels.

Both arms get the same care. Each seed draws ``per_class`` labelled target images per class
(:func:`~tlworkbench.data.subsample`, nested across budgets) and carves a validation split out of
them (:func:`~tlworkbench.data.validation_split`, a fifth of each class); the arm trains on the
rest. The learning rate comes from the same grid for both arms (:data:`~tlworkbench.training.LR_GRID`),
chosen on the first seed's validation split and reused for the other seeds; the epoch is chosen on
validation by :func:`~tlworkbench.training.fit` (the weights of the best validation epoch are
kept). Every run takes :data:`FEW_LABEL_STEPS` optimiser steps in batches of 16, so that 20 images
still get as many steps as 240; :func:`saturation_runs` trains scratch for twice as many steps to
show whether it had stopped improving. The chosen run, trained on the training part only, is the
one scored on the target's test images (no refit on train + validation).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pandas as pd

from ..._validate import check_int, check_names, check_sequence
from ...config import Profile, get_profile
from ...data import ImageDataset, subsample, validation_split
from ...errors import DataError
from ...evaluation import evaluate
from ...training import LR_GRID, History, choose_on_validation, epochs_for_steps, fit
from ...zoo import TransferModel, load_model
from .shift import ARCH

__all__ = ["BUDGETS", "FEW_LABEL_STEPS", "STRATEGIES", "VAL_FRACTION", "FIXED_LR", "label_runs", "rerun",
           "saturation_runs"]

#: Labels per class of the label-efficiency curve (validation included; at 3 per class one image
#: of each class validates and two train).
BUDGETS = (3, 10, 30)
#: Optimiser steps of every label-based run (batches of :data:`BATCH`).
FEW_LABEL_STEPS = 100
BATCH = 16
#: Share of each class's labelled images held out to choose the learning rate and the epoch.
VAL_FRACTION = 0.2
#: The two label-based arms.
STRATEGIES = ("fine-tune", "scratch")
#: A fine-tuning rate held fixed rather than chosen, to show what the choice changes.
FIXED_LR = 1e-3
_TIE_BREAK = 1e-4  # below the step of any validation accuracy here (1 / 20 images at most)


def _train(kind: str, base: TransferModel, train: ImageDataset, val: ImageDataset, *, lr: float, steps: int,
           seed: int, profile: Profile) -> tuple[TransferModel, History]:
    """One run: the source model fine-tuned, or the architecture from a random start, for ``steps`` steps."""
    epochs = epochs_for_steps(len(train), steps=steps, batch_size=BATCH, min_epochs=4)
    if kind == "fine-tune":
        model, strategy = copy.deepcopy(base), "fine_tune"
    else:
        model, strategy = load_model(ARCH, num_classes=len(train.classes), weights=None, seed=seed), "scratch"
    history = fit(model, train, val, strategy=strategy, epochs=epochs, lr=lr, batch_size=BATCH, seed=seed,
                  progress=False, profile=profile, min_steps=0)
    return model, history


def _val_score(history: History) -> float:
    """Best validation accuracy; ties (20 images move it in steps of 0.05) go to the lower validation loss."""
    frame = history.frame
    row = frame[(frame["split"] == "val") & (frame["epoch"] == history.best_epoch)]
    loss = float(row["loss"].iloc[0]) if len(row) else 0.0
    return float(history.best_accuracy) - _TIE_BREAK * min(loss, 9.0)


def _row(source: str, target: str, kind: str, per_class: int, seed: int, lr: float, history: History,
         accuracy: float, n_train: int, n_val: int) -> dict[str, object]:
    return {"source": source, "target": target, "strategy": kind, "per_class": per_class, "seed": seed, "lr": lr,
            "epochs": history.epochs, "best_epoch": history.best_epoch, "val_accuracy": history.best_accuracy,
            "accuracy": accuracy, "n_train": n_train, "n_val": n_val}


def label_runs(source: str, target: str, *, model: TransferModel, train: ImageDataset, test: ImageDataset,
               budgets: Sequence[int] = BUDGETS, seeds: Sequence[int] | None = None,
               grid: Sequence[float] = LR_GRID, steps: int = FEW_LABEL_STEPS,
               strategies: Sequence[str] = STRATEGIES,
               profile: str | Profile | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fine-tuned from ``model`` against scratch, per labels per class and seed, each arm tuned alike.

    Args:
        source: the source data set (for the tables).
        target: the target domain (for the tables).
        model: the source model; it is not changed.
        train: the target's training images, read through the model (labels are drawn from them).
        test: the target's test images, read through the model.
        budgets: labels per class, validation included (each at least 2).
        seeds: seeds of the label draws, splits and training (default: the profile's); the
            learning rate is chosen on the first and reused for the others.
        grid: learning rates tried, the same for both arms.
        steps: optimiser steps of every run.
        strategies: ``"fine-tune"``, ``"scratch"`` or both.
        profile: run profile.

    Returns:
        ``(runs, choices)``. ``runs``: one row per strategy, budget and seed: ``source``,
        ``target``, ``strategy``, ``per_class``, ``seed``, ``lr``, ``epochs``, ``best_epoch``,
        ``val_accuracy``, ``accuracy`` (test), ``n_train``, ``n_val``. ``choices``: one row per
        strategy, budget and learning rate of the grid: ``source``, ``target``, ``strategy``,
        ``per_class``, ``seed``, ``lr``, ``val_score``, ``chosen``.

    Raises:
        InvalidParameterError: empty ``budgets``, ``seeds`` or ``grid``, a budget below 2, or an
            strategy that is not one of :data:`STRATEGIES` (UnknownNameError).
    """
    func = "label_runs"
    prof = get_profile(profile)
    budgets = check_sequence(budgets, "budgets", func, check_int, minimum=2)
    seeds = check_sequence(prof.seeds if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    grid = check_sequence(grid, "grid", func)
    steps = check_int(steps, "steps", func, minimum=1)
    strategies = check_names(strategies, "strategies", func, STRATEGIES)
    rows, choices = [], []
    for per_class in budgets:
        for kind in strategies:
            lr = None
            for s in seeds:
                part, val = validation_split(subsample(train, per_class=per_class, seed=s), fraction=VAL_FRACTION,
                                             seed=s)
                if lr is None:  # the first seed chooses the learning rate on its validation split

                    def run(value: float, part: ImageDataset = part, val: ImageDataset = val, s: int = s,
                            kind: str = kind) -> tuple[float, tuple[TransferModel, History]]:
                        fitted, history = _train(kind, model, part, val, lr=value, steps=steps, seed=s, profile=prof)
                        return _val_score(history), (fitted, history)

                    choice = choose_on_validation(run, grid, name="lr", progress=False)
                    lr = choice.best
                    fitted, history = choice.output
                    choices += [{"source": source, "target": target, "strategy": kind, "per_class": per_class,
                                 "seed": s, "lr": r.lr, "val_score": r.val_score, "chosen": bool(r.chosen)}
                                for r in choice.table.itertuples()]
                else:
                    fitted, history = _train(kind, model, part, val, lr=lr, steps=steps, seed=s, profile=prof)
                rows.append(_row(source, target, kind, per_class, s, lr, history, evaluate(fitted, test).accuracy,
                                 len(part), len(val)))
    return pd.DataFrame(rows), pd.DataFrame(choices)


def rerun(runs: pd.DataFrame, *, model: TransferModel, train: ImageDataset, test: ImageDataset, per_class: int,
          strategy: str, label: str, factor: int = 1, lr: float | None = None, steps: int = FEW_LABEL_STEPS,
          profile: str | Profile | None = None) -> pd.DataFrame:
    """The runs of ``strategy`` at ``per_class`` trained again with one thing changed.

    Each seed of ``runs`` is repeated with the same labels and split, for ``factor`` times the
    steps and at ``lr`` (default: the rate each run used); the epoch is again chosen on
    validation.

    Returns:
        Rows as in :func:`label_runs`, with ``strategy`` set to ``label``.

    Raises:
        DataError: ``runs`` has no row of ``strategy`` at ``per_class``.
    """
    func = "rerun"
    prof = get_profile(profile)
    factor = check_int(factor, "factor", func, minimum=1)
    mine = runs[(runs["strategy"] == strategy) & (runs["per_class"] == per_class)]
    if not len(mine):
        raise DataError(f"{func} found no {strategy!r} run at per_class={per_class} in the 'runs' parameter; pass "
                        "the runs of label_runs.")
    rows = []
    for r in mine.itertuples():
        part, val = validation_split(subsample(train, per_class=per_class, seed=r.seed), fraction=VAL_FRACTION,
                                     seed=r.seed)
        rate = r.lr if lr is None else lr
        fitted, history = _train(strategy, model, part, val, lr=rate, steps=factor * steps, seed=r.seed, profile=prof)
        rows.append(_row(r.source, r.target, label, per_class, r.seed, rate, history,
                         evaluate(fitted, test).accuracy, len(part), len(val)))
    return pd.DataFrame(rows)


def saturation_runs(runs: pd.DataFrame, *, model: TransferModel, train: ImageDataset, test: ImageDataset,
                    per_class: int, factor: int = 2, strategy: str = "scratch", steps: int = FEW_LABEL_STEPS,
                    profile: str | Profile | None = None) -> pd.DataFrame:
    """The runs of ``strategy`` at ``per_class`` trained again for ``factor`` times the steps (:func:`rerun`).

    Each seed of ``runs`` is repeated with the same labels, split and learning rate. If the
    longer runs do no better on the same seeds, the shorter ones had stopped improving
    (saturation).

    Returns:
        Rows as in :func:`label_runs`, with ``strategy`` ``"<strategy>, <factor>x steps"``.

    Raises:
        DataError: ``runs`` has no row of ``strategy`` at ``per_class``.
    """
    factor = check_int(factor, "factor", "saturation_runs", minimum=2)
    return rerun(runs, model=model, train=train, test=test, per_class=per_class, strategy=strategy,
                 label=f"{strategy}, {factor}x steps", factor=factor, steps=steps, profile=profile)
