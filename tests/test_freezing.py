"""Freezing groups, patterns, freeze_to, the BatchNorm policy and the trainable table."""

from __future__ import annotations

import pytest
import torch

from tlworkbench import freezing, zoo
from tlworkbench.errors import UnknownNameError


@pytest.fixture
def model():
    return zoo.load_model("small_cnn", num_classes=10, seed=0)


def _trainable_groups(m):
    return [g for g, mod in m.groups.items() if all(p.requires_grad for p in mod.parameters())]


def test_freeze_defaults_to_the_backbone(model):
    freezing.freeze(model)
    assert _trainable_groups(model) == ["head"]
    freezing.unfreeze(model)
    assert _trainable_groups(model) == list(model.groups)


def test_freeze_to_counts_groups_from_the_input(model):
    freezing.freeze_to(model, 2)
    assert _trainable_groups(model) == ["conv3", "head"]
    freezing.freeze_to(model, -1)
    assert _trainable_groups(model) == ["head"]
    freezing.freeze_to(model, 0)
    assert _trainable_groups(model) == list(model.groups)
    with pytest.raises(ValueError, match="freeze_to"):
        freezing.freeze_to(model, 9)


def test_patterns_freeze_single_parameters(model):
    freezing.freeze(model, "backbone.stages.conv2.0.*")
    table = freezing.trainable_table(model).set_index("group")
    assert table.loc["conv2", "state"] == "partial"
    with pytest.raises(UnknownNameError, match="pattern that matches parameter names. Got .nothing"):
        freezing.freeze(model, "nothing.*")


def test_unknown_group_suggests_a_name(model):
    with pytest.raises(UnknownNameError, match="Did you mean 'conv2'"):
        freezing.freeze(model, "conv22")


def test_frozen_batchnorm_stays_in_eval_after_train(model):
    freezing.freeze(model, ["conv1"])
    model.train()
    bn1 = model.groups["conv1"][1]
    bn2 = model.groups["conv2"][1]
    assert not bn1.training and bn2.training
    before = bn1.running_mean.clone()
    model(torch.randn(8, 1, 32, 32))
    assert torch.equal(bn1.running_mean, before)
    freezing.set_bn_policy(model, "train")
    assert bn1.training
    with pytest.raises(ValueError, match="policy"):
        freezing.set_bn_policy(model, "sometimes")


def test_trainable_table_counts_and_lr_multipliers(model):
    freezing.freeze_to(model, 1)
    freezing.set_lr_mult(model, "conv2", 0.1)
    table = freezing.trainable_table(model)
    assert list(table["group"]) == list(model.groups)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert table["params"].sum() == total and table["trainable"].sum() == trainable
    assert table.set_index("group").loc["conv2", "lr_mult"] == 0.1
    assert freezing.count_parameters(model) == (trainable, total)
    with pytest.raises(ValueError):
        freezing.set_lr_mult(model, "conv2", -1)


def test_rejects_a_plain_module():
    with pytest.raises(TypeError, match="TransferModel"):
        freezing.freeze(torch.nn.Linear(2, 2))
