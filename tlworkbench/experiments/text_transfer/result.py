"""Notebook 08's result, the paired comparisons, the sentences computed from them, and the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..._validate import check_int, check_sequence
from ...config import Profile, get_profile
from .._memo import memoized
from .data import DOMAIN, ENCODERS, GENERAL, N_TOP, fortunes_data, packages_data, text_tasks
from .runs import FIELDS, FINE_TUNE_BUDGET, FINE_TUNE_EPOCHS, FINE_TUNE_SEEDS, SEEDS, budget_runs, domain_runs, paired_gains

__all__ = ["ARM_NAMES", "TextTransferResult", "conclude", "run_text_transfer"]

ARM_NAMES = {"tfidf": "TF-IDF", "probe:minilm": "probe on MiniLM", "probe:minilm_sre": "probe on the SRE MiniLM",
             "fine_tune": f"fine-tuned MiniLM (top {N_TOP} layers)"}
_BUDGET_COMPARISONS = (("probe:minilm", "tfidf"), ("fine_tune", "probe:minilm"), ("fine_tune", "tfidf"))
_DOMAIN = ("probe:minilm_sre", "probe:minilm")


@dataclass
class TextTransferResult:
    """Notebook 08's tables and the sentences computed from them.

    Attributes:
        budget: fortunes, one row per seed, budget and arm (:func:`~.runs.budget_runs`).
        budget_gains: paired differences between arms per budget, in points.
        domain: package synopses, one row per seed, budget, arm and test field
            (:func:`~.runs.domain_runs`).
        shift: the shift from the training synopses to each test field, per seed and encoder.
        domain_gains: the SRE MiniLM minus the generic one, per task and budget, in points.
        package_gains: on package synopses, the generic probe minus TF-IDF per budget, in points.
        shift_gains: per arm, accuracy on synopses minus accuracy on long descriptions (the drop),
            and the SRE encoder's drop minus the generic one's.
        shift_summary: per arm: accuracy on each field, the drop, MMD² and proxy A-distance.
        sizes: texts per part and per class.
        duplicates: test texts that are copies of training texts (fortunes; 0 is checked).
        summary: the headline table: mean accuracy per task, budget and arm.
        conclusion: the sentences, computed from the tables.
        tasks: the tasks that ran (:func:`~.data.text_tasks`): both, or the package task alone.
    """

    budget: pd.DataFrame
    budget_gains: pd.DataFrame
    domain: pd.DataFrame
    shift: pd.DataFrame
    domain_gains: pd.DataFrame
    shift_gains: pd.DataFrame
    shift_summary: pd.DataFrame
    sizes: dict[str, Any] = field(default_factory=dict)
    duplicates: int = 0
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    conclusion: str = ""
    package_gains: pd.DataFrame = field(default_factory=pd.DataFrame)
    tasks: tuple[str, ...] = (GENERAL, DOMAIN)


def _drops(domain: pd.DataFrame) -> pd.DataFrame:
    wide = domain[domain["budget"] == "all"].pivot_table(index=["seed", "arm"], columns="test", values="accuracy")
    return (wide["synopsis"] - wide["long"]).rename("drop").reset_index()


def _shift_tables(domain: pd.DataFrame, shift: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = domain[domain["budget"] == "all"]
    gains = paired_gains(runs, [("synopsis", "long")], by=["arm"], column="test")
    drops = _drops(domain).assign(budget="all")
    extra = paired_gains(drops, [_DOMAIN], by=["budget"], value="drop").drop(columns="budget")
    gains = pd.concat([gains, extra.assign(arm="drop")], ignore_index=True)
    acc = runs.pivot_table(index="arm", columns="test", values="accuracy").reindex(columns=list(FIELDS))
    acc.columns = [f"accuracy on {c}" for c in acc.columns]
    acc["accuracy_drop"] = acc["accuracy on synopsis"] - acc["accuracy on long"]
    measures = shift[shift["test"] == "long"].groupby("encoder")[["mmd2", "a_distance"]].mean()
    measures.index = [f"probe:{e}" for e in measures.index]
    table = acc.join(measures)
    table.index.name = "arm"
    return gains, table.reset_index()


def _summary(result: TextTransferResult) -> pd.DataFrame:
    b = result.domain[result.domain["test"] == "synopsis"].assign(task="package synopses (technical)")
    frames = [result.budget.assign(task="fortunes (general)")] if GENERAL in result.tasks else []
    frame = pd.concat([*frames, b], ignore_index=True)
    table = frame.pivot_table(index=["task", "budget"], columns="arm", values="accuracy", aggfunc="mean")
    table = table.reindex(columns=[c for c in ARM_NAMES if c in table.columns]).round(3)
    table.insert(0, "seeds", frame.groupby(["task", "budget"])["seed"].nunique())
    return table


def _row(table: pd.DataFrame, comparison: str, **where: Any) -> pd.Series:
    mask = table["comparison"] == comparison
    for column, value in where.items():
        mask &= table[column] == value
    return table[mask].iloc[0]


def _says(row: pd.Series, better: str, worse: str, neither: str = "no difference shown") -> str:
    return {"a better": better, "b better": worse, "inconclusive": neither}[row["verdict"]]


def conclude(result: TextTransferResult) -> str:
    """The notebook's conclusion, computed from the tables of ``result``.

    Example:
        >>> print(conclude(run_text_transfer(profile="quick")))  # doctest: +SKIP
    """
    lines = []
    if GENERAL in result.tasks:
        lines.extend(_general_lines(result))
    synopses = result.domain[result.domain["test"] == "synopsis"]
    mean = synopses.groupby(["budget", "arm"])["accuracy"].mean()
    for _, g in result.package_gains.iterrows():
        b = g["budget"]
        lines.append(f"Package synopses, {b} labels per class: probe on frozen MiniLM {mean[(b, 'probe:minilm')]:.3f} "
                     f"against TF-IDF {mean[(b, 'tfidf')]:.3f}; probe minus TF-IDF {g['interval']}.")
    for task, label in (("fortunes", "fortunes (general text)"), ("packages", "package synopses (technical text)")):
        for _, g in result.domain_gains[result.domain_gains["task"] == task].iterrows():
            lines.append(f"Domain pretraining on {label}, {g['budget']} labels per class: SRE MiniLM minus generic "
                         f"MiniLM {g['interval']}; {_says(g, 'domain pretraining helps', 'domain pretraining hurts')}.")
    s = result.shift_summary.set_index("arm")
    for arm in s.index:
        g = _row(result.shift_gains, "synopsis - long", arm=arm)
        shift = "" if pd.isna(s.loc[arm, "mmd2"]) else \
            f", shift MMD² {s.loc[arm, 'mmd2']:.3f}, proxy A-distance {s.loc[arm, 'a_distance']:.2f}"
        lines.append(f"Trained on synopses, tested on long descriptions, {ARM_NAMES[arm]}: "
                     f"{s.loc[arm, 'accuracy on synopsis']:.3f} to {s.loc[arm, 'accuracy on long']:.3f}{shift}; "
                     f"synopses minus long descriptions {g['interval']}.")
    g = _row(result.shift_gains, " - ".join(_DOMAIN), arm="drop")
    lines.append(f"The SRE MiniLM's drop minus the generic MiniLM's: {g['interval']}; "
                 f"{_says(g, 'the SRE encoder drops more', 'the generic encoder drops more', 'no difference shown')}.")
    return "\n".join(lines)


def _general_lines(result: TextTransferResult) -> list[str]:
    """The sentences about fortunes: the probe against TF-IDF per budget, and the fine-tune."""
    mean = result.budget.groupby(["budget", "arm"])["accuracy"].mean()
    budgets = list(dict.fromkeys(result.budget["budget"]))
    lines = []
    for b in budgets:
        g = _row(result.budget_gains, "probe:minilm - tfidf", budget=b)
        lines.append(f"Fortunes, {b} labels per class: probe on frozen MiniLM {mean[(b, 'probe:minilm')]:.3f} against "
                     f"TF-IDF {mean[(b, 'tfidf')]:.3f}; probe minus TF-IDF {g['interval']}.")
    b = str(FINE_TUNE_BUDGET)
    if (b, "fine_tune") in mean.index:
        g = _row(result.budget_gains, "fine_tune - probe:minilm", budget=b)
        lines.append(f"Fine-tuning MiniLM's top {N_TOP} layers from the probe ({b} labels per class, "
                     f"{int(g['n'])} seeds) reached {mean[(b, 'fine_tune')]:.3f}; fine-tune minus probe "
                     f"{g['interval']}.")
    return lines


def run_text_transfer(*, profile: str | Profile | None = None, seed: int = 0, seeds: Sequence[int] | None = None,
                      progress: bool | None = None) -> TextTransferResult:
    """Notebook 08's experiment: TF-IDF, probes and fine-tuning on fortunes over label budgets;
    the generic and the SRE MiniLM on fortunes and on package synopses; the shift from synopses
    to long descriptions. Where fortunes are not installed, the package task alone
    (:func:`~.data.text_tasks`): TF-IDF against the probes, both encoders, the shift.

    Args:
        profile: "quick" (a pool of 100 fortunes per class, 300 test fortunes) or "full" (all).
        seed: the first seed; the seeds are ``seed, seed + 1, ...`` (five), unless ``seeds``.
        seeds: the seeds themselves; fine-tuning runs on the first three.
        progress: progress bars (``None``: in Jupyter only).

    Raises:
        MissingAssetError: the package descriptions are absent (not a Debian or Ubuntu system).

    Example:
        >>> result = run_text_transfer(profile="quick")  # doctest: +SKIP
        >>> print(result.conclusion)  # doctest: +SKIP
    """
    func = "run_text_transfer"
    seed = check_int(seed, "seed", func, minimum=0)
    seeds = tuple(seed + s for s in SEEDS) if seeds is None else tuple(check_sequence(seeds, "seeds", func, check_int,
                                                                                        minimum=0))
    # the tasks that can run are part of the stored result's key
    return _run(profile=get_profile(profile).name, seeds=seeds, tasks=text_tasks(), progress=progress)


@memoized
def _run(*, profile: str, seeds: tuple[int, ...], tasks: tuple[str, ...],
         progress: bool | None = None) -> TextTransferResult:
    prof = get_profile(profile)
    general = GENERAL in tasks
    if general:
        fortunes = fortunes_data(prof, progress=progress)
        budget = budget_runs(fortunes, seeds=seeds, progress=progress)
    else:
        budget = pd.DataFrame(columns=["seed", "budget", "per_class", "n_train", "n_val", "arm", "accuracy", "chosen"])
    packages = packages_data(progress=progress)
    domain, shift = domain_runs(packages, seeds=seeds)
    synopses = domain[domain["test"] == "synopsis"]
    budget_gains = paired_gains(budget, _BUDGET_COMPARISONS) if general else pd.DataFrame()
    domain_gains = pd.concat([
        *([paired_gains(budget, [_DOMAIN]).assign(task="fortunes")] if general else []),
        paired_gains(synopses, [_DOMAIN]).assign(task="packages")], ignore_index=True)
    package_gains = paired_gains(synopses, [("probe:minilm", "tfidf")])
    shift_gains, shift_summary = _shift_tables(domain, shift)
    sizes: dict[str, Any] = {}
    if general:
        sizes = {"fortunes pool": len(fortunes["y"]["pool"]), "fortunes test": len(fortunes["y"]["test"]),
                 "fortunes classes": fortunes["classes"]}
    sizes |= {"packages": len(packages["y"]),
              "packages per section": dict(zip(packages["classes"],
                                               pd.Series(packages["y"]).value_counts().sort_index().tolist()))}
    if general:
        sizes["fine-tune"] = {"seeds": len(seeds[:len(FINE_TUNE_SEEDS)]), "epochs": FINE_TUNE_EPOCHS,
                              "budget": FINE_TUNE_BUDGET, "layers": N_TOP}
    parts = [packages, fortunes] if general else [packages]
    sizes["embedding seconds"] = {e: round(sum(v.seconds for d in parts for v in d["emb"][e].values()), 1)
                                  for e in ENCODERS}
    result = TextTransferResult(budget, budget_gains, domain, shift, domain_gains, shift_gains, shift_summary,
                                sizes, fortunes["duplicates"] if general else 0, package_gains=package_gains,
                                tasks=tuple(tasks))
    result.summary = _summary(result)
    result.conclusion = conclude(result)
    return result
