"""Notebook 03: the effects it states, checked through the same function, in the quick profile.

The fixture calls ``run_domain_mismatch`` with the notebook's arguments, so the numbers asserted
are those the notebook prints (three seeds, paired on seed, 95% t-intervals). Each test says what
was seen; its margin leaves room for another machine's arithmetic, not for a different lesson.
The fast unit tests of the experiment helpers live in test_domain_mismatch.py.
"""

from __future__ import annotations

import pytest

from tlworkbench.experiments import domain_mismatch as dm
from tlworkbench.training import LR_GRID

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result():
    # as notebooks/03_domain_mismatch.py calls it
    return dm.run_domain_mismatch(profile="quick", seed=0, targets=dm.targets_for())


def _row(result, comparison, pair, per_class=None):
    table = result.comparisons
    rows = table[(table["comparison"] == comparison) & (table["pair"] == pair)]
    if per_class is not None:
        rows = rows[rows["per_class"] == per_class]
    assert len(rows) == 1, (comparison, pair, per_class)
    return rows.iloc[0]


def test_accuracy_drop_is_ranked_by_the_measured_shift(result):
    # Seen: Spearman 1.00 / Kendall 1.00 (exact p 0.003, 6 targets) for the font model, 0.86 / 0.71
    # (exact p 0.024 / 0.030, 7 targets) for the MNIST model; drops 7.6 to 92.3 points, each
    # within ±4.3 points over the test images drawn.
    # (opencv_digits is one of those targets where its Debian package is installed)
    corr = result.correlation.set_index(["source", "measure"])
    for source, targets in dm.targets_for().items():
        row = corr.loc[(source, "mmd2")]
        assert row["n_targets"] == len(targets)
        assert row["spearman_rho"] >= 0.7 and row["kendall_tau"] >= 0.55, (source, row.to_dict())
        if len(targets) == len(dm.TARGETS[source]):
            # without opencv_digits (5 and 6 targets) seen: Spearman 0.90 / 0.94, exact p 0.083 / 0.017
            assert row["kendall_p"] <= 0.05 and row["spearman_p"] <= 0.05, (source, row.to_dict())
    assert (result.shift["mmd_p_value"] <= 0.01).all()
    assert (result.shift["drop_low"] > 0.03).all()  # every target costs accuracy, beyond test-set noise
    assert (result.shift["drop_high"] - result.shift["drop_low"] < 0.1).all()


def test_the_ranking_holds_on_another_draw():
    # Another draw of shifts and samples. Seen over seeds 0-2 (before the table gained its
    # intervals): Spearman 0.94-1.00 (font model) and 0.79-0.86 (MNIST model).
    corr = dm.shift_correlation(dm.shift_table(profile="quick", seed=1, progress=False))
    corr = corr.set_index(["source", "measure"])
    for source in dm.SOURCES:
        assert corr.loc[(source, "mmd2"), "spearman_rho"] >= 0.6, corr.loc[(source, "mmd2")].to_dict()


def test_no_source_trained_on_a_target_test_image(result):
    # Seen: none, exact or redrawn. OpenCV's digits are MNIST's redrawn, but both sets are split
    # alike, so the originals of OpenCV's test digits are in MNIST's test split (test_datasets.py).
    overlap = result.overlap
    targets = dm.targets_for()
    pairs = {(s, t) for s, ts in targets.items() for t in ts} | {(s, t) for s, t in dm.REMEDY_PAIRS}
    assert len(overlap) == len(pairs)  # 13 with opencv_digits installed
    assert (overlap["exact_copies"] == 0).all() and (overlap["redrawn_copies"] == 0).all()
    if "opencv_digits" in targets["mnist"]:
        assert overlap.set_index(["source", "target"]).loc[("mnist", "opencv_digits"), "nearest_rms"] > 20


def test_adabn_undoes_blur_but_not_inversion(result):
    # Seen: +49.5 points [+49.1, +49.9] on blur; −0.1 [−0.8, +0.5] on inversion (n = 3).
    blur = _row(result, "AdaBN vs source model", "mnist → mnist+blur0.5")
    assert blur["verdict"] == "AdaBN better" and blur["low"] >= 30.0, blur.to_dict()
    invert = _row(result, "AdaBN vs source model", "mnist → mnist+invert1")
    assert invert["verdict"] != "AdaBN better" and abs(invert["gain (points)"]) < 3.0, invert.to_dict()


def test_the_coral_term_adds_nothing_measurable(result):
    # Seen: +1.9 [−0.3, +4.2], −2.4 [−6.5, +1.7], +0.0 [−0.1, +0.2] points over the same training
    # without the term (n = 3); what Deep CORAL gains on blur comes from BatchNorm seeing target
    # batches (+29.5 [+26.0, +33.1] with the term switched off).
    for pair in ("font_digits → mnist", "mnist → mnist+blur0.5", "mnist → mnist+invert1"):
        row = _row(result, "Deep CORAL vs CORAL weight 0", pair)
        assert row["verdict"] != "Deep CORAL better" and abs(row["gain (points)"]) < 6.0, row.to_dict()
    control = _row(result, "target batches (CORAL weight 0) vs source model", "mnist → mnist+blur0.5")
    assert control["gain (points)"] >= 10.0, control.to_dict()


