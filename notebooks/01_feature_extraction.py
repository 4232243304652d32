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
# # 01 · Feature extraction: a frozen ImageNet network as a feature extractor
#
# **Question.** A network trained on ImageNet's 1.3 million photos is kept frozen; only a linear
# classifier (a *probe*) is trained on its features for a new task. How many labels does that
# save against training a small network from scratch, on which targets, and from which depth of
# the network should the features come?
#
# The feature extractor is EfficientNet-Lite0 with its ImageNet weights, the new task is one of
# three 28 px grayscale sets of ten classes: animal silhouettes (`animal_mnist`), clothes
# (`fashion_mnist`) and handwritten digits (`mnist`). The baseline is the workbench's small CNN
# (24k parameters) trained from scratch on the same labels, at the targets' own 28 px, for a
# number of steps that grows with the budget until its accuracy stops rising: a baseline trained
# too briefly would make any transfer look good.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
targets = ["animal_mnist", "fashion_mnist", "mnist"]
per_class = [1, 5, 10, 50, 100]  # label budgets: labelled examples per class
seeds = None  # None: the profile's seeds
seed = 0

# %%
import matplotlib.pyplot as plt
import pandas as pd

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import feature_extraction as fx

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
prof

# %% [markdown]
# ## The targets
#
# A test image of each of eight classes, per target. None of them looks like an ImageNet photo:
# they are small, grey and centred. The animals are silhouettes of real photos, the clothes are
# product shots, the digits are pen strokes.

# %%
fig = plt.figure(figsize=(12, 1.9 * len(targets)), layout="constrained")
for sub, target in zip(fig.subfigures(len(targets), 1), targets):
    data = tlw.load_dataset(target, split="test", profile=prof)
    first = [int((data.targets == c).nonzero()[0]) for c in range(8)]  # one image of each of 8 classes
    plots.plot_samples(data.images[first], labels=data.targets[first], classes=data.classes, figure=sub)
    sub.suptitle(target, x=0.01, ha="left")

# %% [markdown]
# ## Labels saved: probe against scratch
#
# Every target, budget and seed: a linear probe on the frozen backbone's 1,280 pooled features
# (the features are computed once and cached) against the small CNN from scratch on the same
# images. The band spans one standard deviation over the seeds.

# %%
efficiency = pd.concat([fx.data_efficiency(t, per_class=per_class, seeds=seeds, profile=prof) for t in targets],
                       ignore_index=True)
gains = fx.efficiency_gains(efficiency)

fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.8), sharey=True, layout="constrained")
for ax, (target, part) in zip(axes, efficiency.groupby("target", sort=False)):
    plots.plot_data_efficiency(part, ax=ax)
    ax.set_title(target)

# %% [markdown]
# The same runs as a gap: probe minus scratch, seed by seed. Below zero (shaded) the pretrained
# features do worse than no pretraining at all.

# %%
fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.4), sharey=True, layout="constrained")
for ax, (target, part) in zip(axes, efficiency.groupby("target", sort=False)):
    plots.plot_transfer_gap(part, ax=ax)
    ax.set_title(target)
gains.pivot(index="per_class", columns="target", values="gain (points)")

# %% [markdown]
# ## How far is each target from ImageNet?
#
# Measured before any training on the target: does the ImageNet head recognise anything
# (`imagenet_confidence`), and do the frozen features put images of one class closer together
# than their raw pixels do (5-nearest-neighbour accuracy, `knn_gain` in points)? LogME and the
# H-score (notebook 05) rate how linearly separable the features are.

# %%
distance = fx.target_distance(targets, profile=prof)
distance

# %% [markdown]
# ## Which depth transfers best?
#
# The same probe on the pooled output of each group of the backbone, from the stem to the last
# 1x1 convolution, on 100 labels per class of the first target. Early groups hold edges and
# textures, late groups parts and objects of ImageNet's classes (Yosinski et al., 2014).

# %%
layers = fx.layer_probe(targets[0], profile=prof, seed=seed)
plots.plot_layer_transfer(layers)
layers

# %% [markdown]
# ## What the features do to an embedding
#
# 600 test images of the first target, as raw pixels and as ImageNet features, projected to two
# dimensions with t-SNE and coloured by class.

# %%
emb = fx.embeddings(targets[0], profile=prof, seed=seed)
fig, axes = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
for ax, key, title in zip(axes, ("pixels", "features"), ("raw pixels", "ImageNet features")):
    plots.plot_embedding(emb[key], emb["labels"], classes=emb["classes"], method="tsne", ax=ax,
                         seed=seed)
    ax.set_title(title)

# %% [markdown]
# ## Why cache the features
#
# The backbone is frozen, so its features never change: a probe that recomputes them every epoch
# (as a plain training loop does) pays the backbone's forward pass each time. `tlw.fit` with
# `strategy="linear_probe"` computes them once into a cache.

# %%
timing = fx.probe_timing(targets[0], profile=prof)
timing

# %% tags=["summary"]
result = fx.FeatureExtractionResult(efficiency=efficiency, gains=gains, layers=layers, distance=distance,
                                    timing=timing)
result.summary

# %%
print(result.conclusion)

# %% [markdown]
# How to read it. The pretrained features save labels when labels are few, most on the targets
# of photographed objects (clothes, animal silhouettes): a linear probe needs only to place ten
# class boundaries in a space that already groups similar shapes, while a network from scratch
# must learn its features from the same handful of images. With a single label per class both
# are close to guessing and the order can flip. As labels grow, the small CNN learns features
# made for this target and the frozen ImageNet features, made for photos, stop being an
# advantage. How soon depends on how far the target is from ImageNet: where the features group
# the target's images worse than their raw pixels do (handwritten strokes), scratch catches up
# early and then wins.
#
# Two things help the probe here that a notebook on your own data should try: a middle group's
# features (the depth plot) often transfer better than the last ones to images unlike ImageNet's,
# and fine-tuning (notebook 02) lets the backbone itself adapt. In the full profile the images
# are larger, the seeds more, whole data sets are used, and the torchvision ImageNet backbones
# found in the torch hub cache (`tlw.list_models()`, column `offline`) are probed beside Lite0.
