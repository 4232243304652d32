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
# # 07 · Unsupervised transfer: a representation for a target without labels
#
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** A target arrives with no labels at all. Can a representation learned elsewhere
# still help, to group its images into classes (clustering) or to flag images of a kind never
# seen before (novelty or threat detection)? And does it matter whether that representation was
# learned with labels (ImageNet) or without (an autoencoder on other unlabelled images)?
#
# The target is `animal_mnist`: 28 px silhouettes of ten animals. Three representations of the
# same images are compared, none trained on a single target label:
#
# * **raw pixels** (784 numbers);
# * **ImageNet features**: EfficientNet-Lite0 with its ImageNet weights, frozen, pooled (1,280);
# * **autoencoder codes**: a small convolutional autoencoder trained on unlabelled handwritten
#   digits (`mnist`, another set; its labels are never read), 32 numbers per image.
#
# With no labels there is nothing to tune on: every representation goes through the same two
# pipelines, reported side by side: **raw** (centred, first 50 principal components) and **l2**
# (each embedding scaled to unit length first, the cosine geometry usual for deep features). The
# autoencoder alone has choices to make; its learning rate and epoch are chosen on the
# reconstruction loss of held-out digits. The target's labels are used only to score.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
seed = 0

# %%
import matplotlib.pyplot as plt

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import unsupervised as ux

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
prof

# %% [markdown]
# ## The target and the autoencoder's source
#
# Eight test images of the target and eight of the unlabelled source the autoencoder learns from.

# %%
fig = plt.figure(figsize=(12, 3.6), layout="constrained")
for sub, name in zip(fig.subfigures(2, 1), (ux.TARGET, ux.SOURCE)):
    data = tlw.load_dataset(name, split="test", profile=prof)
    plots.plot_samples(data.images[:8], figure=sub)
    sub.suptitle(name, x=0.01, ha="left")

# %% [markdown]
# ## The experiment
#
# `run_unsupervised_transfer` checks that no source image is a copy of a target image, trains
# the autoencoder (once, seed 0), embeds the target's training images (4,000 in the quick
# profile) and 1,000 of its test images all three ways, then runs the clustering and the
# detection below.

# %%
result = ux.run_unsupervised_transfer(profile=prof.name)
print(f"source images that are copies of target images: {result.shared}")
ae = result.autoencoder
print(f"autoencoder: {ae.n_train} digits to train on, {ae.n_val} held out; chosen lr {ae.lr:g} "
      f"(validation loss {ae.val_loss:.4f} per pixel)")
ae.table

# %% [markdown]
# ## Clustering without labels
#
# Each seed draws 800 of the 1,000 test images and starts k-means from its own seed; Ward's
# agglomerative clustering is deterministic, so its spread comes from the draw alone. Both ask
# for ten clusters: knowing the number of classes is a favour given to every representation
# alike. NMI (normalised mutual information) and ARI (adjusted Rand index) compare the clusters
# with the true classes; ARI is 0 for a random partition. One dot per seed, a bar at the mean.

# %% tags=["key_figure"]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True, layout="constrained")
for ax, (norm, part) in zip(axes, result.clustering.groupby("norm", sort=False)):
    plots.plot_cluster_scores(part, metric="nmi", ax=ax)
    ax.set_title(f"pipeline: {norm}")

# %% [markdown]
# The differences, paired on the seed (the same images and k-means start for every
# representation), in NMI and ARI points with a 95% t-interval and the number of seeds:

# %%
result.cluster_gains.pivot_table(index=["metric", "norm", "method"], columns="comparison", values="interval",
                                 aggfunc="first")

# %% [markdown]
# ## Detecting a class never seen
#
# Each class in turn plays the novel class (a new kind of threat): a detector fits on the
# training images of the other nine classes, then scores all 1,000 test images, and the novel
# class's test images (about a hundred) should score highest. The score is the mean distance to
# the 5 nearest training images in the embedding (k-NN). The AUROC is the chance that a random novel image outscores a
# random known one (0.5 is chance); its interval is a BCa bootstrap over the test images.

