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
from . import sources as _sources  # noqa: F401  (makes weights="tlw:<source>" resolvable)
from .config import Profile, get_profile
from .errors import DataError, UnknownNameError, did_you_mean
from .features import FeatureCache, default_cache, extract_features
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

# Scores computed from backbone features, and those computed from the source head's predictions.
_FEATURE_SCORES = {"logme": diagnostics.logme, "h_score": diagnostics.h_score}
_HEAD_SCORES = ("leep", "nce")
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


def _candidate_from(item: Any, index: int) -> Candidate:
    if isinstance(item, Candidate):
        return item
    if isinstance(item, str):
        return Candidate(label=item, name=item)
    if isinstance(item, Mapping):
        unknown = sorted(set(item) - {"label", "name", "weights", "image_size"})
        if "name" not in item or unknown:
            raise TypeError(
                f"Candidate {index} is a dict with keys {sorted(item)}; it needs 'name' and may have "
                f"'label', 'weights' and 'image_size'. Got unknown keys {unknown}."
                if unknown else
                f"Candidate {index} is a dict without a 'name' key: {dict(item)!r}. Pass "
                "{'label': ..., 'name': 'small_cnn', 'weights': 'tlw:font_digits'}."
            )
        weights = item.get("weights", "default")
        label = item.get("label") or (f"{item['name']}:{weights}" if weights != "default" else item["name"])
        return Candidate(label=str(label), name=str(item["name"]), weights=weights,
                         image_size=item.get("image_size"))
    if isinstance(item, tuple) and len(item) == 3:
        label, name, weights = item
        return Candidate(label=str(label), name=str(name), weights=weights)
    if isinstance(item, tuple) and len(item) == 2:
        name, weights = item
        return Candidate(label=f"{name}:{weights}", name=str(name), weights=weights)
    raise TypeError(
        f"Candidate {index} must be a Candidate, a zoo name, a (label, name, weights) or (name, weights) "
        f"tuple, or a dict with 'name'; got {item!r} ({type(item).__name__})."
    )


def as_candidates(candidates: Iterable[Any]) -> list[Candidate]:
    """Normalise and check a list of candidates, without loading any model.

    Args:
        candidates: :class:`Candidate` objects, zoo names, ``(label, name, weights)`` or
            ``(name, weights)`` tuples, or dicts with ``name`` (and ``label``, ``weights``,
            ``image_size``).

    Returns:
        The candidates as :class:`Candidate` objects, in the order given.

    Raises:
        ValueError: no candidates, or two candidates with the same label.
        TypeError: an entry of another shape.
        UnknownModelError: a name that is not in the zoo (with the closest name).

    Example:
        >>> [c.label for c in as_candidates([("fonts", "small_cnn", "tlw:font_digits"), "small_cnn"])]
        ['fonts', 'small_cnn']
    """
    if isinstance(candidates, (str, Candidate, Mapping)) or (
            isinstance(candidates, tuple) and len(candidates) in (2, 3)
            and all(isinstance(c, str) or c is None for c in candidates)):
        raise TypeError(
            "The 'candidates' parameter must be a list of candidates, e.g. "
            "[('Lite0', 'efficientnet_lite0', 'default'), ('fonts', 'small_cnn', 'tlw:font_digits')]; "
            f"got a single {type(candidates).__name__} {candidates!r}. Wrap it in a list."
        )
    out = [_candidate_from(item, i) for i, item in enumerate(candidates)]
    if not out:
        raise ValueError(
            "The 'candidates' parameter must hold at least one model to rank; got an empty list. Pass "
            "e.g. [('Lite0', 'efficientnet_lite0', 'default')]; see tlw.list_models()."
        )
    seen: dict[str, int] = {}
    for i, c in enumerate(out):
        get_spec(c.name)  # an unknown name fails here, before any model is loaded or trained
        if c.label in seen:
            raise ValueError(
                f"Candidates {seen[c.label]} and {i} have the same label {c.label!r}. Give each candidate its "
                "own label: (label, name, weights)."
            )
        seen[c.label] = i
        if c.image_size is not None and (isinstance(c.image_size, bool) or not isinstance(c.image_size, int)
                                         or c.image_size < 1):
            raise ValueError(f"The 'image_size' of candidate {c.label!r} must be a positive int or None; "
                             f"got {c.image_size!r}.")
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
                   profile: str | Profile | None = None, progress: bool = False) -> TransferModel:
    """Load a candidate: with its source head (``num_classes=None``) or a fresh one.

    Args:
        candidate: a :class:`Candidate` or anything :func:`as_candidates` accepts for one entry.
        num_classes: outputs of a fresh head; ``None`` keeps the source head.
        seed: seeds the random initialisation of fresh layers (and of ``weights=None``).
        profile: run profile (image size, and the size of a ``tlw:`` source trained on first use).
        progress: show the progress of a ``tlw:`` source model trained on first use.

    Returns:
        The :class:`~tlworkbench.zoo.TransferModel`, in eval mode.
    """
    c = candidate if isinstance(candidate, Candidate) else as_candidates([candidate])[0]
    size = c.image_size or candidate_image_size(c.name, profile=profile)
    extra: dict[str, Any] = {}
    if isinstance(c.weights, str) and c.weights.startswith("tlw:"):
        extra = {"progress": progress}
    return load_model(c.name, num_classes=num_classes, weights=c.weights, image_size=size, seed=seed,
                      profile=profile, **extra)


