"""The clips, their two representations, and the identification runs of notebook 09."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..._validate import check_int, check_sequence
from ...config import Profile, get_profile, resolve_progress
from ...data import load_dataset
from ...data.speech_sets import CONDITIONS
from ...diagnostics import paired_difference
from ...errors import DataError
from ...speech import SpeakerEncoder, mfcc_features, nearest_centroid, prepare_waveforms, tuned_probe

__all__ = ["TARGET", "SEEDS", "BUDGETS", "REPRESENTATIONS", "LABELS", "SHIFTS", "SHIFT_BUDGET", "HEADLINE",
           "embed_clips", "draw_budget", "identification_runs", "representation_gains", "shift_drops"]

TARGET = "espeak_voices"
#: Seeds: each draws its own training clips per voice (the test clips are the same for every seed).
SEEDS = tuple(range(10))
#: Training clips per voice.
BUDGETS = (1, 5, 20)
REPRESENTATIONS = ("mfcc", "resemblyzer")
LABELS = {"mfcc": "MFCC statistics (40 numbers)", "resemblyzer": "Resemblyzer speaker embedding (256 numbers)"}
#: The shifted test conditions (the training clips are all in the normal condition).
SHIFTS = tuple(c for c in CONDITIONS if c != "normal")
#: The budget the shifts are measured at.
SHIFT_BUDGET = 20
#: The classifier each budget is reported with: one example per voice leaves nothing to validate on.
HEADLINE = {1: "centroid", 5: "probe", 20: "probe"}


def embed_clips(*, profile: str | Profile | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Both splits of ``espeak_voices`` as MFCC statistics and as Resemblyzer embeddings, each clip once.

    Returns:
        ``{"train": {rep: array}, "test": {rep: array}, "y_train", "y_test", "train_table",
        "test_table", "classes", "shared_texts", "waveforms" (test, 22.05 kHz), "sample_rate"}``.

    Raises:
        MissingAssetError: eSpeak NG, librosa or resemblyzer is not installed (with the command).
        DataError: a text is spoken in both splits.
    """
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    encoder = SpeakerEncoder()  # fails early, before any synthesis, when resemblyzer is missing
    out: dict[str, Any] = {"train": {}, "test": {}}
    for split in ("train", "test"):
        data = load_dataset(TARGET, split=split, profile=prof)
        ready = prepare_waveforms(data.waveforms, data.sample_rate)
        out[split] = {"mfcc": mfcc_features(ready), "resemblyzer": encoder.embed(ready, progress=progress)}
        out[f"y_{split}"] = data.targets.numpy()
        out[f"{split}_table"] = data.table
        if split == "test":
            out.update(classes=list(data.classes), waveforms=data.waveforms, sample_rate=data.sample_rate)
    shared = set(out["train_table"]["text"]) & set(out["test_table"]["text"])
    if shared:
        raise DataError(f"Texts spoken in both splits: {sorted(shared)}; a voice could be told by its words.")
    out["shared_texts"] = len(shared)
    return out


