"""The defaults of fit: two_stage trains the head then ``epochs`` of the body, small data get a
floor of optimiser steps, and BatchNorm keeps each epoch's statistics under the "frozen" policy."""

from __future__ import annotations

import inspect

import pytest
import torch

from tlworkbench import data as datasets
from tlworkbench import freezing, training, zoo
from tlworkbench.training import epochs_for_steps
from tlworkbench.training.budget import DEFAULT_MIN_STEPS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUIET = {"progress": False, "batch_size": 32}


@pytest.fixture(scope="module")
def train():
    return datasets.load_dataset("mnist", max_size=200)


@pytest.fixture(scope="module")
def tiny(train):
    return train.subset(range(40))  # two batches of 32 (one of 8) per epoch


def new_model() -> zoo.TransferModel:
    return zoo.load_model("small_cnn", num_classes=10, image_size=16, seed=0)


def train_rows(history):
    return history.frame.query("split == 'train'")


def test_two_stage_trains_the_head_then_epochs_of_the_body(train):
    history = training.fit(new_model(), train, strategy="two_stage", epochs=2, head_epochs=1, min_steps=0, **QUIET)
    rows = train_rows(history)
    assert history.epochs == 3 and rows["epoch"].to_list() == [1, 2, 3]
    head, body = rows["trainable_params"].iloc[0], rows["trainable_params"].iloc[1:]
    assert head < body.min() and body.nunique() == 1
    history = training.fit(new_model(), train, strategy="two_stage", epochs=1, head_epochs=2, min_steps=0, **QUIET)
    assert history.epochs == 3 and train_rows(history)["trainable_params"].nunique() == 2


class CountingAdamW(torch.optim.AdamW):
    steps = 0

    def step(self, closure=None):
        CountingAdamW.steps += 1
        return super().step(closure)


@pytest.mark.parametrize("strategy, head", [("fine_tune", 0), ("two_stage", 1), ("gradual_unfreeze", 0)])
def test_small_data_get_at_least_min_steps(tiny, strategy, head):
    CountingAdamW.steps = 0
    history = training.fit(new_model(), tiny, strategy=strategy, epochs=1, min_steps=12,
                           optimizer=lambda groups: CountingAdamW(groups, lr=1e-3), **QUIET)
    per_epoch = -(-len(tiny) // 32)
    body = epochs_for_steps(len(tiny), steps=12, batch_size=32)
    assert history.epochs == head + body == head + 6
    assert CountingAdamW.steps >= 12 + head * per_epoch


def test_the_default_floor_and_its_limits(tiny, train):
    assert inspect.signature(training.fit).parameters["min_steps"].default is None  # None: DEFAULT_MIN_STEPS
    history = training.fit(new_model(), tiny, epochs=1, **QUIET)
    assert history.epochs == epochs_for_steps(len(tiny), steps=DEFAULT_MIN_STEPS, batch_size=32) > 1
    # enough data: the epochs asked for; a linear probe counts L-BFGS epochs, not steps
    many = -(-DEFAULT_MIN_STEPS // -(-len(train) // 32))
    assert training.fit(new_model(), train, epochs=many, **QUIET).epochs == many
    assert training.fit(new_model(), tiny, strategy="linear_probe", epochs=2, **QUIET).epochs == 2


def test_batchnorm_default_is_the_documented_one(train):
    model = new_model()
    assert model.bn_policy == "frozen" and "frozen" in type(model).__doc__
    assert inspect.signature(training.fit).parameters["bn_stats"].default == "epoch"
    assert ".890" in training.fit.__doc__ and ".436" in training.fit.__doc__
    # a frozen BatchNorm layer keeps its statistics and stays in eval mode
    freezing.freeze(model, "conv1")
    bn1 = model.groups["conv1"][1]
    before = bn1.running_mean.clone()
    history = training.fit(model, train, epochs=2, min_steps=0, **QUIET)
    assert torch.equal(bn1.running_mean, before)
    # a training layer holds the average of its last epoch's batches, with its momentum restored
    bn3 = model.groups["conv3"][1]
    assert bn3.momentum == 0.1
    assert int(bn3.num_batches_tracked) == -(-len(train) // 32) < int(train_rows(history)["epoch"].max()) * 7
    running = training.fit(new_model(), train, epochs=2, min_steps=0, bn_stats="running", **QUIET)
    assert running.epochs == 2


def test_bad_defaults_arguments(train):
    with pytest.raises(ValueError, match="'min_steps'"):
        training.fit(new_model(), train, min_steps=-1, **QUIET)
    with pytest.raises(ValueError, match="running"):
        training.fit(new_model(), train, bn_stats="runing", **QUIET)
    with pytest.raises(ValueError, match="'head_epochs'"):
        training.fit(new_model(), train, strategy="two_stage", head_epochs=0, **QUIET)


def test_the_floor_counts_the_steps_a_loss_hook_makes_an_epoch(train):
    from tlworkbench.adaptation import DeepCoralLoss

    target = train.subset(range(48)).with_transform(new_model())  # an epoch: 3 full batches of 16
    history = training.fit(new_model(), train, epochs=1, batch_size=16, min_steps=12, progress=False,
                           loss=DeepCoralLoss(target, weight=1.0))
    assert history.epochs == 4
