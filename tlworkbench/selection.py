"""Model selection before training: rank candidate models by transferability scores.

Fine-tuning every pretrained model on a new task to see which one transfers best costs a
training run per candidate. Transferability scores (:mod:`tlworkbench.diagnostics`) estimate
the same ranking from one forward pass: each candidate's backbone features of the labelled
target data (LogME, H-score) and its source head's predictions on them (LEEP, NCE).
:func:`rank_models` computes them for a list of candidates in one table, with the seconds each
step took, and :func:`score_vs_accuracy` checks a ranking against the accuracies that transfer
actually reached.

A candidate is a zoo model with weights: ``("EfficientNet-Lite0", "efficientnet_lite0",
"default")``, ``("fonts", "small_cnn", "tlw:font_digits")`` or ``("random", "small_cnn", None)``.
The source head is the model's own: the 1,000 ImageNet classes for published ImageNet weights,
the source classes for a ``tlw:<source>`` model, a randomly initialised head for ``weights=None``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from . import diagnostics
from ._validate import (check_choice, check_int, check_names, check_optional, check_sequence, check_type,
                        param_error)
from .config import Profile, get_profile, resolve_progress
from .errors import DataError, InvalidParameterError
from .features import FeatureCache, default_cache, extract_features
from .training import fit_probe, probe_accuracy
from .zoo import TransferModel, get_spec, load_model

__all__ = [
    "Candidate",
    "SCORES",
    "as_candidates",
    "candidate_image_size",
    "load_candidate",
    "rank_models",
    "score_vs_accuracy",
]

#: The transferability scores :func:`rank_models` knows; larger is better for each of them.
SCORES: tuple[str, ...] = ("logme", "h_score", "leep", "nce")

# Scores computed from backbone features; the others read the source head's predictions.
_FEATURE_SCORES = {"logme": diagnostics.logme, "h_score": diagnostics.h_score}
_PROBE = "probe_accuracy"


@dataclass(frozen=True)
class Candidate:
    """A pretrained model to rank: a zoo name with its weights.

    Attributes:
        label: the name shown in tables and plots (unique within a ranking).
        name: a zoo name (:func:`~tlworkbench.zoo.list_models`).
        weights: as for :func:`~tlworkbench.zoo.load_model`: ``"default"``, ``None`` (random
            initialisation), ``"tlw:<source>"``, or a path.
        image_size: input side in pixels; ``None`` uses :func:`candidate_image_size`.
    """

    label: str
    name: str
    weights: str | None = "default"
    image_size: int | None = None


_FORMS = ("a Candidate, a zoo name, a (label, name, weights) or (name, weights) tuple, or a dict with 'name' "
          "(and 'label', 'weights', 'image_size')")


def _candidate_from(item: Any, index: int) -> Candidate:
    func, name = "as_candidates", f"candidates[{index}]"
    if isinstance(item, Candidate):
        return item
    if isinstance(item, str):
        return Candidate(label=item, name=item)
    if isinstance(item, Mapping):
        unknown = sorted(set(item) - {"label", "name", "weights", "image_size"})
        if "name" not in item or unknown:
            hint = (f"Unknown keys {unknown}." if unknown else "It has no 'name' key.")
            raise param_error(name, func, _FORMS, dict(item), hint=hint)
        weights = item.get("weights", "default")
        label = item.get("label") or (f"{item['name']}:{weights}" if weights != "default" else item["name"])
        return Candidate(label=str(label), name=str(item["name"]), weights=weights,
                         image_size=item.get("image_size"))
    if isinstance(item, tuple) and len(item) == 3:
        label, model, weights = item
        return Candidate(label=str(label), name=str(model), weights=weights)
    if isinstance(item, tuple) and len(item) == 2:
        model, weights = item
        return Candidate(label=f"{model}:{weights}", name=str(model), weights=weights)
    raise param_error(name, func, _FORMS, item)


def as_candidates(candidates: Iterable[Any]) -> list[Candidate]:
    """Normalise and check a list of candidates, without loading any model.

    Args:
        candidates: :class:`Candidate` objects, zoo names, ``(label, name, weights)`` or
            ``(name, weights)`` tuples, or dicts with ``name`` (and ``label``, ``weights``,
            ``image_size``).

    Returns:
        The candidates as :class:`Candidate` objects, in the order given.

    Raises:
        InvalidParameterError: no candidates, two candidates with the same label, an entry of
            another shape, or a bad ``image_size``.
        UnknownModelError: a name that is not in the zoo (with the closest name).

    Example:
        >>> [c.label for c in as_candidates([("fonts", "small_cnn", "tlw:font_digits"), "small_cnn"])]
        ['fonts', 'small_cnn']
    """
    func = "as_candidates"
    if isinstance(candidates, (str, Candidate, Mapping)) or (
            isinstance(candidates, tuple) and len(candidates) in (2, 3)
            and all(isinstance(c, str) or c is None for c in candidates)):
        raise param_error("candidates", func, "a list of candidates", candidates,
                          hint="Wrap a single candidate in a list: [('Lite0', 'efficientnet_lite0', 'default')].")
    out = [_candidate_from(item, i) for i, item in enumerate(check_sequence(candidates, "candidates", func))]
    seen: dict[str, int] = {}
    for i, c in enumerate(out):
        get_spec(c.name)  # an unknown name fails here, before any model is loaded or trained
        if c.label in seen:
            raise param_error("candidates", func, "candidates with distinct labels", [x.label for x in out],
                              hint=f"Candidates {seen[c.label]} and {i} share the label {c.label!r}; give "
                                   "each its own: (label, name, weights).")
        seen[c.label] = i
        check_optional(c.image_size, check_int, f"candidates[{i}].image_size", func, minimum=1)
    return out


def candidate_image_size(name: str, *, profile: str | Profile | None = None) -> int:
    """The input size a candidate is ranked and trained at: its card's, capped by the profile's.

    ImageNet models are run at the profile's image size (64 px in the quick profile) rather than
    their published 224-260 px, which keeps a CPU run within minutes; small models trained at
    32 px stay at 32 px.

    Example:
        >>> candidate_image_size("efficientnet_lite2", profile="quick")
        64
        >>> candidate_image_size("small_cnn", profile="quick")
        32
    """
    spec = get_spec(name)
    if spec.modality != "image":
        return spec.input_size
    return int(min(spec.input_size, get_profile(profile).image_size))


def load_candidate(candidate: Candidate | Any, *, num_classes: int | None = None, seed: int | None = 0,
                   profile: str | Profile | None = None, progress: bool | None = None) -> TransferModel:
    """:func:`~tlworkbench.zoo.load_model` for a candidate: its name, weights and image size.

    Args:
        candidate: a :class:`Candidate` or anything :func:`as_candidates` accepts for one entry.
        num_classes: outputs of a fresh head; ``None`` keeps the source head.
        seed: seeds the random initialisation of fresh layers (and of ``weights=None``).
        profile: run profile (image size, and the size of a ``tlw:`` source trained on first use).
        progress: show the progress of a ``tlw:`` source model trained on first use.

    Returns:
        ``load_model(c.name, weights=c.weights, image_size=..., ...)``, in eval mode.
    """
    c = candidate if isinstance(candidate, Candidate) else as_candidates([candidate])[0]
    return load_model(c.name, num_classes=num_classes, weights=c.weights, seed=seed, profile=profile,
                      image_size=c.image_size or candidate_image_size(c.name, profile=profile), progress=progress)


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _source_probabilities(model: TransferModel, features: torch.Tensor) -> np.ndarray:
    head = model.head
    was_training = head.training
    head.eval()
    try:
        device = next(head.parameters()).device
        with torch.no_grad():
            probs = torch.softmax(head(features.to(device)).float(), dim=1).double().cpu().numpy()
    finally:
        head.train(was_training)
    # float64 rows so that the probability check of LEEP sees sums of 1
    return probs / probs.sum(axis=1, keepdims=True)


def rank_models(candidates: Iterable[Any], data: Any, *, target_test: Any = None,
                scores: Sequence[str] = SCORES, sort_by: str | None = None,
                cache: bool | FeatureCache = True, batch_size: int = 256,
                device: str | torch.device | None = None, seed: int = 0,
                profile: str | Profile | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Score every candidate's transferability to a labelled target set, before any training.

    For each candidate the model is loaded with its source head, the backbone's features of
    ``data`` are extracted once (through the feature cache), and each score is computed from
    them: LogME and H-score from the features, LEEP from the source head's probabilities and NCE
    from its hard predictions. Each step is timed.

    Args:
        candidates: the models to rank; see :func:`as_candidates` for the accepted forms.
        data: the labelled target training set (from :func:`~tlworkbench.data.load_dataset`,
            e.g. a :func:`~tlworkbench.data.subsample` of it). It is read through each
            candidate's own transforms.
        target_test: an optional labelled held-out target set; when given, a linear probe
            (:func:`~tlworkbench.training.fit_probe`) is trained on each candidate's features of
            ``data`` and its accuracy on ``target_test`` is reported (``probe_accuracy``, a cheap
            reference accuracy).
        scores: which of :data:`SCORES` to compute.
        sort_by: the score the table is sorted by, best first (default: the first of ``scores``).
        cache: feature cache: ``True`` (the process-wide one), ``False`` or a
            :class:`~tlworkbench.features.FeatureCache`. With a cache hit the extraction is not
            repeated and ``features_seconds`` shows the lookup only (``features_cached``).
        batch_size: images per forward pass.
        device: where the backbones run (default: :func:`~tlworkbench.config.get_device`).
        seed: seeds the random layers of candidates without published weights.
        profile: run profile (image size; size of ``tlw:`` sources trained on first use).
        progress: progress bars for feature extraction and source training (``None``: in
            Jupyter only).

    Returns:
        One row per candidate, best first by ``sort_by``: ``rank``, ``label``, ``model``,
        ``weights``, ``image_size``, ``feature_dim``, ``source_classes``, ``n``, one column per
        score, ``probe_accuracy`` (with ``target_test``), then the seconds: ``load_seconds``
        (loading the model, not part of scoring), ``features_seconds``, ``<score>_seconds``
        and ``score_seconds`` (features plus every score), and ``features_cached``.

    Raises:
        InvalidParameterError: no candidates, duplicate labels, a candidate of an unknown shape,
            no ``scores``, ``sort_by`` not among them, or a bad ``cache``.
        UnknownModelError: a candidate name that is not in the zoo (checked before loading any).
        UnknownNameError: an unknown score name.
        DataError: the data do not fit a model, or the labels have fewer than two classes.

    Example:
        >>> train = tlw.subsample(tlw.load_dataset("mnist"), per_class=50)      # doctest: +SKIP
        >>> rank_models([("Lite0", "efficientnet_lite0", "default"),
        ...              ("fonts", "small_cnn", "tlw:font_digits")], train)       # doctest: +SKIP
    """
    func = "rank_models"
    chosen = as_candidates(candidates)
    names = tuple(dict.fromkeys(check_names(scores, "scores", func, SCORES)))
    allowed = list(names) + ([_PROBE] if target_test is not None else [])
    sort_by = check_choice(names[0] if sort_by is None else sort_by, "sort_by", func, allowed,
                           error=InvalidParameterError, what="one of the scores computed,")
    if data is None:
        raise DataError(f"The 'data' parameter of {func} is None. Pass a labelled target set from "
                        "tlw.load_dataset (for example tlw.subsample(train, per_class=50)).")
    if not (cache is None or isinstance(cache, (bool, FeatureCache))):
        raise param_error("cache", func, "True, False or a FeatureCache", cache)
    store = default_cache() if cache is True else cache if isinstance(cache, FeatureCache) else False
    progress = resolve_progress(progress)
    prof = get_profile(profile)

    rows = []
    for c in chosen:
        t0 = time.perf_counter()
        model = load_candidate(c, seed=seed, profile=prof, progress=progress)
        load_seconds = time.perf_counter() - t0
        view = data.with_transform(model) if hasattr(data, "with_transform") else data
        misses = store.misses if store is not False else 0
        (features, labels), feat_seconds = _timed(
            lambda: extract_features(model, view, batch_size=batch_size, device=device, cache=store,
                                     progress=progress))
        cached = store is not False and store.misses == misses
        f, y = features.double().numpy(), labels.numpy()
        row: dict[str, Any] = {
            "label": c.label, "model": c.name, "weights": model.weights,
            "image_size": getattr(model.transforms, "size", None), "feature_dim": int(f.shape[1]),
            "source_classes": model.num_classes, "n": len(y),
        }
        seconds: dict[str, float] = {}
        probs: np.ndarray | None = None
        probs_seconds = 0.0
        for s in names:
            if s in _FEATURE_SCORES:
                row[s], seconds[s] = _timed(_FEATURE_SCORES[s], f, y)
                continue
            if probs is None:  # one pass of the source head serves LEEP and NCE
                probs, probs_seconds = _timed(_source_probabilities, model, features)
            if s == "leep":
                row[s], took = _timed(diagnostics.leep, probs, y)
            else:
                row[s], took = _timed(lambda: diagnostics.nce(probs.argmax(axis=1), y))
            # the head's pass is counted once, with the first head score computed
            seconds[s] = took + probs_seconds
            probs_seconds = 0.0
        if target_test is not None:
            t_view = target_test.with_transform(model) if hasattr(target_test, "with_transform") else target_test
            t0 = time.perf_counter()
            test_f, test_y = extract_features(model, t_view, batch_size=batch_size, device=device, cache=store,
                                              progress=progress)
            row[_PROBE] = probe_accuracy(fit_probe(features, labels, seed=seed), test_f, test_y)
            row["probe_seconds"] = time.perf_counter() - t0
        row.update(load_seconds=load_seconds, features_seconds=feat_seconds,
                   **{f"{s}_seconds": seconds[s] for s in names})
        row.update(score_seconds=feat_seconds + sum(seconds.values()), features_cached=cached)
        rows.append(row)
        del model, features

    table = pd.DataFrame(rows)
    table = table.sort_values(sort_by, ascending=False, kind="stable", na_position="last").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table.attrs["sort_by"] = sort_by
    table.attrs["scores"] = list(names)
    return table


