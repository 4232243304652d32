"""Notebook 06 on kana and Fashion-MNIST: the effects it states, checked through the same functions,
in the quick profile.

The fixture calls ``run_few_shot_zero_shot`` with the notebook's arguments where both sets are
installed (tests/test_nb06_fallback.py covers the animal_mnist fallback); each test asserts an
effect with a margin that held in the run made (each test says what was seen).
"""

from __future__ import annotations

import pytest

from tlworkbench.errors import MissingAssetError
from tlworkbench.experiments import few_shot as fs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result() -> fs.FewShotResult:
    targets = fs.choose_targets()
    if (targets.few_shot, targets.zero_shot) != ("kana", "fashion_mnist"):
        pytest.skip(targets.reason)
    try:  # as notebooks/06_few_shot_zero_shot.py calls it
        return fs.run_few_shot_zero_shot(few_shot=targets.few_shot, zero_shot=targets.zero_shot, profile="quick")
    except MissingAssetError as err:
        pytest.skip(str(err))


def _gain(result, k, comparison):
    rows = result.gains[(result.gains["k_shot"] == k) & (result.gains["comparison"] == comparison)]
    assert len(rows) == 1, (k, comparison)
    return rows.iloc[0]


def test_the_protocol_same_episodes_choices_on_hiragana_no_shared_images(result):
    assert result.shared == 0
    runs = result.runs
    counts = runs.groupby(["k_shot", "arm"])["episode"].nunique()
    for k in fs.SHOTS:
        for arm in fs.FEATURE_ARMS:
            assert counts[(k, arm)] == fs.N_EPISODES
        for arm in fs.TRAIN_ARMS:
            assert counts[(k, arm)] == fs.N_TRAIN_EPISODES
    c = result.choices
    # one choice per method and shot count, made on validation episodes
    assert (c.groupby(["k_shot", "arm"])["chosen"].sum() == 1).all()
    assert set(c.loc[c["arm"] == "fine_tune", "lr"]) == set(fs.LR_CHOICES["fine_tune"])
    assert (result.gains["n"].isin([fs.N_EPISODES, fs.N_TRAIN_EPISODES])).all()


def test_every_method_is_above_chance(result):
    # seen 1-shot: .60 (scratch) to .80 (probe); 5-shot .83 to .95; chance .2
    acc = result.accuracy
    assert (acc["low"] > 1 / fs.N_WAY + 0.25).all(), acc[["k_shot", "arm", "accuracy", "low"]]
    assert (acc["above chance"].str.endswith("better")).all()


def test_cosine_prototypes_are_chosen_for_every_representation(result):
    c = result.choices
    chosen = c[c["chosen"] & c["arm"].isin(["pixels", "imagenet", "letters"])]
    assert (chosen["setting"] == "cosine").all()  # seen: cosine ahead by 2 to 10 points on hiragana


def test_imagenet_prototypes_beat_pixels_most_at_one_shot(result):
    # seen +17.8 [+15.2, +20.5] at 1 shot, +8.7 [+6.5, +10.8] at 5 shots (n = 100)
    one, five = _gain(result, 1, "imagenet - pixels"), _gain(result, 5, "imagenet - pixels")
    assert one["verdict"] == five["verdict"] == "a better"
    assert one["mean"] > 12 and five["mean"] > 4 and one["mean"] > five["mean"] + 4


def test_the_letters_source_helps_less_than_imagenet(result):
    # seen letters - pixels +11.0 (1 shot), +2.7 (5 shots); imagenet - letters +6.8, +6.0
    for k in fs.SHOTS:
        assert _gain(result, k, "letters - pixels")["verdict"] == "a better"
        assert _gain(result, k, "imagenet - letters")["verdict"] == "a better"
    assert _gain(result, 1, "letters - pixels")["mean"] > _gain(result, 5, "letters - pixels")["mean"]


