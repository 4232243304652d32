"""Bigger runs: experiment grids on any executor (a Dask cluster, a process pool) and
data-parallel training over several processes or GPUs, with PyTorch's own collectives.

:func:`run_grid` (:mod:`.grid`) runs independent cells and resumes from the cells kept on disk
(:func:`process_pool`: a pool of this machine's cores for it);
:func:`fit_data_parallel` and :func:`data_parallel` (:mod:`.data_parallel`) run
:func:`~tlworkbench.training.fit` unchanged in every process.
"""

from .data_parallel import ShardedDataset, data_parallel, fit_data_parallel, init, launch, shard, world
from .grid import DASK_SETTINGS, cell_key, describe_cell, process_pool, run_grid

__all__ = ["run_grid", "process_pool", "DASK_SETTINGS", "cell_key", "describe_cell", "world", "init", "shard", "ShardedDataset", "data_parallel",
           "fit_data_parallel", "launch"]
