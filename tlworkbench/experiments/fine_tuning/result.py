"""Notebook 02's result: the runs, the paired comparisons and the conclusion computed from them."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ...config import Profile, get_profile
from ...diagnostics import gain_table
from ...training import History
from .._memo import memoized
from .recipes import _check_budgets
from .runs import N_TEST, run_recipes

__all__ = ["PROBE", "SCRATCH", "LEVEL_OFF_POINTS", "COMPARISONS", "gains", "conclude", "FineTuningResult",
           "run_fine_tuning"]

PROBE = "linear probe"
SCRATCH = "small CNN from scratch"
#: A run whose last quarter of epochs raises its best validation accuracy by no more than this
#: (points) has levelled off: one validation image of the smallest budget (20 images) is 5.
LEVEL_OFF_POINTS = 5.0
#: Comparisons besides "every recipe against the linear probe": (arm, baseline), where both ran.
COMPARISONS = (("fine-tune from stage7", SCRATCH),
               ("fine-tune from stage7, BN train", "fine-tune from stage7"),
               ("fine-tune all, lr 3e-2 (untuned)", "fine-tune all, discriminative lr"))


def gains(table: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Every recipe against the linear probe, and the pairs of :data:`COMPARISONS`, per label
    budget: test accuracy in points, paired on the seed, with a t-interval and its verdict
    (:func:`~tlworkbench.diagnostics.gain_table`)."""
    runs = table.assign(points=100 * table["accuracy"])
    present = set(runs["recipe"])
    pairs = [(PROBE, [r for r in pd.unique(runs["recipe"]) if r != PROBE])]
    pairs += [(base, [arm]) for arm, base in COMPARISONS if arm in present and base in present]
    frames = []
    with warnings.catch_warnings():  # n is printed with every interval; its warning would repeat it per row
        warnings.filterwarnings("ignore", message=r"paired_difference got n = ")
        for base, arms in pairs:
            if base not in present or not arms:
                continue
            g = gain_table(runs, arm_column="recipe", baseline=base, arms=arms, by="per_class", value="points",
                           interval="t", level=level)
            frames.append(g.assign(baseline=base))
    out = pd.concat(frames, ignore_index=True)
    return out[["per_class", "recipe", "baseline", "n", "mean", "baseline_mean", "gain", "wins", "low", "high",
                "verdict"]].rename(columns={"recipe": "arm", "mean": "arm_points", "baseline_mean": "baseline_points"})


def _sentence(row: pd.Series) -> str:
    verdict = {"arm better": f"{row['arm']} is better", "baseline better": f"{row['baseline']} is better",
               "inconclusive": "inconclusive (the interval covers 0)"}[row["verdict"]]
    return (f"{row['arm']} minus {row['baseline']}: {row['gain']:+.1f} points [{row['low']:+.1f}, "
            f"{row['high']:+.1f}], 95% t-interval, n = {row['n']} seeds: {verdict}")


def _value(v: float) -> str:
    return f"{v:g}"


def conclude(result: FineTuningResult) -> str:
    """The notebook's conclusion, every sentence computed from the result's tables."""
    table, g = result.table, result.gains
    lines = []
    for b in sorted(table["per_class"].unique()):
        at = g[g["per_class"] == b]
        vs_probe = at[at["baseline"] == PROBE].sort_values("arm_points", ascending=False)
        probe = table[(table["recipe"] == PROBE) & (table["per_class"] == b)]["accuracy"]
        best = vs_probe.iloc[0]
        lines.append(f"At {b} labels per class, the linear probe reaches {probe.mean():.3f} on average over "
                     f"{len(probe)} seeds; the other recipe with the highest mean, {best['arm']} "
                     f"({best['arm_points'] / 100:.3f}): {_sentence(best)}.")
        for _, row in vs_probe.iloc[1:].iterrows():
            lines.append(f"At {b} labels per class, {_sentence(row)}.")
        for _, row in at[at["baseline"] != PROBE].iterrows():
            lines.append(f"At {b} labels per class, {_sentence(row)}.")
    chosen = result.choices[result.choices["chosen"]]
    parts = [f"{r.recipe} @ {r.per_class}/class: {r.knob} {_value(r.value)}" for r in chosen.itertuples()]
    lines.append("Chosen on the first seed's validation split (reused for the other seeds): " + "; ".join(parts) + ".")
    scratch = table[table["recipe"] == SCRATCH]
    if len(scratch):
        rise = 100 * (scratch["val_best"] - scratch["val_best_3q"]).max()
        state = "has levelled off" if rise <= LEVEL_OFF_POINTS else "may still be improving"
        lines.append(f"Training from scratch {state}: over its {len(scratch)} runs, the last quarter of the epochs "
                     f"raised the best validation accuracy by at most {rise:.0f} points.")
    untuned = table[~table["tuned"]]
    for name, lr in untuned.groupby("recipe", sort=False)["value"].first().items():
        lines.append(f"{name} runs at a fixed learning rate ({lr:g}), not chosen on validation: a demonstration, "
                     f"outside the comparison of tuned recipes.")
    lines.append(f"{result.test_overlap} of the labelled images are exact copies of one of the "
                 f"{result.n_test} test images.")
    return "\n".join(lines)


@dataclass
class FineTuningResult:
    """What notebook 02 shows.

    Attributes:
        table: one row per recipe, label budget and seed: test ``accuracy``, ``val_accuracy``,
            the hyper-parameter (``knob``, ``value``), epochs, best epoch, seconds.
        choices: every grid value tried on the first seed's validation split, and the one kept.
        gains: :func:`gains` of the table.
        histories: the first seed's History of each recipe, keyed ``"recipe @ per_class"``.
        weight_changes: :func:`weight_change` of the first seed's fine-tuned models at the
            largest budget.
        test_overlap: labelled images that are exact copies of a test image.
        n_test: test images.
    """

    table: pd.DataFrame
    choices: pd.DataFrame
    gains: pd.DataFrame
    histories: dict[str, History]
    weight_changes: dict[str, pd.DataFrame]
    test_overlap: int
    n_test: int

    @property
    def conclusion(self) -> str:
        return conclude(self)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of the test accuracy over seeds, per recipe and budget."""
        out = self.table.groupby(["recipe", "per_class"])["accuracy"].agg(["mean", "std", "count"]).unstack()
        out.columns = [f"{stat} @ {b}/class" for stat, b in out.columns]
        return out.round(3).sort_values(out.columns[0], ascending=False)


@memoized
def run_fine_tuning(*, per_class: Sequence[int] = (10, 50), seeds: Sequence[int] | None = None,
                    profile: str | Profile | None = None, n_test: int = N_TEST,
                    progress: bool | None = None) -> FineTuningResult:
    """Run every recipe of notebook 02 (:func:`run_recipes`) and compare them (:func:`gains`).

    Args:
        per_class: the label budgets.
        seeds: the seeds (default: the profile's).
        profile: the run profile.
        n_test: test images.
        progress: a progress bar over the runs.
    """
    budgets = _check_budgets(per_class, "run_fine_tuning")
    prof = get_profile(profile)
    runs = run_recipes(per_class=budgets, seeds=seeds, profile=prof, n_test=n_test, progress=progress)
    return FineTuningResult(runs.table, runs.choices, gains(runs.table), runs.histories, runs.weight_changes,
                            runs.test_overlap, n_test)


