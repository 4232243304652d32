"""Grids on executors: the same table from a Dask cluster, a process pool and one process;
resuming a grid that failed or was killed, without running a finished cell again."""

from __future__ import annotations

import functools
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import torch

from tlworkbench import comparison
from tlworkbench import data as datasets
from tlworkbench.distributed import DASK_SETTINGS, cell_key, process_pool, run_grid
from tlworkbench.errors import InvalidParameterError
from tlworkbench.features import FeatureCache

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 16
CELLS = [{"x": x, "seed": s} for x in range(3) for s in (0, 1)]


def _cell(x: int, seed: int, *, log: str, fail_at: int | None = None, kill_at: int | None = None) -> dict:
    """A cell that notes each call in ``log``; cell ``fail_at`` raises, cell ``kill_at`` kills its process."""
    index = CELLS.index({"x": x, "seed": seed})
    if index == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    if index == fail_at:
        raise ValueError(f"no good: {x}")
    with open(log, "a") as f:
        f.write(f"{index}\n")
    value = float(torch.randn(1, generator=torch.Generator().manual_seed(x * 10 + seed)))
    return {"x": x, "seed": seed, "value": value}


def _identity(x: int) -> int:
    return x


def _calls(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def _pool() -> ProcessPoolExecutor:
    # forked workers, one torch thread each (a child forked after the parent ran OpenMP can hang)
    return process_pool(2)


@pytest.fixture(scope="module")
def data():
    return datasets.load_dataset("mnist", max_size=200), datasets.load_dataset("mnist", split="test", max_size=100)


GRID = {"strategies": ("linear_probe", "fine_tune"), "per_class": (5,), "seeds": (0, 1), "epochs": 1,
        "image_size": SIZE, "progress": False, "batch_size": 32, "min_steps": 0}


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


@pytest.fixture(scope="module")
def serial(data):
    train, test = data
    return comparison.compare("small_cnn", train, test, cache=FeatureCache(), **GRID)


def test_a_dask_cluster_gives_the_serial_table(data, serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    train, test = data
    import dask

    # forked workers start with the package imported (spawned ones import it again, seconds each)
    with dask.config.set({**DASK_SETTINGS, "distributed.worker.multiprocessing-method": "fork"}), \
            distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                     local_directory=str(tmp_path)) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        # DASK_SETTINGS reached the workers: no malloc trim threshold (it doubles a training step's CPU time)
        assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
        table = comparison.compare("small_cnn", train, test, executor=client.get_executor(), **GRID)
    _same_table(table, serial)
    assert table.attrs["feature_seconds"] > 0  # each worker extracted the features it needed


def test_a_process_pool_gives_the_serial_table_and_a_folder_resumes_it(data, serial, tmp_path, shared_files):
    train, test = data
    with _pool() as pool:
        table = comparison.compare("small_cnn", train, test, executor=pool, folder=tmp_path, **GRID)
    _same_table(table, serial)
    assert len(list(tmp_path.glob("*.cell.pkl"))) == len(serial)
    # every run is on disk: a second call trains nothing and gives the same table, seconds included
    again = comparison.compare("small_cnn", train, test, folder=tmp_path, **GRID)
    pd.testing.assert_frame_equal(again, table)
    # another budget is another run
    more = comparison.compare("small_cnn", train, test, folder=tmp_path, **{**GRID, "per_class": (5, 10)})
    assert len(more) == 8 and len(list(tmp_path.glob("*.cell.pkl"))) == 8


def test_a_failed_cell_is_named_and_the_grid_resumes_without_recomputing(tmp_path):
    log, folder = tmp_path / "calls.txt", tmp_path / "cells"
    reference = run_grid(CELLS, functools.partial(_cell, log=str(tmp_path / "reference.txt")))
    key = lambda cell: cell  # noqa: E731  (the failing and the resumed grid use other partials)
    with pytest.raises(ValueError, match="no good: 1") as err:
        run_grid(CELLS, functools.partial(_cell, log=str(log), fail_at=3), folder=folder, key=key)
    assert "cell 4 of 6 (x=1, seed=1)" in err.value.__notes__[0]
    assert _calls(log) == [0, 1, 2]
    table = run_grid(CELLS, functools.partial(_cell, log=str(log)), folder=folder, key=key)
    assert _calls(log) == [0, 1, 2, 3, 4, 5]  # cells 0 to 2 were read back
    pd.testing.assert_frame_equal(table, reference)
    # by default the key holds the function with its arguments: another partial is another grid
    run_grid(CELLS[:1], functools.partial(_cell, log=str(log)), folder=folder)
    assert _calls(log)[-1] == 0


def test_a_killed_grid_resumes_from_the_cells_on_disk(tmp_path):
    log, folder = tmp_path / "calls.txt", tmp_path / "cells"
    reference = run_grid(CELLS, functools.partial(_cell, log=str(tmp_path / "reference.txt")))
    key = lambda cell: cell  # noqa: E731  (the killed and the resumed grid use other partials)
    pid = os.fork()
    if pid == 0:  # the child dies by SIGKILL at cell 4, as a process killed by a scheduler or a user
        try:
            run_grid(CELLS, functools.partial(_cell, log=str(log), kill_at=4), folder=folder, key=key)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert _calls(log) == [0, 1, 2, 3] and len(list(folder.glob("*.cell.pkl"))) == 4
    with _pool() as pool:
        table = run_grid(CELLS, functools.partial(_cell, log=str(log)), executor=pool, folder=folder, key=key)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4, 5]  # only cells 4 and 5 ran again
    pd.testing.assert_frame_equal(table, reference)


