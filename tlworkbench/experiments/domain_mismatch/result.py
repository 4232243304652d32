"""Notebook 03's result: the tables, the conclusion written from them, and the whole run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..._validate import check_sequence
from ...config import Profile, get_profile, resolve_progress
from ...diagnostics import gain_table
from .remedy import BUDGETS, METHODS, REMEDY_PAIRS, label_efficiency, remedy_gains, remedy_table
from .shift import SOURCES, shift_correlation, shift_table, source_models

__all__ = ["DomainMismatchResult", "conclude", "run_domain_mismatch"]


@dataclass
class DomainMismatchResult:
    """Everything notebook 03 shows.

    Attributes:
        shift: :func:`~.shift.shift_vs_drop` of every source, concatenated.
        remedies: :func:`~.remedy.remedies` of every pair, concatenated.
        efficiency: :func:`~.remedy.label_efficiency` of the main pair (may be empty).
        correlation: :func:`~.shift.shift_correlation` of ``shift`` (computed when not given).
    """

    shift: pd.DataFrame
    remedies: pd.DataFrame
    efficiency: pd.DataFrame = field(default_factory=pd.DataFrame)
    correlation: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.correlation is None:
            self.correlation = shift_correlation(self.shift)

    @property
    def gains(self) -> pd.DataFrame:
        """:func:`~.remedy.remedy_gains` of the remedies."""
        return remedy_gains(self.remedies)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per remedy pair: the measured shift, then the mean target accuracy of each method."""
        table = self.gains.pivot_table(index=["source", "target"], columns="method", values="accuracy", sort=False)
        table = table[[m for m in METHODS if m in table.columns]]
        shift = self.shift.set_index(["source", "target"])
        table.insert(0, "MMD²", [shift["mmd2"].get(k, math.nan) for k in table.index])
        table.insert(1, "A-distance", [shift["proxy_a_distance"].get(k, math.nan) for k in table.index])
        table.index = pd.Index([_fmt_pair(s, t) for s, t in table.index], name="source → target")
        table.columns.name = None
        return table.round(3)

    @property
    def conclusion(self) -> str:
        """The findings in words, with the numbers measured."""
        return conclude(self)


def _fmt_pair(source: str, target: str) -> str:
    return f"{source} → {target}"


def _shift_lines(result: DomainMismatchResult) -> list[str]:
    lines = []
    corr = result.correlation.set_index(["source", "measure"])
    shift = result.shift
    for source, part in shift.groupby("source", sort=False):
        c = corr.loc[(source, "mmd2")]
        rho = c["spearman_rho"]
        verb = ("grows with" if rho >= 0.6 else "loosely follows" if rho > 0 else "does not follow")
        lines.append(
            f"The {source} model ({part['source_accuracy'].iloc[0]:.3f} on its own test set) loses between "
            f"{100 * part['accuracy_drop'].min():.1f} and {100 * part['accuracy_drop'].max():.1f} points on "
            f"{len(part)} targets; the drop {verb} the MMD² of its features: Spearman {rho:.2f}, "
            f"Kendall {c['kendall_tau']:.2f} (p = {c['kendall_p']:.3f}).")
    rejected = int((shift["mmd_p_value"] <= 0.05).sum())
    lines.append(f"The MMD permutation test tells {rejected} of {len(shift)} targets apart from their source at the "
                 f"5% level (largest p-value {shift['mmd_p_value'].max():.3f}).")
    pad = corr.xs("proxy_a_distance", level="measure")
    saturated = int((shift["proxy_a_distance"] >= 1.95).sum())
    rhos = ", ".join(f"{s} {r:.2f}" if not math.isnan(r) else f"{s} undefined"
                     for s, r in pad["spearman_rho"].items())
    lines.append(f"The proxy A-distance is at least 1.95 (near-perfect separation) on {saturated} of {len(shift)} "
                 f"targets, which limits how finely it ranks them (Spearman {rhos}).")
    return lines


