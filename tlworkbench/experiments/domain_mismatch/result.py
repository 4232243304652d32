"""Notebook 03's result: the tables, the named comparisons, the conclusion written from them, and the run."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..._validate import check_int, check_sequence
from ...config import Profile, get_profile, resolve_progress
from ...data import load_domain
from ...diagnostics import gain_table
from .._memo import memoized
from .labels import BUDGETS, FIXED_LR, label_runs, rerun, saturation_runs
from .remedy import METHODS, PER_CLASS, REMEDY_PAIRS, UNSUPERVISED, remedy_frame, remedy_gains, unsupervised_remedies
from .shift import SOURCES, shift_correlation, shift_table, source_models, source_overlap, targets_for

__all__ = ["DomainMismatchResult", "comparison_table", "conclude", "run_domain_mismatch"]

_CORAL_0 = "target batches (CORAL weight 0)"


@dataclass
class DomainMismatchResult:
    """Everything notebook 03 shows.

    Attributes:
        shift: :func:`~.shift.shift_vs_drop` of every source, concatenated.
        remedies: every remedy's runs per pair and seed (:func:`~.remedy.remedy_frame`).
        labels: :func:`~.labels.label_runs` of every pair (all budgets on the first pair).
        choices: the learning-rate grid of those runs, scored on validation.
        saturation: :func:`~.labels.saturation_runs` of scratch on the first pair.
        fixed: fine-tuning at a rate held fixed (:data:`~.labels.FIXED_LR`, not chosen), every pair.
        overlap: :func:`~.shift.source_overlap` of every source against its targets.
        per_class: labels per class of the label-based remedies in ``remedies``.
        correlation: :func:`~.shift.shift_correlation` of ``shift`` (computed when not given).
    """

    shift: pd.DataFrame
    remedies: pd.DataFrame
    labels: pd.DataFrame = field(default_factory=pd.DataFrame)
    choices: pd.DataFrame = field(default_factory=pd.DataFrame)
    saturation: pd.DataFrame = field(default_factory=pd.DataFrame)
    fixed: pd.DataFrame = field(default_factory=pd.DataFrame)
    overlap: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_class: int = PER_CLASS
    correlation: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.correlation is None:
            self.correlation = shift_correlation(self.shift)

    @property
    def gains(self) -> pd.DataFrame:
        """:func:`~.remedy.remedy_gains` of the remedies: each against the source model."""
        return remedy_gains(self.remedies)

    @property
    def comparisons(self) -> pd.DataFrame:
        """:func:`comparison_table` of this result."""
        return comparison_table(self)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per remedy pair: the measured shift, then the mean target accuracy of each method."""
        table = self.remedies.pivot_table(index=["source", "target"], columns="method", values="accuracy",
                                          sort=False)
        table = table[[m for m in METHODS if m in table.columns]]
        shift = self.shift.set_index(["source", "target"])
        table.insert(0, "MMD²", [shift["mmd2"].get(k, math.nan) for k in table.index])
        table.insert(1, "A-distance", [shift["proxy_a_distance"].get(k, math.nan) for k in table.index])
        table.insert(2, "seeds", [self.remedies[(self.remedies["source"] == s) & (self.remedies["target"] == t)]
                                  ["seed"].nunique() for s, t in table.index])
        table.index = pd.Index([_fmt_pair(s, t) for s, t in table.index], name="source → target")
        table.columns.name = None
        return table.round(3)

    @property
    def conclusion(self) -> str:
        """The findings in words, with the numbers measured."""
        return conclude(self)


def _fmt_pair(source: str, target: str) -> str:
    return f"{source} → {target}"


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "\N{MINUS SIGN}")


def _verdict(verdict: str, arm: str, baseline: str) -> str:
    return {"arm better": f"{arm} better", "baseline better": f"{baseline} better"}.get(verdict, verdict)