def _check_scores(scores: Any, func: str) -> tuple[str, ...]:
    if isinstance(scores, str):
        scores = (scores,)
    try:
        names = tuple(scores)
    except TypeError as err:
        raise TypeError(f"The 'scores' parameter of {func} must be a sequence of score names from {SCORES}; "
                        f"got {scores!r}.") from err
    if not names:
        raise ValueError(f"The 'scores' parameter of {func} must name at least one score from {SCORES}; got "
                         "an empty sequence.")
    for s in names:
        if s not in SCORES:
            raise UnknownNameError(f"Unknown score {s!r} in the 'scores' parameter of {func}."
                                   f"{did_you_mean(str(s), SCORES)} Scores: {', '.join(SCORES)}.")
    return tuple(dict.fromkeys(names))


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


def _probe_accuracy(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(*train)
    return float(probe.score(*test))


def rank_models(candidates: Iterable[Any], data: Any, *, target_test: Any = None,
                scores: Sequence[str] = SCORES, sort_by: str | None = None,
                cache: bool | FeatureCache = True, batch_size: int = 256,
                device: str | torch.device | None = None, seed: int = 0,
                profile: str | Profile | None = None, progress: bool = True) -> pd.DataFrame:
    """Score every candidate's transferability to a labelled target set, before any training.

    For each candidate the model is loaded with its source head, the backbone's features of
    ``data`` are extracted once (through the feature cache), and each score is computed from
    them: LogME and H-score from the features, LEEP from the source head's probabilities and NCE
    from its hard predictions. Each step is timed.

    Args:
        candidates: the models to rank; see :func:`as_candidates` for the accepted forms.
        data: the labelled target training set (from :func:`~tlworkbench.datasets.load_dataset`,
            e.g. a :func:`~tlworkbench.datasets.subsample` of it). It is read through each
            candidate's own transforms.
        target_test: an optional labelled held-out target set; when given, a logistic-regression
            probe is trained on each candidate's features of ``data`` and its accuracy on
            ``target_test`` is reported (``probe_accuracy``, a cheap reference accuracy).
        scores: which of :data:`SCORES` to compute.
        sort_by: the score the table is sorted by, best first (default: the first of ``scores``).
        cache: feature cache: ``True`` (the process-wide one), ``False`` or a
            :class:`~tlworkbench.features.FeatureCache`. With a cache hit the extraction is not
            repeated and ``features_seconds`` shows the lookup only (``features_cached``).
        batch_size: images per forward pass.
        device: where the backbones run (default: :func:`~tlworkbench.config.get_device`).
        seed: seeds the random layers of candidates without published weights.
        profile: run profile (image size; size of ``tlw:`` sources trained on first use).
        progress: progress bars for feature extraction and source training.

    Returns:
        One row per candidate, best first by ``sort_by``: ``rank``, ``label``, ``model``,
        ``weights``, ``image_size``, ``feature_dim``, ``source_classes``, ``n``, one column per
        score, ``probe_accuracy`` (with ``target_test``), then the seconds: ``load_seconds``
        (loading the model, not part of scoring), ``features_seconds``, ``<score>_seconds``
        and ``score_seconds`` (features plus every score), and ``features_cached``.

    Raises:
        ValueError: no candidates, duplicate labels, or ``sort_by`` not among ``scores``.
        TypeError: a candidate of an unknown shape.
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
    names = _check_scores(scores, func)
    sort_by = names[0] if sort_by is None else sort_by
    allowed = list(names) + ([_PROBE] if target_test is not None else [])
    if sort_by not in allowed:
        raise ValueError(f"The 'sort_by' parameter of {func} must be one of the scores computed, {allowed}; got "
                         f"{sort_by!r}.{did_you_mean(str(sort_by), allowed)}")
    if data is None:
        raise DataError(f"The 'data' parameter of {func} is None. Pass a labelled target set from "
                        "tlw.load_dataset (for example tlw.subsample(train, per_class=50)).")
    store: FeatureCache | None
    if cache is True:
        store = default_cache()
    elif cache is False or cache is None:
        store = None
    elif isinstance(cache, FeatureCache):
        store = cache
    else:
        raise TypeError(f"The 'cache' parameter of {func} must be True, False or a FeatureCache; got {cache!r}.")
    prof = get_profile(profile)

    rows = []
    for c in chosen:
        t0 = time.perf_counter()
        model = load_candidate(c, seed=seed, profile=prof, progress=progress)
        load_seconds = time.perf_counter() - t0
        view = data.with_transform(model) if hasattr(data, "with_transform") else data
        misses = store.misses if store is not None else 0
        (features, labels), feat_seconds = _timed(
            lambda: extract_features(model, view, batch_size=batch_size, device=device,
                                     cache=store if store is not None else False, progress=progress))
        cached = store is not None and store.misses == misses
        f = features.double().numpy()
        y = labels.numpy()
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
            test_f, test_y = extract_features(model, t_view, batch_size=batch_size, device=device,
                                              cache=store if store is not None else False, progress=progress)
            row[_PROBE] = _probe_accuracy((f, y), (test_f.double().numpy(), test_y.numpy()))
            row["probe_seconds"] = time.perf_counter() - t0
        row["load_seconds"] = load_seconds
        row["features_seconds"] = feat_seconds
        for s in names:
            row[f"{s}_seconds"] = seconds[s]
        row["score_seconds"] = feat_seconds + sum(seconds.values())
        row["features_cached"] = cached
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

    Joins the accuracies to the :func:`rank_models` table and correlates each score with them
    through :func:`~tlworkbench.diagnostics.score_correlation` (Kendall's τ and Pearson's r), and
    says which candidate each score would have picked.

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
        One row per score: ``score``, ``kendall_tau``, ``kendall_p``, ``pearson_r``,
        ``pearson_p``, ``n``, ``picked`` (the candidate with the best score),
        ``picked_accuracy`` and ``regret`` (best accuracy minus the picked one's).

    Raises:
        DataError: a candidate without an accuracy (or an accuracy for an unknown candidate),
            no score columns, or fewer than 3 candidates.

    Example:
        >>> frame = pd.DataFrame({"label": ["a", "b", "c"], "logme": [0.1, 0.5, 0.9]})
        >>> score_vs_accuracy(frame, {"a": 0.5, "b": 0.7, "c": 0.9})["kendall_tau"].item()
        1.0
    """
    func = "score_vs_accuracy"
    if not isinstance(scores_frame, pd.DataFrame):
        raise DataError(f"The 'scores_frame' parameter of {func} must be the DataFrame from rank_models; got "
                        f"{type(scores_frame).__name__}.")
    if on not in scores_frame.columns:
        raise DataError(f"The 'on' parameter of {func} must name a column of 'scores_frame'; got {on!r}, columns "
                        f"are {list(scores_frame.columns)}.{did_you_mean(on, [str(c) for c in scores_frame.columns])}")
    if isinstance(accuracies, pd.DataFrame):
        if on not in accuracies.columns or "accuracy" not in accuracies.columns:
            raise DataError(f"A DataFrame passed as 'accuracies' to {func} needs columns {on!r} and 'accuracy'; got "
                            f"{list(accuracies.columns)}.")
        acc = dict(zip(accuracies[on], accuracies["accuracy"]))
    elif isinstance(accuracies, (Mapping, pd.Series)):
        acc = dict(accuracies.items())
    else:
        raise DataError(f"The 'accuracies' parameter of {func} must map each candidate's {on!r} to its accuracy "
                        f"(a dict, Series or DataFrame); got {type(accuracies).__name__}.")
    keys = list(scores_frame[on])
    missing = [k for k in keys if k not in acc]
    extra = [k for k in acc if k not in set(keys)]
    if missing or extra:
        raise DataError(f"The 'accuracies' parameter of {func} must give one accuracy per candidate; missing "
                        f"{missing}, unknown {extra}. Candidates: {keys}.")
    if scores is None:
        columns = [c for c in (*SCORES, _PROBE) if c in scores_frame.columns]
    else:
        columns = [scores] if isinstance(scores, str) else list(scores)
        for c in columns:
            if c not in scores_frame.columns:
                raise DataError(f"Unknown score column {c!r} in the 'scores' parameter of {func}."
                                f"{did_you_mean(str(c), [str(x) for x in scores_frame.columns])} Columns: "
                                f"{list(scores_frame.columns)}.")
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
