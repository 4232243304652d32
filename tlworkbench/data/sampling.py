"""Splits and label budgets: fixed train/test splits, stratified samples, per-class budgets, episodes.

Every draw is reproducible from a ``seed``. The per-class budgets of :func:`subsample` are nested
(the examples at a budget of 10 are among those at 50 for the same seed), so data-efficiency
curves change one thing at a time; :func:`image_keys` lets a split or a check drop exact copies
of an image across sets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from .._validate import check_choice, check_fraction, check_int
from ..errors import DataError, InvalidParameterError

__all__ = [
    "stratified_split",
    "subsample",
    "validation_split",
    "few_shot_episodes",
    "split_indices",
    "image_keys",
]


def stratified_split(labels: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Indices of a class-stratified sample of size ``n`` (sorted), reproducible from ``seed``.

    Args:
        labels: one label per example.
        n: the sample's size; all indices when ``n`` is at least the number of labels.
        seed: the seed of the draw.

    Raises:
        InvalidParameterError: ``n`` is not a positive int, or ``seed`` is not an int.
    """
    n = check_int(n, "n", "stratified_split", minimum=1)
    seed = check_int(seed, "seed", "stratified_split")
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split  # a second's import, paid when a split is made

    idx, _ = train_test_split(np.arange(len(labels)), train_size=n, stratify=labels, random_state=seed)
    return np.sort(idx)


def subsample(dataset: Any, *, per_class: int, seed: int = 0) -> Any:
    """``per_class`` examples of every class, drawn reproducibly from ``seed``.

    The draw is nested: for the same seed, the examples at a budget of 10 are among those at 50,
    so data-efficiency curves change one thing at a time.

    Args:
        dataset: an :class:`~tlworkbench.data.ImageDataset` or :class:`~tlworkbench.data.TextDataset`.
        per_class: examples per class.
        seed: the seed of the draw.

    Returns:
        The subset, named ``"<name>[<per_class>/class]"``.

    Raises:
        InvalidParameterError: ``per_class`` is not a positive int, or ``seed`` is not an int.
        DataError: a class has fewer than ``per_class`` examples.
    """
    per_class = check_int(per_class, "per_class", "subsample", minimum=1)
    seed = check_int(seed, "seed", "subsample")
    labels = dataset.targets.numpy()
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(len(dataset.classes)):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DataError(f"The 'per_class' parameter of subsample is {per_class}, but class "
                            f"{dataset.classes[c]!r} of {dataset.name!r} has only {len(members)} examples. "
                            f"Use per_class <= {len(members)}.")
        chosen.append(rng.permutation(members)[:per_class])
    return dataset.subset(np.sort(np.concatenate(chosen)), name=f"{dataset.name}[{per_class}/class]")


def validation_split(dataset: Any, *, fraction: float = 0.2, seed: int = 0) -> tuple[Any, Any]:
    """Carve a validation set out of a training budget: ``(train, val)``, stratified by class.

    Every choice an experiment makes (a learning rate, a depth, an epoch) is made on ``val`` and
    never on test; ``val`` comes out of the labels the method is allowed, so a method that tunes
    pays for it in training examples, as it would in practice. Each class gives
    ``round(fraction * count)`` examples, at least one, and keeps at least one for training.

    Args:
        dataset: an :class:`~tlworkbench.data.ImageDataset` or :class:`~tlworkbench.data.TextDataset`.
        fraction: the validation share of each class, in ``(0, 1)``.
        seed: the seed of the draw.

    Returns:
        ``(train, val)``, subsets named ``"<name>:train"`` and ``"<name>:val"``.

    Raises:
        InvalidParameterError: a bad ``fraction`` or ``seed``.
        DataError: a class with fewer than 2 examples (nothing to carve).

    Example:
        >>> from tlworkbench.data import ImageDataset
        >>> data = ImageDataset(torch.zeros(20, 1, 4, 4, dtype=torch.uint8), np.repeat([0, 1], 10), ["a", "b"])
        >>> train, val = validation_split(data, fraction=0.2)
        >>> len(train), len(val)
        (16, 4)
    """
    func = "validation_split"
    fraction = check_fraction(fraction, "fraction", func)
    seed = check_int(seed, "seed", func)
    labels = dataset.targets.numpy()
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        if len(members) < 2:
            raise DataError(f"{func} needs at least 2 examples of every class to carve a validation set; "
                            f"class {dataset.classes[c]!r} of {dataset.name!r} has {len(members)}. "
                            "Use a larger label budget.")
        k = min(max(int(round(fraction * len(members))), 1), len(members) - 1)
        val.append(members[:k])
        train.append(members[k:])
    return (dataset.subset(np.sort(np.concatenate(train)), name=f"{dataset.name}:train"),
            dataset.subset(np.sort(np.concatenate(val)), name=f"{dataset.name}:val"))


