"""Notebook 05, model selection: do transferability scores pick the model that fine-tunes best?

A zoo of candidates (ImageNet EfficientNet-Lite0/1/2, small CNNs pretrained by the workbench on
related and unrelated sources, one on shuffled labels, one randomly initialised) is ranked for
one target task twice: by transferability scores computed before any training
(:func:`~tlworkbench.selection.rank_models`), and by the accuracy each candidate reaches after
the same fixed transfer recipe. Kendall's τ between the two rankings says how much a score can
be trusted; the seconds each took say what it saves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from .._validate import param_error
from ..config import Profile, get_profile, resolve_progress
from ..data import load_dataset, subsample
from ..evaluation import evaluate
from ..features import FeatureCache
from ..selection import SCORES, Candidate, as_candidates, load_candidate, rank_models, score_vs_accuracy
from ..training import fit
from ..training.budget import DEFAULT_MIN_STEPS

__all__ = [
    "CANDIDATES",
    "SCORE_NAMES",
    "ProbeThenFineTune",
    "ModelSelectionResult",
    "default_recipe",
    "fine_tune_candidates",
    "run_model_selection",
    "plot_score_vs_accuracy",
]

#: The candidates of notebook 05: three ImageNet models, five workbench source models, a random init.
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("Lite0 · ImageNet", "efficientnet_lite0", "default"),
    Candidate("Lite1 · ImageNet", "efficientnet_lite1", "default"),
    Candidate("Lite2 · ImageNet", "efficientnet_lite2", "default"),
    Candidate("CNN · OpenCV digits", "small_cnn", "tlw:opencv_digits"),
    Candidate("CNN · font digits", "small_cnn", "tlw:font_digits"),
    Candidate("CNN · Fashion-MNIST", "small_cnn", "tlw:fashion_mnist"),
    Candidate("CNN · animals", "small_cnn", "tlw:animal_mnist"),
    Candidate("CNN · MNIST, shuffled labels", "small_cnn", "tlw:mnist:random"),
    Candidate("CNN · random init", "small_cnn", None),
)

#: How each score is written in tables and conclusions.
SCORE_NAMES = {"logme": "LogME", "h_score": "H-score", "leep": "LEEP", "nce": "NCE",
               "probe_accuracy": "probe accuracy"}


@dataclass(frozen=True)
class ProbeThenFineTune:
    """The fixed transfer recipe every candidate is trained with: a linear probe, then a fine-tune.

    The new head is first fitted on the frozen backbone's features (full-batch L-BFGS on
    features computed once), then every layer is fine-tuned with AdamW and a one-cycle schedule
    (LP-FT, Kumar et al., 2022). BatchNorm layers keep their running statistics and affine
    parameters during the fine-tune: with a few hundred images in batches of 32, re-estimated
    statistics would move the features under the probed head. The same numbers are used for
    every candidate.

    Attributes:
        probe_steps: L-BFGS steps of the linear probe (each up to 20 iterations).
        epochs: fine-tuning epochs over the target training set (at least).
        min_steps: fine-tuning optimiser steps (at least; more epochs when the data are small).
        lr: peak learning rate of the fine-tune.
        batch_size: examples per fine-tuning step.
    """

    probe_steps: int = 5
    epochs: int = 1
    min_steps: int = DEFAULT_MIN_STEPS
    lr: float = 1e-4
    batch_size: int = 32

    def describe(self) -> str:
        """One line for tables and conclusions."""
        return (f"a linear probe (L-BFGS, {self.probe_steps} steps), then fine-tuning of every layer but "
                f"BatchNorm for at least {self.epochs} epoch(s) and {self.min_steps} steps (AdamW, one-cycle, lr {self.lr:g}, batch {self.batch_size})")


def default_recipe(profile: str | Profile | None = None) -> ProbeThenFineTune:
    """The recipe of the profile: 1 fine-tuning epoch in the quick profile, 5 in the full one."""
    return ProbeThenFineTune(epochs=1 if get_profile(profile).name == "quick" else 5)


def _freeze_batchnorm(model: Any) -> None:
    # frozen BatchNorm parameters keep their layers in eval mode (the model's bn_policy "frozen")
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.requires_grad_(False)


def fine_tune_candidates(candidates: Sequence[Any], train: Any, test: Any, *,
                         recipe: ProbeThenFineTune | None = None, seed: int = 0,
                         profile: str | Profile | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Transfer every candidate to the target with the same recipe and measure its test accuracy.

    Each candidate gets a fresh head for the target's classes (seeded), a linear probe, then a
    short fine-tune of all layers (:class:`ProbeThenFineTune`). Nothing is cached between candidates or
    shared with a scoring run: each fit extracts its own features.

    Args:
        candidates: as for :func:`~tlworkbench.selection.rank_models`.
        train: the labelled target training set.
        test: the held-out target test set.
        recipe: the transfer recipe (default: :func:`default_recipe`).
        seed: seeds the new heads and the training runs.
        profile: run profile.
        progress: progress bars (``None``: in Jupyter only).

    Returns:
        One row per candidate, in the order given: ``label``, ``accuracy`` (on ``test``, after the
        whole recipe), ``fit_seconds`` (both training phases), ``evaluate_seconds`` (the test
        pass) and ``seconds`` (their sum).
    """
    prof = get_profile(profile)
    recipe = recipe or default_recipe(prof)
    progress = resolve_progress(progress)
    num_classes = len(train.classes)
    rows = []
    for c in as_candidates(candidates):
        model = load_candidate(c, num_classes=num_classes, seed=seed, profile=prof, progress=progress)
        t0 = time.perf_counter()
        fit(model, train, strategy="linear_probe", optimizer="lbfgs", epochs=recipe.probe_steps, seed=seed,
            cache=False, progress=progress, profile=prof)
        _freeze_batchnorm(model)
        fit(model, train, strategy="fine_tune", epochs=recipe.epochs, lr=recipe.lr, batch_size=recipe.batch_size,
            min_steps=recipe.min_steps, seed=seed, cache=False, progress=progress, profile=prof)
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        acc = evaluate(model, test).accuracy
        eval_seconds = time.perf_counter() - t0
        rows.append({"label": c.label, "accuracy": acc, "fit_seconds": fit_seconds,
                     "evaluate_seconds": eval_seconds, "seconds": fit_seconds + eval_seconds})
        del model
    return pd.DataFrame(rows)


