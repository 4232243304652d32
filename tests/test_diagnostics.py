"""Tests of domain-shift measures, transferability scores and the statistics over seeds."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.spatial.distance import cdist, pdist
from scipy.special import softmax

from tlworkbench.diagnostics import (
    MMDTestResult,
    PairedDifference,
    TransferGap,
    coral_distance,
    h_score,
    leep,
    logme,
    mmd2,
    mmd_test,
    negative_transfer_gap,
    nce,
    ot_distance,
    paired_difference,
    proxy_a_distance,
    score_correlation,
    shift_report,
)
from tlworkbench.diagnostics.mmd import _pooled_kernel
from tlworkbench.diagnostics.transferability import _ledoit_wolf_shrinkage
from tlworkbench.errors import DataError, InvalidParameterError, TLWError


def gaussian(seed: int, n: int = 100, d: int = 3, shift: float = 0.0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d))
    x[:, 0] += shift
    return x


def class_data(seed: int, n: int = 150, k: int = 3, signal: float = 2.0):
    """Features whose first k columns carry the class, and pure-noise features of the same shape."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    informative = signal * np.eye(k)[y] + rng.normal(size=(n, k))
    noise = rng.normal(size=(n, k))
    return informative, noise, y


# ---------------------------------------------------------------------------- MMD


def test_mmd2_matches_the_u_statistic_written_as_loops():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 2)), rng.normal(0.5, 1.0, size=(4, 2))
    sigma = 0.8

    def k(a, b):
        return math.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(a, b) for a in x for b in y) / (n * m)
    assert mmd2(x, y, bandwidth=sigma) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_mmd2_values_are_those_of_the_written_out_kernel():
    # exp(-||x - y||^2 / (2 sigma^2)) written with cdist gave these values on this fixed example
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(40, 5)), rng.normal(0.3, 1.2, size=(30, 5))
    assert mmd2(x, y) == pytest.approx(0.03829635485224614, abs=1e-9)
    assert mmd2(x, y, bandwidth=0.7) == pytest.approx(-0.001385030564319576, abs=1e-9)
    assert mmd2(x, y, bandwidth=3.0) == pytest.approx(0.041140272652024024, abs=1e-9)
    kernel, sigma = _pooled_kernel(x, y, 0.7)
    pooled = np.vstack([x, y])
    assert sigma == 0.7
    np.testing.assert_allclose(kernel, np.exp(-cdist(pooled, pooled, "sqeuclidean") / (2 * 0.7**2)),
                               rtol=0, atol=1e-12)


def test_median_heuristic_is_the_median_pooled_distance():
    x, y = gaussian(0, n=30), gaussian(1, n=20, shift=1.0)
    expected = float(np.median(pdist(np.vstack([x, y]))))
    result = mmd_test(x, y, n_permutations=20)
    assert result.bandwidth == pytest.approx(expected)
    assert mmd2(x, y) == pytest.approx(mmd2(x, y, bandwidth=expected))
    assert result.mmd2 == pytest.approx(mmd2(x, y))


def test_mmd_same_distribution_is_near_zero_with_large_p_values():
    # Under the null the p-value is uniform, so check twenty pairs rather than one.
    results = [mmd_test(gaussian(2 * i, n=60), gaussian(2 * i + 1, n=60), n_permutations=100)
               for i in range(20)]
    assert all(isinstance(r, MMDTestResult) for r in results)
    assert max(abs(r.mmd2) for r in results) < 0.04
    p_values = np.array([r.p_value for r in results])
    assert np.median(p_values) > 0.2
    assert np.sum(p_values < 0.05) <= 3


def test_mmd_shifted_means_give_a_small_p_value():
    result = mmd_test(gaussian(0), gaussian(1, shift=1.0), n_permutations=200, seed=0)
    assert result.mmd2 > 0.02
    assert result.p_value == pytest.approx(1 / 201)  # no permutation reaches the observed value


