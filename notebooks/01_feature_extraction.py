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
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** A network trained on ImageNet's 1.3 million photos is kept frozen; only a linear
# classifier (a *probe*) is trained on its features for a new task. Against a small network
# trained from scratch on the same labels, does that save labels, on which targets, at which
# budgets, and from which depth of the network should the features come?
#
# The feature extractor is EfficientNet-Lite0 with its ImageNet weights; the new task is one of
# three 28 px grayscale sets of ten classes: animal silhouettes (`animal_mnist`), clothes
# (`fashion_mnist`) and handwritten digits (`mnist`). The quick profile runs two of them, the
# nearest to ImageNet and the farthest (animals and digits, as the distance table below ranks
# them); the full profile all three. The baseline is the workbench's small CNN (24k parameters)
# trained from scratch on the same images at their own 28 px.
#
# **A handicap to keep in mind.** EfficientNet-Lite0 was trained on 224 px photos. Here it reads
# the 28 px images upsampled to the profile's input size (64 px in the quick profile, 128 px in
# the full one), far below the size its filters were trained at. One extra run below measures
# what a larger input size gives the probe.
#
# **The protocol, the same for both arms.** Each label budget (so many labelled examples per
# class, drawn with a seed) is split: a fifth of each class (at least one example) is set aside
# for validation, the rest is trained on. The probe chooses its penalty (`WEIGHT_DECAY_GRID`)
# there; the small CNN chooses its learning rate there (the quick profile tries 3e-3 and 1e-2,
# the full profile all of `LR_GRID`) and keeps the weights of its best validation epoch, after
# training until its accuracy stops rising (at least 36 epochs; `fx.SCRATCH_MIN_EPOCHS` says what
# was measured). The choices are made on the first seed's validation split and reused for the
# other seeds. With one label per class nothing can be set
# aside: both arms then use the values chosen at the next larger budget. The chosen runs, trained
# on the training part only (no refit on training plus validation), are scored on 500 test images
# per target. The probe and scratch are compared seed by seed: the mean difference with its 95%
# t-interval and n; a difference whose interval covers zero is called inconclusive.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
seed = 0  # seeds the t-SNE projection; the experiment's seeds are the profile's

# %%
import matplotlib.pyplot as plt

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import feature_extraction as fx

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
targets = fx.targets_for(prof)  # the profile's targets that are installed here
left_out = fx.missing_line(fx.missing_targets(prof))
if left_out:
    print(left_out)
print(f"profile {prof.name}: targets {targets}, {prof.image_size} px for the probe, label budgets "
      f"{fx.budgets_for(prof)} per class, seeds {prof.seeds}")

# %% [markdown]
# ## The targets
#
# A test image of each of eight classes, per target. None of them looks like an ImageNet photo:
# they are small, grey and centred. The animals are silhouettes of real photos, the clothes are
# product shots, the digits are pen strokes.

# %%
fig = plt.figure(figsize=(12, 1.9 * len(targets)), layout="constrained")
for sub, target in zip(fig.subfigures(len(targets), 1, squeeze=False).ravel(), targets):
    data = tlw.load_dataset(target, split="test", profile=prof)
    first = [int((data.targets == c).nonzero()[0]) for c in range(8)]  # one image of each of 8 classes
    plots.plot_samples(data.images[first], labels=data.targets[first], classes=data.classes, figure=sub)
    sub.suptitle(target, x=0.01, ha="left")

# %% [markdown]
# ## The experiment
#
# Every target, budget and seed, both arms; the probe at every depth of the backbone; the probe at
# a larger input size; how far each target is from ImageNet; and a timing of the feature cache.
# The features of each image are computed once and cached on disk, so a second run is fast.
# Every target, arm, budget and seed is one run of a grid: `executor=` hands them to other
# processes (a `concurrent.futures.ProcessPoolExecutor`, a Dask client's `get_executor()`), and
# `folder=` keeps every finished run on disk so that an interrupted run continues where it
# stopped; the tables are the same either way.

# %%
result = fx.run_feature_extraction(targets=targets, profile=prof.name)

# %% [markdown]
# ## Labels saved: probe against scratch
#
# Test accuracy against the label budget, mean over the seeds; the band is the 95% t-interval of
# the mean.

# %% tags=["key_figure"]
efficiency = result.efficiency
fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.8), sharey=True, squeeze=False,
                         layout="constrained")
for ax, (target, part) in zip(axes.ravel(), efficiency.groupby("target", sort=False)):
    plots.plot_data_efficiency(part, ax=ax, band="ci")
    ax.set_title(target)

# %% [markdown]
# The same runs as a gap: probe minus scratch, seed by seed, with the 95% t-interval of the mean
# gap. Below zero (shaded) the pretrained features do worse than no pretraining at all. The table
# gives n, the interval and the verdict for every target and budget.

