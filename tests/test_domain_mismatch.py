"""The adaptation methods (AdaBN, Deep CORAL) and the helpers of notebook 03, on tiny data.

The effects notebook 03 states are checked in test_nb03_domain_mismatch.py.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.adaptation import adapt_batchnorm, batchnorm_layers, coral_loss, fit_deep_coral
from tlworkbench.data import ImageDataset
from tlworkbench.diagnostics import coral_distance
from tlworkbench.errors import DataError, InvalidParameterError, UnknownDatasetError, UnknownNameError
from tlworkbench.experiments import domain_mismatch as dm

# --- adaptation: CORAL loss -------------------------------------------------------------------


def test_coral_loss_matches_the_diagnostic():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 5)), rng.normal(2.0, 3.0, size=(30, 5))
    loss = coral_loss(torch.tensor(a), torch.tensor(b))
    assert float(loss) == pytest.approx(coral_distance(a, b), rel=1e-5)
    same = torch.tensor(a, dtype=torch.float32)
    assert float(coral_loss(same, same + 5.0)) == pytest.approx(0.0, abs=1e-9)  # means do not count


def test_coral_loss_has_a_gradient():
    x = torch.randn(16, 4, requires_grad=True)
    coral_loss(x, 3 * torch.randn(16, 4)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("source, target", [(torch.zeros(1, 3), torch.zeros(4, 3)), (torch.zeros(4), torch.zeros(4, 3)),
                                            (torch.zeros(4, 2), torch.zeros(4, 3))])
def test_coral_loss_rejects_bad_batches(source, target):
    with pytest.raises(DataError, match="coral_loss"):
        coral_loss(source, target)


# --- adaptation: AdaBN and Deep CORAL on tiny data -------------------------------------------


def _digits(n: int, *, seed: int, bright: float = 1.0) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    images = (torch.rand(n, 1, 16, 16, generator=g) * 255 * bright).to(torch.uint8)
    return ImageDataset(images, torch.arange(n) % 10, [str(i) for i in range(10)], name=f"tiny{seed}:train")


def _model(seed: int = 0) -> tlw.TransferModel:
    return tlw.load_model("small_cnn", num_classes=10, weights=None, seed=seed)


def test_adapt_batchnorm_reestimates_statistics_and_keeps_weights():
    model = _model()
    target = _digits(50, seed=1, bright=0.3).with_transform(model)
    weights = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k and "num_batches" not in k}
    x, _ = target.get_batch(torch.arange(len(target)))
    with torch.no_grad():
        conv = model.backbone.stages["conv1"][0](x)
    first = batchnorm_layers(model)[0]
    adapt_batchnorm(model, target, batch_size=25)  # two equal batches: the mean of their means is exact
    assert torch.allclose(first.running_mean, conv.mean(dim=(0, 2, 3)), atol=1e-4)
    adapt_batchnorm(model, target, batch_size=64)  # one batch: the variance is the whole set's
    assert torch.allclose(first.running_var, conv.var(dim=(0, 2, 3), unbiased=True), rtol=1e-3, atol=1e-5)
    assert first.momentum == 0.1 and not model.training
    for k, v in weights.items():
        assert torch.equal(model.state_dict()[k], v), k


def test_adapt_batchnorm_needs_batchnorm():
    model = _model()
    for stage in ("conv1", "conv2", "conv3"):
        model.backbone.stages[stage][1] = torch.nn.Identity()
    with pytest.raises(ValueError, match="no BatchNorm"):
        adapt_batchnorm(model, _digits(8, seed=0))
    with pytest.raises(TypeError, match="TransferModel"):
        adapt_batchnorm(torch.nn.Linear(2, 2), _digits(8, seed=0))


def test_fit_deep_coral_trains_and_is_reproducible():
    source, target = _digits(64, seed=1), _digits(48, seed=2, bright=0.4)
    runs = []
    for _ in range(2):
        model = _model(seed=3)
        before = copy.deepcopy(model.state_dict())
        history = fit_deep_coral(model, source, target, epochs=2, batch_size=16, coral_weight=5.0, seed=0,
                                 progress=False)
        runs.append(model.state_dict())
        assert list(history.frame["epoch"]) == [1, 2] and history.strategy == "deep_coral"
        assert {"loss", "accuracy", "coral", "lr"} <= set(history.frame.columns)
        assert np.isfinite(history.frame["loss"]).all() and not model.training
        assert not torch.equal(before["head.weight"], model.state_dict()["head.weight"])
    for k in runs[0]:
        assert torch.equal(runs[0][k], runs[1][k]), k


@pytest.mark.parametrize("kwargs, match", [({"layer": "pixels"}, "layer"), ({"epochs": 0}, "epochs"),
                                           ({"coral_weight": -1.0}, "coral_weight"), ({"lr": 0}, "lr")])
def test_fit_deep_coral_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_deep_coral(_model(), _digits(8, seed=0), _digits(8, seed=1), progress=False, **kwargs)


# --- experiment helpers --------------------------------------------------------------------------


def test_load_domain_and_errors():
    blurred = tlw.data.load_domain("mnist+blur0.5", split="test")
    assert blurred.domain == "mnist+blur0.5" and len(blurred) == len(tlw.load_dataset("mnist", split="test"))
    samples = dm.domain_samples(["mnist", "mnist+colour1", "sklearn_digits"], n=8)
    assert [tuple(v.shape[:2]) for v in samples.values()] == [(8, 1), (8, 3), (8, 1)]
    with pytest.raises(UnknownNameError, match="blur"):
        tlw.data.load_domain("mnist+blurr0.5")
    with pytest.raises(tlw.UnknownDatasetError):
        tlw.data.load_domain("mnsit")


def test_shift_correlation_on_a_made_up_frame():
    frame = pd.DataFrame({"source": "s", "target": list("abcde"), "accuracy_drop": [0.1, 0.2, 0.3, 0.4, 0.5],
                          "mmd2": [0.01, 0.02, 0.05, 0.04, 0.2], "proxy_a_distance": [2.0] * 5})
    corr = dm.shift_correlation(frame).set_index("measure")
    assert corr.loc["mmd2", "spearman_rho"] == pytest.approx(0.9)
    assert corr.loc["mmd2", "n_targets"] == 5
    assert np.isnan(corr.loc["proxy_a_distance", "spearman_rho"])  # a constant measure ranks nothing
    with pytest.raises(ValueError, match="accuracy_drop"):
        dm.shift_correlation(frame.drop(columns="accuracy_drop"))


def test_shift_correlation_gives_exact_p_values_for_few_targets():
    # A perfect ranking of 6 targets: 2 of the 720 orderings are as extreme (two-sided), for both
    # statistics; scipy's large-sample Spearman p-value would be 0.
    frame = pd.DataFrame({"source": "s", "accuracy_drop": np.arange(6) / 10, "mmd2": np.arange(6.0) ** 2,
                          "proxy_a_distance": [1.0, 2.0, 3.0, 4.0, 6.0, 5.0]})
    corr = dm.shift_correlation(frame).set_index("measure")
    assert corr.loc["mmd2", "kendall_tau"] == pytest.approx(1.0)
    assert corr.loc["mmd2", "spearman_p"] == pytest.approx(2 / 720)
    assert corr.loc["mmd2", "kendall_p"] == pytest.approx(2 / 720)
    one_swap = corr.loc["proxy_a_distance"]
    assert one_swap["spearman_rho"] == pytest.approx(1 - 6 * 2 / (6 * 35))
    assert 2 / 720 < one_swap["spearman_p"] < 0.05


def test_source_overlap_finds_a_resized_copy(monkeypatch):
    from tlworkbench.experiments.domain_mismatch import shift as shift_module

    g = torch.Generator().manual_seed(0)
    # smooth images, as digits are: a copy redrawn with another filter stays within a few grey levels
    coarse = torch.rand(40, 1, 3, 3, generator=g) * 255
    train = torch.nn.functional.interpolate(coarse[:30], size=(28, 28), mode="bilinear").round().to(torch.uint8)
    test = torch.nn.functional.interpolate(coarse[30:], size=(20, 20), mode="bilinear").round().to(torch.uint8)
    copy_of = torch.nn.functional.interpolate(train[3:4].float(), size=(20, 20), mode="area")
    sets = {"src": train, "clean": test, "leaky": torch.cat([test[:9], copy_of.round().to(torch.uint8)])}

    def fake_load(name, *, split, profile):
        return ImageDataset(sets[name], torch.arange(len(sets[name])) % 10, [str(i) for i in range(10)], name=name)

    monkeypatch.setattr(shift_module, "load_dataset", fake_load)
    table = dm.source_overlap("src", ["clean", "leaky", "leaky+blur0.5"]).set_index("target")
    assert table.loc["clean", "redrawn_copies"] == 0 and table.loc["clean", "exact_copies"] == 0
    assert table.loc["leaky", "redrawn_copies"] == 1 and table.loc["leaky", "exact_copies"] == 0
    assert table.loc["leaky+blur0.5", "redrawn_copies"] == 1  # a shifted target is checked through its own images
    sets["same"] = train[:5]
    assert dm.source_overlap("src", ["same"])["exact_copies"].item() == 5


def _fake_history(score: float, epochs: int = 20):
    frame = pd.DataFrame({"epoch": [epochs], "split": ["val"], "loss": [1.0 - score], "accuracy": [score]})
    return tlw.training.History("fine_tune", frame, best_epoch=epochs, best_accuracy=score)


def test_label_runs_choose_the_rate_on_the_first_seeds_validation_and_reuse_it(monkeypatch):
    from tlworkbench.experiments.domain_mismatch import labels as labels_module

    calls = []

    def fake_train(kind, base, train, val, *, lr, steps, seed, profile):
        calls.append((kind, lr, seed, len(train), len(val), set(train.name.split(":")) & {"val"}))
        best = {"fine-tune": 3e-3, "scratch": 1e-2}[kind]  # each arm has its own best rate
        return base, _fake_history(1.0 - abs(np.log10(lr) - np.log10(best)) / 10)

    monkeypatch.setattr(labels_module, "_train", fake_train)
    monkeypatch.setattr(labels_module, "evaluate", lambda model, data: type("E", (), {"accuracy": 0.5})())
    data = _digits(200, seed=0)
    runs, choices = dm.label_runs("s", "t", model=_model(), train=data, test=data, budgets=(10,), seeds=(4, 5, 6))
    grid = tlw.training.LR_GRID
    # the first seed tries the whole grid for both arms, the others reuse its choice
    assert [c[1] for c in calls if c[2] == 4 and c[0] == "fine-tune"] == list(grid)
    assert [c[1] for c in calls if c[2] == 4 and c[0] == "scratch"] == list(grid)
    assert len([c for c in calls if c[2] != 4]) == 4
    lr = runs.set_index(["strategy", "seed"])["lr"]
    assert lr[("fine-tune", 5)] == lr[("fine-tune", 6)] == 3e-3 and lr[("scratch", 6)] == 1e-2
    assert set(choices["lr"]) == set(grid) and choices.groupby("strategy")["chosen"].sum().tolist() == [1, 1]
    # validation comes out of the label budget: 8 train + 2 validation images per class
    assert (runs["n_train"] == 80).all() and (runs["n_val"] == 20).all()
    with pytest.raises(UnknownNameError, match="scratch"):
        dm.label_runs("s", "t", model=_model(), train=data, test=data, strategies=("scratchh",))
    with pytest.raises(InvalidParameterError, match="budgets"):
        dm.label_runs("s", "t", model=_model(), train=data, test=data, budgets=(1,))


def test_label_runs_train_both_arms_for_the_same_steps_with_validation(monkeypatch):
    from tlworkbench.experiments.domain_mismatch import labels as labels_module

    seen = []

    def fake_fit(model, train, val, **kw):
        seen.append((kw["strategy"], len(train), val is not None, kw["epochs"], kw["lr"], kw["batch_size"]))
        return _fake_history(0.5, kw["epochs"])

    monkeypatch.setattr(labels_module, "fit", fake_fit)
    monkeypatch.setattr(labels_module, "evaluate", lambda model, data: type("E", (), {"accuracy": 0.5})())
    data = _digits(400, seed=0)
    dm.label_runs("s", "t", model=_model(), train=data, test=data, budgets=(3, 30), seeds=(0,), grid=(1e-3,))
    # 100 steps of 16: 20 training images -> 2 batches -> 50 epochs; 240 -> 15 batches -> 7 epochs
    assert seen == [("fine_tune", 20, True, 50, 1e-3, 16), ("scratch", 20, True, 50, 1e-3, 16),
                    ("fine_tune", 240, True, 7, 1e-3, 16), ("scratch", 240, True, 7, 1e-3, 16)]


def _runs(method_acc: dict[str, list[float]], pair=("s", "t")) -> pd.DataFrame:
    return pd.DataFrame([{"source": pair[0], "target": pair[1], "method": m, "seed": seed, "accuracy": acc}
                         for m, accs in method_acc.items() for seed, acc in enumerate(accs)])


def test_remedy_gains_pair_each_method_with_the_source_model_on_seed():
    frame = _runs({"source model": [0.5, 0.5, 0.5], "scratch": [0.6, 0.65, 0.7], "AdaBN": [0.49, 0.52, 0.51]})
    gains = dm.remedy_gains(frame)
    assert list(gains["method"]) == ["AdaBN", "scratch"]  # the order of METHODS
    g = gains.set_index("method")
    with pytest.warns(UserWarning, match="n = 3"):
        diff = tlw.diagnostics.paired_difference([0.6, 0.65, 0.7], [0.5] * 3)
    assert g.loc["scratch", "gain (points)"] == pytest.approx(15.0) and g.loc["scratch", "n"] == 3
    assert (g.loc["scratch", "low"], g.loc["scratch", "high"]) == pytest.approx((100 * diff.low, 100 * diff.high))
    assert g.loc["scratch", "verdict"] == "arm better"
    assert g.loc["AdaBN", "verdict"] == "inconclusive" and g.loc["AdaBN", "low"] < 0 < g.loc["AdaBN", "high"]
    with pytest.raises(DataError, match="source model"):  # a seed without its baseline run
        dm.remedy_gains(frame[~((frame["method"] == "source model") & (frame["seed"] == 2))])


def _made_up_result() -> dm.DomainMismatchResult:
    shift = pd.DataFrame({"source": "s", "target": ["t", "u", "v"], "source_accuracy": 0.9,
                          "accuracy": [0.8, 0.5, 0.2], "accuracy_drop": [0.1, 0.4, 0.7], "drop_low": [0.07, 0.36, 0.66],
                          "drop_high": [0.13, 0.44, 0.74], "mmd2": [0.1, 0.2, 0.3], "mmd_p_value": 0.005,
                          "proxy_a_distance": [1.0, 2.0, 2.0]})
    unsup = _runs({"source model": [0.5] * 3, "AdaBN": [0.49, 0.52, 0.51], "target batches (CORAL weight 0)":
                   [0.55, 0.6, 0.58], "Deep CORAL": [0.56, 0.61, 0.58]}).assign(target_labels=0, target_images=9)
    labels = pd.DataFrame([{"source": "s", "target": "t", "strategy": k, "per_class": b, "seed": seed, "lr": 1e-2,
                            "epochs": 20, "best_epoch": 20, "val_accuracy": 0.8, "accuracy": acc,
                            "n_train": 8 * b // 10, "n_val": b - 8 * b // 10}
                           for b, accs in ((3, {"fine-tune": [0.7, 0.8, 0.75], "scratch": [0.4, 0.45, 0.5]}),
                                           (10, {"fine-tune": [0.8, 0.7, 0.9], "scratch": [0.85, 0.75, 0.8]}))
                           for k, acc_list in accs.items() for seed, acc in enumerate(acc_list)])
    saturation = labels[(labels["strategy"] == "scratch") & (labels["per_class"] == 10)].assign(
        strategy="scratch, 2x steps", accuracy=[0.851, 0.749, 0.802])
    choices = pd.DataFrame({"source": "s", "target": "t", "strategy": ["fine-tune", "scratch"], "per_class": 10,
                            "seed": 0, "lr": [1e-2, 1e-2], "val_score": 0.8, "chosen": True})
    fixed = labels[(labels["strategy"] == "fine-tune") & (labels["per_class"] == 10)].assign(
        strategy="fine-tune, lr 0.001", lr=1e-3, accuracy=[0.5, 0.45, 0.55])
    return dm.DomainMismatchResult(shift=shift, remedies=dm.remedy_frame(unsup, labels), labels=labels,
                                   choices=choices, saturation=saturation, fixed=fixed)


def test_comparisons_and_conclusion_are_computed_from_the_runs():
    result = _made_up_result()
    table = result.comparisons.set_index(["comparison", "per_class"], drop=False)
    ft = table.loc[("fine-tune vs scratch", 10)]
    assert ft["gain (points)"] == pytest.approx(0.0 + 100 * (0.8 - 0.8)) and ft["verdict"] == "inconclusive"
    assert table.loc[("fine-tune vs scratch", 3), "verdict"] == "fine-tune better"
    assert table.loc[("fine-tune vs scratch", 3), "n"] == 3
    assert "n = 3" in ft["text"] and "t-interval" in ft["text"]
    term = result.comparisons.set_index("comparison").loc["Deep CORAL vs CORAL weight 0"]
    assert term["gain (points)"] == pytest.approx(100 * 0.02 / 3) and term["verdict"] == "inconclusive"
    sat = result.comparisons.set_index("comparison").loc["scratch, 2x steps vs scratch"]
    assert sat["verdict"] == "inconclusive"
    text = result.conclusion
    assert ft["text"] in text and "taken as saturated" in text
    assert "largest value (0.01)" in text  # both arms chose the grid's edge: said, not hidden
    assert "negative transfer" not in text  # the interval at 10 per class covers 0
    held = result.comparisons.set_index("comparison").loc["fine-tune, lr 0.001 vs scratch"]
    assert held["verdict"] == "scratch better" and held["text"] in text
    assert "changes the verdict on s → t (inconclusive with the chosen rate, scratch better at lr 0.001)" in text
    assert "n = 3 targets" in text and "exact p" in text
    summary = result.summary
    assert list(summary.index) == ["s → t"] and summary["seeds"].item() == 3


def test_the_experiment_checks_its_arguments():
    with pytest.raises(UnknownDatasetError, match="targets"):
        dm.shift_vs_drop("fashion_mnist")  # a source without default targets
    with pytest.raises(InvalidParameterError, match="targets"):
        dm.shift_vs_drop("mnist", targets="mnist+blur0.5")
    data = _digits(40, seed=0)
    with pytest.raises(InvalidParameterError, match="seeds"):
        dm.unsupervised_remedies("s", "t", model=_model(), train=data, test=data, seeds=())
    with pytest.raises(UnknownNameError, match="AdaBN"):
        dm.unsupervised_remedies("s", "t", model=_model(), train=data, test=data, methods=("AdaBn",))
    with pytest.raises(InvalidParameterError, match="source_train"):
        dm.unsupervised_remedies("s", "t", model=_model(), train=data, test=data, methods=("Deep CORAL",))
    with pytest.raises(TypeError):
        dm.run_domain_mismatch("quick")  # the profile is keyword-only
