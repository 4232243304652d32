"""Notebook 04: the effects it states, checked through the same function, in the quick profile.

The fixture calls ``run_negative_transfer`` exactly as the notebook does, with fixed seeds; each
test asserts an effect with a margin under what was seen (each says what was seen: NTG in
fractions of error, 95% paired t-intervals over 5 seeds). The fast unit tests of the helpers are
in test_negative_transfer.py.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tlworkbench.experiments import negative_transfer as nt

pytestmark = pytest.mark.slow

TWIN, SCRATCH = nt.COMPARISONS
#: The unrelated source the notebook ran: Fashion-MNIST, or animal silhouettes where Debian's
#: fashion-mnist package is absent (nt.available_sources); the margins below hold for each.
UNRELATED = nt.available_sources("quick")[-1]


@pytest.fixture(scope="module")
def negative() -> nt.NegativeTransferResult:
    return nt.run_negative_transfer(profile="quick")  # as notebooks/04_negative_transfer.py calls it


def _gap(negative: nt.NegativeTransferResult, comparison: str, source: str, budget: int, depth: int) -> pd.Series:
    return negative.gaps.set_index(["comparison", "source", "per_class", "depth"]).loc[
        (comparison, source, budget, depth)]


def test_the_grid_is_complete_and_paired_over_five_seeds(negative):
    s = nt.grid_settings("quick")
    arms = (1 + len(s["sources"])) * len(s["depths"])
    assert len(negative.runs) == arms * len(s["budgets"]) * len(s["seeds"]) and len(s["seeds"]) >= 5
    assert (negative.gaps["n"] == len(s["seeds"])).all()
    assert negative.runs["accuracy"].between(0, 1).all()
    scratch = negative.runs[negative.runs["arm"] == "scratch"].groupby("per_class")["accuracy"].mean()
    assert scratch[10] > 0.72 and scratch[30] > 0.87  # a real baseline (seen: .764 and .902)
    # every arm chose from the same grid, on seed 0
    lrs = negative.choices[negative.choices["hyper"] == "lr"]
    assert set(lrs["value"]) == set(s["lr_grid"]) and set(negative.choices["seed"]) == {s["seeds"][0]}


def test_no_source_saw_the_targets_images(negative):
    assert (negative.overlap[["in_target_train", "in_target_test"]] == 0).all().all()
    assert (negative.overlap["source_images"] > 1000).all()


def test_freezing_random_layers_costs_more_than_any_source(negative):
    # the no-source twin head only against scratch (seen: +0.162 [+0.121, +0.203], +0.193 [+0.148, +0.239])
    for budget in (10, 30):
        gap = _gap(negative, SCRATCH, nt.NO_SOURCE, budget, 3)
        assert gap["verdict"] == "negative transfer" and gap["low"] > 0.08, budget


def test_the_related_source_beats_its_twin_when_frozen(negative):
    # font_digits head only against random frozen features (seen: -0.167 [-0.211, -0.123], -0.146 [-0.194, -0.098])
    for budget in (10, 30):
        gap = _gap(negative, TWIN, "font_digits", budget, 3)
        assert gap["verdict"] == "positive transfer" and gap["high"] < -0.05, budget


def test_frozen_unrelated_features_lose_to_scratch_but_not_to_their_twin(negative):
    # fashion_mnist head only: against scratch +0.155 [+0.140, +0.170] and +0.170 [+0.156, +0.184];
    # against its twin -0.007 [-0.039, +0.025] and -0.023 [-0.060, +0.014]: the loss is the freezing.
    # animal_mnist: against scratch +0.121 [+0.073, +0.169] and +0.158 [+0.146, +0.170]; against its
    # twin -0.041 [-0.072, -0.009] and -0.035 [-0.083, +0.013]; on a second machine +0.097 [+0.048,
    # +0.147] and +0.149 [+0.133, +0.166]; twin -0.047 [-0.082, -0.013] and -0.042 [-0.098, +0.014]
    margin = {"fashion_mnist": 0.10, "animal_mnist": 0.03}[UNRELATED]
    for budget in (10, 30):
        vs_scratch = _gap(negative, SCRATCH, UNRELATED, budget, 3)
        vs_twin = _gap(negative, TWIN, UNRELATED, budget, 3)
        assert vs_scratch["verdict"] == "negative transfer" and vs_scratch["low"] > margin, budget
        assert vs_twin["verdict"] != "negative transfer" and vs_twin["ntg"] < 0.01, budget
        assert vs_scratch["ntg"] - vs_twin["ntg"] > 0.12  # the part the twin explains (seen: .16 and .19)


def test_fine_tuned_unrelated_source_is_negative_transfer_at_30_per_class(negative):
    if UNRELATED != "fashion_mnist":
        pytest.skip(f"needs fashion_mnist, the source this effect is about: {nt.source_note('quick')}")
    # fashion_mnist fine-tune all against scratch, each with its own chosen learning rate. Seen on
    # two machines (same code and seeds, other CPU kernels): at 30/class +0.033 [+0.007, +0.059] and
    # +0.027 [+0.016, +0.038], negative both times; at 10/class +0.016 [+0.007, +0.024] (negative)
    # and -0.014 [-0.042, +0.015] (inconclusive): at 10 labels a class the effect is within noise.
    large = _gap(negative, SCRATCH, "fashion_mnist", 30, 0)
    assert large["verdict"] == "negative transfer" and large["ntg"] > 0.01
    small = _gap(negative, SCRATCH, "fashion_mnist", 10, 0)
    assert small["verdict"] != "positive transfer" and small["ntg"] > -0.03


def test_fine_tuned_related_source_is_close_to_scratch(negative):
    # font_digits fine-tune all (seen: +0.009 [-0.013, +0.030] at 10/class, -0.014 [-0.025, -0.002] at 30/class)
    small, large = (_gap(negative, SCRATCH, "font_digits", b, 0) for b in (10, 30))
    assert small["verdict"] == "inconclusive" and abs(small["ntg"]) < 0.02
    assert large["verdict"] != "negative transfer" and large["ntg"] < -0.005
    # at depth 0 the twin is the scratch network: the two comparisons agree
    assert _gap(negative, TWIN, "font_digits", 10, 0)["ntg"] == small["ntg"]


def test_fine_tuned_animal_silhouettes_do_not_hurt_at_30_per_class(negative):
    if UNRELATED != "animal_mnist":
        pytest.skip("fashion_mnist is installed: the notebook's unrelated source is Fashion-MNIST")
    # animal_mnist fine-tune all against scratch at 30/class: +0.005 [-0.012, +0.023] and, on a second
    # machine, -0.009 [-0.019, +0.001]. At 10/class the two machines disagree: -0.023 [-0.044, -0.002]
    # (positive) and +0.075 [+0.050, +0.099] (negative), because the learning rate is chosen on 20
    # validation images, where one image is 5 points (0.75 against 0.70 chose 1e-3 on the second).
    gap = _gap(negative, SCRATCH, "animal_mnist", 30, 0)
    assert gap["verdict"] != "negative transfer" and gap["ntg"] < 0.015


def test_leep_before_training_orders_the_sources_by_harm(negative):
    r = negative.ranking.set_index("source")
    # mean NTG against the twin: font_digits -0.080, fashion_mnist +0.005 (animal_mnist -0.024)
    assert list(negative.ranking["source"]) == ["font_digits", UNRELATED]
    margin = {"fashion_mnist": 0.05, "animal_mnist": 0.03}[UNRELATED]
    assert r.loc[UNRELATED, "mean_ntg"] - r.loc["font_digits", "mean_ntg"] > margin
    # LEEP -1.40 against -2.21 (animal_mnist -2.12); LogME and H-score agree; the pixel distance
    # 0.99 against 1.99 (1.90)
    assert r.loc["font_digits", "leep"] - r.loc[UNRELATED, "leep"] > 0.4
    assert r.loc["font_digits", ["leep_rank", "logme_rank", "h_score_rank", "pixel_distance_rank"]].tolist() == [1] * 4


def test_conclusion_headline_and_summary(negative):
    assert "n = 5 seeds" in negative.headline
    text = negative.conclusion
    assert text.splitlines()[0] == negative.headline
    if UNRELATED == "fashion_mnist":
        assert "negative in fashion_mnist fine-tune all at 30/class: +" in text
    assert f"LEEP orders them font_digits, {UNRELATED} (the same order)" in text
    summary = negative.summary
    assert summary.shape == (5, 7)
    assert all(" n=5 " in cell for cell in summary.iloc[:, 3:].to_numpy().ravel() if cell)
