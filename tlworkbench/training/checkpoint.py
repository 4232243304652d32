"""Checkpoints of a training run: written atomically after each epoch, read back to resume.

A checkpoint holds everything that decides what the next epoch does: the weights, the optimizer
and learning-rate scheduler, the gradient scaler, the phase plan, the history so far, the best
weights and the random state. Resuming from it ends where an uninterrupted run ends; resuming
with more epochs trains the extra ones. A checkpoint is one sealed file that carries its own
digest (:func:`~tlworkbench.zoo.weights.save_state_dict`). The same module keeps the in-memory
snapshots a run returns to when training diverges or is interrupted, and tells when it has
diverged (:func:`divergence`).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._validate import param_error
from ..errors import InvalidParameterError, MissingAssetError, TrainingDivergedError
from ..zoo.weights import load_into, load_state_dict, save_state_dict
from .strategies import Phase, resumed_plan

__all__ = ["CHECKPOINT_FORMAT", "GROWTH_LIMIT", "resume_path", "save_checkpoint", "load_checkpoint", "clone_state",
           "materialize", "divergence", "check_divergence"]

#: The layout version of the checkpoint files this version writes and reads.
CHECKPOINT_FORMAT = 2
#: An epoch's training loss this many times the first epoch's counts as divergence.
GROWTH_LIMIT = 1e4


def resume_path(resume: bool | str | os.PathLike | None, checkpoint: str | os.PathLike | None) -> Path | None:
    """The file to resume from, or ``None`` to start fresh.

    Raises:
        InvalidParameterError: ``resume=True`` without ``checkpoint``, or ``resume`` of another type.
        MissingAssetError: ``resume`` names a file that does not exist.
    """
    if resume is False or resume is None:
        return None
    if resume is True:
        if checkpoint is None:
            raise InvalidParameterError("resume=True continues from the 'checkpoint' file: pass checkpoint=path too.")
        return Path(checkpoint) if Path(checkpoint).is_file() else None
    if not isinstance(resume, (str, os.PathLike)):
        raise param_error("resume", "fit", "True, False or a checkpoint file", resume)
    path = Path(resume)
    if not path.is_file():
        raise MissingAssetError(f"The checkpoint {str(path)!r} given as 'resume' does not exist. Pass a file "
                                "written by fit(..., checkpoint=path), or resume=True to start when it is missing.")
    return path


def save_checkpoint(run: Any, path: Path) -> None:
    """Write the state of ``run`` (a training run of :func:`~tlworkbench.training.fit`) to ``path``."""
    cuda_rng = [torch.cuda.get_rng_state(run.device)] if run.device.type == "cuda" else []
    save_state_dict({
        "format": CHECKPOINT_FORMAT, "config": run.config, "epoch": run.done, "step": run.step,
        "phase_step": run.phase_step, "model": run.model.state_dict(), "optimizer": run.opt.state_dict(),
        "scheduler": run.sched.state_dict() if run.sched is not None else None,
        "scaler": run.scaler.state_dict(), "phases": [p.to_state() for p in run.phases],
        "history": run.rows, "best": run.best, "bad_epochs": run.bad_epochs,
        "stopped": run.stopped, "rng": {"cpu": torch.get_rng_state(), "cuda": cuda_rng},
    }, path)


def load_checkpoint(run: Any, path: Path) -> None:
    """Put ``run`` in the state that :func:`save_checkpoint` wrote to ``path``.

    Raises:
        InvalidParameterError: the file has another format, or was written for another strategy
            or model.
        IncompatibleWeightsError: the checkpoint's weights do not fit the model (another head size).
        CorruptFileError: the file cannot be read or fails its checksum.
    """
    ck = load_state_dict(path, what="checkpoint")
    if ck.get("format") != CHECKPOINT_FORMAT or not isinstance(ck.get("config"), dict):
        raise InvalidParameterError(f"The checkpoint {str(path)!r} has format {ck.get('format')!r}; this version "
                                    f"reads {CHECKPOINT_FORMAT}. Start a new run without resume.")
    old = ck["config"]
    for key in ("strategy", "model"):
        if old.get(key) != run.config[key]:
            raise InvalidParameterError(
                f"The checkpoint {str(path)!r} was written with {key}={old.get(key)!r}, not {run.config[key]!r}. "
                f"Resume with the same {key}, or start without resume.")
    changed = [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in run.config.items() if old.get(k) != v]
    if changed:
        # stack: load_checkpoint <- fit <- the caller of fit
        warnings.warn(f"Resuming {str(path)!r} with other settings ({'; '.join(changed)}); the result will "
                      "differ from an uninterrupted run.", UserWarning, stacklevel=3)
    load_into(run.model, ck["model"], what=f"weights in the checkpoint {str(path)!r}",
              fix="Resume into a model built like the one that wrote it (the same num_classes), or start "
                  "without resume.")
    phases = [Phase.from_state(p) for p in ck["phases"]]
    if old.get("epochs") != run.config["epochs"]:  # the epochs left follow the new plan
        phases = resumed_plan(phases, run.phases, ck["epoch"])
    run.phases = phases
    run.done, run.step = ck["epoch"], ck["step"]
    run.rows, run.best, run.bad_epochs, run.stopped = ck["history"], ck["best"], ck["bad_epochs"], ck["stopped"]
    if run.best["state"] is not None:
        run.best["state"] = {k: v.to(run.device) for k, v in run.best["state"].items()}
    run.history.stopped_early = bool(ck["stopped"]) and run.patience is not None
    if run.done >= 1:
        run.enter(run.phase_of(run.done))
        run.opt.load_state_dict(ck["optimizer"])  # the learning rates of the next step too
        if run.sched is not None and ck["scheduler"] is not None:
            run.sched.load_state_dict(ck["scheduler"])
        run.phase_step = ck["phase_step"]
    if ck["scaler"]:
        run.scaler.load_state_dict(ck["scaler"])
    torch.set_rng_state(ck["rng"]["cpu"])
    if ck["rng"]["cuda"] and run.device.type == "cuda":
        torch.cuda.set_rng_state(ck["rng"]["cuda"][0], run.device)
    run.sync_history()


def clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A snapshot of what training can change.

    Trainable parameters and buffers are copied, frozen parameters kept by reference (copying a
    frozen backbone every epoch would cost more than a linear probe's whole epoch). Call
    :func:`materialize` before a frozen parameter starts to train.
    """
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    return {k: v.detach() if k in frozen else v.detach().clone() for k, v in model.state_dict().items()}


