"""Data-parallel training with PyTorch's own collectives: :func:`fit` unchanged in every process.

Each process (a "rank", launched by ``torchrun`` or by :func:`launch`) holds a full copy of the
model and runs the same :func:`~tlworkbench.training.fit` call with the same global batch size.
Three things make the ranks one training run, as ``DistributedDataParallel`` does (Li et al.,
"PyTorch Distributed", VLDB 2020), without a change to the loop:

- **Shards of each global batch.** :func:`shard` wraps the training set so that its shuffled
  loader draws the same global order on every rank (same seed, same epoch) and gives each rank a
  disjoint slice of every global batch (``batch[rank::world_size]``). Reading without shuffling
  (feature extraction, validation) sees the whole set on every rank.
- **Averaged gradients.** :func:`data_parallel` registers a hook on every parameter
  (``Tensor.register_post_accumulate_grad_hook``) that weighs the rank's gradient by its share
  of the global batch and sums it over the ranks with ``all_reduce``, during the backward pass,
  so gradient clipping, the gradient scaler and the optimizer step all see the gradient of the
  global batch.
- **BatchNorm over the global batch.** In train mode the BatchNorm layers normalise with the
  mean and variance of the whole global batch (sums gathered with a differentiable
  ``all_reduce``, as ``nn.SyncBatchNorm`` does on GPUs, here on the CPU's ``gloo`` too), and
  update their running statistics from them: a run on 2 ranks computes what a run in one process
  computes, to rounding.

What still differs from one process: dropout draws its masks per rank; the ``train`` rows of the
history are rank 0's shard (the ``val`` rows, computed on every rank over the whole validation
set, are the global ones); a last global batch that would leave a rank fewer than 2 examples is
dropped (one example breaks BatchNorm in train mode; one process skips only a lone last one);
on a last, uneven batch the BatchNorm path of the gradient is weighted per rank, not per example.

Augmentation (``augment=``, as in :func:`fit`: training batches of the phases that run the
backbone) is applied by each rank to its own slice, with its own random stream seeded from
``seed``, the epoch and the rank: the ranks draw different crops and flips for different images,
a run repeats exactly, and a resumed run draws what the uninterrupted one drew. A 2-rank run
therefore augments differently from one process (whose draws come from the global generator).

:func:`launch` (:mod:`._launch`) starts the ranks on one machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .._validate import param_error
from ..config import Profile
from ..data.augment import augmented
from ..data.loader import BatchLoader
from ..data.sampling import validation_split
from ..errors import InvalidParameterError, MissingAssetError
from ..training import History, fit
from ._launch import launch

__all__ = ["world", "init", "shard", "ShardedDataset", "data_parallel", "fit_data_parallel", "launch"]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init(backend: str | None = None) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...).

    Args:
        backend: ``"nccl"`` (GPUs) or ``"gloo"`` (CPUs); default: ``nccl`` when CUDA is there.

    Returns:
        ``(rank, world_size)``. Nothing happens when the group exists already.
    """
    if not (dist.is_available() and dist.is_initialized()):
        if "RANK" not in os.environ:
            raise InvalidParameterError("init() joins a process group started by torchrun (RANK, WORLD_SIZE, "
                                        "MASTER_ADDR and MASTER_PORT are not set). Launch the script with "
                                        "'torchrun --nproc_per_node=N script.py', or use launch(fn, world_size=N).")
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend)
    return world()


def _device() -> torch.device:
    """This rank's device: its GPU under ``nccl``, else the CPU."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# --- the data -------------------------------------------------------------------------------------


class _Share:
    """This rank's share of the global batch being trained on (the gradient hooks read it)."""

    fraction: float | None = None  # None: every rank holds the whole batch


class ShardedLoader(BatchLoader):
    """A shuffled loader that yields this rank's disjoint slice of every global batch.

    The global order is :class:`~tlworkbench.data.loader.BatchLoader`'s (from ``seed`` and the
    epoch), the same on every rank; ``batch_size`` is the global batch. What reading a batch draws
    at random (an augmentation) comes from this rank's own stream, seeded from ``seed``, the epoch
    and the rank, and leaves the global generator (dropout's) as it was.
    """

    def __init__(self, dataset: Any, batch_size: int, *, rank: int, world_size: int, **kw: Any) -> None:
        super().__init__(dataset, batch_size, **kw)
        if self.batch_size % world_size:
            raise InvalidParameterError(f"The global batch_size={self.batch_size} must be a multiple of the "
                                        f"{world_size} ranks, so that every rank trains on an equal share.")
        self.rank, self.world_size = rank, world_size

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        n = len(self.dataset)
        if self.shuffle:  # as BatchLoader shuffles
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        else:
            order = torch.arange(n)
        stream = _rank_stream(self.seed, self.epoch, self.rank)
        self.epoch += 1
        fetch = self._fetcher()
        try:
            for start in range(0, len(self) * self.batch_size, self.batch_size):
                batch = order[start:start + self.batch_size]
                if len(batch) < 2 * self.world_size and len(batch) < self.batch_size:
                    break  # a rank would get fewer than 2 examples
                mine = batch[self.rank::self.world_size]
                _Share.fraction = len(mine) / len(batch)
                # torchvision's transforms draw from the global generator: lend it this rank's stream
                with torch.random.fork_rng(devices=[]):
                    torch.set_rng_state(stream)
                    out = fetch(mine)
                    stream = torch.get_rng_state()
                yield out
        finally:
            _Share.fraction = None


