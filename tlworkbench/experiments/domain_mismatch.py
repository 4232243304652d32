"""Notebook 03, domain mismatch: the same digit task in another domain (transductive transfer).

A small CNN pretrained by the workbench on one source (digits rendered from fonts, or MNIST
handwriting) is tested on targets of growing shift: MNIST at another resolution (OpenCV's
``digits.png`` holds the same digits at 20 px), printed digits, 8x8 scans and MNIST under an
elastic distortion, blur, colour and inversion. The shift is measured on the source model's features
(MMD with a permutation test, the proxy A-distance) beside the accuracy drop, and three remedies
are compared: re-estimating BatchNorm statistics on the target (AdaBN), Deep CORAL, and
fine-tuning on a few target labels, against a model trained from scratch on the same labels.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import pdist

from ..adaptation import adapt_batchnorm, fit_deep_coral
from ..config import Profile, get_profile
from ..datasets import ImageDataset, load_dataset, stratified_split, subsample
from ..diagnostics import mmd_test, proxy_a_distance
from ..errors import DataError, UnknownDatasetError, UnknownNameError, did_you_mean
from ..evaluation import evaluate, evaluate_features
from ..features import extract_features
from ..shifts import make_shift, shift_dataset
from ..training import fit
from ..zoo import TransferModel, load_model

__all__ = [
    "ARCH",
    "SOURCES",
    "TARGETS",
    "REMEDY_PAIRS",
    "BUDGETS",
    "CORAL_WEIGHT",
    "METHODS",
    "source_model",
    "load_domain",
    "domain_samples",
    "few_label_epochs",
    "shift_vs_drop",
    "shift_correlation",
    "domain_embedding",
    "remedies",
    "remedy_gains",
    "label_efficiency",
    "shift_table",
    "remedy_table",
    "DomainMismatchResult",
    "conclude",
    "run_domain_mismatch",
]

ARCH = "small_cnn"
SOURCES = ("font_digits", "mnist")
#: Targets of each source model, roughly from near to far (the order is not used by any measure).
TARGETS: dict[str, tuple[str, ...]] = {
    "font_digits": ("mnist", "opencv_digits", "mnist+blur0.5", "sklearn_digits", "mnist+colour1", "mnist+invert1"),
    "mnist": ("opencv_digits", "mnist+elastic1", "font_digits", "mnist+blur0.5", "mnist+colour1",
              "sklearn_digits", "mnist+invert1"),
}
#: (source, target) pairs the remedies are tried on.
REMEDY_PAIRS: tuple[tuple[str, str], ...] = (("font_digits", "mnist"), ("mnist", "mnist+blur0.5"),
                                             ("mnist", "mnist+invert1"))
BUDGETS = (1, 3, 10, 30)
#: Weight of the CORAL term. Sun & Saenko pick it so that the classification and CORAL losses are
#: about equal at the end of training; on these models' 64 features the unweighted CORAL term is
#: a tenth to a thirtieth of the cross-entropy, so 10 brings the two to the same order.
CORAL_WEIGHT = 10.0
METHODS = ("source model", "AdaBN", "target batches (CORAL weight 0)", "Deep CORAL", "fine-tune", "scratch")
# Few labels train in batches of 16, so that 100 images still give about 100 steps; each strategy
# has its own learning rate (scratch needs a larger one; fine-tuning keeps the source's weights).
_FEW_LABEL_BATCH = 16
_FINE_TUNE_LR = 1e-3
_SCRATCH_LR = 1e-2


# --- models and domains ------------------------------------------------------------------------


def source_model(source: str, *, profile: str | Profile | None = None, progress: bool = False) -> TransferModel:
    """The workbench's small CNN pretrained on ``source``: ``load_model("small_cnn", weights="tlw:<source>")``.

    Trained once for the profile, then read from the cache; its head keeps the source's ten digit
    classes, which are the target's too.

    Raises:
        UnknownDatasetError: ``source`` is not a registered data set.
    """
    return load_model(ARCH, weights=f"tlw:{source}", profile=profile, progress=progress)


def _shift_seed(seed: int, split: str) -> int:
    # train and test images of a shifted domain get different draws (noise, colours, fields)
    return 2 * int(seed) + (1 if split == "test" else 0)


def load_domain(spec: str, *, split: str = "test", transform: object = None,
                profile: str | Profile | None = None, seed: int = 0) -> ImageDataset:
    """A domain by name: a registered image set, optionally shifted (``"mnist+blur0.5"``).

    Args:
        spec: ``"<data set>"`` or ``"<data set>+<shift>"`` (see :func:`tlworkbench.shifts.make_shift`).
        split: ``"train"`` or ``"test"``.
        transform: a model or ImageTransform the images are read through.
        profile: run profile (caps sizes in the quick profile).
        seed: the seed of the shift's random draws.

    Raises:
        TypeError: ``spec`` is not a str.
        UnknownDatasetError, UnknownNameError: an unknown data set or shift (with the closest name).
    """
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"The 'spec' parameter of load_domain must be a domain name such as 'mnist+blur0.5'. "
                        f"Got {spec!r} instead.")
    base, _, shift = spec.partition("+")
    data = load_dataset(base, split=split, profile=profile)
    if not isinstance(data, ImageDataset):
        raise DataError(f"Domain mismatch needs image sets; {base!r} holds {data.modality}.")
    if shift:
        data = shift_dataset(data, make_shift(shift), seed=_shift_seed(seed, split))
    return data.with_transform(transform) if transform is not None else data


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


def few_label_epochs(per_class: int, num_classes: int = 10) -> int:
    """Epochs when training on ``per_class`` labels per class: about 1,500 examples seen, 4 to 20."""
    return int(min(20, max(4, math.ceil(1500 / (per_class * num_classes)))))


def _check_targets(source: str, targets: Sequence[str] | None) -> tuple[str, ...]:
    if targets is None:
        if source not in TARGETS:
            raise UnknownDatasetError(f"No default targets for the source {source!r}.{did_you_mean(source, TARGETS)} "
                                      f"Sources with default targets: {list(TARGETS)}; or pass targets=[...].")
        return TARGETS[source]
    if isinstance(targets, str) or not len(targets):
        raise ValueError(f"The 'targets' parameter must be a non-empty sequence of domain names. Got {targets!r} "
                         "instead.")
    return tuple(targets)


def _unlabelled(train: ImageDataset, n: int, seed: int) -> ImageDataset:
    """The target training images the unsupervised methods read (a stratified sample of ``n``)."""
    return train.subset(stratified_split(train.targets.numpy(), n, seed=seed))


def _sample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), size=n, replace=False))]


# --- shift against accuracy drop ---------------------------------------------------------------


def shift_vs_drop(source: str, targets: Sequence[str] | None = None, *, model: TransferModel | None = None,
                  max_samples: int = 500, n_permutations: int = 200, profile: str | Profile | None = None,
                  seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """The source model's accuracy on each target beside the shift measured on its features.

    Features are the source model's pooled backbone features of the test images. MMD² uses one RBF
    bandwidth for every target, the median pairwise distance of the source sample, so that the
    values share a scale and can be ranked; its permutation test asks whether the target's
    features could come from the source's distribution. The proxy A-distance is
    ``2 (1 - 2 err)`` of a linear domain classifier (0: indistinguishable, 2: separable).

    Args:
        source: the source data set (a name of :data:`SOURCES` or any digit set).
        targets: domain names (default: :data:`TARGETS` of the source).
        model: the source model (default: :func:`source_model`).
        max_samples: test images per domain the shift is measured on.
        n_permutations: permutations of the MMD test.
        profile: run profile.
        seed: seed of the shifts, the samples, the permutations and the domain classifier's folds.
        progress: progress bars.

    Returns:
        One row per target: ``source``, ``target``, ``source_accuracy``, ``accuracy``,
        ``accuracy_drop`` (source minus target accuracy), ``mmd2``, ``mmd_p_value``,
        ``proxy_a_distance``.
    """
    targets = _check_targets(source, targets)
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
        rows.append({"source": source, "target": target, "source_accuracy": source_accuracy, "accuracy": accuracy,
                     "accuracy_drop": source_accuracy - accuracy, "mmd2": test.mmd2, "mmd_p_value": test.p_value,
                     "proxy_a_distance": proxy_a_distance(xs, xt, seed=seed)})
    return pd.DataFrame(rows)


def shift_correlation(frame: pd.DataFrame, *, measures: Sequence[str] = ("mmd2", "proxy_a_distance"),
                      by: str = "source") -> pd.DataFrame:
    """Rank correlation between each shift measure and the accuracy drop, per source model.

    Returns:
        One row per source and measure: ``source``, ``measure``, ``n_targets``, ``spearman``,
        ``spearman_p``, ``kendall``, ``kendall_p`` (NaN when a measure has the same value on every
        target: it ranks nothing).

    Raises:
        ValueError: a column is missing.
    """
    missing = [c for c in (by, "accuracy_drop", *measures) if c not in frame.columns]
    if missing:
        raise ValueError(f"The 'frame' parameter of shift_correlation lacks the columns {missing}; pass the "
                         f"frame of shift_vs_drop. Columns: {list(frame.columns)}.")
    rows = []
    for key, part in frame.groupby(by, sort=False):
        for measure in measures:
            x, y = part[measure].to_numpy(float), part["accuracy_drop"].to_numpy(float)
            flat = len(part) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0
            rho = stats.spearmanr(x, y) if not flat else None
            tau = stats.kendalltau(x, y) if not flat else None
            rows.append({by: key, "measure": measure, "n_targets": len(part),
                         "spearman": float(rho.statistic) if rho else math.nan,
                         "spearman_p": float(rho.pvalue) if rho else math.nan,
                         "kendall": float(tau.statistic) if tau else math.nan,
                         "kendall_p": float(tau.pvalue) if tau else math.nan})
    return pd.DataFrame(rows)


def domain_embedding(source: str, target: str, *, model: TransferModel | None = None, n: int = 500,
                     adapted: bool = False, unlabelled: int = 2000, profile: str | Profile | None = None,
                     seed: int = 0, progress: bool = False) -> dict[str, object]:
    """Source-model features of ``n`` source and ``n`` target test images, for a 2-D embedding plot.

    Args:
        source: the source data set.
        target: the target domain.
        model: the source model (default: :func:`source_model`); it is not changed.
        n: test images per domain.
        adapted: read the target through a copy of the model whose BatchNorm statistics were
            re-estimated (AdaBN) on ``unlabelled`` target training images, as :func:`remedies` does.
        unlabelled: target training images AdaBN reads.
        profile: run profile.
        seed: seed of the shifts and samples.
        progress: progress bars.

    Returns:
        ``{"features": (2n, d) array, "labels": (2n,), "domains": (2n,) of "source: <name>" /
        "target: <name>", "classes": the class names}``.
    """
    model = model if model is not None else source_model(source, profile=profile, progress=progress)
    src = load_domain(source, split="test", transform=model, profile=profile, seed=seed)
    tgt = load_domain(target, split="test", transform=model, profile=profile, seed=seed)
    target_model = model
    if adapted:
        train = load_domain(target, split="train", transform=model, profile=profile, seed=seed)
        target_model = adapt_batchnorm(copy.deepcopy(model), _unlabelled(train, unlabelled, seed))
    feats, labels, domains = [], [], []
    for name, data, m in ((f"source: {source}", src, model), (f"target: {target}", tgt, target_model)):
        data = data.subset(stratified_split(data.targets.numpy(), n, seed=seed))
        f, y = extract_features(m, data, cache=False, progress=progress)
        feats.append(f.numpy())
        labels.append(y.numpy())
        domains += [name] * len(y)
    return {"features": np.concatenate(feats), "labels": np.concatenate(labels), "domains": np.asarray(domains),
            "classes": list(src.classes)}


# --- remedies ------------------------------------------------------------------------------------


def _few_labels(kind: str, source: str, labelled: ImageDataset, test: ImageDataset, *, per_class: int,
                seed: int, profile: str | Profile | None, base: TransferModel | None) -> float:
    """Accuracy after training on ``labelled``: fine-tuned from the source model, or from scratch."""
    epochs = few_label_epochs(per_class, len(labelled.classes))
    if kind == "fine-tune":
        model = copy.deepcopy(base) if base is not None else source_model(source, profile=profile)
        fit(model, labelled, strategy="fine_tune", epochs=epochs, lr=_FINE_TUNE_LR, batch_size=_FEW_LABEL_BATCH,
            seed=seed, progress=False, profile=profile)
    else:
        model = load_model(ARCH, num_classes=len(labelled.classes), weights=None, seed=seed)
        fit(model, labelled, strategy="scratch", epochs=epochs, lr=_SCRATCH_LR, batch_size=_FEW_LABEL_BATCH,
            seed=seed, progress=False, profile=profile)
    return evaluate(model, test).accuracy


def remedies(source: str, target: str, *, methods: Sequence[str] = METHODS, per_class: int = 10,
             seeds: Sequence[int] | None = None, unlabelled: int = 2000, coral_weight: float = CORAL_WEIGHT,
             coral_epochs: int = 1, model: TransferModel | None = None, efficiency: pd.DataFrame | None = None,
             profile: str | Profile | None = None, seed: int = 0, progress: bool = False) -> pd.DataFrame:
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
        model: the source model (default: :func:`source_model`); it is not changed.
        efficiency: label-efficiency runs to reuse.
        profile: run profile.
        seed: seed of the shifts, the unlabelled sample and the unsupervised training.
        progress: progress bars.

    Returns:
        One row per method and seed: ``source``, ``target``, ``method``, ``seed``, ``accuracy``,
        ``target_labels`` (labelled target images used) and ``target_images`` (target training
        images read).

    Raises:
        UnknownNameError: an unknown method (with the closest name).
        ValueError: empty ``methods`` or ``seeds``.
    """
    if isinstance(methods, str) or not len(methods):
        raise ValueError(f"The 'methods' parameter of remedies must be a non-empty sequence of {METHODS}. "
                         f"Got {methods!r} instead.")
    for m in methods:
        if m not in METHODS:
            raise UnknownNameError(f"Unknown remedy {m!r}.{did_you_mean(str(m), METHODS)} Methods: {list(METHODS)}.")
    prof = get_profile(profile)
    seeds = tuple(prof.seeds if seeds is None else seeds)
    if not seeds:
        raise ValueError("The 'seeds' parameter of remedies must hold at least one seed.")
    model = model if model is not None else source_model(source, profile=prof, progress=progress)
    tgt_train = load_domain(target, split="train", transform=model, profile=prof, seed=seed)
    tgt_test = load_domain(target, split="test", transform=model, profile=prof, seed=seed)
    pool = _unlabelled(tgt_train, unlabelled, seed)
    base = {"source": source, "target": target}
    rows = []

    def add(method: str, accuracy: float, s: int, labels: int, images: int) -> None:
        rows.append({**base, "method": method, "seed": s, "accuracy": accuracy, "target_labels": labels,
                     "target_images": images})

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
        (efficiency["source"] == source) & (efficiency["target"] == target) & (efficiency["budget"] == per_class)]
    for s in seeds:
        labelled = subsample(tgt_train, per_class=per_class, seed=s)
        for kind in ("fine-tune", "scratch"):
            if kind not in methods:
                continue
            strategy = f"fine-tune from {source}" if kind == "fine-tune" else "scratch"
            found = done[(done["seed"] == s) & (done["strategy"] == strategy)] if len(done) else done
            acc = (float(found["accuracy"].iloc[0]) if len(found) else
                   _few_labels(kind, source, labelled, tgt_test, per_class=per_class, seed=s, profile=prof,
                               base=model))
            add(kind, acc, s, len(labelled), len(labelled))
    return pd.DataFrame(rows)


