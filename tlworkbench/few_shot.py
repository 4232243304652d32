"""Few-shot and zero-shot classification: prototypes, episodes, support-set training, a DeViSE map.

* :class:`PrototypeClassifier`: each class is the mean of its support embeddings, a query goes
  to the nearest mean (Snell et al., "Prototypical networks for few-shot learning", 2017), by
  Euclidean distance or by cosine (unit-length embeddings).
* :func:`episode_indices` draws N-way K-shot episodes as index arrays
  (:func:`~tlworkbench.data.few_shot_episodes` on the labels), so that methods run on features
  computed once per image; :func:`episode_accuracies` scores a method on each episode.
* :func:`train_on_support`: a network trained on an episode's support images (fine-tuning a
  pretrained one or training one from scratch), full batch with Adam, with the query accuracy
  after each of several step counts when queries are given (to choose the step count on
  validation episodes).
* :class:`ZeroShotHead`: a ridge regression from image features to the text embedding of each
  class's description, trained on seen classes; any class with a description is then recognised
  by the cosine between the mapped image and its description's embedding (Frome et al., "DeViSE:
  a deep visual-semantic embedding model", 2013, with a linear map and a squared loss).
* :func:`harmonic_mean`: the summary of generalised zero-shot learning, where seen and unseen
  classes compete for every test image (Xian et al., "Zero-shot learning: the good, the bad and
  the ugly", 2018).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_float, check_int, check_sequence, param_error
from .data import few_shot_episodes
from .errors import DataError

__all__ = ["METRICS", "PrototypeClassifier", "Episode", "episode_indices", "episode_accuracies",
           "train_on_support", "ZeroShotHead", "harmonic_mean", "per_class_accuracy"]

#: The distances a :class:`PrototypeClassifier` measures.
METRICS = ("euclidean", "cosine")


def _as_2d(x: Any, name: str, func: str) -> np.ndarray:
    arr = x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.ndim != 2 or len(arr) == 0:
        raise param_error(name, func, "a non-empty 2-D array (examples x features)", getattr(arr, "shape", arr))
    return arr.astype(np.float64, copy=False)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class PrototypeClassifier:
    """Nearest class mean: the prototype of a class is the mean of its support embeddings.

    Args:
        metric: ``"euclidean"`` (squared distance to the mean, as Snell et al. 2017) or
            ``"cosine"`` (embeddings scaled to unit length before the mean is taken, and the
            prototype with the largest cosine wins).

    Example:
        >>> clf = PrototypeClassifier().fit([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0]], [0, 0, 1])
        >>> clf.predict([[0.2, 0.4], [4.0, 6.0]]).tolist()
        [0, 1]
    """

    def __init__(self, metric: str = "euclidean") -> None:
        self.metric = check_choice(metric, "metric", "PrototypeClassifier", METRICS)

    def fit(self, features: Any, labels: Any) -> PrototypeClassifier:
        """Compute one prototype per class of ``labels`` (classes are ``0..max``, none missing).

        Raises:
            InvalidParameterError: features that are not 2-D, or labels that do not match them.
            DataError: a class between 0 and the largest label has no example.
        """
        func = "PrototypeClassifier.fit"
        x = _as_2d(features, "features", func)
        y = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
        if y.shape != (len(x),):
            raise param_error("labels", func, f"one class index per example ({len(x)})", y.shape)
        if self.metric == "cosine":
            x = _unit(x)
        counts = np.bincount(y)
        if (counts == 0).any():
            raise DataError(f"{func}: class {int(np.flatnonzero(counts == 0)[0])} has no support example; "
                            "every class from 0 to the largest label needs one.")
        self.prototypes_ = np.stack([x[y == c].mean(0) for c in range(len(counts))])
        return self

    def scores(self, features: Any) -> np.ndarray:
        """``(n, classes)``: minus the squared distance, or the cosine, to each prototype."""
        x = _as_2d(features, "features", "PrototypeClassifier.scores")
        if self.metric == "cosine":
            return _unit(x) @ _unit(self.prototypes_).T
        return -(np.square(x).sum(1, keepdims=True) - 2 * x @ self.prototypes_.T
                 + np.square(self.prototypes_).sum(1))

    def predict(self, features: Any) -> np.ndarray:
        """The class of the nearest prototype for each row."""
        return self.scores(features).argmax(1)


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot episode as indices into a pool: labels renumbered ``0..n_way-1``.

    Attributes:
        support: pool indices of the support examples; ``support_y`` their episode labels.
        query: pool indices of the queries; ``query_y`` their episode labels.
        classes: the pool's class indices, in the order of the episode's labels.
    """

    support: np.ndarray
    support_y: np.ndarray
    query: np.ndarray
    query_y: np.ndarray
    classes: np.ndarray


