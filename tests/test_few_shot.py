"""Few-shot and zero-shot building blocks: prototypes, episodes, support training, the DeViSE map."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tlworkbench.data import ImageDataset, few_shot_episodes
from tlworkbench.errors import DataError, InvalidParameterError
from tlworkbench.few_shot import (PrototypeClassifier, ZeroShotHead, episode_accuracies, episode_indices,
                                  harmonic_mean, per_class_accuracy, train_on_support)


def _blobs(n_classes=4, per=10, dim=6, seed=0, spread=0.3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (n_classes, dim))
    x = np.concatenate([centres[c] + rng.normal(0, spread, (per, dim)) for c in range(n_classes)])
    return x, np.repeat(np.arange(n_classes), per), centres


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_prototypes_are_class_means_and_classify_separated_blobs(metric):
    x, y, _ = _blobs()
    clf = PrototypeClassifier(metric).fit(x, y)
    assert clf.prototypes_.shape == (4, 6)
    assert (clf.predict(x) == y).mean() == 1.0
    if metric == "euclidean":
        np.testing.assert_allclose(clf.prototypes_[2], x[y == 2].mean(0))


def test_prototypes_reject_bad_input():
    with pytest.raises(ValueError, match="metric"):
        PrototypeClassifier("manhattan")
    with pytest.raises(DataError, match="class 1"):
        PrototypeClassifier().fit(np.zeros((2, 3)), [0, 2])
    with pytest.raises(InvalidParameterError, match="labels"):
        PrototypeClassifier().fit(np.zeros((2, 3)), [0, 1, 1])


def test_episodes_follow_few_shot_episodes_and_keep_support_and_query_apart():
    labels = np.repeat(np.arange(6), 8)
    groups = np.tile(np.arange(4), 12)  # four "fonts", each class has two images per font
    eps = episode_indices(labels, n_way=3, k_shot=2, n_query=3, n_episodes=5, seed=3, groups=groups)
    assert len(eps) == 5
    for e in eps:
        assert len(e.support) == 6 and len(e.query) == 9
        assert np.array_equal(labels[e.support], e.classes[e.support_y])
        assert np.array_equal(labels[e.query], e.classes[e.query_y])
        assert not set(groups[e.support]) & set(groups[e.query])  # no query shares a font with the support
    # the same draw as few_shot_episodes on a data set with these labels
    data = ImageDataset(torch.arange(48, dtype=torch.uint8).view(48, 1, 1, 1).expand(48, 1, 2, 2).contiguous(),
                        labels, [str(c) for c in range(6)])
    support, query = next(few_shot_episodes(data, n_way=3, k_shot=2, n_query=3, n_episodes=5, seed=3, groups=groups))
    assert support.images[:, 0, 0, 0].tolist() == eps[0].support.tolist()
    assert query.targets.tolist() == eps[0].query_y.tolist()


def test_episodes_without_groups_are_unchanged_and_bad_groups_are_refused():
    labels = np.repeat(np.arange(3), 5)
    a = episode_indices(labels, n_way=2, k_shot=1, n_query=2, n_episodes=3, seed=0)
    b = episode_indices(labels, n_way=2, k_shot=1, n_query=2, n_episodes=3, seed=0)
    assert all(np.array_equal(x.support, y.support) and np.array_equal(x.query, y.query) for x, y in zip(a, b))
    with pytest.raises(InvalidParameterError, match="groups"):
        episode_indices(labels, n_way=2, k_shot=1, n_query=2, n_episodes=1, groups=np.zeros(15))
    with pytest.raises(DataError, match="query"):
        episode_indices(labels, n_way=2, k_shot=1, n_query=5, n_episodes=1, groups=np.arange(15) % 2)


def test_episode_accuracies_score_each_episode():
    labels = np.repeat(np.arange(3), 4)
    eps = episode_indices(labels, n_way=2, k_shot=1, n_query=3, n_episodes=4)
    acc = episode_accuracies(lambda e: np.zeros_like(e.query_y), eps)
    assert acc.tolist() == [0.5] * 4


def test_train_on_support_lowers_the_loss_and_reports_query_accuracy():
    torch.manual_seed(0)
    x = torch.randn(10, 1, 4, 4)
    y = torch.tensor([0, 1] * 5)
    x[y == 1] += 2.0
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        before = float(nn.functional.cross_entropy(net.eval()(x), y))
    scores = train_on_support(net, x, y, lr=1e-2, steps=40, queries=(x, y), eval_at=(10, 40))
    assert set(scores) == {10, 40} and scores[40] == 1.0
    with torch.no_grad():
        assert float(nn.functional.cross_entropy(net(x), y)) < before
    bn = net[1]
    mean = bn.running_mean.clone()
    train_on_support(net, x, y, lr=1e-2, steps=3, train_bn=False)
    assert torch.equal(bn.running_mean, mean)  # kept statistics when asked
    with pytest.raises(InvalidParameterError, match="eval_at"):
        train_on_support(net, x, y, lr=1e-2, steps=3, eval_at=(5,))


def test_the_zero_shot_head_recognises_classes_it_never_saw_from_their_embeddings():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 5))
    proj = rng.normal(size=(5, 20))
    y = np.repeat(np.arange(6), 30)
    x = emb[y] @ proj + rng.normal(0, 0.1, (len(y), 20))  # images are a noisy linear view of their descriptions
    seen = y < 4
    head = ZeroShotHead(alpha=1.0).fit(x[seen], y[seen], emb)
    unseen = np.array([4, 5])
    pred = unseen[head.predict(x[~seen], emb[unseen])]
    assert (pred == y[~seen]).mean() > 0.95
    # with_embeddings equals refitting on the other embeddings (the map is linear in its targets)
    perm = np.array([1, 0, 3, 2, 5, 4])
    refit = ZeroShotHead(alpha=1.0).fit(x[seen], y[seen], emb[perm])
    np.testing.assert_allclose(head.with_embeddings(emb[perm]).embed(x), refit.embed(x), atol=1e-8)
    with pytest.raises(InvalidParameterError, match="alpha"):
        ZeroShotHead(alpha=0)


def test_harmonic_mean_and_per_class_accuracy():
    assert harmonic_mean(0.5, 0.5) == 0.5 and harmonic_mean(0.9, 0.0) == 0.0 and harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(0.8, 0.4) == pytest.approx(2 * 0.32 / 1.2)
    with pytest.raises(InvalidParameterError, match="seen"):
        harmonic_mean(1.5, 0.5)
    # class 0 all right (9 images), class 1 all wrong (1 image): the mean over classes is 0.5
    assert per_class_accuracy([0] * 9 + [1], [0] * 10) == 0.5


def test_the_plots_draw_what_they_are_given():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from tlworkbench.plots import plot_shot_accuracy, plot_zero_shot

    plt.close("all")
    t = pd.DataFrame({"k_shot": [1, 1, 5, 5], "method": ["a", "b", "a", "b"], "accuracy": [.5, .6, .7, .8],
                      "low": [.45, .55, .65, .75], "high": [.55, .65, .75, .85]})
    ax = plot_shot_accuracy(t, chance=0.2)
    assert len(ax.patches) == 4 and [x.get_text() for x in ax.get_xticklabels()] == ["1-shot", "5-shot"]
    z = pd.DataFrame({"unseen": ["a, b", "c, d"], "unseen_accuracy": [.7, .6], "shuffled_accuracy": [.5, .4],
                      "chance": [.5, .5]})
    ax = plot_zero_shot(z)
    assert ax.lines[0].get_xdata().tolist() == [.7, .6]
    plt.close("all")