def draw_budget(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` indices of each class, drawn without replacement from ``seed`` (sorted).

    Example:
        >>> draw_budget(np.repeat([0, 1], 4), 2, seed=0).shape
        (4,)
    """
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DataError(f"Class {c} has {len(members)} training clips; {per_class} per class were asked for.")
        picks.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(picks))


def identification_runs(data: dict[str, Any], *, seeds: Sequence[int] = SEEDS,
                        budgets: Sequence[int] = BUDGETS, progress: bool | None = None) -> pd.DataFrame:
    """Accuracy of each representation, budget, classifier and test condition, per seed.

    Seed ``s`` draws the same training clips for both representations. The nearest centroid
    (cosine) runs at every budget; the probe (weight decay chosen on a validation fifth of the
    budget, then refitted on all of it) from 2 clips per voice on.

    Returns:
        One row per seed, ``per_class``, ``representation``, ``method``, ``condition``:
        ``accuracy``, ``n_test``, ``weight_decay`` (the probe's choice, NaN for the centroid).
    """
    func = "identification_runs"
    seeds = check_sequence(seeds, "seeds", func, check_int, minimum=0)
    budgets = check_sequence(budgets, "budgets", func, check_int, minimum=1)
    from tqdm.auto import tqdm

    conditions = data["test_table"]["condition"].to_numpy()
    y_test, rows = data["y_test"], []
    grid = [(s, k) for s in seeds for k in budgets]
    for seed, k in tqdm(grid, desc="identification", disable=not resolve_progress(progress), leave=False):
        idx = draw_budget(data["y_train"], k, seed)
        y = data["y_train"][idx]
        for rep in REPRESENTATIONS:
            x, x_test = data["train"][rep][idx], data["test"][rep]
            predictions = {"centroid": (nearest_centroid(x, y, x_test), np.nan)}
            if k >= 2:
                probe, choice = tuned_probe(x, y, seed=seed, num_classes=len(data["classes"]))
                logits = probe(torch.as_tensor(x_test, dtype=torch.float32))
                predictions["probe"] = (logits.argmax(1).numpy(), choice.best)
            for method, (pred, wd) in predictions.items():
                for condition in dict.fromkeys(conditions):
                    mask = conditions == condition
                    rows.append({"seed": seed, "per_class": k, "representation": rep, "method": method,
                                 "condition": condition, "accuracy": float((pred[mask] == y_test[mask]).mean()),
                                 "n_test": int(mask.sum()), "weight_decay": wd})
    return pd.DataFrame(rows)


def _diff(a: pd.Series, b: pd.Series, names: tuple[str, str], **kw: Any) -> dict[str, Any]:
    d = paired_difference(100 * a, 100 * b, unit="points", names=names, **kw)
    return {"mean": d.mean, "low": d.low, "high": d.high, "n": d.n, "verdict": d.verdict, "interval": str(d)}


def representation_gains(runs: pd.DataFrame) -> pd.DataFrame:
    """Resemblyzer minus MFCC accuracy (points), paired on the seed, per budget, method and condition.

    Returns:
        One row per ``per_class``, ``method``, ``condition``: ``mean``, ``low``, ``high``, ``n``,
        ``verdict`` ("a better": Resemblyzer ahead), ``interval``.
    """
    rows = []
    for (k, method, condition), part in runs.groupby(["per_class", "method", "condition"], sort=False):
        wide = part.pivot(index="seed", columns="representation", values="accuracy")
        rows.append({"per_class": k, "method": method, "condition": condition,
                     **_diff(wide["resemblyzer"], wide["mfcc"], ("Resemblyzer", "MFCC"))})
    return pd.DataFrame(rows)


def shift_drops(runs: pd.DataFrame, *, per_class: int = SHIFT_BUDGET, method: str | None = None) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """What each shift costs each representation, and which one it costs more.

    Returns:
        ``(drops, gaps)``: ``drops`` has one row per representation and shift, the accuracy drop
        from the normal condition (points, paired on the seed; "a better" means the normal
        condition is ahead, a real drop); ``gaps`` one row per shift, Resemblyzer's drop minus
        MFCC's (paired on the seed; "a better": Resemblyzer loses less).
    """
    method = method or HEADLINE.get(per_class, "probe")
    part = runs[(runs["per_class"] == per_class) & (runs["method"] == method)]
    wide = part.pivot_table(index="seed", columns=["representation", "condition"], values="accuracy")
    drops, gaps = [], []
    for shift in SHIFTS:
        for rep in REPRESENTATIONS:
            drops.append({"representation": rep, "condition": shift, "per_class": per_class, "method": method,
                          "normal": wide[(rep, "normal")].mean(), "shifted": wide[(rep, shift)].mean(),
                          **_diff(wide[(rep, "normal")], wide[(rep, shift)], ("normal", shift))})
        lost = {rep: wide[(rep, "normal")] - wide[(rep, shift)] for rep in REPRESENTATIONS}
        gaps.append({"condition": shift, "per_class": per_class, "method": method,
                     **_diff(lost["resemblyzer"], lost["mfcc"], ("Resemblyzer", "MFCC"), higher_is_better=False)})
    return pd.DataFrame(drops), pd.DataFrame(gaps)
