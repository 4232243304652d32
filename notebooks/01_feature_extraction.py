# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Feature extraction
#
# **Question.** With only a handful of labels, is a frozen ImageNet network a better starting
# point than a small network trained from scratch, and does the answer depend on how far the
# target is from ImageNet's photographs?
#
# A *linear probe* keeps the pretrained backbone frozen and trains only a new linear head on its
# features. Because the backbone never changes, its features are computed once and cached; every
# label budget, seed and epoch reuses them.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
targets = ["animal_mnist", "fashion_mnist", "mnist"]
budgets = [1, 5, 10, 50, 100]  # labelled examples per class
seeds = None  # None: the profile's seeds

# %%
import pandas as pd

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import feature_extraction as fx

prof = tlw.get_profile(profile)
prof

# %% [markdown]
# ## Probe against scratch, per label budget
#
# For each target: EfficientNet-Lite0 with ImageNet weights at 64 px, frozen, with a linear head
# (`strategy="linear_probe"`), against the workbench's small CNN trained from scratch on the same
# labelled examples; every budget over the profile's seeds.

# %%
efficiency = pd.concat([fx.data_efficiency(t, budgets=budgets, seeds=seeds, profile=prof) for t in targets],
                       ignore_index=True)

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.8), sharey=True)
for ax, target in zip(axes, targets):
    plots.plot_data_efficiency(efficiency[efficiency["target"] == target], ax=ax)
    ax.set_title(target)

# %%
gains = fx.efficiency_gains(efficiency)
fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.5), sharey=True)
for ax, target in zip(axes, targets):
    plots.plot_transfer_gap(efficiency[efficiency["target"] == target], ax=ax)
    ax.set_title(target)
gains

# %% [markdown]
# ## How far is each target from ImageNet?
#
# Measured before any training: the ImageNet head's mean confidence on the target's images, and
# LogME and H-score of the frozen features on the target's labels.

# %%
distance = fx.target_distance(targets, profile=prof)
distance

# %% [markdown]
# ## Which depth transfers best?
#
# The same probe on the pooled output of each group, from the stem to the last convolution.

# %%
layers = fx.layer_probe(targets[0], profile=prof)
plots.plot_layer_transfer(layers)
layers

# %% [markdown]
# ## Pixels against pretrained features
#
# A PCA of raw pixels and of ImageNet features for the same test images.

# %%
emb = fx.embeddings(targets[0], profile=prof)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
plots.plot_embedding(emb["pixels"], emb["labels"], class_names=emb["classes"], ax=axes[0])
axes[0].set_title("raw pixels")
plots.plot_embedding(emb["features"], emb["labels"], class_names=emb["classes"], ax=axes[1])
axes[1].set_title("ImageNet features (EfficientNet-Lite0)")
emb["knn"]

# %% [markdown]
# ## What the cache saves
#
# The same probe twice: the first extracts the features, the second finds them in the cache.

# %%
timing = fx.probe_timing(targets[0], profile=prof)
timing

# %% tags=["summary"]
summary = gains.pivot(index="budget", columns="target", values="gain (points)")
summary.columns.name = "probe − scratch (points)"
summary

# %%
print(fx.conclude(gains, layers, distance, timing, emb["knn"]))
