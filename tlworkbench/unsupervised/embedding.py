"""Clusters and anomaly scores of any embedding, and the AUROC of such scores with an interval.

:func:`cluster_scores` clusters with scikit-learn and scores with its NMI and ARI;
:class:`EmbeddingAnomalyScorer` wraps scikit-learn's nearest neighbours and isolation forest.
:func:`auroc` is the Mann-Whitney statistic written out over an axis, so that
:func:`auroc_interval` bootstraps it in one vectorised call of :func:`scipy.stats.bootstrap`
(scikit-learn's ``roc_auc_score`` takes one sample at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._validate import check_bool, check_choice, check_fraction, check_int, check_optional, param_error
from ..errors import DataError
from ._arrays import _matrix, _project, _Shown, _unit_rows, _vector

__all__ = ["CLUSTER_METHODS", "ANOMALY_METHODS", "cluster_scores", "EmbeddingAnomalyScorer", "auroc", "AurocInterval",
           "auroc_interval"]

CLUSTER_METHODS = ("kmeans", "agglomerative")
ANOMALY_METHODS = ("knn", "isolation_forest")


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
