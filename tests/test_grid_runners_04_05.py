"""Notebooks 04 and 05's grids through an executor and from cells kept on disk, and the sources and
candidates they fall back to when a Debian data package is not installed.

The grids are tiny (one source, one budget, two seeds, two epochs; two small candidates), so a
process pool's table can be compared with the serial one in seconds.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

from tlworkbench.data import load_dataset, offline, subsample, validation_split
from tlworkbench.distributed import process_pool
from tlworkbench.experiments import model_selection as ms
from tlworkbench.experiments import negative_transfer as nt
from tlworkbench.experiments.model_selection import ground_truth as ms_ground_truth
from tlworkbench.experiments.model_selection import exercises as ms_exercises
from tlworkbench.experiments.negative_transfer import exercises as nt_exercises
from tlworkbench.experiments.negative_transfer import grid as nt_grid
from tlworkbench.selection import Candidate

# the serial runs on one torch thread too, as the pool's workers: the tables are then equal to the bit
pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"sources": ("font_digits",), "budgets": (5,), "depths": (0, 3), "seeds": (0, 1), "epochs": 2,
        "profile": "quick", "progress": False}


def _pool() -> ProcessPoolExecutor:
    # forked workers, one torch thread each (a child forked after the parent ran OpenMP can hang)
    return process_pool(2)


@pytest.fixture(scope="module")
def serial_grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nt_cells")
    runs, choices = nt.transfer_grid(**TINY, folder=folder)
    return runs, choices, folder


def test_transfer_grid_on_a_process_pool_equals_the_serial_table(serial_grid, shared_files):
    runs, choices, _ = serial_grid
    # 2 sources (none, font_digits) x 2 depths x 2 seeds; the lr grid and the penalty grid on seed 0
    assert len(runs) == 8 and set(runs["seed"]) == {0, 1} and runs["accuracy"].between(0, 1).all()
    assert (runs[runs["depth"] == 0]["epochs"] == 2).all()
    nt_grid._shared.cache_clear()  # the workers (forked) read the target and compute features themselves
    with _pool() as pool:
        p_runs, p_choices = nt.transfer_grid(**TINY, executor=pool)
    pd.testing.assert_frame_equal(runs.drop(columns="seconds"), p_runs.drop(columns="seconds"))
    pd.testing.assert_frame_equal(choices, p_choices)


def test_transfer_grid_reads_back_the_cells_it_kept(serial_grid, monkeypatch):
    runs, choices, folder = serial_grid
    assert len(list(folder.glob("*.cell.pkl"))) == 4  # one per arm: 2 sources x 2 depths

    def refuse(**cell):
        raise AssertionError(f"cell recomputed: {cell}")

    monkeypatch.setattr(nt_grid, "run_arm", refuse)
    again, again_choices = nt.transfer_grid(**TINY, folder=folder)
    pd.testing.assert_frame_equal(runs, again)  # seconds included: nothing ran
    pd.testing.assert_frame_equal(choices, again_choices)
    # a cell of another setting is not in the folder: it runs
    with pytest.raises(AssertionError, match="cell recomputed"):
        nt.transfer_grid(**{**TINY, "seeds": (0, 2)}, folder=folder)


def test_without_fashion_mnist_animal_silhouettes_stand_in(monkeypatch):
    if offline.fashion_dir() is not None:
        assert nt.available_sources("quick") == nt.SOURCES["quick"] and nt.source_note("quick") == ""
    monkeypatch.setattr(offline, "fashion_dir", lambda: None)
    assert nt.available_sources("quick") == ("font_digits", "animal_mnist")
    assert nt.grid_settings("quick")["sources"] == ("font_digits", "animal_mnist")
    # the full profile already has animal_mnist: fashion_mnist is left out
    assert nt.available_sources("full") == ("font_digits", "animal_mnist", "font_digits:random")
    # the exercises of both notebooks take the same stand-in
    assert nt_exercises.unrelated_source() == "animal_mnist" == ms_exercises.unrelated_source()
    note = nt.source_note("quick")
    assert "fashion_mnist" in note and "sudo apt-get install dataset-fashion-mnist" in note and "animal_mnist" in note


SMALL = [Candidate("CNN · font digits", "small_cnn", "tlw:font_digits"),
         Candidate("CNN · random init", "small_cnn", None)]
PLAN = ms.TuningPlan(lrs=(1e-3, 1e-2), epochs=1, small_epochs=2)


@pytest.fixture(scope="module")
def small_budget():
    train = subsample(load_dataset("mnist", split="train", profile="quick"), per_class=4, seed=0)
    part, val = validation_split(train, fraction=0.25, seed=0)
    test = load_dataset("mnist", split="test", profile="quick")
    return part, val, test.subset(range(200))


def test_model_selection_ground_truth_on_a_process_pool_equals_the_serial_one(small_budget, tmp_path, monkeypatch,
                                                                              shared_files):
    rows, runs = ms.tune_all(SMALL, *small_budget, plan=PLAN, profile="quick", folder=tmp_path)
    assert [r["label"] for r in rows] == [c.label for c in SMALL] + [ms.SCRATCH.label]
    assert len(list(tmp_path.glob("*.cell.pkl"))) == 3  # two candidates and the scratch reference
    assert len(runs) == 2 * 3 and set(runs["lr"]) == {1e-3, 1e-2}
    with _pool() as pool:
        p_rows, p_runs = ms.tune_all(SMALL, *small_budget, plan=PLAN, profile="quick", executor=pool)
    pd.testing.assert_frame_equal(runs, p_runs)
    for a, b in zip(rows, p_rows):
        assert (a["correct"] == b["correct"]).all()
    pd.testing.assert_frame_equal(pd.DataFrame(rows).drop(columns=["seconds", "correct"]),
                                  pd.DataFrame(p_rows).drop(columns=["seconds", "correct"]))

    def refuse(**cell):
        raise AssertionError("fine-tune recomputed")

    monkeypatch.setattr(ms_ground_truth, "tune_cell", refuse)
    again, again_runs = ms.tune_all(SMALL, *small_budget, plan=PLAN, profile="quick", folder=tmp_path)
    pd.testing.assert_frame_equal(runs, again_runs)  # every fine-tune read back from the folder
    assert [r["seconds"] for r in again] == [r["seconds"] for r in rows]


def test_model_selection_leaves_out_candidates_whose_source_set_is_absent(monkeypatch):
    monkeypatch.setattr(offline, "fashion_dir", lambda: None)
    monkeypatch.setattr(offline, "opencv_digits_file", lambda: None)
    labels = [c.label for c in ms.candidates_for("quick")]
    assert "CNN · font digits" in labels and "CNN · animals" in labels and "Lite0 · ImageNet" in labels
    gone = {"CNN · OpenCV digits", "CNN · Fashion-MNIST", "CNN · Fashion-MNIST, shuffled labels"}
    assert not gone & set(labels)
    quick = [c for c in ms.CANDIDATES if c.label not in ("Lite1 · ImageNet", "Lite2 · ImageNet")]
    assert len(labels) == len(quick) - 3
    note = ms.candidates_note("quick")
    assert all(label in note for label in gone)
    assert "sudo apt-get install dataset-fashion-mnist" in note and "sudo apt-get install opencv-doc" in note
    assert set(ms.missing_candidates(ms.CANDIDATES)) == gone
