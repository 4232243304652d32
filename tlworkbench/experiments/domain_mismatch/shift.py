"""Notebook 03's source models and domains, and the shift measured against the accuracy it costs."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import pdist

from ..._validate import check_choice, check_int, check_sequence, check_type
from ...adaptation import adapt_batchnorm
from ...config import Profile, get_profile, resolve_progress
from ...data import ImageDataset, load_dataset, load_domain, shared_images, stratified_split
from ...diagnostics import mmd_test, proxy_a_distance, score_correlation
from ...errors import DataError, UnknownDatasetError
from ...evaluation import evaluate_features
from ...features import extract_features
from ...zoo import TransferModel, load_model
from ..feature_extraction.arms import missing_sets

__all__ = ["ARCH", "SOURCES", "TARGETS", "missing_targets", "targets_for", "source_model", "domain_samples",
           "shift_vs_drop", "shift_correlation", "domain_embedding", "shift_table", "source_overlap"]

ARCH = "small_cnn"
SOURCES = ("font_digits", "mnist")
#: Targets of each source model, roughly from near to far (the order is not used by any measure).
TARGETS: dict[str, tuple[str, ...]] = {
    "font_digits": ("mnist", "opencv_digits", "mnist+blur0.5", "sklearn_digits", "mnist+colour1", "mnist+invert1"),
    "mnist": ("opencv_digits", "mnist+elastic1", "font_digits", "mnist+blur0.5", "mnist+colour1",
              "sklearn_digits", "mnist+invert1"),
}


def missing_targets(sources: Sequence[str] = SOURCES) -> dict[str, str]:
    """The :data:`TARGETS` of ``sources`` that are not installed here, each with its install command
    (``opencv_digits`` needs a Debian package)."""
    return missing_sets(list(dict.fromkeys(t for s in sources for t in TARGETS.get(s, ()))))


def targets_for(sources: Sequence[str] = SOURCES) -> dict[str, tuple[str, ...]]:
    """The :data:`TARGETS` of each source that are installed here (less :func:`missing_targets`)."""
    missing = missing_targets(sources)
    return {s: tuple(t for t in TARGETS.get(s, ()) if t not in missing) for s in sources}


def source_model(source: str, *, profile: str | Profile | None = None,
                 progress: bool | None = None) -> TransferModel:
    """The workbench's small CNN pretrained on ``source``: ``load_model("small_cnn", weights="tlw:<source>")``.

    Trained once for the profile, then read from the cache; its head keeps the source's ten digit
    classes, which are the target's too.

    Raises:
        UnknownDatasetError: ``source`` is not a registered data set.
    """
    return load_model(ARCH, weights=f"tlw:{source}", profile=profile, progress=progress)


def source_models(names: Sequence[str], models: dict[str, TransferModel] | None, prof: Profile,
                  progress: bool) -> dict[str, TransferModel]:
    """``models`` completed with the :func:`source_model` of every name it lacks."""
    out = dict(models or {})
    for name in dict.fromkeys(names):
        if name not in out:
            out[name] = source_model(name, profile=prof, progress=progress)
    return out


def stratified_sample(data: ImageDataset, n: int, seed: int) -> ImageDataset:
    """``n`` images of ``data`` with its class proportions (the unlabelled pool, an embedding's sample)."""
    return data.subset(stratified_split(data.targets.numpy(), n, seed=seed))


def domain_samples(domains: Sequence[str], *, n: int = 8, profile: str | Profile | None = None,
                   seed: int = 0) -> dict[str, object]:
    """The first test image of each of the first ``n`` classes of every domain, for a picture grid.

    Returns:
        ``{domain: uint8 images (n, C, H, W)}``, the same classes in the same order in every row.
    """
    out: dict[str, object] = {}
    for spec in domains:
        data = load_domain(spec, split="test", profile=profile, seed=seed)
        labels = data.targets.numpy()
        idx = [int(np.flatnonzero(labels == c)[0]) for c in range(min(n, len(data.classes))) if np.any(labels == c)]
        out[spec] = data.images[idx]
    return out


def _sample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), size=n, replace=False))]


