"""Notebook 06's result: the tables, the paired comparisons and the sentences computed from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..._validate import check_choice, check_int, check_sequence
from ...config import Profile, get_profile, resolve_progress
from ...diagnostics import paired_difference
from ...errors import DataError
from .._memo import memoized
from .episodes import ARMS, N_EPISODES, N_TRAIN_EPISODES, N_WAY, SHOTS, episode_runs
from .targets import FEW_SHOT_SETS, ZERO_SHOT_SETS, embed_few_shot, few_shot_examples
from .zero_shot import N_SPLITS, descriptions_for, zero_shot_data, zero_shot_runs, zero_shot_splits

__all__ = ["LABELS", "TARGET_WORDS", "FEATURE_COMPARISONS", "TRAIN_COMPARISONS", "FewShotResult", "accuracy_table",
           "few_shot_gains", "zero_shot_gains", "conclude", "run_few_shot_zero_shot"]

LABELS = {"pixels": "prototypes on pixels", "imagenet": "prototypes on ImageNet features",
          "letters": "prototypes on letters-CNN features", "probe": "probe on ImageNet features",
          "fine_tune": "letters CNN fine-tuned", "scratch": "small CNN from scratch"}
#: How the conclusion names the test classes of each few-shot set.
TARGET_WORDS = {"kana": "unseen katakana", "animal_mnist": "five animal classes kept out of every choice"}
_ZERO_SHOT_WORDS = {"fashion_mnist": "Fashion-MNIST", "animal_mnist": "animal_mnist's silhouettes"}
#: Comparisons on every test episode, and on the episodes where the networks were trained too.
FEATURE_COMPARISONS = (("imagenet", "pixels"), ("letters", "pixels"), ("imagenet", "letters"), ("probe", "imagenet"))
TRAIN_COMPARISONS = (("fine_tune", "scratch"), ("imagenet", "fine_tune"), ("imagenet", "scratch"),
                     ("fine_tune", "letters"))


def accuracy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean query accuracy per shot count and method, a 95% t-interval over episodes, and its
    difference from chance (one in ``N_WAY``), in points."""
    rows = []
    for (k, arm), part in runs.groupby(["k_shot", "arm"], sort=False):
        acc = part.sort_values("episode")["accuracy"].to_numpy()
        d = paired_difference(100 * acc, np.full(len(acc), 100.0 / N_WAY), unit="points",
                              names=(arm, "chance"))
        rows.append({"k_shot": k, "arm": arm, "method": LABELS[arm], "episodes": len(acc), "accuracy": acc.mean(),
                     "low": (d.low + 100.0 / N_WAY) / 100, "high": (d.high + 100.0 / N_WAY) / 100,
                     "above chance": str(d), "setting": part["setting"].iloc[0]})
    return pd.DataFrame(rows)


def _pair(runs: pd.DataFrame, k: int, a: str, b: str) -> Any:
    wide = runs[runs["k_shot"] == k].pivot(index="episode", columns="arm", values="accuracy")[[a, b]].dropna()
    return paired_difference(100 * wide[a], 100 * wide[b], unit="points", names=(a, b))


def few_shot_gains(runs: pd.DataFrame) -> pd.DataFrame:
    """Paired differences between methods on the same test episodes, in accuracy points."""
    rows = []
    for k in sorted(runs["k_shot"].unique()):
        for a, b in FEATURE_COMPARISONS + TRAIN_COMPARISONS:
            d = _pair(runs, k, a, b)
            rows.append({"k_shot": k, "comparison": f"{a} - {b}", "mean": d.mean, "low": d.low, "high": d.high,
                         "n": d.n, "verdict": d.verdict, "interval": str(d)})
    return pd.DataFrame(rows)


def zero_shot_gains(runs: pd.DataFrame) -> pd.DataFrame:
    """Paired over the splits, in points: unseen accuracy against the shuffled descriptions and
    against chance, and the harmonic mean with calibration against without."""
    pairs = {"unseen - shuffled": ("unseen_accuracy", "shuffled_accuracy"),
             "unseen - chance": ("unseen_accuracy", "chance"), "calibrated H - plain H": ("h_calibrated", "h")}
    rows = []
    for name, (a, b) in pairs.items():
        d = paired_difference(100 * runs[a], 100 * runs[b], unit="points", names=tuple(name.split(" - ")))
        rows.append({"comparison": name, "mean": d.mean, "low": d.low, "high": d.high, "n": d.n,
                     "verdict": d.verdict, "interval": str(d)})
    return pd.DataFrame(rows)


