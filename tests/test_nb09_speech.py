"""Notebook 09: the effects it states, checked through the same functions, in the quick profile.

The fixture calls ``run_speech_transfer`` with the notebook's arguments; each test asserts an
effect with a margin that held in the run made (each test says what was seen). Without eSpeak NG,
librosa or resemblyzer the tests skip with the install command, nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench.errors import MissingAssetError
from tlworkbench.experiments import speech_transfer as sx
from tlworkbench.training import WEIGHT_DECAY_GRID

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result() -> sx.SpeechResult:
    try:
        return sx.run_speech_transfer(profile="quick")  # as notebooks/09_speech_transfer.py calls it
    except MissingAssetError as err:
        pytest.skip(str(err))


def _row(table, **where):
    mask = np.ones(len(table), bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    rows = table[mask]
    assert len(rows) == 1, where
    return rows.iloc[0]


def test_the_protocol_disjoint_texts_paired_seeds_every_clip_scored(result):
    assert result.shared_texts == 0
    assert set(result.features["train_table"]["text"]).isdisjoint(result.features["test_table"]["text"])
    runs = result.runs
    # budgets 1 (centroid), 5 and 20 (centroid and probe), 2 representations, 5 test conditions
    assert len(runs) == len(sx.SEEDS) * 5 * 2 * 5
    assert (runs.loc[runs["condition"] == "normal", "n_test"] == 100).all()
    assert (runs["n_test"] == 100).all() and runs["accuracy"].between(0, 1).all()
    assert runs.loc[runs["method"] == "probe", "weight_decay"].isin(WEIGHT_DECAY_GRID).all()
    assert runs.loc[runs["method"] == "centroid", "weight_decay"].isna().all()
    assert (result.gains["n"] == len(sx.SEEDS)).all() and (result.gaps["n"] == len(sx.SEEDS)).all()
    assert len(result.clips) == 800 and result.clips["voice"].nunique() == 10


def test_the_pretrained_encoder_is_ahead_at_one_clip_per_voice(result):
    g = _row(result.gains, per_class=1, method="centroid", condition="normal")
    # seen +8 points [+2, +13], n = 10 (Resemblyzer .408, MFCC .331)
    assert g["verdict"] == "a better" and g["mean"] > 4.0, g["interval"]
    mean = result.runs[result.runs["per_class"] == 1].groupby(["condition", "representation"])["accuracy"].mean()
    assert mean[("normal", "resemblyzer")] > 0.35 and mean[("normal", "mfcc")] > 0.25  # chance is .1


def test_the_centroid_stays_ahead_on_the_encoder_but_a_tuned_probe_closes_the_gap(result):
    for k in (5, 20):
        # seen centroid +6.4 [+3.6, +9.2] at 5 and +10.9 [+7.1, +14.7] at 20
        c = _row(result.gains, per_class=k, method="centroid", condition="normal")
        assert c["verdict"] == "a better" and c["mean"] > 3.0, (k, c["interval"])
    # seen probe +2.4 [-1.1, +5.9] at 5 and +1.0 [-1.5, +3.5] at 20: no difference shown
    p5 = _row(result.gains, per_class=5, method="probe", condition="normal")
    p20 = _row(result.gains, per_class=20, method="probe", condition="normal")
    assert p20["verdict"] == "inconclusive" and abs(p20["mean"]) < 4.0, p20["interval"]
    assert p5["verdict"] != "b better" and p5["mean"] < 6.0, p5["interval"]
    acc = result.runs[(result.runs["per_class"] == 20) & (result.runs["method"] == "probe")
                      & (result.runs["condition"] == "normal")].groupby("representation")["accuracy"].mean()
    assert (acc > 0.8).all()  # seen .867 (MFCC) and .877 (Resemblyzer)


def test_rate_and_pitch_shifts_cost_the_encoder_more_than_mfccs(result):
    # seen Resemblyzer's drop minus MFCC's with the espeak-ng program (Debian, 1.51): fast +10.9
    # [+7.5, +14.3], high pitch +6.1 [+1.9, +10.3], low pitch +17.5 [+13.2, +21.8] points, slow +1.4
    # [-0.8, +3.6] (inconclusive); with the espeakng-loader wheel's library (1.52, a user without root):
    # fast +10.4, low pitch +17.0, high pitch +4.3 [-0.4, +9.0] (inconclusive), slow +0.9
    for shift, least in (("fast", 5.0), ("low pitch", 10.0)):
        g = _row(result.gaps, condition=shift)
        assert g["verdict"] == "b better" and g["mean"] > least, (shift, g["interval"])
    high = _row(result.gaps, condition="high pitch")  # on the edge: the engine's version decides the verdict
    assert high["verdict"] != "a better" and high["mean"] > 2.0, high["interval"]
    assert _row(result.gaps, condition="slow")["verdict"] == "inconclusive"
    drops = result.drops.set_index(["representation", "condition"])
    # every shift costs the encoder (seen fast 22, slow 2.7, high 36, low 23 points)
    assert (drops.loc["resemblyzer", "verdict"] == "a better").all()
    # a higher voice is the hardest shift for both (seen 36 and 30 points)
    for rep in sx.REPRESENTATIONS:
        assert drops.loc[rep, "mean"].idxmax() == "high pitch"
        assert drops.loc[(rep, "high pitch"), "mean"] > 20.0


def test_the_conclusion_quotes_the_tables(result):
    text = result.conclusion
    for k, method in sx.HEADLINE.items():
        assert _row(result.gains, per_class=k, method=method, condition="normal")["interval"] in text
    for shift in sx.SHIFTS:
        assert _row(result.gaps, condition=shift)["interval"] in text
    assert "At the smallest budget (1 per voice) the pretrained speaker encoder against MFCC statistics: " \
           "Resemblyzer ahead; at 20 per voice: inconclusive." in text
    costlier = [shift for shift in sx.SHIFTS if _row(result.gaps, condition=shift)["verdict"] == "b better"]
    even = [shift for shift in sx.SHIFTS if _row(result.gaps, condition=shift)["verdict"] == "inconclusive"]
    assert {"fast", "low pitch"} <= set(costlier) and "slow" in even
    assert f"Shifts that cost Resemblyzer more than MFCC: {', '.join(costlier)}; no difference shown " \
           f"between the two: {', '.join(even)}." in text
    assert result.summary.shape == (2, 1 + 3 + len(sx.SHIFTS))
    assert list(result.summary.index) == ["MFCC", "Resemblyzer"]


def test_the_exercises_solutions_are_right_and_wrong_answers_are_told(result):
    from tlworkbench.exercises import exercise_sheet
    from tlworkbench.experiments.speech_transfer import exercises

    sheet = exercise_sheet(exercises)
    assert len(sheet) == 2
    for key in sheet:
        ex = sheet[key]
        right = ex.right_answer()
        assert ex.check(right).ok and ex.check(right).message.startswith("Right:")
        verdict = ex.check(ex.wrong)
        assert not verdict.ok and verdict.message.startswith("Not yet:")
    assert sheet["worst_shift"].right_answer() == "high pitch"
    three = sheet["three_per_voice"].right_answer()
    one = result.runs[(result.runs["per_class"] == 1) & (result.runs["representation"] == "resemblyzer")
                      & (result.runs["condition"] == "normal")]["accuracy"].mean()
    assert three > one + 0.05  # seen in the run made: more clips per voice help the centroid