def test_mmd_test_is_reproducible_and_p_value_is_in_range():
    x, y = gaussian(2, n=20), gaussian(3, n=25)
    first = mmd_test(x, y, n_permutations=50, seed=7)
    assert first == mmd_test(x, y, n_permutations=50, seed=7)
    assert 1 / 51 <= first.p_value <= 1.0
    assert first.n_permutations == 50


# ---------------------------------------------------------------------------- A-distance, CORAL, OT


def test_proxy_a_distance_same_distribution_is_near_zero():
    assert proxy_a_distance(gaussian(0), gaussian(1), seed=0) < 0.5


def test_proxy_a_distance_separated_domains_is_near_two():
    assert proxy_a_distance(gaussian(0), gaussian(1, shift=8.0), seed=0) > 1.9


def test_proxy_a_distance_stays_in_range_with_unequal_sizes():
    value = proxy_a_distance(gaussian(0, n=120), gaussian(1, n=30), seed=0)
    assert 0.0 <= value < 0.8


def test_coral_is_zero_for_identical_covariance():
    x = gaussian(0, d=4)
    assert coral_distance(x, x + 5.0) == pytest.approx(0.0, abs=1e-12)


def test_coral_hand_computed():
    # Unbiased variances 2 and 8 in one dimension: (2 - 8)^2 / (4 * 1^2) = 9.
    assert coral_distance(np.array([[0.0], [2.0]]), np.array([[0.0], [4.0]])) == pytest.approx(9.0)
    # Doubling the features multiplies the covariance by 4: ||C - 4C||^2 / (4 d^2).
    x = gaussian(3, d=2)
    cov = np.cov(x, rowvar=False)
    assert coral_distance(x, 2 * x) == pytest.approx(9 * np.sum(cov**2) / 16)


def test_ot_distance_hand_computed():
    source = np.array([[0.0], [1.0]])
    assert ot_distance(source, source + 3.0) == pytest.approx(9.0)
    assert ot_distance(source, source) == pytest.approx(0.0)


def test_ot_distance_of_a_translation_is_the_squared_shift():
    x = gaussian(4, n=40, d=2)
    shift = np.array([1.0, -2.0])
    assert ot_distance(x, x + shift) == pytest.approx(5.0, rel=1e-9)


def test_ot_distance_subsamples_reproducibly():
    x, y = gaussian(0, n=80), gaussian(1, n=60, shift=1.0)
    small = ot_distance(x, y, max_samples=20, seed=3)
    assert small == ot_distance(x, y, max_samples=20, seed=3)
    assert small > 0.5


def test_shift_report_has_one_row_per_measure():
    x, y = gaussian(0, n=60), gaussian(1, n=50, shift=1.0)
    report = shift_report(x, y, seed=0)
    assert isinstance(report, pd.DataFrame)
    assert list(report.columns) == ["measure", "value", "p_value", "seconds"]
    assert report["measure"].tolist() == ["mmd2", "proxy_a_distance", "coral", "ot_emd"]
    by_name = report.set_index("measure")
    assert by_name.loc["mmd2", "p_value"] < 0.05
    assert by_name[["p_value"]].drop(index="mmd2").isna().all().item()
    assert by_name.loc["coral", "value"] == pytest.approx(coral_distance(x, y))
    assert by_name.loc["proxy_a_distance", "value"] == pytest.approx(proxy_a_distance(x, y))
    assert (report["seconds"] >= 0).all()


# ---------------------------------------------------------------------------- NCE and LEEP


def test_nce_is_zero_when_labels_are_a_function_of_source_labels():
    z = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    assert nce(z, z % 2) == pytest.approx(0.0)


