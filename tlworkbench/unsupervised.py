"""Transfer without target labels: clustering, anomaly scores and an autoencoder.

The methods behind notebook 07, usable on any embedding (raw pixels, frozen features, codes):

* :func:`cluster_scores`: k-means or agglomerative (Ward) clusters of an embedding, scored
  against the true classes with NMI and ARI (scikit-learn);
* :class:`EmbeddingAnomalyScorer`: fitted on the embeddings of "normal" examples, it scores new
  ones by their mean distance to the ``k`` nearest normal ones, or by an isolation forest;
* :func:`auroc` and :func:`auroc_interval`: the area under the ROC curve of such scores, with a
  bootstrap interval over the scored examples;
* :class:`ConvAutoencoder`, :func:`train_autoencoder`, :func:`encode_images`: a small
  convolutional autoencoder trained on unlabelled images, its learning rate and epoch chosen on
  the reconstruction loss of held-out images.

Every embedding is centred and projected on its first ``n_components`` principal components
before it is clustered or scored, so that representations of different widths (784 pixels, 1,280
features, 32 codes) pass through one pipeline.

Example:
    >>> from tlworkbench.unsupervised import auroc
    >>> auroc([0.1, 0.2, 0.9], [False, False, True])
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from ._validate import check_bool, check_choice, check_fraction, check_int, check_optional, check_sequence, param_error
from .config import resolve_progress
from .errors import DataError
from .training import LR_GRID, choose_on_validation

__all__ = [
    "CLUSTER_METHODS", "ANOMALY_METHODS", "cluster_scores", "EmbeddingAnomalyScorer", "auroc",
    "AurocInterval", "auroc_interval", "ConvAutoencoder", "AutoencoderFit", "train_autoencoder",
    "encode_images",
]

CLUSTER_METHODS = ("kmeans", "agglomerative")
ANOMALY_METHODS = ("knn", "isolation_forest")


class _Shown(str):
    """A description of a received value, printed as it is by an error message."""

    __repr__ = str.__str__


def _matrix(x: Any, name: str, func: str, *, min_rows: int = 2) -> np.ndarray:
    """``x`` as a finite float64 array of shape (n, d) with at least ``min_rows`` rows."""
    arr = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or arr.ndim != 2:
        raise param_error(name, func, "a numeric 2-D array (examples x dimensions)",
                          _Shown(f"an array of shape {arr.shape} and dtype {arr.dtype}"))
    if len(arr) < min_rows or arr.shape[1] < 1:
        raise DataError(f"The {name!r} parameter of {func} must hold at least {min_rows} rows and one column; "
                        f"got shape {arr.shape}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise DataError(f"The {name!r} parameter of {func} holds NaN or infinite values; remove those rows.")
    return arr


def _vector(y: Any, name: str, func: str, n: int) -> np.ndarray:
    arr = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if arr.ndim != 1 or len(arr) != n:
        raise param_error(name, func, f"a 1-D array with one entry per row ({n})",
                          _Shown(f"an array of shape {arr.shape}"))
    return arr


def _unit_rows(x: np.ndarray, name: str, func: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise DataError(f"The {name!r} parameter of {func} has all-zero rows, which have no direction to "
                        "normalize; remove them or pass normalize=False.")
    return x / norms


def _project(fit_on: np.ndarray, n_components: int, seed: int, *also: np.ndarray) -> list[np.ndarray]:
    """Centre on ``fit_on`` and keep its first principal components; apply the same to ``also``."""
    from sklearn.decomposition import PCA

    k = min(n_components, fit_on.shape[1], len(fit_on) - 1)
    if k >= fit_on.shape[1]:  # already narrow: centring is all the projection would do
        mean = fit_on.mean(axis=0)
        return [a - mean for a in (fit_on, *also)]
    pca = PCA(n_components=k, random_state=seed).fit(fit_on)
    return [pca.transform(a) for a in (fit_on, *also)]


def cluster_scores(embeddings: Any, labels: Any, *, method: Literal["kmeans", "agglomerative"] = "kmeans",
                   n_clusters: int | None = None, n_components: int = 50, normalize: bool = False,
                   seed: int = 0) -> dict[str, float]:
    """Cluster an embedding without its labels, then score the clusters against the labels.

    The embedding (each row scaled to unit length first when ``normalize``) is centred and
    projected on its first ``n_components`` principal components, then clustered by k-means
    (``n_init=10``, seeded) or by agglomerative clustering with Ward's linkage (deterministic).
    The labels are used only to score the clusters and, by default, to set their number.

    Args:
        embeddings: (n, d) array, one row per example.
        labels: the true class of each example, used only for scoring.
        method: ``"kmeans"`` or ``"agglomerative"``.
        n_clusters: number of clusters (``None``: the number of distinct labels).
        n_components: principal components kept before clustering (>= 1).
        normalize: scale each row to unit Euclidean length first (cosine geometry).
        seed: seed of the projection and of k-means.

    Returns:
        ``{"nmi": ..., "ari": ...}``: normalised mutual information and adjusted Rand index of
        the clusters against ``labels`` (1 is perfect; ARI is 0 for a random partition).

    Raises:
        InvalidParameterError: a bad array, method, ``n_clusters``, ``n_components`` or ``seed``.
        DataError: fewer rows than clusters, or non-finite values.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = np.concatenate([rng.normal(0, 0.1, (30, 4)), rng.normal(3, 0.1, (30, 4))])
        >>> cluster_scores(x, [0] * 30 + [1] * 30, method="agglomerative")
        {'nmi': 1.0, 'ari': 1.0}
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    func = "cluster_scores"
    x = _matrix(embeddings, "embeddings", func)
    y = _vector(labels, "labels", func, len(x))
    method = check_choice(method, "method", func, CLUSTER_METHODS)
    n_clusters = check_optional(n_clusters, check_int, "n_clusters", func, minimum=2)
    n_components = check_int(n_components, "n_components", func, minimum=1)
    if check_bool(normalize, "normalize", func):
        x = _unit_rows(x, "embeddings", func)
    seed = check_int(seed, "seed", func, minimum=0)
    k = len(np.unique(y)) if n_clusters is None else n_clusters
    if k < 2 or k > len(x):
        raise DataError(f"{func} needs between 2 and {len(x)} clusters (one per row at most); got {k}.")
    (z,) = _project(x, n_components, seed)
    if method == "kmeans":
        found = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(z)
    else:
        found = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(z)
    return {"nmi": float(normalized_mutual_info_score(y, found)), "ari": float(adjusted_rand_score(y, found))}


