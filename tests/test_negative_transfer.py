"""The helpers of notebook 04 (negative transfer), on made-up grids in well under a second.

The effects notebook 04 states are checked in test_nb04_negative_transfer.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.data import ImageDataset
from tlworkbench.errors import DataError, InvalidParameterError
from tlworkbench.experiments import negative_transfer as nt
from tlworkbench.experiments.negative_transfer import grid as grid_module

# --- unit tests on made-up grids ---------------------------------------------------------------


def _grid() -> pd.DataFrame:
    """Scratch errs 0.20 / 0.10 at budgets 10 / 50; 'good' helps, 'bad' hurts more when frozen."""
    rows = []
    effect = {("good", 0): -0.05, ("good", 3): 0.01, ("bad", 0): 0.0, ("bad", 3): 0.15}
    for seed in (0, 1, 2):
        jitter = 0.002 * seed
        for budget, base in ((10, 0.20), (50, 0.10)):
            rows.append({"source": "scratch", "depth": -1, "frozen": "scratch", "per_class": budget, "seed": seed,
                         "error": base + jitter})
            for (source, depth), shift in effect.items():
                rows.append({"source": source, "depth": depth, "frozen": nt.depth_label(["a", "b", "c", "head"], depth),
                             "per_class": budget, "seed": seed, "error": base + jitter + shift + 0.001 * seed})
    frame = pd.DataFrame(rows)
    frame["accuracy"] = 1.0 - frame["error"]
    return frame


def _scores() -> pd.DataFrame:
    return pd.DataFrame({"source": ["good", "bad"], "relatedness": ["", ""], "leep": [-1.0, -2.3],
                         "logme": [0.1, 0.0], "h_score": [5.0, 4.0], "pixel_distance": [1.5, 0.1],
                         "source_accuracy": [0.99, 0.1]})


def test_the_grid_trains_for_a_fixed_number_of_steps(monkeypatch):
    seen = []
    monkeypatch.setattr(grid_module, "fit", lambda model, part, **kw: seen.append((len(part), kw["epochs"])))
    monkeypatch.setattr(grid_module, "evaluate", lambda model, test: type("E", (), {"accuracy": 0.5})())
    model = tlw.load_model("small_cnn", num_classes=10, weights=None)
    for n in (50, 100, 500, 2000):  # the budgets of both profiles: 5, 10, 50 and 200 per class
        part = ImageDataset(torch.zeros(n, 1, 8, 8, dtype=torch.uint8), torch.arange(n) % 10, list("0123456789"))
        out = grid_module._train_and_score(model, part, part, strategy="scratch", depth=0, lr=1e-2, batch_size=32,
                                           seed=0, prof=tlw.get_profile("quick"))
        assert out["epochs"] == seen[-1][1]
    # 240 steps of 32 examples, at least 12 epochs
    assert seen == [(50, 120), (100, 60), (500, 15), (2000, 12)]


def test_depth_labels():
    groups = ["conv1", "conv2", "conv3", "head"]
    assert [nt.depth_label(groups, d) for d in range(4)] == [
        "fine-tune all", "conv1 frozen", "conv1-conv2 frozen", "head only"]


def test_grid_settings_follow_the_profile():
    quick, full = nt.grid_settings("quick"), nt.grid_settings("full")
    assert quick["seeds"] == (0, 1, 2) and len(quick["sources"]) <= 5 and len(full["sources"]) <= 5
    assert set(quick["sources"]) <= set(full["sources"]) and len(full["depths"]) > len(quick["depths"])


def test_gaps_pair_each_arm_with_scratch_of_the_same_seed():
    g = nt.gaps(_grid()).set_index(["source", "per_class", "depth"])
    assert g.loc[("good", 10, 0), "ntg"] == pytest.approx(-0.05 + 0.001, abs=1e-9)
    assert g.loc[("bad", 50, 3), "ntg"] == pytest.approx(0.15 + 0.001, abs=1e-9)
    assert g.loc[("bad", 50, 3), "verdict"] == "negative transfer"
    assert g.loc[("good", 10, 0), "verdict"] == "positive transfer"
    assert (g["low"] <= g["ntg"]).all() and (g["ntg"] <= g["high"]).all() and (g["seeds"] == 3).all()
    assert g.loc[("bad", 10, 0), "scratch_error"] == pytest.approx(0.202)


def test_gaps_need_scratch_runs():
    grid = _grid()
    with pytest.raises(DataError, match="scratch"):
        nt.gaps(grid[grid["source"] != "scratch"])
    with pytest.raises(DataError, match="seed"):
        nt.gaps(grid[~((grid["source"] == "scratch") & (grid["seed"] == 2))])


def test_gap_table_is_one_row_per_source_and_depth():
    table = nt.gap_table(nt.gaps(_grid()))
    assert list(table.columns) == ["source", "depth", "frozen", "NTG at 10/class", "NTG at 50/class"]
    assert list(table["source"]) == ["good", "good", "bad", "bad"]
    bad_head = table[(table["source"] == "bad") & (table["depth"] == 3)]["NTG at 10/class"].item()
    assert bad_head.startswith("+0.151 [") and bad_head.endswith("*")


def test_source_ranking_puts_the_most_harmful_last():
    ranking = nt.source_ranking(nt.gaps(_grid()), _scores())
    assert list(ranking["source"]) == ["good", "bad"]
    last = ranking.iloc[-1]
    assert last["leep_rank"] == 2 and last["logme_rank"] == 2 and last["pixel_distance_rank"] == 1
    assert last["ntg_head_only"] > last["ntg_fine_tune_all"]


def test_conclusion_is_written_from_the_numbers():
    gap_frame = nt.gaps(_grid())
    text = nt.conclude(gap_frame, nt.source_ranking(gap_frame, _scores()))
    assert "head only: NTG +0.151" in text
    assert "It rises with every group frozen for good, bad." in text


def test_the_gap_panels_draw_one_panel_per_depth_on_one_scale(pyplot):
    axes = tlw.plots.plot_gap_panels(_grid(), panel="depth", hue="source", titles="frozen")
    assert len(axes) == 2 and axes[0].get_ylim() == axes[1].get_ylim()
    low = axes[0].get_ylim()[0]
    for ax in axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["good", "bad"]
        assert len(ax.lines) >= 2
        spans = [p for p in ax.patches if math.isclose(p.get_y() + p.get_height(), 0.0, abs_tol=1e-12)]
        assert spans and spans[0].get_y() == pytest.approx(low)  # the shading reaches the common bottom
    bad = axes[1].lines[1]  # head only: accuracy drops by the effect (plus the seed jitter)
    assert np.allclose(bad.get_ydata(), -0.151, atol=1e-9)
    assert [ax.get_title() for ax in axes] == ["depth 0: fine-tune all", "depth 3: head only"]
    assert axes[0].get_ylabel() == "accuracy: transfer - scratch"
    with pytest.raises(ValueError, match="one Axes per 'depth' value"):
        tlw.plots.plot_gap_panels(_grid(), panel="depth", hue="source", ax=[axes[0]])
    fig, ax = pyplot.subplots()
    panels = tlw.plots.plot_gap_panels(_grid(), panel="depth", hue="source", ax=ax)  # ax's area is divided
    assert len(panels) == 2 and all(p.figure is fig for p in panels) and not ax.axison


def test_pre_training_scores_train_a_missing_source_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TLW_DATA", str(tmp_path))  # an empty cache: the source model is trained first
    scores = nt.pre_training_scores("sklearn_digits", sources=("sklearn_digits:random",), per_class=20,
                                    profile="quick", progress=False).iloc[0]
    assert scores["source"] == "sklearn_digits:random" and scores["source_accuracy"] < 0.3
    assert abs(scores["leep"] - math.log(0.1)) < 0.1  # a head trained on shuffled labels knows nothing
    assert scores["pixel_distance"] < 0.5  # the same images


@pytest.mark.parametrize("kwargs, match", [({"depths": (0, 4)}, r"depths\[1\].*<= 3"), ({"sources": ()}, "sources"),
                                           ({"budgets": 10}, "budgets"), ({"seeds": (0, -1)}, "seeds")])
def test_transfer_grid_rejects_bad_settings(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        nt.transfer_grid("mnist", **kwargs, progress=False)


def test_run_takes_the_profile_by_keyword():
    with pytest.raises(TypeError):
        nt.run_negative_transfer("quick")


# --- the effects the notebook states (quick profile, seeds 0, 1, 2) ------------------------------