def _gains(frame: pd.DataFrame, *, arm_column: str, baseline: str, arms: Sequence[str], by: Sequence[str],
           name: str) -> list[dict[str, object]]:
    """Rows of the comparison table: ``arms`` against ``baseline`` per group of ``by``, paired on seed."""
    if not len(frame) or baseline not in set(frame[arm_column]):
        return []
    arms = [a for a in arms if a in set(frame[arm_column])]
    if not arms:
        return []
    with warnings.catch_warnings():  # the warning below 5 seeds: n stands beside every interval
        warnings.filterwarnings("ignore", message="paired_difference got n =", category=UserWarning)
        table = gain_table(frame, arm_column=arm_column, baseline=baseline, arms=arms, by=list(by), pair_on="seed",
                           interval="t")
    rows = []
    for r in table.to_dict("records"):
        arm = r[arm_column]
        gain, low, high = 100 * r["gain"], 100 * r["low"], 100 * r["high"]
        verdict = _verdict(r["verdict"], arm, baseline)
        rows.append({"comparison": name.format(arm=arm, baseline=baseline),
                     "pair": _fmt_pair(r["source"], r["target"]), "per_class": r.get("per_class", math.nan),
                     "n": int(r["n"]), "arm": r["mean"], "baseline": r["baseline_mean"], "gain (points)": gain,
                     "low": low, "high": high, "wins": int(r["wins"]), "verdict": verdict,
                     "text": f"{_signed(gain)} points [{_signed(low)}, {_signed(high)}], 95% t-interval, "
                             f"n = {int(r['n'])}: {verdict}"})
    return rows


def comparison_table(result: DomainMismatchResult) -> pd.DataFrame:
    """Every comparison the notebook names, each paired on seed with a 95% t-interval of the mean gain.

    * ``<remedy> vs source model``: each remedy against the source model left as it is, per pair
      (fine-tune and scratch at :data:`~.remedy.PER_CLASS` labels per class);
    * ``Deep CORAL vs CORAL weight 0``: what the CORAL term adds to the same training;
    * ``fine-tune vs best unsupervised (<remedy>)``: a few labels against the unsupervised remedy
      of highest mean accuracy on the pair;
    * ``fine-tune vs scratch``: the mismatched source against a random start on the same labels,
      per pair and labels per class;
    * ``fine-tune vs source model`` at the other budgets of the label-efficiency curve;
    * ``scratch, 2x steps vs scratch``: whether scratch had stopped improving;
    * ``fine-tune, lr <rate> vs scratch``: fine-tuning at a rate held fixed against tuned scratch.

    Returns:
        One row per comparison and group: ``comparison``, ``pair``, ``per_class`` (NaN where no
        label is used), ``n`` (seeds), ``arm`` and ``baseline`` (mean accuracies), ``gain
        (points)``, ``low``, ``high``, ``wins``, ``verdict`` (``"inconclusive"`` when the
        interval covers 0) and ``text`` (all of it in one line).
    """
    rem, labels = result.remedies, result.labels
    rows = _gains(rem, arm_column="method", baseline="source model", by=("source", "target"),
                  name="{arm} vs {baseline}", arms=[m for m in METHODS if m != "source model"])
    for r in rows:
        if r["comparison"] in ("fine-tune vs source model", "scratch vs source model"):
            r["per_class"] = result.per_class
    rows += _gains(rem, arm_column="method", baseline=_CORAL_0, arms=["Deep CORAL"], by=("source", "target"),
                   name="Deep CORAL vs CORAL weight 0")
    for (source, target), part in rem.groupby(["source", "target"], sort=False):
        means = part[part["method"].isin(UNSUPERVISED[1:])].groupby("method")["accuracy"].mean()
        if len(means) and "fine-tune" in set(part["method"]):
            found = _gains(part, arm_column="method", baseline=means.idxmax(), arms=["fine-tune"],
                           by=("source", "target"), name="fine-tune vs best unsupervised ({baseline})")
            rows += [dict(r, per_class=result.per_class) for r in found]
    rows += _gains(labels, arm_column="strategy", baseline="scratch", arms=["fine-tune"],
                   by=("source", "target", "per_class"), name="fine-tune vs scratch")
    if len(labels):
        untouched = rem[rem["method"] == "source model"].set_index(["source", "target", "seed"])["accuracy"]
        curve = labels[(labels["strategy"] == "fine-tune") & (labels["per_class"] != result.per_class)]
        base = [dict(r, strategy="source model", accuracy=untouched.get((r["source"], r["target"], r["seed"]),
                                                                         math.nan))
                for r in curve.to_dict("records")]
        frame = pd.concat([curve, pd.DataFrame(base)], ignore_index=True).dropna(subset=["accuracy"])
        rows += _gains(frame, arm_column="strategy", baseline="source model", arms=["fine-tune"],
                       by=("source", "target", "per_class"), name="fine-tune vs source model")
    if len(result.saturation):
        longer = result.saturation["strategy"].iloc[0]
        budget = int(result.saturation["per_class"].iloc[0])
        short = labels[(labels["strategy"] == "scratch") & (labels["per_class"] == budget)]
        short = short[short.set_index(["source", "target"]).index.isin(
            result.saturation.set_index(["source", "target"]).index)]
        rows += _gains(pd.concat([short, result.saturation], ignore_index=True), arm_column="strategy",
                       baseline="scratch", arms=[longer], by=("source", "target", "per_class"),
                       name="{arm} vs {baseline}")
    if len(result.fixed):
        held = result.fixed["strategy"].iloc[0]
        budget = int(result.fixed["per_class"].iloc[0])
        scratch = labels[(labels["strategy"] == "scratch") & (labels["per_class"] == budget)]
        rows += _gains(pd.concat([scratch, result.fixed], ignore_index=True), arm_column="strategy",
                       baseline="scratch", arms=[held], by=("source", "target", "per_class"),
                       name="{arm} vs {baseline}")
    return pd.DataFrame(rows)