def _remedy_lines(result: DomainMismatchResult, gains: pd.DataFrame) -> list[str]:
    lines = []
    for (source, target), g in gains.groupby(["source", "target"], sort=False):
        acc, gain = g.set_index("method")["accuracy"], g.set_index("method")["gain (points)"]
        parts = [f"source model {acc['source model']:.3f}"] if "source model" in acc else []
        if "AdaBN" in acc:
            parts.append(f"AdaBN {gain['AdaBN']:+.1f} points")
        if "Deep CORAL" in acc:
            text = f"Deep CORAL {gain['Deep CORAL']:+.1f}"
            if "target batches (CORAL weight 0)" in acc:
                own = 100 * (acc["Deep CORAL"] - acc["target batches (CORAL weight 0)"])
                text += (f" (the CORAL term itself {own:+.1f}; the rest comes from BatchNorm seeing target "
                         "batches)")
            parts.append(text)
        if "fine-tune" in acc:
            rows = result.remedies[(result.remedies["source"] == source) & (result.remedies["target"] == target)
                                   & (result.remedies["method"] == "fine-tune")]
            text = f"fine-tuned on {int(rows['target_labels'].iloc[0])} labels {acc['fine-tune']:.3f}"
            if "scratch" in acc:
                text += f" against {acc['scratch']:.3f} from scratch"
            parts.append(text + f" ({rows['seed'].nunique()} seed{'s' if rows['seed'].nunique() > 1 else ''})")
        lines.append(f"{_fmt_pair(source, target)}: " + "; ".join(parts) + ".")
    for (source, target), g in gains.groupby(["source", "target"], sort=False):
        acc = g.set_index("method")["accuracy"]
        if {"fine-tune", "scratch"} <= set(acc.index) and acc["fine-tune"] < acc["scratch"]:
            lines.append(f"On {_fmt_pair(source, target)} the source model is a worse start than a random one: "
                         f"fine-tuned {acc['fine-tune']:.3f}, from scratch {acc['scratch']:.3f} (negative transfer).")
    adabn = gains[gains["method"] == "AdaBN"]
    weak = [f"{s} → {t} ({v:+.1f})" for s, t, v in zip(adabn["source"], adabn["target"], adabn["gain (points)"])
            if v < 3.0]
    if weak:
        lines.append(f"AdaBN gains under 3 points on {', '.join(weak)}.")
    return lines


def _efficiency_lines(eff: pd.DataFrame, gains: pd.DataFrame) -> list[str]:
    source, target = eff["source"].iloc[0], eff["target"].iloc[0]
    table = gain_table(eff, arm_column="strategy", baseline="scratch", by="per_class").sort_values("per_class")
    lines = [f"Fine-tuned from the mismatched {source} model rather than trained from scratch on the same {target} "
             "labels: " + ", ".join(f"{100 * r.gain:+.1f} points at {r.per_class} (better in {r.wins} of {r.n} seeds)"
                                    for r in table.itertuples()) + " labels per class."]
    untouched = gains[(gains["source"] == source) & (gains["target"] == target) & (gains["method"] == "source model")]
    if len(untouched):
        first = table.iloc[0]
        verb = "below" if first["mean"] < untouched["accuracy"].iloc[0] else "above"
        lines.append(f"Without any label the source model reaches {untouched['accuracy'].iloc[0]:.3f}; fine-tuned on "
                     f"{first['per_class']} label{'s' if first['per_class'] > 1 else ''} per class it ends {verb} that "
                     f"({first['mean']:.3f}).")
    return lines


def conclude(result: DomainMismatchResult) -> str:
    """The notebook's conclusion, written from the measured tables."""
    gains = result.gains
    lines = _shift_lines(result) + _remedy_lines(result, gains)
    if len(result.efficiency):
        lines += _efficiency_lines(result.efficiency, gains)
    return "\n".join(lines)


def run_domain_mismatch(*, profile: str | Profile | None = None, seed: int = 0,
                        sources: Sequence[str] = SOURCES, pairs: Sequence[tuple[str, str]] = REMEDY_PAIRS,
                        budgets: Sequence[int] = BUDGETS, seeds: Sequence[int] | None = None,
                        progress: bool | None = None) -> DomainMismatchResult:
    """Run every part of notebook 03 and return the tables.

    Args:
        profile: run profile.
        seed: seed of the shifts, samples and unsupervised training.
        sources: source models whose shift against drop is measured.
        pairs: (source, target) pairs the remedies are tried on; the first one also gets the
            label-efficiency curve.
        budgets: labels per class of that curve (empty: no curve).
        seeds: seeds of the label-based methods (default: the profile's).
        progress: progress bars; ``None``: on in Jupyter only.

    Example:
        >>> result = run_domain_mismatch(profile="quick")   # doctest: +SKIP
        >>> print(result.conclusion)                        # doctest: +SKIP
    """
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    pairs = check_sequence(pairs, "pairs", "run_domain_mismatch")
    models = source_models([*sources, *(p[0] for p in pairs)], None, prof, progress)
    shift = shift_table(sources, models=models, profile=prof, seed=seed, progress=progress)
    eff = (label_efficiency(pairs[0][0], pairs[0][1], budgets=budgets, seeds=seeds, model=models[pairs[0][0]],
                            profile=prof, seed=seed, progress=progress) if len(budgets) else pd.DataFrame())
    rem = remedy_table(pairs, models=models, efficiency=eff, seeds=seeds, profile=prof, seed=seed,
                       progress=progress)
    return DomainMismatchResult(shift=shift, remedies=rem, efficiency=eff)