def materialize(state: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor] | None:
    """Turn every reference in a snapshot into a copy."""
    return None if state is None else {k: v.clone() for k, v in state.items()}


def divergence(model: nn.Module, loss: float, first_loss: float | None) -> str | None:
    """What shows that training diverged, or ``None`` when nothing does.

    Training has diverged when the epoch's training ``loss`` is not finite or is more than
    :data:`GROWTH_LIMIT` times the first epoch's, or when a parameter or buffer of ``model`` is
    not finite (a BatchNorm running variance overflows long before the loss does).
    """
    if not math.isfinite(loss):
        return f"the training loss became {loss}"
    if first_loss is not None and first_loss > 0 and loss > GROWTH_LIMIT * first_loss:
        return f"the training loss grew to {loss:.3g}, over {GROWTH_LIMIT:.0e} times the first epoch's {first_loss:.3g}"
    bad = [k for k, v in model.state_dict().items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        return f"{', '.join(bad[:4])}{' ...' if len(bad) > 4 else ''} became NaN or infinite"
    return None


def check_divergence(run: Any, epoch: int, last_good: dict[str, torch.Tensor]) -> None:
    """Raise when the epoch just trained by ``run`` diverged (see :func:`divergence`).

    The model is put back at ``last_good`` (its weights after the last good epoch) and the
    diverged epoch leaves the history first, so the caller keeps a usable model.

    Raises:
        TrainingDivergedError: what diverged, where the model stands now, and the fix.
    """
    train_rows = [r for r in run.rows if r["split"] == "train"]
    what = divergence(run.model, float(train_rows[-1]["loss"]), float(train_rows[0]["loss"]))
    if what is None:
        return
    run.model.load_state_dict(last_good)
    run.rows.pop()
    run.sync_history()
    where = f"the end of epoch {epoch - 1}" if epoch > 1 else "the start of training"
    err = TrainingDivergedError(
        f"Training diverged in epoch {epoch} at learning rate {run.lr:g}: {what}. The model is back at its "
        f"weights from {where}. Lower lr (for example lr={run.lr / 10:g}), or pass max_grad_norm=1.0.")
    err.history = run.history  # type: ignore[attr-defined]
    raise err
