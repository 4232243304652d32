"""Notebook 09's result, its summary, the conclusion computed from it, and the experiment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..._validate import check_int, check_sequence
from ...config import Profile
from .._memo import memoized
from .runs import (BUDGETS, HEADLINE, REPRESENTATIONS, SEEDS, SHIFT_BUDGET, SHIFTS, embed_clips,
                   identification_runs, representation_gains, shift_drops)

__all__ = ["SpeechResult", "headline", "conclude", "run_speech_transfer"]


@dataclass
class SpeechResult:
    """Notebook 09's tables and the sentences computed from them.

    Attributes:
        runs: :func:`~.runs.identification_runs`.
        gains: :func:`~.runs.representation_gains` (Resemblyzer minus MFCC).
        drops: what each shift costs each representation (:func:`~.runs.shift_drops`).
        gaps: Resemblyzer's drop minus MFCC's, per shift.
        clips: one row per clip (text, voice, condition, rate, pitch, split, seconds).
        shared_texts: texts spoken in both splits (0: no voice can be told by its words).
        example: test waveforms for the notebook's pictures and sounds.
        features: both representations of every clip, with labels and tables (what
            :func:`~.runs.identification_runs` reads; run it again with other budgets or seeds).
        summary: one row per representation.
        conclusion: the sentences, computed from the tables.
    """

    runs: pd.DataFrame
    gains: pd.DataFrame
    drops: pd.DataFrame
    gaps: pd.DataFrame
    clips: pd.DataFrame
    shared_texts: int = 0
    example: dict[str, Any] = field(default_factory=dict, repr=False)
    features: dict[str, Any] = field(default_factory=dict, repr=False)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    conclusion: str = ""


_NAMES = {"mfcc": "MFCC", "resemblyzer": "Resemblyzer"}
_METHOD_WORDS = {"centroid": "nearest centroid by cosine", "probe": "logistic probe tuned on validation"}


def headline(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows the notebook reports: each budget with its classifier (:data:`~.runs.HEADLINE`)."""
    keep = np.zeros(len(runs), bool)
    for k in runs["per_class"].unique():
        keep |= (runs["per_class"] == k).to_numpy() & (runs["method"] == HEADLINE.get(int(k), "probe")).to_numpy()
    return runs[keep]


def _summary(result: SpeechResult) -> pd.DataFrame:
    rows = headline(result.runs)
    normal = rows[rows["condition"] == "normal"].pivot_table(index="representation", columns="per_class",
                                                            values="accuracy", aggfunc="mean")
    normal.columns = [f"{k} per voice ({HEADLINE.get(int(k), 'probe')})" for k in normal.columns]
    shifted = result.drops.pivot_table(index="representation", columns="condition", values="shifted")
    shifted = shifted[[s for s in SHIFTS if s in shifted.columns]]
    shifted.columns = [f"{s} ({SHIFT_BUDGET} per voice)" for s in shifted.columns]
    table = normal.join(shifted).reindex(list(REPRESENTATIONS)).round(3)
    table.index = [_NAMES[r] for r in table.index]
    table.index.name = "representation"
    table.insert(0, "seeds", result.runs["seed"].nunique())
    return table


