"""Notebook 07, unsupervised transfer: what a representation gives a target that has no labels.

Three embeddings of the same target images are compared without training on a single target
label:

* ``pixels``: the raw pixels;
* ``imagenet``: EfficientNet-Lite0's frozen ImageNet features (pooled, 1,280 numbers);
* ``autoencoder``: the codes of a small convolutional autoencoder trained on the unlabelled
  images of another set (the source), its learning rate and epoch chosen on the reconstruction
  loss of held-out source images.

Two uses: clustering the target's test images (k-means and Ward, scored by NMI and ARI against
the classes, over seeds that redraw the images and restart k-means), and detecting a class never
seen (a scorer fitted on the training images of the other classes scores the test images; AUROC
per novel class, with a bootstrap interval over the test images). Every embedding passes through
the same two pipelines: ``raw`` (centred, first 50 principal components) and ``l2`` (each row
scaled to unit length first, the cosine geometry usual for deep features). With no labels there
is nothing to choose a pipeline on, so both are reported for every representation. Differences
between embeddings are paired (on the seed for clustering, on the novel class for detection) with
:func:`~tlworkbench.diagnostics.paired_difference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_choice, check_int, check_names, check_sequence
from ..config import Profile, get_profile, resolve_progress
from ..data import load_dataset, stratified_split
from ..data import shared_images as data_shared_images
from ..diagnostics import PairedDifference, paired_difference
from ..errors import DataError
from ..features import extract_features
from ..unsupervised import (ANOMALY_METHODS, CLUSTER_METHODS, AutoencoderFit, EmbeddingAnomalyScorer,
                            auroc_interval, cluster_scores, encode_images, train_autoencoder)
from ..zoo import load_model
from ._memo import memoized
from .feature_extraction import BACKBONE, feature_cache

__all__ = ["TARGET", "SOURCE", "SEEDS", "N_CLUSTER", "N_TEST", "NOVEL_CLASS", "REPRESENTATIONS", "LABELS",
           "NORMS", "DETECTORS", "shared_images", "embed_target", "clustering_runs", "paired_gains", "anomaly_runs",
           "UnsupervisedResult", "conclude", "run_unsupervised_transfer"]

TARGET = "animal_mnist"
#: The autoencoder's unlabelled source images: handwritten digits, a different set from the target.
SOURCE = "mnist"
#: Seeds of the clustering: each draws its own images and starts k-means from its own seed.
SEEDS = (0, 1, 2, 3, 4)
#: Test images clustered per seed (drawn without replacement from the :data:`N_TEST` test images).
N_CLUSTER = 800
#: Test images of the target: a stratified subset (seed 0) when the test split is larger.
N_TEST = 1000
#: The novel class whose scores and images the notebook draws (every class is scored in the table).
NOVEL_CLASS = "elephant"
REPRESENTATIONS = ("pixels", "imagenet", "autoencoder")
LABELS = {"pixels": "raw pixels", "imagenet": f"ImageNet features ({BACKBONE})",
          "autoencoder": "autoencoder codes"}
#: The two pipelines every embedding goes through: as it is, and each row scaled to unit length.
NORMS = ("raw", "l2")
#: The novel-class detectors: the k-NN distance (an isolation forest is the other choice).
DETECTORS = ("knn",)
_AE_EPOCHS = 15
_BOOTSTRAP = 1999


def shared_images(source: Any, target: Any) -> int:
    """How many of ``target``'s images are copies of one of ``source``'s (uint8 arrays), by
    :func:`tlworkbench.data.shared_images`.

    Example:
        >>> a = np.zeros((3, 1, 4, 4), np.uint8); b = a.copy(); b[1:] += 1
        >>> shared_images(a, b)
        1
    """
    return int(data_shared_images(np.asarray(target), np.asarray(source))["shared"])


def embed_target(target: str = TARGET, *, source: str = SOURCE, n_test: int = N_TEST,
                 profile: str | Profile | None = None, seed: int = 0,
                 progress: bool | None = None) -> dict[str, Any]:
    """The target's training and test images as each of :data:`REPRESENTATIONS`.

    The autoencoder trains on ``source``'s training images (labels unused) after checking that
    none of them is a copy of a target image.

    Returns:
        ``{"train": {rep: array}, "test": {rep: array}, "y_train", "y_test", "images" (test, uint8),
        "classes", "autoencoder" (an AutoencoderFit), "shared" (copies found)}``.

    Raises:
        DataError: a source image is a copy of a target image.

    Example:
        >>> data = embed_target(profile="quick")  # doctest: +SKIP
        >>> data["test"]["imagenet"].shape  # doctest: +SKIP
        (1000, 1280)
    """
    func = "embed_target"
    n_test = check_int(n_test, "n_test", func, minimum=20)
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    train = load_dataset(target, split="train", transform=model, profile=prof)
    test = load_dataset(target, split="test", transform=model, profile=prof)
    if len(test) > n_test:
        test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=0))
    unlabelled = load_dataset(source, split="train", profile=prof).images
    shared = shared_images(unlabelled.numpy(), np.concatenate([train.images.numpy(), test.images.numpy()]))
    if shared:
        raise DataError(f"{shared} images of {target!r} are also in the source {source!r}: the autoencoder "
                        "would have seen the target. Choose another source.")
    ae = train_autoencoder(unlabelled, epochs=_AE_EPOCHS, seed=seed, progress=progress)
    out: dict[str, Any] = {"train": {}, "test": {}}
    for split, data in (("train", train), ("test", test)):
        feats, _ = extract_features(model, data, cache=feature_cache(), progress=progress)
        out[split] = {"pixels": data.images.flatten(1).numpy() / 255.0, "imagenet": feats.numpy(),
                      "autoencoder": encode_images(ae.model, data.images)}
    out.update(y_train=train.targets.numpy(), y_test=test.targets.numpy(), images=test.images.numpy(),
               classes=list(test.classes), autoencoder=ae, shared=shared)
    return out


def clustering_runs(embeddings: dict[str, np.ndarray], labels: np.ndarray, *, seeds: Sequence[int] = SEEDS,
                    n: int = N_CLUSTER) -> pd.DataFrame:
    """NMI and ARI of each pipeline, representation and clustering method, per seed.

    Seed ``s`` draws ``n`` of the images without replacement and seeds k-means; Ward's method is
    deterministic, so its spread comes from the draw alone.

    Returns:
        One row per seed, pipeline, representation and method: ``seed``, ``norm``,
        ``representation``, ``method``, ``n_images``, ``nmi``, ``ari``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = np.concatenate([rng.normal(-9, 1, (10, 4)), rng.normal(9, 1, (10, 4))])
        >>> runs = clustering_runs({"pixels": x}, np.repeat([0, 1], 10), seeds=(0, 1), n=16)
        >>> runs.groupby("norm")["nmi"].min().round(2).tolist()
        [1.0, 1.0]
    """
    func = "clustering_runs"
    seeds = check_sequence(seeds, "seeds", func, check_int, minimum=0)
    n = check_int(n, "n", func, minimum=2, maximum=len(labels))
    rows = []
    for seed in seeds:
        idx = np.random.default_rng(seed).choice(len(labels), n, replace=False)
        for norm in NORMS:
            for rep, x in embeddings.items():
                for method in CLUSTER_METHODS:
                    rows.append({"seed": seed, "norm": norm, "representation": rep, "method": method, "n_images": n,
                                 **cluster_scores(x[idx], labels[idx], method=method, normalize=norm == "l2",
                                                  seed=seed)})
    return pd.DataFrame(rows)


def paired_gains(runs: pd.DataFrame, *, value: str, by: Sequence[str], pair_on: str,
                 comparisons: Sequence[tuple[str, str]] = (("imagenet", "pixels"), ("autoencoder", "pixels"),
                                                           ("imagenet", "autoencoder"))) -> pd.DataFrame:
    """Paired differences (in points: x100) of ``value`` between representations, per ``by`` group.

    Returns:
        One row per group and comparison: the ``by`` columns, ``comparison`` ("a - b"), ``mean``,
        ``low``, ``high``, ``n``, ``verdict``, ``interval`` (the printed difference), ``diff``.

    Example:
        >>> runs = pd.DataFrame({"seed": [0, 1, 0, 1], "norm": "raw", "representation": ["a", "a", "b", "b"],
        ...                      "nmi": [0.5, 0.6, 0.4, 0.45]})
        >>> paired_gains(runs, value="nmi", by=["norm"], pair_on="seed", comparisons=[("a", "b")])["n"].tolist()
        [2]
    """
    by = list(check_sequence(by, "by", "paired_gains"))
    rows = []
    for group, part in runs.groupby(by, sort=False):
        wide = part.pivot(index=pair_on, columns="representation", values=value)
        for a, b in comparisons:
            d: PairedDifference = paired_difference(100 * wide[a], 100 * wide[b], unit="points",
                                                    names=(str(a), str(b)))
            rows.append({**dict(zip(by, group)), "comparison": f"{a} - {b}", "mean": d.mean, "low": d.low,
                         "high": d.high,
                         "n": d.n, "verdict": d.verdict, "interval": str(d), "diff": d})
    return pd.DataFrame(rows)


def anomaly_runs(data: dict[str, Any], *, detectors: Sequence[str] = DETECTORS, n_resamples: int = _BOOTSTRAP,
                 keep: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each class in turn held out as the novel class: AUROC of every representation and detector.

    The detector fits on the training images of the other classes and scores every test image;
    the novel class's test images are the anomalies. The interval is a BCa bootstrap over the
    test images (:func:`~tlworkbench.unsupervised.auroc_interval`).

    Returns:
        ``(runs, kept)``: one row per novel class, pipeline, representation and detector
        (``auroc``, ``low``, ``high``, ``n``, ``n_anomalies``, ``interval``); and, for the class
        ``keep``, the test scores ``{(norm, representation, detector): scores}`` and ``is_anomaly``.

    Example:
        >>> runs, kept = anomaly_runs(embed_target(profile="quick"), keep="elephant")  # doctest: +SKIP
    """
    func = "anomaly_runs"
    detectors = check_names(detectors, "detectors", func, ANOMALY_METHODS)
    classes = data["classes"]
    if keep is not None:
        check_choice(keep, "keep", func, classes)
    rows, kept = [], {}
    for c, name in enumerate(classes):
        normal = data["y_train"] != c
        is_anomaly = data["y_test"] == c
        for norm in NORMS:
            for rep in data["train"]:
                for det in detectors:
                    scorer = EmbeddingAnomalyScorer(det, normalize=norm == "l2").fit(data["train"][rep][normal])
                    scores = scorer.score(data["test"][rep])
                    ci = auroc_interval(scores, is_anomaly, n_resamples=n_resamples, seed=c)
                    rows.append({"novel_class": name, "norm": norm, "representation": rep, "detector": det,
                                 "auroc": ci.auroc, "low": ci.low, "high": ci.high, "n": ci.n,
                                 "n_anomalies": ci.n_anomalies, "interval": str(ci)})
                    if name == keep:
                        kept[(norm, rep, det)] = scores
                        kept["is_anomaly"] = is_anomaly
    return pd.DataFrame(rows), kept


