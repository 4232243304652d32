"""Launching the ranks of a data-parallel run on one machine: :func:`launch`.

``torch.multiprocessing`` starts the processes and they meet through a file rendezvous (no
network port), for a notebook or a test; on a multi-GPU node or a cluster ``torchrun`` and
:func:`~tlworkbench.distributed.init` do the same.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .._validate import check_choice, check_int
from ..errors import InvalidParameterError

__all__ = ["launch"]


def _worker(rank: int, fn: Callable[..., Any], args: tuple[Any, ...], world_size: int, backend: str,
            folder: str, threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)
    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world_size)
    try:
        result = fn(*args)
        if rank == 0:
            with open(Path(folder) / "result.pkl", "wb") as f:
                pickle.dump(result, f)
    finally:
        dist.destroy_process_group()


def launch(fn: Callable[..., Any], *args: Any, world_size: int = 2, backend: str | None = None,
           threads: int | None = None, start_method: str = "spawn") -> Any:
    """Run ``fn(*args)`` in ``world_size`` new processes joined in one process group; rank 0's result.

    For one machine (a notebook, a test): ``torch.multiprocessing.spawn`` with a file rendezvous,
    no network port. On a multi-GPU node or a cluster, use ``torchrun`` and :func:`init` instead.

    Args:
        fn: a picklable function (defined in an importable module) that every rank runs.
        world_size: processes; with ``nccl``, at most the number of GPUs.
        backend: ``"gloo"`` (CPU) or ``"nccl"`` (one GPU per rank); default: ``nccl`` when there
            are at least ``world_size`` GPUs.
        threads: torch threads per process (``None``: torch's default).
        start_method: ``"spawn"`` (fresh interpreters: safe everywhere, each imports torch and
            the package again, seconds each) or ``"fork"`` (copies of this process: starts at
            once; CPU only, with ``threads=1``, before CUDA is initialised here).
    """
    world_size = check_int(world_size, "world_size", "launch", minimum=1)
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= world_size else "gloo"
    backend = check_choice(backend, "backend", "launch", ("gloo", "nccl"))
    start_method = check_choice(start_method, "start_method", "launch", ("spawn", "fork"))
    if start_method == "fork" and backend == "nccl":
        raise InvalidParameterError("CUDA cannot be used in forked processes: launch nccl ranks with "
                                    "start_method='spawn' (or torchrun).")
    import torch.multiprocessing as mp

    folder = tempfile.mkdtemp(prefix="tlw-launch-")
    try:
        mp.start_processes(_worker, args=(fn, args, world_size, backend, folder, threads), nprocs=world_size,
                           join=True, start_method=start_method)
        with open(Path(folder) / "result.pkl", "rb") as f:
            return pickle.load(f)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