def test_nce_hand_computed():
    # Z=0 -> Y in {0, 1} half and half (H = log 2), Z=1 -> Y=1; H(Y|Z) = log(2) / 2.
    assert nce(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])) == pytest.approx(-math.log(2) / 2)
    # Uninformative source labels: NCE = -H(Y) = -log 2.
    assert nce(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(-math.log(2))


def test_leep_is_zero_for_a_one_to_one_source():
    z = np.array([2, 0, 1, 1, 0, 2])
    labels = np.array([5, 7, 9, 9, 7, 5])  # any relabelling of z
    assert leep(np.eye(3)[z], labels) == pytest.approx(0.0, abs=1e-12)


def test_leep_hand_computed_four_samples():
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    labels = np.array([0, 0, 1, 1])
    # Joint P(y, z) = [[.35, .15], [.10, .40]], P(z) = [.45, .55], so P(y|z) = [[7/9, 3/11],
    # [2/9, 8/11]]; the four expected predictions are 67/99, 57/99, 57/99 and 67/99.
    expected = (math.log(67 / 99) + math.log(57 / 99)) / 2
    assert leep(probs, labels) == pytest.approx(expected, rel=1e-12)


def test_leep_with_hard_predictions_equals_nce():
    rng = np.random.default_rng(0)
    z = rng.integers(0, 4, 50)
    labels = (z + (rng.random(50) < 0.3)) % 3
    assert leep(np.eye(4)[z], labels) == pytest.approx(nce(z, labels))


def test_leep_and_nce_rank_an_informative_source_above_a_random_one():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    logits_good = 3 * np.eye(5)[labels] + rng.normal(size=(200, 5))
    logits_bad = rng.normal(size=(200, 5))
    good, bad = softmax(logits_good, axis=1), softmax(logits_bad, axis=1)
    assert leep(good, labels) > leep(bad, labels)
    assert leep(good, labels) <= 0.0
    assert nce(good.argmax(1), labels) > nce(bad.argmax(1), labels)


# ---------------------------------------------------------------------------- H-score


def test_h_score_of_one_hot_class_indicators_is_k_minus_one():
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    assert h_score(np.eye(4)[labels], labels) == pytest.approx(3.0, rel=1e-9)


def test_h_score_is_invariant_to_invertible_linear_maps_and_bounded():
    informative, noise, y = class_data(0)
    a = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 0.5], [1.0, 0.0, 3.0]])
    assert h_score(informative @ a, y) == pytest.approx(h_score(informative, y), rel=1e-9)
    for features in (informative, noise):
        assert 0.0 <= h_score(features, y) <= 2.0 + 1e-9  # at most K - 1


# ---------------------------------------------------------------------------- LogME