def shift_vs_drop(source: str, targets: Sequence[str] | None = None, *, model: TransferModel | None = None,
                  max_samples: int = 500, n_permutations: int = 200, profile: str | Profile | None = None,
                  seed: int = 0, progress: bool | None = None) -> pd.DataFrame:
    """The source model's accuracy on each target beside the shift measured on its features.

    Features are the source model's pooled backbone features of the test images. MMD² uses one RBF
    bandwidth for every target, the median pairwise distance of the source sample, so that the
    values share a scale and can be ranked; its permutation test asks whether the target's
    features could come from the source's distribution. The proxy A-distance is
    ``2 (1 - 2 err)`` of a linear domain classifier (0: indistinguishable, 2: separable).

    Args:
        source: the source data set (a name of :data:`SOURCES` or any digit set).
        targets: domain names (default: :data:`TARGETS` of the source that are installed here,
            :func:`targets_for`).
        model: the source model (default: :func:`source_model`).
        max_samples: test images per domain the shift is measured on.
        n_permutations: permutations of the MMD test.
        profile: run profile.
        seed: seed of the shifts, the samples, the permutations and the domain classifier's folds.
        progress: progress bars; ``None``: on in Jupyter only.

    Returns:
        One row per target: ``source``, ``target``, ``source_accuracy``, ``accuracy``,
        ``accuracy_drop`` (source minus target accuracy), ``drop_low`` and ``drop_high`` (its 95%
        normal interval over the test images drawn: the two accuracies are proportions on
        ``n_source_test`` and ``n_target_test`` independent images), ``n_source_test``,
        ``n_target_test``, ``mmd2``, ``mmd_p_value``, ``proxy_a_distance``.

    Raises:
        UnknownDatasetError: no ``targets`` for a source without default ones.
        InvalidParameterError: ``targets`` is not a non-empty sequence of names.
    """
    func = "shift_vs_drop"
    if targets is None:
        source = check_choice(source, "source", func, list(TARGETS), error=UnknownDatasetError,
                              what="a source with default targets (or pass targets=[...]), one of")
        targets = targets_for((source,))[source]
    targets = check_sequence(targets, "targets", func, check_type, str, "a domain name")
    max_samples = check_int(max_samples, "max_samples", func, minimum=2)
    progress = resolve_progress(progress)
    model = model if model is not None else source_model(source, profile=profile, progress=progress)
    rng = np.random.default_rng(seed)
    src = load_domain(source, split="test", transform=model, profile=profile, seed=seed)
    fs, ys = extract_features(model, src, cache=False, progress=progress)
    source_accuracy = evaluate_features(model.head, fs, ys).accuracy
    xs = _sample(fs.numpy().astype(np.float64), max_samples, rng)
    distances = pdist(xs)
    bandwidth = float(np.median(distances[distances > 0])) if np.any(distances > 0) else 1.0
    rows = []
    for target in targets:
        data = load_domain(target, split="test", transform=model, profile=profile, seed=seed)
        ft, yt = extract_features(model, data, cache=False, progress=progress)
        accuracy = evaluate_features(model.head, ft, yt).accuracy
        xt = _sample(ft.numpy().astype(np.float64), max_samples, rng)
        test = mmd_test(xs, xt, n_permutations=n_permutations, seed=seed, bandwidth=bandwidth)
        half = 1.96 * math.sqrt(source_accuracy * (1 - source_accuracy) / len(ys) + accuracy * (1 - accuracy) / len(yt))
        rows.append({"source": source, "target": target, "source_accuracy": source_accuracy, "accuracy": accuracy,
                     "accuracy_drop": source_accuracy - accuracy, "drop_low": source_accuracy - accuracy - half,
                     "drop_high": source_accuracy - accuracy + half, "n_source_test": len(ys), "n_target_test": len(yt),
                     "mmd2": test.mmd2, "mmd_p_value": test.p_value,
                     "proxy_a_distance": proxy_a_distance(xs, xt, seed=seed)})
    return pd.DataFrame(rows)


