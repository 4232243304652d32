"""evaluate and Evaluation: metrics against scikit-learn, the per-class table, worst examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics
from torch import nn

from tlworkbench import evaluation, features, zoo
from tlworkbench import data as datasets
from tlworkbench.errors import DataError


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def known():
    """Logits whose predictions are known: 3 classes, 6 examples, two mistakes."""
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    pred = torch.tensor([0, 1, 1, 1, 2, 0])
    logits = torch.full((6, 3), -2.0)
    logits[torch.arange(6), pred] = 2.0
    logits[5, 0] = 4.0  # the most confident mistake has the highest loss
    return logits, y, pred


def test_metrics_match_scikit_learn():
    logits, y, pred = known()
    ev = evaluation.evaluate(nn.Identity(), (logits, y), batch_size=4)
    assert np.array_equal(ev.y_pred, pred.numpy()) and np.array_equal(ev.y_true, y.numpy())
    assert ev.accuracy == pytest.approx(4 / 6)
    assert ev.balanced_accuracy == pytest.approx(metrics.balanced_accuracy_score(y, pred))
    assert ev.macro_f1 == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    assert ev.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    table = ev.per_class
    assert list(table.columns) == ["class", "support", "accuracy", "precision", "f1"]
    assert table["support"].tolist() == [2, 2, 2] and table["accuracy"].tolist() == [0.5, 1.0, 0.5]
    np.testing.assert_allclose(ev.probabilities.sum(1), 1, rtol=1e-6)
    expected = nn.functional.cross_entropy(logits, y, reduction="none").numpy()
    np.testing.assert_allclose(ev.loss, expected, rtol=1e-6)


def test_worst_and_summary():
    logits, y, _ = known()
    ev = evaluation.evaluate(nn.Identity(), (logits, y))
    worst = ev.worst(2)
    assert worst["index"].tolist() == [5, 1]
    assert list(worst.columns) == ["index", "y_true", "y_pred", "true", "pred", "loss", "confidence"]
    assert worst["loss"].is_monotonic_decreasing
    summary = ev.summary()
    assert len(summary) == 1 and summary["accuracy"].iloc[0] == pytest.approx(ev.accuracy)
    assert {"n", "balanced_accuracy", "macro_f1", "loss"} <= set(summary.columns)
    with pytest.raises(ValueError, match="'k'"):
        ev.worst(0)


def test_a_model_on_a_data_set_and_on_its_features():
    data = datasets.load_dataset("mnist", split="test", max_size=100)
    model = zoo.load_model("small_cnn", num_classes=10, image_size=16, seed=0).train()
    ev = evaluation.evaluate(model, data)  # read through the model's transforms
    assert model.training  # the mode it had is restored
    assert ev.name == data.name and ev.classes == data.classes and len(ev.y_true) == 100
    assert ev.confusion.sum() == 100
    f, y = features.extract_features(model, data, cache=False, progress=False)
    on_features = evaluation.evaluate_features(model.head, f, y, classes=data.classes)
    np.testing.assert_allclose(on_features.probabilities, ev.probabilities, atol=1e-5)
    assert on_features.accuracy == ev.accuracy


def test_an_iterable_of_batches():
    logits, y, _ = known()
    ev = evaluation.evaluate(nn.Identity(), [(logits[:3], y[:3]), (logits[3:], y[3:])])
    assert ev.accuracy == pytest.approx(4 / 6)


def test_bad_input():
    logits, y, _ = known()
    with pytest.raises(DataError, match="empty"):
        evaluation.evaluate(nn.Identity(), (logits[:0], y[:0]))
    with pytest.raises(DataError, match=r"\[3, 5\].*3 outputs"):
        evaluation.evaluate(nn.Identity(), (logits, y + 3))
    with pytest.raises(DataError, match="feature rows"):
        evaluation.evaluate_features(nn.Identity(), logits, y[:2])
    with pytest.raises(ValueError, match="'batch_size'"):
        evaluation.evaluate(nn.Identity(), (logits, y), batch_size=0)
    with pytest.raises(TypeError, match="'data'"):
        evaluation.evaluate(nn.Identity(), 42)
