"""Notebook 01's comparison as a grid: a process pool gives the serial table, and a folder resumes it.

A tiny grid (one target, budgets of 1 and 2 labels per class, one seed, 50 test images) runs every
arm and both rounds of cells: the choices on validation at 2 labels per class, then the runs at 1
label per class, which have nothing to validate on and reuse them (three trainings of the small
CNN in all).
"""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from tlworkbench.distributed import process_pool
from tlworkbench.experiments import feature_extraction as fx
from tlworkbench.experiments.feature_extraction import cells

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"per_class": (1, 2), "seeds": (0,), "profile": "quick", "n_test": 50, "progress": False}


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """The tiny grid run here, one cell after another, its cells kept in a folder."""
    folder = tmp_path_factory.mktemp("cells")
    return fx.data_efficiency("animal_mnist", folder=folder, **TINY), folder


@pytest.fixture(scope="module")
def serial(kept):
    return kept[0]


def test_the_grid_runs_every_arm_budget_and_seed_with_the_protocol(serial):
    runs, grids = serial
    assert len(runs) == 2 * 2  # arms x budgets
    assert set(runs["strategy"]) == {fx.PROBE, fx.SCRATCH}
    at = runs.set_index(["strategy", "per_class", "seed"])
    for arm in (fx.PROBE, fx.SCRATCH):
        assert at.loc[(arm, 2, 0), "chosen_on"] == "val" and at.loc[(arm, 2, 0), "n_val"] == 10
        assert at.loc[(arm, 1, 0), "chosen_on"] == "val at 2/class, seed 0"
        assert at.loc[(arm, 1, 0), "value"] == at.loc[(arm, 2, 0), "value"]
        assert at.loc[(arm, 1, 0), "n_val"] == 0 and pd.isna(at.loc[(arm, 1, 0), "val_accuracy"])
    assert set(grids["per_class"]) == {2} and set(grids["seed"]) == {0}
    assert runs["accuracy"].between(0, 1).all()


def test_a_process_pool_gives_the_serial_table(serial):
    for cache in (cells._model, cells._data, cells._features):
        cache.cache_clear()  # each worker builds its model, data and features itself
    with process_pool(2) as pool:
        runs, grids = fx.data_efficiency("animal_mnist", executor=pool, **TINY)
    pd.testing.assert_frame_equal(runs, serial[0])
    pd.testing.assert_frame_equal(grids, serial[1])


def _refuse(*args, **kwargs):
    raise AssertionError("a kept cell was computed again")


def test_a_folder_keeps_the_cells_and_a_second_run_reads_them_back(kept, tmp_path, monkeypatch):
    (runs, grids), folder = kept
    files = sorted(folder.glob("*.cell.pkl"))
    assert len(files) == len(runs)  # one file per run: 2 choices, then 2 runs that reuse them
    for path in files:
        (tmp_path / path.name).write_bytes(path.read_bytes())  # a copy this test may change
    for name in ("tune_probe", "fixed_probe", "tune_scratch", "train_scratch"):
        monkeypatch.setattr(cells, name, _refuse)  # every cell must be read back, none computed
    again = fx.data_efficiency("animal_mnist", folder=tmp_path, **TINY)
    pd.testing.assert_frame_equal(again[0], runs)
    pd.testing.assert_frame_equal(again[1], grids)
    # what comes back is what the files hold: a changed file changes the table
    changed = 0
    for path in tmp_path.glob("*.cell.pkl"):
        stored = pickle.loads(path.read_bytes())
        row = stored["rows"][0]
        if row["grid"]:  # a choice: its own test accuracy
            row["accuracy"] = 0.123
            path.write_bytes(pickle.dumps(stored))
            changed += 1
    assert changed == 2  # the probe's and the small CNN's choice at 2 labels per class
    table = fx.data_efficiency("animal_mnist", folder=tmp_path, **TINY)[0]
    tuned = table["chosen_on"] == "val"
    assert (table.loc[tuned, "accuracy"] == 0.123).all() and (table.loc[~tuned, "accuracy"] != 0.123).all()


def test_a_run_resumes_where_cells_are_missing(kept, tmp_path, monkeypatch):
    (runs, _), folder = kept
    for path in folder.glob("*.cell.pkl"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    # one run is lost: the small CNN at 1 label per class (it reuses the choice made at 2)
    lost = next(p for p in tmp_path.glob("*.cell.pkl")
                if "arm='small_cnn', per_class=1, seed=0" in pickle.loads(p.read_bytes())["cell"])
    lost.unlink()
    calls = []
    real = cells.train_scratch

    def counted(*args, **kwargs):
        calls.append(kwargs["per_class"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cells, "train_scratch", counted)
    for name in ("tune_probe", "fixed_probe", "tune_scratch"):
        monkeypatch.setattr(cells, name, _refuse)
    again = fx.data_efficiency("animal_mnist", folder=tmp_path, **TINY)[0]
    assert calls == [1] and lost.exists()  # only the lost run trained, and it is kept again
    pd.testing.assert_frame_equal(again, runs)


def test_cells_carry_a_named_profile_by_name_and_another_one_whole():
    from tlworkbench.config import get_profile

    assert cells.profile_argument("quick") == "quick"
    assert cells.profile_argument(get_profile("full")) == "full"
    custom = get_profile("quick").with_(image_size=32)
    assert cells.profile_argument(custom) == custom


def test_the_input_size_point_gives_the_same_table_on_a_process_pool():
    args = {"per_class": 2, "seeds": (0,), "budgets": (2,), "profile": "quick", "n_test": 50, "progress": False}
    serial = fx.resolution_probe(**args)
    assert sorted(serial["size"]) == [64, 128] and (serial["n_train"] == 10).all()
    with process_pool(2) as pool:
        parallel = fx.resolution_probe(executor=pool, **args)
    pd.testing.assert_frame_equal(parallel, serial)
