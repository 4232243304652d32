"""The ground truth of a ranking: every candidate fine-tuned with a learning rate chosen on validation.

A transferability score is judged by how well it predicts what fine-tuning reaches, so the
fine-tune has to be a real one, tuned alike for every candidate: a fresh head fitted by a
converged linear probe (L-BFGS, :func:`~tlworkbench.training.fit` ``strategy="linear_probe"``
with its defaults), then every layer trained with AdamW and a one-cycle schedule for a fixed
number of epochs, once per learning rate of the plan's grid. Each run keeps its best epoch on
the validation split (epoch 0 is the probe itself, so fine-tuning that only hurts falls back to
the probe); the learning rate with the best validation accuracy is chosen
(:func:`~tlworkbench.training.choose_on_validation`), and that run, trained on the training part
only, is the one measured on the test split. A small CNN trained from scratch gets the same grid
and the epochs of every small CNN: the reference a candidate has to beat for transfer to pay.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...config import Profile, get_profile
from ...distributed import run_grid
from ...evaluation import evaluate
from ...selection import Candidate, load_candidate
from ...training import LR_GRID, choose_on_validation, fit

__all__ = ["TuningPlan", "plan_for", "tune_candidate", "tune_cell", "tune_all", "SCRATCH"]

#: The scratch reference: the workbench's small CNN, randomly initialised and trained on the target alone.
SCRATCH = Candidate("small CNN from scratch", "small_cnn", None)


@dataclass(frozen=True)
class TuningPlan:
    """How every arm of the ground truth is trained.

    Attributes:
        lrs: the learning rates tried, the same for every arm.
        epochs: fine-tuning epochs of a pretrained ImageNet backbone (best epoch on validation).
        small_epochs: epochs of every small CNN arm: the workbench's pretrained CNNs, the random
            initialisation and the scratch reference alike.
        batch_size: examples per step.
        val_fraction: the share of each class's labels kept for validation.
    """

    lrs: tuple[float, ...] = LR_GRID
    epochs: int = 3
    small_epochs: int = 15
    batch_size: int = 32
    val_fraction: float = 0.2

    def epochs_for(self, name: str) -> int:
        """The epochs of a zoo architecture: :attr:`small_epochs` for the small CNN."""
        return self.small_epochs if name == "small_cnn" else self.epochs

    def describe(self) -> str:
        """One line for tables and conclusions."""
        lrs = ", ".join(f"{lr:g}" for lr in self.lrs)
        return (f"a converged linear probe, then every layer fine-tuned with AdamW (one-cycle, batch "
                f"{self.batch_size}) for {self.epochs} epochs (ImageNet backbones) or {self.small_epochs} epochs "
                f"(small CNNs), learning rate chosen from ({lrs}) and best epoch (0 = the probe) on a "
                f"{self.val_fraction:.0%} validation split of the label budget")


def plan_for(profile: str | Profile | None = None) -> TuningPlan:
    """The plan of a profile: the full profile tries all of :data:`~tlworkbench.training.LR_GRID`
    with more epochs; the quick one the same three-value sub-grid for every arm, its upper three
    values, to stay within minutes on a CPU: with (3e-4, 1e-3, 3e-3) every arm of notebook 05
    chose 3e-3, the edge of that grid, and 3e-4 was never best."""
    if get_profile(profile).name == "full":
        return TuningPlan(lrs=LR_GRID, epochs=8, small_epochs=30)
    return TuningPlan(lrs=LR_GRID[1:], epochs=3, small_epochs=15)


def tune_candidate(candidate: Candidate, train: Any, val: Any, test: Any, *, plan: TuningPlan, seed: int = 0,
                   profile: str | Profile | None = None, scratch: bool = False) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fine-tune one candidate at every learning rate of ``plan``; keep the best on validation.

    Args:
        candidate: the model to transfer.
        train: the training part of the label budget.
        val: the validation part (learning rate and epoch choices).
        test: the held-out test set, read once, by the chosen run.
        plan: the :class:`TuningPlan`.
        seed: seeds the new head and the training runs.
        profile: run profile.
        scratch: train the architecture from a random initialisation without a probe
            (``strategy="scratch"``) instead.

    Returns:
        ``(row, runs)``: the row holds ``label``, ``params`` (backbone parameters), ``lr``,
        ``best_epoch``, ``epochs``, ``val_accuracy``, ``probe_val_accuracy``, ``accuracy`` (test),
        ``correct`` (per test image, for paired comparisons) and ``seconds``; ``runs`` has one row
        per learning rate.
    """
    prof = get_profile(profile)
    num_classes = len(train.classes)
    model = load_candidate(candidate, num_classes=num_classes, seed=seed, profile=prof, progress=False)
    params = int(sum(p.numel() for p in model.backbone.parameters()))
    epochs = plan.epochs_for(candidate.name)
    t0 = time.process_time()
    probe_val = float("nan")
    if not scratch:
        fit(model, train, strategy="linear_probe", seed=seed, cache=False, progress=False, profile=prof)
        probe_val = evaluate(model, val).accuracy
    start = copy.deepcopy(model.state_dict())

    def run(lr: float) -> tuple[float, tuple[dict[str, Any], int]]:
        model.load_state_dict(start)
        history = fit(model, train, val, strategy="scratch" if scratch else "fine_tune", epochs=epochs, lr=lr,
                      batch_size=plan.batch_size, min_steps=0, seed=seed, cache=False, progress=False, profile=prof)
        frame = history.frame
        curve = frame[frame["split"] == "val"]["accuracy"].to_numpy()
        best = int(np.argmax(curve)) + 1
        if not scratch and probe_val >= curve[best - 1]:  # the probe itself is epoch 0
            model.load_state_dict(start)
            best = 0
        return (probe_val if best == 0 else float(curve[best - 1])), (copy.deepcopy(model.state_dict()), best)

    choice = choose_on_validation(run, plan.lrs, name="lr", progress=False)
    state, best_epoch = choice.output
    model.load_state_dict(state)
    result = evaluate(model, test)
    seconds = time.process_time() - t0
    correct = (np.asarray(result.y_pred) == np.asarray(result.y_true)).astype(float)
    row = {"label": candidate.label, "params": params, "lr": choice.best, "best_epoch": best_epoch,
           "epochs": epochs, "val_accuracy": choice.score, "probe_val_accuracy": probe_val,
           "accuracy": float(result.accuracy), "correct": correct, "seconds": seconds}
    runs = choice.table.assign(label=candidate.label)
    return row, runs


