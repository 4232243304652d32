"""Notebook 06 where kana and Fashion-MNIST are absent: both halves on animal_mnist, quick profile.

The fixture calls ``run_few_shot_zero_shot`` as the notebook does when :func:`choose_targets`
falls back for both halves; each test asserts an effect with a margin that held in the run made
(each test says what was seen).
"""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench.data import shared_images
from tlworkbench.data.sampling import image_keys
from tlworkbench.experiments import few_shot as fs

pytestmark = pytest.mark.slow

FALLBACK = fs.Targets("animal_mnist", "animal_mnist", "")


@pytest.fixture(scope="module")
def result() -> fs.FewShotResult:
    return fs.run_few_shot_zero_shot(few_shot=FALLBACK.few_shot, zero_shot=FALLBACK.zero_shot, profile="quick")


def _gain(result, k, comparison):
    rows = result.gains[(result.gains["k_shot"] == k) & (result.gains["comparison"] == comparison)]
    assert len(rows) == 1, (k, comparison)
    return rows.iloc[0]


def test_choices_and_tests_use_disjoint_classes_and_images():
    data = fs.embed_animals("quick")
    assert data["shared"] == 0  # the letters source saw no silhouette
    assert set(data["val"]["classes"]) == set(fs.ANIMAL_VAL_CLASSES)
    assert not set(data["test"]["classes"]) & set(fs.ANIMAL_VAL_CLASSES) and len(data["test"]["classes"]) == 5
    both = np.concatenate([data["val"]["images"], data["test"]["images"]])
    assert len(set(image_keys(both))) == len(both)  # each silhouette once: support and queries never share one
    assert shared_images(data["val"]["images"], data["test"]["images"])["shared"] == 0
    for split in ("val", "test"):
        assert np.bincount(data[split]["labels"]).min() >= max(fs.SHOTS) + fs.N_QUERY


def test_the_protocol_every_arm_on_the_same_episodes(result):
    assert result.shared == 0 and result.few_shot_set == result.zero_shot_set == "animal_mnist"
    counts = result.runs.groupby(["k_shot", "arm"])["episode"].nunique()
    for k in fs.SHOTS:
        for arm in fs.FEATURE_ARMS:
            assert counts[(k, arm)] == fs.N_EPISODES
        for arm in fs.TRAIN_ARMS:
            assert counts[(k, arm)] == fs.N_TRAIN_EPISODES
    assert (result.choices.groupby(["k_shot", "arm"])["chosen"].sum() == 1).all()


def test_every_method_is_above_chance(result):
    # seen 1-shot .378 (pixels) to .543 (scratch), lowest interval end .362; 5-shot .524 to .808
    acc = result.accuracy
    assert (acc["low"] > 1 / fs.N_WAY + 0.1).all(), acc[["k_shot", "arm", "accuracy", "low"]]


def test_imagenet_prototypes_beat_pixels_and_the_letters_source(result):
    # seen imagenet - pixels +16.2 [+14.2, +18.2] (1 shot), +20.6 [+18.9, +22.3] (5 shots), n = 100;
    # letters - pixels +5.1 [+3.4, +6.9] and +7.8 [+6.2, +9.5]; imagenet - letters +11.0 and +12.8
    for k in fs.SHOTS:
        assert _gain(result, k, "imagenet - pixels")["verdict"] == "a better"
        assert _gain(result, k, "imagenet - pixels")["mean"] > 10
        assert _gain(result, k, "letters - pixels")["verdict"] == "a better"
        assert _gain(result, k, "imagenet - letters")["verdict"] == "a better"


def test_a_network_from_scratch_is_not_behind_the_fine_tuned_letters_cnn(result):
    # seen fine_tune - scratch -10.9 [-14.9, -6.9] (1 shot) and -4.8 [-8.0, -1.6] (5 shots), n = 20:
    # letters are a source far from silhouettes
    for k in fs.SHOTS:
        assert _gain(result, k, "fine_tune - scratch")["verdict"] != "a better"
    assert _gain(result, 1, "fine_tune - scratch")["verdict"] == "b better"


def test_zero_shot_on_silhouettes_does_not_beat_shuffled_descriptions(result):
    z, g = result.zero_shot, result.zero_shot_gains.set_index("comparison")
    assert len(z) == fs.N_SPLITS and set(result.descriptions) == set(fs.ANIMAL_DESCRIPTIONS)
    # seen unseen - shuffled -5 [-12, +2] (n = 8), shuffled .323; calibrated H - plain H +31 [+25, +38]
    assert g.loc["unseen - shuffled", "verdict"] != "a better"
    assert z["shuffled_accuracy"].mean() == pytest.approx(1 / 3, abs=0.05)
    assert z["unseen_gzsl"].max() < 0.05
    assert g.loc["calibrated H - plain H", "verdict"] == "a better"


def test_the_conclusion_quotes_the_tables_and_names_the_animals(result):
    text = result.conclusion
    for k in fs.SHOTS:
        assert _gain(result, k, "imagenet - pixels")["interval"] in text
    assert result.zero_shot_gains.set_index("comparison").loc["unseen - shuffled", "interval"] in text
    assert "animal" in text and "katakana" not in text and "Fashion" not in text
    assert result.examples["caption"].startswith("test classes:") and result.summary.shape == (len(fs.ARMS), 3)


def test_the_exercises_are_right_and_a_wrong_answer_is_told(result):
    from tlworkbench.exercises import exercise_sheet
    from tlworkbench.experiments.few_shot import exercises

    sheet = exercise_sheet(exercises.exercise_specs(FALLBACK, profile="quick"))
    for key in sheet:
        ex = sheet[key]
        right = ex.right_answer()
        assert ex.check(right).ok and not ex.check(ex.wrong).ok
    assert sheet["no_relatives"].right_answer() in ("higher", "lower")  # the split is in the table