@dataclass(eq=False)
class ModelSelectionResult:
    """What :func:`run_model_selection` found.

    Attributes:
        target: the target data set.
        per_class: labelled target examples per class used for scoring and transfer.
        n_test: test examples the accuracies are measured on.
        recipe: the transfer recipe.
        scores: the :func:`~tlworkbench.selection.rank_models` table (with timings).
        transfer: the :func:`fine_tune_candidates` table.
        table: one row per candidate, best LogME first: the scores, the accuracy after transfer,
            and the rank by each.
        correlation: :func:`~tlworkbench.selection.score_vs_accuracy`: Kendall's τ, Pearson's r,
            the candidate each score picks and the accuracy that pick loses (``regret``).
        timing: seconds to score all candidates against seconds to fine-tune and evaluate them.
        speedup: fine-tuning seconds over scoring seconds.
    """

    target: str
    per_class: int
    n_test: int
    recipe: ProbeThenFineTune
    scores: pd.DataFrame
    transfer: pd.DataFrame
    table: pd.DataFrame
    correlation: pd.DataFrame
    timing: pd.DataFrame
    speedup: float
    score_columns: list[str] = field(default_factory=lambda: list(SCORES))

    def __repr__(self) -> str:
        return (f"ModelSelectionResult(target={self.target!r}, candidates={len(self.table)}, "
                f"best_score={self.best_score!r}, tau={self.best_tau:.3f}, speedup={self.speedup:.1f})")

    @property
    def best_score(self) -> str:
        """The score whose ranking agrees best with the accuracies (largest Kendall's τ)."""
        corr = self.correlation[self.correlation["score"].isin(self.score_columns)]
        return str(corr.sort_values("kendall_tau", ascending=False, na_position="last")["score"].iloc[0])

    @property
    def best_tau(self) -> float:
        """Kendall's τ of :attr:`best_score`."""
        return float(self.correlation.set_index("score").loc[self.best_score, "kendall_tau"])

    @property
    def summary(self) -> pd.DataFrame:
        """Kendall's τ and Pearson's r per score, with the model each picks; one row per score."""
        out = self.correlation.copy()
        out.insert(0, "score name", [SCORE_NAMES.get(s, s) for s in out["score"]])
        return out[["score name", "kendall_tau", "kendall_p", "pearson_r", "picked", "picked_accuracy", "regret"]]

    @property
    def conclusion(self) -> str:
        """The finding in sentences, with the numbers computed above."""
        corr = self.correlation.set_index("score")
        best = self.best_score
        acc = self.table.set_index("label")["accuracy"]
        top = str(acc.idxmax())
        others = ", ".join(f"{SCORE_NAMES.get(s, s)} {corr.loc[s, 'kendall_tau']:.2f}"
                           for s in self.score_columns if s != best)
        picked = corr.loc[best, "picked"]
        pick = (f"picked the model that transferred best ({picked}, accuracy {acc[picked]:.3f})"
                if corr.loc[best, "regret"] == 0 else
                f"picked {picked} (accuracy {acc[picked]:.3f}; the best, {top}, reached {acc[top]:.3f})")
        t = self.timing.set_index("what")["seconds"]
        n = len(self.table)
        return (
            f"On {self.target} with {self.per_class} labels per class, {n} candidate models reached test "
            f"accuracies from {acc.min():.3f} to {acc.max():.3f} after the same transfer recipe: "
            f"{self.recipe.describe()}. "
            f"{SCORE_NAMES.get(best, best)} ranked them closest to those accuracies: Kendall's tau = "
            f"{corr.loc[best, 'kendall_tau']:.2f} (Pearson's r = {corr.loc[best, 'pearson_r']:.2f}; the other "
            f"scores: {others}), and {pick}. Scoring all {n} candidates took {t['scoring']:.1f} s, fine-tuning "
            f"and evaluating them {t['fine-tuning']:.1f} s: {self.speedup:.0f}x faster."
        )


