"""Notebook 01: the effects it states, checked through the same functions, in the quick profile.

The fixture runs the notebook's experiment with the notebook's own arguments; each test asserts
an effect with a margin that held in the runs made (each test says what was seen). The checks of
the protocol (both arms on the same images, choices on validation, intervals computed from the
runs) come first, the effects after.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from tlworkbench.diagnostics import paired_difference
from tlworkbench.experiments import feature_extraction as fx
from tlworkbench.training import LR_GRID, WEIGHT_DECAY_GRID, epochs_for_steps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def extraction() -> fx.FeatureExtractionResult:
    return fx.run_feature_extraction(targets=fx.targets_for("quick"), profile="quick")


def _row(result: fx.FeatureExtractionResult, target: str, per_class: int) -> pd.Series:
    return result.gains.set_index(["target", "per_class"]).loc[(target, per_class)]


# --- the protocol ----------------------------------------------------------------------------------


def test_both_arms_ran_every_budget_and_seed_on_the_same_images(extraction):
    eff = extraction.efficiency
    targets, budgets, seeds = fx.targets_for("quick"), fx.budgets_for("quick"), (0, 1, 2)
    assert tuple(eff["target"].unique()) == targets
    assert len(eff) == len(targets) * len(budgets) * len(seeds) * 2
    assert eff["accuracy"].between(0, 1).all()
    sizes = eff.pivot_table(index=["target", "per_class", "seed"], columns="strategy", values=["n_train", "n_val"])
    assert (sizes[("n_train", "linear_probe")] == sizes[("n_train", "scratch")]).all()
    assert (sizes[("n_val", "linear_probe")] == sizes[("n_val", "scratch")]).all()
    at = eff.set_index(["per_class", "seed"])
    assert (at.loc[(100, 0), "n_train"] == 800).all() and (at.loc[(100, 0), "n_val"] == 200).all()
    assert (at.loc[(1, 0), "n_train"] == 10).all() and (at.loc[(1, 0), "n_val"] == 0).all()


def test_choices_are_made_on_the_first_seeds_validation_split(extraction):
    eff, grids = extraction.efficiency, extraction.grids
    probe, scratch = eff[eff["strategy"] == "linear_probe"], eff[eff["strategy"] == "scratch"]
    assert probe["value"].isin(WEIGHT_DECAY_GRID).all() and scratch["value"].isin(fx.QUICK_LR_GRID).all()
    assert set(fx.QUICK_LR_GRID) <= set(LR_GRID)
    for (target, strategy, n), part in eff.groupby(["target", "strategy", "per_class"]):
        assert part["value"].nunique() == 1  # one choice per budget, reused for every seed
        if n == 1:  # nothing to validate on: the choice made at the next budget
            nxt = eff[(eff["target"] == target) & (eff["strategy"] == strategy) & (eff["per_class"] == 10)]
            assert part["value"].iloc[0] == nxt["value"].iloc[0]
            assert part["chosen_on"].str.startswith("val at 10/class").all() and part["val_accuracy"].isna().all()
        else:
            grid = grids[(grids["target"] == target) & (grids["strategy"] == strategy) & (grids["per_class"] == n)]
            assert len(grid) == (len(WEIGHT_DECAY_GRID) if strategy == "linear_probe" else len(fx.QUICK_LR_GRID))
            best = grid.loc[grid["val_score"].idxmax()]  # ties go to the earlier value, as idxmax does
            assert bool(best["chosen"]) and best["value"] == part["value"].iloc[0]
            assert part["val_accuracy"].notna().all()


def test_gains_are_paired_t_intervals_computed_from_the_runs(extraction):
    eff = extraction.efficiency
    for _, row in extraction.gains.iterrows():
        part = eff[(eff["target"] == row["target"]) & (eff["per_class"] == row["per_class"])]
        wide = part.pivot(index="seed", columns="strategy", values="accuracy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n = 3: paired_difference warns that 3 pairs are few
            diff = paired_difference(100 * wide["linear_probe"], 100 * wide["scratch"])
        assert row["n"] == 3
        assert row["gain"] == pytest.approx(diff.mean, abs=1e-6)
        assert (row["low"], row["high"]) == pytest.approx((diff.low, diff.high), abs=1e-6)
        expected = {"a better": "probe ahead", "b better": "scratch ahead", "inconclusive": "inconclusive"}
        assert row["verdict"] == expected[diff.verdict]
        assert (row["verdict"] == "inconclusive") == (row["low"] <= 0 <= row["high"])


def test_conclusion_quotes_every_interval_and_verdict(extraction):
    text = extraction.conclusion
    for _, row in extraction.gains.iterrows():
        interval = f"{row['gain']:+.1f} [{row['low']:+.1f}, {row['high']:+.1f}]".replace("-", "\N{MINUS SIGN}")
        assert f"{interval} at {row['per_class']}" in text
    for target, v in fx.verdicts(extraction.gains).items():
        line = next(s for s in text.splitlines() if s.startswith(f"On {target},"))
        assert ("the probe is ahead" in line) == bool(v["probe ahead"])
        assert ("scratch is ahead" in line) == bool(v["scratch ahead"])
    assert "n = 3 paired seeds" in text
    summary = extraction.summary
    assert summary.shape == (len(fx.targets_for("quick")) * len(fx.budgets_for("quick")), 7)
    assert (summary["n"] == 3).all()


# --- the effects -----------------------------------------------------------------------------------


def test_scratch_is_a_tuned_baseline(extraction):
    eff = extraction.efficiency
    scratch = eff[eff["strategy"] == "scratch"].groupby(["target", "per_class"])["accuracy"].mean()
    # seen at 100 labels per class (lr and epoch chosen on validation, 36 epochs): .910 animal_mnist,
    # .963 mnist
    assert scratch[("animal_mnist", 100)] > 0.88 and scratch[("mnist", 100)] > 0.94


def test_scratch_is_ahead_on_digits_with_many_labels_and_the_rest_is_inconclusive(extraction):
    # seen (n = 3, 95% t-intervals, points): mnist -7.7 [-8.7, -6.6] at 100 labels per class, the
    # only interval that leaves 0; animal_mnist -5.9 [-13.2, +1.3], +6.8 [-3.7, +17.3],
    # -0.5 [-2.4, +1.3] and mnist +7.8 [-6.9, +22.5], -0.7 [-1.8, +0.3] at 1, 10 (and 100)
    row = _row(extraction, "mnist", 100)
    assert row["verdict"] == "scratch ahead" and row["high"] < -4.0
    assert (extraction.gains["verdict"] != "probe ahead").all()
    assert _row(extraction, "animal_mnist", 100)["verdict"] == "inconclusive"
    assert abs(_row(extraction, "animal_mnist", 100)["gain"]) < 3.0


def test_features_that_group_pixels_worse_go_with_the_larger_deficit(extraction):
    d = extraction.distance.set_index("target")
    # seen: 5-NN on ImageNet features against raw pixels: +3.1 animal_mnist, -9.1 mnist
    assert d.loc["mnist", "knn_gain"] < -5.0 and d.loc["animal_mnist", "knn_gain"] > 0.0
    assert _row(extraction, "mnist", 100)["gain"] < _row(extraction, "animal_mnist", 100)["gain"] - 4.0


def test_the_depth_is_chosen_on_validation_and_only_it_is_tested(extraction):
    layers = extraction.layers
    assert list(layers["depth"]) == list(range(1, len(layers) + 1)) and len(layers) == 9
    chosen = layers[layers["chosen"]]
    assert len(chosen) == 1
    assert chosen.index[0] == layers["val_accuracy"].idxmax()
    assert layers["test_accuracy"].notna().sum() == 1 and not math.isnan(chosen["test_accuracy"].iloc[0])
    assert layers["weight_decay"].isin(WEIGHT_DECAY_GRID).all()
    # seen: stage6 chosen (validation .935; stem .620, top .915), test .918 on 500 images
    assert chosen["group"].iloc[0] not in (layers["group"].iloc[0], layers["group"].iloc[-1])
    assert layers["val_accuracy"].max() > layers["val_accuracy"].iloc[0] + 0.2
    assert chosen["test_accuracy"].iloc[0] > 0.88


def test_the_resolution_point_pairs_two_input_sizes_on_the_same_labels(extraction):
    runs = extraction.resolution
    assert sorted(runs["size"].unique()) == [64, 128]
    small, big = (runs[runs["size"] == s].set_index("seed") for s in (64, 128))
    assert (small["n_train"] == big["n_train"]).all() and list(small.index) == [0, 1, 2]
    # the profile's probe here is the main comparison's run at that target and budget
    eff = extraction.efficiency
    main = eff[(eff["target"] == "mnist") & (eff["per_class"] == 10) & (eff["strategy"] == "linear_probe")]
    assert np.allclose(main.set_index("seed")["accuracy"], small["accuracy"])
    row = extraction.resolution_gain.iloc[0]
    assert row["n"] == 3
    # seen: +9.3 points [+3.6, +15.0] at 128 px against 64 px (.805 against .711)
    assert row["verdict"] == "128 px ahead" and row["gain"] > 4.0
    assert "128 px ahead" in extraction.conclusion


def test_the_cached_probe_reuses_features_and_gets_the_same_accuracy(extraction):
    timing = extraction.timing.set_index("probe")
    uncached, cached = timing.iloc[0], timing.iloc[1]
    assert cached["accuracy"] == pytest.approx(uncached["accuracy"], abs=1e-9)
    assert cached["seconds"] < uncached["seconds"]


# --- the parts on their own ------------------------------------------------------------------------


def test_budget_indices_are_nested_stratified_and_split_for_validation():
    labels = np.repeat(np.arange(10), 30)
    classes = [str(c) for c in range(10)]
    train, val = fx.budget_indices(labels, classes, per_class=10, seed=3)
    assert len(train) == 80 and len(val) == 20 and not set(train) & set(val)
    assert (np.bincount(labels[val], minlength=10) == 2).all()
    bigger = fx.budget_indices(labels, classes, per_class=20, seed=3)
    assert set(np.concatenate([train, val])) <= set(np.concatenate(bigger))  # the draws are nested
    one, none = fx.budget_indices(labels, classes, per_class=1, seed=3)
    assert len(one) == 10 and none is None


def test_embeddings_pair_pixels_and_features():
    emb = fx.embeddings("animal_mnist", n=100, profile="quick", progress=False)
    assert emb["pixels"].shape == (100, 28 * 28) and emb["features"].shape == (100, 1280)
    assert len(emb["labels"]) == 100 and len(emb["classes"]) == 10


def test_the_full_profile_adds_the_cached_torchvision_backbones(monkeypatch):
    from tlworkbench.experiments.feature_extraction import efficiency

    assert fx.extra_backbones("quick") == ()
    table = pd.DataFrame({"name": ["efficientnet_lite0", "resnet18", "vit_b_16", "small_cnn"],
                          "source": ["ImageNet-1k", "ImageNet-1k", "ImageNet-1k", "none"],
                          "offline": [True, True, False, False]})
    monkeypatch.setattr(efficiency, "list_models", lambda modality=None: table)
    assert fx.extra_backbones("full") == ("resnet18",)


def test_another_backbone_is_probed_on_the_same_images():
    runs, grids = fx.data_efficiency("animal_mnist", per_class=(2,), seeds=(0,), profile="quick", n_test=100,
                                     backbones=("efficientnet_lite1",), progress=False)
    assert set(runs["strategy"]) == {"linear_probe", "linear_probe (efficientnet_lite1)", "scratch"}
    assert set(runs["model"]) == {"efficientnet_lite0", "efficientnet_lite1", "small_cnn"}
    assert (runs["n_train"] == 10).all() and (runs["n_val"] == 10).all() and runs["accuracy"].between(0, 1).all()
    assert set(grids["strategy"]) == set(runs["strategy"])


def test_scratch_steps_grow_with_the_budget_and_are_capped():
    steps = [fx.scratch_steps(b) for b in (1, 10, 50, 100, 1000)]
    assert steps == sorted(steps) and steps[-1] == steps[-2] and steps[0] >= 200
    epochs = epochs_for_steps(1000, steps=fx.scratch_steps(100), batch_size=fx.SCRATCH_BATCH)
    assert epochs * math.ceil(1000 / fx.SCRATCH_BATCH) >= fx.scratch_steps(100)
    with pytest.raises(ValueError, match="per_class"):
        fx.scratch_steps(0)
