"""The helpers of notebook 04 (negative transfer), on made-up runs in about a second.

The effects notebook 04 states are checked in test_nb04_negative_transfer.py.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.data import ImageDataset
from tlworkbench.errors import DataError, InvalidParameterError
from tlworkbench.experiments import negative_transfer as nt
from tlworkbench.experiments.negative_transfer import grid as grid_module
from tlworkbench.training import LR_GRID, WEIGHT_DECAY_GRID

GROUPS = ["conv1", "conv2", "conv3", "head"]
#: error shifts over the seed's base error: the random-layer twins pay for freezing, "good" beats
#: its twin at every depth, "bad" is worse than its twin when fine-tuned
EFFECT = {("none", 0): 0.0, ("none", 3): 0.10, ("good", 0): -0.03, ("good", 3): 0.05,
          ("bad", 0): 0.02, ("bad", 3): 0.10}
SEEDS = (0, 1, 2, 3, 4)


def _runs() -> pd.DataFrame:
    rows = []
    for seed in SEEDS:
        for budget, base in ((10, 0.20), (50, 0.10)):
            for (source, depth), shift in EFFECT.items():
                # seed noise shared by every arm of the seed, plus a little of each arm's own
                error = base + 0.01 * seed + shift + 0.002 * ((seed * 7 + len(source) + depth) % 3)
                rows.append({"source": source, "depth": depth, "frozen": nt.depth_label(GROUPS, depth),
                             "arm": "scratch" if (source, depth) == ("none", 0) else source, "per_class": budget,
                             "seed": seed, "error": error, "accuracy": 1.0 - error})
    return pd.DataFrame(rows)


def _scores() -> pd.DataFrame:
    return pd.DataFrame({"source": ["good", "bad"], "relatedness": ["", ""], "leep": [-1.0, -2.3],
                         "logme": [0.1, 0.0], "h_score": [5.0, 4.0], "pixel_distance": [1.5, 0.1],
                         "source_accuracy": [0.99, 0.1]})


def _gap(frame: pd.DataFrame, comparison: str, source: str, budget: int, depth: int) -> pd.Series:
    return frame.set_index(["comparison", "source", "per_class", "depth"]).loc[(comparison, source, budget, depth)]


def test_arms_train_for_a_fixed_number_of_steps(monkeypatch):
    seen = []
    monkeypatch.setattr(grid_module, "fit", lambda model, train, val, **kw: seen.append(
        (len(train), kw["epochs"], kw["lr"], [n for n, p in model.named_parameters() if p.requires_grad])))
    monkeypatch.setattr(grid_module, "evaluate", lambda model, data: type("E", (), {"accuracy": 0.5})())

    class Data:
        num_classes = 10

        def __init__(self) -> None:
            self.parts = {}

        def split(self, seed, budget):
            n = 10 * budget
            part = ImageDataset(torch.zeros(n, 1, 8, 8, dtype=torch.uint8), torch.arange(n) % 10, list("0123456789"))
            return tlw.data.validation_split(part, seed=seed)

    arms = grid_module._Arms(Data(), tlw.get_profile("quick"))
    for budget in (10, 50, 200):
        score, out = arms.train(nt.NO_SOURCE, 2, 0, budget, 3e-3)
        assert score == 0.5 and out["epochs"] == seen[-1][1]
    # 120 steps of 32 examples, at least 20 epochs, on the 80% of the budget left for training
    assert [(n, e) for n, e, _, _ in seen] == [(80, 40), (400, 20), (1600, 20)]
    assert seen[0][2] == 3e-3 and all(name.startswith(("backbone.stages.conv3", "head")) for name in seen[0][3])


def test_depth_labels():
    assert [nt.depth_label(GROUPS, d) for d in range(4)] == [
        "fine-tune all", "conv1 frozen", "conv1-conv2 frozen", "head only"]


def test_grid_settings_follow_the_profile():
    quick, full = nt.grid_settings("quick"), nt.grid_settings("full")
    assert len(quick["seeds"]) >= 5 and len(full["seeds"]) >= 5
    assert set(quick["sources"]) <= set(full["sources"]) and set(quick["depths"]) <= set(full["depths"])
    assert set(quick["lr_grid"]) <= set(LR_GRID) and full["lr_grid"] == LR_GRID
    assert quick["weight_decay_grid"] == WEIGHT_DECAY_GRID


def test_every_arm_chooses_on_the_first_seed_and_reuses_it(monkeypatch):
    # learning rates: every arm scores best at 3e-3 on validation; penalties: 1e-2 for sources, 1e-4 without
    class Arms:
        head_only = 3

        def __init__(self, data, prof):
            self.data = data
            self.calls = []

        def train(self, source, depth, seed, budget, lr):
            self.calls.append((source, depth, seed, budget, lr))
            return 1.0 - abs(math.log10(lr / 3e-3)), {"model": None, "epochs": 7}

        def probe(self, source, seed, budget, weight_decay):
            best = 1e-4 if source == nt.NO_SOURCE else 1e-2
            return 1.0 - abs(math.log10(weight_decay / best)), {"probe": None, "epochs": 1}

        def test_accuracy(self, source, depth, seed, out):
            return 0.9 - 0.01 * seed

    class Data:
        def split(self, seed, budget):
            return range(8 * budget), range(2 * budget)

    made = []
    monkeypatch.setattr(grid_module, "_Arms", lambda data, prof: made.append(Arms(data, prof)) or made[-1])
    monkeypatch.setattr(grid_module, "_Target", lambda target, prof: Data())
    monkeypatch.setattr(grid_module, "pretrain_source", lambda *a, **k: None)
    runs, choices = nt.transfer_grid(sources=("good",), budgets=(10,), depths=(0, 3), seeds=(4, 5, 6),
                                     profile="quick", progress=False)
    assert len(runs) == 2 * 2 * 3 and set(runs["seed"]) == {4, 5, 6}
    trained = runs[runs["depth"] == 0]
    assert (trained["hyper"] == "lr").all() and (trained["value"] == 3e-3).all()
    probes = runs[runs["depth"] == 3].set_index(["source", "seed"])["value"]
    assert (probes.loc["good"] == 1e-2).all() and (probes.loc[nt.NO_SOURCE] == 1e-4).all()
    # the grid is run on the first seed only; the other seeds train once, with the choice
    calls = made[0].calls
    assert {c[2] for c in calls if c[4] != 3e-3} == {4} and sum(c[2] == 5 for c in calls) == 2
    assert set(choices["seed"]) == {4} and choices.groupby(["source", "depth"])["chosen"].sum().eq(1).all()
    assert set(choices[choices["hyper"] == "lr"]["value"]) == set(nt.grid_settings("quick")["lr_grid"])
    assert list(runs[runs["arm"] == "scratch"]["depth"].unique()) == [0]
    assert (runs[["n_train", "n_val"]].to_numpy() == [80, 20]).all()


def test_gaps_pair_each_arm_with_its_twin_and_with_scratch():
    g = nt.gaps(_runs())
    twin, scratch = nt.COMPARISONS
    # against the twin: the source's own effect; against scratch: it plus the cost of freezing
    assert _gap(g, twin, "good", 10, 3)["ntg"] == pytest.approx(-0.05, abs=0.003)
    assert _gap(g, scratch, "good", 10, 3)["ntg"] == pytest.approx(0.05, abs=0.003)
    assert _gap(g, twin, "good", 10, 3)["verdict"] == "positive transfer"
    assert _gap(g, scratch, "good", 10, 3)["verdict"] == "negative transfer"
    assert _gap(g, twin, "bad", 50, 3)["verdict"] == "inconclusive"
    assert _gap(g, scratch, nt.NO_SOURCE, 50, 3)["ntg"] == pytest.approx(0.10, abs=0.003)
    # at depth 0 the twin is the scratch network: both comparisons agree
    for source in ("good", "bad"):
        a, b = _gap(g, twin, source, 10, 0), _gap(g, scratch, source, 10, 0)
        assert a["ntg"] == b["ntg"] and a["low"] == b["low"]
    assert _gap(g, twin, "bad", 10, 0)["verdict"] == "negative transfer"
    assert (g["n"] == 5).all() and (g["low"] <= g["ntg"] + 1e-12).all() and (g["ntg"] <= g["high"] + 1e-12).all()
    assert not ((g["comparison"] == twin) & (g["source"] == nt.NO_SOURCE)).any()


def test_gaps_use_a_t_interval_that_widens_with_disagreeing_seeds():
    runs = _runs()
    noisy = runs[(runs["source"] == "bad") & (runs["depth"] == 0) & (runs["per_class"] == 10)].index
    runs.loc[noisy, "error"] += [0.0, 0.08, -0.06, 0.05, -0.04]
    gap = _gap(nt.gaps(runs), nt.COMPARISONS[1], "bad", 10, 0)
    diffs = runs.loc[noisy, "error"].to_numpy() - runs[(runs["arm"] == "scratch") & (runs["per_class"] == 10)][
        "error"].to_numpy()
    half = 2.776 * diffs.std(ddof=1) / math.sqrt(5)  # t(0.975, 4 degrees of freedom)
    assert gap["high"] - gap["ntg"] == pytest.approx(half, rel=1e-3)
    assert gap["verdict"] == "inconclusive" and gap["low"] < 0 < gap["high"]


def test_gaps_need_baseline_runs():
    runs = _runs()
    with pytest.raises(DataError, match="none"):
        nt.gaps(runs[~((runs["source"] == nt.NO_SOURCE) & (runs["depth"] == 3))])
    with pytest.raises(DataError, match="seed"):
        nt.gaps(runs[~((runs["arm"] == "scratch") & (runs["seed"] == 2))])


def test_gap_table_prints_n_beside_every_interval():
    table = nt.gap_table(nt.gaps(_runs()))
    assert list(table.columns) == ["source", "depth", "frozen", "vs no-source twin at 10/class",
                                   "vs no-source twin at 50/class", "vs scratch at 10/class", "vs scratch at 50/class"]
    assert list(zip(table["source"], table["depth"])) == [("good", 0), ("good", 3), ("bad", 0), ("bad", 3),
                                                         ("none", 3)]
    cell = table.set_index(["source", "depth"]).loc[("good", 3), "vs scratch at 10/class"]
    assert cell.startswith("+5.0 [") and cell.endswith("] n=5 negative")
    assert table.set_index(["source", "depth"]).loc[("none", 3), "vs no-source twin at 10/class"] == ""
    cells = table.iloc[:, 3:].to_numpy().ravel()
    assert all(" n=5 " in c for c in cells if c)


def test_source_ranking_orders_by_harm_against_the_twin():
    ranking = nt.source_ranking(nt.gaps(_runs()), _scores())
    assert list(ranking["source"]) == ["good", "bad"]
    good, bad = ranking.iloc[0], ranking.iloc[1]
    assert good["mean_ntg"] == pytest.approx(-0.04, abs=0.003) and bad["mean_ntg"] == pytest.approx(0.01, abs=0.003)
    assert bad["ntg_vs_scratch"] == pytest.approx(0.06, abs=0.003)
    assert bad["leep_rank"] == 2 and bad["pixel_distance_rank"] == 1


def test_conclusion_is_written_from_the_numbers():
    g = nt.gaps(_runs())
    text = nt.conclude(g, nt.source_ranking(g, _scores()))
    first = text.splitlines()[0]
    assert first == nt.headline(g)
    assert "n = 5 seeds" in first
    assert "no-source twin (the same layers frozen, random weights), 2 negative transfer, 4 positive, " \
           "2 inconclusive of 8 settings" in first
    assert "against the tuned scratch network, 6 negative transfer, 2 positive, 0 inconclusive of 8 settings" in first
    assert "negative in bad fine-tune all at 10/class: +1.9 [" in text
    assert "6 settings are negative transfer; 4 of them freeze layers, and in 4 of those" in text
    assert "Frozen random layers alone cost head only at 10/class: +10.0 [" in text
    assert "LEEP orders them good, bad (the same order)" in text


def test_source_overlap_finds_the_targets_own_images():
    overlap = nt.source_overlap("sklearn_digits", sources=("sklearn_digits:random", "font_digits"),
                                profile="quick").set_index("source")
    own = overlap.loc["sklearn_digits:random"]
    assert own["in_target_train"] > 1000 and own["in_target_test"] > 300
    assert overlap.loc["font_digits", ["in_target_train", "in_target_test"]].tolist() == [0, 0]


def test_pre_training_scores_train_a_missing_source_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TLW_DATA", str(tmp_path))  # an empty cache: the source model is trained first
    scores = nt.pre_training_scores("sklearn_digits", sources=("sklearn_digits:random",), per_class=20,
                                    profile="quick", progress=False).iloc[0]
    assert scores["source"] == "sklearn_digits:random" and scores["source_accuracy"] < 0.3
    assert abs(scores["leep"] - math.log(0.1)) < 0.1  # a head trained on shuffled labels knows nothing
    assert scores["pixel_distance"] < 0.5  # the same images


@pytest.mark.parametrize("kwargs, match", [({"depths": (0, 4)}, r"depths\[1\].*<= 3"), ({"sources": ()}, "sources"),
                                           ({"budgets": 10}, "budgets"), ({"seeds": (0, -1)}, "seeds"),
                                           ({"budgets": (1,)}, "budgets")])
def test_transfer_grid_rejects_bad_settings(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        nt.transfer_grid("mnist", **kwargs, progress=False)


def test_run_takes_the_profile_by_keyword():
    with pytest.raises(TypeError):
        nt.run_negative_transfer("quick")


def test_source_overlap_finds_digits_redrawn_at_another_size():
    # OpenCV's digits are MNIST's redrawn at 20 px: an exact digest cannot see it, the check must
    overlap = nt.source_overlap("mnist", sources=("opencv_digits",), profile="quick").set_index("source")
    assert overlap.loc["opencv_digits", "in_target_train"] == 4000
    assert overlap.loc["opencv_digits", "in_target_test"] == 1000
