"""Notebook 01 without the Debian data package: fashion_mnist is left out of the defaults, and said so."""

from __future__ import annotations

import pytest

from tlworkbench.data import list_datasets, offline
from tlworkbench.experiments import feature_extraction as fx


@pytest.fixture
def no_fashion(monkeypatch):
    """The machine as a user without root sees it: no dataset-fashion-mnist package, no copy of its files."""
    monkeypatch.setattr(offline, "fashion_dir", lambda: None)
    assert not list_datasets("image").set_index("name").loc["fashion_mnist", "available"]


def test_every_target_is_a_default_where_every_set_is_installed(monkeypatch):
    monkeypatch.setattr(offline, "fashion_dir", lambda: offline.FASHION_DIR)  # as if installed
    assert fx.targets_for("full") == fx.TARGETS and fx.missing_targets("full") == {}
    assert fx.targets_for("quick") == fx.QUICK_TARGETS
    assert fx.missing_line({}) == ""


def test_an_absent_set_leaves_the_defaults_with_one_line_that_says_how_to_install_it(no_fashion):
    assert fx.targets_for("full") == ("animal_mnist", "mnist")
    assert fx.targets_for("quick") == fx.QUICK_TARGETS  # the quick targets need no Debian package
    missing = fx.missing_targets("full")
    assert missing == {"fashion_mnist": "sudo apt-get install dataset-fashion-mnist"}
    assert fx.missing_targets("quick") == {}
    line = fx.missing_line(missing)
    assert "\n" not in line and "fashion_mnist" in line and "sudo apt-get install dataset-fashion-mnist" in line
    assert fx.missing_sets(["mnist+blur0.5", "fashion_mnist+invert1"]) == {
        "fashion_mnist+invert1": "sudo apt-get install dataset-fashion-mnist"}  # a shifted domain needs its set
