"""Notebook 03's remedies for a domain mismatch, and the label-efficiency curve of fine-tuning.

Few labels train in batches of 16 for :data:`FEW_LABEL_STEPS` optimiser steps, 4 to 20 epochs
(:func:`~tlworkbench.training.epochs_for_steps`), so that 100 images still give 100 steps;
each strategy has its own learning rate (scratch needs a larger one; fine-tuning keeps the
source's weights).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pandas as pd

from ..._validate import check_int, check_names, check_sequence
from ...adaptation import adapt_batchnorm, fit_deep_coral
from ...config import Profile, get_profile, resolve_progress
from ...data import ImageDataset, load_domain, subsample
from ...diagnostics import gain_table
from ...evaluation import evaluate
from ...training import epochs_for_steps, fit
from ...zoo import TransferModel, load_model
from .shift import ARCH, source_model, source_models, stratified_sample

__all__ = ["REMEDY_PAIRS", "BUDGETS", "CORAL_WEIGHT", "METHODS", "FEW_LABEL_STEPS", "remedies", "remedy_gains",
           "label_efficiency", "remedy_table"]

#: (source, target) pairs the remedies are tried on.
REMEDY_PAIRS: tuple[tuple[str, str], ...] = (("font_digits", "mnist"), ("mnist", "mnist+blur0.5"),
                                             ("mnist", "mnist+invert1"))
BUDGETS = (1, 3, 10, 30)
#: Weight of the CORAL term. Sun & Saenko pick it so that the classification and CORAL losses are
#: about equal at the end of training; on these models' 64 features the unweighted CORAL term is
#: a tenth to a thirtieth of the cross-entropy, so 10 brings the two to the same order.
CORAL_WEIGHT = 10.0
METHODS = ("source model", "AdaBN", "target batches (CORAL weight 0)", "Deep CORAL", "fine-tune", "scratch")
FEW_LABEL_STEPS = 100
_FEW_LABEL_BATCH = 16
_FINE_TUNE_LR = 1e-3
_SCRATCH_LR = 1e-2


def _few_labels(kind: str, source: str, labelled: ImageDataset, test: ImageDataset, *, seed: int,
                profile: str | Profile | None, base: TransferModel | None) -> float:
    """Accuracy after training on ``labelled``: fine-tuned from the source model, or from scratch."""
    epochs = epochs_for_steps(len(labelled), steps=FEW_LABEL_STEPS, batch_size=_FEW_LABEL_BATCH, min_epochs=4,
                              max_epochs=20)
    if kind == "fine-tune":
        model = copy.deepcopy(base) if base is not None else source_model(source, profile=profile)
        fit(model, labelled, strategy="fine_tune", epochs=epochs, lr=_FINE_TUNE_LR, batch_size=_FEW_LABEL_BATCH,
            seed=seed, progress=False, profile=profile)
    else:
        model = load_model(ARCH, num_classes=len(labelled.classes), weights=None, seed=seed)
        fit(model, labelled, strategy="scratch", epochs=epochs, lr=_SCRATCH_LR, batch_size=_FEW_LABEL_BATCH,
            seed=seed, progress=False, profile=profile)
    return evaluate(model, test).accuracy


def _strategy(kind: str, source: str) -> str:
    return f"fine-tune from {source}" if kind == "fine-tune" else "scratch"


def remedies(source: str, target: str, *, methods: Sequence[str] = METHODS, per_class: int = 10,
             seeds: Sequence[int] | None = None, unlabelled: int = 2000, coral_weight: float = CORAL_WEIGHT,
             coral_epochs: int = 1, model: TransferModel | None = None, efficiency: pd.DataFrame | None = None,
             profile: str | Profile | None = None, seed: int = 0, progress: bool | None = None) -> pd.DataFrame:
    """Remedies for one source -> target pair, scored on the target's test images.

    Methods (:data:`METHODS`):

    * ``source model``: the source model as it is;
    * ``AdaBN``: its BatchNorm statistics re-estimated on ``unlabelled`` target training images;
    * ``target batches (CORAL weight 0)``: the source model trained on for ``coral_epochs`` with
      source labels while target batches pass through it (BatchNorm sees both domains), without
      the CORAL term: what Deep CORAL gains before its own term counts;
    * ``Deep CORAL``: the same training with the CORAL term weighted by ``coral_weight``;
    * ``fine-tune``: the source model (its digit head kept) fine-tuned on ``per_class`` labelled
      target images per class;
    * ``scratch``: the same architecture trained from a random start on the same labels.

    The unsupervised methods read the same ``unlabelled`` target images, never their labels, and
    run once, with ``seed``. The label-based methods run once per seed of ``seeds``, each seed
    drawing its own labelled subset; runs already in ``efficiency`` (the frame of
    :func:`label_efficiency` for this pair, at ``per_class``) are taken from it.

    Args:
        source: the source data set.
        target: the target domain (``"mnist"``, ``"mnist+blur0.5"``...).
        methods: which of :data:`METHODS` to run.
        per_class: target labels per class of the label-based methods.
        seeds: seeds of the label-based methods (default: the profile's).
        unlabelled: target training images the unsupervised methods may read.
        coral_weight: weight of the CORAL term.
        coral_epochs: passes over the unlabelled target images.
        model: the source model (default: :func:`~.shift.source_model`); it is not changed.
        efficiency: label-efficiency runs to reuse.
        profile: run profile.
        seed: seed of the shifts, the unlabelled sample and the unsupervised training.
        progress: progress bars; ``None``: on in Jupyter only.

    Returns:
        One row per method and seed: ``source``, ``target``, ``method``, ``seed``, ``accuracy``,
        ``target_labels`` (labelled target images used) and ``target_images`` (target training
        images read).

    Raises:
        UnknownNameError: an unknown method (with the closest name).
        InvalidParameterError: empty ``methods`` or ``seeds``, or a bad ``per_class``.
    """
    func = "remedies"
    methods = check_names(methods, "methods", func, METHODS)
    prof = get_profile(profile)
    seeds = check_sequence(prof.seeds if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    per_class = check_int(per_class, "per_class", func, minimum=1)
    progress = resolve_progress(progress)
    model = model if model is not None else source_model(source, profile=prof, progress=progress)
    tgt_train = load_domain(target, split="train", transform=model, profile=prof, seed=seed)
    tgt_test = load_domain(target, split="test", transform=model, profile=prof, seed=seed)
    pool = stratified_sample(tgt_train, unlabelled, seed)
    rows = []

    def add(method: str, accuracy: float, s: int, labels: int, images: int) -> None:
        rows.append({"source": source, "target": target, "method": method, "seed": s, "accuracy": accuracy,
                     "target_labels": labels, "target_images": images})

    if "source model" in methods:
        add("source model", evaluate(model, tgt_test).accuracy, seed, 0, 0)
    if "AdaBN" in methods:
        add("AdaBN", evaluate(adapt_batchnorm(copy.deepcopy(model), pool, progress=progress), tgt_test).accuracy,
            seed, 0, len(pool))
    src_train = None
    for method, weight in (("target batches (CORAL weight 0)", 0.0), ("Deep CORAL", coral_weight)):
        if method in methods:
            if src_train is None:
                src_train = load_domain(source, split="train", transform=model, profile=prof, seed=seed)
            adapted = copy.deepcopy(model)
            fit_deep_coral(adapted, src_train, pool, epochs=coral_epochs, coral_weight=weight, seed=seed,
                           progress=progress, profile=prof)
            add(method, evaluate(adapted, tgt_test).accuracy, seed, 0, len(pool))
    done = pd.DataFrame() if efficiency is None else efficiency[
        (efficiency["source"] == source) & (efficiency["target"] == target) & (efficiency["per_class"] == per_class)]
    for s in seeds:
        labelled = subsample(tgt_train, per_class=per_class, seed=s)
        for kind in ("fine-tune", "scratch"):
            if kind not in methods:
                continue
            found = done[(done["seed"] == s) & (done["strategy"] == _strategy(kind, source))] if len(done) else done
            acc = (float(found["accuracy"].iloc[0]) if len(found) else
                   _few_labels(kind, source, labelled, tgt_test, seed=s, profile=prof, base=model))
            add(kind, acc, s, len(labelled), len(labelled))
    return pd.DataFrame(rows)


def remedy_gains(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy of each method per pair and its gain over the source model, in points.

    The source model runs once per pair and the label-based methods over seeds, so the gain is a
    difference of means (:func:`~tlworkbench.diagnostics.gain_table` with nothing paired).

    Returns:
        One row per pair and method (in the order of :data:`METHODS`): ``source``, ``target``,
        ``method``, ``accuracy`` (mean over seeds), ``sd`` (over seeds; 0 for one run), ``runs``,
        ``gain (points)`` (NaN for a pair without a ``source model`` row).
    """
    present = list(pd.unique(frame["method"]))
    arms = [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]
    table = gain_table(frame, arm_column="method", baseline="source model", arms=arms, by=("source", "target"),
                       pair_on=None)
    return pd.DataFrame({"source": table["source"], "target": table["target"], "method": table["method"],
                         "accuracy": table["mean"], "sd": table["sd"].fillna(0.0), "runs": table["n"],
                         "gain (points)": 100 * table["gain"]})


def label_efficiency(source: str, target: str, *, budgets: Sequence[int] = BUDGETS,
                     seeds: Sequence[int] | None = None, model: TransferModel | None = None,
                     profile: str | Profile | None = None, seed: int = 0,
                     progress: bool | None = None) -> pd.DataFrame:
    """Fine-tuned from the source model against scratch, over labels per class and seeds.

    The labelled subsets are nested (:func:`~tlworkbench.data.subsample`): for one seed, the
    images at a small budget are among those at a larger one. Both strategies train for the
    same epochs (:data:`FEW_LABEL_STEPS` steps) on the same images.

    Returns:
        One row per strategy, budget and seed: ``source``, ``target``, ``strategy``
        (``"fine-tune from <source>"`` or ``"scratch"``), ``per_class``, ``seed``, ``accuracy``.

    Raises:
        InvalidParameterError: empty ``budgets`` or ``seeds``, or a budget below 1.
    """
    func = "label_efficiency"
    prof = get_profile(profile)
    budgets = check_sequence(budgets, "budgets", func, check_int, minimum=1)
    seeds = check_sequence(prof.seeds if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    progress = resolve_progress(progress)
    model = model if model is not None else source_model(source, profile=prof, progress=progress)
    tgt_train = load_domain(target, split="train", transform=model, profile=prof, seed=seed)
    tgt_test = load_domain(target, split="test", transform=model, profile=prof, seed=seed)
    from tqdm.auto import tqdm

    rows = []
    runs = [(s, b, k) for s in seeds for b in budgets for k in ("fine-tune", "scratch")]
    for s, b, kind in tqdm(runs, desc="label budgets", disable=not progress):
        labelled = subsample(tgt_train, per_class=b, seed=s)
        acc = _few_labels(kind, source, labelled, tgt_test, seed=s, profile=prof, base=model)
        rows.append({"source": source, "target": target, "strategy": _strategy(kind, source), "per_class": b,
                     "seed": s, "accuracy": acc})
    return pd.DataFrame(rows)


def remedy_table(pairs: Sequence[tuple[str, str]] = REMEDY_PAIRS, *, models: dict[str, TransferModel] | None = None,
                 efficiency: pd.DataFrame | None = None, seeds: Sequence[int] | None = None,
                 other_seeds: Sequence[int] | None = None, profile: str | Profile | None = None, seed: int = 0,
                 progress: bool | None = None) -> pd.DataFrame:
    """:func:`remedies` of every pair, in one frame.

    The label-based methods run over ``seeds`` on the first pair (the pair of the
    label-efficiency curve, whose runs at 10 labels per class are reused from ``efficiency``) and
    over ``other_seeds`` on the others.

    Args:
        pairs: (source, target) pairs.
        models: source models already loaded, by source (the others are loaded).
        efficiency: :func:`label_efficiency` of the first pair, to reuse.
        seeds: seeds of the first pair (default: the profile's).
        other_seeds: seeds of the other pairs (default: the first of ``seeds`` in the quick
            profile, all of them in the full one).
        profile: run profile.
        seed: seed of the shifts, samples and unsupervised training.
        progress: progress bars; ``None``: on in Jupyter only.
    """
    prof = get_profile(profile)
    pairs = check_sequence(pairs, "pairs", "remedy_table")
    seeds = tuple(prof.seeds if seeds is None else seeds)
    if other_seeds is None:
        other_seeds = seeds[:1] if prof.name == "quick" else seeds
    progress = resolve_progress(progress)
    models = source_models([p[0] for p in pairs], models, prof, progress)
    return pd.concat([remedies(s, t, seeds=seeds if i == 0 else other_seeds, model=models[s], efficiency=efficiency,
                               profile=prof, seed=seed, progress=progress)
                      for i, (s, t) in enumerate(pairs)], ignore_index=True)
