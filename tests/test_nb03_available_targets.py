"""Notebook 03 without the Debian package opencv-doc: opencv_digits is left out of every default."""

from __future__ import annotations

import pandas as pd
import pytest

from tlworkbench.data import offline
from tlworkbench.experiments import domain_mismatch as dm
from tlworkbench.experiments.domain_mismatch import shift


@pytest.fixture
def no_opencv(monkeypatch):
    monkeypatch.setattr(offline, "opencv_digits_file", lambda: None)


def test_the_targets_are_every_target_where_the_sets_are_installed(monkeypatch):
    monkeypatch.setattr(offline, "opencv_digits_file", lambda: offline.OPENCV_DIGITS)  # as if installed
    assert dm.targets_for() == {s: dm.TARGETS[s] for s in dm.SOURCES}
    assert dm.missing_targets() == {}


def test_an_absent_set_is_left_out_of_every_source_s_targets(no_opencv):
    targets = dm.targets_for()
    for source in dm.SOURCES:
        assert targets[source] == tuple(t for t in dm.TARGETS[source] if t != "opencv_digits")
    assert dm.missing_targets() == {"opencv_digits": "sudo apt-get install opencv-doc"}
    line = dm.missing_line(dm.missing_targets())
    assert "opencv_digits" in line and "sudo apt-get install opencv-doc" in line and "\n" not in line


def test_the_shift_table_measures_only_the_installed_targets_by_default(no_opencv, monkeypatch):
    asked = {}

    def record(source, targets=None, **kwargs):
        asked[source] = tuple(targets)
        return pd.DataFrame({"source": [source] * len(targets), "target": list(targets)})

    monkeypatch.setattr(shift, "shift_vs_drop", record)
    monkeypatch.setattr(shift, "source_models", lambda names, models, prof, progress: dict.fromkeys(names))
    table = dm.shift_table(profile="quick", progress=False)
    assert asked == dm.targets_for() and "opencv_digits" not in set(table["target"])
    assert len(table) == sum(len(t) for t in dm.targets_for().values())
