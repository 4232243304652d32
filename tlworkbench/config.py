"""Profiles, seeds, devices, threads and the data cache folder.

Nothing here runs at import time: no seeding, no device probing. Every function reads the
environment when it is called, so a notebook's ``parameters`` cell (or papermill) can change the
profile per run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ._validate import check_int, check_optional, param_error
from .errors import TLWError, did_you_mean

__all__ = [
    "Profile",
    "PROFILES",
    "get_profile",
    "seed_everything",
    "get_device",
    "use_amp",
    "data_home",
    "is_online_allowed",
    "resolve_progress",
    "limit_threads",
]


@dataclass(frozen=True)
class Profile:
    """Run-size settings shared by notebooks, experiments and tests.

    Attributes:
        name: ``"quick"`` (CPU, offline, minutes) or ``"full"`` (a GPU kernel, whole data sets).
        image_size: side length in pixels that images are resized to for ImageNet backbones.
        max_train: cap on training images per data set (``None``: all of them).
        max_test: cap on test images per data set (``None``: all of them).
        epochs: default number of epochs for fine-tuning.
        seeds: the seeds an experiment repeats over.
        batch_size: default mini-batch size.
        online: whether loaders may download weights or data when they are missing.
    """

    name: str
    image_size: int
    max_train: int | None
    max_test: int | None
    epochs: int
    seeds: tuple[int, ...]
    batch_size: int
    online: bool

    def with_(self, **changes) -> Profile:
        """Return a copy with some fields changed (``profile.with_(epochs=1)``)."""
        return replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", image_size=64, max_train=4000, max_test=1000, epochs=3,
                     seeds=(0, 1, 2), batch_size=64, online=False),
    "full": Profile("full", image_size=128, max_train=None, max_test=None, epochs=15,
                    seeds=(0, 1, 2, 3, 4), batch_size=128, online=True),
}


def get_profile(profile: str | Profile | None = None) -> Profile:
    """Return the run profile.

    Args:
        profile: ``"quick"``, ``"full"``, a :class:`Profile`, or ``None`` to read ``TLW_PROFILE``
            (default ``"quick"``).

    Raises:
        ValueError: for any other name.

    Example:
        >>> get_profile("quick").image_size
        64
    """
    if isinstance(profile, Profile):
        return profile
    name = profile if profile is not None else os.environ.get("TLW_PROFILE", "quick")
    name = str(name).strip().lower()
    if name not in PROFILES:
        raise _ProfileError(
            f"The 'profile' parameter must be one of {sorted(PROFILES)}. Got {name!r} instead."
            f"{did_you_mean(name, PROFILES)} Set TLW_PROFILE=quick or TLW_PROFILE=full, or pass profile='quick'."
        )
    return PROFILES[name]


class _ProfileError(TLWError, ValueError):
    pass


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA), and ask torch for deterministic kernels.

    Args:
        seed: the seed.
        deterministic: also set ``torch.use_deterministic_algorithms(True, warn_only=True)``
            and turn off cuDNN benchmarking.

    Returns:
        The seed, for logging.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return seed


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Pick a device: the one asked for, else CUDA, then Apple MPS, then the CPU.

    ``TLW_DEVICE`` overrides the automatic choice (``TLW_DEVICE=cpu`` on a GPU machine).
    """
    if device is None:
        device = os.environ.get("TLW_DEVICE") or None
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def use_amp(device: str | torch.device) -> bool:
    """Whether mixed precision is used on ``device``: on CUDA yes, elsewhere no."""
    return torch.device(device).type == "cuda"


def data_home() -> Path:
    """The cache folder for weights the workbench writes and data it prepares.

    ``TLW_DATA`` if set, else ``~/.cache/tlworkbench``. Created on first use.
    """
    path = Path(os.environ.get("TLW_DATA") or Path.home() / ".cache" / "tlworkbench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_online_allowed(profile: str | Profile | None = None) -> bool:
    """Whether loaders may try the internet: the profile allows it and ``TLW_OFFLINE`` is unset."""
    if os.environ.get("TLW_OFFLINE", "").strip() not in ("", "0", "false"):
        return False
    return get_profile(profile).online


def resolve_progress(progress: bool | None) -> bool:
    """Whether to show progress bars: ``None`` means on in a Jupyter kernel, off elsewhere.

    Every function with a ``progress`` argument takes ``None`` as its default and resolves it
    here, so a notebook shows bars and a script, a test or CI stays quiet unless asked.
    """
    if progress is not None:
        if not isinstance(progress, (bool, np.bool_)):
            raise param_error("progress", "resolve_progress", "True, False or None", progress)
        return bool(progress)
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


@contextmanager
def limit_threads(threads: int | None) -> Iterator[None]:
    """Run torch and the BLAS behind NumPy with ``threads`` threads each, restoring both afterwards.

    Small models on small batches gain little from more threads, and on cores shared with other
    work extra threads mostly wait for each other. ``None`` leaves both as they are.

    Example:
        >>> with limit_threads(1):
        ...     torch.get_num_threads()
        1
    """
    threads = check_optional(threads, check_int, "threads", "limit_threads", minimum=1)
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)
