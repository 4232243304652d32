"""Shared test set-up: offline, quick profile, a non-interactive matplotlib backend.

The environment is set before any notebook kernel starts, so nbval's kernels inherit it too:
``TLW_EXPERIMENT_CACHE`` names a fresh folder for the session, so each notebook's experiment runs
once, in its test of the effects, and the notebook under nbval reads that same result back
(tlworkbench/experiments/_memo.py); the folder is removed when the session ends.
Outbound connections other than loopback are refused by pytest-socket (``--allow-hosts`` in
pyproject.toml), so no test can depend on a download.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TLW_PROFILE", "quick")
os.environ["TLW_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
if not os.environ.get("TLW_EXPERIMENT_CACHE"):
    _results = tempfile.mkdtemp(prefix="tlw-experiments-")
    os.environ["TLW_EXPERIMENT_CACHE"] = _results
    atexit.register(shutil.rmtree, _results, ignore_errors=True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402


@pytest.fixture
def pyplot():
    """matplotlib.pyplot with every figure closed before and after the test."""
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.fixture
def shared_files():
    """Tensors reach pool workers through shared-memory files, not the file descriptors torch
    passes over a local Unix socket by default (which the offline socket guard refuses)."""
    import torch.multiprocessing as mp

    before = mp.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")
    yield
    mp.set_sharing_strategy(before)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tiny models on one torch thread (two threads on shared cores spin and
    wait); the previous count is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

