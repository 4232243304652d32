"""fit: strategies, frozen weights, the optimizer, schedules, interrupt and resume, divergence,
determinism, bad input, and compare on top of it."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from tlworkbench import comparison, freezing, training, zoo
from tlworkbench import data as datasets
from tlworkbench.errors import (DataError, InvalidParameterError, TrainingDivergedError, UnknownNameError,
                                UnknownStrategyError)
from tlworkbench.features import FeatureCache, extract_features
from tlworkbench.training import optim
from tlworkbench.zoo.transforms import ImageTransform

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


QUIET = {"progress": False, "batch_size": 32, "min_steps": 0}  # the epochs asked for (tests/test_defaults.py)


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


def _reference_factor(schedule, step, total, warmup):
    """The schedules written out: one-cycle (cosine up from 1/25, down to 1e-4) and warm-up + cosine."""
    if schedule is None:
        return 1.0
    if schedule == "onecycle":
        w = warmup * total
        if step < w:
            return 1 / 25 + (1 - 1 / 25) * (1 - math.cos(math.pi * step / w)) / 2
        return 1e-4 + (1 - 1e-4) * (1 + math.cos(math.pi * (step - w) / (total - w))) / 2
    n = math.ceil(warmup * total - 1e-9)
    if step < n:
        return (step + 1) / n
    return (1 + math.cos(math.pi * (step - n) / max(1, total - n))) / 2


def _scheduled_lrs(schedule, total, warmup, peaks=(2e-3, 2e-4)):
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in peaks]
    opt = torch.optim.AdamW([{"params": [p]} for p in params], lr=1.0)
    sched = optim.make_scheduler(schedule, opt, list(peaks), total=total, warmup=warmup)
    lrs = []
    for _ in range(total):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if sched is not None:
            sched.step()
    return lrs


@pytest.mark.parametrize("schedule, warmup", [("onecycle", 0.25), ("onecycle", 0.3), ("cosine", 0.1), ("cosine", 0.0),
                                              ("cosine", 0.25), (None, 0.1)])
@pytest.mark.parametrize("total", [1, 2, 7, 62, 100])
def test_schedules_follow_their_formulas_per_step(schedule, warmup, total):
    lrs = _scheduled_lrs(schedule, total, warmup)
    for step, (a, b) in enumerate(lrs):
        expected = _reference_factor(schedule, step, total, warmup)
        assert a == pytest.approx(2e-3 * expected, rel=1e-9, abs=1e-15), step
        assert b == pytest.approx(2e-4 * expected, rel=1e-9, abs=1e-15), step  # every group alike
    if schedule is not None and total >= 62:
        factors = [a / 2e-3 for a, _ in lrs]
        peak = max(range(total), key=factors.__getitem__)
        assert factors[-1] < 0.01 and factors[peak] == pytest.approx(1.0, abs=0.01)


def test_cosine_warm_up_never_passes_the_peak():
    # 0.1 x 157 steps is 15.7: the warm-up takes 16 steps and rises to exactly the peak
    factors = [a / 2e-3 for a, _ in _scheduled_lrs("cosine", 157, 0.1)]
    assert max(factors) == pytest.approx(1.0) and factors[15] == pytest.approx(1.0)
    assert factors[0] == pytest.approx(1 / 16)


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


# --- the loss hook ------------------------------------------------------------------------------


class _Confidence(training.TrainingLoss):
    """The cross-entropy plus a metric, reading the whole model as custom losses may."""

    def __init__(self):
        self.calls = []

    def __call__(self, model, x, y):
        self.calls.append(type(model).__name__)
        out = super().__call__(model, x, y)
        out.metrics["confidence"] = out.logits.softmax(1).max(1).values.mean()
        return out


def test_a_custom_loss_runs_the_whole_model_and_adds_its_metrics(train, val):
    hook = _Confidence()
    h = training.fit(new_model(), train, val, strategy="linear_probe", epochs=2, loss=hook, **QUIET)
    assert set(hook.calls) == {"TransferModel"}  # no cached features: the loss may read the backbone
    rows = h.frame.set_index("split")
    assert rows.loc["train", "confidence"].between(0, 1).all() and rows.loc["val", "confidence"].isna().all()
    with pytest.raises(ValueError, match="lbfgs"):
        training.fit(new_model(), train, strategy="linear_probe", optimizer="lbfgs", loss=hook, **QUIET)
    with pytest.raises(TypeError, match="'loss'"):
        training.fit(new_model(), train, loss=lambda m, x, y: None, **QUIET)


def test_the_base_loss_is_the_default_cross_entropy(train, val):
    frames = [training.fit(new_model(), train, val, epochs=2, loss=loss, **QUIET).frame.drop(columns="seconds")
              for loss in (None, training.TrainingLoss())]
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


def test_a_loss_that_sets_the_epoch_resumes_where_it_stopped(train, tmp_path):
    from tlworkbench.adaptation import DeepCoralLoss

    target = train.subset(range(0, 200, 2)).with_transform(new_model())
    args = dict(strategy="fine_tune", epochs=3, schedule="cosine", warmup=0.0, progress=False, batch_size=16,
                min_steps=0)
    path = tmp_path / "coral.pt"

    def stop_after_first(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        training.fit(new_model(), train, checkpoint=path, callbacks=[stop_after_first],
                     loss=DeepCoralLoss(target, weight=5.0), **args)
    resumed, whole = new_model(seed=9), new_model()
    done = training.fit(resumed, train, resume=path, loss=DeepCoralLoss(target, weight=5.0), **args)
    reference = training.fit(whole, train, loss=DeepCoralLoss(target, weight=5.0), **args)
    assert same(state(resumed), state(whole))
    assert done.frame.drop(columns="seconds").equals(reference.frame.drop(columns="seconds"))
    # an epoch is a pass over the target's 100 images: 6 full batches of 16, the source batches cycle
    assert reference.epochs == 3 and "coral" in reference.frame


def test_numpy_integers_are_ints(train):
    h = training.fit(new_model(), train, epochs=np.int64(1), batch_size=np.int64(32), seed=np.int64(0),
                     min_steps=np.int64(0), progress=False)
    assert h.epochs == 1


# --- bad input -----------------------------------------------------------------------------------


def test_unknown_strategy_suggests_a_name(train):
    with pytest.raises(UnknownStrategyError, match="Did you mean 'linear_probe'"):
        training.fit(new_model(), train, strategy="linear_prob", **QUIET)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "'lr'"), ({"lr": -1.0}, "'lr'"), ({"epochs": 0}, "'epochs'"), ({"batch_size": 0}, "'batch_size'"),
    ({"schedule": "cosin"}, "Did you mean 'cosine'"), ({"patience": 2}, "pass val"),
    ({"strategy": "two_stage", "head_epochs": 0}, "'head_epochs'"), ({"min_steps": -1}, "'min_steps'"),
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
    df = comparison.compare("small_cnn", train, val, strategies=("linear_probe", "fine_tune"), per_class=(5, 10),
                            seeds=(0,), epochs=1, image_size=SIZE, cache=cache, progress=False, batch_size=32)
    assert list(df.columns[:4]) == ["model", "strategy", "per_class", "seed"]
    assert {"accuracy", "seconds", "trainable_params"} <= set(df.columns)
    assert len(df) == 4 and set(df["per_class"]) == {5, 10}
    assert df.set_index(["strategy", "per_class"]).loc[("fine_tune", 5), "n_train"] == 50
    # one extraction of the training set and one of the test set, shared by both budgets
    assert cache.misses == 2
    with pytest.raises(UnknownStrategyError, match="Did you mean 'scratch'"):
        comparison.compare("small_cnn", train, val, strategies=("scrach",), progress=False)
    with pytest.raises(InvalidParameterError, match=r"'per_class\[1\]' parameter of compare"):
        comparison.compare("small_cnn", train, val, per_class=(5, 0), progress=False)
    with pytest.raises(InvalidParameterError, match="'seeds' parameter of compare must be a non-empty"):
        comparison.compare("small_cnn", train, val, seeds=(), progress=False)
    with pytest.raises(InvalidParameterError, match="'epochs' parameter of compare.*'fine_tune'"):
        comparison.compare("small_cnn", train, val, strategies=("fine_tune",), per_class=(5,), seeds=(0,),
                           epochs={"scratch": 1}, image_size=SIZE, progress=False)


# --- the linear probe ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lite0_features():
    """EfficientNet-Lite0's ImageNet features (64 px) of 300 animal_mnist training and 300 test images."""
    model = zoo.load_model("efficientnet_lite0", num_classes=10, image_size=64, seed=0)
    train = datasets.subsample(datasets.load_dataset("animal_mnist", transform=model), per_class=30, seed=0)
    test = datasets.load_dataset("animal_mnist", split="test", transform=model, max_size=300, seed=0)
    return (*extract_features(model, train, progress=False), *extract_features(model, test, progress=False))