def test_networks_trained_on_the_support_fall_behind_frozen_prototypes_at_one_shot(result):
    # seen imagenet - scratch +26 [+17, +35], imagenet - fine_tune +18 [+10, +26] at 1 shot (n = 20);
    # at 5 shots imagenet - scratch +7.4 [+2.8, +12.0], imagenet - fine_tune +3.4 [-1.1, +7.9] inconclusive
    assert _gain(result, 1, "imagenet - scratch")["verdict"] == "a better"
    assert _gain(result, 1, "imagenet - fine_tune")["verdict"] == "a better"
    assert _gain(result, 1, "imagenet - scratch")["mean"] > _gain(result, 5, "imagenet - scratch")["mean"]
    assert _gain(result, 5, "imagenet - fine_tune")["verdict"] != "b better"
    # fine-tuning the letters CNN against the same CNN from scratch: seen +7.6 [+2.7, +12.5] at 1 shot
    assert _gain(result, 1, "fine_tune - scratch")["mean"] > 0


def test_the_probe_pays_only_with_five_shots(result):
    # seen probe - imagenet +0.6 [-0.5, +1.6] at 1 shot (inconclusive), +3.5 [+2.7, +4.4] at 5 shots
    assert _gain(result, 1, "probe - imagenet")["verdict"] == "inconclusive"
    assert _gain(result, 5, "probe - imagenet")["verdict"] == "a better"


def test_zero_shot_beats_shuffled_descriptions_and_depends_on_the_split(result):
    z, g = result.zero_shot, result.zero_shot_gains.set_index("comparison")
    assert len(z) == fs.N_SPLITS and z["unseen"].is_unique
    # seen unseen - shuffled +18 [+2, +34] (n = 8); unseen - chance +16 [-1, +33]: inconclusive
    assert g.loc["unseen - shuffled", "verdict"] == "a better" and g.loc["unseen - shuffled", "n"] == fs.N_SPLITS
    assert g.loc["unseen - chance", "verdict"] == "inconclusive"
    assert z["shuffled_accuracy"].mean() == pytest.approx(1 / 3, abs=0.05)  # seen .320
    assert z["unseen_accuracy"].max() > 0.65 and z["unseen_accuracy"].min() < 1 / 3  # seen .757 and .197
    assert (z["alpha"].isin(fs.ALPHA_GRID)).all()


def test_generalised_zero_shot_needs_calibration(result):
    z, g = result.zero_shot, result.zero_shot_gains.set_index("comparison")
    # seen: uncalibrated unseen accuracy .000 (seen .819), harmonic mean .000; calibrated .416
    assert z["unseen_gzsl"].max() < 0.05 and z["h"].max() < 0.1
    assert g.loc["calibrated H - plain H", "verdict"] == "a better" and z["h_calibrated"].mean() > 0.3


def test_the_conclusion_quotes_the_tables(result):
    text = result.conclusion
    for k in fs.SHOTS:
        assert _gain(result, k, "imagenet - pixels")["interval"] in text
        assert _gain(result, k, "fine_tune - scratch")["interval"] in text
    assert result.zero_shot_gains.set_index("comparison").loc["unseen - shuffled", "interval"] in text
    assert result.summary.shape == (len(fs.ARMS), 3)
    for k in fs.SHOTS:  # "the best" is compared on the episodes every method ran, not 100 against 20
        common = result.runs[result.runs["k_shot"] == k].pivot(index="episode", columns="arm", values="accuracy").dropna()
        assert len(common) == fs.N_TRAIN_EPISODES and set(common.columns) == set(fs.ARMS)
        best = common.mean().idxmax()
        assert f"on the {fs.N_TRAIN_EPISODES} episodes every method ran, the best is {fs.LABELS[best]} at {common.mean()[best]:.3f}" in text


def test_the_exercises_are_right_and_a_wrong_answer_is_told(result):
    from tlworkbench.exercises import exercise_sheet
    from tlworkbench.experiments.few_shot import exercises

    assert exercises.EXERCISES[0]["prompt"] == exercises.exercise_specs(fs.choose_targets())[0]["prompt"]
    sheet = exercise_sheet(exercises.exercise_specs(fs.choose_targets(), profile="quick"))
    assert len(sheet) == 2
    for key in sheet:
        ex = sheet[key]
        right = ex.right_answer()
        assert ex.check(right).ok and ex.check(right).message.startswith("Right:")
        assert not ex.check(ex.wrong).ok