def _shift_lines(result: DomainMismatchResult) -> list[str]:
    lines = []
    corr = result.correlation.set_index(["source", "measure"])
    shift = result.shift
    for source, part in shift.groupby("source", sort=False):
        c = corr.loc[(source, "mmd2")]
        half = 100 * float(((part["drop_high"] - part["drop_low"]) / 2).max()) if "drop_high" in part else math.nan
        lines.append(
            f"The {source} model ({part['source_accuracy'].iloc[0]:.3f} on its own test set) loses between "
            f"{100 * part['accuracy_drop'].min():.1f} and {100 * part['accuracy_drop'].max():.1f} points on "
            f"{len(part)} targets (each drop within ±{half:.1f} points from the test images drawn, 95%). The MMD² "
            f"of its features ranks those drops with Spearman {c['spearman_rho']:.2f} (exact p = "
            f"{c['spearman_p']:.3f}) and Kendall {c['kendall_tau']:.2f} (exact p = {c['kendall_p']:.3f}), "
            f"n = {int(c['n_targets'])} targets: a ranking of {int(c['n_targets'])} hand-picked targets on one draw "
            "of shifts and samples, which says the order held on them, not how closely shift predicts the drop "
            "elsewhere.")
    rejected = int((shift["mmd_p_value"] <= 0.05).sum())
    lines.append(f"The MMD permutation test tells {rejected} of {len(shift)} targets apart from their source at the "
                 f"5% level (largest p-value {shift['mmd_p_value'].max():.3f}).")
    pad = corr.xs("proxy_a_distance", level="measure")
    saturated = int((shift["proxy_a_distance"] >= 1.95).sum())
    rhos = ", ".join(f"{s} {r:.2f}" if not math.isnan(r) else f"{s} undefined"
                     for s, r in pad["spearman_rho"].items())
    lines.append(f"The proxy A-distance is at least 1.95 (near-perfect separation) on {saturated} of {len(shift)} "
                 f"targets, which limits how finely it ranks them (Spearman {rhos}).")
    if len(result.overlap):
        ov = result.overlap
        shared = ov["exact_copies"] + ov["redrawn_copies"]
        copies = ov[shared > 0]
        clean = int((shared == 0).sum())
        if len(copies):
            lines.append("Source training images reappear among target test images: " + ", ".join(
                f"{_fmt_pair(r.source, r.target)} ({r.exact_copies + r.redrawn_copies} of {r.n_target_test}: "
                f"{r.exact_copies} exact, {r.redrawn_copies} redrawn at another size)"
                for r in copies.itertuples()) + f"; the drop of such a pair is measured on digits the model has "
                f"seen, in another resolution and framing. The other {clean} of {len(ov)} pairs share none.")
        else:
            lines.append(f"No target test image is a copy of a source training image, exact or redrawn at another "
                         f"size ({len(ov)} source-target pairs checked).")
    return lines