class _Pool:
    """Stands in for a data set in :func:`few_shot_episodes`: a subset is the indices it picks."""

    def __init__(self, labels: np.ndarray, indices: np.ndarray | None = None) -> None:
        self.targets = torch.as_tensor(labels)
        self.indices = np.arange(len(labels)) if indices is None else indices
        self.classes = [str(c) for c in range(int(labels.max()) + 1)] if len(labels) else []
        self.name = "pool"

    def subset(self, indices: Any, *, name: str | None = None) -> _Pool:
        idx = np.asarray(indices, dtype=np.int64)
        out = _Pool(self.targets.numpy()[idx], self.indices[idx])
        out.classes = self.classes
        return out


def episode_indices(labels: Any, *, n_way: int, k_shot: int, n_query: int, n_episodes: int, seed: int = 0,
                    groups: Any = None) -> list[Episode]:
    """N-way K-shot episodes over a pool of labelled examples, as index arrays.

    The draw is :func:`~tlworkbench.data.few_shot_episodes`'s (the same episodes for the same
    seed), run on the labels alone; with ``groups`` the support and the queries of an episode
    come from disjoint halves of the groups (fonts, writers).

    Returns:
        A list of :class:`Episode`.

    Example:
        >>> eps = episode_indices(np.repeat(np.arange(4), 5), n_way=3, k_shot=2, n_query=3, n_episodes=2)
        >>> len(eps), len(eps[0].support), len(eps[0].query), sorted(set(eps[0].query_y.tolist()))
        (2, 6, 9, [0, 1, 2])
    """
    y = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    out = []
    for support, query in few_shot_episodes(_Pool(y), n_way=n_way, k_shot=k_shot, n_query=n_query,
                                            n_episodes=n_episodes, seed=seed, groups=groups):
        classes = np.asarray([int(c) for c in support.classes])
        out.append(Episode(support.indices, support.targets.numpy(), query.indices, query.targets.numpy(), classes))
    return out


def episode_accuracies(method: Callable[[Episode], np.ndarray], episodes: Sequence[Episode]) -> np.ndarray:
    """The query accuracy of ``method`` on each episode.

    Args:
        method: ``method(episode)`` returns the predicted labels of the episode's queries.
        episodes: from :func:`episode_indices`.

    Example:
        >>> eps = episode_indices(np.repeat(np.arange(3), 4), n_way=2, k_shot=1, n_query=2, n_episodes=3)
        >>> episode_accuracies(lambda e: e.query_y, eps).tolist()
        [1.0, 1.0, 1.0]
    """
    check_sequence(episodes, "episodes", "episode_accuracies")
    return np.asarray([float(np.mean(np.asarray(method(e)) == e.query_y)) for e in episodes])


def train_on_support(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, lr: float, steps: int,
                     seed: int = 0, train_bn: bool = True, queries: tuple[torch.Tensor, torch.Tensor] | None = None,
                     eval_at: Sequence[int] = ()) -> dict[int, float]:
    """Train ``model`` in place on a support set: ``steps`` full-batch Adam steps on the cross-entropy.

    Args:
        model: a network whose output has one logit per episode class (a fresh head).
        images: the support images as the model reads them.
        labels: their episode labels.
        lr: Adam's learning rate.
        steps: optimiser steps (the whole support set each step).
        seed: seeds the order of nothing but dropout, for reproducible runs.
        train_bn: BatchNorm layers normalise with the support batch and update their statistics
            (a network from scratch has no other); ``False`` keeps the statistics the network
            came with (a pretrained network; a batch of five images is a poor estimate).
        queries: ``(images, labels)`` scored after the steps of ``eval_at``.
        eval_at: step counts after which the query accuracy is measured.

    Returns:
        ``{step: query accuracy}`` for each step of ``eval_at`` (empty without queries). The
        model is left in eval mode after the last step.

    Example:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> x = torch.tensor([[[[0.0, 0], [0, 1]]], [[[1.0, 0], [0, 0]]]]); y = torch.tensor([0, 1])
        >>> train_on_support(net, x, y, lr=0.1, steps=30, queries=(x, y), eval_at=(30,))
        {30: 1.0}
    """
    func = "train_on_support"
    lr = check_float(lr, "lr", func, minimum=0.0, include_min=False)
    steps = check_int(steps, "steps", func, minimum=1)
    eval_at = sorted({check_int(s, "eval_at", func, minimum=1, maximum=steps) for s in eval_at})
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    scores: dict[int, float] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for step in range(1, steps + 1):
            model.train()
            if not train_bn:
                for m in model.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(images), labels).backward()
            optimizer.step()
            if queries is not None and step in eval_at:
                model.eval()
                with torch.no_grad():
                    scores[step] = float((model(queries[0]).argmax(1) == queries[1]).float().mean())
    model.eval()
    return scores


