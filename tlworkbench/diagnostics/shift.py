"""Domain-shift measures between a ``source`` and a ``target`` feature set.

* :func:`mmd2` and :func:`mmd_test`: maximum mean discrepancy with an RBF kernel and a
  permutation test (Gretton et al., 2012), in :mod:`.mmd` and re-exported here.
* :func:`proxy_a_distance`: how well a linear domain classifier tells the two sets apart
  (Ben-David et al., 2007).
* :func:`coral_distance`: distance between second-order statistics (Sun & Saenko, 2016).
* :func:`ot_distance`: earth mover's distance with a squared Euclidean cost (POT).
* :func:`shift_report`: all of the above in one tidy table.

Features are ``(n, d)`` float arrays, from the workbench's feature cache or any other model.
scikit-learn and POT are imported when a measure first needs them, so ``import tlworkbench``
stays quick.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_int
from ._arrays import as_features, check_same_dim
from .mmd import MIN_PERMUTATION_SAMPLES, MMDTestResult, mmd2, mmd_test

__all__ = [
    "MIN_PERMUTATION_SAMPLES",
    "MMDTestResult",
    "coral_distance",
    "mmd2",
    "mmd_test",
    "ot_distance",
    "proxy_a_distance",
    "shift_report",
]

def proxy_a_distance(source: Any, target: Any, *, seed: int = 0, cv: int = 5) -> float:
    """Proxy A-distance: how separable the two domains are for a linear classifier.

    ``PAD = 2 (1 - 2 err)`` where ``err`` is the cross-validated error of a logistic regression
    (on standardised features) trained to tell source from target samples. The error is the
    balanced error rate (mean of the per-domain error rates), which is the plain error when both
    sets have the same size and keeps a majority-class guess at 0.5 otherwise. The value is
    clipped to ``[0, 2]``: 0 for indistinguishable domains, 2 for perfectly separable ones.

    References:
        S. Ben-David, J. Blitzer, K. Crammer, F. Pereira. "Analysis of Representations for
        Domain Adaptation." NeurIPS 2007. Y. Ganin et al. "Domain-Adversarial Training of
        Neural Networks." JMLR 17, 2016.

    Args:
        source: source features, ``(n, d)``, with at least ``cv`` samples.
        target: target features, ``(m, d)``, with at least ``cv`` samples.
        seed: seed of the fold split (>= 0).
        cv: number of stratified cross-validation folds (>= 2).

    Returns:
        The proxy A-distance in ``[0, 2]``.

    Raises:
        DataError: fewer than ``cv`` samples on a side, non-finite features, or different ``d``.
        InvalidParameterError: a bad ``cv`` or ``seed``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> proxy_a_distance(rng.normal(size=(50, 2)), rng.normal(8, 1, size=(50, 2)))
        2.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    func = "proxy_a_distance"
    cv = check_int(cv, "cv", func, minimum=2)
    seed = check_int(seed, "seed", func, minimum=0)
    src = as_features(source, "source", func, min_samples=cv)
    tgt = as_features(target, "target", func, min_samples=cv)
    check_same_dim(src, tgt, func)
    x = np.vstack([src, tgt])
    domain = np.r_[np.zeros(len(src), dtype=int), np.ones(len(tgt), dtype=int)]
    clf = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced")
    )
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    predicted = cross_val_predict(clf, x, domain, cv=folds)
    err = 1.0 - balanced_accuracy_score(domain, predicted)
    return float(np.clip(2.0 * (1.0 - 2.0 * err), 0.0, 2.0))


def coral_distance(source: Any, target: Any) -> float:
    """CORAL distance between the feature covariances of two domains.

    ``||C_s - C_t||_F² / (4 d²)`` with ``C`` the unbiased (``n - 1``) sample covariance, the loss
    that Deep CORAL minimises. It is 0 when the covariances are equal, whatever the means.

    References:
        B. Sun, K. Saenko. "Deep CORAL: Correlation Alignment for Deep Domain Adaptation."
        ECCV 2016 Workshops.

    Args:
        source: source features, ``(n, d)`` with ``n >= 2``.
        target: target features, ``(m, d)`` with ``m >= 2``.

    Returns:
        The CORAL distance (>= 0).

    Raises:
        DataError: fewer than 2 samples on a side, non-finite features, or different ``d``.

    Example:
        >>> coral_distance(np.array([[0.0], [2.0]]), np.array([[0.0], [4.0]]))
        9.0
    """
    func = "coral_distance"
    src = as_features(source, "source", func, min_samples=2)
    tgt = as_features(target, "target", func, min_samples=2)
    check_same_dim(src, tgt, func)
    d = src.shape[1]
    c_s = np.atleast_2d(np.cov(src, rowvar=False))
    c_t = np.atleast_2d(np.cov(tgt, rowvar=False))
    return float(np.sum((c_s - c_t) ** 2) / (4.0 * d * d))


