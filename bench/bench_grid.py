"""The speed-up of a 2-worker Dask grid over the same grid run in one process.

The grid is ``compare("small_cnn", ...)`` on ``mnist``: fine-tuning and training from scratch at
one label budget over several seeds, every run an independent cell (a model name, a strategy, a
budget and a seed travel to the worker; the worker builds the model). Both runs use one torch
thread per process, so the 2 workers use 2 cores and the serial run 1:

- **serial**: ``compare(..., executor=None)``, the cells one after another in this process;
- **dask**: ``compare(..., executor=client.get_executor())`` on a ``LocalCluster`` of 2 worker
  processes with one thread each, started (and its workers' imports done) before the timing,
  under :data:`~tlworkbench.distributed.DASK_SETTINGS` (``--dask-defaults`` keeps Dask's own:
  its workers' ``MALLOC_TRIM_THRESHOLD_`` doubles the CPU time of a training step).

The runs alternate (serial, dask, serial, dask...) so that drift in the machine's load falls on
both; the tables are checked to be equal (up to the ``seconds`` column). Prints the wall-clock
seconds of every run, the cluster's start-up time, the median speed-up, and the target
(at least 1.7x on 2 free cores). Exits with status 1 when the target is missed. The speed-up
measures the machine as much as the code: on cores that other work shares, the serial run gets
a core to itself more easily than the two workers get two.

Run it from the repository root with ``python -m bench.bench_grid`` (``--seeds`` seeds per
strategy, ``--pairs`` alternating pairs, ``--workers``, ``--executor pool`` for a process pool of
forked workers instead of Dask, ``--dask-defaults``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import pandas as pd
import torch

from tlworkbench.comparison import compare
from tlworkbench.data import load_dataset
from tlworkbench.distributed import DASK_SETTINGS

TARGET_SPEEDUP = 1.7


def _warm() -> int:
    """Import what the cells need on a worker (outside the timing)."""
    import tlworkbench.comparison  # noqa: F401

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds per strategy (cells = 2 x seeds)")
    parser.add_argument("--pairs", type=int, default=1, help="alternating (serial, dask) pairs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--executor", choices=("dask", "pool"), default="dask",
                        help="a Dask LocalCluster, or a ProcessPoolExecutor of forked workers")
    parser.add_argument("--dask-defaults", action="store_true",
                        help="start the Dask cluster with Dask's settings instead of DASK_SETTINGS")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    train = load_dataset("mnist", max_size=1000)
    test = load_dataset("mnist", split="test", max_size=500)
    grid = {"strategies": ("fine_tune", "scratch"), "per_class": (30,), "seeds": tuple(range(args.seeds)),
            "epochs": args.epochs, "image_size": 28, "batch_size": 32, "min_steps": 0, "progress": False}
    cells = 2 * args.seeds
    engine = args.executor + (", Dask's default settings" if args.dask_defaults and args.executor == "dask" else "")
    print(f"compare('small_cnn'), mnist 28 px, {cells} cells (fine_tune and scratch, 30 labels per class, "
          f"{args.epochs} epochs each), 1 torch thread per process, {args.workers} workers ({engine})")
    start = time.perf_counter()
    if args.executor == "dask":
        import dask
        import distributed

        if not args.dask_defaults:
            dask.config.set(DASK_SETTINGS)
        cluster = distributed.LocalCluster(n_workers=args.workers, processes=True, threads_per_worker=1,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        threads = sorted(client.run(_warm).values())
        pool = client.get_executor()
        close = [client.close, cluster.close]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        torch.multiprocessing.set_sharing_strategy("file_system")
        pool = ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("fork"))
        threads = sorted(f.result() for f in [pool.submit(_warm) for _ in range(args.workers)])
        close = [pool.shutdown]
    started = time.perf_counter() - start
    print(f"workers' start-up and imports: {started:.1f} s (torch threads per worker: {threads})")
    seconds: dict[str, list[float]] = {"serial": [], "parallel": []}
    tables: dict[str, pd.DataFrame] = {}
    try:
        for pair in range(args.pairs):
            for name in ("serial", "parallel"):
                executor = pool if name == "parallel" else None
                t0 = time.perf_counter()
                tables[name] = compare("small_cnn", train, test, executor=executor, **grid)
                seconds[name].append(time.perf_counter() - t0)
                print(f"  run {pair + 1} {name:6s}: {seconds[name][-1]:6.1f} s "
                      f"({seconds[name][-1] / cells:.2f} s per cell)")
    finally:
        for f in close:
            f()
    pd.testing.assert_frame_equal(tables["serial"].drop(columns="seconds"),
                                  tables["parallel"].drop(columns="seconds"))
    print("tables: equal (but for the seconds column)")
    serial, parallel = statistics.median(seconds["serial"]), statistics.median(seconds["parallel"])
    speedup = serial / parallel
    print(f"median: serial {serial:.1f} s, {args.executor} {parallel:.1f} s; speed-up {speedup:.2f}x "
          f"({serial / (parallel + started):.2f}x with the workers' start-up counted)")
    print(f"target: speed-up >= {TARGET_SPEEDUP:.1f}x: {'met' if speedup >= TARGET_SPEEDUP else 'MISSED'}")
    return 0 if speedup >= TARGET_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())
