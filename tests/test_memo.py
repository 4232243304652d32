"""The experiment memo: one run shared by a notebook and its test, only when asked for."""

from __future__ import annotations

import pandas as pd

import tlworkbench as tlw

from tlworkbench.experiments._memo import CACHE_VARIABLE, memoized

CALLS: list[tuple] = []


@memoized
def experiment(n: int, *, seed: int = 0, profile=None, progress=None) -> pd.DataFrame:
    """A stand-in experiment that counts its runs."""
    CALLS.append((n, seed, progress))
    return pd.DataFrame({"n": [n], "seed": [seed]})


def test_without_the_variable_every_call_runs(monkeypatch):
    monkeypatch.delenv(CACHE_VARIABLE, raising=False)
    CALLS.clear()
    experiment(1)
    experiment(1)
    assert len(CALLS) == 2


def test_with_the_variable_the_same_arguments_run_once(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    CALLS.clear()
    first = experiment(2, seed=1, progress=True)
    again = experiment(2, seed=1, progress=False)  # progress is not part of the key
    assert CALLS == [(2, 1, True)]
    pd.testing.assert_frame_equal(first, again)
    experiment(2, seed=2)
    experiment(2, seed=1, profile="full")  # another profile is another result
    assert len(CALLS) == 3
    assert experiment.__name__ == "experiment" and "counts its runs" in experiment.__doc__


def test_a_change_of_the_package_source_is_another_result(monkeypatch, tmp_path):
    from tlworkbench.experiments import _memo

    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    CALLS.clear()
    experiment(3)
    experiment(3)
    monkeypatch.setattr(_memo, "source_digest", lambda: "other code")
    experiment(3)
    assert len(CALLS) == 2


@memoized
def grid_experiment(n: int, *, profile=None, executor=None, folder=None) -> int:
    """A stand-in grid whose result does not depend on where its cells run."""
    CALLS.append((n, executor, folder))
    return n * 2


def test_the_executor_and_the_folder_are_not_part_of_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    CALLS.clear()
    pool = object()  # an executor need not be picklable or hashable to be passed through
    assert grid_experiment(3, executor=pool, folder=str(tmp_path / "cells")) == 6
    assert CALLS == [(3, pool, str(tmp_path / "cells"))]
    assert grid_experiment(3) == 6  # read back: the same result, computed elsewhere
    assert len(CALLS) == 1


def test_another_set_of_installed_data_sets_is_another_result(monkeypatch, tmp_path):
    from tlworkbench.experiments import _memo

    installed = _memo.installed_datasets()
    assert "mnist" in installed and set(installed) <= set(tlw.list_datasets()["name"])
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    CALLS.clear()
    experiment(4)
    experiment(4)
    # a set that is always there goes missing: a fallback may have run, so not the stored result
    monkeypatch.setattr(_memo, "installed_datasets", lambda: tuple(n for n in installed if n != "mnist"))
    experiment(4)
    assert len(CALLS) == 2