@dataclass
class FewShotResult:
    """Notebook 06's tables and the sentences computed from them.

    Attributes:
        runs: the accuracy of every method on every test episode (:func:`~.episodes.episode_runs`).
        choices: every validation table of the choices made on validation episodes (hiragana, or the
            fallback's five choice classes).
        accuracy: :func:`accuracy_table`.
        gains: :func:`few_shot_gains`.
        zero_shot: :func:`~.zero_shot.zero_shot_runs`.
        zero_shot_gains: :func:`zero_shot_gains`.
        examples: a few test images for the notebook's figure (:func:`~.targets.few_shot_examples`).
        shared: source images found among the few-shot images (0: the source never saw them).
        summary: the headline table.
        conclusion: the sentences, computed from the tables.
        few_shot_set: the few-shot set (``"kana"`` or ``"animal_mnist"``).
        zero_shot_set: the zero-shot set (``"fashion_mnist"`` or ``"animal_mnist"``).
        descriptions: the zero-shot class descriptions.
    """

    runs: pd.DataFrame
    choices: pd.DataFrame
    accuracy: pd.DataFrame
    gains: pd.DataFrame
    zero_shot: pd.DataFrame
    zero_shot_gains: pd.DataFrame
    examples: dict[str, Any] = field(repr=False)
    shared: int = 0
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    conclusion: str = ""
    few_shot_set: str = "kana"
    zero_shot_set: str = "fashion_mnist"
    descriptions: dict[str, str] = field(default_factory=dict)


def _summary(result: FewShotResult) -> pd.DataFrame:
    acc = result.accuracy.assign(cell=lambda t: [f"{a:.3f} [{lo:.3f}, {hi:.3f}]"
                                                 for a, lo, hi in zip(t["accuracy"], t["low"], t["high"])])
    table = acc.pivot(index="method", columns="k_shot", values="cell")
    table.columns = [f"{k}-shot accuracy" for k in table.columns]
    table.insert(0, "test episodes", acc.groupby("method")["episodes"].first())
    return table.reindex([LABELS[a] for a in ARMS])


def _gain(result: FewShotResult, k: int, comparison: str) -> pd.Series:
    g = result.gains
    return g[(g["k_shot"] == k) & (g["comparison"] == comparison)].iloc[0]


_WORDS = {"a better": "{a} ahead", "b better": "{b} ahead", "inconclusive": "no difference shown"}


def _say(row: pd.Series) -> str:
    a, b = (LABELS[x] for x in row["comparison"].split(" - "))
    return _WORDS[row["verdict"]].format(a=a, b=b) + f" ({row['interval']})"


def conclude(result: FewShotResult) -> str:
    """The notebook's conclusion, computed from the tables of ``result``."""
    lines = []
    acc = result.accuracy.set_index(["k_shot", "arm"])
    for k in sorted(result.runs["k_shot"].unique()):
        # the best method is chosen on the episodes every method ran (the networks ran fewer)
        common = result.runs[result.runs["k_shot"] == k].pivot(index="episode", columns="arm", values="accuracy").dropna()
        means = common.mean().sort_values(ascending=False, kind="stable")  # ties: first in column order
        best, second = means.index[:2]
        lead = paired_difference(100 * common[best], 100 * common[second], unit="points", names=(best, second))
        lead_words = ("ahead of" if lead.verdict == "a better" else "not shown to differ from") + \
            f" {LABELS[second]} ({lead})"
        lines.append(f"{N_WAY}-way {k}-shot on {TARGET_WORDS[result.few_shot_set]} (chance {1 / N_WAY:.2f}): "
                     f"on the {len(common)} episodes every method ran, the best is {LABELS[best]} at {means[best]:.3f}, "
                     f"{lead_words}; "
                     f"over all {int(acc.loc[(k, 'imagenet'), 'episodes'])}, prototypes on ImageNet features "
                     f"{acc.loc[(k, 'imagenet'), 'accuracy']:.3f}, on pixels {acc.loc[(k, 'pixels'), 'accuracy']:.3f}.")
        parts = [_say(_gain(result, k, c)) for c in ("imagenet - pixels", "letters - pixels", "imagenet - letters",
                                                     "probe - imagenet")]
        lines.append(f"  Paired on {int(_gain(result, k, 'imagenet - pixels')['n'])} episodes: " + "; ".join(parts) + ".")
        parts = [_say(_gain(result, k, c)) for c in ("fine_tune - scratch", "imagenet - fine_tune", "imagenet - scratch")]
        lines.append(f"  Networks trained on the support, paired on {int(_gain(result, k, 'fine_tune - scratch')['n'])} "
                     "episodes: " + "; ".join(parts) + ".")
    z, zg = result.zero_shot, result.zero_shot_gains.set_index("comparison")
    lines.append(f"Zero-shot on {_ZERO_SHOT_WORDS[result.zero_shot_set]}, {len(z)} splits of {z['unseen'].str.count(',').iloc[0] + 1} unseen "
                 f"classes: unseen accuracy {z['unseen_accuracy'].mean():.3f} against {z['shuffled_accuracy'].mean():.3f} "
                 f"with shuffled descriptions ({zg.loc['unseen - shuffled', 'interval']}) and chance "
                 f"{z['chance'].mean():.3f}; from {z['unseen_accuracy'].min():.3f} ({z.loc[z['unseen_accuracy'].idxmin(), 'unseen']}) "
                 f"to {z['unseen_accuracy'].max():.3f} ({z.loc[z['unseen_accuracy'].idxmax(), 'unseen']}).")
    lines.append(f"Generalised zero-shot (all {len(result.descriptions) or 10} classes compete): seen {z['seen_gzsl'].mean():.3f}, unseen "
                 f"{z['unseen_gzsl'].mean():.3f}, harmonic mean {z['h'].mean():.3f}; with calibrated stacking seen "
                 f"{z['seen_calibrated'].mean():.3f}, unseen {z['unseen_calibrated'].mean():.3f}, harmonic mean "
                 f"{z['h_calibrated'].mean():.3f} ({zg.loc['calibrated H - plain H', 'interval']}).")
    return "\n".join(lines)


