"""Notebook 05's effect, through the function the notebook calls: scores rank models before training.

The quick profile with fixed seeds: nine candidates for ``mnist`` with 50 labels per class.
Margins are set below the values measured on a shared 2-core CPU.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench.experiments import model_selection as ms
from tlworkbench.selection import SCORES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result():
    return ms.run_model_selection("quick", seed=0, progress=False)


def test_at_least_six_candidates_transfer_to_clearly_different_accuracies(result):
    assert len(result.table) >= 6
    acc = result.table["accuracy"]
    assert acc.notna().all() and acc.max() - acc.min() > 0.3
    # a source of related digits beats a network that learned nothing useful
    by_label = result.table.set_index("label")["accuracy"]
    assert by_label["CNN · OpenCV digits"] > by_label["CNN · random init"] + 0.2


def test_at_least_one_score_ranks_the_candidates_as_transfer_does(result):
    taus = result.correlation.set_index("score")["kendall_tau"]
    assert set(SCORES) <= set(taus.index)
    assert taus[list(SCORES)].max() > 0.5
    assert result.best_tau == taus[list(SCORES)].max()


def test_scoring_every_candidate_is_much_faster_than_fine_tuning_them(result):
    timing = result.timing.set_index("what")["seconds"]
    assert result.speedup == pytest.approx(timing["fine-tuning"] / timing["scoring"])
    assert result.speedup > 3.0
    # the seconds are real: every candidate's features were extracted, not served from a cache
    assert not result.scores["features_cached"].any()
    assert np.all(result.scores["features_seconds"] > 0)


def test_the_conclusion_quotes_the_computed_numbers(result):
    text = result.conclusion
    assert f"{result.best_tau:.2f}" in text
    assert f"{result.speedup:.0f}x" in text
    assert str(len(result.table)) in text


def test_the_plot_has_one_point_per_candidate_and_score(result, pyplot):
    axes = ms.plot_score_vs_accuracy(result)
    assert len(axes) == len(SCORES)
    for ax, score in zip(axes, SCORES):
        xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        assert np.allclose(np.sort(xs), np.sort(result.table[score].to_numpy()))
        assert "Kendall" in ax.get_title()
