"""Exercises of notebook 09, speech transfer: a budget of one's own, and the shift that hurts most."""

from __future__ import annotations

from .result import SpeechResult, run_speech_transfer
from .runs import SHIFTS, identification_runs

__all__ = ["EXERCISES", "centroid_accuracy", "worst_shift"]


def _result() -> SpeechResult:
    return run_speech_transfer(profile="quick")  # as the notebook calls it: read back from the cache


def centroid_accuracy(per_class: int = 3, representation: str = "resemblyzer") -> float:
    """Mean accuracy over the seeds, on the normal test clips, of the nearest centroid at ``per_class``."""
    runs = identification_runs(_result().features, budgets=(per_class,))
    part = runs[(runs["representation"] == representation) & (runs["method"] == "centroid")
                & (runs["condition"] == "normal")]
    return round(float(part["accuracy"].mean()), 3)


def worst_shift(representation: str = "resemblyzer") -> str:
    """The test condition whose mean accuracy drop is largest for ``representation``."""
    drops = _result().drops
    part = drops[drops["representation"] == representation].set_index("condition")["mean"]
    return str(part.idxmax())


EXERCISES = [
    {
        "key": "three_per_voice",
        "prompt": "With 3 clips per voice instead of 1, how accurate is the nearest centroid on Resemblyzer's "
                  "embeddings? Run `sx.identification_runs(result.features, budgets=(3,))`, keep the rows with "
                  "representation 'resemblyzer', method 'centroid' and condition 'normal', and pass the mean "
                  "accuracy over the seeds, rounded to 3 decimals.",
        "solution": lambda: centroid_accuracy(3, "resemblyzer"),
        "hint": "filter on all three columns before taking the mean; the seeds are the notebook's ten",
        "explain": "between the 1-clip and the 5-clip rows of the table: a class mean of three clips already "
                   "averages out much of what one text adds to a voice.",
        "tolerance": 0.002,
        "wrong": 0.408,
    },
    {
        "key": "worst_shift",
        "prompt": f"Of the shifted conditions ({', '.join(SHIFTS)}), which costs Resemblyzer the most accuracy? "
                  "Predict it first, then read `result.drops` and pass "
                  "the condition's name.",
        "solution": lambda: worst_shift("resemblyzer"),
        "hint": "the column 'mean' of result.drops is the drop in points; keep the Resemblyzer rows",
        "explain": lambda right: (f"{right} speech moves every clip's pitch away from the training clips, and "
                                  "pitch is part of what the encoder learnt to tell speakers by." if "pitch" in right
                                  else f"{right} speech changes how long each sound lasts and how much of each "
                                  "1.6 s window the encoder reads is speech."),
        "wrong": "slow",
    },
]
