"""Mini-batches of an in-memory data set, on the CPU or a CUDA device.

The loader is written by hand rather than taken from ``torch.utils.data.DataLoader``: a
``DataLoader`` collates one ``__getitem__`` call per example and spends its time in Python, while
here a batch is one index into the resized uint8 tensor and one normalisation.
``bench/bench_loader.py`` measures it against EfficientNet-Lite0's forward pass on the quick
profile's ``animal_mnist`` and requires the loader to be at least 3 times faster than the model,
so that the model, not the data, sets the pace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .._validate import check_bool, check_int
from ..config import get_device

__all__ = ["BatchLoader"]

# A resident copy of a set on the GPU may take at most this share of the free GPU memory.
DEVICE_MEMORY_SHARE = 0.25


class BatchLoader:
    """Iterate over ``(x, y)`` mini-batches of an in-memory data set.

    On the CPU a batch is one index into the resized uint8 tensor, then a normalisation. On CUDA
    an image set that fits (under a quarter of the free GPU memory) is copied to the GPU once as
    uint8 and batches are gathered and normalised there; a larger one is sent batch by batch from
    pinned host memory, as uint8, with asynchronous copies.

    Args:
        dataset: an :class:`~tlworkbench.data.ImageDataset` or
            :class:`~tlworkbench.data.TextDataset`.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (from ``seed`` and the epoch number).
        seed: the shuffling seed.
        device: where the batches go (``None``: :func:`tlworkbench.config.get_device`).
        drop_last: drop a last incomplete batch.

    Raises:
        InvalidParameterError: ``batch_size`` is not a positive int, or ``seed``, ``shuffle`` or
            ``drop_last`` is of the wrong type.
    """

    def __init__(self, dataset: Any, batch_size: int = 64, *, shuffle: bool = False,
                 seed: int = 0, device: str | torch.device | None = "cpu", drop_last: bool = False) -> None:
        func = "BatchLoader"
        self.dataset = dataset
        self.batch_size = check_int(batch_size, "batch_size", func, minimum=1)
        self.shuffle = check_bool(shuffle, "shuffle", func)
        self.seed = check_int(seed, "seed", func)
        self.device = torch.device(device) if device is not None else get_device()
        self.drop_last = check_bool(drop_last, "drop_last", func)
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        self.epoch += 1
        fetch = self._fetcher()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield fetch(order[start:start + self.batch_size])

    def _fetcher(self) -> Callable[[torch.Tensor], tuple[Any, torch.Tensor]]:
        ds, device = self.dataset, self.device
        images = ds.modality == "image"
        if images:
            ds.all_pixels()  # the one-off resize runs with every thread, before the batches
        if device.type == "cuda" and images:
            resident = _resident_pixels(ds, device)
            if resident is not None:
                def fetch_resident(idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
                    return ds.finish(resident[idx.to(device)]), _to_device(ds.targets[idx], device)
                return fetch_resident

            def fetch_pinned(idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
                # uint8 crosses the bus (a quarter of float32); normalisation runs on the GPU
                with _one_thread():
                    px = ds.get_pixels(idx)
                return ds.finish(_to_device(px, device)), _to_device(ds.targets[idx], device)
            return fetch_pinned

        def fetch(idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
            with _one_thread():
                x, y = ds.get_batch(idx)
            return _to_device(x, device), _to_device(y, device)
        return fetch


def _resident_pixels(ds: Any, device: torch.device) -> torch.Tensor | None:
    """An image set's resized uint8 pixels kept on a CUDA device, or ``None`` when they do not fit.

    The copy is cached on the data set (shared by its views), so a second epoch or a second
    loader does not copy again.
    """
    t = ds.transform
    key = (t.size, t.channels, str(device)) if t is not None else (-1, -1, str(device))
    if key not in ds._on_device:
        px = ds.all_pixels()
        free, _ = torch.cuda.mem_get_info(device)
        if px.numel() > DEVICE_MEMORY_SHARE * free:
            return None
        ds._on_device[key] = px.to(device)
    return ds._on_device[key]


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run a batch's small tensor operations on one thread.

    A batch is a gather and a normalisation of about a megabyte: the intra-op thread pool gains
    nothing there, and on a busy CPU (a laptop, a shared CI runner) its threads wait for each
    other: on a loaded 2-core CPU that made batches 3 to 20 times slower. The model keeps every
    thread.
    """
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _to_device(x: Any, device: torch.device) -> Any:
    if isinstance(x, dict):
        return {k: _to_device(v, device) for k, v in x.items()}
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)