def _remedy_lines(result: DomainMismatchResult, table: pd.DataFrame) -> list[str]:
    lines = []
    vs_source = table[table["comparison"].str.endswith(" vs source model")
                      & (table["per_class"].isna() | (table["per_class"] == result.per_class))]
    for pair, part in vs_source.groupby("pair", sort=False):
        base = part["baseline"].iloc[0]
        lines.append(f"{pair}, each remedy against the source model ({base:.3f}): " + "; ".join(
            f"{r.comparison.removesuffix(' vs source model')} {r.text}" for r in part.itertuples()) + ".")
    coral = table[table["comparison"] == "Deep CORAL vs CORAL weight 0"]
    if len(coral):
        lines.append("What the CORAL term adds to the same training without it: " + "; ".join(
            f"{r.pair} {r.text}" for r in coral.itertuples()) + ".")
    prefix = "fine-tune vs best unsupervised ("
    best = table[table["comparison"].str.startswith(prefix)]
    if len(best):  # the remedy's own name may hold parentheses: "target batches (CORAL weight 0)"
        lines.append(f"{result.per_class} labels per class, fine-tuned, against the best unsupervised remedy of each "
                     "pair: " + "; ".join(f"{r.pair} ({r.comparison[len(prefix):-1]}) {r.text}"
                                          for r in best.itertuples()) + ".")
    adabn = table[table["comparison"] == "AdaBN vs source model"]
    weak = [f"{r.pair} ({r.text})" for r in adabn.itertuples() if r.verdict != "AdaBN better"]
    if weak:
        lines.append(f"AdaBN brings no measurable gain on {', '.join(weak)}.")
    return lines


def _label_lines(result: DomainMismatchResult, table: pd.DataFrame) -> list[str]:
    lines = []
    chosen = result.choices[result.choices["chosen"]] if len(result.choices) else result.choices
    if len(chosen):
        at = chosen[chosen["per_class"] == result.per_class]
        lines.append(f"Learning rates chosen on validation (seed {int(chosen['seed'].iloc[0])}, {result.per_class} "
                     "labels per class): " + "; ".join(f"{_fmt_pair(s, t)} " + ", ".join(f"{r.strategy} {r.lr:g}"
                                                                                   for r in g.itertuples())
                                            for (s, t), g in at.groupby(["source", "target"], sort=False)) + ".")
    ft = table[table["comparison"] == "fine-tune vs scratch"].sort_values(["pair", "per_class"], kind="stable")
    for pair, part in ft.groupby("pair", sort=False):
        lines.append(f"Fine-tuned from the source model against scratch on the same target labels, {pair}: "
                     + "; ".join(f"{int(r.per_class)} per class {r.text}" for r in part.itertuples()) + ".")
        worse = part[part["verdict"] == "scratch better"]
        if len(worse):
            lines.append(f"On {pair} the source model is a worse start than a random one at "
                         + ", ".join(str(int(v)) for v in worse["per_class"]) + " labels per class (negative "
                         "transfer).")
        even = part[part["verdict"] == "inconclusive"]
        if len(even):
            lines.append(f"On {pair} at " + ", ".join(str(int(v)) for v in even["per_class"]) + " labels per class "
                         "the interval covers 0: no evidence that the source model is a better or a worse start than "
                         "a random one, with both arms tuned alike.")
    held = table[table["comparison"].str.startswith("fine-tune, lr ")]
    if len(held):
        rate = held["comparison"].iloc[0].split("lr ")[1].split()[0]
        lines.append(f"The same comparison with fine-tuning held at lr {rate} instead of its chosen rate (scratch "
                     "keeps its own): " + "; ".join(f"{r.pair} {r.text}" for r in held.itertuples()) + ".")
        tuned = ft.set_index(["pair", "per_class"])["verdict"]
        changed = []
        for r in held.itertuples():
            before = tuned.get((r.pair, r.per_class))
            after = "fine-tune better" if r.verdict.startswith("fine-tune") else r.verdict
            if before is not None and before != after:
                changed.append(f"{r.pair} ({before} with the chosen rate, {after} at lr {rate})")
        if changed:
            lines.append("The learning rate alone changes the verdict on " + "; ".join(changed) + ".")
    below = table[(table["comparison"] == "fine-tune vs source model") & (table["per_class"] != result.per_class)]
    for r in below.itertuples():
        lines.append(f"{r.pair}: fine-tuned on {int(r.per_class)} labels per class against the source model with no "
                     f"label ({r.baseline:.3f}): {r.text}.")
    sat = table[table["comparison"].str.startswith("scratch, ")]
    for r in sat.itertuples():
        longer = r.comparison.split(" vs ")[0]
        lines.append(f"Scratch trained for twice the steps ({r.pair}, {int(r.per_class)} per class): {r.text}; "
                     + ("the shorter runs had not saturated, which understates scratch above."
                        if r.verdict == f"{longer} better" else
                        "twice the steps brings no measurable gain, so the shorter runs are taken as saturated."))
    if len(chosen):
        top = max(result.choices["lr"])
        edge = chosen[chosen["lr"] == top]
        if len(edge):
            lines.append(f"{len(edge)} of {len(chosen)} learning-rate choices fell on the grid's largest value "
                         f"({top:g}), for " + ", ".join(sorted(set(edge["strategy"]))) + "; no larger rate was "
                         "tried, so those arms may not be at their best rate.")
    return lines