def _gain(table: pd.DataFrame, **where: Any) -> pd.Series:
    mask = np.ones(len(table), bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    return table[mask].iloc[0]


def _ahead(verdict: str) -> str:
    return {"a better": "Resemblyzer ahead", "b better": "MFCC ahead", "inconclusive": "inconclusive"}[verdict]


def conclude(result: SpeechResult) -> str:
    """The notebook's conclusion, computed from the tables of ``result``.

    Example:
        >>> print(conclude(run_speech_transfer(profile="quick")))  # doctest: +SKIP
    """
    runs = headline(result.runs)
    mean = runs.groupby(["per_class", "condition", "representation"])["accuracy"].mean()
    n_voices = result.clips["voice"].nunique()
    n_test = int(runs.loc[runs["condition"] == "normal", "n_test"].iloc[0])
    parts, verdicts = [], {}
    for k in sorted(runs["per_class"].unique()):
        method = HEADLINE.get(int(k), "probe")
        g = _gain(result.gains, per_class=k, method=method, condition="normal")
        verdicts[int(k)] = _ahead(g["verdict"])
        parts.append(f"{k} per voice ({_METHOD_WORDS[method]}): Resemblyzer {mean[(k, 'normal', 'resemblyzer')]:.3f}, "
                     f"MFCC {mean[(k, 'normal', 'mfcc')]:.3f}, difference {g['interval']}")
    lines = [f"Identifying {n_voices} synthetic voices from {n_test} clips of texts never heard in training: "
             + "; ".join(parts) + "."]
    smallest = min(verdicts)
    lines.append(f"At the smallest budget ({smallest} per voice) the pretrained speaker encoder against MFCC "
                 f"statistics: {verdicts[smallest]}; at {max(verdicts)} per voice: {verdicts[max(verdicts)]}.")
    more, less, same = [], [], []
    for shift in SHIFTS:
        d = result.drops.set_index(["representation", "condition"])
        gap = _gain(result.gaps, condition=shift)
        lines.append(f"Trained at the normal rate and pitch ({SHIFT_BUDGET} per voice), tested on {shift} speech: "
                     f"Resemblyzer {d.loc[('resemblyzer', shift), 'shifted']:.3f} (drop "
                     f"{d.loc[('resemblyzer', shift), 'interval']}), MFCC {d.loc[('mfcc', shift), 'shifted']:.3f} "
                     f"(drop {d.loc[('mfcc', shift), 'interval']}); Resemblyzer's drop minus MFCC's {gap['interval']}.")
        {"b better": more, "a better": less, "inconclusive": same}[gap["verdict"]].append(shift)
    words = []
    if more:
        words.append(f"cost Resemblyzer more than MFCC: {', '.join(more)}")
    if less:
        words.append(f"cost Resemblyzer less than MFCC: {', '.join(less)}")
    if same:
        words.append(f"no difference shown between the two: {', '.join(same)}")
    lines.append("Shifts that " + "; ".join(words) + ".")
    return "\n".join(lines)


@memoized
def run_speech_transfer(*, seeds: Sequence[int] = SEEDS, budgets: Sequence[int] = BUDGETS,
                        profile: str | Profile | None = None, progress: bool | None = None) -> SpeechResult:
    """Notebook 09's experiment: speaker identification on MFCCs against a pretrained speaker
    encoder, at a few clips per voice, and under shifts in speaking rate and pitch.

    Each clip is synthesised once (cached in the data folder) and embedded once per
    representation; the seeds redraw the training clips, the test clips stay the same.

    Raises:
        MissingAssetError: eSpeak NG, librosa or resemblyzer is missing (with the install command).

    Example:
        >>> result = run_speech_transfer(profile="quick")  # doctest: +SKIP
        >>> print(result.conclusion)  # doctest: +SKIP
    """
    func = "run_speech_transfer"
    seeds = check_sequence(seeds, "seeds", func, check_int, minimum=0)
    budgets = check_sequence(budgets, "budgets", func, check_int, minimum=1, maximum=30)
    if SHIFT_BUDGET not in budgets:
        budgets = (*budgets, SHIFT_BUDGET)
    data = embed_clips(profile=profile, progress=progress)
    runs = identification_runs(data, seeds=seeds, budgets=budgets, progress=progress)
    drops, gaps = shift_drops(runs)
    clips = pd.concat([data["train_table"], data["test_table"]], ignore_index=True)
    table = data["test_table"].reset_index(drop=True)
    example = {"waveforms": data["waveforms"], "table": table, "sample_rate": data["sample_rate"],
               "classes": data["classes"]}
    features = {k: v for k, v in data.items() if k not in ("waveforms", "sample_rate")}
    result = SpeechResult(runs, representation_gains(runs), drops, gaps, clips, data["shared_texts"], example,
                          features)
    result.summary = _summary(result)
    result.conclusion = conclude(result)
    return result