class ZeroShotHead:
    """A ridge map from image features to class-description embeddings (DeViSE, linear).

    The features are standardised on the training images; the map ``W`` minimises
    ``|Z W - E[y]|^2 + alpha |W|^2`` where ``E[y]`` is the embedding of each image's class
    description. A test image is mapped to ``z W`` and given the candidate class whose
    description's embedding has the largest cosine with it, so a class never seen in training is
    recognised from its description alone (Frome et al. 2013; Lampert et al. 2009 do the same
    with attributes).

    Because the map is linear in its targets, ``W = R E`` with ``R`` the ridge solution for
    one-hot class targets: :meth:`with_embeddings` gives the map for other descriptions of the
    same classes (a control with shuffled descriptions) without solving again.

    Args:
        alpha: the ridge penalty (> 0).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> emb = np.eye(3)
        >>> x = np.concatenate([rng.normal(0, 0.1, (20, 3)) + emb[c] for c in range(3)]); y = np.repeat([0, 1, 2], 20)
        >>> head = ZeroShotHead(alpha=1.0).fit(x[:40], y[:40], emb[:2])
        >>> float((head.predict(x, emb) == y)[:40].mean())
        1.0
    """

    def __init__(self, alpha: float = 10.0) -> None:
        self.alpha = check_float(alpha, "alpha", "ZeroShotHead", minimum=0.0, include_min=False)

    def fit(self, features: Any, labels: Any, class_embeddings: Any) -> ZeroShotHead:
        """Fit the map on ``features`` of classes ``labels`` (row ``c`` of ``class_embeddings`` is
        class ``c``'s description)."""
        func = "ZeroShotHead.fit"
        x = _as_2d(features, "features", func)
        y = np.asarray(labels).astype(np.int64)
        emb = _as_2d(class_embeddings, "class_embeddings", func)
        if y.shape != (len(x),) or y.min() < 0 or y.max() >= len(emb):
            raise param_error("labels", func, f"one class index per example, below {len(emb)}", y.shape)
        self.mean_ = x.mean(0)
        self.scale_ = np.where(x.std(0) > 1e-8, x.std(0), 1.0)
        z = (x - self.mean_) / self.scale_
        onehot = np.eye(len(emb))[y]
        if len(z) < z.shape[1]:  # fewer images than features: the same solution, solved in the images' space
            self.ridge_ = z.T @ np.linalg.solve(z @ z.T + self.alpha * np.eye(len(z)), onehot)
        else:
            self.ridge_ = np.linalg.solve(z.T @ z + self.alpha * np.eye(z.shape[1]), z.T @ onehot)  # (d, classes)
        self.coef_ = self.ridge_ @ emb
        return self

    def with_embeddings(self, class_embeddings: Any) -> ZeroShotHead:
        """The map fitted on the same images with other descriptions for the same classes."""
        out = copy.copy(self)
        out.coef_ = self.ridge_ @ _as_2d(class_embeddings, "class_embeddings", "ZeroShotHead.with_embeddings")
        return out

    def embed(self, features: Any) -> np.ndarray:
        """The features mapped into the text embedding."""
        return ((_as_2d(features, "features", "ZeroShotHead.embed") - self.mean_) / self.scale_) @ self.coef_

    def scores(self, features: Any, candidates: Any) -> np.ndarray:
        """``(n, candidates)``: the cosine of each mapped image with each candidate embedding."""
        return _unit(self.embed(features)) @ _unit(_as_2d(candidates, "candidates", "ZeroShotHead.scores")).T

    def predict(self, features: Any, candidates: Any) -> np.ndarray:
        """The index of the candidate description nearest each image."""
        return self.scores(features, candidates).argmax(1)


def per_class_accuracy(y_true: Any, y_pred: Any) -> float:
    """The mean over classes of each class's accuracy (the measure of Xian et al. 2018)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or y_true.shape != y_pred.shape:
        raise param_error("y_pred", "per_class_accuracy", f"one prediction per label ({len(y_true)})", y_pred.shape)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def harmonic_mean(seen: float, unseen: float) -> float:
    """``2 s u / (s + u)``: high only when both seen and unseen accuracies are (0 when both are 0).

    Example:
        >>> round(harmonic_mean(0.9, 0.1), 3)
        0.18
    """
    s = check_float(seen, "seen", "harmonic_mean", minimum=0.0, maximum=1.0)
    u = check_float(unseen, "unseen", "harmonic_mean", minimum=0.0, maximum=1.0)
    return 0.0 if s + u == 0 else 2 * s * u / (s + u)
