"""Unit tests of tlworkbench.unsupervised and its plots: small synthetic data, fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from tlworkbench import plots
from tlworkbench.errors import DataError, InvalidParameterError, UnknownNameError
from tlworkbench.experiments.unsupervised import paired_gains, shared_images
from tlworkbench.unsupervised import (ConvAutoencoder, EmbeddingAnomalyScorer, auroc, auroc_interval, cluster_scores,
                                      encode_images, train_autoencoder)


def _blobs(n_per=30, k=3, d=6, spread=0.1, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, d))
    x = np.concatenate([centres[c] + rng.normal(0, spread, (n_per, d)) for c in range(k)])
    return x, np.repeat(np.arange(k), n_per)


@pytest.mark.parametrize("method", ["kmeans", "agglomerative"])
def test_clusters_of_separated_blobs_are_perfect_and_noise_scores_near_zero(method):
    x, y = _blobs()
    assert cluster_scores(x, y, method=method) == {"nmi": pytest.approx(1.0), "ari": pytest.approx(1.0)}
    noise = np.random.default_rng(1).normal(size=(90, 6))
    s = cluster_scores(noise, y, method=method)
    assert s["ari"] < 0.1 and s["nmi"] < 0.15


def test_cluster_scores_accept_tensors_and_project_wide_inputs():
    x, y = _blobs(d=80)
    s = cluster_scores(torch.as_tensor(x), torch.as_tensor(y), n_components=5, n_clusters=3)
    assert s["nmi"] == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"embeddings": np.zeros(5), "labels": np.zeros(5)}, InvalidParameterError, "'embeddings' parameter"),
    ({"labels": np.zeros(3)}, InvalidParameterError, "'labels' parameter of cluster_scores"),
    ({"method": "kmean"}, UnknownNameError, "Did you mean 'kmeans'"),
    ({"n_clusters": 1}, InvalidParameterError, "'n_clusters'"),
    ({"n_clusters": 500}, DataError, "clusters"),
    ({"n_components": 0}, InvalidParameterError, "'n_components'"),
    ({"embeddings": np.full((90, 6), np.nan)}, DataError, "NaN"),
])
def test_cluster_scores_reject_bad_input(kwargs, error, match):
    x, y = _blobs()
    args = {"embeddings": x, "labels": y, **kwargs}
    with pytest.raises(error, match=match):
        cluster_scores(args.pop("embeddings"), args.pop("labels"), **args)


@pytest.mark.parametrize("method", ["knn", "isolation_forest"])
def test_the_anomaly_scorer_ranks_far_points_above_normal_ones(method):
    rng = np.random.default_rng(0)
    normal = rng.normal(0, 1, (200, 10))
    test = np.concatenate([rng.normal(0, 1, (50, 10)), rng.normal(4, 1, (50, 10))])
    scores = EmbeddingAnomalyScorer(method, n_components=5).fit(normal).score(test)
    assert scores.shape == (100,)
    assert auroc(scores, np.arange(100) >= 50) > 0.95


def test_the_knn_score_is_the_mean_distance_to_the_nearest_normal_points():
    normal = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    scorer = EmbeddingAnomalyScorer(k=2, n_components=2).fit(normal)
    assert scorer.score(np.array([[0.0, 0.0]]))[0] == pytest.approx((0.0 + 1.0) / 2)


def test_normalize_compares_directions_not_lengths():
    rng = np.random.default_rng(0)
    directions = np.repeat(np.eye(3), 20, axis=0) + rng.normal(0, 0.05, (60, 3))
    x = directions * rng.uniform(0.1, 10, (60, 1))  # lengths vary far more than directions
    y = np.repeat(np.arange(3), 20)
    assert cluster_scores(x, y, normalize=True)["ari"] == pytest.approx(1.0)
    assert cluster_scores(x, y)["ari"] < 0.9
    scaled = EmbeddingAnomalyScorer(k=1, normalize=True).fit(x[:40])
    assert scaled.score(np.array([[0.0, 0.0, 7.0]]))[0] > scaled.score(np.array([[7.0, 0.0, 0.0]]))[0]
    with pytest.raises(DataError, match="all-zero rows"):
        cluster_scores(np.zeros((60, 3)), y, normalize=True)
    with pytest.raises(InvalidParameterError, match="'normalize'"):
        EmbeddingAnomalyScorer(normalize="yes")


def test_the_anomaly_scorer_rejects_bad_input():
    with pytest.raises(UnknownNameError, match="Did you mean 'knn'"):
        EmbeddingAnomalyScorer("kn")
    with pytest.raises(InvalidParameterError, match="'k' parameter"):
        EmbeddingAnomalyScorer(k=0)
    scorer = EmbeddingAnomalyScorer(k=3)
    with pytest.raises(DataError, match="before fit"):
        scorer.score(np.zeros((2, 3)))
    with pytest.raises(DataError, match="at least 4 rows"):
        scorer.fit(np.zeros((3, 3)))
    scorer.fit(np.random.default_rng(0).normal(size=(20, 3)))
    with pytest.raises(InvalidParameterError, match="3 columns"):
        scorer.score(np.zeros((2, 4)))


def test_auroc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 300).astype(float)
    y = rng.random(300) < 0.3
    assert auroc(scores, y) == pytest.approx(roc_auc_score(y, scores))


def test_auroc_interval_covers_the_estimate_and_narrows_with_more_examples():
    rng = np.random.default_rng(0)
    small_y, big_y = np.arange(100) < 20, np.arange(2000) < 400
    small = auroc_interval(rng.normal(size=100) + small_y, small_y, n_resamples=500)
    big = auroc_interval(rng.normal(size=2000) + big_y, big_y, n_resamples=500)
    for ci in (small, big):
        assert ci.low < ci.auroc < ci.high
    assert big.high - big.low < (small.high - small.low) / 2
    assert big.low < 0.76 < big.high  # the true AUROC of a unit shift: Phi(1 / sqrt 2) = 0.760
    assert "n = 2000 (400 anomalies)" in str(big) and "95% BCa bootstrap" in str(big)


@pytest.mark.parametrize("scores, labels, error, match", [
    ([0.1, 0.2], [True, True], DataError, "both anomalies and normal"),
    ([0.1, np.nan], [True, False], InvalidParameterError, "'scores' parameter"),
    ([0.1, 0.2], [True, False, True], InvalidParameterError, "'is_anomaly' parameter"),
    ([0.1, 0.2], [2, 0], InvalidParameterError, "booleans or 0/1"),
])
def test_auroc_rejects_bad_input(scores, labels, error, match):
    with pytest.raises(error, match=match):
        auroc(scores, labels)


def test_auroc_interval_rejects_bad_settings():
    with pytest.raises(InvalidParameterError, match="'n_resamples'"):
        auroc_interval([0.1, 0.2, 0.3], [0, 1, 1], n_resamples=10)
    with pytest.raises(UnknownNameError, match="'method'"):
        auroc_interval([0.1, 0.2, 0.3], [0, 1, 1], method="bca")


def test_the_autoencoder_learns_and_chooses_its_learning_rate_on_validation():
    torch.manual_seed(0)
    images = (torch.rand(200, 1, 8, 8) > 0.5).to(torch.uint8) * 255
    images[:, :, :4] = 0  # a structure to learn: the top half is always black
    fit = train_autoencoder(images, lr_grid=(1e-4, 1e-2), epochs=3, code_size=4, seed=0)
    table = fit.table.set_index("lr")
    assert list(table.index) == [1e-4, 1e-2] and table["chosen"].sum() == 1
    assert fit.lr == table["val_score"].idxmax() and fit.val_loss == pytest.approx(-table["val_score"].max())
    assert fit.val_loss < np.log(2)  # below the loss of predicting 0.5 everywhere
    assert (fit.n_train, fit.n_val) == (160, 40)
    codes = encode_images(fit.model, images[:5])
    assert codes.shape == (5, 4) and np.isfinite(codes).all()
    runs = [train_autoencoder(images, lr_grid=(1e-2,), epochs=1, code_size=4, seed=0) for _ in range(2)]
    assert torch.equal(runs[0].model.encoder[0].weight, runs[1].model.encoder[0].weight)  # a seed fixes the run


def test_the_autoencoder_rejects_bad_input():
    with pytest.raises(InvalidParameterError, match="'images' parameter of train_autoencoder"):
        train_autoencoder(torch.zeros(10, 3, 8, 8))
    with pytest.raises(InvalidParameterError, match="'images' parameter"):
        train_autoencoder(torch.zeros(10, 1, 10, 10))
    with pytest.raises(InvalidParameterError, match="'epochs'"):
        train_autoencoder(torch.zeros(10, 1, 8, 8), epochs=0)
    with pytest.raises(InvalidParameterError, match="'image_size'"):
        ConvAutoencoder(image_size=10)
    with pytest.raises(InvalidParameterError, match="images of 28 px"):
        encode_images(ConvAutoencoder(), torch.zeros(2, 1, 8, 8))
    with pytest.raises(InvalidParameterError, match="'model'"):
        encode_images(torch.nn.Linear(2, 2), torch.zeros(2, 1, 28, 28))


def test_shared_images_counts_exact_copies_only():
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (20, 1, 8, 8), dtype=np.uint8)
    target = source[:5].copy()
    target[0, 0, 0, 0] ^= 1  # one pixel off: not a copy
    assert shared_images(source, target) == 4


def test_paired_gains_pairs_on_the_given_column():
    runs = pd.DataFrame({"seed": [0, 1, 2, 3, 4] * 2, "method": "kmeans",
                         "representation": ["a"] * 5 + ["b"] * 5,
                         "nmi": [0.5, 0.6, 0.55, 0.52, 0.58, 0.4, 0.5, 0.45, 0.42, 0.48]})
    g = paired_gains(runs, value="nmi", by=["method"], pair_on="seed", comparisons=(("a", "b"),)).iloc[0]
    assert g["mean"] == pytest.approx(10.0) and g["n"] == 5 and g["verdict"] == "a better"
    assert "n = 5" in g["interval"] and g["method"] == "kmeans"


def test_plot_cluster_scores_draws_a_bar_per_method_and_representation(pyplot):
    runs = pd.DataFrame({"seed": [0, 1] * 4, "method": ["kmeans"] * 4 + ["agglomerative"] * 4,
                         "representation": (["pixels"] * 2 + ["codes"] * 2) * 2,
                         "nmi": [0.3, 0.32, 0.5, 0.52, 0.2, 0.22, 0.4, 0.42]})
    ax = plots.plot_cluster_scores(runs)
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == [0.21, 0.31, 0.41, 0.51]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["kmeans", "agglomerative"]
    with pytest.raises(InvalidParameterError, match="'metric'"):
        plots.plot_cluster_scores(runs, metric="accuracy")


def test_plot_anomaly_scores_and_ranked_images(pyplot):
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8])
    flags = np.array([False, False, False, True, True])
    ax = plots.plot_anomaly_scores(scores, flags, bins=4)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["normal (n = 3)", "novel class (n = 2)"]
    fig = plots.plot_ranked_images(np.random.rand(5, 1, 8, 8), scores, k=2, is_anomaly=flags)
    titles = [a.get_title() for a in fig.axes]
    assert titles == ["0.90", "0.80", "0.10", "0.20"]
    assert fig.axes[0].title.get_color() == "red" and fig.axes[2].title.get_color() == "black"
    with pytest.raises(InvalidParameterError, match="one score per image"):
        plots.plot_ranked_images(np.random.rand(5, 8, 8), scores[:3])
    with pytest.raises(InvalidParameterError, match="one entry per score"):
        plots.plot_anomaly_scores(scores, flags[:2])
