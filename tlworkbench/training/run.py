"""The state of one :func:`~tlworkbench.training.fit` call and its epochs: :class:`Run`.

A run walks the phases of its plan, one epoch at a time: a training pass (mini-batches through
the loss hook, or full-batch L-BFGS on cached features), a validation pass, the best weights, a
checkpoint, the callbacks. Losses are checked for NaN or infinity in batches of steps (each
check waits for the GPU); a bad one puts the model back at the last good epoch's weights.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..config import use_amp
from ..errors import TrainingDivergedError
from ..features import extract_features, inference_batch_size, to_model_input
from .batchnorm import epoch_statistics
from .checkpoint import check_divergence, clone_state, materialize, save_checkpoint
from .history import History
from .loss import StepContext
from .optim import frozen_in, make_optimizer, make_scheduler, param_groups
from .probe import WEIGHT_DECAY, FeatureScaling, probe_linear, probe_step
from .strategies import Phase, set_trainable

__all__ = ["Run"]


class Run:
    """The state of one :func:`~tlworkbench.training.fit` call (what a checkpoint holds).

    Built by ``fit`` from its checked arguments (``model``, ``train``, ``val``, ``phases``,
    ``lr``, ``step_loss`` ...), which become attributes.
    """

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)
        if kw.get("batch_data") is None:  # the training batches of phases that run the backbone
            self.batch_data = self.train
        self.history = History(self.strategy)
        self.rows: list[dict[str, Any]] = []
        self.done = 0  # epochs completed
        self.step = 0  # optimizer steps since the start
        self.phase_step = 0  # steps since the current phase began
        self.phase: Phase | None = None
        self.opt: torch.optim.Optimizer | None = None
        self.sched: torch.optim.lr_scheduler.LRScheduler | None = None
        self.peaks: list[float] = []
        self.best: dict[str, Any] = {"accuracy": None, "loss": None, "epoch": None, "state": None}
        self.bad_epochs = 0
        self.stopped = False
        self.interrupted = False
        self.warned_frozen = False
        self.amp = use_amp(self.device)
        self.amp_dtype = (torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        conv = any(isinstance(m, nn.Conv2d) for m in self.model.modules())
        # channels-last convolutions pay off on tensor cores; on CPUs they help inference only
        self.channels_last_train = conv and self.device.type == "cuda"
        self.channels_last_eval = conv
        if self.channels_last_train:
            self.model.to(memory_format=torch.channels_last)
        self.feats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.scaling: FeatureScaling | None = None  # of the training features, for the L-BFGS probe
        multi = {self.mults.get(g, 1.0) for g in self.model.groups if g != "other"}
        self.lr_columns = len(multi) > 1
        self.step_loss.start(StepContext(device=self.device, batch_size=self.batch_size, seed=self.seed,
                                         channels_last=self.channels_last_train,
                                         label_smoothing=self.label_smoothing))
        self.epoch_steps = self.step_loss.steps_per_epoch()
        self.stream: Iterator[tuple[Any, torch.Tensor]] | None = None
        self.stream_at = 0  # the step at which the cycling training batches stand

    # --- phases, optimizer and schedule
    def enter(self, phase: Phase) -> None:
        """Start ``phase``: set the trainable flags, rebuild the optimizer, restart the schedule."""
        old = self.opt
        self.phase = phase
        self.trainable = set_trainable(self.model, phase.names)
        self.model.train()  # re-applies the BatchNorm policy to the new frozen set
        groups = param_groups(self.model, phase.names, self.lr, self.mults)
        self.opt = make_optimizer(self.optimizer, groups, lr=self.lr, weight_decay=self.weight_decay)
        frozen = frozen_in(self.opt, self.model)
        if frozen and not self.warned_frozen:
            self.warned_frozen = True
            # stack: enter <- loop or load_checkpoint <- fit <- the caller of fit
            warnings.warn(f"The optimizer holds frozen parameters ({', '.join(frozen[:4])}"
                          f"{' ...' if len(frozen) > 4 else ''}); they take no step but cost memory. "
                          "Build it from the param_groups the factory receives.", UserWarning, stacklevel=4)
        if old is not None:  # parameters that keep training keep their moments
            for p, s in old.state.items():
                if any(p is q for g in self.opt.param_groups for q in g["params"]):
                    self.opt.state[p] = s
        self.peaks = [self.lr * g.get("lr_mult", 1.0) for g in self.opt.param_groups]
        if isinstance(self.opt, torch.optim.LBFGS):
            self.sched = None  # full-batch steps with a line search: no schedule
        else:
            total = (phase.last - phase.first + 1) * self.steps_per_epoch(phase)
            self.sched = make_scheduler(self.schedule, self.opt, self.peaks, total=total, warmup=self.warmup)
        self.phase_step = 0

    def phase_of(self, epoch: int) -> Phase:
        """The phase that ``epoch`` belongs to."""
        return next(p for p in self.phases if p.first <= epoch <= p.last)

    def steps_per_epoch(self, phase: Phase) -> int:
        """Batches in an epoch of ``phase`` (a lone last example counts, though it may be skipped)."""
        if self.epoch_steps is not None and not phase.features:
            return self.epoch_steps
        return -(-len(self.train) // self.batch_size)

    def factor(self) -> float:
        """Where the schedule stands: the learning rate now over its peak."""
        for g, peak in zip(self.opt.param_groups, self.peaks):
            if peak > 0:
                return g["lr"] / peak
        return 1.0

    def _features(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in self.feats:
            data = self.train if split == "train" else self.val
            f, y = extract_features(self.model, data, device=self.device,
                                    cache=self.cache, cache_dir=self.cache_dir, progress=self.progress)
            self.feats[split] = (f.to(self.device), y.to(self.device))
        return self.feats[split]

    # --- the epochs
    def loop(self) -> None:
        """Train the remaining epochs; load the best weights at the end."""
        from tqdm.auto import tqdm

        bar = tqdm(total=self.epochs, initial=self.done, desc=f"{self.strategy}", disable=not self.progress)
        # the weights at the end of the last complete epoch: where a diverged or interrupted run returns
        last_good = clone_state(self.model)
        try:
            for epoch in range(self.done + 1, self.epochs + 1):
                if self.stopped:
                    break
                phase = self.phase_of(epoch)
                if phase != self.phase:
                    # parameters that were frozen may train from now on: snapshots must own them
                    last_good = materialize(last_good)
                    self.best["state"] = materialize(self.best["state"])
                    self.enter(phase)
                self.rows.append(self._train_epoch(epoch, last_good))
                check_divergence(self, epoch, last_good)
                last_good = clone_state(self.model)
                if self.val is not None:
                    val_row = self._validate(epoch)
                    self.rows.append(val_row)
                    self._track_best(epoch, val_row, last_good)
                else:
                    self.best.update(epoch=epoch)
                self.done = epoch
                self.sync_history()
                if self.checkpoint is not None:
                    save_checkpoint(self, self.checkpoint)
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in self.rows[-1].items() if k in ("loss", "accuracy")})
                for cb in self.callbacks:
                    if cb(epoch, self.history) is True:
                        self.stopped = True
        except KeyboardInterrupt:
            self.interrupted = True
            if self.best["state"] is None:  # no validation: the last complete epoch is the best known
                self.model.load_state_dict(last_good)
        finally:
            bar.close()
        if self.best["state"] is not None:
            self.model.load_state_dict(self.best["state"])
        self.sync_history()

    def _track_best(self, epoch: int, row: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
        acc, loss = row["accuracy"], row["loss"]
        b = self.best
        if b["accuracy"] is None or acc > b["accuracy"] or (acc == b["accuracy"] and loss < b["loss"]):
            self.best = {"accuracy": acc, "loss": loss, "epoch": epoch, "state": state}
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
            if self.patience is not None and self.bad_epochs >= self.patience:
                self.stopped = True
                self.history.stopped_early = True

    def sync_history(self) -> None:
        """Bring the :class:`History` up to date with the rows and the best epoch."""
        h = self.history
        h.frame = pd.DataFrame(self.rows) if self.rows else h.frame
        h.best_epoch = self.best["epoch"]
        h.best_accuracy = self.best["accuracy"]
        h.interrupted = self.interrupted

    def _batches(self, epoch: int) -> tuple[int, Any]:
        if self.phase.features:
            f, y = self._features("train")
            n = len(y)
            g = torch.Generator().manual_seed(self.seed * 100_003 + epoch - 1)  # as BatchLoader shuffles
            order = torch.randperm(n, generator=g).to(self.device)
            starts = range(0, n, self.batch_size)
            return len(starts), ((f[order[s:s + self.batch_size]], y[order[s:s + self.batch_size]]) for s in starts)
        if self.epoch_steps is not None:
            start = (epoch - 1) * self.epoch_steps
            if self.stream is None or self.stream_at != start:
                self.stream = self._cycle(start)
            self.stream_at = start + self.epoch_steps
            return self.epoch_steps, itertools.islice(self.stream, self.epoch_steps)
        # augmented batches (when asked) in phases that run the backbone; cached features read plain images
        loader = self.batch_data.loader(self.batch_size, shuffle=True, seed=self.seed, device=self.device)
        loader.epoch = epoch - 1  # the shuffle depends on the epoch only, so a resumed run sees the same order
        return len(loader), iter(loader)

    def _cycle(self, start: int) -> Iterator[tuple[Any, torch.Tensor]]:
        """Full training batches without end, from the ``start``-th batch on."""
        size = min(self.batch_size, len(self.train))
        loader = self.batch_data.loader(size, shuffle=True, seed=self.seed, device=self.device, drop_last=True)
        rounds, skip = divmod(start, len(loader))
        while True:
            loader.epoch = rounds
            batches = iter(loader)
            for _ in range(skip):  # only when a run resumes mid-round
                next(batches)
            yield from batches
            rounds, skip = rounds + 1, 0

    def _train_epoch(self, epoch: int, last_good: dict[str, torch.Tensor]) -> dict[str, Any]:
        from tqdm.auto import tqdm

        model, opt = self.model, self.opt
        model.train()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t0 = time.perf_counter()
        if isinstance(opt, torch.optim.LBFGS):
            return self._lbfgs_epoch(epoch, t0)
        features = self.phase.features
        forward = model.head if features else model
        self.step_loss.start_epoch(epoch)
        n_steps, batches = self._batches(epoch)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        metric_sums: dict[str, torch.Tensor] = {}
        seen = taken = 0
        factors = 0.0
        pending: list[torch.Tensor] = []
        check_every = 1 if self.device.type == "cpu" else 16  # each check waits for the GPU
        params = [p for g in opt.param_groups for p in g["params"]]
        # BatchNorm layers that train average this epoch's statistics (see .batchnorm)
        with epoch_statistics(model, enabled=self.bn_stats == "epoch" and not features):
            inner = tqdm(batches, total=n_steps, desc=f"epoch {epoch}", leave=False, disable=not self.progress)
            b = 0
            for b, (x, y) in enumerate(inner):
                if len(y) == 1 and n_steps > 1 and not features:
                    continue  # a lone last example breaks BatchNorm in train mode
                factor = self.factor()
                if not features:
                    x = to_model_input(x, channels_last=self.channels_last_train)
                with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp and not features):
                    out = self.step_loss(forward, x, y)
                loss = out.loss
                pending.append(loss.detach())
                if len(pending) >= check_every:
                    self._check_finite(pending, epoch, b, self.step + 1, last_good)
                    pending = []
                opt.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                if self.max_grad_norm is not None:
                    self.scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(params, self.max_grad_norm)
                self.scaler.step(opt)
                self.scaler.update()
                if self.sched is not None:
                    self._advance_schedule()
                loss_sum += loss.detach() * len(y)
                correct += (out.logits.detach().argmax(1) == y).sum()
                for k, v in out.metrics.items():
                    metric_sums[k] = metric_sums.get(k, 0) + v.detach().float() * len(y)
                seen += len(y)
                taken += 1
                factors += factor
                self.step += 1
                self.phase_step += 1
        if pending:
            self._check_finite(pending, epoch, b, self.step, last_good)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - t0
        metrics = {k: float(v) / max(1, seen) for k, v in metric_sums.items()}
        return self._row(epoch, "train", float(loss_sum) / max(1, seen), float(correct) / max(1, seen), seconds,
                         factors / max(1, taken), metrics)

    def _advance_schedule(self) -> None:
        if not self.scaler.is_enabled():
            self.sched.step()
            return
        # the scaler skips a step whose gradients overflowed; the schedule advances all the same,
        # as it counts batches, and PyTorch's warning about that order is expected here
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
            self.sched.step()

    def _lbfgs_epoch(self, epoch: int, t0: float) -> dict[str, Any]:
        f, y = self._features("train")
        head = self.model.head
        head.eval()  # a line search needs the same function at every evaluation: no dropout
        if self.scaling is None:
            self.scaling = FeatureScaling(f)
        probe_step(probe_linear(head), self.opt, f, y, self.scaling,
                   weight_decay=WEIGHT_DECAY if self.weight_decay is None else self.weight_decay,
                   label_smoothing=self.label_smoothing)
        self.step += 1
        with torch.no_grad():
            out = head(f)
            loss = F.cross_entropy(out, y)
        if not torch.isfinite(loss):
            raise TrainingDivergedError(f"The training loss became {float(loss)} in epoch {epoch} (L-BFGS, lr "
                                        f"{self.lr:g}). Lower lr (for example lr={self.lr / 10:g}).")
        return self._row(epoch, "train", float(loss), float((out.argmax(1) == y).float().mean()),
                         time.perf_counter() - t0, 1.0)

    def _check_finite(self, pending: list[torch.Tensor], epoch: int, last_batch: int, last_step: int,
                      last_good: dict[str, torch.Tensor]) -> None:
        """Raise when a pending loss is not finite; ``last_*`` number the last pending one (steps from 1)."""
        losses = torch.stack(pending)
        bad = ~torch.isfinite(losses)
        if not bool(bad.any()):
            return
        first = int(bad.nonzero()[0])
        back = len(pending) - 1 - first
        step, batch = last_step - back, last_batch - back
        lrs = ", ".join(f"{g.get('name', i)} {g['lr']:.3g}" for i, g in enumerate(self.opt.param_groups))
        self.model.load_state_dict(last_good)
        self.sync_history()
        where = f"the end of epoch {epoch - 1}" if epoch > 1 else "the start of training"
        err = TrainingDivergedError(
            f"The training loss became {float(losses[first])} at step {step} (epoch {epoch}, batch {batch + 1}) "
            f"with learning rate {lrs}. The model is back at its weights from {where}. Lower lr (for example "
            f"lr={self.lr / 10:g}) or pass max_grad_norm=1.0.")
        err.history = self.history  # type: ignore[attr-defined]
        raise err

    def _validate(self, epoch: int) -> dict[str, Any]:
        model = self.model
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        model.eval()
        with torch.no_grad():
            if self.phase.features:
                f, y = self._features("val")
                batches = ((f[s:s + 4096], y[s:s + 4096]) for s in range(0, len(y), 4096))
                forward = model.head
            else:
                batches = iter(self.val.loader(inference_batch_size(self.device), device=self.device))
                forward = model
            for x, y in batches:
                if not self.phase.features:
                    x = to_model_input(x, channels_last=self.channels_last_eval)
                with torch.autocast(self.device.type, dtype=self.amp_dtype,
                                    enabled=self.amp and not self.phase.features):
                    out = forward(x)
                loss_sum += F.cross_entropy(out.float(), y, reduction="sum")
                correct += (out.argmax(1) == y).sum()
        model.train()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        n = len(self.val)
        return self._row(epoch, "val", float(loss_sum) / n, float(correct) / n, time.perf_counter() - t0, None)

    def _row(self, epoch: int, split: str, loss: float, accuracy: float, seconds: float,
             factor: float | None, metrics: dict[str, float] | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy, **(metrics or {}),
                               "lr": self.lr * factor if factor is not None else float("nan")}
        if self.lr_columns:
            active = {g["name"]: g.get("lr_mult", 1.0) for g in self.opt.param_groups}
            for g in self.model.groups:
                ok = factor is not None and g in active
                row[f"lr_{g}"] = self.lr * active[g] * factor if ok else float("nan")
        row.update(seconds=seconds, trainable_params=self.trainable)
        return row