def _ranks(values: pd.Series) -> pd.Series:
    return values.rank(ascending=False, method="min").astype(int)


def run_model_selection(*, profile: str | Profile | None = None, target: str = "mnist", per_class: int = 50,
                        candidates: Sequence[Any] = CANDIDATES, recipe: ProbeThenFineTune | None = None,
                        seed: int = 0, progress: bool | None = None) -> ModelSelectionResult:
    """Rank candidate models for a target by transferability scores and by accuracy after transfer.

    The target's training split is subsampled to ``per_class`` labels per class; those labels
    are all that scoring and transfer see. Scores come from :func:`rank_models` with a fresh
    feature cache (so the timing includes every feature extraction); accuracies from
    :func:`fine_tune_candidates` on the target's test split (the profile caps its size). Model
    loading is timed in neither: the first load of a ``tlw:`` source trains it once and caches it.

    Args:
        profile: run profile (image size, test size, recipe); ``None`` reads ``TLW_PROFILE``.
        target: the target data set.
        per_class: labelled target examples per class.
        candidates: the models to compare (at least 3, for a correlation).
        recipe: the transfer recipe (default: :func:`default_recipe`).
        seed: seeds the subsample, the new heads and training.
        progress: progress bars (``None``: in Jupyter only).

    Returns:
        A :class:`ModelSelectionResult`.

    Raises:
        InvalidParameterError: fewer than 3 candidates.

    Example:
        >>> result = run_model_selection(profile="quick")      # doctest: +SKIP
        >>> result.summary                             # doctest: +SKIP
    """
    prof = get_profile(profile)
    chosen = as_candidates(candidates)
    if len(chosen) < 3:
        raise param_error("candidates", "run_model_selection", "at least 3 models, to correlate rankings",
                          [c.label for c in chosen])
    recipe = recipe or default_recipe(prof)
    progress = resolve_progress(progress)
    for c in chosen:  # train and cache the tlw: source models first, outside every timing
        load_candidate(c, seed=seed, profile=prof, progress=progress)
    train = subsample(load_dataset(target, split="train", profile=prof), per_class=per_class, seed=seed)
    test = load_dataset(target, split="test", profile=prof)

    scores = rank_models(chosen, train, cache=FeatureCache(), seed=seed, profile=prof, progress=progress)
    transfer = fine_tune_candidates(chosen, train, test, recipe=recipe, seed=seed, profile=prof, progress=progress)
    accuracy = transfer.set_index("label")["accuracy"]
    correlation = score_vs_accuracy(scores, accuracy)

    table = scores[["label", "weights", *SCORES]].copy()
    table["accuracy"] = table["label"].map(accuracy)
    table["accuracy_rank"] = _ranks(table["accuracy"])
    for s in SCORES:
        table[f"{s}_rank"] = _ranks(table[s])

    score_s = float(scores["score_seconds"].sum())
    tune_s = float(transfer["seconds"].sum())
    timing = pd.DataFrame([
        {"what": "scoring", "seconds": score_s, "per_candidate": score_s / len(chosen),
         "detail": f"features of {len(train)} images once per candidate, then {', '.join(SCORES)}"},
        {"what": "fine-tuning", "seconds": tune_s, "per_candidate": tune_s / len(chosen),
         "detail": f"{recipe.describe()}; test accuracy on {len(test)} images"},
    ])
    return ModelSelectionResult(target=target, per_class=per_class, n_test=len(test), recipe=recipe,
                                scores=scores, transfer=transfer, table=table, correlation=correlation,
                                timing=timing, speedup=tune_s / score_s)


def plot_score_vs_accuracy(result: ModelSelectionResult, *, scores: Sequence[str] | None = None,
                           axes: Any = None) -> np.ndarray:
    """Scatter each score against the accuracy after transfer, one panel per score.

    Args:
        result: from :func:`run_model_selection`.
        scores: the score columns to draw (default: all four).
        axes: a sequence of Axes, one per score; ``None`` makes a row of them.

    Returns:
        The array of Axes drawn on; each panel's title carries Kendall's τ.
    """
    import matplotlib.pyplot as plt

    names = list(scores) if scores is not None else list(result.score_columns)
    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False,
                               layout="constrained")
    axes = np.asarray(axes).ravel()
    if len(axes) < len(names):
        raise param_error("axes", "plot_score_vs_accuracy", f"one Axes per score ({len(names)})", axes)
    tau = result.correlation.set_index("score")["kendall_tau"]
    table = result.table
    colours: Callable[[int], Any] = plt.get_cmap("tab10")
    for ax, s in zip(axes, names):
        for i, row in enumerate(table.itertuples(index=False)):
            ax.scatter(getattr(row, s), row.accuracy, color=colours(i % 10), label=row.label, s=36)
        ax.set_xlabel(SCORE_NAMES.get(s, s))
        ax.set_title(f"{SCORE_NAMES.get(s, s)}: Kendall's τ = {tau[s]:.2f}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy after transfer")
    axes[len(names) - 1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return axes[:len(names)]