def remedy_gains(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy of each method per pair and its gain over the source model, in points.

    Returns:
        One row per pair and method (in the order of :data:`METHODS`): ``source``, ``target``,
        ``method``, ``accuracy`` (mean over seeds), ``sd`` (over seeds; 0 for one run), ``runs``,
        ``gain (points)``.
    """
    g = frame.groupby(["source", "target", "method"], sort=False)["accuracy"]
    out = pd.DataFrame({"accuracy": g.mean(), "sd": g.std(ddof=1).fillna(0.0), "runs": g.size()}).reset_index()
    before = out[out["method"] == "source model"].set_index(["source", "target"])["accuracy"]
    out["gain (points)"] = 100 * (out["accuracy"] - [before.get((s, t), math.nan)
                                                     for s, t in zip(out["source"], out["target"])])
    pairs = list(dict.fromkeys(zip(frame["source"], frame["target"])))
    order = {m: i for i, m in enumerate(METHODS)}
    out["_pair"] = [pairs.index(p) for p in zip(out["source"], out["target"])]
    out["_method"] = out["method"].map(order).fillna(len(order))
    out = out.sort_values(["_pair", "_method"], kind="stable")
    return out.drop(columns=["_pair", "_method"]).reset_index(drop=True)


def label_efficiency(source: str, target: str, *, budgets: Sequence[int] = BUDGETS,
                     seeds: Sequence[int] | None = None, model: TransferModel | None = None,
                     profile: str | Profile | None = None, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """Fine-tuned from the source model against scratch, over labels per class and seeds.

    The labelled subsets are nested (:func:`~tlworkbench.datasets.subsample`): for one seed, the
    images at a small budget are among those at a larger one. Both strategies train for
    :func:`few_label_epochs` epochs on the same images.

    Returns:
        One row per strategy, budget and seed: ``source``, ``target``, ``strategy``
        (``"fine-tune from <source>"`` or ``"scratch"``), ``budget``, ``seed``, ``accuracy``.
    """
    prof = get_profile(profile)
    seeds = tuple(prof.seeds if seeds is None else seeds)
    if isinstance(budgets, int) or not len(budgets) or not len(seeds):
        raise ValueError(f"The 'budgets' and 'seeds' parameters of label_efficiency must be non-empty sequences. "
                         f"Got {budgets!r} and {seeds!r} instead.")
    model = model if model is not None else source_model(source, profile=prof, progress=progress)
    tgt_train = load_domain(target, split="train", transform=model, profile=prof, seed=seed)
    tgt_test = load_domain(target, split="test", transform=model, profile=prof, seed=seed)
    rows = []
    from tqdm.auto import tqdm

    runs = [(s, b, k) for s in seeds for b in budgets for k in ("fine-tune", "scratch")]
    for s, b, kind in tqdm(runs, desc="label budgets", disable=not progress):
        labelled = subsample(tgt_train, per_class=int(b), seed=s)
        acc = _few_labels(kind, source, labelled, tgt_test, per_class=int(b), seed=s, profile=prof, base=model)
        rows.append({"source": source, "target": target,
                     "strategy": f"fine-tune from {source}" if kind == "fine-tune" else "scratch",
                     "budget": int(b), "seed": s, "accuracy": acc})
    return pd.DataFrame(rows)


# --- the result ----------------------------------------------------------------------------------


@dataclass
class DomainMismatchResult:
    """Everything notebook 03 shows.

    Attributes:
        shift: :func:`shift_vs_drop` of every source, concatenated.
        remedies: :func:`remedies` of every pair, concatenated.
        efficiency: :func:`label_efficiency` of the main pair (may be empty).
        correlation: :func:`shift_correlation` of ``shift`` (computed when not given).
    """

    shift: pd.DataFrame
    remedies: pd.DataFrame
    efficiency: pd.DataFrame = field(default_factory=pd.DataFrame)
    correlation: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.correlation is None:
            self.correlation = shift_correlation(self.shift)

    @property
    def gains(self) -> pd.DataFrame:
        """:func:`remedy_gains` of the remedies."""
        return remedy_gains(self.remedies)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per remedy pair: the measured shift, then the mean target accuracy of each method."""
        gains = self.gains
        table = gains.pivot_table(index=["source", "target"], columns="method", values="accuracy", sort=False)
        table = table[[m for m in METHODS if m in table.columns]]
        shift = self.shift.set_index(["source", "target"])
        table.insert(0, "MMD²", [shift["mmd2"].get(k, math.nan) for k in table.index])
        table.insert(1, "A-distance", [shift["proxy_a_distance"].get(k, math.nan) for k in table.index])
        table.index = pd.Index([f"{s} → {t}" for s, t in table.index], name="source → target")
        table.columns.name = None
        return table.round(3)

    @property
    def conclusion(self) -> str:
        """The findings in words, with the numbers measured."""
        return conclude(self)


def _fmt_pair(source: str, target: str) -> str:
    return f"{source} → {target}"


def conclude(result: DomainMismatchResult) -> str:
    """The notebook's conclusion, written from the measured tables."""
    lines = []
    corr = result.correlation.set_index(["source", "measure"])
    shift = result.shift
    for source, part in shift.groupby("source", sort=False):
        c = corr.loc[(source, "mmd2")]
        rho = c["spearman"]
        verb = ("grows with" if rho >= 0.6 else "loosely follows" if rho > 0 else "does not follow")
        lines.append(
            f"The {source} model ({part['source_accuracy'].iloc[0]:.3f} on its own test set) loses between "
            f"{100 * part['accuracy_drop'].min():.1f} and {100 * part['accuracy_drop'].max():.1f} points on "
            f"{len(part)} targets; the drop {verb} the MMD² of its features: Spearman {rho:.2f}, "
            f"Kendall {c['kendall']:.2f} (p = {c['kendall_p']:.3f}).")
    rejected = int((shift["mmd_p_value"] <= 0.05).sum())
    lines.append(f"The MMD permutation test tells {rejected} of {len(shift)} targets apart from their source at the "
                 f"5% level (largest p-value {shift['mmd_p_value'].max():.3f}).")
    pad = corr.xs("proxy_a_distance", level="measure")
    saturated = int((shift["proxy_a_distance"] >= 1.95).sum())
    rhos = ", ".join(f"{s} {r:.2f}" if not math.isnan(r) else f"{s} undefined"
                     for s, r in pad["spearman"].items())
    lines.append(f"The proxy A-distance is at least 1.95 (near-perfect separation) on {saturated} of {len(shift)} "
                 f"targets, which limits how finely it ranks them (Spearman {rhos}).")
    gains = result.gains.set_index(["source", "target", "method"])
    for (source, target), g in result.gains.groupby(["source", "target"], sort=False):
        acc, gain = g.set_index("method")["accuracy"], g.set_index("method")["gain (points)"]
        parts = [f"source model {acc['source model']:.3f}"] if "source model" in acc else []
        if "AdaBN" in acc:
            parts.append(f"AdaBN {gain['AdaBN']:+.1f} points")
        if "Deep CORAL" in acc:
            text = f"Deep CORAL {gain['Deep CORAL']:+.1f}"
            if "target batches (CORAL weight 0)" in acc:
                own = 100 * (acc["Deep CORAL"] - acc["target batches (CORAL weight 0)"])
                text += (f" (the CORAL term itself {own:+.1f}; the rest comes from BatchNorm seeing target "
                         "batches)")
            parts.append(text)
        if "fine-tune" in acc:
            rows = result.remedies[(result.remedies["source"] == source) & (result.remedies["target"] == target)
                                   & (result.remedies["method"] == "fine-tune")]
            text = f"fine-tuned on {int(rows['target_labels'].iloc[0])} labels {acc['fine-tune']:.3f}"
            if "scratch" in acc:
                text += f" against {acc['scratch']:.3f} from scratch"
            parts.append(text + f" ({rows['seed'].nunique()} seed{'s' if rows['seed'].nunique() > 1 else ''})")
        lines.append(f"{_fmt_pair(source, target)}: " + "; ".join(parts) + ".")
    for (source, target), g in result.gains.groupby(["source", "target"], sort=False):
        acc = g.set_index("method")["accuracy"]
        if {"fine-tune", "scratch"} <= set(acc.index) and acc["fine-tune"] < acc["scratch"]:
            lines.append(f"On {_fmt_pair(source, target)} the source model is a worse start than a random one: "
                         f"fine-tuned {acc['fine-tune']:.3f}, from scratch {acc['scratch']:.3f} (negative transfer).")
    if "AdaBN" in result.gains["method"].values:
        adabn = result.gains[result.gains["method"] == "AdaBN"]
        weak = [f"{s} → {t} ({v:+.1f})" for s, t, v in zip(adabn["source"], adabn["target"], adabn["gain (points)"])
                if v < 3.0]
        if weak:
            lines.append(f"AdaBN gains under 3 points on {', '.join(weak)}.")
    if len(result.efficiency):
        eff = result.efficiency
        per_seed = eff.pivot_table(index=["budget", "seed"], columns="strategy", values="accuracy")
        ft = next(c for c in per_seed.columns if c.startswith("fine-tune"))
        diff = 100 * (per_seed[ft] - per_seed["scratch"])
        mean, wins = diff.groupby(level="budget").mean(), (diff > 0).groupby(level="budget").sum()
        n = eff["seed"].nunique()
        lines.append(f"Fine-tuned from the mismatched {eff['source'].iloc[0]} model rather than trained from scratch "
                     f"on the same {eff['target'].iloc[0]} labels: "
                     + ", ".join(f"{mean[b]:+.1f} points at {b} (better in {wins[b]} of {n} seeds)" for b in mean.index)
                     + " labels per class.")
        key = (eff["source"].iloc[0], eff["target"].iloc[0], "source model")
        if key in gains.index:
            untouched = float(gains.loc[key, "accuracy"])
            low = per_seed[ft].groupby(level="budget").mean()
            b0 = low.index.min()
            verb = "below" if low[b0] < untouched else "above"
            lines.append(f"Without any label the source model reaches {untouched:.3f}; fine-tuned on {b0} "
                         f"label{'s' if b0 > 1 else ''} per class it ends {verb} that ({low[b0]:.3f}).")
    return "\n".join(lines)


def _models(names: Sequence[str], models: dict[str, TransferModel] | None, prof: Profile,
            progress: bool) -> dict[str, TransferModel]:
    out = dict(models or {})
    for name in dict.fromkeys(names):
        if name not in out:
            out[name] = source_model(name, profile=prof, progress=progress)
    return out


def shift_table(sources: Sequence[str] = SOURCES, *, models: dict[str, TransferModel] | None = None,
                profile: str | Profile | None = None, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """:func:`shift_vs_drop` of every source against its :data:`TARGETS`, in one frame.

    Args:
        sources: the source models' data sets.
        models: source models already loaded, by source (the others are loaded).
        profile: run profile.
        seed: seed of the shifts, samples and tests.
        progress: progress bars.
    """
    prof = get_profile(profile)
    models = _models(sources, models, prof, progress)
    return pd.concat([shift_vs_drop(s, model=models[s], profile=prof, seed=seed, progress=progress)
                      for s in sources], ignore_index=True)


def remedy_table(pairs: Sequence[tuple[str, str]] = REMEDY_PAIRS, *, models: dict[str, TransferModel] | None = None,
                 efficiency: pd.DataFrame | None = None, seeds: Sequence[int] | None = None,
                 other_seeds: Sequence[int] | None = None, profile: str | Profile | None = None, seed: int = 0,
                 progress: bool = False) -> pd.DataFrame:
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
        progress: progress bars.
    """
    prof = get_profile(profile)
    seeds = tuple(prof.seeds if seeds is None else seeds)
    if other_seeds is None:
        other_seeds = seeds[:1] if prof.name == "quick" else seeds
    models = _models([p[0] for p in pairs], models, prof, progress)
    return pd.concat([remedies(s, t, seeds=seeds if i == 0 else other_seeds, model=models[s], efficiency=efficiency,
                               profile=prof, seed=seed, progress=progress)
                      for i, (s, t) in enumerate(pairs)], ignore_index=True)


def run_domain_mismatch(profile: str | Profile | None = None, seed: int = 0, *,
                        sources: Sequence[str] = SOURCES, pairs: Sequence[tuple[str, str]] = REMEDY_PAIRS,
                        budgets: Sequence[int] = BUDGETS, seeds: Sequence[int] | None = None,
                        progress: bool = False) -> DomainMismatchResult:
    """Run every part of notebook 03 and return the tables.

    Args:
        profile: run profile.
        seed: seed of the shifts, samples and unsupervised training.
        sources: source models whose shift against drop is measured.
        pairs: (source, target) pairs the remedies are tried on; the first one also gets the
            label-efficiency curve.
        budgets: labels per class of that curve.
        seeds: seeds of the label-based methods (default: the profile's).
        progress: progress bars.

    Example:
        >>> result = run_domain_mismatch("quick")     # doctest: +SKIP
        >>> print(result.conclusion)                  # doctest: +SKIP
    """
    prof = get_profile(profile)
    models = _models([*sources, *(p[0] for p in pairs)], None, prof, progress)
    shift = shift_table(sources, models=models, profile=prof, seed=seed, progress=progress)
    eff = (label_efficiency(pairs[0][0], pairs[0][1], budgets=budgets, seeds=seeds, model=models[pairs[0][0]],
                            profile=prof, seed=seed, progress=progress) if pairs and budgets else pd.DataFrame())
    rem = remedy_table(pairs, models=models, efficiency=eff, seeds=seeds, profile=prof, seed=seed,
                       progress=progress)
    return DomainMismatchResult(shift=shift, remedies=rem, efficiency=eff)
