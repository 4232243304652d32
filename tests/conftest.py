"""Shared test set-up: offline, quick profile, a non-interactive matplotlib backend.

The environment is set before any notebook kernel starts, so nbval's kernels inherit it too.
Outbound connections other than loopback are refused by pytest-socket (``--allow-hosts`` in
pyproject.toml), so no test can depend on a download.
"""

from __future__ import annotations

import os

os.environ.setdefault("TLW_PROFILE", "quick")
os.environ["TLW_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

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


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tiny models on one torch thread (two threads on shared cores spin and
    wait); the previous count is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
