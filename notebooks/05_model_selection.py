# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Model selection: which pretrained model should I fine-tune?
#
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** Given a zoo of pretrained models and a new task with few labels, can we tell
# which model will transfer best *before* fine-tuning any of them, and does such a score tell us
# more than a rule that never looks at the task?
#
# Fine-tuning every candidate and keeping the best is the reliable answer, and the expensive one.
# **Transferability scores** estimate the same ranking from one forward pass of each model over
# the labelled target data:
#
# * **LogME** (You et al., 2021): the evidence of a Bayesian linear model on the backbone's
#   features, a measure of how well the features explain the labels;
# * **H-score** (Bao et al., 2019): how much of the features' variance the labels explain;
# * **LEEP** (Nguyen et al., 2020): how well the *source head's* predictions, mapped to the
#   target classes, predict the target labels;
# * **NCE** (Tran et al., 2019): the same with hard source predictions (negative conditional
#   entropy);
# * the accuracy of a **linear probe** on the frozen features (trained on the training part,
#   measured on the validation part): cheap, and not free.
#
# A fair test of a score needs three things (Singh et al., 2025, "How NOT to benchmark your SITE
# metric"): candidates that have not seen the target's images, a ground truth that is a *tuned*
# fine-tune, and a comparison with a heuristic that ranks the models without looking at the
# target at all (here: bigger models first, by parameter count).
#
# The target is handwritten MNIST digits with 50 labels per class: 40 to train, 10 to validate.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, minutes) or "full" (GPU kernel)
seed = 0
target = "mnist"
per_class = 50

# %%
import pandas as pd

import tlworkbench as tlw
from tlworkbench import selection
from tlworkbench.experiments import model_selection as ms

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
prof

# %% [markdown]
# ## The candidates
#
# Each candidate is a zoo model with its weights. ImageNet models run at the profile's image size
# (64 px in the quick profile, which keeps only Lite0 of the three: the tuned fine-tunes of Lite1
# and Lite2 would take several CPU minutes more); the small CNNs read 32 px grey images. A
# `tlw:<source>` model is trained by the workbench on first use and cached. A candidate whose
# source data set is not installed (a Debian package such as Fashion-MNIST's or OpenCV's) is left
# out, and the line printed below names it with the command that installs it.

# %%
note = ms.candidates_note(prof)
if note:
    print(note)
pd.DataFrame([{"label": c.label, "model": c.name, "weights": c.weights,
               "image size": selection.candidate_image_size(c.name, profile=prof)}
              for c in ms.candidates_for(prof)])

# %% [markdown]
# ## The experiment
#
# `run_model_selection` does every step with the same labelled examples:
#
# 1. **leakage check**: each candidate's pretraining images against every train and test image of
#    the target, as exact digests and, when the sizes differ, as resized copies;
# 2. **scores** of the remaining candidates on the training part, before any training;
# 3. **ground truth**: every candidate gets a new head, a converged linear probe, then a
#    fine-tune of every layer at each learning rate of one grid (the same for every arm), keeping
#    the best epoch on the validation part (epoch 0 is the probe); the learning rate with the best
#    validation accuracy is chosen, and that run (trained on the training part only, no refit on
#    training + validation) is measured once on the test split;
# 4. **the reference**: a small CNN trained from scratch with the same grid and as many epochs as
#    every small CNN candidate.

# %%
result = ms.run_model_selection(profile=prof.name, target=target, per_class=per_class, seed=seed,
                                progress=False)
result.plan.describe()

# %% [markdown]
# ## 1 · Did any candidate see the target's images?
#
# `shared` counts a candidate's pretraining images that are images of the target's train or test
# split (the table has one row per candidate that was considered). OpenCV's `digits.png`, when
# `opencv-doc` is installed, turns out to be the MNIST digits of this very set, redrawn at
# 20 × 20: no digest matches (a different resampling filter), but every one of them lies within
# two grey levels of one MNIST digit resized to 20 px, while distinct digits lie at least eight
# apart. A model pretrained on it has seen the test set. So has the model trained on MNIST with
# shuffled labels: the labels are noise, the images are the target's.