def few_shot_episodes(dataset: Any, *, n_way: int, k_shot: int, n_query: int = 15, n_episodes: int = 10,
                      seed: int = 0, groups: Sequence[Any] | np.ndarray | None = None) -> Iterator[tuple[Any, Any]]:
    """N-way K-shot episodes: ``(support, query)`` pairs whose labels are renumbered 0..n_way-1.

    The arguments are checked when the function is called; the episodes are drawn as they are
    iterated over.

    Args:
        dataset: an image or text set.
        n_way: classes per episode.
        k_shot: support examples per class.
        n_query: query examples per class.
        n_episodes: how many episodes.
        seed: the seed of the draws.
        groups: one group per example (the font a glyph is drawn in, the person who wrote it):
            each episode then splits the groups at random into two halves and draws the support
            from one half and the queries from the other, so that no query shares its group with
            a support example. ``None``: support and queries are drawn from all examples.

    Raises:
        InvalidParameterError: ``n_way`` is not an int of at least 2, or ``k_shot``, ``n_query``
            or ``n_episodes`` is not a positive int, or ``groups`` does not give one group per
            example (or fewer than two groups).
        DataError: fewer classes than ``n_way``, or a class with fewer than ``k_shot + n_query``
            (with ``groups``: fewer than ``k_shot`` on the support side or ``n_query`` on the query side).

    Example:
        >>> from tlworkbench.data import ImageDataset
        >>> data = ImageDataset(torch.zeros(12, 1, 4, 4, dtype=torch.uint8), np.repeat([0, 1, 2], 4), ["a", "b", "c"])
        >>> support, query = next(few_shot_episodes(data, n_way=2, k_shot=1, n_query=1, groups=np.tile([0, 1], 6)))
        >>> len(support), len(query), support.classes == query.classes
        (2, 2, True)
    """
    func = "few_shot_episodes"
    n_way = check_int(n_way, "n_way", func, minimum=2)
    k_shot = check_int(k_shot, "k_shot", func, minimum=1)
    n_query = check_int(n_query, "n_query", func, minimum=1)
    n_episodes = check_int(n_episodes, "n_episodes", func, minimum=1)
    seed = check_int(seed, "seed", func)
    if n_way > len(dataset.classes):
        raise DataError(f"The 'n_way' parameter of {func} is {n_way}, but {dataset.name!r} has "
                        f"{len(dataset.classes)} classes. Use n_way <= {len(dataset.classes)}.")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.ndim != 1 or len(groups) != len(dataset.targets) or len(np.unique(groups)) < 2:
            raise InvalidParameterError(f"The 'groups' parameter of {func} must give one group per example "
                                        f"({len(dataset.targets)}), with at least two groups; got "
                                        f"{getattr(groups, 'shape', None)}. Use None for no groups.")
    return _episodes(dataset, n_way, k_shot, n_query, n_episodes, seed, groups)


def _episodes(dataset: Any, n_way: int, k_shot: int, n_query: int, n_episodes: int,
              seed: int, groups: np.ndarray | None = None) -> Iterator[tuple[Any, Any]]:
    labels = dataset.targets.numpy()
    rng = np.random.default_rng(seed)
    names = np.unique(groups) if groups is not None else None
    for _ in range(n_episodes):
        classes = np.sort(rng.choice(len(dataset.classes), size=n_way, replace=False))
        on_support = None
        if groups is not None and names is not None:
            half = rng.permutation(names)[: len(names) // 2]
            on_support = np.isin(groups, half)
        sup, qry = [], []
        for c in classes:
            members = np.flatnonzero(labels == c)
            if on_support is None:
                if len(members) < k_shot + n_query:
                    raise DataError(f"Class {dataset.classes[c]!r} has {len(members)} examples; an episode needs "
                                    f"k_shot + n_query = {k_shot + n_query}. Lower k_shot or n_query.")
                pick = rng.permutation(members)
                sup.append(pick[:k_shot])
                qry.append(pick[k_shot:k_shot + n_query])
                continue
            s_members, q_members = members[on_support[members]], members[~on_support[members]]
            if len(s_members) < k_shot or len(q_members) < n_query:
                raise DataError(f"Class {dataset.classes[c]!r} has {len(s_members)} examples in the support's "
                                f"groups and {len(q_members)} in the query's; an episode needs k_shot = {k_shot} "
                                f"and n_query = {n_query}. Lower k_shot or n_query.")
            sup.append(rng.permutation(s_members)[:k_shot])
            qry.append(rng.permutation(q_members)[:n_query])
        yield (_relabel(dataset, np.concatenate(sup), classes), _relabel(dataset, np.concatenate(qry), classes))


def _relabel(dataset: Any, idx: np.ndarray, classes: np.ndarray) -> Any:
    sub = dataset.subset(idx)
    mapping = torch.full((len(dataset.classes),), -1, dtype=torch.long)
    mapping[torch.as_tensor(classes)] = torch.arange(len(classes))
    sub.targets = mapping[sub.targets]
    sub.classes = [dataset.classes[c] for c in classes]
    return sub


def split_indices(labels: np.ndarray, split: str, *, test_fraction: float = 0.2, seed: int = 0,
                  keys: Sequence[Any] | None = None) -> np.ndarray:
    """The indices of a fixed stratified train/test split (seed 0 unless documented otherwise).

    Args:
        labels: one label per example.
        split: ``"train"`` or ``"test"``.
        test_fraction: the test share.
        seed: the seed of the split.
        keys: one hashable per example (:func:`image_keys`, or the texts); the test split then
            drops every example whose key is also in the train split, so no exact copy crosses
            the split.

    Returns:
        Sorted indices of the split.

    Raises:
        InvalidParameterError: an unknown ``split`` or a bad ``test_fraction``.
    """
    func = "split_indices"
    check_choice(split, "split", func, ("train", "test"), error=InvalidParameterError)
    test_fraction = check_fraction(test_fraction, "test_fraction", func)
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels,
                              random_state=check_int(seed, "seed", func))
    if split == "train":
        return np.sort(tr)
    te = np.sort(te)
    if keys is not None:
        seen = {keys[i] for i in tr}
        te = np.asarray([i for i in te if keys[i] not in seen], dtype=np.int64)
    return te


def image_keys(images: np.ndarray) -> list[bytes]:
    """One short digest per image of its exact bytes: equal images give equal keys."""
    return [hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest() for a in images]