def conclude(result: DomainMismatchResult) -> str:
    """The notebook's conclusion, written from the measured tables."""
    table = result.comparisons
    return "\n".join(_shift_lines(result) + _remedy_lines(result, table) + _label_lines(result, table))


@memoized
def run_domain_mismatch(*, profile: str | Profile | None = None, seed: int = 0,
                        sources: Sequence[str] = SOURCES, pairs: Sequence[tuple[str, str]] = REMEDY_PAIRS,
                        budgets: Sequence[int] = BUDGETS, per_class: int = PER_CLASS,
                        seeds: Sequence[int] | None = None, unlabelled: int = 1000,
                        targets: Mapping[str, Sequence[str]] | None = None,
                        progress: bool | None = None) -> DomainMismatchResult:
    """Run every part of notebook 03 and return the tables.

    Args:
        profile: run profile.
        seed: seed of the shifts, the samples of the shift measures and the test sets.
        sources: source models whose shift against drop is measured.
        pairs: (source, target) pairs the remedies are tried on; the first one also gets the
            label-efficiency curve over ``budgets`` and the saturation check of scratch.
        budgets: labels per class of that curve (validation included).
        per_class: labels per class of the label-based remedies on every pair.
        seeds: seeds of every remedy (default: the profile's); the learning rates are chosen on
            the first.
        unlabelled: target training images the unsupervised remedies read.
        targets: each source's targets of the shift measures (default: :func:`~.shift.targets_for`,
            the :data:`~.shift.TARGETS` that are installed here).
        progress: a progress bar over the pairs; ``None``: on in Jupyter only.

    Example:
        >>> result = run_domain_mismatch(profile="quick")   # doctest: +SKIP
        >>> print(result.conclusion)                        # doctest: +SKIP
    """
    func = "run_domain_mismatch"
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    pairs = check_sequence(pairs, "pairs", func)
    per_class = check_int(per_class, "per_class", func, minimum=2)
    seeds = check_sequence(prof.seeds if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    models = source_models([*sources, *(p[0] for p in pairs)], None, prof, progress)
    every = list(dict.fromkeys([*sources, *(p[0] for p in pairs)]))
    targets = targets_for(every) if targets is None else {s: tuple(targets.get(s, ())) for s in every}
    shift = shift_table(sources, models=models, profile=prof, seed=seed, progress=progress, targets=targets)
    overlap = pd.concat([source_overlap(s, list(dict.fromkeys([*targets[s], *(t for a, t in pairs if a == s)])),
                                        profile=prof) for s in every], ignore_index=True)
    from tqdm.auto import tqdm

    labels, choices, unsupervised, fixed, saturation = [], [], [], [], pd.DataFrame()
    for i, (source, target) in enumerate(tqdm(pairs, desc="remedies", disable=not progress)):
        model = models[source]
        train = load_domain(target, split="train", transform=model, profile=prof, seed=seed)
        test = load_domain(target, split="test", transform=model, profile=prof, seed=seed)
        runs, grid = label_runs(source, target, model=model, train=train, test=test, seeds=seeds, profile=prof,
                                budgets=sorted({*budgets, per_class}) if i == 0 else (per_class,))
        labels.append(runs)
        choices.append(grid)
        fixed.append(rerun(runs, model=model, train=train, test=test, per_class=per_class, strategy="fine-tune",
                           label=f"fine-tune, lr {FIXED_LR:g}", lr=FIXED_LR, profile=prof))
        if i == 0:
            saturation = saturation_runs(runs, model=model, train=train, test=test, per_class=per_class, profile=prof)
        source_train = load_domain(source, split="train", transform=model, profile=prof, seed=seed)
        unsupervised.append(unsupervised_remedies(source, target, model=model, train=train, test=test,
                                                  source_train=source_train, seeds=seeds, unlabelled=unlabelled,
                                                  profile=prof))
    labels_frame = pd.concat(labels, ignore_index=True)
    return DomainMismatchResult(shift=shift, remedies=remedy_frame(pd.concat(unsupervised, ignore_index=True),
                                                                   labels_frame, per_class=per_class),
                                labels=labels_frame, choices=pd.concat(choices, ignore_index=True),
                                saturation=saturation, fixed=pd.concat(fixed, ignore_index=True), overlap=overlap,
                                per_class=per_class)