# %%
result.leakage

# %% [markdown]
# ## 2 · The scores, before any training
#
# The last columns are the seconds each step took: one feature extraction per candidate, then
# each score on those features.

# %%
cols = ["rank", "label", "logme", "h_score", "leep", "nce", "probe_accuracy", "features_seconds", "score_seconds"]
result.scores[cols].round(3)

# %% [markdown]
# ## 3 · The ground truth: a tuned fine-tune, and scratch beside it
#
# Validation accuracy of every learning rate of every arm (the chosen one is marked):

# %%
result.runs.pivot(index="label", columns="lr", values="val_score").round(3)

# %% [markdown]
# Each candidate's chosen learning rate and epoch, its test accuracy, and its difference from the
# small CNN trained from scratch (in points, paired over the same test images):

# %%
result.table[["label", "params", "lr", "best_epoch", "epochs", "val_accuracy", "accuracy", "vs_scratch"]].round(3)

# %%
pd.Series(result.scratch).drop(labels=["label"]).to_frame("small CNN from scratch")

# %%
result.vs_scratch.round(2)

# %% [markdown]
# ## 4 · Do the scores rank the models as the tuned fine-tune does?
#
# Each panel puts one score against the tuned accuracy; the dashed line is scratch. Kendall's τ
# counts the pairs a score orders as the accuracies do (1: every pair, 0: no better than chance);
# the interval in brackets is a percentile bootstrap over the candidates: with this few of them
# it is wide. The last panel is the heuristic: parameter count.

# %% tags=["key_figure"]
ms.plot_score_vs_accuracy(result);

# %% [markdown]
# The table behind the panels: τ with its interval, the candidate each score would pick and the
# accuracy that pick loses (`regret`), and the difference in τ from the heuristic on the same
# bootstrap resamples. A score earns its keep only where that difference is clearly positive.
#
# Two cautions in reading it. In the quick profile the heuristic only tells Lite0 (3.4 million
# parameters) from small CNNs of one size (five of them, three where Fashion-MNIST and OpenCV's
# digits are not installed), so it is a weak opponent; the full profile adds Lite1 and Lite2. And
# a percentile bootstrap over six candidates or fewer is rough: the intervals say how little so
# few models can establish, not more.

# %% tags=["summary"]
result.summary.round(3)

# %% [markdown]
# ## What scoring saves
#
# CPU seconds to score every candidate against the seconds of their tuned fine-tunes.

# %%
result.timing.round(1)

# %%
print(result.conclusion)

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to change one thing, predict what happens, and run it. Write your
# prediction down before you run a cell. The last line of each cell checks the result:
# `sheet.check(key, answer)` says "Right:" and why, or "Not yet:" and where to look. Try a wrong
# answer too.

# %%
from tlworkbench.exercises import exercise_sheet
from tlworkbench.experiments.model_selection import exercises as ms_exercises

sheet = exercise_sheet(ms_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · One swap at the top
#
# A score ranks six candidates as the tuned fine-tune does, but swaps the best two. What is
# Kendall's τ?

# %%
truth = [0, 1, 2, 3, 4, 5]
score = [0, 1, 2, 3, 5, 4]
sheet.check("one_swap", round(float(ms.kendall_tau_b(score, truth)), 3))

# %% [markdown]
# ### Exercise 2 · LogME before any training
#
# LogME of two small CNNs' frozen features on 20 MNIST labels per class: printed digits or an
# unrelated source (`ms_exercises.unrelated_source()`: clothes, or animal silhouettes where
# Fashion-MNIST is not installed), which does it prefer?

# %%
logme = ms_exercises.logme_scores()
sheet.check("logme_choice", max(logme, key=logme.get))