def _max_log_evidence(features: np.ndarray, target: np.ndarray) -> float:
    """Maximise the Gaussian marginal likelihood N(y; 0, F F^T / alpha + I / beta) directly."""
    n = len(target)
    gram = features @ features.T

    def negative(params):
        alpha, beta = np.exp(params)
        cov = gram / alpha + np.eye(n) / beta
        _, logdet = np.linalg.slogdet(cov)
        return 0.5 * (logdet + target @ np.linalg.solve(cov, target) + n * math.log(2 * math.pi))

    grid = [(a, b) for a in np.linspace(-6, 6, 7) for b in np.linspace(-6, 10, 9)]
    result = optimize.minimize(negative, min(grid, key=negative), method="Nelder-Mead",
                               bounds=[(-20, 20), (-20, 18)],
                               options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
    return -result.fun


@pytest.mark.parametrize("n, noise_dims", [(40, 2), (12, 20)])
def test_logme_equals_the_maximised_evidence_per_sample(n, noise_dims):
    # Both more samples than features and more features than samples.
    rng = np.random.default_rng(1)
    y = np.arange(n) % 2
    features = np.c_[y + rng.normal(size=n), rng.normal(size=(n, noise_dims))]
    expected = np.mean([_max_log_evidence(features, (y == c).astype(float)) / n for c in (0, 1)])
    assert logme(features, y) == pytest.approx(expected, rel=1e-6)


def test_logme_is_finite_when_classes_are_exact_linear_functions_of_features():
    y = np.arange(30) % 3
    exact = logme(np.eye(3)[y], y)
    assert np.isfinite(exact)
    assert exact > logme(np.eye(3)[y] + np.random.default_rng(0).normal(size=(30, 3)), y)


def test_logme_is_invariant_to_rotations_and_sample_order():
    informative, _, y = class_data(2)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    order = np.random.default_rng(1).permutation(len(y))
    base = logme(informative, y)
    assert logme(informative @ q, y) == pytest.approx(base, rel=1e-9)
    assert logme(informative[order], y[order]) == pytest.approx(base, rel=1e-9)
    assert logme(informative, (y + 1) * 10) == pytest.approx(base, rel=1e-12)


def test_scores_rank_informative_features_above_noise():
    for seed in (0, 1, 2):
        informative, noise, y = class_data(seed)
        assert logme(informative, y) > logme(noise, y)
        assert h_score(informative, y) > h_score(noise, y)


# ---------------------------------------------------------------------------- negative transfer


def test_negative_transfer_gap_detects_negative_transfer():
    result = negative_transfer_gap([0.30, 0.32, 0.31, 0.33], [0.20, 0.21, 0.22, 0.20])
    assert isinstance(result, TransferGap)
    assert result.gap == pytest.approx(0.315 - 0.2075)
    assert result.low <= result.gap <= result.high
    assert result.significant == "negative transfer"
    assert result.paired


def test_negative_transfer_gap_detects_positive_transfer_unpaired():
    result = negative_transfer_gap([0.10, 0.12, 0.11], [0.30, 0.29, 0.31, 0.32, 0.30])
    assert not result.paired
    assert result.gap == pytest.approx(0.11 - 0.304)
    assert result.high < 0
    assert result.significant == "positive transfer"


def test_negative_transfer_gap_not_significant_when_intervals_overlap():
    result = negative_transfer_gap([0.20, 0.30, 0.25, 0.22], [0.28, 0.21, 0.24, 0.26])
    assert result.low < 0 < result.high
    assert result.significant == "not significant"


def test_paired_bootstrap_of_a_constant_difference_is_a_point():
    scratch = np.array([0.2, 0.5, 0.3, 0.4])
    result = negative_transfer_gap(scratch + 0.05, scratch, n_boot=500, seed=1)
    assert result.low == pytest.approx(0.05) and result.high == pytest.approx(0.05)
    unpaired = negative_transfer_gap(scratch + 0.05, scratch, n_boot=500, seed=1, paired=False)
    assert unpaired.high - unpaired.low > 0.1


def test_negative_transfer_gap_is_reproducible():
    args = ([0.2, 0.3, 0.25], [0.22, 0.27, 0.3])
    assert negative_transfer_gap(*args, seed=3) == negative_transfer_gap(*args, seed=3)


# ---------------------------------------------------------------------------- score correlation


def test_score_correlation_matches_scipy():
    table = pd.DataFrame({
        "model": ["a", "b", "c", "d", "e"],
        "logme": [0.1, 0.5, 0.3, 0.9, 0.7],
        "leep": [-2.0, -1.5, -1.8, -1.0, -1.1],
        "accuracy": [0.60, 0.70, 0.65, 0.90, 0.80],
    })
    result = score_correlation(table)
    assert result["score"].tolist() == ["logme", "leep"]
    row = result.set_index("score").loc["logme"]
    tau, tau_p = stats.kendalltau(table["logme"], table["accuracy"])
    r, r_p = stats.pearsonr(table["logme"], table["accuracy"])
    assert row["kendall_tau"] == pytest.approx(tau) and row["kendall_tau"] == pytest.approx(1.0)
    assert row["kendall_p"] == pytest.approx(tau_p)
    assert row["pearson_r"] == pytest.approx(r) and row["pearson_p"] == pytest.approx(r_p)
    assert row["n"] == 5


def test_score_correlation_handles_custom_accuracy_name_nan_and_constants():
    table = pd.DataFrame({"s": [3.0, 2.0, np.nan, 1.0], "flat": [1.0] * 4,
                          "top1": [0.1, 0.2, 0.3, 0.4]})
    result = score_correlation(table, accuracy="top1").set_index("score")
    assert result.loc["s", "kendall_tau"] == pytest.approx(-1.0)
    assert result.loc["s", "n"] == 3
    assert np.isnan(result.loc["flat", "kendall_tau"])
    assert np.isnan(result.loc["flat", "spearman_rho"]) and np.isnan(result.loc["flat", "pearson_r"])


def test_score_correlation_has_one_set_of_columns_with_spearman():
    table = pd.DataFrame({"logme": [0.1, 0.5, 0.3, 0.9, 0.7], "accuracy": [0.60, 0.70, 0.65, 0.90, 0.85]})
    result = score_correlation(table)
    assert list(result.columns) == ["score", "kendall_tau", "kendall_p", "spearman_rho", "spearman_p",
                                    "pearson_r", "pearson_p", "n"]
    rho, rho_p = stats.spearmanr(table["logme"], table["accuracy"])
    assert result.loc[0, "spearman_rho"] == pytest.approx(rho) and result.loc[0, "spearman_p"] == pytest.approx(rho_p)


# ---------------------------------------------------------------------------- paired_difference


def test_paired_difference_t_interval_is_scipys():
    a = np.array([81.0, 84.0, 79.0, 88.0, 85.0, 83.0])
    b = np.array([78.0, 80.0, 80.0, 83.0, 81.0, 82.0])
    d = a - b
    result = paired_difference(a, b, level=0.9)
    assert isinstance(result, PairedDifference)
    low, high = stats.t.interval(0.9, df=5, loc=d.mean(), scale=stats.sem(d))
    assert (result.mean, result.low, result.high) == pytest.approx((d.mean(), low, high))
    assert (result.n, result.level, result.method) == (6, 0.9, "t")
    assert result.verdict == "a better"
    assert paired_difference(b, a).verdict == "b better"
    assert paired_difference(a, b, higher_is_better=False).verdict == "b better"


@pytest.mark.parametrize("method, n, reps, lowest, highest", [("t", 8, 1000, 0.93, 0.97),
                                                                ("bca", 20, 200, 0.88, 0.99)])
def test_paired_difference_interval_covers_the_true_mean(method, n, reps, lowest, highest):
    rng = np.random.default_rng(0)
    covered = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # n >= 5: no warning expected
        for i in range(reps):
            b = rng.normal(70.0, 5.0, size=n)
            a = b + rng.normal(2.0, 1.5, size=n)  # the true mean difference is 2
            r = paired_difference(a, b, method=method, n_resamples=1000, seed=i)
            covered += r.low <= 2.0 <= r.high
    assert lowest <= covered / reps <= highest


def test_paired_difference_is_inconclusive_when_the_interval_covers_zero():
    a, b = [80.0, 83.0, 86.0, 79.0, 84.0], [78.0, 84.0, 85.0, 80.0, 82.0]
    for method in ("t", "bca"):
        result = paired_difference(a, b, method=method)
        assert result.low < 0 < result.high
        assert result.verdict == "inconclusive"
    same = paired_difference([0.5, 0.6, 0.7, 0.8, 0.9], [0.5, 0.6, 0.7, 0.8, 0.9])
    assert (same.mean, same.low, same.high, same.verdict) == (0.0, 0.0, 0.0, "inconclusive")


def test_paired_difference_warns_below_five_pairs_and_prints_n():
    with pytest.warns(UserWarning, match="n = 3"):
        result = paired_difference([80.0, 83.0, 86.0], [78.0, 80.0, 85.0], unit="points")
    assert str(result) == "+2.0 points [−0.5, +4.5], 95% t-interval, n = 3: inconclusive"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bca = paired_difference(np.arange(5.0) + 1, np.zeros(5), method="bca", seed=0)
    assert str(bca).endswith("95% BCa bootstrap interval, n = 5: a better")


def test_paired_difference_rejects_bad_input():
    _raises_data_error(paired_difference, [0.1, 0.2, 0.3], [0.1, 0.2], must_mention=("'a'", "'b'", "3 and 2"))
    _raises_data_error(paired_difference, [0.1], [0.2], must_mention=("'a'", "at least 2"))
    _raises_data_error(paired_difference, [0.1, np.nan], [0.2, 0.3], must_mention=("'a'", "finite"))
    with pytest.raises(InvalidParameterError, match="'method'.*Got 'bcaa' instead. Did you mean 'bca'"):
        paired_difference([1.0, 2.0], [0.0, 1.0], method="bcaa")
    assert paired_difference([1.0, 2.0, 4.0, 3.0, 5.0], [0.0] * 5, method="BCa").method == "bca"
    with pytest.raises(InvalidParameterError, match="'level'"):
        paired_difference([1.0, 2.0], [0.0, 1.0], level=95)


# ---------------------------------------------------------------------------- bad input


def _raises_data_error(func, *args, must_mention=(), **kwargs) -> str:
    with pytest.raises(DataError) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TLWError)
    message = str(info.value)
    for text in must_mention:
        assert text in message, message
    return message


