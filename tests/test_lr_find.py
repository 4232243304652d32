"""lr_find: the learning-rate range test leaves the model as it was, suggests a rate inside the
range it swept, and draws its curve."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tlworkbench import data as datasets
from tlworkbench import lr_find, plots, zoo
from tlworkbench.errors import InvalidParameterError
from tlworkbench.training import LRFindResult
from tlworkbench.training.lr_find import suggest_lr

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def train():
    return datasets.load_dataset("mnist", max_size=300)


def new_model() -> zoo.TransferModel:
    return zoo.load_model("small_cnn", num_classes=10, image_size=16, seed=0)


@pytest.fixture(scope="module")
def found(train):
    model = new_model()
    model.head.requires_grad_(True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = lr_find(model, train, num_steps=30, batch_size=32, progress=False)
    return model, before, result


def test_weights_flags_and_mode_are_restored(found):
    model, before, _ = found
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k].cpu()) for k in before)
    assert all(p.requires_grad for p in model.parameters())
    assert not model.training


def test_curve_and_suggestion(found):
    _, _, result = found
    assert isinstance(result, LRFindResult)
    assert len(result.lrs) == len(result.losses) == len(result.raw_losses) >= 10
    assert np.all(np.diff(result.lrs) > 0) and result.lrs[0] == pytest.approx(1e-7)
    assert result.lrs[0] <= result.suggestion <= result.lrs[-1]
    assert result.lrs[0] / 10 <= result.lr_min <= result.lrs[-1]
    # the loss falls somewhere in the sweep and the suggestion sits before its minimum
    assert result.losses.min() < result.losses[0]
    assert result.suggestion <= result.lrs[int(np.argmin(result.losses))]
    assert "suggestion=" in repr(result)


def test_suggest_lr_rules():
    lrs = np.logspace(-5, 0, 6)
    assert suggest_lr(lrs, np.array([2.0, 1.99, 1.98, 1.0, 0.1, 3.0])) == pytest.approx(1e-2)  # steepest drop
    assert suggest_lr(lrs, np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])) == pytest.approx(1e-6)  # no descent: min / 10


def test_plot_draws_the_curve(found, pyplot):
    _, _, result = found
    ax = result.plot()
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), result.lrs)
    np.testing.assert_allclose(line.get_ydata(), result.losses)
    assert ax.get_xscale() == "log"
    assert ax.get_lines()[1].get_xdata()[0] == pytest.approx(result.suggestion)
    _, own = pyplot.subplots()
    assert plots.plot_lr_find(result.lrs, result.losses, ax=own) is own and len(own.get_lines()) == 1


def test_bad_arguments(train, pyplot):
    model = new_model()
    with pytest.raises(InvalidParameterError, match="end_lr"):
        lr_find(model, train, start_lr=1.0, end_lr=0.1, progress=False)
    with pytest.raises(InvalidParameterError, match="num_steps"):
        lr_find(model, train, num_steps=1, progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        lr_find(model, train, optimizer="lbfgs", progress=False)
    with pytest.raises(InvalidParameterError, match="losses"):
        plots.plot_lr_find([1e-3, 1e-2], [1.0])
    with pytest.raises(InvalidParameterError, match="lrs"):
        plots.plot_lr_find([0.0, 1e-2], [1.0, 0.5])