def _rank_stream(seed: int, epoch: int, rank: int) -> torch.Tensor:
    """The state of a CPU generator of its own for ``rank`` in ``epoch`` of a run with ``seed``."""
    key = int.from_bytes(hashlib.sha256(f"{seed}|{epoch}|{rank}".encode()).digest()[:8], "little")
    return torch.Generator().manual_seed(key).get_state()


class ShardedDataset:
    """A training set whose shuffled loader is sharded over the ranks (see :func:`shard`).

    Everything else (``len``, ``targets``, ``classes``, feature extraction, an unshuffled
    loader) is the wrapped set's, so the loop's epochs, schedule and checkpoints count the
    global set. With ``augment``, the shuffled loader's batches are augmented
    (:func:`~tlworkbench.data.augment.augmented`) and nothing else is.
    """

    def __init__(self, dataset: Any, rank: int, world_size: int, *,
                 augment: Callable[[torch.Tensor], torch.Tensor] | str | bool | None = None,
                 profile: str | Profile | None = None) -> None:
        self.dataset, self.rank, self.world_size = dataset, rank, world_size
        self.augment, self.profile = augment, profile
        self._batches = None

    @property
    def batch_augment(self) -> Callable[[torch.Tensor], torch.Tensor] | str | bool | None:
        """The augmentation of the training batches, which :func:`~tlworkbench.training.fit`
        records in the run's settings (its checkpoint) as if it had been passed to it."""
        return self.augment

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("dataset", "rank", "world_size", "augment", "profile", "_batches"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[i]

    def __repr__(self) -> str:
        extra = "" if self.augment is None else f", augment={self.augment!r}"
        return f"ShardedDataset({self.dataset!r}, rank={self.rank}, world_size={self.world_size}{extra})"

    def with_transform(self, transform: Any) -> ShardedDataset:
        return ShardedDataset(self.dataset.with_transform(transform), self.rank, self.world_size,
                              augment=self.augment, profile=self.profile)

    def loader(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
               device: str | torch.device | None = "cpu", drop_last: bool = False) -> BatchLoader:
        """Training (shuffled): this rank's slices of the global batches (augmented when asked);
        otherwise the whole set, as it is."""
        if not shuffle:
            return self.dataset.loader(batch_size, shuffle=False, seed=seed, device=device, drop_last=drop_last)
        if self._batches is None:
            self._batches = augmented(self.dataset, self.augment, profile=self.profile)
        return ShardedLoader(self._batches, batch_size, rank=self.rank, world_size=self.world_size, shuffle=True,
                             seed=seed, device=device, drop_last=drop_last)


def shard(dataset: Any, *, augment: Callable[[torch.Tensor], torch.Tensor] | str | bool | None = None,
          profile: str | Profile | None = None) -> Any:
    """``dataset`` with its training loader split over the ranks of the process group.

    Args:
        dataset: a data set from :func:`~tlworkbench.data.load_dataset`.
        augment: augment the training batches, as :func:`~tlworkbench.training.fit`'s ``augment``
            (each rank its own slice, from its own random stream).
        profile: the run profile for ``augment=True``.

    Returns:
        A :class:`ShardedDataset`; the data set itself outside a process group (or with one rank),
        where ``augment`` belongs to :func:`~tlworkbench.training.fit` (as
        :func:`fit_data_parallel` passes it).
    """
    if isinstance(dataset, ShardedDataset):
        if augment is None:
            return dataset
        dataset = dataset.dataset
    rank, size = world()
    if not hasattr(dataset, "loader") or not hasattr(dataset, "targets"):
        raise param_error("dataset", "shard", "a data set from tlw.load_dataset", type(dataset).__name__)
    if size == 1:
        return dataset
    augmented(dataset, augment, profile=profile)  # a bad recipe or a text set fails here, on every rank
    return ShardedDataset(dataset, rank, size, augment=augment, profile=profile)


# --- gradients and BatchNorm ----------------------------------------------------------------------


class _GlobalBatchNorm:
    """Mixed in front of a BatchNorm class: train-mode statistics over every rank's examples."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)  # type: ignore[misc]
        from torch.distributed.nn.functional import all_reduce

        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = x.new_full((1,), x.numel() / x.size(1), dtype=torch.float32)
        sums = all_reduce(torch.cat([x.sum(dims).float(), count]))
        n = sums[-1]
        mean = sums[:-1] / n
        centred = x - mean.view(shape).to(x.dtype)
        var = all_reduce((centred.float() ** 2).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - f).add_(mean.detach().to(self.running_mean.dtype), alpha=f)
                unbiased = var.detach() * n / (n - 1).clamp(min=1)
                self.running_var.mul_(1 - f).add_(unbiased.to(self.running_var.dtype), alpha=f)
        out = centred * torch.rsqrt(var + self.eps).view(shape).to(x.dtype)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


_GLOBAL_CLASSES: dict[type, type] = {}


def _global_class(cls: type) -> type:
    if cls not in _GLOBAL_CLASSES:
        _GLOBAL_CLASSES[cls] = type(f"Global{cls.__name__}", (_GlobalBatchNorm, cls), {})
    return _GLOBAL_CLASSES[cls]


@contextmanager
def data_parallel(model: nn.Module, *, sync_batchnorm: bool = True) -> Iterator[nn.Module]:
    """Within the block, ``model`` trains as one replica of a data-parallel run.

    On entry the weights and buffers of rank 0 are copied to every rank; during the block every
    gradient is averaged over the ranks (weighted by their shares of the global batch) as soon as
    it is accumulated, and BatchNorm layers in train mode use the global batch's statistics
    (``sync_batchnorm=False``: each rank's own, as plain ``DistributedDataParallel``). Leaving
    the block removes the hooks; the model keeps its classes and its trained weights. Outside a
    process group, or with one rank, nothing changes.

    Example:
        >>> with data_parallel(model):                                   # doctest: +SKIP
        ...     history = tlw.fit(model, shard(train), val, epochs=3, batch_size=64)
    """
    rank, size = world()
    if size == 1:
        yield model
        return
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, src=0)

    def average(p: torch.Tensor) -> None:
        share = _Share.fraction if _Share.fraction is not None else 1.0 / size
        p.grad.mul_(share)
        dist.all_reduce(p.grad)

    handles = [p.register_post_accumulate_grad_hook(average) for p in model.parameters()]
    swapped = []
    if sync_batchnorm:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, _GlobalBatchNorm):
                swapped.append((m, type(m)))
                m.__class__ = _global_class(type(m))
    try:
        yield model
    finally:
        for h in handles:
            h.remove()
        for m, cls in swapped:
            m.__class__ = cls


def fit_data_parallel(model: nn.Module, train: Any, val: Any = None, *,
                      checkpoint: str | os.PathLike | None = None, resume: bool | str | os.PathLike = False,
                      sync_batchnorm: bool = True, **fit_kwargs: Any) -> History:
    """:func:`~tlworkbench.training.fit` on every rank, as one run over the global batch.

    Call it in every process (under ``torchrun``, or in the function given to :func:`launch`)
    with the same arguments; ``batch_size`` is the global batch, a multiple of the world size.
    Rank 0 writes ``checkpoint``; every rank resumes from it. A checkpoint counts epochs and steps
    of the global set, so a run may resume on another number of ranks or in one process.
    ``augment`` has :func:`fit`'s meaning; each rank augments its own slice of every global batch
    from its own random stream (see the module's notes).

    Returns:
        The history (its ``train`` rows are rank 0's shard; see the module's notes).
    """
    rank, size = world()
    if size == 1:
        return fit(model, train, val, checkpoint=checkpoint, resume=resume, **fit_kwargs)
    # fit augments the whole set's batches; the sharded set augments this rank's slices instead
    augment = fit_kwargs.pop("augment", None)
    if fit_kwargs.get("val_fraction") is not None:  # carved as fit carves it, before the training set is sharded
        if val is not None:
            raise InvalidParameterError("Pass either val or val_fraction, not both.")
        train, val = validation_split(train, fraction=fit_kwargs.pop("val_fraction"), seed=fit_kwargs.get("seed", 0))
    fit_kwargs.pop("val_fraction", None)
    fit_kwargs.setdefault("device", _device())
    if rank != 0:
        fit_kwargs["progress"] = False
    # where to resume from, decided once (rank 0's view of the file system) for every rank
    decision = [None]
    if rank == 0:
        if resume is True:
            if checkpoint is None:
                raise InvalidParameterError("resume=True continues from the 'checkpoint' file: pass checkpoint=path.")
            decision = [str(checkpoint) if Path(checkpoint).is_file() else None]
        elif resume not in (False, None):
            if not Path(resume).is_file():
                raise MissingAssetError(f"The checkpoint {str(resume)!r} given as 'resume' does not exist.")
            decision = [str(resume)]
    dist.broadcast_object_list(decision, src=0)
    source = decision[0]
    scratch = None
    try:
        if rank == 0:
            own_checkpoint, own_resume = checkpoint, source if source is not None else False
        elif source is not None:
            # fit keeps a resumed checkpoint current: the other ranks resume from a private copy
            scratch = tempfile.mkdtemp(prefix=f"tlw-rank{rank}-")
            own_checkpoint, own_resume = None, shutil.copy(source, Path(scratch) / "checkpoint.pt")
        else:
            own_checkpoint, own_resume = None, False
        dist.barrier()  # every rank has read the file before rank 0 writes it again
        with data_parallel(model, sync_batchnorm=sync_batchnorm):
            return fit(model, shard(train, augment=augment, profile=fit_kwargs.get("profile")), val,
                       checkpoint=own_checkpoint, resume=own_resume, **fit_kwargs)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
