"""Notebook 05: the effects it states, checked through the same functions, in the quick profile.

The fixture calls ``run_model_selection`` with the notebook's arguments; each test asserts an
effect with a margin that held across the runs made (each test says what was seen). The fast
unit tests of the leakage check and the ranking statistics are in test_selection.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench.experiments import model_selection as ms

pytestmark = pytest.mark.slow


#: Every candidate of the quick profile is there (without Debian's fashion-mnist and opencv-doc,
#: 05 runs on the 4 candidates left: font digits, animals, Lite0, random init).
FULL = not ms.missing_candidates(ms.CANDIDATES)


@pytest.fixture(scope="module")
def selection():
    return ms.run_model_selection(profile="quick", target="mnist", per_class=50, seed=0, progress=False)


# --- leakage ------------------------------------------------------------------------------------


def test_opencv_digits_are_the_mnist_target_redrawn_and_are_detected():
    if "CNN · OpenCV digits" in ms.missing_candidates(ms.CANDIDATES):
        pytest.skip(f"needs opencv_digits, the set this check is about: {ms.candidates_note('quick')}")
    from tlworkbench.data import load_dataset
    from tlworkbench.experiments.model_selection.leakage import grey_images

    _, opencv = ms.pretraining_images(ms.CANDIDATES[3], profile="quick")
    mnist = np.concatenate([grey_images(load_dataset("mnist", split=s, profile="quick")) for s in ("train", "test")])
    found = ms.shared_images(opencv, mnist)
    # seen: all 5,000 OpenCV digits are resized MNIST digits of the target (none byte-identical)
    assert found["size"] == 20 and found["exact"] == 0
    assert found["shared"] >= 0.99 * len(opencv)
    # the same check on rendered font digits finds nothing (seen: 0; nearest RMS at least 22)
    _, fonts = ms.pretraining_images(ms.CANDIDATES[4], profile="quick")
    assert ms.shared_images(fonts[:1000], mnist)["shared"] == 0


def test_candidates_that_saw_the_target_are_excluded_and_the_others_kept(selection):
    leak = selection.leakage.set_index("label")
    if FULL:
        assert leak.loc["CNN · OpenCV digits", "excluded"] and leak.loc["CNN · OpenCV digits", "resized"] >= 4950
    assert leak.loc["CNN · MNIST, shuffled labels", "excluded"]
    assert leak.loc["CNN · MNIST, shuffled labels", "exact"] == 5000  # the target's own 5,000 images
    kept = set(selection.table["label"])
    assert not {"CNN · OpenCV digits", "CNN · MNIST, shuffled labels"} & kept
    assert kept == set(leak.index[~leak["excluded"]])
    assert len(kept) == (6 if FULL else 4)
    # ImageNet's images are not on disk: reported as unchecked, never as clean
    assert not leak.loc["Lite0 · ImageNet", "checked"]


# --- ground truth -------------------------------------------------------------------------------


def test_every_arm_chose_its_learning_rate_from_the_same_grid_on_validation(selection):
    plan = selection.plan
    assert (selection.n_train, selection.n_val, selection.n_test) == (400, 100, 1000)
    runs = selection.runs
    for label, part in runs.groupby("label"):
        assert tuple(part["lr"]) == plan.lrs, label
        assert part["chosen"].sum() == 1
        assert part.loc[part["chosen"], "val_score"].item() == part["val_score"].max()
    labels = set(runs["label"])
    assert labels == set(selection.table["label"]) | {ms.SCRATCH.label}
    t = selection.table
    assert t["lr"].isin(plan.lrs).all() and selection.scratch["lr"] in plan.lrs
    assert ((t["best_epoch"] >= 0) & (t["best_epoch"] <= t["epochs"])).all()


# --- transfer against scratch -------------------------------------------------------------------


def test_no_candidate_beats_tuned_scratch_the_related_source_comes_closest(selection):
    vs = selection.vs_scratch.set_index("label")
    assert (vs["n"] == selection.n_test).all()
    # seen on two machines (same code and seeds, other CPU kernels): font digits .921 against
    # scratch .925, -0.4 points [-2.0, +1.2], and .932 against .928, +0.4 [-1.0, +1.8], over 1,000
    # test images (inconclusive both times); Fashion-MNIST below scratch once, inconclusive once
    fonts = vs.loc["CNN · font digits"]
    assert fonts["verdict"] == "inconclusive" and fonts["mean"] > -2.0
    assert vs["verdict"].isin(["b better", "inconclusive"]).all()
    assert (vs.loc[["Lite0 · ImageNet", "CNN · random init"], "verdict"] == "b better").all()
    assert selection.table.iloc[0]["label"] == "CNN · font digits"
    assert "no candidate beats it" in selection.conclusion
    # seen: Lite0 (ImageNet, 64 px) .886, -3.8 points [-6.0, -1.6] below scratch
    lite = vs.loc["Lite0 · ImageNet"]
    assert lite["verdict"] == "b better" and lite["high"] < 0
    # scratch is a real reference, not a straw man (seen .924 after choosing lr 1e-2 on validation)
    assert selection.scratch["accuracy"] > 0.88
    assert selection.scratch["best_epoch"] >= 5


# --- scores against the ground truth and the heuristic ------------------------------------------


def test_taus_come_with_wide_intervals_and_leep_beats_the_size_heuristic(selection):
    r = selection.ranking.set_index("score")
    assert (r["n"] == len(selection.table)).all() and len(selection.table) == (6 if FULL else 4)
    assert ((r["tau_low"] <= r["kendall_tau"]) & (r["kendall_tau"] <= r["tau_high"])).all()
    # six candidates cannot pin a tau down: every interval spans more than half the scale (seen >= 1.08)
    assert ((r["tau_high"] - r["tau_low"]) > 0.5).all()
    # seen on two machines: LEEP +0.60 [-0.23, +1.00] and +0.47 [-0.64, +1.00], parameter count
    # -0.12 [-0.85, +0.45] and -0.35 [-0.90, +0.13]; difference +0.72 [+0.04, +1.22] and +0.81
    # [+0.11, +1.31] (the lower ends are thin); with 4 candidates +0.67 against -0.24, inconclusive
    assert r.loc["leep", "kendall_tau"] > 0.4 and r.loc[ms.HEURISTIC, "kendall_tau"] < 0
    if FULL:
        assert r.loc["leep", "verdict"] == "beats the heuristic" and r.loc["leep", "diff_low"] > 0
    assert r.loc["leep", "regret"] == 0.0
    # the heuristic picks the largest model, which is not the best (seen regret .028 and .059)
    assert r.loc[ms.HEURISTIC, "picked"] == "Lite0 · ImageNet" and r.loc[ms.HEURISTIC, "regret"] > 0.015


def test_scoring_is_much_cheaper_than_the_tuned_fine_tunes(selection):
    assert not selection.scores["features_cached"].any()
    # seen: 7 CPU s against 180 CPU s (24x); 10 against 178 (18x); 9x in a run whose scoring shared
    # the cores: CPU seconds count idle threads' spinning too, so the ratio moves with the load
    assert selection.speedup > 5.0


def test_the_conclusion_quotes_the_computed_numbers(selection):
    text = selection.conclusion
    r = selection.ranking.set_index("score")
    assert "Excluded for leakage" in text and ("CNN · OpenCV digits" in text) == FULL
    assert f"{selection.scratch['accuracy']:.3f}" in text
    assert f"{r.loc['leep', 'kendall_tau']:+.2f}" in text
    assert f"n = {len(selection.table)} candidates" in text and f"n = {selection.n_test}" in text
    better = int((selection.vs_scratch["verdict"] == "a better").sum())
    assert better == 0 and "no candidate beats it" in text  # seen: 0 of 6 (and of 4)


def test_the_plot_has_one_point_per_candidate_and_score(selection, pyplot):
    axes = ms.plot_score_vs_accuracy(selection)
    names = [*selection.score_columns, ms.HEURISTIC]
    assert len(axes) == len(names)
    for ax, score in zip(axes, names):
        xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        assert np.allclose(np.sort(xs), np.sort(selection.table[score].to_numpy(dtype=float)))
        assert "τ" in ax.get_title()
        assert ax.get_lines()[0].get_ydata()[0] == selection.scratch["accuracy"]
