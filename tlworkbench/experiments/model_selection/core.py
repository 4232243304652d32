"""Notebook 05's experiment: rank candidates by scores, fine-tune them for real, compare.

Steps: check that no candidate was pretrained on the target's images (:mod:`.leakage`), score
the others before any training (:func:`~tlworkbench.selection.rank_models`), fine-tune each with
a learning rate and an epoch chosen on validation (:mod:`.ground_truth`) beside a small CNN
trained from scratch with the same tuning, and measure each score's Kendall's τ with an
interval against a heuristic that never looks at the target (:mod:`.ranking`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..._validate import param_error
from ...config import Profile, get_profile, resolve_progress
from ...data import load_dataset, subsample, validation_split
from ...data.registry import missing_datasets
from ...diagnostics import paired_difference
from ...features import FeatureCache
from ...selection import SCORES, Candidate, as_candidates, load_candidate, rank_models
from .._memo import memoized
from .ground_truth import TuningPlan, plan_for, tune_all
from .leakage import check_leakage
from .ranking import ranking_table

__all__ = ["CANDIDATES", "SCORE_NAMES", "HEURISTIC", "candidates_for", "missing_candidates", "candidates_note",
           "ModelSelectionResult", "conclude", "run_model_selection"]

#: Every candidate of notebook 05, before the leakage check: three ImageNet models, small CNNs
#: pretrained by the workbench on digit and non-digit sources, two with shuffled labels, a random init.
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("Lite0 · ImageNet", "efficientnet_lite0", "default"),
    Candidate("Lite1 · ImageNet", "efficientnet_lite1", "default"),
    Candidate("Lite2 · ImageNet", "efficientnet_lite2", "default"),
    Candidate("CNN · OpenCV digits", "small_cnn", "tlw:opencv_digits"),
    Candidate("CNN · font digits", "small_cnn", "tlw:font_digits"),
    Candidate("CNN · Fashion-MNIST", "small_cnn", "tlw:fashion_mnist"),
    Candidate("CNN · animals", "small_cnn", "tlw:animal_mnist"),
    Candidate("CNN · MNIST, shuffled labels", "small_cnn", "tlw:mnist:random"),
    Candidate("CNN · Fashion-MNIST, shuffled labels", "small_cnn", "tlw:fashion_mnist:random"),
    Candidate("CNN · random init", "small_cnn", None),
)

#: How each score is written in tables and conclusions.
SCORE_NAMES = {"logme": "LogME", "h_score": "H-score", "leep": "LEEP", "nce": "NCE",
               "probe_accuracy": "probe accuracy", "params": "parameter count"}

#: The dataset-agnostic ranking every score is compared with: bigger backbones first.
HEURISTIC = "params"

_QUICK_SKIP = ("Lite1 · ImageNet", "Lite2 · ImageNet")


def _profile_candidates(profile: str | Profile | None) -> tuple[Candidate, ...]:
    if get_profile(profile).name == "full":
        return CANDIDATES
    return tuple(c for c in CANDIDATES if c.label not in _QUICK_SKIP)


def missing_candidates(candidates: Sequence[Candidate]) -> dict[str, str]:
    """The candidates pretrained by the workbench on a data set that is not installed: label -> the
    command that installs it."""
    sources = {c.label: c.weights[len("tlw:"):].partition(":")[0] for c in candidates
               if isinstance(c.weights, str) and c.weights.startswith("tlw:")}
    missing = missing_datasets(sources.values())
    return {label: missing[name] for label, name in sources.items() if name in missing}


def candidates_for(profile: str | Profile | None = None) -> tuple[Candidate, ...]:
    """:data:`CANDIDATES` of a profile whose source data are installed: the quick profile leaves out
    Lite1 and Lite2, whose tuned fine-tunes alone would take several CPU minutes, and every profile
    the small CNNs whose source set is absent (:func:`missing_candidates`, :func:`candidates_note`)."""
    chosen = _profile_candidates(profile)
    missing = missing_candidates(chosen)
    return tuple(c for c in chosen if c.label not in missing)


def candidates_note(profile: str | Profile | None = None) -> str:
    """One line naming the profile's candidates left out because their source data set is not
    installed, with the commands that install them; empty when none is."""
    missing = missing_candidates(_profile_candidates(profile))
    if not missing:
        return ""
    commands = ", ".join(f"`{cmd}`" for cmd in dict.fromkeys(missing.values()))
    return f"Left out, their source data set is not installed ({commands}): {', '.join(missing)}."


@dataclass(eq=False)
class ModelSelectionResult:
    """What :func:`run_model_selection` found.

    Attributes:
        target: the target data set.
        per_class: labels per class in the budget (training plus validation part).
        n_train, n_val, n_test: images in the training part, the validation part and the test set.
        plan: how every arm was fine-tuned.
        leakage: :func:`~.leakage.check_leakage`, one row per candidate checked.
        scores: the :func:`~tlworkbench.selection.rank_models` table of the kept candidates.
        runs: validation accuracy of every learning rate of every arm.
        table: one row per kept candidate: the scores, ``params``, the chosen ``lr`` and
            ``best_epoch``, ``val_accuracy``, test ``accuracy``, ``seconds`` (CPU seconds of the
            tuned fine-tune) and ``vs_scratch`` (its difference from scratch, in points).
        scratch: the scratch reference's row (chosen ``lr``, ``best_epoch``, ``accuracy``).
        vs_scratch: each candidate minus scratch in test accuracy points, paired over test images.
        ranking: :func:`~.ranking.ranking_table` (τ, interval, pick, regret, against the heuristic).
        timing: CPU seconds to score all candidates against seconds to fine-tune them.
    """

    target: str
    per_class: int
    n_train: int
    n_val: int
    n_test: int
    plan: TuningPlan
    leakage: pd.DataFrame
    scores: pd.DataFrame
    runs: pd.DataFrame
    table: pd.DataFrame
    scratch: dict[str, Any]
    vs_scratch: pd.DataFrame
    ranking: pd.DataFrame
    timing: pd.DataFrame
    score_columns: list[str] = field(default_factory=lambda: [*SCORES, "probe_accuracy"])

    def __repr__(self) -> str:
        return (f"ModelSelectionResult(target={self.target!r}, candidates={len(self.table)}, "
                f"excluded={int(self.leakage['excluded'].sum())}, scratch={self.scratch['accuracy']:.3f})")

    @property
    def speedup(self) -> float:
        """Fine-tuning seconds over scoring seconds."""
        t = self.timing.set_index("what")["seconds"]
        return float(t["fine-tuning"] / t["scoring"])

    @property
    def summary(self) -> pd.DataFrame:
        """The ranking table with readable score names."""
        out = self.ranking.copy()
        out.insert(0, "score name", [SCORE_NAMES.get(s, s) for s in out["score"]])
        return out.drop(columns=["score"])

    @property
    def conclusion(self) -> str:
        """The finding in sentences, computed from the tables: :func:`conclude`."""
        return conclude(self)


def _signed(value: float, places: int = 2) -> str:
    return f"{value:+.{places}f}".replace("-", "\N{MINUS SIGN}")


def _interval(value: float, low: float, high: float, places: int = 2) -> str:
    return f"{_signed(value, places)} [{_signed(low, places)}, {_signed(high, places)}]"


def conclude(result: ModelSelectionResult) -> str:
    """The notebook's conclusion, written from the result's tables."""
    r = result.ranking.set_index("score")
    scored = r.drop(index=HEURISTIC)
    top = str(scored["kendall_tau"].idxmax())
    v, h = scored.loc[top], r.loc[HEURISTIC]
    best_label = str(result.table.set_index("label")["accuracy"].idxmax())
    b = result.vs_scratch.set_index("label").loc[best_label]
    scratch_part = (f"the best candidate, {best_label}, beat a tuned small CNN from scratch by "
                    if b["verdict"] == "a better" else
                    "no candidate beat a tuned small CNN from scratch (best candidate minus scratch ")
    covers = ", an interval that covers zero" if v.tau_low <= 0 <= v.tau_high else ""
    lines = [f"On {result.target} with {result.per_class} labels per class, {SCORE_NAMES.get(top, top)} ranked the "
             f"{len(result.table)} leakage-free candidates closest to a tuned fine-tune: Kendall's tau "
             f"{_interval(v.kendall_tau, v.tau_low, v.tau_high)} (n = {len(result.table)}, 95% bootstrap over "
             f"candidates{covers}) against {_interval(h.kendall_tau, h.tau_low, h.tau_high)} for ranking by "
             f"{SCORE_NAMES[HEURISTIC]}; {scratch_part}{_interval(b['mean'], b['low'], b['high'], 1)} points "
             f"(n = {int(b['n'])} test images{')' if b['verdict'] == 'a better' else '))'}."]
    leak = result.leakage
    out = leak[leak["excluded"]]
    if len(out):
        parts = [f"{r.label} ({r.shared:,} of its {int(r.images):,} pretraining images are target images: "
                 f"{r.exact:,} exact, {r.resized:,} resized copies)" for r in out.itertuples()]
        lines.append(f"Excluded for leakage: {'; '.join(parts)}.")
    unchecked = leak[~leak["checked"]]["label"].tolist()
    if unchecked:
        lines.append(f"Not checkable offline (pretraining images not on disk): {', '.join(unchecked)}.")
    t = result.table.set_index("label")
    n = len(t)
    best = str(t["accuracy"].idxmax())
    lines.append(f"On {result.target} with {result.per_class} labels per class ({result.n_train} to train, "
                 f"{result.n_val} to validate), {n} candidates reached test accuracies (n = {result.n_test} "
                 f"images) from {t['accuracy'].min():.3f} to {t['accuracy'].max():.3f} after a tuned fine-tune; "
                 f"the best is {best}.")
    s = result.scratch
    vs = result.vs_scratch.set_index("label")
    wins = vs[vs["verdict"] == "a better"].index.tolist()
    losses = vs[vs["verdict"] == "b better"].index.tolist()
    b = vs.loc[best]
    comparison = (f"best candidate minus scratch {_interval(b['mean'], b['low'], b['high'], 1)} points, "
                  f"95% t-interval over n = {int(b['n'])} test images, one training seed")
    if not wins and len(losses) == n:
        verdict = "it beats every candidate: at this budget, transfer from this zoo does not pay"
    elif not wins:
        verdict = f"no candidate beats it ({len(losses)} of {n} are worse, the rest inconclusive)"
    else:
        verdict = f"{len(wins)} of {n} candidates beat it ({', '.join(wins)})"
    lines.append(f"A small CNN trained from scratch with the same tuning reached {s['accuracy']:.3f}: {verdict} "
                 f"({comparison}).")
    edge = t.index[(t["best_epoch"] == t["epochs"]) & (t["epochs"] < result.plan.small_epochs)].tolist()
    if edge:
        lines.append(f"Best epoch = last epoch for {', '.join(edge)} ({result.plan.epochs} epochs in this profile): "
                     "more epochs might lift it.")
    top_lr = max(result.plan.lrs)
    lr_edge = t.index[t["lr"] == top_lr].tolist() + ([s["label"]] if s["lr"] == top_lr else [])
    if lr_edge:
        lines.append(f"{len(lr_edge)} of {n + 1} arms chose the grid's largest learning rate, {top_lr:g}: "
                     f"{', '.join(lr_edge)}.")
    taus = "; ".join(f"{SCORE_NAMES.get(k, k)} {_interval(v.kendall_tau, v.tau_low, v.tau_high)}"
                     for k, v in scored.iterrows())
    lines.append(f"Kendall's tau with the tuned accuracies over n = {n} candidates (95% percentile bootstrap over "
                 f"candidates): {taus}; the dataset-agnostic heuristic, {SCORE_NAMES[HEURISTIC]} (bigger first), "
                 f"{_interval(h.kendall_tau, h.tau_low, h.tau_high)}.")
    beat = scored[scored["verdict"] == "beats the heuristic"].index.tolist()
    if beat:
        cols = ["vs_heuristic", "diff_low", "diff_high"]
        diffs = "; ".join(f"{SCORE_NAMES.get(k, k)} {_interval(*scored.loc[k, cols])}" for k in beat)
        others = ", ".join(f"{SCORE_NAMES.get(k, k)} {row.verdict}" for k, row in scored.iterrows() if k not in beat)
        lines.append(f"Scores whose tau exceeds the heuristic's with the interval of the difference above zero "
                     f"(same resamples): {diffs}. The others: {others}.")
    else:
        lines.append(f"No score beats the heuristic by more than the interval allows; the highest tau, "
                     f"{SCORE_NAMES.get(top, top)}'s, exceeds it by "
                     f"{_interval(v.vs_heuristic, v.diff_low, v.diff_high)}: inconclusive at n = {n}.")
    seconds = result.timing.set_index("what")["seconds"]
    lines.append(f"{SCORE_NAMES.get(top, top)} picks {v.picked} ({v.picked_accuracy:.3f}, regret {v.regret:.3f}). "
                 f"Scoring took {seconds['scoring']:.0f} CPU s, the tuned fine-tunes {seconds['fine-tuning']:.0f} "
                 f"CPU s ({result.speedup:.0f}x).")
    return "\n".join(lines)


@memoized
def run_model_selection(*, profile: str | Profile | None = None, target: str = "mnist", per_class: int = 50,
                        candidates: Sequence[Any] | None = None, plan: TuningPlan | None = None,
                        seed: int = 0, progress: bool | None = None, executor: Any = None,
                        folder: str | os.PathLike | None = None) -> ModelSelectionResult:
    """Check, score and fine-tune candidate models for a target; compare the rankings.

    The target's training split is subsampled to ``per_class`` labels per class and split into
    a training part and a validation part (:func:`~tlworkbench.data.validation_split`); scores
    are computed on the training part (the probe's accuracy on the validation part), every
    choice of the fine-tunes is made on the validation part, and the test split is read once per
    arm, by the chosen run. Candidates that share images with the target's train or test split
    are dropped before anything else. Each arm's tuned fine-tune is one cell of a grid
    (:func:`~.ground_truth.tune_all`): with
    ``executor`` they run in other processes, with ``folder`` each finished one is kept on disk.

    Args:
        profile: run profile; ``None`` reads ``TLW_PROFILE``.
        target: the target data set.
        per_class: labels per class in the budget.
        candidates: the models to consider (default: :func:`candidates_for` the profile, those
            whose source data are installed).
        plan: the fine-tuning plan (default: :func:`~.ground_truth.plan_for` the profile).
        seed: seeds the subsample, the split, the heads and training.
        progress: progress bars (``None``: in Jupyter only).
        executor: a :class:`concurrent.futures.Executor` for the fine-tunes (a Dask client's
            ``get_executor()``, a ``ProcessPoolExecutor``); ``None``: here, one after another.
        folder: keep every finished fine-tune there, and read back those already kept.

    Returns:
        A :class:`ModelSelectionResult`.

    Raises:
        InvalidParameterError: fewer than 3 candidates left after the leakage check.
    """
    prof = get_profile(profile)
    chosen = as_candidates(candidates if candidates is not None else candidates_for(prof))
    plan = plan or plan_for(prof)
    progress = resolve_progress(progress)
    for c in chosen:  # train and cache the tlw: source models first, outside every timing
        load_candidate(c, seed=seed, profile=prof, progress=progress)
    leakage = check_leakage(chosen, target, profile=prof)
    kept = [c for c, out in zip(chosen, leakage["excluded"]) if not out]
    if len(kept) < 3:
        raise param_error("candidates", "run_model_selection", "at least 3 models without leakage, to correlate "
                          "rankings", [c.label for c in kept])
    budget = subsample(load_dataset(target, split="train", profile=prof), per_class=per_class, seed=seed)
    train, val = validation_split(budget, fraction=plan.val_fraction, seed=seed)
    test = load_dataset(target, split="test", profile=prof)

    t0 = time.process_time()
    scores = rank_models(kept, train, target_test=val, cache=FeatureCache(), seed=seed, profile=prof,
                         progress=progress)
    score_cpu = time.process_time() - t0
    rows, runs = tune_all(kept, train, val, test, plan=plan, seed=seed, profile=prof, executor=executor,
                          folder=folder, progress=progress)
    scratch = rows.pop()
    tune_cpu = float(sum(r["seconds"] for r in rows))

    vs = []
    for r in rows:
        d = paired_difference(100 * r["correct"], 100 * scratch["correct"], unit="points")
        vs.append({"label": r["label"], "mean": d.mean, "low": d.low, "high": d.high, "n": d.n, "verdict": d.verdict})
    vs_scratch = pd.DataFrame(vs)
    truth = pd.DataFrame([{k: v for k, v in r.items() if k != "correct"} for r in rows])
    table = scores[["label", *SCORES, "probe_accuracy"]].merge(
        truth[["label", "params", "lr", "best_epoch", "epochs", "val_accuracy", "accuracy", "seconds"]], on="label")
    table["vs_scratch"] = table["label"].map(vs_scratch.set_index("label")["mean"])
    table = table.sort_values("accuracy", ascending=False, kind="stable").reset_index(drop=True)
    ranking = ranking_table(table, [*SCORES, "probe_accuracy"], HEURISTIC, seed=seed)
    timing = pd.DataFrame([
        {"what": "scoring", "seconds": score_cpu, "per_candidate": score_cpu / len(kept),
         "detail": f"features of {len(train)} images per candidate, {', '.join(SCORES)} and a probe"},
        {"what": "fine-tuning", "seconds": tune_cpu, "per_candidate": tune_cpu / len(kept),
         "detail": f"{plan.describe()}; test accuracy on {len(test)} images"},
    ])
    scratch_row = {k: v for k, v in scratch.items() if k != "correct"}
    return ModelSelectionResult(target=target, per_class=per_class, n_train=len(train), n_val=len(val),
                                n_test=len(test), plan=plan, leakage=leakage, scores=scores,
                                runs=runs, table=table, scratch=scratch_row,
                                vs_scratch=vs_scratch, ranking=ranking, timing=timing)