class EmbeddingAnomalyScorer:
    """Scores how unlike a set of normal examples new examples are, in an embedding.

    :meth:`fit` (after scaling each row to unit length when ``normalize``) centres the normal
    embeddings and keeps their first ``n_components`` principal components; :meth:`score`
    projects new embeddings the same way and returns, for ``"knn"``, the mean Euclidean distance
    to the ``k`` nearest normal examples (:class:`sklearn.neighbors.NearestNeighbors`), for ``"isolation_forest"``, the negated
    :meth:`sklearn.ensemble.IsolationForest.score_samples`. Higher is more anomalous.

    Args:
        method: ``"knn"`` or ``"isolation_forest"``.
        k: neighbours averaged by ``"knn"`` (>= 1).
        n_components: principal components kept (>= 1).
        normalize: scale each row to unit Euclidean length first, in :meth:`fit` and :meth:`score`.
        seed: seed of the projection and of the forest.

    Raises:
        InvalidParameterError: a bad method, ``k``, ``n_components``, ``normalize`` or ``seed``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> scorer = EmbeddingAnomalyScorer(k=3).fit(rng.normal(0, 1, (100, 5)))
        >>> near, far = scorer.score(np.array([[0.0] * 5, [6.0] * 5]))
        >>> bool(far > near)
        True
    """

    def __init__(self, method: Literal["knn", "isolation_forest"] = "knn", *, k: int = 5, n_components: int = 50,
                 normalize: bool = False, seed: int = 0) -> None:
        func = "EmbeddingAnomalyScorer"
        self.method = check_choice(method, "method", func, ANOMALY_METHODS)
        self.k = check_int(k, "k", func, minimum=1)
        self.n_components = check_int(n_components, "n_components", func, minimum=1)
        self.normalize = check_bool(normalize, "normalize", func)
        self.seed = check_int(seed, "seed", func, minimum=0)
        self._pca: Any = None
        self._model: Any = None

    def fit(self, embeddings: Any) -> EmbeddingAnomalyScorer:
        """Learn what normal looks like from ``embeddings`` ((n, d), more than ``k`` rows); returns self."""
        from sklearn.decomposition import PCA
        from sklearn.ensemble import IsolationForest
        from sklearn.neighbors import NearestNeighbors

        x = _matrix(embeddings, "embeddings", "EmbeddingAnomalyScorer.fit", min_rows=self.k + 1)
        if self.normalize:
            x = _unit_rows(x, "embeddings", "EmbeddingAnomalyScorer.fit")
        n = min(self.n_components, x.shape[1], len(x) - 1)
        self._pca = PCA(n_components=n, random_state=self.seed).fit(x)
        z = self._pca.transform(x)
        if self.method == "knn":
            self._model = NearestNeighbors(n_neighbors=self.k).fit(z)
        else:
            self._model = IsolationForest(n_estimators=200, random_state=self.seed).fit(z)
        return self

    def score(self, embeddings: Any) -> np.ndarray:
        """Anomaly scores of ``embeddings`` ((n, d), the width seen by :meth:`fit`); higher is more anomalous."""
        func = "EmbeddingAnomalyScorer.score"
        if self._model is None:
            raise DataError(f"{func} was called before fit; call fit(normal_embeddings) first.")
        x = _matrix(embeddings, "embeddings", func, min_rows=1)
        if x.shape[1] != self._pca.n_features_in_:
            raise param_error("embeddings", func, f"an array with {self._pca.n_features_in_} columns, as in fit",
                              _Shown(f"an array of shape {x.shape}"))
        if self.normalize:
            x = _unit_rows(x, "embeddings", func)
        z = self._pca.transform(x)
        if self.method == "knn":
            return self._model.kneighbors(z)[0].mean(axis=1)
        return -self._model.score_samples(z)