def tune_cell(*, candidate: Candidate, train: Any, val: Any, test: Any, plan: TuningPlan, seed: int,
              profile: Profile, scratch: bool) -> dict[str, Any]:
    """One arm of the ground truth, a cell of :func:`~tlworkbench.distributed.run_grid`:
    :func:`tune_candidate` as one row, ``{"row": row, "runs": [one mapping per learning rate]}``."""
    row, runs = tune_candidate(candidate, train, val, test, plan=plan, seed=seed, profile=profile, scratch=scratch)
    return {"row": row, "runs": runs.to_dict("records")}


def tune_all(candidates: Sequence[Candidate], train: Any, val: Any, test: Any, *, plan: TuningPlan, seed: int = 0,
             profile: str | Profile | None = None, executor: Any = None, folder: str | os.PathLike | None = None,
             progress: bool | None = None) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """:func:`tune_candidate` for every candidate and then :data:`SCRATCH`, one cell each of a grid
    (:func:`~tlworkbench.distributed.run_grid`).

    Args:
        candidates: the models to fine-tune (the scratch reference is added last).
        train, val, test: as for :func:`tune_candidate`; they travel to the executor's processes.
        plan: the :class:`TuningPlan`.
        seed: seeds the new heads and the training runs.
        profile: run profile.
        executor: a :class:`concurrent.futures.Executor` that runs the cells (a Dask client's
            ``get_executor()``, a ``ProcessPoolExecutor``); ``None``: here, one after another.
        folder: keep every finished fine-tune there, and read back those already kept.
        progress: a bar over the fine-tunes (``None``: in Jupyter only).

    Returns:
        ``(rows, runs)``: one row per candidate, the scratch reference's last, and every learning
        rate's validation accuracy (one table).
    """
    prof = get_profile(profile)
    cells = [{"candidate": c, "train": train, "val": val, "test": test, "plan": plan, "seed": seed, "profile": prof,
              "scratch": scratch} for c, scratch in [*((c, False) for c in candidates), (SCRATCH, True)]]
    tuned = run_grid(cells, tune_cell, executor=executor, folder=folder, progress=progress, desc="fine-tunes",
                     key=lambda cell: {"grid": "model_selection", **cell})
    runs = pd.concat([pd.DataFrame(r) for r in tuned["runs"]], ignore_index=True)
    return list(tuned["row"]), runs