# %%
auroc = result.anomaly.pivot_table(index="novel_class", columns=["norm", "representation"], values="auroc")
auroc.loc["mean"] = auroc.mean()
auroc.round(3)

# %% [markdown]
# The differences, paired on the novel class (n = 10 classes), in AUROC points:

# %%
result.anomaly_gains.pivot_table(index=["norm", "detector"], columns="comparison", values="interval",
                                 aggfunc="first")

# %% [markdown]
# One novel class up close: the score distributions of the known and the novel test images in
# each representation, and the AUROC of each with its bootstrap interval (n is the number of
# test images scored). The class was chosen before the experiment was run.

# %%
ex = result.example
fig, axes = plt.subplots(2, 3, figsize=(13, 6), layout="constrained")
for row, norm in zip(axes, ux.NORMS):
    for ax, rep in zip(row, ux.REPRESENTATIONS):
        plots.plot_anomaly_scores(ex["scores"][(norm, rep, "knn")], ex["is_anomaly"], ax=ax)
        ax.set_title(f"{ux.LABELS[rep]}, {norm}", fontsize="small")
fig.suptitle(f"novel class: {ex['novel_class']}")
close = result.anomaly[result.anomaly["novel_class"] == ex["novel_class"]]
close[["norm", "representation", "detector", "interval"]]

# %% [markdown]
# The test images each detector finds most and least anomalous for that class (red titles: the
# novel class), for raw pixels and for the representation with the best mean AUROC over the
# ten classes.

# %%
best_norm, best_rep = result.summary["knn AUROC"].idxmax()
for norm, rep in dict.fromkeys([("raw", "pixels"), (best_norm, best_rep)]):
    fig = plots.plot_ranked_images(ex["images"], ex["scores"][(norm, rep, "knn")], k=8,
                                   is_anomaly=ex["is_anomaly"])
    fig.suptitle(f"{ux.LABELS[rep]}, pipeline {norm}: most (top) and least (bottom) anomalous")

# %% tags=["summary"]
result.summary

# %%
print(result.conclusion)

# %% [markdown]
# How to read it. ImageNet's features group the silhouettes into their animals far better than
# their pixels do, whichever pipeline and clustering method: a representation learned from 1.3
# million labelled photos carries shape categories that survive the trip to a new domain, without
# a single target label. An autoencoder trained on unlabelled digits brings nothing of the kind:
# its codes cluster the animals about as well as the pixels or worse (NMI), far below ImageNet's
# features, because reconstructing pen strokes needs no notion of an animal. Learning without
# labels transfers only what the source's images share with the target's.
#
# Novelty detection is a harder and less even test. Over the ten held-out classes no
# representation is shown to beat the pixels: the per-class AUROCs spread widely, and a class
# that the known classes cover well in one representation is missed there (the elephant scores
# below chance in ImageNet's features as they are, and below its pixels once they are scaled,
# while its pixels flag it well). The pipeline matters
# as much as the representation: the same ImageNet features have a lower mean AUROC than pixels
# when used as they are, and the highest of all once scaled to unit length, a choice that could
# not have been made on this target without labelled anomalies. A detector for real threats
# should be validated on examples of known anomalies before it is trusted. In the full profile
# the images are larger and every training image is used.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to change one thing, predict what happens, and run it. Write your
# prediction down before you run a cell. The last line of each cell checks the result:
# `sheet.check(key, answer)` says "Right:" and why, or "Not yet:" and where to look. Try a wrong
# answer too.

# %%
from tlworkbench.exercises import exercise_sheet
from tlworkbench.experiments import exercises_unsupervised as ux_exercises

sheet = exercise_sheet(ux_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · The wrong number of clusters
#
# Ask k-means for five clusters instead of ten on the raw pixels. What happens to NMI?

# %%
nmi = {k: ux_exercises.pixel_nmi(k) for k in (5, 10)}
sheet.check("five_clusters", nmi[5])

# %% [markdown]
# ### Exercise 2 · A detector turned around
#
# Negate the k-NN detector's scores, so that the most typical images are flagged first. What is
# its AUROC now?

# %%
flipped = {flip: ux_exercises.pixel_auroc(flip) for flip in (False, True)}
sheet.check("flipped_scores", flipped[True])