def test_the_probe_is_as_accurate_as_scikit_learns_logistic_regression(lite0_features):
    from sklearn.linear_model import LogisticRegression

    from tlworkbench.training.probe import FeatureScaling

    xtr, ytr, xte, yte = lite0_features
    ours = training.probe_accuracy(training.fit_probe(xtr, ytr), xte, yte)
    scale = FeatureScaling(xtr)  # the probe's own centring and scale, given to scikit-learn too
    reference = LogisticRegression(max_iter=5000).fit(scale(xtr).numpy(), ytr.numpy())
    theirs = reference.score(scale(xte).numpy(), yte.numpy())
    assert ours > 0.6  # chance is 0.1
    assert abs(ours - theirs) <= 0.01, (ours, theirs)


def test_the_probe_reads_raw_features_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(4).repeat(25)
    x = 1e-3 * (torch.nn.functional.one_hot(y, 4).float() + 0.3 * torch.randn(100, 4, generator=g))
    probe = training.fit_probe(x, y, seed=1)
    assert isinstance(probe, torch.nn.Linear) and probe.out_features == 4
    # features of scale 1e-3: the penalty acts on the scaled features, so the probe still fits
    assert training.probe_accuracy(probe, x, y) > 0.9
    assert torch.equal(probe.weight, training.fit_probe(x, y, seed=1).weight)
    with pytest.raises(InvalidParameterError, match="'labels' parameter of fit_probe"):
        training.fit_probe(x, y[:10])
    with pytest.raises(InvalidParameterError, match="'num_classes' parameter of fit_probe must be an int >= 4"):
        training.fit_probe(x, y, num_classes=3)


def test_lbfgs_needs_a_linear_head(train):
    model = new_model()
    model.head = torch.nn.Sequential(torch.nn.Linear(model.feature_dim, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    h = training.fit(model, train, strategy="linear_probe", epochs=1, **QUIET)  # AdamW: the head is not linear
    assert h.frame["trainable_params"].iloc[0] == sum(p.numel() for p in model.head.parameters())
    with pytest.raises(InvalidParameterError, match="one nn.Linear"):
        training.fit(model, train, strategy="linear_probe", optimizer="lbfgs", epochs=1, **QUIET)