def test_a_failed_cell_on_an_executor_is_named_and_the_others_are_kept(tmp_path):
    log = tmp_path / "calls.txt"
    with _pool() as pool, pytest.raises(ValueError, match="no good: 2") as err:
        run_grid(CELLS, functools.partial(_cell, log=str(log), fail_at=4), executor=pool, folder=tmp_path / "c")
    assert "cell 5 of 6 (x=2, seed=0)" in err.value.__notes__[0] and "run again to continue" in err.value.__notes__[0]
    kept = len(list((tmp_path / "c").glob("*.cell.pkl")))
    assert kept == len(_calls(log)) >= 1  # what finished is on disk


def test_cell_keys_follow_the_values(data):
    train, test = data
    assert cell_key({"a": 1, "b": (2, 3)}) == cell_key({"b": [2, 3], "a": 1})
    assert cell_key({"a": 1}) != cell_key({"a": 2}) != cell_key({"a": 2.0 + 1e-12})
    assert cell_key({"data": train}) == cell_key({"data": datasets.load_dataset("mnist", max_size=200)})
    assert cell_key({"data": train}) != cell_key({"data": test})
    assert cell_key({"f": _cell}) != cell_key({"f": _calls})
    with pytest.raises(InvalidParameterError, match=r"Got .object. instead.*Pass key="):
        cell_key({"model": object()})


def test_bad_input_is_named():
    with pytest.raises(InvalidParameterError, match="'cells' parameter of run_grid"):
        run_grid({"x": 1}, _cell)
    with pytest.raises(InvalidParameterError, match="'executor' parameter of run_grid"):
        run_grid(CELLS, _cell, executor="dask")
    with pytest.raises(TypeError, match="returned int for cell 1 of 1"):
        run_grid([{"x": 1}], _identity)
    assert run_grid([], _cell).empty


def _torch_threads(_: int) -> int:
    return torch.get_num_threads()


def test_a_process_pool_sets_each_workers_torch_threads():
    for threads in (1, 2):  # both counts, so that neither can be inherited from this process
        with process_pool(2, threads=threads) as pool:
            assert set(pool.map(_torch_threads, range(4))) == {threads}
    with pytest.raises(InvalidParameterError, match="threads"):
        process_pool(2, threads=0)
    with pytest.raises(InvalidParameterError, match="workers"):
        process_pool(0)
