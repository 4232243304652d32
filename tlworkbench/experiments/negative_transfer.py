"""Notebook 04, negative transfer: when a pretrained source makes the target worse.

Small CNNs pretrained by the workbench on sources of different relatedness to one target (digits
rendered from fonts, Fashion-MNIST clothes, and the target's own images with shuffled labels) are
transferred at several label budgets and freezing depths, against the same network trained from
scratch on the same examples. The negative-transfer gap
``NTG = error(transfer) - error(scratch)`` (Wang et al., 2019) is estimated per source, budget and
depth with a paired bootstrap interval over seeds. LEEP, LogME, H-score and a pixel-level domain
distance, measured before any training on the target, are set against the harm each source did.

The recipe is the same for every arm that trains convolutions: AdamW at ``lr=1e-2`` with a
one-cycle schedule, batches of 32, and about 6,000 examples seen (:func:`target_epochs`), which
is where training from scratch stops improving. A frozen backbone leaves a convex problem, so
the head-only arm fits its linear head to convergence with L-BFGS on cached features, with a
small L2 penalty (weight decay 1e-3; without it, heads fitted on 10 examples per class lost 6 to
8 points of accuracy in a trial run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import Profile, get_profile
from ..datasets import ImageDataset, load_dataset, subsample
from ..diagnostics import h_score, leep, logme, negative_transfer_gap, proxy_a_distance
from ..evaluation import evaluate
from ..features import extract_features
from ..freezing import freeze_to, group_names
from ..sources import pretrain_source
from ..training import fit
from ..zoo import TransferModel, load_model

__all__ = [
    "ARCH",
    "TARGET",
    "SOURCES",
    "RELATEDNESS",
    "BUDGETS",
    "DEPTHS",
    "target_epochs",
    "grid_settings",
    "depth_label",
    "load_source",
    "transfer_grid",
    "gaps",
    "gap_table",
    "pre_training_scores",
    "source_ranking",
    "plot_gaps",
    "NegativeTransferResult",
    "conclude",
    "run_negative_transfer",
]

ARCH = "small_cnn"
TARGET = "mnist"
#: Sources per profile: related, unrelated, and meaningless labels on the target's own images.
SOURCES = {
    "quick": ("font_digits", "fashion_mnist", "mnist:random"),
    "full": ("font_digits", "fashion_mnist", "animal_mnist", "mnist:random", "font_digits:random"),
}
#: What each source has in common with an MNIST target, for tables and the conclusion.
RELATEDNESS = {
    "font_digits": "same classes, other domain (printed digits)",
    "opencv_digits": "same classes, other handwriting",
    "fashion_mnist": "unrelated classes and images (clothes)",
    "animal_mnist": "unrelated classes and images (animal silhouettes)",
    "mnist:random": "the target's own images, shuffled labels",
    "font_digits:random": "printed digits, shuffled labels",
}
BUDGETS = {"quick": (10, 50), "full": (5, 10, 50, 200)}
#: ``freeze_to`` depths: 0 fine-tunes everything, the number of backbone groups trains the head only.
DEPTHS = {"quick": (0, 2, 3), "full": (0, 1, 2, 3)}

_EXAMPLES_SEEN = 6000  # where scratch training of the small CNN stops improving at these budgets
_MIN_EPOCHS = 12
_PROBE = {"optimizer": "lbfgs", "lr": 1.0, "epochs": 10, "weight_decay": 1e-3}
_CLOSE = 0.02  # mean-NTG differences below this are not told apart by three seeds


def target_epochs(n_train: int) -> int:
    """Epochs for ``n_train`` target examples: about 6,000 examples seen, at least 12 epochs.

    On MNIST, training from scratch at ``lr=1e-2`` gained nothing from 120 epochs over 60 at 10
    labels per class (100 images), and half a point from 26 over 13 at 50 per class.
    """
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or n_train < 1:
        raise ValueError(f"The 'n_train' parameter of target_epochs must be a positive int. Got {n_train!r} instead.")
    return int(max(_MIN_EPOCHS, math.ceil(_EXAMPLES_SEEN / int(n_train))))


def grid_settings(profile: str | Profile | None = None) -> dict[str, Any]:
    """The sources, budgets, depths and seeds the notebook uses in a profile."""
    prof = get_profile(profile)
    return {"target": TARGET, "sources": SOURCES[prof.name], "budgets": BUDGETS[prof.name],
            "depths": DEPTHS[prof.name], "seeds": tuple(prof.seeds)}


def depth_label(model_or_groups: TransferModel | Sequence[str], depth: int) -> str:
    """A readable name of a ``freeze_to`` depth: ``"fine-tune all"``, ``"conv1-conv2 frozen"``, ``"head only"``."""
    names = group_names(model_or_groups) if isinstance(model_or_groups, TransferModel) else list(model_or_groups)
    backbone = names[:-1]
    if depth == 0:
        return "fine-tune all"
    if depth >= len(backbone):
        return "head only"
    return f"{backbone[0]}-{backbone[depth - 1]} frozen" if depth > 1 else f"{backbone[0]} frozen"


@contextmanager
def _limit_threads(threads: int | None) -> Iterator[None]:
    """Run torch and the BLAS behind NumPy with ``threads`` threads each, restoring both afterwards.

    ``None`` leaves both as they are.
    """
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        with threadpool_limits(int(threads)):
            yield
    finally:
        torch.set_num_threads(before)


def _check_names(values: Sequence[Any], param: str) -> tuple[Any, ...]:
    if isinstance(values, (str, int)) or not len(values):
        raise ValueError(f"The {param!r} parameter of transfer_grid must be a non-empty sequence. "
                         f"Got {values!r} instead.")
    return tuple(values)


def load_source(source: str, *, num_classes: int | None = None, seed: int | None = None,
                profile: str | Profile | None = None, progress: bool = False) -> TransferModel:
    """A small CNN pretrained by the workbench on ``source`` (trained and cached on first use).

    Args:
        source: a data set name, or ``"<name>:random"`` for its images with shuffled labels.
        num_classes: outputs of a fresh head; ``None`` keeps the source head.
        seed: seeds the fresh head.
        profile: the profile the source model is trained in (its data size and epochs).
        progress: a progress bar while the source model is trained.

    Returns:
        The model; ``model.weights`` is ``"tlw:<source>"``.
    """
    path = pretrain_source(ARCH, source, profile=profile, progress=progress)
    model = load_model(ARCH, num_classes=num_classes, weights=str(path), seed=seed, profile=profile)
    model.weights = f"tlw:{source}"
    return model


def _train_and_score(model: TransferModel, part: ImageDataset, test: ImageDataset, *, strategy: str, depth: int,
                     lr: float, batch_size: int, seed: int, prof: Profile) -> dict[str, Any]:
    head_only = depth >= len(model.groups) - 1
    freeze_to(model, depth)
    start = time.perf_counter()
    if head_only:
        fit(model, part, strategy="linear_probe", seed=seed, progress=False, profile=prof, **_PROBE)
    else:
        fit(model, part, strategy=strategy, epochs=target_epochs(len(part)), lr=lr, batch_size=batch_size,
            seed=seed, progress=False, profile=prof)
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, test).accuracy
    return {"accuracy": accuracy, "error": 1.0 - accuracy, "seconds": seconds}


def transfer_grid(target: str = TARGET, *, sources: Sequence[str] | None = None,
                  budgets: Sequence[int] | None = None, depths: Sequence[int] | None = None,
                  seeds: Sequence[int] | None = None, lr: float = 1e-2, batch_size: int = 32,
                  threads: int | None = 1, profile: str | Profile | None = None,
                  progress: bool = True) -> pd.DataFrame:
    """Transfer every source at every budget and freezing depth, and train from scratch, per seed.

    For each seed and budget, ``per_class=budget`` target examples are drawn
    (:func:`~tlworkbench.datasets.subsample`, nested over budgets); the scratch arm and every
    (source, depth) arm train on exactly those and are tested on the whole target test split, so
    the arms of one seed are paired. Depth ``d`` is ``freeze_to(model, d)``: the first ``d``
    groups keep the source's weights frozen; the rest, and a fresh head, are trained.

    Args:
        target: the target data set.
        sources: workbench source keys (default: the profile's, see :data:`SOURCES`).
        budgets: labelled target examples per class (default: the profile's).
        depths: ``freeze_to`` depths (default: the profile's).
        seeds: seeds of the draw, the head's initialisation and training (default: the profile's).
        lr: learning rate of the arms that train convolutions (scratch included).
        batch_size: examples per step of those arms.
        threads: torch and BLAS threads while the grid runs, restored afterwards (``None``: leave
            as set). The small CNN on batches of 32 gains little from more than one, and on cores
            shared with other work extra threads mostly wait for each other.
        profile: run profile (default sizes, source models).
        progress: a progress bar over the runs (and while a source model is first trained).

    Returns:
        One row per run: ``target``, ``source`` (``"scratch"`` for the baseline), ``depth``
        (``-1`` for scratch), ``frozen`` (readable depth), ``budget``, ``seed``, ``n_train``,
        ``epochs`` (L-BFGS rounds for the head-only arm), ``accuracy``, ``error`` and ``seconds``
        (training time).

    Raises:
        ValueError: an empty sequence, or a depth outside ``[0, number of backbone groups]``.
        UnknownDatasetError: an unknown target or source.

    Example:
        >>> grid = transfer_grid("mnist", sources=("font_digits",), budgets=(10,), seeds=(0,))  # doctest: +SKIP
    """
    prof = get_profile(profile)
    settings = grid_settings(prof)
    sources = _check_names(settings["sources"] if sources is None else sources, "sources")
    budgets = _check_names(settings["budgets"] if budgets is None else budgets, "budgets")
    depths = _check_names(settings["depths"] if depths is None else depths, "depths")
    seeds = _check_names(settings["seeds"] if seeds is None else seeds, "seeds")
    groups = group_names(load_model(ARCH, num_classes=2, weights=None))
    for d in depths:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= len(groups) - 1:
            raise ValueError(f"The 'depths' parameter of transfer_grid must hold ints in [0, {len(groups) - 1}] "
                             f"(freeze_to depths of {ARCH}: {groups[:-1]}). Got {d!r} instead.")
    from tqdm.auto import tqdm

    with _limit_threads(threads):
        for source in sources:  # train missing source models first, outside the timed runs
            pretrain_source(ARCH, source, profile=prof, progress=progress)
        base = load_model(ARCH, num_classes=2, weights=None)
        train = load_dataset(target, split="train", transform=base, profile=prof)
        test = load_dataset(target, split="test", transform=base, profile=prof)
        k = len(train.classes)
        runs = [(seed, budget, source, depth) for seed in seeds for budget in budgets
                for source in ("scratch", *sources) for depth in ((-1,) if source == "scratch" else depths)]
        rows = []
        parts: dict[tuple[int, int], ImageDataset] = {}
        for seed, budget, source, depth in tqdm(runs, desc="transfer grid", disable=not progress):
            key = (seed, budget)
            if key not in parts:
                parts[key] = subsample(train, per_class=budget, seed=seed)
            part = parts[key]
            if source == "scratch":
                model = load_model(ARCH, num_classes=k, weights=None, seed=seed)
                out = _train_and_score(model, part, test, strategy="scratch", depth=0, lr=lr,
                                       batch_size=batch_size, seed=seed, prof=prof)
                frozen = "scratch"
            else:
                model = load_source(source, num_classes=k, seed=seed, profile=prof)
                out = _train_and_score(model, part, test, strategy="fine_tune", depth=depth, lr=lr,
                                       batch_size=batch_size, seed=seed, prof=prof)
                frozen = depth_label(groups, depth)
            head_only = depth >= len(groups) - 1
            rows.append({"target": target, "source": source, "depth": int(depth), "frozen": frozen,
                         "budget": int(budget), "seed": int(seed), "n_train": len(part),
                         "epochs": _PROBE["epochs"] if head_only else target_epochs(len(part)), **out})
    return pd.DataFrame(rows)


def gaps(grid: pd.DataFrame, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The negative-transfer gap of every (source, budget, depth), with a paired bootstrap interval.

    Args:
        grid: :func:`transfer_grid`'s frame.
        level: confidence level of the interval.
        n_boot: bootstrap resamples.
        seed: seed of the bootstrap.

    Returns:
        One row per (source, budget, depth): ``source``, ``budget``, ``depth``, ``frozen``,
        ``transfer_error``, ``scratch_error`` (means over seeds), ``ntg`` (their difference;
        positive: transfer hurt), ``low``, ``high`` (the interval), ``verdict`` and ``seeds``.

    Raises:
        ValueError: the grid has no scratch rows, or a transfer arm lacks the scratch runs of its seeds.
    """
    scratch = grid[grid["source"] == "scratch"].set_index(["budget", "seed"])["error"]
    if scratch.empty:
        raise ValueError("The 'grid' parameter of gaps has no scratch rows (source == 'scratch'). "
                         "Pass the frame of transfer_grid.")
    rows = []
    transfer = grid[grid["source"] != "scratch"]
    for (source, budget, depth), part in transfer.groupby(["source", "budget", "depth"], sort=False):
        part = part.sort_values("seed")
        keys = [(budget, s) for s in part["seed"]]
        missing = [k for k in keys if k not in scratch.index]
        if missing:
            raise ValueError(f"gaps found no scratch run for (budget, seed) {missing} of source {source!r}. "
                             "Run scratch and transfer arms with the same seeds.")
        base = scratch.loc[keys].to_numpy()
        gap = negative_transfer_gap(part["error"].to_numpy(), base, n_boot=n_boot, seed=seed, level=level,
                                    paired=True)
        rows.append({"source": source, "budget": int(budget), "depth": int(depth), "frozen": part["frozen"].iloc[0],
                     "transfer_error": float(part["error"].mean()), "scratch_error": float(base.mean()),
                     "ntg": gap.gap, "low": gap.low, "high": gap.high, "verdict": gap.significant,
                     "seeds": len(part)})
    return pd.DataFrame(rows)


def gap_table(gap_frame: pd.DataFrame) -> pd.DataFrame:
    """NTG with its interval as text, one row per source and depth, one column per budget.

    Returns:
        Cells like ``"+0.152 [+0.131, +0.170] *"``; ``*`` marks an interval that excludes 0.
    """
    def cell(row: pd.Series) -> str:
        mark = " *" if row["verdict"] != "not significant" else ""
        return f"{row['ntg']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]{mark}"

    frame = gap_frame.assign(cell=gap_frame.apply(cell, axis=1))
    order = list(pd.unique(gap_frame["source"]))
    table = frame.pivot_table(index=["source", "depth", "frozen"], columns="budget", values="cell", aggfunc="first")
    table.columns = [f"NTG at {b}/class" for b in table.columns]
    table = table.reset_index()
    table["source"] = pd.Categorical(table["source"], categories=order, ordered=True)
    return table.sort_values(["source", "depth"]).reset_index(drop=True).astype({"source": str})


def _source_images(source: str, n_per_class: int, *, transform: Any, prof: Profile, seed: int) -> torch.Tensor:
    name = source.partition(":")[0]
    data = load_dataset(name, split="train", transform=transform, profile=prof)
    part = subsample(data, per_class=min(n_per_class, int(data.class_counts().min())), seed=seed)
    return part.get_batch(torch.arange(len(part)))[0].flatten(1)


def pre_training_scores(target: str = TARGET, *, sources: Sequence[str] | None = None, per_class: int | None = None,
                        seed: int = 0, threads: int | None = 1, profile: str | Profile | None = None,
                        progress: bool = True) -> pd.DataFrame:
    """What can be measured before any training on the target, per source.

    On ``per_class`` labelled target examples per class (default: the profile's largest
    budget), each source model, with its own head and frozen, gives LEEP (how well its source-class
    predictions explain the target labels), LogME and H-score (how well its frozen features
    separate the target classes); ``pixel_distance`` is the proxy A-distance between the source's
    and the target's images, pixel by pixel (0: indistinguishable, 2: perfectly separable).
    Larger is better for LEEP, LogME and H-score.

    Args:
        target: the target data set.
        sources: workbench source keys (default: the profile's).
        per_class: labelled target examples per class the scores see.
        seed: seed of the draw of target and source examples.
        threads: torch and BLAS threads while scoring (see :func:`transfer_grid`).
        profile: run profile.
        progress: a progress bar while a source model is first trained.

    Returns:
        One row per source: ``source``, ``relatedness``, ``leep``, ``logme``, ``h_score``,
        ``pixel_distance``, ``source_accuracy`` (on the source's own test split, from the card).
    """
    from ..weights import read_card

    prof = get_profile(profile)
    settings = grid_settings(prof)
    sources = tuple(settings["sources"] if sources is None else sources)
    per_class = int(max(settings["budgets"]) if per_class is None else per_class)
    rows = []
    with _limit_threads(threads):
        base = load_model(ARCH, num_classes=2, weights=None)
        train = load_dataset(target, split="train", transform=base, profile=prof)
        part = subsample(train, per_class=per_class, seed=seed)
        target_pixels = part.get_batch(torch.arange(len(part)))[0].flatten(1)
        for source in sources:
            model = load_source(source, profile=prof, progress=progress)
            feats, labels = extract_features(model, part, cache=False, progress=False)
            f, y = feats.numpy().astype(np.float64), labels.numpy()
            with torch.no_grad():
                probs = model.head(feats).softmax(dim=1).numpy().astype(np.float64)
            # another draw than the target's, so a source of the target's own images is a fair two-sample case
            pixels = _source_images(source, per_class, transform=base, prof=prof, seed=seed + 1)
            card = read_card(pretrain_source(ARCH, source, profile=prof, progress=False))
            rows.append({"source": source, "relatedness": RELATEDNESS.get(source, ""),
                         "leep": leep(probs, y), "logme": logme(f, y), "h_score": h_score(f, y),
                         "pixel_distance": proxy_a_distance(pixels.numpy(), target_pixels.numpy(), seed=seed),
                         "source_accuracy": card.get("source_accuracy")})
    return pd.DataFrame(rows)


def source_ranking(gap_frame: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Sources from least to most harmful, next to what was measured before training.

    Harm is the mean NTG over every budget and depth of the grid; ``ntg_head_only`` and
    ``ntg_fine_tune_all`` are the means at the deepest and at no freezing. The ``*_rank`` columns
    rank each pre-training score from best (1) to worst (for ``pixel_distance``: nearest first).

    Returns:
        One row per source, sorted by ``mean_ntg`` (most harmful last).
    """
    deepest, shallowest = gap_frame["depth"].max(), gap_frame["depth"].min()
    harm = gap_frame.groupby("source").agg(mean_ntg=("ntg", "mean"), worst_ntg=("ntg", "max"))
    harm["ntg_fine_tune_all"] = gap_frame[gap_frame["depth"] == shallowest].groupby("source")["ntg"].mean()
    harm["ntg_head_only"] = gap_frame[gap_frame["depth"] == deepest].groupby("source")["ntg"].mean()
    out = scores.set_index("source").join(harm, how="inner")
    for col in ("leep", "logme", "h_score"):
        out[f"{col}_rank"] = out[col].rank(ascending=False, method="min").astype(int)
    out["pixel_distance_rank"] = out["pixel_distance"].rank(ascending=True, method="min").astype(int)
    return out.sort_values("mean_ntg").reset_index()


def plot_gaps(grid: pd.DataFrame, *, axes: Any = None, band: str | None = "sd") -> np.ndarray:
    """Accuracy of transfer minus scratch against the budget, one panel per freezing depth.

    Each panel is :func:`tlworkbench.plots.plot_transfer_gap` with one line per source (paired by
    seed, band over seeds); below zero is negative transfer (NTG is this gap with its sign turned).

    Args:
        grid: :func:`transfer_grid`'s frame.
        axes: one Axes per depth; a new row of panels sharing the y axis when ``None``.
        band: ``"sd"``, ``"ci"`` or ``None``.

    Returns:
        The Axes, one per depth.
    """
    from matplotlib.patches import Rectangle

    from .. import plots

    depths = sorted(d for d in grid["depth"].unique() if d >= 0)
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(depths), figsize=(4.4 * len(depths), 3.6), squeeze=False,
                               constrained_layout=True)
    axes = np.asarray(axes).ravel()
    if len(axes) != len(depths):
        raise ValueError(f"The 'axes' parameter of plot_gaps needs one Axes per depth ({len(depths)}). "
                         f"Got {len(axes)} instead.")
    sources = [s for s in pd.unique(grid["source"]) if s != "scratch"]
    scratch = grid[grid["source"] == "scratch"]
    for ax, depth in zip(axes, depths):
        arms = pd.concat([grid[grid["depth"] == depth], scratch], ignore_index=True)
        plots.plot_transfer_gap(arms, transfer=sources, baseline="scratch", hue="source", ax=ax, band=band)
        ax.set_title(f"freeze_to {depth}: {arms.loc[arms['depth'] == depth, 'frozen'].iloc[0]}", fontsize="medium")
        for line in ax.get_legend().get_texts():
            line.set_text(line.get_text().replace(" - scratch", ""))
    low = min(ax.get_ylim()[0] for ax in axes)
    high = max(ax.get_ylim()[1] for ax in axes)
    for ax in axes:  # one scale for every depth; the shaded negative region follows it down
        ax.set_ylim(low, high)
        for patch in ax.patches:
            if isinstance(patch, Rectangle) and math.isclose(patch.get_y() + patch.get_height(), 0.0, abs_tol=1e-12):
                patch.set_y(low)
                patch.set_height(-low)
        ax.set_ylabel("")
    axes[0].set_ylabel("accuracy: transfer - scratch")
    return axes


@dataclass
class NegativeTransferResult:
    """Everything notebook 04 shows.

    Attributes:
        grid: every run (:func:`transfer_grid`).
        gaps: NTG per source, budget and depth (:func:`gaps`).
        scores: pre-training measures per source (:func:`pre_training_scores`).
        ranking: sources by harm next to those measures (:func:`source_ranking`).
    """

    grid: pd.DataFrame
    gaps: pd.DataFrame
    scores: pd.DataFrame
    ranking: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """NTG with its 95% interval per source, depth and budget (:func:`gap_table`)."""
        return gap_table(self.gaps)

    @property
    def conclusion(self) -> str:
        """The conclusion, written from the measured tables."""
        return conclude(self.gaps, self.ranking)


def _fmt(row: pd.Series) -> str:
    return f"{row['ntg']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def _order(values: pd.Series, *, ascending: bool) -> str:
    return ", ".join(f"{k} ({v:.3f})" for k, v in values.sort_values(ascending=ascending).items())


def conclude(gap_frame: pd.DataFrame, ranking: pd.DataFrame) -> str:
    """The notebook's conclusion, written from the gaps and the ranking."""
    g = gap_frame
    budgets = sorted(g["budget"].unique())
    depths = sorted(g["depth"].unique())
    lo_b, hi_b, lo_d, hi_d = budgets[0], budgets[-1], depths[0], depths[-1]
    label = dict(zip(g["depth"], g["frozen"]))
    seeds = int(g["seeds"].max())
    neg = g[g["verdict"] == "negative transfer"]
    pos = g[g["verdict"] == "positive transfer"]
    worst, best = g.loc[g["ntg"].idxmax()], g.loc[g["ntg"].idxmin()]
    lines = [
        f"Negative transfer: {len(neg)} of {len(g)} settings have an NTG interval above 0 (95%, {seeds} seeds). "
        f"The worst is {worst['source']} at {worst['budget']}/class, {worst['frozen']}: NTG {_fmt(worst)}, "
        f"{100 * worst['transfer_error']:.1f}% error against {100 * worst['scratch_error']:.1f}% from scratch.",
        f"Positive transfer: {len(pos)} settings have an interval below 0"
        + (f", from {', '.join(pd.unique(pos['source']))}" if len(pos) else "")
        + f". The best is {best['source']} at {best['budget']}/class, {best['frozen']}: NTG {_fmt(best)}.",
    ]
    by_depth = g.groupby(["source", "depth"], sort=False)["ntg"].mean()
    rising = [src for src in pd.unique(g["source"]) if (np.diff(by_depth[src].to_numpy()) > 0).all()]
    lines.append("NTG by depth, mean over budgets: " + "; ".join(
        f"{src} " + " -> ".join(f"{by_depth[(src, d)]:+.3f}" for d in depths) for src in pd.unique(g["source"]))
        + f" ({' -> '.join(label[d] for d in depths)}). "
        + (f"It rises with every group frozen for {', '.join(rising)}." if rising else
           "It does not rise steadily with depth for any source."))
    for source in pd.unique(g["source"]):
        s = g[g["source"] == source].set_index(["budget", "depth"])["ntg"]
        lines.append(f"{source}: from {lo_b} to {hi_b} labels per class, NTG goes {s[(lo_b, lo_d)]:+.3f} -> "
                     f"{s[(hi_b, lo_d)]:+.3f} with {label[lo_d]} and {s[(lo_b, hi_d)]:+.3f} -> {s[(hi_b, hi_d)]:+.3f} "
                     f"with {label[hi_d]}.")
    r = ranking.set_index("source")
    harmful, runner_up = ranking["source"].iloc[-1], ranking["source"].iloc[-2]
    margin = r.loc[harmful, "mean_ntg"] - r.loc[runner_up, "mean_ntg"]
    lines.append("From least to most harmful (mean NTG over the grid): "
                 + ", ".join(f"{src} ({r.loc[src, 'mean_ntg']:+.3f})" for src in r.index)
                 + f"; the last two are {margin:.3f} apart"
                 # three runs of the quick profile put them 0.003 to 0.015 apart, in the same order
                 + (", too close to call with these seeds." if margin < _CLOSE else "."))
    lines.append(f"Before any training, LEEP orders them {_order(r['leep'], ascending=False)} and ranks {harmful} "
                 f"{r.loc[harmful, 'leep_rank']} of {len(r)}; LogME orders them "
                 f"{_order(r['logme'], ascending=False)}; the pixel distance puts {harmful} "
                 f"{r.loc[harmful, 'pixel_distance_rank']} of {len(r)} from the target "
                 f"(nearest first: {_order(r['pixel_distance'], ascending=True)}).")
    return "\n".join(lines)


def run_negative_transfer(profile: str | Profile | None = None, *, target: str = TARGET,
                          sources: Sequence[str] | None = None, budgets: Sequence[int] | None = None,
                          depths: Sequence[int] | None = None, seeds: Sequence[int] | None = None,
                          progress: bool = False) -> NegativeTransferResult:
    """Run every part of notebook 04 and return the tables.

    Args:
        profile: run profile; its sources, budgets, depths and seeds are the defaults.
        target: the target data set.
        sources: workbench source keys.
        budgets: labelled target examples per class.
        depths: ``freeze_to`` depths.
        seeds: seeds of the runs.
        progress: progress bars.

    Returns:
        A :class:`NegativeTransferResult`.
    """
    prof = get_profile(profile)
    scores = pre_training_scores(target, sources=sources, per_class=max(budgets) if budgets else None,
                                 profile=prof, progress=progress)
    grid = transfer_grid(target, sources=sources, budgets=budgets, depths=depths, seeds=seeds, profile=prof,
                         progress=progress)
    gap_frame = gaps(grid)
    return NegativeTransferResult(grid=grid, gaps=gap_frame, scores=scores, ranking=source_ranking(gap_frame, scores))
