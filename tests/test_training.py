"""fit: strategies, frozen weights, the optimizer, schedules, interrupt and resume, divergence,
determinism, bad input, and compare on top of it."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch

from tlworkbench import comparison, datasets, freezing, training, zoo
from tlworkbench.errors import DataError, TrainingDivergedError, UnknownNameError, UnknownStrategyError
from tlworkbench.features import FeatureCache
from tlworkbench.transforms import ImageTransform

SIZE = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def train():
    return datasets.load_dataset("mnist", max_size=200)


@pytest.fixture(scope="module")
def val():
    return datasets.load_dataset("mnist", split="test", max_size=100)


def new_model(seed: int = 0) -> zoo.TransferModel:
    return zoo.load_model("small_cnn", num_classes=10, image_size=SIZE, seed=seed)


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


QUIET = {"progress": False, "batch_size": 32}


def test_two_steps_lower_the_loss(train):
    tiny = train.subset(range(32))
    model = new_model()
    # one full-batch step per epoch: epoch 2's loss is measured after one update
    history = training.fit(model, tiny, strategy="fine_tune", epochs=2, lr=1e-2, schedule=None, **QUIET)
    loss = history.frame.query("split == 'train'")["loss"].to_list()
    assert loss[1] < loss[0]


def test_linear_probe_changes_the_head_only(train, val):
    model = new_model()
    backbone = state(model.backbone)
    head = state(model.head)
    history = training.fit(model, train, val, strategy="linear_probe", epochs=2, lr=1e-2, **QUIET)
    assert same(backbone, state(model.backbone))  # parameters and BatchNorm statistics, bitwise
    assert not same(head, state(model.head))
    assert set(history.frame["trainable_params"]) == {sum(p.numel() for p in model.head.parameters())}
    assert all(p.requires_grad for p in model.parameters())  # the flags it found are restored
    assert not model.training


def test_fine_tune_from_a_group_keeps_the_groups_below_bitwise(train):
    model = new_model()
    below = {g: state(model.groups[g]) for g in ("conv1", "conv2")}
    above = state(model.groups["conv3"])
    training.fit(model, train, strategy="fine_tune", from_group="conv3", epochs=1, **QUIET)
    for g, before in below.items():
        after = state(model.groups[g])
        assert same(before, after), g
        assert any(k.endswith("num_batches_tracked") for k in after)
    assert not same(above, state(model.groups["conv3"]))
    # an index works as a name does
    model = new_model()
    before = state(model.groups["conv1"])
    training.fit(model, train, strategy="fine_tune", from_group=1, epochs=1, **QUIET)
    assert same(before, state(model.groups["conv1"]))


@pytest.mark.parametrize("strategy", ["fine_tune", "gradual_unfreeze", "two_stage", "linear_probe"])
def test_the_optimizer_holds_no_frozen_parameter(train, strategy):
    model = new_model()
    freezing.freeze(model, "conv1")
    built = []

    def factory(groups):
        params = [p for g in groups for p in g["params"]]
        assert all(p.requires_grad for p in params)
        built.append(({g["name"] for g in groups}, sum(p.numel() for p in params)))
        return torch.optim.AdamW(groups)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training.fit(model, train, strategy=strategy, epochs=3, optimizer=factory, **QUIET)
    assert all("conv1" not in names for names, _ in built)
    if strategy == "gradual_unfreeze":  # rebuilt at each new group, from the top down
        assert [names for names, _ in built] == [{"head"}, {"head", "conv3"}, {"head", "conv3", "conv2"}]
    if strategy == "two_stage":
        assert [names for names, _ in built] == [{"head"}, {"head", "conv3", "conv2"}]
    assert not any(p.requires_grad for p in model.groups["conv1"].parameters())


def test_frozen_parameters_in_a_custom_optimizer_warn(train):
    model = new_model()
    with pytest.warns(UserWarning, match="frozen parameters"):
        training.fit(model, train, strategy="linear_probe", epochs=1,
                     optimizer=lambda groups: torch.optim.SGD(model.parameters(), lr=0.1), **QUIET)


def test_lr_multipliers_make_one_column_per_group(train):
    model = new_model()
    freezing.set_lr_mult(model, "conv1", 0.1)
    history = training.fit(model, train, strategy="fine_tune", epochs=1, lr=1e-2, lr_mult={"conv2": 0.5}, **QUIET)
    row = history.frame.iloc[0]
    assert row["lr_conv1"] == pytest.approx(0.1 * row["lr_head"])
    assert row["lr_conv2"] == pytest.approx(0.5 * row["lr_head"])
    assert row["lr"] == pytest.approx(row["lr_head"])


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", None])
def test_schedules_warm_up_and_decay(schedule):
    total = 100
    factors = [training._lr_factor(schedule, s, total, 0.25 if schedule == "onecycle" else 0.1) for s in range(total)]
    if schedule is None:
        assert set(factors) == {1.0}
        return
    peak = max(range(total), key=factors.__getitem__)
    assert factors[0] < 0.2 and factors[-1] < 0.01
    assert 5 <= peak <= 30 and factors[peak] == pytest.approx(1.0, abs=0.01)


def test_same_seed_same_history(train, val):
    runs = []
    for _ in range(2):
        h = training.fit(new_model(), train, val, strategy="two_stage", epochs=3, seed=3, **QUIET)
        runs.append(h.frame.drop(columns="seconds"))
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    other = training.fit(new_model(), train, val, strategy="two_stage", epochs=3, seed=4, **QUIET)
    assert not other.frame.drop(columns="seconds").equals(runs[0])


def test_global_rng_is_left_alone(train):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    training.fit(new_model(), train, epochs=1, **QUIET)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("strategy", ["fine_tune", "gradual_unfreeze"])
def test_interrupted_and_resumed_run_ends_where_an_uninterrupted_one_does(train, val, tmp_path, strategy):
    args = dict(strategy=strategy, epochs=3, lr=3e-3, **QUIET)
    path = tmp_path / "run.pt"

    def stop_after_first(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    first = new_model()
    with pytest.warns(UserWarning, match="interrupted after 1 complete epoch"):
        part = training.fit(first, train, val, checkpoint=path, callbacks=[stop_after_first], **args)
    assert part.interrupted and part.epochs == 1 and part.best_epoch == 1
    assert path.exists()

    resumed = new_model(seed=9)  # other initial weights: the checkpoint must bring everything back
    done = training.fit(resumed, train, val, resume=path, **args)
    whole = new_model()
    reference = training.fit(whole, train, val, **args)
    assert same(state(resumed), state(whole))
    assert done.frame.drop(columns="seconds").equals(reference.frame.drop(columns="seconds"))
    assert (done.best_epoch, done.interrupted) == (reference.best_epoch, False)


def test_resume_true_starts_fresh_without_a_checkpoint(train, tmp_path):
    path = tmp_path / "run.pt"
    h = training.fit(new_model(), train, epochs=1, checkpoint=path, resume=True, **QUIET)
    assert h.epochs == 1 and path.exists()
    again = training.fit(new_model(), train, epochs=1, checkpoint=path, resume=True, **QUIET)
    assert again.frame.drop(columns="seconds").equals(h.frame.drop(columns="seconds"))


def test_interrupt_loads_the_best_weights(train, val):
    model = new_model()
    seen = {}

    def stop(epoch, history):
        seen[epoch] = state(model)
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        h = training.fit(model, train, val, epochs=4, callbacks=[stop], **QUIET)
    assert h.interrupted and h.epochs == 2
    assert same(state(model), seen[h.best_epoch])


def test_a_nan_loss_raises_and_restores_the_last_good_weights(train):
    model = new_model()
    before = state(model)
    with pytest.raises(TrainingDivergedError, match=r"step \d+ \(epoch 1, batch \d+\) with learning rate") as info:
        training.fit(model, train, epochs=2, lr=1e30, schedule=None, **QUIET)
    assert "nan" in str(info.value) or "inf" in str(info.value)
    assert same(before, state(model))
    assert all(p.requires_grad for p in model.parameters())


def test_early_stopping_and_best_epoch(train, val):
    model = new_model()
    # a learning rate too small to move any weight: validation accuracy never improves
    h = training.fit(model, train, val, strategy="linear_probe", optimizer="adamw", epochs=6, lr=1e-30, patience=2,
                     **QUIET)
    assert h.stopped_early and h.epochs == 3 and h.best_epoch == 1
    stop = training.fit(new_model(), train, epochs=5, callbacks=[lambda e, h: e == 2], **QUIET)
    assert stop.epochs == 2


def test_linear_probe_defaults_to_lbfgs_and_takes_adamw(train, val):
    losses = {}
    for optimizer in (None, "adamw"):
        model = new_model()
        h = training.fit(model, train, val, strategy="linear_probe", optimizer=optimizer, epochs=2, lr=None, **QUIET)
        losses[optimizer] = h.frame.query("split == 'train'")["loss"].to_list()
        assert losses[optimizer][-1] < losses[optimizer][0]
    assert losses[None][-1] < losses["adamw"][-1]  # full-batch L-BFGS fits the features in fewer epochs


def test_scratch_reinitialises_from_the_seed(train):
    a, b = new_model(seed=1), new_model(seed=2)
    training.reinitialize(a, seed=5)
    training.reinitialize(b, seed=5)
    assert same(state(a), state(b))
    h = training.fit(new_model(seed=1), train, strategy="scratch", epochs=1, seed=5, **QUIET)
    assert h.strategy == "scratch"


def test_history_plot(train, val, pyplot):
    h = training.fit(new_model(), train, val, epochs=2, **QUIET)
    ax = h.plot(metric="accuracy")
    assert len(ax.lines) == 2 and ax.get_ylabel() == "accuracy"
    assert "History('fine_tune'" in repr(h)


# --- bad input -----------------------------------------------------------------------------------


def test_unknown_strategy_suggests_a_name(train):
    with pytest.raises(UnknownStrategyError, match="Did you mean 'linear_probe'"):
        training.fit(new_model(), train, strategy="linear_prob", **QUIET)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "'lr'"), ({"lr": -1.0}, "'lr'"), ({"epochs": 0}, "'epochs'"), ({"batch_size": 0}, "'batch_size'"),
    ({"schedule": "cosin"}, "Did you mean 'cosine'"), ({"patience": 2}, "pass val"),
    ({"strategy": "two_stage", "epochs": 1}, "epochs >= 2"),
    ({"strategy": "linear_probe", "from_group": 1}, "from_group"),
    ({"optimizer": "lbfgs"}, "linear_probe"),
])
def test_bad_numbers_are_value_errors(train, kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.fit(new_model(), train, **{**QUIET, **kwargs})


def test_unknown_group_names(train):
    with pytest.raises(UnknownNameError, match="Did you mean 'conv2'"):
        training.fit(new_model(), train, from_group="conv22", **QUIET)
    with pytest.raises(UnknownNameError, match="lr_mult"):
        training.fit(new_model(), train, lr_mult={"nope": 1.0}, **QUIET)


def test_bad_data_sets_are_data_errors(train):
    with pytest.raises(DataError, match="empty"):
        training.fit(new_model(), train.subset([]), **QUIET)
    with pytest.raises(DataError, match="num_classes=11|replace_head"):
        bad = datasets.ImageDataset(train.images[:8], [10] * 8, [str(i) for i in range(11)])
        training.fit(new_model(), bad, **QUIET)
    text = datasets.TextDataset(["a cat", "a dog"], [0, 1], ["cat", "dog"])
    with pytest.raises(DataError, match="text"):
        training.fit(new_model(), text, **QUIET)
    rgb = train.with_transform(ImageTransform(SIZE, channels=3, mean=(0.5,) * 3, std=(0.5,) * 3))
    with pytest.raises(DataError, match="3 channel"):
        training.fit(new_model(), rgb, **QUIET)


def test_every_parameter_frozen_warns_and_trains_the_head(train):
    model = new_model()
    freezing.freeze(model, list(model.groups))
    backbone = state(model.backbone)
    with pytest.warns(UserWarning, match="Every parameter of 'small_cnn' is frozen"):
        h = training.fit(model, train, strategy="fine_tune", epochs=1, **QUIET)
    assert same(backbone, state(model.backbone))
    assert h.frame["trainable_params"].iloc[0] == sum(p.numel() for p in model.head.parameters())
    # a linear probe trains the head whatever its flag: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training.fit(model, train, strategy="linear_probe", epochs=1, **QUIET)
    assert not any(p.requires_grad for p in model.parameters())


# --- compare -------------------------------------------------------------------------------------


def test_compare_is_tidy_and_extracts_features_once(train, val):
    cache = FeatureCache()
    df = comparison.compare("small_cnn", train, val, strategies=("linear_probe", "fine_tune"), budgets=(5, 10),
                            seeds=(0,), epochs=1, image_size=SIZE, cache=cache, progress=False, batch_size=32)
    assert list(df.columns[:4]) == ["model", "strategy", "budget", "seed"]
    assert {"accuracy", "seconds", "trainable_params"} <= set(df.columns)
    assert len(df) == 4 and set(df["budget"]) == {5, 10}
    assert df.set_index(["strategy", "budget"]).loc[("fine_tune", 5), "n_train"] == 50
    # one extraction of the training set and one of the test set, shared by both budgets
    assert cache.misses == 2
    with pytest.raises(UnknownStrategyError, match="Did you mean 'scratch'"):
        comparison.compare("small_cnn", train, val, strategies=("scrach",), progress=False)
