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
# **Question.** Given a zoo of pretrained models and a new task with few labels, can we tell
# which model will transfer best *before* fine-tuning any of them, and how much time does that
# save?
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
#   entropy).
#
# We rank nine candidates for handwritten MNIST digits with 50 labels per class: ImageNet
# EfficientNet-Lite0/1/2, small CNNs that the workbench pretrains on related sources (OpenCV's
# handwritten digits, digits rendered from fonts) and unrelated ones (Fashion-MNIST, animal
# silhouettes), one trained on MNIST with shuffled labels, and a random initialisation. Then we
# transfer every candidate with the same recipe and check whether each score's ranking matches the
# accuracies reached.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
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
# (64 px in the quick profile); the small CNNs read 32 px grey images. A `tlw:<source>` model is
# trained by the workbench on first use (seconds on a CPU) and cached.

# %%
pd.DataFrame([{"label": c.label, "model": c.name, "weights": c.weights,
               "image size": selection.candidate_image_size(c.name, profile=prof)} for c in ms.CANDIDATES])

# %% [markdown]
# ## Score every candidate, then transfer every candidate
#
# `run_model_selection` does both with the same labelled examples: `tlw.selection.rank_models`
# extracts each candidate's features once and computes the four scores (timed), then every
# candidate gets a new head for the ten digits and the same recipe: a linear probe on the frozen
# features, then a short fine-tune of all layers. Accuracy is measured on the test split.

# %%
result = ms.run_model_selection(profile=prof, target=target, per_class=per_class, seed=seed)
result.recipe.describe()

# %% [markdown]
# The ranking by LogME, computed before any training. The last columns are the seconds each step
# took: one feature extraction per candidate, then each score on those features.

# %%
cols = ["rank", "label", "logme", "h_score", "leep", "nce", "features_seconds", "score_seconds"]
result.scores[cols].round(3)

# %% [markdown]
# What transfer actually reached: test accuracy after the whole recipe, with the seconds each
# candidate took to train and to evaluate.

# %%
result.transfer.round(3)

# %% [markdown]
# Side by side, the rank each candidate gets from its accuracy and from each score (1 = best).

# %%
result.table[["label", "accuracy", "accuracy_rank", "logme_rank", "h_score_rank", "leep_rank",
              "nce_rank"]].round(3)

# %% [markdown]
# ## Do the scores rank the models as transfer does?
#
# Each panel puts one score against the accuracy after transfer. A score that ranks the models
# well puts the points on a rising line; Kendall's τ counts the pairs it orders correctly (1:
# every pair, 0: no better than chance).

# %%
ms.plot_score_vs_accuracy(result);

# %% [markdown]
# Two things to read in these panels. The H-score cannot exceed K − 1 (9 for ten digits), and
# with at least as many features as labelled images (the EfficientNets: 1,280 features, 500
# images) the plain estimate explains any labelling perfectly and sits at that ceiling; there
# `tlw.diagnostics.h_score` shrinks the feature covariance (Ledoit–Wolf), which lets it tell such
# models apart again but puts them on a different footing from the small CNNs' 64 features.
# LEEP and NCE read the source *head*: a head trained on digits maps onto the target's digits
# directly, while the shuffled-label and random heads carry no information about the target
# classes at all.

# %% [markdown]
# ## What scoring saves
#
# Scoring all candidates against fine-tuning and evaluating all of them, on this machine. The
# fine-tuning here is the profile's short recipe, enough to rank the candidates; choosing a model
# by training would mean a longer fine-tune at a few learning rates for each candidate, which
# `python -m bench.bench_model_selection` times against the same scores.

# %%
result.timing.round(2)

# %% tags=["summary"]
result.summary.round(3)

# %%
print(result.conclusion)
