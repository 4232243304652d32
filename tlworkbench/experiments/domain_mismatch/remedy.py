"""Notebook 03's remedies for a domain mismatch, each compared with the source model left as it is.

The unsupervised remedies (AdaBN, Deep CORAL and its control without the CORAL term) read
unlabelled target training images, never a target label, so nothing of theirs is chosen on target
labels: AdaBN has no parameter, Deep CORAL keeps its paper's rule for the weight of its term
(:data:`CORAL_WEIGHT`) and the training defaults of :func:`~tlworkbench.adaptation.fit_deep_coral`.
Each seed draws its own unlabelled sample and (Deep CORAL) its own batches. The label-based
remedies are :mod:`.labels`' runs. The source model has no random part: it scores the same on
every seed, and every remedy is paired with it seed by seed.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import pandas as pd

from ..._validate import check_int, check_names, check_sequence, param_error
from ...adaptation import adapt_batchnorm, fit_deep_coral
from ...config import Profile, get_profile
from ...data import ImageDataset
from ...diagnostics import gain_table
from ...evaluation import evaluate
from ...zoo import TransferModel
from .shift import stratified_sample

__all__ = ["REMEDY_PAIRS", "CORAL_WEIGHT", "UNSUPERVISED", "METHODS", "PER_CLASS", "unsupervised_remedies",
           "remedy_frame", "remedy_gains"]

#: (source, target) pairs the remedies are tried on.
REMEDY_PAIRS: tuple[tuple[str, str], ...] = (("font_digits", "mnist"), ("mnist", "mnist+blur0.5"),
                                             ("mnist", "mnist+invert1"))
#: Weight of the CORAL term. Sun & Saenko pick it so that the classification and CORAL losses are
#: about equal at the end of training; on these models' 64 features the unweighted CORAL term is
#: a tenth to a thirtieth of the cross-entropy, so 10 brings the two to the same order.
CORAL_WEIGHT = 10.0
UNSUPERVISED = ("source model", "AdaBN", "target batches (CORAL weight 0)", "Deep CORAL")
METHODS = (*UNSUPERVISED, "fine-tune", "scratch")
#: Labelled target images per class of the label-based remedies (validation included).
PER_CLASS = 10


def unsupervised_remedies(source: str, target: str, *, model: TransferModel, train: ImageDataset,
                          test: ImageDataset, source_train: ImageDataset | None = None,
                          methods: Sequence[str] = UNSUPERVISED, seeds: Sequence[int] | None = None,
                          unlabelled: int = 1000, coral_weight: float = CORAL_WEIGHT, coral_epochs: int = 1,
                          profile: str | Profile | None = None) -> pd.DataFrame:
    """The remedies that use no target label, over seeds, scored on the target's test images.

    Methods (:data:`UNSUPERVISED`):

    * ``source model``: the source model as it is (the same on every seed);
    * ``AdaBN``: its BatchNorm statistics re-estimated on ``unlabelled`` target training images;
    * ``target batches (CORAL weight 0)``: the source model trained on for ``coral_epochs`` with
      source labels while target batches pass through it (BatchNorm sees both domains), without
      the CORAL term: what Deep CORAL gains before its own term counts;
    * ``Deep CORAL``: the same training with the CORAL term weighted by ``coral_weight``.

    Args:
        source: the source data set (for the table).
        target: the target domain (for the table).
        model: the source model; it is not changed.
        train: the target's training images, read through the model (their labels are not read).
        test: the target's test images, read through the model.
        source_train: the source's labelled training images (needed by the two CORAL methods).
        methods: which of :data:`UNSUPERVISED` to run.
        seeds: seeds of the unlabelled sample and the training (default: the profile's).
        unlabelled: target training images each method may read.
        coral_weight: weight of the CORAL term.
        coral_epochs: passes over the unlabelled target images.
        profile: run profile.

    Returns:
        One row per method and seed: ``source``, ``target``, ``method``, ``seed``, ``accuracy``,
        ``target_labels`` (0) and ``target_images`` (target training images read).

    Raises:
        UnknownNameError: an unknown method (with the closest name).
        InvalidParameterError: empty ``seeds``, a bad ``unlabelled``, or a CORAL method without
            ``source_train``.
    """
    func = "unsupervised_remedies"
    methods = check_names(methods, "methods", func, UNSUPERVISED)
    prof = get_profile(profile)
    seeds = check_sequence(prof.seeds if seeds is None else seeds, "seeds", func, check_int, minimum=0)
    unlabelled = check_int(unlabelled, "unlabelled", func, minimum=2)
    coral = [(m, w) for m, w in (("target batches (CORAL weight 0)", 0.0), ("Deep CORAL", coral_weight))
             if m in methods]
    if coral and source_train is None:
        raise param_error("source_train", func, "the source's labelled training images for the CORAL methods",
                          source_train)
    untouched = evaluate(model, test).accuracy if "source model" in methods else None
    rows = []

    def add(method: str, accuracy: float, s: int, images: int) -> None:
        rows.append({"source": source, "target": target, "method": method, "seed": s, "accuracy": accuracy,
                     "target_labels": 0, "target_images": images})

    for s in seeds:
        pool = stratified_sample(train, min(unlabelled, len(train)), s)
        if untouched is not None:
            add("source model", untouched, s, 0)
        if "AdaBN" in methods:
            add("AdaBN", evaluate(adapt_batchnorm(copy.deepcopy(model), pool), test).accuracy, s, len(pool))
        for method, weight in coral:
            adapted = copy.deepcopy(model)
            fit_deep_coral(adapted, source_train, pool, epochs=coral_epochs, coral_weight=weight, seed=s,
                           progress=False, profile=prof)
            add(method, evaluate(adapted, test).accuracy, s, len(pool))
    return pd.DataFrame(rows)


def remedy_frame(unsupervised: pd.DataFrame, labels: pd.DataFrame, *, per_class: int = PER_CLASS) -> pd.DataFrame:
    """The unsupervised runs and the label-based runs at ``per_class``, as one frame of methods.

    Returns:
        The columns of :func:`unsupervised_remedies`, plus ``lr`` (NaN for the unsupervised
        methods); label-based rows are named ``fine-tune`` and ``scratch``.
    """
    chosen = labels[labels["per_class"] == per_class]
    rows = pd.DataFrame({"source": chosen["source"], "target": chosen["target"], "method": chosen["strategy"],
                         "seed": chosen["seed"], "accuracy": chosen["accuracy"],
                         "target_labels": chosen["n_train"] + chosen["n_val"],
                         "target_images": chosen["n_train"] + chosen["n_val"], "lr": chosen["lr"]})
    frame = pd.concat([unsupervised.assign(lr=float("nan")), rows], ignore_index=True)
    pairs = list(dict.fromkeys(zip(frame["source"], frame["target"])))
    frame["_pair"] = [pairs.index(p) for p in zip(frame["source"], frame["target"])]
    frame["_method"] = [METHODS.index(m) if m in METHODS else len(METHODS) for m in frame["method"]]
    frame = frame.sort_values(["_pair", "_method", "seed"], kind="stable")
    return frame.drop(columns=["_pair", "_method"]).reset_index(drop=True)


def remedy_gains(frame: pd.DataFrame, *, baseline: str = "source model", arms: Sequence[str] | None = None,
                 level: float = 0.95) -> pd.DataFrame:
    """Each method against ``baseline`` per pair, paired on seed, with a t-interval, in points.

    Returns:
        One row per pair and method (in the order of :data:`METHODS`): ``source``, ``target``,
        ``method``, ``n`` (seeds), ``accuracy`` (mean over seeds), ``sd``, ``gain (points)``,
        ``low``, ``high`` (the 95% t-interval of the mean paired gain, in points), ``wins`` (seeds
        on which the method did better) and ``verdict`` (``"inconclusive"`` when the interval
        covers 0).
    """
    present = list(pd.unique(frame["method"]))
    if arms is None:
        arms = [m for m in METHODS if m in present and m != baseline] + \
            [m for m in present if m not in METHODS and m != baseline]
    with warnings.catch_warnings():  # the warning below 5 seeds: n stands beside every interval
        warnings.filterwarnings("ignore", message="paired_difference got n =", category=UserWarning)
        table = gain_table(frame, arm_column="method", baseline=baseline, arms=list(arms), by=("source", "target"),
                           pair_on="seed", interval="t", level=level)
    return pd.DataFrame({"source": table["source"], "target": table["target"], "method": table["method"],
                         "n": table["n"], "accuracy": table["mean"], "sd": table["sd"],
                         "gain (points)": 100 * table["gain"], "low": 100 * table["low"],
                         "high": 100 * table["high"], "wins": table["wins"], "verdict": table["verdict"]})