def _auroc(scores: np.ndarray, positive: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mann-Whitney AUROC along ``axis`` (ties count one half); vectorised for the bootstrap."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=axis)
    pos = positive.astype(bool)
    n_pos = pos.sum(axis=axis)
    n_neg = pos.shape[axis] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * pos).sum(axis=axis) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _scored(scores: Any, is_anomaly: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or not np.isfinite(s).all():
        raise param_error("scores", func, "a 1-D array of finite numbers", _Shown(f"an array of shape {s.shape}"))
    y = _vector(is_anomaly, "is_anomaly", func, len(s))
    if not np.isin(y, (0, 1)).all():
        raise param_error("is_anomaly", func, "booleans or 0/1", _Shown(f"values {np.unique(y)[:5]}"))
    y = y.astype(bool)
    if y.all() or not y.any():
        raise DataError(f"{func} needs both anomalies and normal examples in 'is_anomaly'; got {int(y.sum())} "
                        f"anomalies out of {len(y)}.")
    return s, y


def auroc(scores: Any, is_anomaly: Any) -> float:
    """Area under the ROC curve of anomaly ``scores`` (higher means more anomalous).

    The probability that a random anomaly scores above a random normal example (ties count one
    half): 0.5 is chance, 1 a perfect ranking. Equal to :func:`sklearn.metrics.roc_auc_score`.

    Raises:
        InvalidParameterError: scores not a finite 1-D array, or labels not boolean.
        DataError: no anomaly, or no normal example.

    Example:
        >>> auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True])
        0.75
    """
    s, y = _scored(scores, is_anomaly, "auroc")
    return float(_auroc(s, y))


@dataclass(frozen=True)
class AurocInterval:
    """An AUROC with its bootstrap interval over the scored examples.

    Attributes:
        auroc: the AUROC of all the examples; ``low``, ``high``: the interval at ``level``.
        n: examples scored; ``n_anomalies`` of them are anomalies.
        method: the bootstrap interval (``"BCa"`` or ``"percentile"``).
    """

    auroc: float
    low: float
    high: float
    level: float
    n: int
    n_anomalies: int
    method: str

    def __str__(self) -> str:
        return (f"{self.auroc:.3f} [{self.low:.3f}, {self.high:.3f}], {self.level:.0%} {self.method} bootstrap, "
                f"n = {self.n} ({self.n_anomalies} anomalies)")


def auroc_interval(scores: Any, is_anomaly: Any, *, level: float = 0.95, n_resamples: int = 1999,
                   method: Literal["BCa", "percentile"] = "BCa", seed: int = 0) -> AurocInterval:
    """The AUROC of ``scores`` with a bootstrap interval (:func:`scipy.stats.bootstrap`).

    Examples are resampled with their labels (a paired bootstrap), so the interval covers the
    variation from which images happened to be scored, not that of the scorer's fit.

    Args:
        scores: anomaly scores, higher means more anomalous.
        is_anomaly: True for the anomalies.
        level: confidence level in (0, 1).
        n_resamples: bootstrap resamples (>= 100).
        method: ``"BCa"`` or ``"percentile"``.
        seed: seed of the resampling.

    Returns:
        An :class:`AurocInterval`; ``str()`` reads like
        ``0.812 [0.771, 0.850], 95% BCa bootstrap, n = 1000 (100 anomalies)``.

    Raises:
        InvalidParameterError: bad scores, labels, level, ``n_resamples``, method or seed.
        DataError: no anomaly, or no normal example.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = np.arange(200) < 50
        >>> ci = auroc_interval(rng.normal(size=200) + y, y, n_resamples=500)
        >>> ci.low < ci.auroc < ci.high
        True
    """
    from scipy.stats import bootstrap

    func = "auroc_interval"
    s, y = _scored(scores, is_anomaly, func)
    level = check_fraction(level, "level", func)
    n_resamples = check_int(n_resamples, "n_resamples", func, minimum=100)
    method = check_choice(method, "method", func, ("BCa", "percentile"))
    seed = check_int(seed, "seed", func, minimum=0)
    res = bootstrap((s, y), lambda a, b, axis=-1: _auroc(a, b, axis=axis), paired=True, vectorized=True,
                    confidence_level=level, n_resamples=n_resamples, method=method.lower(),
                    random_state=np.random.default_rng(seed))
    low, high = res.confidence_interval
    return AurocInterval(float(_auroc(s, y)), float(low), float(high), level, len(s), int(y.sum()), method)


class ConvAutoencoder(nn.Module):
    """A small convolutional autoencoder for one-channel images whose sides are multiples of 4.

    Two strided convolutions (16 and 32 channels) and a linear layer encode an image into
    ``code_size`` numbers; the mirror image decodes them into logits of the pixels.

    Example:
        >>> model = ConvAutoencoder(code_size=8)
        >>> model.encode(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 8])
    """

    def __init__(self, code_size: int = 32, *, image_size: int = 28) -> None:
        super().__init__()
        code_size = check_int(code_size, "code_size", "ConvAutoencoder", minimum=1)
        image_size = check_int(image_size, "image_size", "ConvAutoencoder", minimum=4)
        if image_size % 4:
            raise param_error("image_size", "ConvAutoencoder", "a multiple of 4", image_size)
        s = image_size // 4
        self.code_size, self.image_size = code_size, image_size
        self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                                     nn.Flatten(), nn.Linear(32 * s * s, code_size))
        self.decoder = nn.Sequential(nn.Linear(code_size, 32 * s * s), nn.ReLU(), nn.Unflatten(1, (32, s, s)),
                                     nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of a float batch (N, 1, H, W) in [0, 1]."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel logits of the reconstruction of ``x``."""
        return self.decoder(self.encoder(x))


def _as_unit_images(images: Any, func: str, image_size: int | None = None, min_images: int = 2) -> torch.Tensor:
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != x.shape[3] or x.shape[2] % 4 or len(x) < min_images:
        raise param_error("images", func, f"a batch (N >= {min_images}, 1, H, H) of one-channel square images, "
                          "H a multiple of 4",
                          _Shown(f"a tensor of shape {tuple(x.shape)}"))
    if image_size is not None and x.shape[2] != image_size:
        raise param_error("images", func, f"images of {image_size} px, as the model was built for",
                          _Shown(f"{x.shape[2]} px images"))
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


@dataclass
class AutoencoderFit:
    """Outcome of :func:`train_autoencoder`.

    Attributes:
        model: the chosen autoencoder (weights of its best validation epoch), in eval mode.
        lr: the learning rate chosen on validation.
        val_loss: its validation reconstruction loss (binary cross-entropy per pixel).
        table: one row per learning rate: ``lr``, ``val_score`` (the negated loss), ``chosen``.
        n_train, n_val: images trained on and held out.
    """

    model: ConvAutoencoder
    lr: float
    val_loss: float
    table: pd.DataFrame
    n_train: int
    n_val: int


def train_autoencoder(images: Any, *, lr_grid: Sequence[float] = LR_GRID, epochs: int = 15, batch_size: int = 64,
                      code_size: int = 32, val_fraction: float = 0.2, seed: int = 0,
                      progress: bool | None = None) -> AutoencoderFit:
    """Train a :class:`ConvAutoencoder` on unlabelled images, choosing lr and epoch on held-out ones.

    A random ``val_fraction`` of the images is held out. For each learning rate (Adam) the model
    trains ``epochs`` epochs and keeps the weights of its lowest validation loss; the learning
    rate with the lowest of those is chosen (:func:`~tlworkbench.training.choose_on_validation`).

    Args:
        images: (N, 1, H, H) uint8 (0-255) or float (0-1) images, H a multiple of 4.
        lr_grid: learning rates to choose from.
        epochs: epochs per learning rate (>= 1).
        batch_size: images per step (>= 1).
        code_size: numbers per code (>= 1).
        val_fraction: share held out, in (0, 1).
        seed: seed of the split, the initialisation and the batches.
        progress: a progress bar over the grid (``None``: in Jupyter only).

    Returns:
        An :class:`AutoencoderFit`.

    Raises:
        InvalidParameterError: bad images or settings.

    Example:
        >>> fit = train_autoencoder(torch.rand(40, 1, 8, 8), lr_grid=(1e-3,), epochs=1, code_size=4)
        >>> fit.model.encode(torch.rand(3, 1, 8, 8)).shape
        torch.Size([3, 4])
    """
    func = "train_autoencoder"
    x = _as_unit_images(images, func)
    grid = check_sequence(lr_grid, "lr_grid", func)
    epochs = check_int(epochs, "epochs", func, minimum=1)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    code_size = check_int(code_size, "code_size", func, minimum=1)
    val_fraction = check_fraction(val_fraction, "val_fraction", func)
    seed = check_int(seed, "seed", func, minimum=0)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(round(val_fraction * len(x))))
    val, train = x[order[:n_val]], x[order[n_val:]]
    if not len(train):
        raise DataError(f"{func} has no training images left after holding out {n_val}; give more images.")
    loss_fn = nn.functional.binary_cross_entropy_with_logits

    def run(lr: float) -> tuple[float, tuple[ConvAutoencoder, float]]:
        torch.manual_seed(seed)
        model = ConvAutoencoder(code_size, image_size=x.shape[2])
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        best, best_state = float("inf"), None
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(len(train), generator=gen)
            for i in range(0, len(train), batch_size):
                batch = train[perm[i:i + batch_size]]
                loss = loss_fn(model(batch), batch)
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(model(val), val))
            if val_loss < best:  # a NaN loss never replaces a finite one
                best, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
        if best_state is None:
            return float("nan"), (model.eval(), best)
        model.load_state_dict(best_state)
        return -best, (model.eval(), best)

    choice = choose_on_validation(run, [float(v) for v in grid], name="lr", progress=resolve_progress(progress))
    model, loss = choice.output
    return AutoencoderFit(model, float(choice.best), float(loss), choice.table, len(train), len(val))


@torch.no_grad()
def encode_images(model: ConvAutoencoder, images: Any, *, batch_size: int = 512) -> np.ndarray:
    """Codes of ``images`` ((N, 1, H, H), uint8 or float in [0, 1]) as an (N, code_size) array.

    Example:
        >>> encode_images(ConvAutoencoder(code_size=4), torch.zeros(2, 1, 28, 28)).shape
        (2, 4)
    """
    func = "encode_images"
    if not isinstance(model, ConvAutoencoder):
        raise param_error("model", func, "a ConvAutoencoder", type(model).__name__)
    x = _as_unit_images(images, func, model.image_size, min_images=1)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    model.eval()
    return torch.cat([model.encode(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()