@dataclass
class UnsupervisedResult:
    """Notebook 07's tables and the sentences computed from them.

    Attributes:
        clustering: :func:`clustering_runs`.
        cluster_gains: :func:`paired_gains` of NMI and ARI per method, paired on the seed.
        anomaly: :func:`anomaly_runs`.
        anomaly_gains: :func:`paired_gains` of the AUROC per detector, paired on the novel class.
        example: the kept class's scores, ``is_anomaly``, the test images, ``novel_class``.
        autoencoder: the trained autoencoder and its learning-rate table.
        shared: source images found among the target's (0: the source never saw the target).
        summary: one row per representation.
        conclusion: the sentences, computed from the tables.
    """

    clustering: pd.DataFrame
    cluster_gains: pd.DataFrame
    anomaly: pd.DataFrame
    anomaly_gains: pd.DataFrame
    example: dict[str, Any] = field(repr=False)
    autoencoder: AutoencoderFit = field(repr=False)
    shared: int = 0
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    conclusion: str = ""


def _summary(result: UnsupervisedResult) -> pd.DataFrame:
    keys = ["norm", "representation"]
    c = result.clustering.pivot_table(index=keys, columns="method", values=["nmi", "ari"], aggfunc="mean")
    c.columns = [f"{method} {metric.upper()}" for metric, method in c.columns]
    a = result.anomaly.pivot_table(index=keys, columns="detector", values="auroc", aggfunc="mean")
    a.columns = [f"{det} AUROC" for det in a.columns]
    table = c.join(a).reindex(pd.MultiIndex.from_product([NORMS, REPRESENTATIONS], names=keys)).round(3)
    table.insert(0, "novel classes", result.anomaly["novel_class"].nunique())
    table.insert(0, "seeds", result.clustering["seed"].nunique())
    return table