def score_vs_accuracy(scores_frame: pd.DataFrame, accuracies: Any, *, scores: Sequence[str] | None = None,
                      on: str = "label") -> pd.DataFrame:
    """How well each score ranks the candidates by the accuracy transfer actually reached.

    Joins the accuracies to the :func:`rank_models` table, correlates each score with them
    through :func:`~tlworkbench.diagnostics.score_correlation` (Kendall's τ, Spearman's ρ and
    Pearson's r), and says which candidate each score would have picked.

    Args:
        scores_frame: the table from :func:`rank_models` (or any frame with ``on`` and score
            columns).
        accuracies: the accuracy after transfer per candidate: a mapping or Series from
            ``on`` values (labels) to accuracy, or a DataFrame with ``on`` and ``accuracy``
            columns.
        scores: the score columns to check (default: those of :data:`SCORES` and
            ``probe_accuracy`` that the frame has).
        on: the column that names the candidates.

    Returns:
        One row per score: the columns of
        :func:`~tlworkbench.diagnostics.score_correlation` (``score``, ``kendall_tau``,
        ``kendall_p``, ``spearman_rho``, ``spearman_p``, ``pearson_r``, ``pearson_p``, ``n``),
        then ``picked`` (the candidate with the best score), ``picked_accuracy`` and ``regret``
        (best accuracy minus the picked one's).

    Raises:
        InvalidParameterError: ``scores_frame`` is not a DataFrame or ``accuracies`` not a
            mapping.
        DataError: ``on`` or a ``scores`` entry is not a column of the frame, a candidate
            without an accuracy (or an accuracy for an unknown candidate), no score columns, or
            fewer than 3 candidates.

    Example:
        >>> frame = pd.DataFrame({"label": ["a", "b", "c"], "logme": [0.1, 0.5, 0.9]})
        >>> score_vs_accuracy(frame, {"a": 0.5, "b": 0.7, "c": 0.9})["kendall_tau"].item()
        1.0
    """
    func = "score_vs_accuracy"
    check_type(scores_frame, "scores_frame", func, pd.DataFrame, "the DataFrame from rank_models")
    check_choice(on, "on", func, list(scores_frame.columns), error=DataError, what="a column of 'scores_frame':")
    if isinstance(accuracies, pd.DataFrame):
        if on not in accuracies.columns or "accuracy" not in accuracies.columns:
            raise DataError(f"A DataFrame passed as 'accuracies' to {func} needs columns {on!r} and 'accuracy'; got "
                            f"{list(accuracies.columns)}.")
        acc = dict(zip(accuracies[on], accuracies["accuracy"]))
    elif isinstance(accuracies, (Mapping, pd.Series)):
        acc = dict(accuracies.items())
    else:
        raise param_error("accuracies", func, f"a dict, Series or DataFrame to map each candidate's {on!r} to its "
                          "accuracy", accuracies)
    keys = list(scores_frame[on])
    missing = [k for k in keys if k not in acc]
    extra = [k for k in acc if k not in set(keys)]
    if missing or extra:
        raise DataError(f"The 'accuracies' parameter of {func} must give one accuracy per candidate; missing "
                        f"{missing}, unknown {extra}. Candidates: {keys}.")
    if scores is None:
        columns = [c for c in (*SCORES, _PROBE) if c in scores_frame.columns]
    else:
        columns = list(check_names(scores, "scores", func, list(scores_frame.columns), error=DataError))
    if not columns:
        raise DataError(f"The 'scores_frame' parameter of {func} has no score column ({', '.join(SCORES)}); got "
                        f"columns {list(scores_frame.columns)}. Pass the table from rank_models.")
    frame = scores_frame[[on, *columns]].copy()
    frame["accuracy"] = [float(acc[k]) for k in keys]
    table = diagnostics.score_correlation(frame.drop(columns=[on]), accuracy="accuracy")
    best = float(frame["accuracy"].max())
    picked, picked_acc = [], []
    for c in table["score"]:
        values = pd.to_numeric(frame[c], errors="coerce")
        if values.notna().any():
            i = int(values.to_numpy().argmax()) if not values.isna().any() else int(values.fillna(-np.inf).argmax())
            picked.append(frame[on].iloc[i])
            picked_acc.append(float(frame["accuracy"].iloc[i]))
        else:
            picked.append(None)
            picked_acc.append(float("nan"))
    table["picked"] = picked
    table["picked_accuracy"] = picked_acc
    table["regret"] = best - table["picked_accuracy"]
    return table
