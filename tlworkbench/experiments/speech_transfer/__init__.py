"""Notebook 09, speech transfer: a pretrained speaker encoder against MFCCs on synthetic voices.

Ten voice variants of eSpeak NG speak digits, words and short sentences (synthesised offline,
:mod:`tlworkbench.data.speech_sets`); the task is to tell which voice speaks a clip of a text
never heard in training. Two representations of the same 16 kHz clips are compared:
MFCC statistics (the mean and standard deviation of 20 coefficients over time) and the
256-d embedding of Resemblyzer's speaker encoder, pretrained on recorded speakers for speaker
verification (:mod:`tlworkbench.speech`). At 1 clip per voice both are classified by the
nearest class mean (cosine), a fixed rule; at 5 and 20 by a logistic probe whose weight decay
is chosen on a validation fifth of the budget. Seeds redraw the training clips; differences are
paired on the seed (:func:`~tlworkbench.diagnostics.paired_difference`). The clips of the
training budget are all at the normal rate and pitch; the test clips are also spoken faster,
slower, higher and lower, and the drop each shift causes is compared between the two.

* :mod:`.runs`: the clips and their representations, the identification runs, the gains and drops;
* :mod:`.result`: :class:`SpeechResult`, :func:`conclude` and :func:`run_speech_transfer`.
"""

from .result import SpeechResult, conclude, headline, run_speech_transfer
from .runs import (BUDGETS, HEADLINE, LABELS, REPRESENTATIONS, SEEDS, SHIFT_BUDGET, SHIFTS, TARGET, draw_budget,
                   embed_clips, identification_runs, representation_gains, shift_drops)

__all__ = ["TARGET", "SEEDS", "BUDGETS", "REPRESENTATIONS", "LABELS", "SHIFTS", "SHIFT_BUDGET", "HEADLINE",
           "embed_clips", "draw_budget", "identification_runs", "representation_gains", "shift_drops",
           "SpeechResult", "headline", "conclude", "run_speech_transfer"]
