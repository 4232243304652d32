"""Profiles, seeds and devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tlworkbench import config


def test_profile_from_argument_and_environment(monkeypatch):
    monkeypatch.setenv("TLW_PROFILE", "full")
    assert config.get_profile().name == "full"
    assert config.get_profile("quick").name == "quick"
    assert config.get_profile(config.PROFILES["full"]).image_size > config.get_profile("quick").image_size


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="'profile' parameter .* Got 'fast'"):
        config.get_profile("fast")


def test_seed_everything_repeats_draws():
    config.seed_everything(3)
    a = (torch.rand(3), np.random.rand(2))
    config.seed_everything(3)
    b = (torch.rand(3), np.random.rand(2))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_device_override_and_amp(monkeypatch):
    monkeypatch.setenv("TLW_DEVICE", "cpu")
    assert config.get_device().type == "cpu"
    assert config.use_amp("cuda") and not config.use_amp("cpu")


def test_offline_switch(monkeypatch):
    monkeypatch.setenv("TLW_OFFLINE", "1")
    assert not config.is_online_allowed("full")
    monkeypatch.setenv("TLW_OFFLINE", "")
    assert config.is_online_allowed("full") and not config.is_online_allowed("quick")


def test_data_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TLW_DATA", str(tmp_path / "d"))
    assert config.data_home() == tmp_path / "d" and (tmp_path / "d").is_dir()