# %%
fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.4), sharey=True, squeeze=False,
                         layout="constrained")
for ax, (target, part) in zip(axes.ravel(), efficiency.groupby("target", sort=False)):
    plots.plot_transfer_gap(part, ax=ax, band="ci")
    ax.set_title(target)
result.summary

# %% [markdown]
# What each arm chose on validation (the first seed's split), and the validation accuracy of every
# value it tried. At one label per class the values come from the next larger budget
# (`chosen_on`).

# %%
result.efficiency.pivot_table(index=["target", "per_class"], columns="strategy", values="value", aggfunc="first")

# %%
result.grids.pivot_table(index=["target", "strategy", "per_class"], columns="value", values="val_score")

# %% [markdown]
# ## How far is each target from ImageNet?
#
# Measured before any training on the target, on 1,000 of its training images: does the ImageNet
# head recognise anything (`imagenet_confidence`), and do the frozen features put images of one
# class closer together than their raw pixels do (5-nearest-neighbour accuracy, `knn_gain` in
# points)? LogME and the H-score (notebook 05) rate how linearly separable the features are.

# %%
result.distance

# %% [markdown]
# ## Which depth transfers best?
#
# The same probe on the pooled output of each group of the backbone, from the stem to the last
# 1x1 convolution, on the largest budget of the first target (first seed). Early groups hold edges
# and textures, late groups parts and objects of ImageNet's classes (Yosinski et al., 2014). Each
# group's penalty and then the group itself are chosen on the validation split; the curve shows
# validation accuracy, and only the chosen group is scored on test.

# %%
layers = result.layers
plots.plot_layer_transfer(layers, y="val_accuracy")
layers

# %% [markdown]
# ## What the input size costs the probe
#
# The same probe, labels, splits and penalty grid, with the images upsampled to a larger input
# size (closer to the 224 px EfficientNet-Lite0 was trained on), on one target and budget, paired
# by seed. In the quick profile this is the only run at 128 px; the full profile runs everything
# at 128 px and this point at 224 px.

# %%
result.resolution_gain

# %% [markdown]
# ## What the features do to an embedding
#
# The 500 test images of the first target, as raw pixels and as ImageNet features, projected to
# two dimensions with t-SNE and coloured by class.

# %%
emb = fx.embeddings(targets[0], profile=prof)
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
# `strategy="linear_probe"` computes them once into a cache; the second probe below finds them
# there.

# %%
result.timing

# %% tags=["summary"]
result.summary

# %%
print(result.conclusion)

# %% [markdown]
# How to read it. A verdict is only as strong as its interval: with three seeds (the quick
# profile) a difference must be large, and consistent across the seeds, before its interval
# leaves zero, so "inconclusive" means the seeds disagree or the difference is small, not that
# the arms are equal. Where the probe is ahead, a linear classifier placed ten class boundaries in
# a space that already groups similar shapes, while the network from scratch had to learn its
# features from the same handful of images. Where scratch is ahead, the small CNN learned features
# made for this target from enough labels, while the frozen features, made for photos and read
# here at a fraction of their native size, stayed frozen. The 5-NN column of the distance table and
# the input-size run say how much of that is the target's distance from ImageNet and how much the
# resolution.
#
# Two things help the probe that a notebook on your own data should try: a middle group's
# features (the depth table) can transfer better than the last ones to images unlike ImageNet's,
# and fine-tuning (notebook 02) lets the backbone itself adapt. In the full profile the images are
# larger, the budgets and seeds more, and the torchvision ImageNet backbones
# found in the torch hub cache (`tlw.list_models()`, column `offline`) are probed beside Lite0.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to change one thing, predict what happens, and run it. Write your
# prediction down before you run a cell. The last line of each cell checks the result:
# `sheet.check(key, answer)` says "Right:" and why, or "Not yet:" and where to look. Try a wrong
# answer too.

# %%
from tlworkbench.exercises import exercise_sheet
from tlworkbench.experiments.feature_extraction import exercises as fx_exercises

sheet = exercise_sheet(fx_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · Smaller input images
#
# The probe reads the silhouettes at 64 px. At 32 px, what happens to its accuracy (10 labels per
# class, 500 test images)? Predict, then run.

# %%
at_64, at_32 = fx_exercises.probe_accuracy(size=64), fx_exercises.probe_accuracy(size=32)
sheet.check("smaller_images", at_32)

# %% [markdown]
# ### Exercise 2 · Features from halfway up
#
# Take the features after `stage5` instead of the last layer. Better or worse for animal
# silhouettes?

# %%
at_stage5 = fx_exercises.probe_accuracy(depth="stage5")
sheet.check("earlier_depth", at_stage5)