def _subsample(x: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    if len(x) <= max_samples:
        return x
    return x[np.sort(rng.choice(len(x), size=max_samples, replace=False))]


def ot_distance(source: Any, target: Any, *, max_samples: int = 500, seed: int = 0) -> float:
    """Exact earth mover's distance between the empirical distributions of two feature sets.

    Each set is subsampled without replacement to at most ``max_samples`` points, both get
    uniform weights, and the exact optimal transport cost under the squared Euclidean ground
    cost is solved with the network simplex of POT (``ot.emd2``). The value is the squared
    2-Wasserstein distance between the subsamples.

    References:
        R. Flamary et al. "POT: Python Optimal Transport." JMLR 22, 2021. G. Peyré,
        M. Cuturi. "Computational Optimal Transport." Foundations and Trends in ML, 2019.

    Args:
        source: source features, ``(n, d)``.
        target: target features, ``(m, d)``.
        max_samples: cap on points per side (>= 1); the solver's cost grows cubically with it.
        seed: seed of the subsampling (>= 0).

    Returns:
        The optimal transport cost (>= 0).

    Raises:
        DataError: empty or non-finite features, or different ``d``.
        InvalidParameterError: a bad ``max_samples`` or ``seed``.

    Example:
        >>> ot_distance(np.array([[0.0], [1.0]]), np.array([[3.0], [4.0]]))
        9.0
    """
    import ot

    func = "ot_distance"
    src = as_features(source, "source", func)
    tgt = as_features(target, "target", func)
    check_same_dim(src, tgt, func)
    max_samples = check_int(max_samples, "max_samples", func, minimum=1)
    rng = np.random.default_rng(check_int(seed, "seed", func, minimum=0))
    xs, xt = _subsample(src, max_samples, rng), _subsample(tgt, max_samples, rng)
    a = np.full(len(xs), 1.0 / len(xs))
    b = np.full(len(xt), 1.0 / len(xt))
    cost = ot.dist(xs, xt, metric="sqeuclidean")
    return float(ot.emd2(a, b, cost))


def shift_report(
    source: Any,
    target: Any,
    *,
    seed: int = 0,
    n_permutations: int = 200,
    max_samples: int = 500,
) -> pd.DataFrame:
    """Every domain-shift measure of this module in one tidy table.

    MMD² (with its permutation test) and the OT distance run on subsamples of at most
    ``max_samples`` points per side; the proxy A-distance and CORAL use all samples.

    Args:
        source: source features, ``(n, d)`` with ``n >= 5``.
        target: target features, ``(m, d)`` with ``m >= 5``.
        seed: seed of subsampling, permutations and folds (>= 0).
        n_permutations: permutations of the MMD test.
        max_samples: cap on points per side for MMD and OT (>= 5).

    Returns:
        A DataFrame with one row per measure (``mmd2``, ``proxy_a_distance``, ``coral``,
        ``ot_emd``) and columns ``measure``, ``value``, ``p_value`` (NaN where no test applies)
        and ``seconds``.

    Raises:
        DataError: fewer than 5 samples on a side, non-finite features, or different ``d``.
        InvalidParameterError: a bad ``seed``, ``n_permutations`` or ``max_samples``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> shift_report(rng.normal(size=(40, 3)), rng.normal(size=(40, 3)))["measure"].tolist()
        ['mmd2', 'proxy_a_distance', 'coral', 'ot_emd']
    """
    func = "shift_report"
    src = as_features(source, "source", func, min_samples=MIN_PERMUTATION_SAMPLES)
    tgt = as_features(target, "target", func, min_samples=MIN_PERMUTATION_SAMPLES)
    check_same_dim(src, tgt, func)
    max_samples = check_int(max_samples, "max_samples", func, minimum=MIN_PERMUTATION_SAMPLES)
    seed = check_int(seed, "seed", func, minimum=0)
    rng = np.random.default_rng(seed)
    src_sub, tgt_sub = _subsample(src, max_samples, rng), _subsample(tgt, max_samples, rng)

    rows = []
    start = time.perf_counter()
    test = mmd_test(src_sub, tgt_sub, n_permutations=n_permutations, seed=seed)
    rows.append(("mmd2", test.mmd2, test.p_value, time.perf_counter() - start))
    measures = [
        ("proxy_a_distance", lambda: proxy_a_distance(src, tgt, seed=seed)),
        ("coral", lambda: coral_distance(src, tgt)),
        ("ot_emd", lambda: ot_distance(src_sub, tgt_sub, max_samples=max_samples, seed=seed)),
    ]
    for name, compute in measures:
        start = time.perf_counter()
        value = compute()
        rows.append((name, value, np.nan, time.perf_counter() - start))
    return pd.DataFrame(rows, columns=["measure", "value", "p_value", "seconds"])