FEATURES = np.random.default_rng(0).normal(size=(20, 3))
LABELS = np.arange(20) % 2
PROBS = np.full((20, 4), 0.25)


@pytest.mark.parametrize("func, first", [
    (logme, FEATURES), (h_score, FEATURES), (leep, PROBS), (nce, LABELS),
])
def test_features_and_labels_of_different_lengths(func, first):
    _raises_data_error(func, first, LABELS[:15], must_mention=("'labels'", "20", "15"))


@pytest.mark.parametrize("func, first", [
    (logme, FEATURES), (h_score, FEATURES), (leep, PROBS), (nce, LABELS),
])
def test_a_single_class(func, first):
    _raises_data_error(func, first, np.zeros(20, dtype=int),
                       must_mention=("'labels'", "at least 2 classes", "got 1"))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
@pytest.mark.parametrize("func, second", [
    (logme, LABELS), (h_score, LABELS), (mmd2, FEATURES), (coral_distance, FEATURES),
    (proxy_a_distance, FEATURES), (ot_distance, FEATURES),
])
def test_non_finite_features(func, second, bad_value):
    features = FEATURES.copy()
    features[3, 1] = bad_value
    name = "'features'" if func in (logme, h_score) else "'source'"
    _raises_data_error(func, features, second, must_mention=(name, "finite", "row 3, column 1"))


