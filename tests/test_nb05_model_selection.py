"""Notebook 05: the effects it states, checked through the same functions, in the quick profile.

Each test runs a notebook's experiment with fixed seeds and asserts the effect with a margin that
held across the runs made (each test says what was seen); the numbers a notebook prints come from
these same functions. The fast unit tests of the experiment helpers live beside their modules'
tests (test_domain_mismatch.py, test_negative_transfer.py, ...).
"""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench.experiments import model_selection as ms
from tlworkbench.selection import SCORES

pytestmark = pytest.mark.slow


# --- 05 model selection -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def selection():
    return ms.run_model_selection(profile="quick", seed=0, progress=False)


def test_at_least_six_candidates_transfer_to_clearly_different_accuracies(selection):
    assert len(selection.table) >= 6
    acc = selection.table["accuracy"]
    # seen: .783 to .935 once every candidate fine-tunes for at least 30 steps
    assert acc.notna().all() and acc.max() - acc.min() > 0.1
    # a source of related digits beats a network that learned nothing useful (seen: +.148)
    by_label = selection.table.set_index("label")["accuracy"]
    assert by_label["CNN · OpenCV digits"] > by_label["CNN · random init"] + 0.1


def test_at_least_one_score_ranks_the_candidates_as_transfer_does(selection):
    taus = selection.correlation.set_index("score")["kendall_tau"]
    assert set(SCORES) <= set(taus.index)
    assert taus[list(SCORES)].max() > 0.5
    assert selection.best_tau == taus[list(SCORES)].max()


def test_scoring_every_candidate_is_much_faster_than_fine_tuning_them(selection):
    timing = selection.timing.set_index("what")["seconds"]
    assert selection.speedup == pytest.approx(timing["fine-tuning"] / timing["scoring"])
    assert selection.speedup > 3.0
    # the seconds are real: every candidate's features were extracted, not served from a cache
    assert not selection.scores["features_cached"].any()
    assert np.all(selection.scores["features_seconds"] > 0)


def test_the_conclusion_quotes_the_computed_numbers(selection):
    text = selection.conclusion
    assert f"{selection.best_tau:.2f}" in text
    assert f"{selection.speedup:.0f}x" in text
    assert str(len(selection.table)) in text


def test_the_plot_has_one_point_per_candidate_and_score(selection, pyplot):
    axes = ms.plot_score_vs_accuracy(selection)
    assert len(axes) == len(SCORES)
    for ax, score in zip(axes, SCORES):
        xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        assert np.allclose(np.sort(xs), np.sort(selection.table[score].to_numpy()))
        assert "Kendall" in ax.get_title()
