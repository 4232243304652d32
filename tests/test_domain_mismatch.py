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
from tlworkbench.experiments.domain_mismatch import remedy as remedy_module

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
    with pytest.raises(UnknownNameError, match="AdaBN"):
        dm.remedies("mnist", "mnist+blur0.5", methods=("AdaBn",))


def test_shift_correlation_on_a_made_up_frame():
    frame = pd.DataFrame({"source": "s", "target": list("abcde"), "accuracy_drop": [0.1, 0.2, 0.3, 0.4, 0.5],
                          "mmd2": [0.01, 0.02, 0.05, 0.04, 0.2], "proxy_a_distance": [2.0] * 5})
    corr = dm.shift_correlation(frame).set_index("measure")
    assert corr.loc["mmd2", "spearman_rho"] == pytest.approx(0.9)
    assert np.isnan(corr.loc["proxy_a_distance", "spearman_rho"])  # a constant measure ranks nothing
    with pytest.raises(ValueError, match="accuracy_drop"):
        dm.shift_correlation(frame.drop(columns="accuracy_drop"))


def test_few_labels_train_for_a_hundred_steps_of_sixteen(monkeypatch):
    seen = []
    monkeypatch.setattr(remedy_module, "fit", lambda model, data, **kw: seen.append((len(data), kw["epochs"])))
    monkeypatch.setattr(remedy_module, "evaluate", lambda model, data: type("E", (), {"accuracy": 0.5})())
    for per_class in (1, 3, 10, 30):  # the notebook's budgets
        labelled = _digits(10 * per_class, seed=0)
        remedy_module._few_labels("scratch", "mnist", labelled, labelled, seed=0, profile="quick", base=None)
    assert seen == [(10, 20), (30, 20), (100, 15), (300, 6)]  # at most 20 epochs


def test_remedy_gains_compare_each_method_with_the_source_model():
    rows = [{"source": "s", "target": "t", "method": "source model", "seed": 0, "accuracy": 0.5}]
    rows += [{"source": "s", "target": "t", "method": m, "seed": seed, "accuracy": acc}
             for m, accs in (("scratch", (0.6, 0.7, 0.8)), ("AdaBN", (0.55,))) for seed, acc in enumerate(accs)]
    gains = dm.remedy_gains(pd.DataFrame(rows))
    assert list(gains["method"]) == ["source model", "AdaBN", "scratch"]  # the order of METHODS
    g = gains.set_index("method")
    assert g.loc["scratch", "gain (points)"] == pytest.approx(20.0) and g.loc["scratch", "runs"] == 3
    assert g.loc["scratch", "sd"] == pytest.approx(0.1) and g.loc["AdaBN", "sd"] == 0.0
    assert g.loc["source model", "gain (points)"] == 0.0
    assert dm.remedy_gains(pd.DataFrame(rows[1:]))["gain (points)"].isna().all()  # nothing to compare with


def test_the_experiment_checks_its_arguments():
    with pytest.raises(UnknownDatasetError, match="targets"):
        dm.shift_vs_drop("fashion_mnist")  # a source without default targets
    with pytest.raises(InvalidParameterError, match="targets"):
        dm.shift_vs_drop("mnist", targets="mnist+blur0.5")
    with pytest.raises(InvalidParameterError, match="seeds"):
        dm.remedies("mnist", "mnist+blur0.5", seeds=())
    with pytest.raises(InvalidParameterError, match=r"budgets\[1\]"):
        dm.label_efficiency("font_digits", "mnist", budgets=(1, 0))
    with pytest.raises(TypeError):
        dm.run_domain_mismatch("quick")  # the profile is keyword-only
