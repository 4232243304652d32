"""Choices made on validation data: the carved split and the grid choice."""

import numpy as np
import pytest
import torch

from tlworkbench.data import ImageDataset, validation_split
from tlworkbench.errors import DataError, InvalidParameterError
from tlworkbench.training import LR_GRID, choose_on_validation


def _data(counts):
    labels = np.repeat(np.arange(len(counts)), counts)
    images = torch.arange(len(labels), dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    return ImageDataset(images, labels, [f"c{i}" for i in range(len(counts))], name="toy")


def test_validation_split_is_stratified_disjoint_and_seeded():
    data = _data([10, 5, 2])
    train, val = validation_split(data, fraction=0.2, seed=3)
    assert np.bincount(val.targets.numpy()).tolist() == [2, 1, 1]  # at least one per class
    assert np.bincount(train.targets.numpy()).tolist() == [8, 4, 1]  # at least one left to train on
    ids_train = set(train.images[:, 0, 0, 0].tolist())
    ids_val = set(val.images[:, 0, 0, 0].tolist())
    assert not ids_train & ids_val and len(ids_train | ids_val) == len(data)
    again, _ = validation_split(data, fraction=0.2, seed=3)
    assert torch.equal(again.images, train.images)
    other, _ = validation_split(data, fraction=0.2, seed=4)
    assert not torch.equal(other.images, train.images)
    assert (train.name, val.name) == ("toy:train", "toy:val")


def test_validation_split_refuses_what_it_cannot_carve():
    with pytest.raises(DataError, match="at least 2 examples of every class.*'c1'"):
        validation_split(_data([5, 1]))
    with pytest.raises(InvalidParameterError, match="'fraction' parameter of validation_split"):
        validation_split(_data([5, 5]), fraction=1.5)


def test_choose_on_validation_keeps_the_best_value_and_its_output():
    calls = []

    def run(lr):
        calls.append(lr)
        return -abs(np.log10(lr) + 3), f"model@{lr}"

    choice = choose_on_validation(run, LR_GRID)
    assert calls == list(LR_GRID)
    assert choice.best == 1e-3 and choice.output == "model@0.001"
    assert choice.table["chosen"].tolist() == [v == 1e-3 for v in LR_GRID]
    assert "lr = 0.001" in str(choice)
    # a loss: lower is better; ties go to the earlier value
    assert choose_on_validation(lambda v: 1.0, (1, 2, 3), name="depth", higher_is_better=False).best == 1
    assert choose_on_validation(lambda v: float(v), (1, 2, 3), higher_is_better=False).best == 1
    assert choose_on_validation(lambda v: float("nan") if v == 3 else float(v), (1, 2, 3)).best == 2


def test_choose_on_validation_says_what_is_wrong():
    with pytest.raises(InvalidParameterError, match="'grid' parameter of choose_on_validation"):
        choose_on_validation(lambda v: 1.0, ())
    with pytest.raises(InvalidParameterError, match="'run' parameter of choose_on_validation"):
        choose_on_validation(3, (1,))
    with pytest.raises(DataError, match="NaN validation score for every value"):
        choose_on_validation(lambda v: float("nan"), (1, 2))