def test_a_few_labels_beat_every_unsupervised_remedy(result):
    # Seen: +28.3 [+26.0, +30.5] (font → mnist, over AdaBN), +3.3 [+1.6, +5.0] (blur, over AdaBN),
    # +62.0 [+56.7, +67.3] (inversion, over Deep CORAL) points, n = 3.
    table = result.comparisons
    best = table[table["comparison"].str.startswith("fine-tune vs best unsupervised")]
    assert len(best) == 3
    assert (best["verdict"] == "fine-tune better").all(), best[["pair", "text"]].to_dict("records")


def test_the_mismatched_source_beats_scratch_where_its_features_fit(result):
    # Both arms tuned on the same grid. Seen (n = 3): font → mnist +24.7 [+3.7, +45.7] at 3 per
    # class, +8.5 [+5.9, +11.1] at 10, +8.7 [+3.0, +14.4] at 30; blur +7.0 [+4.8, +9.2].
    for pair, per_class, margin in (("font_digits → mnist", 10, 2.0), ("font_digits → mnist", 30, 1.0),
                                    ("font_digits → mnist", 3, 0.0), ("mnist → mnist+blur0.5", 10, 2.0)):
        row = _row(result, "fine-tune vs scratch", pair, per_class)
        assert row["verdict"] == "fine-tune better" and row["low"] > margin, (pair, per_class, row.to_dict())


def test_inverted_digits_show_no_negative_transfer_once_both_arms_are_tuned(result):
    # Seen (n = 3), both arms at the rate each chose (1e-2): +0.7 [−11.2, +12.5], inconclusive, on
    # one machine; +3.1 [+1.2, +5.0], fine-tune better, on another (same code and seeds, other CPU
    # kernels): the effect is small against seed noise, and what holds on both is "not worse".
    row = _row(result, "fine-tune vs scratch", "mnist → mnist+invert1", 10)
    assert row["verdict"] != "scratch better" and row["gain (points)"] > -4.0, row.to_dict()
    assert "negative transfer" not in result.conclusion


def test_a_learning_rate_held_fixed_decides_the_inverted_pair(result):
    # Fine-tuning held at lr 1e-3 (not chosen) against scratch at its chosen rate, same seeds and
    # labels: the comparison that makes the source look like a worse start. Seen on two machines:
    # −10.4 points [−15.3, −5.5] and −8.9 [−13.1, −4.7] (n = 3), against inconclusive and fine-tune
    # better with the chosen rate.
    held = _row(result, f"fine-tune, lr {dm.FIXED_LR:g} vs scratch", "mnist → mnist+invert1", 10)
    assert held["verdict"] == "scratch better" and held["high"] < -2.0, held.to_dict()
    chosen = _row(result, "fine-tune vs scratch", "mnist → mnist+invert1", 10)["verdict"]
    assert chosen != "scratch better"
    line = next(x for x in result.conclusion.splitlines() if x.startswith("The learning rate alone changes the verdict on"))
    assert f"mnist → mnist+invert1 ({chosen} with the chosen rate, scratch better at lr" in line


def test_scratch_had_saturated(result):
    # Seen: twice the steps −0.3 points [−2.1, +1.4] (n = 3).
    row = _row(result, "scratch, 2x steps vs scratch", "font_digits → mnist", 10)
    assert row["verdict"] != "scratch, 2x steps better" and row["gain (points)"] < 2.0, row.to_dict()


def test_both_arms_choose_from_the_same_grid_on_validation(result):
    choices = result.choices
    for _, part in choices.groupby(["source", "target", "per_class", "strategy"]):
        assert sorted(part["lr"]) == sorted(LR_GRID) and part["chosen"].sum() == 1
        assert (part["seed"] == 0).all()
    labels = result.labels
    assert ((labels["n_train"] + labels["n_val"]) == 10 * labels["per_class"]).all()
    assert (labels["n_val"] >= 10).all()  # at least one validation image per class
    lr = labels.set_index(["source", "target", "per_class", "strategy", "seed"])["lr"]
    chosen = choices[choices["chosen"]].set_index(["source", "target", "per_class", "strategy"])["lr"]
    for key, value in lr.items():
        assert value == chosen[key[:4]], key  # every seed reuses the first seed's choice


def test_the_conclusion_is_written_from_the_comparisons(result):
    text = result.conclusion
    for row in result.comparisons.itertuples():
        if row.comparison in ("fine-tune vs scratch", "Deep CORAL vs CORAL weight 0"):
            assert row.text in text, row.comparison
    for targets in dm.targets_for().values():  # 6 and 7 with opencv_digits installed, 5 and 6 without
        assert f"n = {len(targets)} targets" in text
    assert result.summary["seeds"].eq(3).all()