@memoized
def run_few_shot_zero_shot(*, few_shot: str = "kana", zero_shot: str = "fashion_mnist", shots: Sequence[int] = SHOTS,
                           n_episodes: int = N_EPISODES, n_train_episodes: int = N_TRAIN_EPISODES,
                           n_splits: int = N_SPLITS, profile: str | Profile | None = None,
                           progress: bool | None = None) -> FewShotResult:
    """Notebook 06's experiment: few-shot episodes (kana, or animal_mnist) and zero-shot
    classes from descriptions (Fashion-MNIST, or animal_mnist).

    See :mod:`.episodes`, :mod:`.targets` and :mod:`.zero_shot` for the protocols;
    :func:`~.targets.choose_targets` picks the sets that are present. The few-shot intervals are
    over test episodes (the draw of classes, fonts and images), the zero-shot ones over splits of
    the classes into seen and unseen.

    Raises:
        DataError: a source image is a copy of a few-shot image.
        MissingAssetError: a set that is not installed.

    Example:
        >>> targets = choose_targets()  # doctest: +SKIP
        >>> result = run_few_shot_zero_shot(few_shot=targets.few_shot, zero_shot=targets.zero_shot)  # doctest: +SKIP
        >>> print(result.conclusion)  # doctest: +SKIP
    """
    func = "run_few_shot_zero_shot"
    few_shot = check_choice(few_shot, "few_shot", func, FEW_SHOT_SETS)
    zero_shot = check_choice(zero_shot, "zero_shot", func, ZERO_SHOT_SETS)
    shots = check_sequence(shots, "shots", func, check_int, minimum=1)
    n_episodes = check_int(n_episodes, "n_episodes", func, minimum=2)
    n_train_episodes = check_int(n_train_episodes, "n_train_episodes", func, minimum=2, maximum=n_episodes)
    n_splits = check_int(n_splits, "n_splits", func, minimum=2, maximum=120)
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    data = embed_few_shot(few_shot, prof, progress=progress)
    if data["shared"]:
        raise DataError(f"{data['shared']} source images are copies of {few_shot} images: the source saw the target.")
    runs, choices = episode_runs(data, prof=prof, shots=shots, n_episodes=n_episodes,
                                 n_train_episodes=n_train_episodes, progress=progress)
    zs = zero_shot_runs(zero_shot_data(prof, name=zero_shot, progress=progress),
                        splits=zero_shot_splits(n_splits=n_splits))
    result = FewShotResult(runs, choices, accuracy_table(runs), few_shot_gains(runs), zs, zero_shot_gains(zs),
                           few_shot_examples(data), data["shared"], few_shot_set=few_shot, zero_shot_set=zero_shot,
                           descriptions=descriptions_for(zero_shot))
    result.summary = _summary(result)
    result.conclusion = conclude(result)
    return result