def test_fewer_samples_than_the_permutation_test_needs():
    _raises_data_error(mmd_test, FEATURES[:4], FEATURES,
                       must_mention=("'source'", "at least 5 samples", "got 4"))
    _raises_data_error(shift_report, FEATURES, FEATURES[:3], must_mention=("'target'", "got 3"))


@pytest.mark.parametrize("func", [
    mmd2, mmd_test, proxy_a_distance, coral_distance, ot_distance, shift_report,
])
def test_source_and_target_dimensions_differ(func):
    _raises_data_error(func, FEATURES, FEATURES[:, :2],
                       must_mention=("'source'", "'target'", "d=3", "d=2"))


def test_other_bad_inputs():
    _raises_data_error(leep, PROBS * 2, LABELS, must_mention=("'source_probs'", "sum to 1"))
    _raises_data_error(logme, FEATURES, LABELS + 0.5, must_mention=("'labels'", "integer"))
    _raises_data_error(logme, FEATURES[:, 0], LABELS, must_mention=("'features'", "2-D"))
    _raises_data_error(negative_transfer_gap, [0.1], [0.2, 0.3],
                       must_mention=("'transfer_errors'", "at least 2"))
    _raises_data_error(negative_transfer_gap, [0.1, np.nan], [0.2, 0.3],
                       must_mention=("'transfer_errors'", "finite"))
    _raises_data_error(negative_transfer_gap, [0.1, 0.2], [0.2, 0.3, 0.4], paired=True,
                       must_mention=("paired=True", "2 and 3"))
    table = pd.DataFrame({"logme": [1.0, 2.0, 3.0], "accuracy": [0.1, 0.2, 0.3]})
    _raises_data_error(score_correlation, table, accuracy="acuracy",
                       must_mention=("'acuracy'", "Did you mean 'accuracy'?"))
    _raises_data_error(score_correlation, table.head(2), must_mention=("at least 3 rows",))
    with pytest.raises(InvalidParameterError, match="'level' parameter of negative_transfer_gap.*Got 1.5"):
        negative_transfer_gap([0.1, 0.2], [0.2, 0.3], level=1.5)
    with pytest.raises(InvalidParameterError, match="'n_permutations' parameter of mmd_test.*>= 1. Got 0"):
        mmd_test(FEATURES, FEATURES, n_permutations=0)
    with pytest.raises(InvalidParameterError, match="'bandwidth' parameter of mmd2.*> 0. Got -1"):
        mmd2(FEATURES, FEATURES, bandwidth=-1)
    with pytest.raises(InvalidParameterError, match="'shrinkage' parameter of h_score"):
        h_score(FEATURES, LABELS, shrinkage="yes")
    with pytest.raises(InvalidParameterError, match="'scores' parameter of score_correlation"):
        score_correlation([[1.0, 0.5]])
    with pytest.raises(InvalidParameterError, match="'seed'"):
        proxy_a_distance(FEATURES, FEATURES, seed=-1)