_NORM_WORDS = {"raw": "embeddings as they are", "l2": "each embedding scaled to unit length"}
_SHORT = {"pixels": "pixels", "imagenet": "ImageNet features", "autoencoder": "autoencoder codes"}


def _gain(table: pd.DataFrame, comparison: str, **where: str) -> pd.Series:
    mask = table["comparison"] == comparison
    for column, value in where.items():
        mask &= table[column] == value
    return table[mask].iloc[0]


def _verdict(row: pd.Series) -> str:
    a, b = (_SHORT[r] for r in row["comparison"].split(" - "))
    return {"a better": f"{a} ahead", "b better": f"{b} ahead", "inconclusive": "inconclusive"}[row["verdict"]]


def _scores(mean: pd.Series) -> str:
    return ", ".join(f"{mean[r]:.3f} on {_SHORT[r]}" for r in REPRESENTATIONS)


def conclude(result: UnsupervisedResult) -> str:
    """The notebook's conclusion, computed from the tables of ``result``.

    Example:
        >>> print(conclude(run_unsupervised_transfer(profile="quick")))  # doctest: +SKIP
    """
    nmi = result.clustering.groupby(["norm", "method", "representation"])["nmi"].mean()
    auc = result.anomaly.groupby(["norm", "detector", "representation"])["auroc"].mean()
    nmi_gains = result.cluster_gains[result.cluster_gains["metric"] == "nmi"]
    n_seeds, n_images = result.clustering["seed"].nunique(), int(result.clustering["n_images"].iloc[0])
    n_classes = result.anomaly["novel_class"].nunique()
    detectors = list(dict.fromkeys(result.anomaly["detector"]))
    lines, verdicts = [], {"clustering": set(), "detection": set()}
    for norm in NORMS:
        parts = []
        for method in CLUSTER_METHODS:
            g = [_gain(nmi_gains, c, norm=norm, method=method) for c in ("imagenet - pixels", "autoencoder - pixels")]
            verdicts["clustering"].add((method, _verdict(g[0])))
            parts.append(f"{method} NMI {_scores(nmi[norm][method])} (ImageNet minus pixels {g[0]['interval']}; "
                         f"autoencoder minus pixels {g[1]['interval']})")
        lines.append(f"Clustering {n_images} unlabelled test images ({n_seeds} seeds), {_NORM_WORDS[norm]}: "
                     + "; ".join(parts) + ".")
        for det in detectors:
            g = [_gain(result.anomaly_gains, c, norm=norm, detector=det)
                 for c in ("imagenet - pixels", "autoencoder - pixels")]
            verdicts["detection"].add((det, _verdict(g[0])))
            lines.append(f"Detecting a novel class ({det}, each of {n_classes} classes held out in turn), "
                         f"{_NORM_WORDS[norm]}: mean AUROC {_scores(auc[norm][det])} (ImageNet minus pixels "
                         f"{g[0]['interval']}; autoencoder minus pixels {g[1]['interval']}).")
    for task, seen in verdicts.items():
        by_method: dict[str, list[str]] = {}
        for method, verdict in seen:
            by_method.setdefault(method, []).append(verdict)
        for method, found in by_method.items():
            if len(found) == 1:
                lines.append(f"For {task} ({method}), ImageNet features against pixels: {found[0]} "
                             "with both pipelines.")
            else:
                lines.append(f"For {task} ({method}), ImageNet features against pixels depends on the pipeline: "
                             f"{' on raw embeddings, '.join(_ordered(result, task, method))} on unit-length ones.")
    return "\n".join(lines)


