"""Model selection before training: candidates, rank_models and score_vs_accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tlworkbench import diagnostics, selection, zoo
from tlworkbench.data import ImageDataset, load_dataset, subsample
from tlworkbench.errors import DataError, InvalidParameterError, TLWError, UnknownModelError, UnknownNameError
from tlworkbench.features import FeatureCache, extract_features
from tlworkbench.selection import Candidate, as_candidates, rank_models, score_vs_accuracy
from tlworkbench.training import fit_probe, probe_accuracy

@pytest.fixture(scope="module")
def digits():
    return subsample(load_dataset("sklearn_digits", split="train"), per_class=8, seed=0)


@pytest.fixture(scope="module")
def digits_test():
    return load_dataset("sklearn_digits", split="test", max_size=100)


def _cands():
    return [("a", "small_cnn", None), ("b", "small_resnet", None), Candidate("c", "small_cnn", None, image_size=24)]


# ---------------------------------------------------------------------------- candidates


def test_candidates_are_accepted_in_every_documented_form():
    out = as_candidates([
        "small_cnn",
        ("fonts", "small_cnn", "tlw:font_digits"),
        ("small_resnet", None),
        {"label": "lite", "name": "efficientnet_lite0", "image_size": 48},
        Candidate("mine", "small_cnn"),
    ])
    assert [c.label for c in out] == ["small_cnn", "fonts", "small_resnet:None", "lite", "mine"]
    assert out[1].weights == "tlw:font_digits" and out[2].weights is None
    assert out[3].weights == "default" and out[3].image_size == 48


def test_an_empty_candidate_list_is_a_clear_error(digits):
    with pytest.raises(InvalidParameterError, match="'candidates' parameter of as_candidates must be a non-empty"):
        rank_models([], digits)


def test_an_unknown_model_name_fails_before_any_model_is_loaded(digits, monkeypatch):
    loaded = []
    monkeypatch.setattr(selection, "load_model", lambda *a, **k: loaded.append(a))
    with pytest.raises(UnknownModelError, match="Did you mean 'small_cnn'") as info:
        rank_models([("a", "small_cnn", None), ("b", "small_cnm", None)], digits)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TLWError)
    assert loaded == []


def test_duplicate_labels_and_odd_shapes_are_rejected():
    with pytest.raises(InvalidParameterError, match="Candidates 0 and 1 share the label 'a'"):
        as_candidates([("a", "small_cnn", None), ("a", "small_resnet", None)])
    with pytest.raises(TypeError, match=r"'candidates\[0\]' parameter of as_candidates must be a Candidate.*Got 42"):
        as_candidates([42])
    with pytest.raises(TypeError, match="no 'name' key"):
        as_candidates([{"label": "x"}])
    with pytest.raises(TypeError, match=r"Unknown keys \['weight'\]"):
        as_candidates([{"name": "small_cnn", "weight": None}])
    with pytest.raises(TypeError, match="Wrap a single candidate in a list"):
        as_candidates(("a", "small_cnn", None))
    with pytest.raises(ValueError, match=r"'candidates\[0\].image_size' parameter .* must be an int >= 1\. Got 0"):
        as_candidates([Candidate("a", "small_cnn", image_size=0)])


def test_imagenet_models_run_at_the_profile_size_small_models_at_their_own():
    assert selection.candidate_image_size("efficientnet_lite2", profile="quick") == 64
    assert selection.candidate_image_size("efficientnet_lite2", profile="full") == 128
    assert selection.candidate_image_size("small_cnn", profile="full") == 32


# ---------------------------------------------------------------------------- rank_models


def test_rank_models_scores_every_candidate_in_one_sorted_table(digits):
    table = rank_models(_cands(), digits, progress=False, cache=False, sort_by="leep")
    assert list(table["rank"]) == [1, 2, 3]
    assert sorted(table["label"]) == ["a", "b", "c"]
    assert table["leep"].is_monotonic_decreasing
    for s in selection.SCORES:
        assert np.isfinite(table[s]).all()
        assert (table[f"{s}_seconds"] >= 0).all()
    parts = table[["features_seconds", *[f"{s}_seconds" for s in selection.SCORES]]].sum(axis=1)
    assert np.allclose(table["score_seconds"], parts)
    assert (table["n"] == len(digits)).all()
    assert table.set_index("label").loc["c", "image_size"] == 24
    assert table.set_index("label").loc["b", "feature_dim"] == zoo.load_model("small_resnet").feature_dim
    assert table.attrs["sort_by"] == "leep"


def test_features_are_extracted_once_per_candidate_and_then_served_from_the_cache(digits):
    cache = FeatureCache()
    first = rank_models(_cands(), digits, progress=False, cache=cache)
    assert cache.misses == 3 and len(cache) == 3 and not first["features_cached"].any()
    again = rank_models(_cands(), digits, progress=False, cache=cache)
    assert cache.misses == 3 and again["features_cached"].all()
    cols = list(selection.SCORES)
    pd.testing.assert_frame_equal(first.set_index("label")[cols], again.set_index("label")[cols])


def test_leep_and_nce_use_the_candidates_own_source_head(digits):
    table = rank_models([("a", "small_cnn", None)], digits, progress=False, cache=False, seed=3)
    model = zoo.load_model("small_cnn", weights=None, seed=3)
    f, y = extract_features(model, digits.with_transform(model), cache=False, progress=False)
    with torch.no_grad():
        probs = torch.softmax(model.head(f), dim=1).double().numpy()
    row = table.iloc[0]
    assert row["source_classes"] == model.num_classes
    assert row["leep"] == pytest.approx(diagnostics.leep(probs, y.numpy()), abs=1e-6)
    assert row["nce"] == pytest.approx(diagnostics.nce(probs.argmax(1), y.numpy()), abs=1e-9)
    assert row["logme"] == pytest.approx(diagnostics.logme(f.double().numpy(), y.numpy()), rel=1e-6)


def test_a_source_model_keeps_its_source_classes(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("TLW_DATA", str(tmp_path))
    table = rank_models([("digits", "small_cnn", "tlw:sklearn_digits"), ("random", "small_cnn", None)], digits,
                        progress=False, cache=False)
    row = table.set_index("label").loc["digits"]
    assert row["weights"] == "tlw:sklearn_digits" and row["source_classes"] == 10
    # a head trained on the same digits predicts the target labels far better than a random head
    assert table.iloc[0]["label"] == "digits"
    assert row["leep"] > table.set_index("label").loc["random", "leep"] + 0.5


def test_a_subset_of_scores_and_a_held_out_probe(digits, digits_test):
    table = rank_models(_cands()[:2], digits, scores=["logme"], target_test=digits_test, progress=False,
                        sort_by="probe_accuracy")
    assert "leep" not in table and "h_score" not in table and "logme" in table
    assert table["probe_accuracy"].between(0, 1).all() and table["probe_accuracy"].is_monotonic_decreasing
    assert (table["probe_seconds"] > 0).all()
    # the probe column is the workbench's one probe, trained on the candidate's features
    model = selection.load_candidate(_cands()[0])
    (xtr, ytr), (xte, yte) = (extract_features(model, d.with_transform(model), cache=False, progress=False)
                              for d in (digits, digits_test))
    expected = probe_accuracy(fit_probe(xtr, ytr), xte, yte)
    assert table.set_index("label").loc["a", "probe_accuracy"] == pytest.approx(expected)


def test_bad_scores_and_sort_keys_are_clear_errors(digits):
    with pytest.raises(UnknownNameError, match="Did you mean 'logme'"):
        rank_models(_cands(), digits, scores=["logm"])
    with pytest.raises(InvalidParameterError, match="'scores' parameter of rank_models must be a non-empty"):
        rank_models(_cands(), digits, scores=[])
    with pytest.raises(ValueError, match="'sort_by'.*'leep'"):
        rank_models(_cands(), digits, scores=["logme"], sort_by="leep")
    with pytest.raises(ValueError, match="'sort_by'"):
        rank_models(_cands(), digits, sort_by="probe_accuracy")  # no target_test, no probe
    with pytest.raises(TypeError, match="'cache'"):
        rank_models(_cands(), digits, cache="yes")


def test_bad_data_is_reported_by_the_checks_below(digits):
    with pytest.raises(DataError, match="None"):
        rank_models(_cands(), None)
    with pytest.raises(DataError, match="empty"):
        rank_models(_cands(), digits.subset([]))
    one_class = digits.subset(np.flatnonzero(digits.targets.numpy() == 0))
    with pytest.raises(DataError, match="at least 2 classes"):
        rank_models(_cands(), one_class, progress=False)
    with pytest.raises(DataError, match="get_batch"):
        rank_models(_cands(), [(torch.zeros(1, 8, 8), 0)], progress=False)


def test_images_of_any_channel_count_are_read_through_each_candidate(digits):
    rgb = ImageDataset(digits.images.expand(-1, 3, -1, -1).contiguous(), digits.targets, digits.classes,
                       name="rgb digits")
    table = rank_models([("a", "small_cnn", None)], rgb, scores=["logme"], progress=False, cache=False)
    assert np.isfinite(table["logme"]).all()


# ---------------------------------------------------------------------------- score_vs_accuracy


def _frame():
    return pd.DataFrame({"label": ["a", "b", "c", "d"], "logme": [0.1, 0.4, 0.3, 0.9],
                         "leep": [-1.0, -3.0, -2.0, -4.0], "note": ["x"] * 4})


def test_score_vs_accuracy_reports_tau_r_and_the_pick():
    acc = {"a": 0.5, "b": 0.7, "c": 0.6, "d": 0.9}
    out = score_vs_accuracy(_frame(), acc).set_index("score")
    assert list(out.index) == ["logme", "leep"]
    assert out.loc["logme", "kendall_tau"] == pytest.approx(1.0)
    assert out.loc["leep", "kendall_tau"] == pytest.approx(-1.0)
    assert out.loc["logme", "picked"] == "d" and out.loc["logme", "regret"] == pytest.approx(0.0)
    assert out.loc["leep", "picked"] == "a" and out.loc["leep", "regret"] == pytest.approx(0.4)
    r = np.corrcoef([0.1, 0.4, 0.3, 0.9], [0.5, 0.7, 0.6, 0.9])[0, 1]
    assert out.loc["logme", "pearson_r"] == pytest.approx(r)


def test_score_vs_accuracy_takes_a_series_or_a_frame_and_a_score_subset():
    acc = pd.Series({"a": 0.5, "b": 0.7, "c": 0.6, "d": 0.9})
    a = score_vs_accuracy(_frame(), acc, scores=["logme"])
    b = score_vs_accuracy(_frame(), acc.rename("accuracy").rename_axis("label").reset_index())
    assert list(a["score"]) == ["logme"]
    assert a.iloc[0]["kendall_tau"] == b.set_index("score").loc["logme", "kendall_tau"]


def test_score_vs_accuracy_errors_name_the_problem():
    acc = {"a": 0.5, "b": 0.7, "c": 0.6, "d": 0.9}
    with pytest.raises(DataError, match=r"missing \['d'\]"):
        score_vs_accuracy(_frame(), {"a": 0.5, "b": 0.7, "c": 0.6})
    with pytest.raises(DataError, match=r"unknown \['e'\]"):
        score_vs_accuracy(_frame(), {**acc, "e": 0.1})
    with pytest.raises(DataError, match="Did you mean 'logme'"):
        score_vs_accuracy(_frame(), acc, scores=["logm"])
    with pytest.raises(DataError, match="no score column"):
        score_vs_accuracy(_frame()[["label", "note"]], acc)
    with pytest.raises(DataError, match="at least 3 rows"):
        score_vs_accuracy(_frame().iloc[:2], {"a": 0.5, "b": 0.7})
    with pytest.raises(InvalidParameterError, match="'scores_frame'.*DataFrame from rank_models"):
        score_vs_accuracy([1, 2, 3], acc)
    with pytest.raises(InvalidParameterError, match="'accuracies'.*map each candidate"):
        score_vs_accuracy(_frame(), [0.5, 0.7, 0.6, 0.9])


# ---------------------------------------------------------------- notebook 05's checks and statistics


def test_kendall_tau_b_matches_scipy_with_ties_and_broadcasts():
    from scipy.stats import kendalltau

    from tlworkbench.experiments.model_selection import kendall_tau_b

    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 4, 7).astype(float), rng.normal(size=7)
        assert kendall_tau_b(x, y) == pytest.approx(kendalltau(x, y).statistic)
    xs = np.stack([np.arange(5.0), -np.arange(5.0), np.ones(5)])
    out = kendall_tau_b(xs, np.arange(5.0))
    assert out[0] == pytest.approx(1.0) and out[1] == pytest.approx(-1.0) and np.isnan(out[2])


def test_ranking_table_compares_each_score_with_the_heuristic_on_the_same_resamples():
    from tlworkbench.experiments.model_selection import ranking_table

    n = 12
    acc = np.linspace(0.5, 0.95, n)
    table = pd.DataFrame({"label": [f"m{i}" for i in range(n)], "accuracy": acc,
                          "good": acc + 0.01 * np.sin(np.arange(n)),  # orders nearly every pair right
                          "params": np.tile([1.0, 2.0], n // 2)})     # knows nothing of the target
    out = ranking_table(table, ["good"], "params", n_resamples=2000).set_index("score")
    good, heur = out.loc["good"], out.loc["params"]
    assert good["tau_low"] <= good["kendall_tau"] <= good["tau_high"]
    assert good["kendall_tau"] > 0.9 and abs(heur["kendall_tau"]) < 0.3
    assert good["verdict"] == "beats the heuristic" and good["diff_low"] > 0
    assert good["picked"] == "m11" and good["regret"] == pytest.approx(0.0)
    # a score no better than the heuristic is not called better
    table["noise"] = np.random.default_rng(1).permutation(acc)
    out = ranking_table(table, ["noise"], "params", n_resamples=2000).set_index("score")
    assert out.loc["noise", "verdict"] in ("inconclusive", "worse than the heuristic")
    assert out.loc["noise", "n"] == n


def test_shared_images_finds_exact_and_resized_copies_and_nothing_else():
    from PIL import Image, ImageFilter

    from tlworkbench.experiments.model_selection import shared_images

    rng = np.random.default_rng(0)
    target = rng.integers(0, 256, size=(50, 28, 28)).astype(np.uint8)
    target = np.stack([np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(1)))
                       for a in target])
    exact = shared_images(target[:5], target)
    assert (exact["exact"], exact["resized"], exact["shared"]) == (5, 0, 5)
    # redrawn at 20 px with another filter than the one the check uses: no digest matches, the RMS does
    small = np.stack([np.asarray(Image.fromarray(a).resize((20, 20), Image.LANCZOS)) for a in target[:7]])
    found = shared_images(small, target)
    assert found["size"] == 20 and found["shared"] == 7 and found["exact"] < 7
    other = rng.integers(0, 256, size=(6, 20, 20)).astype(np.uint8)
    assert shared_images(other, target)["shared"] == 0