def test_numpy_integers_are_accepted_wherever_an_int_is():
    n = np.int64
    assert mmd_test(FEATURES, FEATURES + 1, n_permutations=n(10), seed=n(1)).n_permutations == 10
    assert 0.0 <= proxy_a_distance(FEATURES, FEATURES + 1, cv=n(3), seed=n(0)) <= 2.0
    assert ot_distance(FEATURES, FEATURES, max_samples=n(5), seed=n(2)) >= 0.0
    assert mmd2(FEATURES, FEATURES + 1, bandwidth=n(2)) == pytest.approx(mmd2(FEATURES, FEATURES + 1, bandwidth=2.0))
    assert negative_transfer_gap([0.1, 0.2], [0.2, 0.3], n_boot=n(200), seed=n(0)).level == 0.95
    assert len(shift_report(FEATURES, FEATURES + 1, max_samples=n(10), n_permutations=n(10))) == 4


def test_h_score_with_fewer_samples_than_dimensions_still_separates_informative_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)  # 40 samples, 100 dimensions
    informative = np.eye(4)[y] @ rng.normal(size=(4, 100)) + 0.5 * rng.normal(size=(40, 100))
    noise = rng.normal(size=(40, 100))
    # the plain estimate is singular: any features reach the ceiling K - 1
    assert h_score(noise, y, shrinkage=False) == pytest.approx(3.0, rel=1e-6)
    assert h_score(informative, y, shrinkage=False) == pytest.approx(3.0, rel=1e-6)
    # the default shrinks the covariance here and ranks the two again
    assert h_score(informative, y) > 3 * h_score(noise, y)
    assert h_score(informative, y) == pytest.approx(h_score(informative, y, shrinkage=True))


@pytest.mark.parametrize("n, d", [(40, 100), (200, 30)])
def test_h_score_shrinkage_matches_scikit_learns_ledoit_wolf(n, d):
    from sklearn.covariance import ledoit_wolf

    rng = np.random.default_rng(1)
    y = np.arange(n) % 5
    f = np.eye(5)[y] @ rng.normal(size=(5, d)) + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    centred = f - f.mean(axis=0)
    cov, alpha = ledoit_wolf(centred, assume_centered=True)
    assert _ledoit_wolf_shrinkage(centred)[0] == pytest.approx(alpha, rel=1e-9)
    # the score from scikit-learn's d x d estimate, written out
    counts = np.bincount(y)
    means = (np.eye(5)[y].T @ centred) / counts[:, None]
    cov_g = (1 - alpha) * (means.T * counts) @ means / n
    expected = np.trace(np.linalg.inv(cov) @ cov_g)
    assert h_score(f, y, shrinkage=True) == pytest.approx(expected, rel=1e-7)
