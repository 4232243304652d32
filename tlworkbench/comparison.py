"""Strategies compared across label budgets and seeds, in one tidy table.

:func:`compare` trains a fresh model for every (strategy, ``per_class``, seed) and scores it on
the test set. Linear probes share one feature extraction per backbone: the features of the whole
training set are computed once and the subset of each label budget is indexed out of them (the
subsets of :func:`~tlworkbench.data.subsample` are nested, so nothing is computed twice).

Each run is one cell of a grid (:func:`~tlworkbench.distributed.run_grid`): with ``executor`` the
cells run in other processes or on a cluster (each worker process extracts features once and
keeps them in its own cache), and with ``folder`` every finished run is kept on disk so that an
interrupted comparison continues where it stopped.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validate import check_int, check_names, check_optional, check_sequence, param_error
from .config import resolve_progress
from .data import subsample
from .distributed import run_grid
from .errors import DataError, UnknownStrategyError
from .evaluation import evaluate, evaluate_features
from .features import FeatureCache, default_cache, extract_features, prepare_data
from .training import STRATEGIES, fit
from .zoo import TransferModel, load_model

__all__ = ["compare"]


class _IndexRecorder:
    """Stands in for a data set in :func:`subsample` and returns the indices it picks."""

    def __init__(self, dataset: Any) -> None:
        self.targets = dataset.targets
        self.classes = dataset.classes
        self.name = dataset.name

    def subset(self, indices: Any, *, name: str | None = None) -> tuple[np.ndarray, str]:
        return np.asarray(indices), name or self.name


def _per_strategy(value: Any, strategy: str, param: str) -> Any:
    if isinstance(value, Mapping):
        if strategy not in value:
            raise param_error(param, "compare", f"a value or a dict with an entry for every strategy, "
                              f"{strategy!r} too", value)
        return value[strategy]
    return value


def compare(model_name_or_factory: str | Callable[..., TransferModel], train: Any, test: Any, *,
            strategies: Sequence[str] = ("linear_probe", "fine_tune", "scratch"),
            per_class: Sequence[int | None] = (10, 100), seeds: Sequence[int] = (0, 1, 2),
            epochs: int | Mapping[str, int] | None = None, lr: float | Mapping[str, float] | None = None,
            image_size: int | None = None, weights: str | None = "default",
            cache: bool | FeatureCache = True, progress: bool | None = None, executor: Any = None,
            folder: str | os.PathLike | None = None, **fit_kwargs: Any) -> pd.DataFrame:
    """Train and test every strategy at every label budget and seed.

    Each run starts from a fresh model (``load_model(name, num_classes=..., seed=seed)``, or
    ``factory(num_classes=..., seed=...)``), is trained with :func:`~tlworkbench.training.fit`
    on ``per_class`` examples per class (:func:`~tlworkbench.data.subsample` with the same
    seed), and is scored on ``test``.

    Args:
        model_name_or_factory: a zoo name, or a callable returning a fresh TransferModel (with
            an executor, a function of an importable module, so that it can be pickled).
        train: the training data set the label budgets are drawn from.
        test: the test data set.
        strategies: strategies of :func:`~tlworkbench.training.fit`.
        per_class: the label budgets, in labelled examples per class; ``None`` takes the whole
            training set.
        seeds: one run per seed (model initialisation, subset and shuffling).
        epochs: epochs per run, or a dict by strategy.
        lr: learning rate, or a dict by strategy.
        image_size: input size for zoo models.
        weights: weights for zoo models (see :func:`~tlworkbench.zoo.load_model`).
        cache: the feature cache the linear probes share (``False``: one that lives for this
            call only). With an executor each worker process keeps its own (``cache=False``:
            one per run).
        progress: a progress bar over the runs (``None``: in Jupyter only).
        executor: run the runs there, several at a time: any
            :class:`concurrent.futures.Executor`, such as ``client.get_executor()`` of a Dask
            client or a ``ProcessPoolExecutor`` (``None``: one after another, here). The table
            is the same either way, up to ``seconds``.
        folder: keep every finished run there (one small file each); a call with the same
            arguments and folder reads them back and trains only the runs that are missing.
        **fit_kwargs: passed to every :func:`~tlworkbench.training.fit` (``batch_size``,
            ``schedule``...).

    Returns:
        One row per run: ``model``, ``strategy``, ``per_class``, ``seed``, ``n_train``,
        ``accuracy``, ``balanced_accuracy``, ``seconds`` (training time; for linear probes
        without the shared feature extraction, whose seconds are in ``frame.attrs
        ["feature_seconds"]``) and ``trainable_params`` (the most trained at once).

    Raises:
        UnknownStrategyError: an unknown strategy (with the closest name).
        DataError: a class has fewer examples than a label budget, or the data do not fit the
            model. Errors raised in a run carry a note naming the run.
        InvalidParameterError: empty or bad ``strategies``, ``per_class`` or ``seeds``.

    Example:
        >>> df = compare("efficientnet_lite0", train, test, per_class=(10, 100), seeds=(0, 1))  # doctest: +SKIP
        >>> df.groupby(["strategy", "per_class"]).accuracy.mean().unstack()                     # doctest: +SKIP
    """
    func = "compare"
    strategies = check_names(strategies, "strategies", func, STRATEGIES, error=UnknownStrategyError)
    per_class = check_sequence(per_class, "per_class", func,
                               lambda v, name, f: check_optional(v, check_int, name, f, minimum=1))
    seeds = check_sequence(seeds, "seeds", func, check_int)
    progress = resolve_progress(progress)
    if len(train) == 0 or len(test) == 0:
        raise DataError(f"compare needs examples in both train ({len(train)}) and test ({len(test)}).")
    for strategy in strategies:  # a missing entry fails here, before any run
        _per_strategy(epochs, strategy, "epochs")
        _per_strategy(lr, strategy, "lr")
    if executor is None:
        store = default_cache() if cache is True else cache if isinstance(cache, FeatureCache) else FeatureCache()
    else:
        store = None if cache is not False else False  # each worker's own cache, or one per run
    recipe = {"model_name_or_factory": model_name_or_factory, "train": train, "test": test, "epochs": epochs,
              "lr": lr, "image_size": image_size, "weights": weights, "fit_kwargs": dict(fit_kwargs)}
    cells = [{"seed": seed, "per_class": n, "strategy": s} for seed in seeds for n in per_class for s in strategies]
    frame = run_grid(cells, functools.partial(_run, store=store, **recipe), executor=executor, folder=folder,
                     progress=progress, desc="compare", key=lambda cell: {"grid": "compare", **recipe, **cell})
    frame.attrs["feature_seconds"] = float(frame.pop("feature_seconds").sum())
    return frame


def _run(*, model_name_or_factory: str | Callable[..., TransferModel], train: Any, test: Any, seed: int,
         per_class: int | None, strategy: str, epochs: Any, lr: Any, image_size: int | None, weights: str | None,
         fit_kwargs: dict[str, Any], store: FeatureCache | bool | None) -> dict[str, Any]:
    """One run of :func:`compare` (a cell of its grid)."""
    if store is None:
        store = default_cache()
    elif store is False:
        store = FeatureCache()
    if callable(model_name_or_factory):
        model = model_name_or_factory(num_classes=len(train.classes), seed=seed)
    else:
        model = load_model(model_name_or_factory, num_classes=len(train.classes), seed=seed, image_size=image_size,
                           weights=weights)
    feature_seconds = 0.0
    data = prepare_data(model, train, param="train")
    evaluation_data = prepare_data(model, test, param="test")
    if per_class is None:
        idx, name = np.arange(len(data)), data.name
    else:
        idx, name = subsample(_IndexRecorder(data), per_class=per_class, seed=seed)
    part = data.subset(idx, name=name)
    if strategy == "linear_probe":
        t0 = time.perf_counter()
        feats, labels = extract_features(model, data, cache=store, progress=False)
        # the subset's features are rows of the whole set's: stored under the subset's own key
        store.put(store.key(model, part), feats[idx], labels[idx], persist=False)
        feature_seconds += time.perf_counter() - t0
    t0 = time.perf_counter()
    history = fit(model, part, strategy=strategy, epochs=_per_strategy(epochs, strategy, "epochs"),
                  lr=_per_strategy(lr, strategy, "lr"), seed=seed, cache=store, progress=False, **fit_kwargs)
    seconds = time.perf_counter() - t0
    if strategy == "linear_probe":
        t1 = time.perf_counter()
        test_feats, test_labels = extract_features(model, evaluation_data, cache=store, progress=False)
        feature_seconds += time.perf_counter() - t1
        result = evaluate_features(model.head, test_feats, test_labels, name=evaluation_data.name)
    else:
        result = evaluate(model, evaluation_data)
    return {
        "model": getattr(model, "name", str(model_name_or_factory)), "strategy": strategy,
        "per_class": per_class, "seed": seed, "n_train": len(part), "accuracy": result.accuracy,
        "balanced_accuracy": result.balanced_accuracy, "seconds": seconds,
        "trainable_params": int(history.frame["trainable_params"].max()) if len(history.frame) else 0,
        "feature_seconds": feature_seconds,
    }