def _ordered(result: UnsupervisedResult, task: str, method: str) -> list[str]:
    """The ImageNet-minus-pixels verdicts of ``task`` and ``method`` in the order of :data:`NORMS`."""
    if task == "clustering":
        table = result.cluster_gains[result.cluster_gains["metric"] == "nmi"]
        return [_verdict(_gain(table, "imagenet - pixels", norm=n, method=method)) for n in NORMS]
    return [_verdict(_gain(result.anomaly_gains, "imagenet - pixels", norm=n, detector=method)) for n in NORMS]


@memoized
def run_unsupervised_transfer(*, target: str = TARGET, source: str = SOURCE, seeds: Sequence[int] = SEEDS,
                              n_cluster: int = N_CLUSTER, novel_class: str = NOVEL_CLASS,
                              detectors: Sequence[str] = DETECTORS, profile: str | Profile | None = None,
                              progress: bool | None = None) -> UnsupervisedResult:
    """Notebook 07's experiment: clustering and novel-class detection on three representations.

    See the module's docstring for the protocol. The autoencoder trains once (seed 0); the
    clustering intervals cover the draw of the images and k-means' start, not the autoencoder's
    training, and the detection intervals cover which class is novel.

    Example:
        >>> result = run_unsupervised_transfer(profile="quick")  # doctest: +SKIP
        >>> print(result.conclusion)  # doctest: +SKIP
    """
    func = "run_unsupervised_transfer"
    seeds = check_sequence(seeds, "seeds", func, check_int, minimum=0)
    n_cluster = check_int(n_cluster, "n_cluster", func, minimum=20, maximum=N_TEST)
    detectors = check_names(detectors, "detectors", func, ANOMALY_METHODS)
    data = embed_target(target, source=source, profile=profile, progress=progress)
    check_choice(novel_class, "novel_class", func, data["classes"])
    clustering = clustering_runs(data["test"], data["y_test"], seeds=seeds, n=n_cluster)
    cluster_gains = pd.concat([paired_gains(clustering, value=m, by=["norm", "method"], pair_on="seed").assign(metric=m)
                               for m in ("nmi", "ari")], ignore_index=True)
    anomaly, kept = anomaly_runs(data, detectors=detectors, keep=novel_class)
    anomaly_gains = paired_gains(anomaly, value="auroc", by=["norm", "detector"], pair_on="novel_class")
    example = {"novel_class": novel_class, "scores": {k: v for k, v in kept.items() if k != "is_anomaly"},
               "is_anomaly": kept["is_anomaly"], "images": data["images"], "labels": data["y_test"],
               "classes": data["classes"]}
    result = UnsupervisedResult(clustering, cluster_gains, anomaly, anomaly_gains, example, data["autoencoder"],
                                data["shared"])
    result.summary = _summary(result)
    result.conclusion = conclude(result)
    return result
