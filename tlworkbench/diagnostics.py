"""Domain-shift measures, transferability scores and the negative-transfer gap.

Everything here works on plain arrays: features as ``(n, d)`` float arrays, labels as 1-D integer
arrays, and a source model's predicted probabilities as ``(n, C_source)`` arrays. Features come
from the workbench's feature cache or from any other model.

Domain shift between a ``source`` and a ``target`` feature set:

* :func:`mmd2` and :func:`mmd_test`: maximum mean discrepancy with an RBF kernel and a
  permutation test (Gretton et al., 2012).
* :func:`proxy_a_distance`: how well a linear domain classifier tells the two sets apart
  (Ben-David et al., 2007).
* :func:`coral_distance`: distance between second-order statistics (Sun & Saenko, 2016).
* :func:`ot_distance`: earth mover's distance with a squared Euclidean cost (POT).
* :func:`shift_report`: all of the above in one tidy table.

Transferability of a pretrained model to a labelled target task, computed before fine-tuning:
:func:`logme`, :func:`leep`, :func:`nce` and :func:`h_score`. :func:`score_correlation` checks how
well such scores rank models by the accuracy they reach after transfer, and
:func:`negative_transfer_gap` tells whether transfer hurt compared with training from scratch.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import cdist, pdist

from .errors import DataError, did_you_mean

__all__ = [
    "MMDTestResult",
    "TransferGap",
    "mmd2",
    "mmd_test",
    "proxy_a_distance",
    "coral_distance",
    "ot_distance",
    "shift_report",
    "logme",
    "leep",
    "nce",
    "h_score",
    "negative_transfer_gap",
    "score_correlation",
]

#: Fewest samples per side that :func:`mmd_test` accepts; below it a permutation test says little.
MIN_PERMUTATION_SAMPLES = 5


@dataclass(frozen=True)
class MMDTestResult:
    """Outcome of :func:`mmd_test`.

    Attributes:
        mmd2: unbiased estimate of the squared MMD between the two samples.
        p_value: permutation p-value, ``(1 + #{permuted >= observed}) / (1 + n_permutations)``.
        bandwidth: the RBF bandwidth (sigma) used.
        n_permutations: how many permutations were drawn.
    """

    mmd2: float
    p_value: float
    bandwidth: float
    n_permutations: int


@dataclass(frozen=True)
class TransferGap:
    """Outcome of :func:`negative_transfer_gap`.

    Attributes:
        gap: mean error with transfer minus mean error from scratch; positive means transfer hurt.
        low: lower end of the bootstrap confidence interval of ``gap``.
        high: upper end of the bootstrap confidence interval of ``gap``.
        significant: ``"negative transfer"`` when the whole interval lies above 0,
            ``"positive transfer"`` when it lies below 0, ``"not significant"`` otherwise.
        paired: whether the bootstrap resampled seeds in pairs.
        level: confidence level of the interval.
    """

    gap: float
    low: float
    high: float
    significant: Literal["negative transfer", "positive transfer", "not significant"]
    paired: bool
    level: float


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _shape_of(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"an array of shape {tuple(shape)}" if shape is not None else f"{type(x).__name__}"


def _as_features(x: Any, name: str, func: str, *, min_samples: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float64 ``(n, d)`` array or raise :class:`DataError`."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"The {name!r} parameter of {func} must be a numeric (n, d) array; got "
            f"{_shape_of(x)} that cannot be converted to float. Pass a numpy array of features."
        ) from err
    if arr.ndim != 2:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 2-D (n, d) array; got shape "
            f"{arr.shape}. Reshape it, e.g. x.reshape(len(x), -1)."
        )
    if arr.shape[1] == 0:
        raise DataError(
            f"The {name!r} parameter of {func} must have at least one feature column; got "
            f"shape {arr.shape}."
        )
    if arr.shape[0] < min_samples:
        raise DataError(
            f"The {name!r} parameter of {func} must have at least {min_samples} samples (rows); "
            f"got {arr.shape[0]}. Pass more samples."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"The {name!r} parameter of {func} must contain only finite values; got "
            f"{int(bad.sum())} NaN or infinite value(s), the first at row {row}, column {col}. "
            "Drop or impute those samples first."
        )
    return arr


def _as_labels(y: Any, name: str, func: str, *, n: int, min_classes: int = 2) -> np.ndarray:
    """Return ``y`` recoded as ``0..K-1`` integers, checked for length and number of classes."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 1-D array of class labels; got shape "
            f"{arr.shape}. For one-hot labels pass labels.argmax(1)."
        )
    if arr.shape[0] != n:
        raise DataError(
            f"The {name!r} parameter of {func} must have one label per sample ({n}); got "
            f"{arr.shape[0]} labels. Pass features and labels of the same length."
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise DataError(
                f"The {name!r} parameter of {func} must hold integer class labels; got "
                f"non-integer floats such as {arr[arr != np.round(arr)][:3].tolist()}. "
                "Pass integer class indices."
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iubUS":
        raise DataError(
            f"The {name!r} parameter of {func} must hold integer class labels; got dtype "
            f"{arr.dtype}. Pass integer class indices."
        )
    classes, codes = np.unique(arr, return_inverse=True)
    if len(classes) < min_classes:
        raise DataError(
            f"The {name!r} parameter of {func} must contain at least {min_classes} classes; got "
            f"{len(classes)} ({classes.tolist()}). A score needs labels that vary."
        )
    return codes.reshape(-1)


def _check_same_dim(source: np.ndarray, target: np.ndarray, func: str) -> None:
    if source.shape[1] != target.shape[1]:
        raise DataError(
            f"The 'source' and 'target' parameters of {func} must have the same number of "
            f"features; got d={source.shape[1]} for source and d={target.shape[1]} for target. "
            "Extract both with the same backbone and layer."
        )


def _check_int(value: Any, name: str, func: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"The {name!r} parameter of {func} must be an integer >= {minimum}; got {value!r}."
        )
    return int(value)


# --------------------------------------------------------------------------------------------
# Domain shift
# --------------------------------------------------------------------------------------------


def _median_bandwidth(pooled: np.ndarray) -> float:
    """Median pairwise Euclidean distance of the pooled sample, falling back to 1 if it is 0."""
    dists = pdist(pooled)
    positive = dists[dists > 0]
    if positive.size == 0:
        return 1.0
    median = float(np.median(dists))
    return median if median > 0 else float(np.median(positive))


def _rbf_kernel(pooled: np.ndarray, bandwidth: float) -> np.ndarray:
    sq = cdist(pooled, pooled, metric="sqeuclidean")
    return np.exp(-sq / (2.0 * bandwidth**2))


def _mmd2_from_kernel(kernel: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Unbiased MMD² for each column of ``masks`` (1 marks a source sample, 0 a target sample).

    Block sums come from quadratic forms, so all permutations are scored with one matrix product.
    """
    n = masks[:, 0].sum()
    m = masks.shape[0] - n
    row_sums = kernel.sum(axis=1)
    total = row_sums.sum()
    diag = np.diag(kernel)
    s_ss = np.einsum("ip,ip->p", masks, kernel @ masks)
    s_st = masks.T @ row_sums - s_ss
    s_tt = total - s_ss - 2.0 * s_st
    diag_s = masks.T @ diag
    diag_t = diag.sum() - diag_s
    return (
        (s_ss - diag_s) / (n * (n - 1))
        + (s_tt - diag_t) / (m * (m - 1))
        - 2.0 * s_st / (n * m)
    )


def _check_bandwidth(bandwidth: float | None, func: str) -> float | None:
    if bandwidth is None:
        return None
    if not isinstance(bandwidth, (int, float, np.floating, np.integer)) or not (
        math.isfinite(bandwidth) and bandwidth > 0
    ):
        raise ValueError(
            f"The 'bandwidth' parameter of {func} must be a positive finite number or None "
            f"(median heuristic); got {bandwidth!r}."
        )
    return float(bandwidth)


def mmd2(source: Any, target: Any, *, bandwidth: float | None = None) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    ``k(x, y) = exp(-||x - y||² / (2 σ²))`` and the estimate is the U-statistic MMD²_u of
    Gretton et al. (2012), Lemma 6: within-sample kernel means over distinct pairs minus twice
    the cross mean. It can be slightly negative when the two distributions are the same.

    References:
        A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola. "A Kernel Two-Sample
        Test." JMLR 13, 2012.

    Args:
        source: source features, ``(n, d)`` with ``n >= 2``.
        target: target features, ``(m, d)`` with ``m >= 2``.
        bandwidth: kernel width σ; ``None`` uses the median pairwise distance of the pooled
            sample (the median heuristic).

    Returns:
        The unbiased MMD² estimate.

    Raises:
        DataError: non-finite features, fewer than 2 samples per side, or different ``d``.
        ValueError: a bandwidth that is not a positive number.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> abs(mmd2(rng.normal(size=(100, 3)), rng.normal(size=(100, 3)))) < 0.05
        True
    """
    src = _as_features(source, "source", "mmd2", min_samples=2)
    tgt = _as_features(target, "target", "mmd2", min_samples=2)
    _check_same_dim(src, tgt, "mmd2")
    sigma = _check_bandwidth(bandwidth, "mmd2")
    pooled = np.vstack([src, tgt])
    sigma = _median_bandwidth(pooled) if sigma is None else sigma
    mask = np.zeros((len(pooled), 1))
    mask[: len(src)] = 1.0
    return float(_mmd2_from_kernel(_rbf_kernel(pooled, sigma), mask)[0])


def mmd_test(
    source: Any,
    target: Any,
    *,
    n_permutations: int = 200,
    seed: int = 0,
    bandwidth: float | None = None,
) -> MMDTestResult:
    """Permutation two-sample test based on the unbiased RBF-kernel MMD².

    The pooled sample is relabelled at random ``n_permutations`` times with the bandwidth held
    fixed; the p-value counts permuted statistics at least as large as the observed one
    (Gretton et al., 2012, Section 5).

    References:
        A. Gretton et al. "A Kernel Two-Sample Test." JMLR 13, 2012.

    Args:
        source: source features, ``(n, d)`` with ``n >= 5``.
        target: target features, ``(m, d)`` with ``m >= 5``.
        n_permutations: number of random relabellings (>= 1); the smallest reachable p-value is
            ``1 / (n_permutations + 1)``.
        seed: seed of the permutations.
        bandwidth: kernel width σ; ``None`` for the median heuristic.

    Returns:
        An :class:`MMDTestResult` with ``mmd2``, ``p_value``, ``bandwidth`` and
        ``n_permutations``.

    Raises:
        DataError: fewer than 5 samples on a side, non-finite features, or different ``d``.
        ValueError: a bad ``n_permutations`` or ``bandwidth``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> mmd_test(rng.normal(size=(50, 2)), rng.normal(1, 1, size=(50, 2))).p_value < 0.05
        True
    """
    func = "mmd_test"
    src = _as_features(source, "source", func, min_samples=MIN_PERMUTATION_SAMPLES)
    tgt = _as_features(target, "target", func, min_samples=MIN_PERMUTATION_SAMPLES)
    _check_same_dim(src, tgt, func)
    n_permutations = _check_int(n_permutations, "n_permutations", func, minimum=1)
    sigma = _check_bandwidth(bandwidth, func)
    pooled = np.vstack([src, tgt])
    sigma = _median_bandwidth(pooled) if sigma is None else sigma
    kernel = _rbf_kernel(pooled, sigma)

    n_total, n = len(pooled), len(src)
    observed_mask = np.zeros((n_total, 1))
    observed_mask[:n] = 1.0
    observed = float(_mmd2_from_kernel(kernel, observed_mask)[0])

    rng = np.random.default_rng(seed)
    masks = np.zeros((n_total, n_permutations))
    for p in range(n_permutations):
        masks[rng.permutation(n_total)[:n], p] = 1.0
    permuted = _mmd2_from_kernel(kernel, masks)
    # A small tolerance so that ties created by rounding count as ties.
    exceed = int(np.sum(permuted >= observed - 1e-12))
    p_value = (1 + exceed) / (1 + n_permutations)
    return MMDTestResult(mmd2=observed, p_value=p_value, bandwidth=sigma,
                         n_permutations=n_permutations)


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
        seed: seed of the fold split.
        cv: number of stratified cross-validation folds (>= 2).

    Returns:
        The proxy A-distance in ``[0, 2]``.

    Raises:
        DataError: fewer than ``cv`` samples on a side, non-finite features, or different ``d``.
        ValueError: a bad ``cv``.

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
    cv = _check_int(cv, "cv", func, minimum=2)
    src = _as_features(source, "source", func, min_samples=cv)
    tgt = _as_features(target, "target", func, min_samples=cv)
    _check_same_dim(src, tgt, func)
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
    src = _as_features(source, "source", "coral_distance", min_samples=2)
    tgt = _as_features(target, "target", "coral_distance", min_samples=2)
    _check_same_dim(src, tgt, "coral_distance")
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
        seed: seed of the subsampling.

    Returns:
        The optimal transport cost (>= 0).

    Raises:
        DataError: empty or non-finite features, or different ``d``.
        ValueError: a bad ``max_samples``.

    Example:
        >>> ot_distance(np.array([[0.0], [1.0]]), np.array([[3.0], [4.0]]))
        9.0
    """
    import ot

    func = "ot_distance"
    src = _as_features(source, "source", func)
    tgt = _as_features(target, "target", func)
    _check_same_dim(src, tgt, func)
    max_samples = _check_int(max_samples, "max_samples", func, minimum=1)
    rng = np.random.default_rng(seed)
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
        seed: seed of subsampling, permutations and folds.
        n_permutations: permutations of the MMD test.
        max_samples: cap on points per side for MMD and OT.

    Returns:
        A DataFrame with one row per measure (``mmd2``, ``proxy_a_distance``, ``coral``,
        ``ot_emd``) and columns ``measure``, ``value``, ``p_value`` (NaN where no test applies)
        and ``seconds``.

    Raises:
        DataError: fewer than 5 samples on a side, non-finite features, or different ``d``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> shift_report(rng.normal(size=(40, 3)), rng.normal(size=(40, 3)))["measure"].tolist()
        ['mmd2', 'proxy_a_distance', 'coral', 'ot_emd']
    """
    func = "shift_report"
    src = _as_features(source, "source", func, min_samples=MIN_PERMUTATION_SAMPLES)
    tgt = _as_features(target, "target", func, min_samples=MIN_PERMUTATION_SAMPLES)
    _check_same_dim(src, tgt, func)
    max_samples = _check_int(max_samples, "max_samples", func, minimum=MIN_PERMUTATION_SAMPLES)
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


# --------------------------------------------------------------------------------------------
# Transferability scores
# --------------------------------------------------------------------------------------------


_LOG_BOUND = 60.0  # |log alpha| stays below 60, far beyond any feature scale in practice
# The targets are 0/1 indicators, so the noise precision has a natural scale: capping it at 1e8
# (noise s.d. 1e-4) keeps the evidence finite when a class is an exact linear function of the
# features, where it would otherwise grow without bound.
_LOG_MAX_BETA = math.log(1e8)


def _log_evidence(
    params: np.ndarray, s2: np.ndarray, z2: np.ndarray, y_perp2: float, n: int
) -> tuple[float, np.ndarray]:
    """Log evidence of one target column and its gradient in ``(log alpha, log beta)``.

    In the left singular basis of ``F`` the marginal covariance ``F Fᵀ/α + I/β`` is diagonal
    with entries ``σ²/α + 1/β`` (and ``1/β`` outside the span of ``F``), so
    ``log p(y) = -½ Σ (log λ_i + z_i²/λ_i) - ½ ((n - k) log(1/β) + β ||y_⊥||²) - ½ n log 2π``.
    """
    log_alpha, log_beta = params
    beta = math.exp(log_beta)
    lam = s2 * math.exp(-log_alpha) + 1.0 / beta
    outside = n - len(s2)  # dimensions of y outside the span of F
    value = -0.5 * (
        float(np.sum(np.log(lam) + z2 / lam))
        - outside * log_beta
        + beta * y_perp2
        + n * math.log(2.0 * math.pi)
    )
    d_lam = -0.5 * (1.0 / lam - z2 / lam**2)
    # d lam / d log_alpha = -(lam - 1/beta) and d lam / d log_beta = -1/beta.
    grad_alpha = -float(np.sum(d_lam * (lam - 1.0 / beta)))
    grad_beta = -float(np.sum(d_lam)) / beta + 0.5 * outside - 0.5 * beta * y_perp2
    return value, np.array([grad_alpha, grad_beta])


def _logme_evidence(
    s: np.ndarray, z: np.ndarray, y_perp2: float, n: int,
    *, tol: float = 1e-7, max_iter: int = 100,
) -> tuple[float, float, float]:
    """Maximised log evidence of one target column, with the maximising ``alpha`` and ``beta``.

    ``s`` are the non-zero singular values of the features, ``z = Uᵀy`` the target's coordinates
    in their left singular basis, and ``y_perp2`` the squared norm of the rest of ``y``.
    MacKay's fixed-point iteration runs first; a bounded quasi-Newton step on
    ``(log alpha, log beta)`` then finishes the maximisation, because with more features than
    samples the iteration can stall or run away towards ``alpha -> inf``.
    """
    from scipy.optimize import minimize

    s2, z2 = s**2, z**2
    alpha, beta = 1.0, 1.0
    converged = False
    for _ in range(max_iter):
        denom = alpha + beta * s2
        gamma = float(np.sum(beta * s2 / denom))
        mtm = float(np.sum((beta * s * z / denom) ** 2))  # |posterior mean of the weights|²
        res2 = float(np.sum((alpha * z / denom) ** 2) + y_perp2)  # |F m - y|²
        if mtm <= 0 or res2 <= 0 or gamma <= 0 or n - gamma <= 0:
            break
        new_alpha, new_beta = gamma / mtm, (n - gamma) / res2
        converged = abs(new_alpha - alpha) <= tol * alpha and abs(new_beta - beta) <= tol * beta
        alpha, beta = new_alpha, new_beta
        if converged or not (
            abs(math.log(alpha)) < _LOG_BOUND and -_LOG_BOUND < math.log(beta) < _LOG_MAX_BETA
        ):
            break

    def negative(params: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _log_evidence(params, s2, z2, y_perp2, n)
        return -value, -grad

    bounds = [(-_LOG_BOUND, _LOG_BOUND), (-_LOG_BOUND, _LOG_MAX_BETA)]
    starts = [np.clip([math.log(alpha), math.log(beta)], *np.array(bounds).T)]
    if not converged:
        starts.append(np.zeros(2))
    best = min(
        (minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                  options={"ftol": 1e-13, "gtol": 1e-9}) for start in starts),
        key=lambda result: result.fun,
    )
    return float(-best.fun), float(math.exp(best.x[0])), float(math.exp(best.x[1]))


def logme(features: Any, labels: Any) -> float:
    """LogME: the maximised log marginal likelihood of a linear model on the features.

    For each class ``c`` the indicator ``y = 1[label == c]`` is modelled as ``y = F w + ε`` with
    prior ``w ~ N(0, α⁻¹ I)`` and noise ``ε ~ N(0, β⁻¹ I)``. The evidence ``p(y | F, α, β)`` is
    maximised over ``α, β`` by MacKay's fixed-point iteration
    (``γ = Σ βσ²/(α + βσ²)``, ``α = γ / mᵀm``, ``β = (n - γ) / ||Fm - y||²``), carried out on the
    singular values ``σ`` of ``F`` so each iteration costs ``O(min(n, d))``, and finished by a
    bounded quasi-Newton search on ``(log α, log β)`` (with more features than samples the
    iteration alone can run away to a poor stationary point). The noise precision ``β`` is
    capped at ``1e8``, which keeps the score finite when a class indicator is an exact linear
    function of the features. The score is
    the maximised log evidence divided by ``n``, averaged over classes; larger is better.
    Features are used as given (no standardisation), as in the paper.

    References:
        K. You, Y. Liu, J. Wang, M. Long. "LogME: Practical Assessment of Pre-trained Models for
        Transfer Learning." ICML 2021. D. J. C. MacKay. "Bayesian Interpolation." Neural
        Computation 4(3), 1992.

    Args:
        features: target-task features from the pretrained model, ``(n, d)``.
        labels: target labels, ``(n,)``, at least two classes.

    Returns:
        The mean per-sample log evidence over classes.

    Raises:
        DataError: non-finite features, labels of another length, or a single class.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 60)
        >>> logme(np.c_[y, rng.normal(size=60)], y) > logme(rng.normal(size=(60, 2)), y)
        True
    """
    f = _as_features(features, "features", "logme")
    y = _as_labels(labels, "labels", "logme", n=len(f))
    n, dim = f.shape
    targets = np.eye(int(y.max()) + 1)[y]  # (n, K) class indicators
    # The eigendecomposition of the smaller Gram matrix gives the singular values and the
    # projections U^T y several times faster than a full SVD of F.
    if n >= dim:
        s2, vecs = np.linalg.eigh(f.T @ f)
        keep = s2 > s2.max() * 1e-12 if s2.max() > 0 else np.zeros_like(s2, dtype=bool)
        s = np.sqrt(s2[keep])
        z_all = (vecs[:, keep].T @ (f.T @ targets)) / s[:, None]
    else:
        s2, vecs = np.linalg.eigh(f @ f.T)
        keep = s2 > s2.max() * 1e-12 if s2.max() > 0 else np.zeros_like(s2, dtype=bool)
        s = np.sqrt(s2[keep])
        z_all = vecs[:, keep].T @ targets
    scores = []
    for c in range(targets.shape[1]):
        z = z_all[:, c]
        y_perp2 = max(float(targets[:, c] @ targets[:, c] - z @ z), 0.0)
        evidence, _, _ = _logme_evidence(s, z, y_perp2, n)
        scores.append(evidence / n)
    return float(np.mean(scores))


def _as_probs(x: Any, name: str, func: str) -> np.ndarray:
    probs = _as_features(x, name, func)
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        row_sums = probs.sum(axis=1)
        raise DataError(
            f"The {name!r} parameter of {func} must hold probabilities: non-negative rows that "
            f"sum to 1; got values in [{probs.min():.3g}, {probs.max():.3g}] and row sums in "
            f"[{row_sums.min():.3g}, {row_sums.max():.3g}]. Apply a softmax to logits first."
        )
    return probs


def leep(source_probs: Any, labels: Any) -> float:
    """LEEP: log expected empirical prediction of the source model on the target labels.

    With ``θ(x)`` the source model's probabilities over its own ``Z`` classes, the empirical joint
    ``P(y, z) = (1/n) Σ_{i: y_i = y} θ(x_i)_z`` gives the conditional ``P(y | z) = P(y, z) / P(z)``,
    and ``LEEP = (1/n) Σ_i log Σ_z P(y_i | z) θ(x_i)_z``. It is at most 0, reached when the source
    classes determine the target labels; larger is better. With one-hot ``θ`` it equals
    :func:`nce` of the hard predictions.

    References:
        C. V. Nguyen, T. Hassner, M. Seeger, C. Archambeau. "LEEP: A New Measure to Evaluate
        Transferability of Learned Representations." ICML 2020.

    Args:
        source_probs: the source model's predicted probabilities on the target samples,
            ``(n, Z)``, rows summing to 1.
        labels: target labels, ``(n,)``, at least two classes.

    Returns:
        The LEEP score (<= 0).

    Raises:
        DataError: probabilities that are not a distribution per row, labels of another length,
            or a single class.

    Example:
        >>> leep(np.eye(2)[[0, 0, 1, 1]], np.array([0, 0, 1, 1]))
        0.0
    """
    probs = _as_probs(source_probs, "source_probs", "leep")
    y = _as_labels(labels, "labels", "leep", n=len(probs))
    n = len(probs)
    one_hot = np.eye(int(y.max()) + 1)[y]
    joint = one_hot.T @ probs / n  # (K, Z)
    marginal = joint.sum(axis=0)
    conditional = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    expected = np.einsum("iz,iz->i", probs, conditional[y])
    return float(np.mean(np.log(expected)))


def nce(source_labels: Any, labels: Any) -> float:
    """NCE: negative conditional entropy ``-H(Y | Z)`` of target labels given source labels.

    ``Z`` are the source model's hard predictions (or the source labels) on the target samples;
    ``-H(Y | Z) = Σ_{y,z} P(y, z) log P(y | z)`` with empirical probabilities, in nats. It is 0
    when the target label is a function of ``Z`` and ``-H(Y)`` when ``Z`` tells nothing.

    References:
        A. T. Tran, C. V. Nguyen, T. Hassner. "Transferability and Hardness of Supervised
        Classification Tasks." ICCV 2019.

    Args:
        source_labels: hard source-class predictions, ``(n,)``, any number of distinct values.
        labels: target labels, ``(n,)``, at least two classes.

    Returns:
        The NCE score (<= 0).

    Raises:
        DataError: arrays of different lengths, non-integer labels, or a single target class.

    Example:
        >>> round(nce(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])), 4)  # -log(2)/2
        -0.3466
    """
    z_raw = np.asarray(source_labels)
    z = _as_labels(z_raw, "source_labels", "nce", n=z_raw.shape[0] if z_raw.ndim else 0,
                   min_classes=1)
    y = _as_labels(labels, "labels", "nce", n=len(z))
    n = len(y)
    joint = np.zeros((int(y.max()) + 1, int(z.max()) + 1))
    np.add.at(joint, (y, z), 1.0 / n)
    marginal = joint.sum(axis=0)
    nonzero = joint > 0
    conditional = joint[nonzero] / np.broadcast_to(marginal, joint.shape)[nonzero]
    return float(np.sum(joint[nonzero] * np.log(conditional)))


def _ledoit_wolf_shrinkage(centred: np.ndarray) -> tuple[float, float, np.ndarray | None]:
    """Ledoit–Wolf shrinkage ``a`` of the covariance of centred rows towards ``mu I``, and ``mu``.

    The same estimate as scikit-learn's ``ledoit_wolf_shrinkage(assume_centered=True)``
    (Ledoit & Wolf, 2004), computed from the ``n x n`` Gram matrix when there are fewer samples
    than dimensions: scikit-learn forms ``d x d`` products, which for 1,280 features and 500
    samples takes seconds. Returns the Gram matrix too when it was formed (else None).
    """
    n, d = centred.shape
    sq_norms = np.einsum("ij,ij->i", centred, centred)
    trace = sq_norms.sum() / n
    mu = trace / d
    gram = centred @ centred.T if n < d else None
    frob = float(np.sum(gram**2)) if gram is not None else float(np.sum((centred.T @ centred) ** 2))
    delta_ = frob / n**2
    beta = (np.sum(sq_norms**2) / n - delta_) / (d * n)
    delta = (delta_ - 2.0 * mu * trace + d * mu**2) / d
    if delta <= 0:
        return 0.0, float(mu), gram
    return float(min(beta, delta) / delta), float(mu), gram


def h_score(features: Any, labels: Any, *, shrinkage: bool | None = None) -> float:
    """H-score: ``tr(cov(f)⁻¹ cov(E[f | y]))``, how much of the feature variance the labels explain.

    ``cov(E[f | y])`` is the covariance of the features with every sample replaced by its class
    mean. Since it is bounded by ``cov(f)`` in the positive semi-definite order, the score lies in
    ``[0, min(rank cov(f), K - 1)]`` for ``K`` classes. The inverse is a Moore–Penrose
    pseudo-inverse (eigenvalues below ``1e-10`` of the largest are dropped), so collinear or
    constant features are allowed. Larger is better.

    With no more samples than feature dimensions the sample covariance is singular and the plain
    score sits at its ceiling ``K - 1`` for any features. There (``shrinkage=None``, the default,
    shrinks when ``n <= d``) ``cov(f)`` is replaced by its Ledoit–Wolf estimate
    ``(1 - a) cov(f) + a (tr cov(f) / d) I`` and ``cov(E[f | y])`` is scaled by ``1 - a``, as in
    the shrinkage-based H-score of Ibrahim et al. (2022); the result is no longer invariant to
    linear maps of the features but ranks them again.

    References:
        Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir, L. Guibas. "An
        Information-Theoretic Approach to Transferability in Task Transfer Learning." ICIP 2019.
        S. Ibrahim, N. Ponomareva, R. Mazumder. "Newer is not always better: Rethinking
        transferability metrics, their peculiarities, stability and performance." ECML PKDD 2022.

    Args:
        features: target-task features from the pretrained model, ``(n, d)``.
        labels: target labels, ``(n,)``, at least two classes.
        shrinkage: ``True`` always shrinks the covariance, ``False`` never, ``None`` when
            ``n <= d``.

    Returns:
        The H-score (>= 0).

    Raises:
        DataError: non-finite features, labels of another length, or a single class.

    Example:
        >>> y = np.array([0, 1, 2, 0, 1, 2])
        >>> round(h_score(np.eye(3)[y], y), 6)  # one-hot class indicators: K - 1
        2.0
    """
    f = _as_features(features, "features", "h_score", min_samples=2)
    y = _as_labels(labels, "labels", "h_score", n=len(f))
    centred = f - f.mean(axis=0)
    counts = np.bincount(y)
    class_means = (np.eye(len(counts))[y].T @ centred) / counts[:, None]
    n = len(f)
    d = f.shape[1]
    if shrinkage or (shrinkage is None and n <= d):
        alpha, mu, gram = _ledoit_wolf_shrinkage(centred)
        if alpha > 0 and mu > 0 and gram is not None:
            # n < d: the trace is computed in sample space through the Woodbury identity,
            # O(n^2 d) instead of O(d^3), with the same result as the d x d inverse
            g = np.sqrt(counts / n)[:, None] * class_means  # cov(E[f | y]) = g.T @ g
            c, b = alpha * mu, (1.0 - alpha) / n
            gx = g @ centred.T
            inner = np.linalg.solve(c * np.eye(n) + b * gram, gx.T)
            trace = (np.trace(g @ g.T) - b * np.trace(gx @ inner)) / c
            return float(max((1.0 - alpha) * trace, 0.0))
        cov_f = (1.0 - alpha) * (centred.T @ centred / n) + alpha * mu * np.eye(d)
        cov_g = (1.0 - alpha) * (class_means.T * counts) @ class_means / n
    else:
        cov_f = centred.T @ centred / n
        cov_g = (class_means.T * counts) @ class_means / n
    inv = np.linalg.pinv(cov_f, rtol=1e-10, hermitian=True)
    return float(max(np.trace(inv @ cov_g), 0.0))


# --------------------------------------------------------------------------------------------
# Negative transfer and score validation
# --------------------------------------------------------------------------------------------


def _as_errors(x: Any, name: str) -> np.ndarray:
    func = "negative_transfer_gap"
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 1-D array of numbers (one error per "
            f"seed); got {_shape_of(x)}."
        ) from err
    if arr.ndim != 1 or len(arr) < 2:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 1-D array with at least 2 errors (one "
            f"per seed); got shape {arr.shape}. Repeat the run over more seeds."
        )
    if not np.all(np.isfinite(arr)):
        raise DataError(
            f"The {name!r} parameter of {func} must contain only finite errors; got "
            f"{arr.tolist()}. Drop the runs that diverged."
        )
    return arr


def negative_transfer_gap(
    transfer_errors: Any,
    scratch_errors: Any,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    paired: bool | None = None,
) -> TransferGap:
    """Negative transfer gap with a bootstrap confidence interval over seeds.

    ``NTG = mean(transfer_errors) - mean(scratch_errors)``: the target error of the model
    trained with the source minus the error of the same model trained on the target alone
    (Wang et al., 2019). A positive gap is negative transfer. The interval is a percentile
    bootstrap: in pairs (resampling the per-seed differences) when ``paired``, otherwise by
    resampling each array on its own.

    References:
        Z. Wang, Z. Dai, B. Póczos, J. Carbonell. "Characterizing and Avoiding Negative
        Transfer." CVPR 2019. B. Efron, R. J. Tibshirani. "An Introduction to the Bootstrap."
        1993.

    Args:
        transfer_errors: target errors with transfer, one per seed.
        scratch_errors: target errors from scratch, one per seed.
        n_boot: number of bootstrap resamples (>= 100).
        seed: seed of the bootstrap.
        level: confidence level in ``(0, 1)``.
        paired: resample seeds in pairs; ``None`` pairs them when both arrays have the same
            length (the i-th entries share a seed).

    Returns:
        A :class:`TransferGap` with ``gap``, ``low``, ``high`` and the verdict ``significant``.

    Raises:
        DataError: fewer than 2 errors or non-finite errors in an array, or ``paired=True`` with
            arrays of different lengths.
        ValueError: a bad ``n_boot`` or ``level``.

    Example:
        >>> negative_transfer_gap([0.30, 0.32, 0.31], [0.20, 0.21, 0.22]).significant
        'negative transfer'
    """
    func = "negative_transfer_gap"
    t = _as_errors(transfer_errors, "transfer_errors")
    s = _as_errors(scratch_errors, "scratch_errors")
    n_boot = _check_int(n_boot, "n_boot", func, minimum=100)
    if not isinstance(level, (float, int, np.floating)) or not 0.0 < level < 1.0:
        raise ValueError(f"The 'level' parameter of {func} must be in (0, 1); got {level!r}.")
    if paired is None:
        paired = len(t) == len(s)
    elif paired and len(t) != len(s):
        raise DataError(
            f"The 'transfer_errors' and 'scratch_errors' parameters of {func} must have the same "
            f"length when paired=True; got {len(t)} and {len(s)}. Pass one error per seed in "
            "both, in the same seed order, or use paired=False."
        )
    gap = float(t.mean() - s.mean())
    rng = np.random.default_rng(seed)
    if paired:
        diff = t - s
        boots = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    else:
        boots = (
            t[rng.integers(0, len(t), size=(n_boot, len(t)))].mean(axis=1)
            - s[rng.integers(0, len(s), size=(n_boot, len(s)))].mean(axis=1)
        )
    tail = (1.0 - level) / 2.0
    low, high = (float(v) for v in np.quantile(boots, [tail, 1.0 - tail]))
    if low > 0:
        verdict: Literal["negative transfer", "positive transfer", "not significant"]
        verdict = "negative transfer"
    elif high < 0:
        verdict = "positive transfer"
    else:
        verdict = "not significant"
    return TransferGap(gap=gap, low=low, high=high, significant=verdict, paired=bool(paired),
                       level=float(level))


def score_correlation(scores: pd.DataFrame, *, accuracy: str = "accuracy") -> pd.DataFrame:
    """How well each transferability score ranks models by their accuracy after transfer.

    For every numeric column other than ``accuracy`` (one row per candidate model or layer),
    Kendall's τ (the measure used by You et al., 2021 and Nguyen et al., 2020) and Pearson's
    r are computed with :mod:`scipy.stats` over the rows where both values are finite.
    Non-numeric columns (such as a model name) are ignored. A constant column gives NaN.

    References:
        M. G. Kendall. "A New Measure of Rank Correlation." Biometrika 30, 1938.

    Args:
        scores: a DataFrame with one column per score and an accuracy column.
        accuracy: name of the accuracy column.

    Returns:
        A DataFrame with columns ``score``, ``kendall_tau``, ``kendall_p``, ``pearson_r``,
        ``pearson_p`` and ``n`` (rows used), one row per score column.

    Raises:
        DataError: ``scores`` is not a DataFrame, has no ``accuracy`` column, no numeric score
            column, or fewer than 3 rows.

    Example:
        >>> table = pd.DataFrame({"logme": [1.0, 2.0, 3.0], "accuracy": [0.5, 0.6, 0.9]})
        >>> score_correlation(table)["kendall_tau"].item()
        1.0
    """
    func = "score_correlation"
    if not isinstance(scores, pd.DataFrame):
        raise DataError(
            f"The 'scores' parameter of {func} must be a pandas DataFrame with one column per "
            f"score and an {accuracy!r} column; got {type(scores).__name__}."
        )
    if accuracy not in scores.columns:
        columns = [str(c) for c in scores.columns]
        raise DataError(
            f"The 'accuracy' parameter of {func} must name a column of 'scores'; got "
            f"{accuracy!r}, columns are {columns}.{did_you_mean(accuracy, columns)}"
        )
    if len(scores) < 3:
        raise DataError(
            f"The 'scores' parameter of {func} must have at least 3 rows (models) to correlate; "
            f"got {len(scores)}. Score more candidate models."
        )
    score_columns = [
        c for c in scores.columns
        if c != accuracy and pd.api.types.is_numeric_dtype(scores[c])
        and not pd.api.types.is_bool_dtype(scores[c])
    ]
    if not score_columns:
        raise DataError(
            f"The 'scores' parameter of {func} must have at least one numeric score column "
            f"besides {accuracy!r}; got columns {list(scores.columns)}."
        )
    acc = pd.to_numeric(scores[accuracy], errors="coerce").to_numpy(dtype=np.float64)
    rows = []
    for column in score_columns:
        values = scores[column].to_numpy(dtype=np.float64)
        keep = np.isfinite(values) & np.isfinite(acc)
        x, y = values[keep], acc[keep]
        if keep.sum() < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            tau = tau_p = r = r_p = np.nan
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", stats.ConstantInputWarning)
                tau, tau_p = stats.kendalltau(x, y)
                r, r_p = stats.pearsonr(x, y)
        rows.append((column, float(tau), float(tau_p), float(r), float(r_p), int(keep.sum())))
    return pd.DataFrame(
        rows, columns=["score", "kendall_tau", "kendall_p", "pearson_r", "pearson_p", "n"]
    )
