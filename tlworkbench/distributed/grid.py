"""Grids of independent runs on any :class:`concurrent.futures.Executor`, resumable from disk.

An experiment grid (strategies x label budgets x seeds, sources x depths x seeds) is a list of
cells, each a small mapping of picklable arguments (a model name, a recipe, a seed), and one
function that turns a cell into a row of the table. :func:`run_grid` runs the cells one after
another in this process, or hands them to an executor: a Dask ``distributed`` client's
``client.get_executor()`` (a laptop's cores or a cluster), :class:`concurrent.futures.ProcessPoolExecutor`,
or any other engine with the ``Executor`` interface; the engine that schedules them is theirs.

With ``folder``, every finished cell is written at once as one small file, named by a hash of
the cell's arguments (:func:`cell_key`) and written atomically (a temporary file and one rename),
so a grid that is interrupted, killed or that fails at one cell is run again with the same
folder and computes only the cells that have no file yet. Rows come back in the order of the
cells, whatever order the workers finish in, so a parallel table equals the serial one.

On one machine, :func:`process_pool` gives a ``ProcessPoolExecutor`` whose workers each take one
torch thread (forked where the platform forks): a child forked after the parent has run torch's
OpenMP threads can hang in its first convolution, and several workers of several threads each
only wait for one another on shared cores.

Dask's defaults are tuned for pandas, not for training loops: set :data:`DASK_SETTINGS` before
starting a cluster (``dask.config.set(DASK_SETTINGS)``). Its nannies start every worker with
``MALLOC_TRIM_THRESHOLD_=65536``; setting that variable also turns off glibc's adaptive
``mmap`` threshold, so each of PyTorch's large temporary tensors is mapped and unmapped again,
and on this machine a small CNN's training step cost 2.0x the CPU time in a worker that it costs
in a plain process (0.69 s instead of 1.38 s for the same steps once the variable is unset).
The workers' statistical profiler, which samples the running task's stack every 10 ms, added
half a cell's time on top on small, Python-bound steps.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import pickle
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._validate import check_int, param_error
from ..config import resolve_progress
from ..features.cache import fingerprint_data
from ..zoo.weights import atomic_write_bytes, remove_orphaned_temporaries

__all__ = ["run_grid", "cell_key", "describe_cell", "process_pool", "DASK_SETTINGS"]

#: ``dask.config.set(DASK_SETTINGS)`` before a ``LocalCluster`` or ``dask worker`` starts: no
#: ``MALLOC_TRIM_THRESHOLD_`` in the workers' environment (``None`` unsets it) and no profiler.
DASK_SETTINGS: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}

_SUFFIX = ".cell.pkl"


def _torch_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def process_pool(workers: int | None = None, *, threads: int = 1) -> ProcessPoolExecutor:
    """A pool of worker processes on this machine for :func:`run_grid` and the experiments'
    ``executor=``, each worker on ``threads`` torch threads.

    On Linux the workers are forked (they start at once and inherit the loaded modules); on
    macOS and Windows they are spawned, the platform's safe default, so the cell function must be
    importable (defined in a module, not in a notebook cell).

    Args:
        workers: the number of processes (default: the machine's cores divided by ``threads``).
        threads: torch threads per worker.

    Returns:
        A :class:`concurrent.futures.ProcessPoolExecutor`; use it in a ``with`` block.

    Raises:
        InvalidParameterError: ``workers`` or ``threads`` is not a positive integer.

    Example:
        >>> with process_pool(2) as pool:                               # doctest: +SKIP
        ...     table = run_grid(cells, train_one, executor=pool, folder="runs/grid")
    """
    threads = check_int(threads, "threads", "process_pool", minimum=1)
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // threads)
    workers = check_int(workers, "workers", "process_pool", minimum=1)
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_torch_threads, initargs=(threads,))


def _token(value: Any, where: str) -> Any:
    """A JSON-able stand-in for ``value`` that changes when the value does."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, os.PathLike):
        return {"path": os.fspath(value)}
    if isinstance(value, Mapping):
        return {"map": sorted(([_token(k, where), _token(v, f"{where}[{k!r}]")] for k, v in value.items()),
                              key=lambda kv: json.dumps(kv[0], sort_keys=True))}
    if isinstance(value, (list, tuple)):
        return [_token(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(json.dumps(_token(v, where), sort_keys=True) for v in value)}
    if isinstance(value, (np.ndarray, torch.Tensor)):
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        array = np.ascontiguousarray(array)
        return {"array": hashlib.sha256(array.tobytes()).hexdigest(), "shape": list(array.shape),
                "dtype": str(array.dtype)}
    if hasattr(value, "targets") and (hasattr(value, "images") or hasattr(value, "texts")):
        return {"data": fingerprint_data(value), "transform": repr(getattr(value, "transform", None))}
    if isinstance(value, functools.partial):
        return {"partial": _token(value.func, where), "args": _token(list(value.args), where),
                "keywords": _token(value.keywords, where)}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": f"{getattr(value, '__module__', '')}.{value.__qualname__}"}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"dataclass": type(value).__qualname__, "fields": _token(fields, where)}
    raise param_error(where, "run_grid", "built from numbers, strings, sequences, mappings, arrays, data sets and "
                      "importable functions, so that a finished cell can be found again on disk", type(value).__name__,
                      hint="Pass key=... to run_grid to say what identifies a cell.")


def cell_key(cell: Any) -> str:
    """The file name stem of a cell: a hash of what identifies it.

    Args:
        cell: numbers, strings, sequences and mappings of them, arrays and tensors (hashed by
            value), data sets (:func:`~tlworkbench.features.cache.fingerprint_data`), importable
            functions (by name), ``functools.partial`` objects and dataclasses of these.

    Returns:
        32 hexadecimal characters.

    Raises:
        InvalidParameterError: ``cell`` holds an object that cannot be identified by value.
    """
    text = json.dumps(_token(cell, "cell"), sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def describe_cell(cell: Mapping[str, Any], limit: int = 60) -> str:
    """``strategy='fine_tune', per_class=10, seed=1``: a cell as the errors name it."""
    parts = []
    for k, v in cell.items():
        shown = repr(v)
        parts.append(f"{k}={shown if len(shown) <= limit else shown[:limit - 3] + '...'}")
    return ", ".join(parts)


def _call(func: Callable[..., Any], cell: Mapping[str, Any]) -> Any:
    """What a worker runs: one cell (module level, so executors can pickle it by name)."""
    return func(**cell)


def _rows(result: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(result, pd.DataFrame):
        return result.to_dict("records")
    if isinstance(result, Mapping):
        return [dict(result)]
    if isinstance(result, (list, tuple)) and all(isinstance(r, Mapping) for r in result):
        return [dict(r) for r in result]
    raise TypeError(f"The grid function returned {type(result).__name__} for {where}; it must return a row (a dict), "
                    "a list of rows or a DataFrame.")


def _read(path: Path) -> list[dict[str, Any]] | None:
    try:
        with open(path, "rb") as f:
            stored = pickle.load(f)
        return list(stored["rows"])
    except FileNotFoundError:
        return None
    except Exception as err:  # a file from another version or a damaged disk: run the cell again
        warnings.warn(f"Ignoring the unreadable grid cell {str(path)!r} ({type(err).__name__}: {err}); the cell runs "
                      "again.", UserWarning, stacklevel=3)
        return None


def run_grid(cells: Sequence[Mapping[str, Any]], func: Callable[..., Any], *, executor: Any = None,
             folder: str | os.PathLike | None = None, progress: bool | None = None,
             key: Callable[[Mapping[str, Any]], Any] | None = None, desc: str = "grid") -> pd.DataFrame:
    """Run ``func(**cell)`` for every cell, here or on an executor, and gather the rows.

    Args:
        cells: the grid, one mapping of keyword arguments per cell. With an executor the
            arguments travel to other processes: names, numbers, recipes and data sets, not
            live models.
        func: returns one row (a dict), a list of rows or a DataFrame for a cell. With an
            executor it must be picklable: a function of an importable module, or a
            ``functools.partial`` of one with picklable arguments.
        executor: any :class:`concurrent.futures.Executor` (its ``submit``):
            ``client.get_executor()`` of a Dask client, a ``ProcessPoolExecutor``... ``None``
            runs the cells in order, in this process.
        folder: keep every finished cell there as one small file; cells that already have a file
            are read back, not run. ``None``: nothing is written.
        progress: a bar of cells done out of the total (``None``: in Jupyter only).
        key: what identifies a cell on disk, ``key(cell)`` (default: ``func`` and the cell, see
            :func:`cell_key`). Leave out what does not change the result (a cache, a thread count).
        desc: the progress bar's label.

    Returns:
        The rows of every cell, in the order of ``cells`` (a cell of several rows keeps their order).

    Raises:
        Whatever a cell raised, with a note that names the cell (``err.__notes__``). Cells that
        finished before it are in ``folder``; with an executor the cells already running are
        waited for and kept, the others cancelled.

    Example:
        >>> from concurrent.futures import ProcessPoolExecutor                      # doctest: +SKIP
        >>> cells = [{"seed": s, "lr": lr} for s in range(5) for lr in (1e-3, 1e-2)]   # doctest: +SKIP
        >>> with ProcessPoolExecutor(2) as pool:                                    # doctest: +SKIP
        ...     table = run_grid(cells, train_one, executor=pool, folder="runs/lr")
    """
    name = "run_grid"
    if isinstance(cells, (str, bytes, Mapping)) or not isinstance(cells, Sequence):
        raise param_error("cells", name, "a sequence of mappings (one per cell)", cells)
    cells = list(cells)
    for i, cell in enumerate(cells):
        if not isinstance(cell, Mapping):
            raise param_error(f"cells[{i}]", name, "a mapping of keyword arguments", cell)
    if not callable(func):
        raise param_error("func", name, "a callable", func)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise param_error("executor", name, "None or a concurrent.futures.Executor (with submit), such as "
                          "client.get_executor() of a Dask client", executor)
    progress = resolve_progress(progress)
    results: list[list[dict[str, Any]] | None] = [None] * len(cells)
    paths: list[Path | None] = [None] * len(cells)
    if folder is not None:
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        remove_orphaned_temporaries(root)  # what a killed write left
        for i, cell in enumerate(cells):
            ident = key(cell) if key is not None else {"func": func, "cell": dict(cell)}
            paths[i] = root / f"{cell_key(ident)}{_SUFFIX}"
            results[i] = _read(paths[i])
    todo = [i for i, r in enumerate(results) if r is None]

    from tqdm.auto import tqdm

    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=desc, unit="cell", disable=not progress)

    def where(i: int) -> str:
        return f"cell {i + 1} of {len(cells)} ({describe_cell(cells[i])})"

    def keep(i: int, result: Any) -> None:
        results[i] = _rows(result, where(i))
        if paths[i] is not None:
            atomic_write_bytes(paths[i], pickle.dumps({"cell": describe_cell(cells[i], limit=200),
                                                       "rows": results[i]}, protocol=5))
        bar.update(1)

    def name_cell(err: BaseException, i: int) -> None:
        err.add_note(f"The grid stopped at {where(i)}."
                     + (f" Cells that finished are kept in {str(folder)!r}: run again to continue." if folder else ""))

    try:
        if executor is None:
            for i in todo:
                try:
                    result = func(**cells[i])
                except Exception as err:
                    name_cell(err, i)
                    raise
                keep(i, result)
        else:
            futures = {executor.submit(_call, func, cells[i]): i for i in todo}
            failed: tuple[BaseException, int] | None = None
            try:
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        result = future.result()
                    except CancelledError:
                        continue
                    except Exception as err:
                        if failed is None:
                            failed = (err, i)
                            for other in futures:  # the cells not started yet; running ones finish and are kept
                                other.cancel()
                        continue
                    keep(i, result)
            except BaseException:
                for other in futures:
                    other.cancel()
                raise
            if failed is not None:
                name_cell(*failed)
                raise failed[0]
    finally:
        bar.close()
    return pd.DataFrame([row for rows in results for row in rows])