def _exact_p(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sided p-values of Kendall's tau and Spearman's rho over every ordering of ``x`` (n <= 8).

    With a handful of targets the large-sample approximations do not hold (scipy's Spearman
    p-value is a t-approximation, 0 for a perfect ranking); the exact null counts orderings.
    """
    n = len(x)
    if n < 3 or n > 8 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    rx, ry = stats.rankdata(x), stats.rankdata(y)

    def rho(a: np.ndarray, axis: int = -1) -> np.ndarray:
        a = a - a.mean(axis=axis, keepdims=True)
        b = ry - ry.mean()
        return (a * b).sum(axis=axis) / np.sqrt((a * a).sum(axis=axis) * (b * b).sum())

    spearman = stats.permutation_test((rx,), rho, permutation_type="pairings", vectorized=True,
                                      n_resamples=math.factorial(n), alternative="two-sided")
    ties = len(np.unique(x)) < n or len(np.unique(y)) < n
    kendall = stats.kendalltau(x, y, method="auto" if ties else "exact")
    return float(kendall.pvalue), float(spearman.pvalue)


def shift_correlation(frame: pd.DataFrame, *, measures: Sequence[str] = ("mmd2", "proxy_a_distance"),
                      by: str = "source") -> pd.DataFrame:
    """Rank correlation between each shift measure and the accuracy drop, per source model.

    Each source model is measured on a handful of targets, so a rank correlation rests on that
    many points: the table gives ``n_targets`` beside it and exact p-values (every ordering of up
    to 8 targets is counted), which say how surprising the ranking would be if the measure were
    unrelated to the drop, for these targets and this one draw of shifts and samples.

    Returns:
        One row per source and measure: ``source``, ``measure``, ``n_targets``,
        ``spearman_rho``, ``spearman_p``, ``kendall_tau``, ``kendall_p`` (p-values two-sided and
        exact for up to 8 targets without ties, else scipy's; NaN when a measure has the same
        value on every target, or there are fewer than 3 targets: it ranks nothing).

    Raises:
        DataError: a column is missing.
    """
    measures = check_sequence(measures, "measures", "shift_correlation", check_type, str, "a column name")
    missing = [c for c in (by, "accuracy_drop", *measures) if c not in frame.columns]
    if missing:
        raise DataError(f"The 'frame' parameter of shift_correlation lacks the columns {missing}; pass the "
                        f"frame of shift_vs_drop. Columns: {list(frame.columns)}.")
    columns = [by, "measure", "n_targets", "spearman_rho", "spearman_p", "kendall_tau", "kendall_p"]
    tables = []
    for key, part in frame.groupby(by, sort=False):
        if len(part) >= 3:
            table = score_correlation(part[[*measures, "accuracy_drop"]], accuracy="accuracy_drop")
            drop = part["accuracy_drop"].to_numpy(dtype=np.float64)
            for i, measure in enumerate(table["score"]):
                kendall_p, spearman_p = _exact_p(part[measure].to_numpy(dtype=np.float64), drop)
                if not math.isnan(kendall_p):
                    table.loc[i, ["kendall_p", "spearman_p"]] = [kendall_p, spearman_p]
        else:  # too few targets to rank anything: NaN, as for a measure that never changes
            table = pd.DataFrame({"score": list(measures)})
        table = table.rename(columns={"score": "measure"}).assign(**{by: key, "n_targets": len(part)})
        tables.append(table.reindex(columns=columns))
    return pd.concat(tables, ignore_index=True)


def source_overlap(source: str, targets: Sequence[str], *, profile: str | Profile | None = None) -> pd.DataFrame:
    """Whether a source model's training images include a target's test images, exact or redrawn.

    A shifted target (``"mnist+blur0.5"``) is compared through the images it is made from. The
    comparison is :func:`~tlworkbench.data.shared_images` (exact digests at a common size, and
    copies redrawn at another size within a few grey levels). ``mnist -> opencv_digits`` is meant
    to share images: OpenCV's digits are the MNIST digits redrawn at 20 px, so that pair changes
    resolution and framing only, and its drop is measured on digits the model has seen.

    Returns:
        One row per target: ``source``, ``target``, ``n_source_train``, ``n_target_test``,
        ``exact_copies`` and ``redrawn_copies`` (target test images found among the source's
        training images) and ``nearest_rms`` (median grey-level distance of a target test image to
        its nearest source image when the sizes differ, else NaN).
    """
    prof = get_profile(profile)
    targets = check_sequence(targets, "targets", "source_overlap", check_type, str, "a domain name")
    train = load_dataset(source, split="train", profile=prof)
    found: dict[str, dict] = {}  # by the set a target is made from
    rows = []
    for target in targets:
        base = target.partition("+")[0]
        if base not in found:
            test = load_dataset(base, split="test", profile=prof)
            found[base] = {"n": len(test), **shared_images(test, train)}
        hit = found[base]
        rows.append({"source": source, "target": target, "n_source_train": len(train), "n_target_test": hit["n"],
                     "exact_copies": hit["exact"], "redrawn_copies": hit["resized"],
                     "nearest_rms": hit["nearest_rms"]})
    return pd.DataFrame(rows)


def domain_embedding(source: str, target: str, *, model: TransferModel | None = None, n: int = 500,
                     adapted: bool = False, unlabelled: int = 1000, profile: str | Profile | None = None,
                     seed: int = 0, progress: bool | None = None) -> dict[str, object]:
    """Source-model features of ``n`` source and ``n`` target test images, for a 2-D embedding plot.

    Args:
        source: the source data set.
        target: the target domain.
        model: the source model (default: :func:`source_model`); it is not changed.
        n: test images per domain.
        adapted: read the target through a copy of the model whose BatchNorm statistics were
            re-estimated (AdaBN) on ``unlabelled`` target training images, as the remedies do.
        unlabelled: target training images AdaBN reads.
        profile: run profile.
        seed: seed of the shifts and samples.
        progress: progress bars; ``None``: on in Jupyter only.

    Returns:
        ``{"features": (2n, d) array, "labels": (2n,), "domains": (2n,) of "source: <name>" /
        "target: <name>", "classes": the class names}``.
    """
    progress = resolve_progress(progress)
    model = model if model is not None else source_model(source, profile=profile, progress=progress)
    src = load_domain(source, split="test", transform=model, profile=profile, seed=seed)
    tgt = load_domain(target, split="test", transform=model, profile=profile, seed=seed)
    target_model = model
    if adapted:
        train = load_domain(target, split="train", transform=model, profile=profile, seed=seed)
        target_model = adapt_batchnorm(copy.deepcopy(model), stratified_sample(train, unlabelled, seed))
    feats, labels, domains = [], [], []
    for name, data, m in ((f"source: {source}", src, model), (f"target: {target}", tgt, target_model)):
        f, y = extract_features(m, stratified_sample(data, n, seed), cache=False, progress=progress)
        feats.append(f.numpy())
        labels.append(y.numpy())
        domains += [name] * len(y)
    return {"features": np.concatenate(feats), "labels": np.concatenate(labels), "domains": np.asarray(domains),
            "classes": list(src.classes)}


def shift_table(sources: Sequence[str] = SOURCES, *, models: dict[str, TransferModel] | None = None,
                profile: str | Profile | None = None, seed: int = 0, progress: bool | None = None,
                targets: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """:func:`shift_vs_drop` of every source against its targets, in one frame.

    Args:
        sources: the source models' data sets.
        targets: each source's targets (default: :func:`targets_for`, its :data:`TARGETS` that
            are installed here).
        models: source models already loaded, by source (the others are loaded).
        profile: run profile.
        seed: seed of the shifts, samples and tests.
        progress: progress bars; ``None``: on in Jupyter only.
    """
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    sources = check_sequence(sources, "sources", "shift_table", check_type, str, "a data set name")
    models = source_models(sources, models, prof, progress)
    targets = targets_for(sources) if targets is None else targets
    return pd.concat([shift_vs_drop(s, targets[s], model=models[s], profile=prof, seed=seed, progress=progress)
                      for s in sources], ignore_index=True)
