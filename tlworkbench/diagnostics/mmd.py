"""Maximum mean discrepancy between a ``source`` and a ``target`` feature set: :func:`mmd2` with
an RBF kernel (median-heuristic bandwidth) and :func:`mmd_test`, its permutation test (Gretton et
al., 2012). Written here because none of the project's dependencies (SciPy, scikit-learn, POT) has an
MMD permutation test; the kernel is computed once and every permutation reuses it. The other shift
measures are in :mod:`.shift`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist

from .._validate import check_float, check_int, check_optional
from ._arrays import as_features, check_same_dim

__all__ = ["MIN_PERMUTATION_SAMPLES", "MMDTestResult", "mmd2", "mmd_test"]

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


def _median_bandwidth(pooled: np.ndarray) -> float:
    """Median pairwise Euclidean distance of the pooled sample, falling back to 1 if it is 0."""
    dists = pdist(pooled)
    positive = dists[dists > 0]
    if positive.size == 0:
        return 1.0
    median = float(np.median(dists))
    return median if median > 0 else float(np.median(positive))


def _pooled_kernel(src: np.ndarray, tgt: np.ndarray, bandwidth: float | None) -> tuple[np.ndarray, float]:
    """RBF kernel matrix ``exp(-||x - y||² / (2 σ²))`` of the pooled sample, and the σ used."""
    from sklearn.metrics.pairwise import rbf_kernel

    pooled = np.vstack([src, tgt])
    sigma = _median_bandwidth(pooled) if bandwidth is None else bandwidth
    return rbf_kernel(pooled, gamma=1.0 / (2.0 * sigma**2)), sigma


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


def _source_mask(n_total: int, n: int) -> np.ndarray:
    mask = np.zeros((n_total, 1))
    mask[:n] = 1.0
    return mask


def mmd2(source: Any, target: Any, *, bandwidth: float | None = None) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    ``k(x, y) = exp(-||x - y||² / (2 σ²))`` (scikit-learn's ``rbf_kernel`` with
    ``gamma = 1 / (2 σ²)``) and the estimate is the U-statistic MMD²_u of Gretton et al. (2012),
    Lemma 6: within-sample kernel means over distinct pairs minus twice the cross mean. It can be
    slightly negative when the two distributions are the same.

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
        InvalidParameterError: a bandwidth that is not a positive number.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> abs(mmd2(rng.normal(size=(100, 3)), rng.normal(size=(100, 3)))) < 0.05
        True
    """
    func = "mmd2"
    src = as_features(source, "source", func, min_samples=2)
    tgt = as_features(target, "target", func, min_samples=2)
    check_same_dim(src, tgt, func)
    bandwidth = check_optional(bandwidth, check_float, "bandwidth", func, minimum=0.0, include_min=False)
    kernel, _ = _pooled_kernel(src, tgt, bandwidth)
    return float(_mmd2_from_kernel(kernel, _source_mask(len(kernel), len(src)))[0])


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
        seed: seed of the permutations (>= 0).
        bandwidth: kernel width σ; ``None`` for the median heuristic.

    Returns:
        An :class:`MMDTestResult` with ``mmd2``, ``p_value``, ``bandwidth`` and
        ``n_permutations``.

    Raises:
        DataError: fewer than 5 samples on a side, non-finite features, or different ``d``.
        InvalidParameterError: a bad ``n_permutations``, ``seed`` or ``bandwidth``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> mmd_test(rng.normal(size=(50, 2)), rng.normal(1, 1, size=(50, 2))).p_value < 0.05
        True
    """
    func = "mmd_test"
    src = as_features(source, "source", func, min_samples=MIN_PERMUTATION_SAMPLES)
    tgt = as_features(target, "target", func, min_samples=MIN_PERMUTATION_SAMPLES)
    check_same_dim(src, tgt, func)
    n_permutations = check_int(n_permutations, "n_permutations", func, minimum=1)
    seed = check_int(seed, "seed", func, minimum=0)
    bandwidth = check_optional(bandwidth, check_float, "bandwidth", func, minimum=0.0, include_min=False)
    kernel, sigma = _pooled_kernel(src, tgt, bandwidth)

    n_total, n = len(kernel), len(src)
    observed = float(_mmd2_from_kernel(kernel, _source_mask(n_total, n))[0])
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
