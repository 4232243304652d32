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
# # 03 · Domain mismatch: the same task in another domain
#
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** A digit recogniser trained on one kind of digits is shown another kind: printed
# digits instead of handwriting, blurred scans, coloured or inverted images. The task has not
# changed (ten digits), only the domain: *transductive* transfer. How much accuracy is lost, can
# the shift be measured before any target label exists, and what gets the accuracy back?
#
# Every remedy is run over several seeds and compared with the source model left as it is, seed
# by seed: the mean gain, its 95% t-interval and n, and "inconclusive" when the interval covers 0.
# Fine-tuning and scratch choose their learning rate from the same grid on a validation split
# carved from the same target labels.
#
# The source models are the workbench's small CNN (24k parameters, 32 px grayscale), pretrained
# once on digits rendered from 15 fonts (`tlw:font_digits`, a synthetic source as SynDigits) and
# on MNIST handwriting (`tlw:mnist`); the first run trains them (a minute or less each on a CPU),
# later runs read them from the cache.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
seed = 0

# %%
import matplotlib.pyplot as plt

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import domain_mismatch as dm

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
models = {source: dm.source_model(source, profile=prof) for source in dm.SOURCES}
targets = dm.targets_for()  # each source's targets that are installed here
left_out = dm.missing_line(dm.missing_targets())
if left_out:
    print(left_out)
prof

# %% [markdown]
# ## The domains
#
# The two sources (top rows) and the targets: OpenCV's `digits.png` (5,000 handwritten digits at
# 20 px, from the Debian package `opencv-doc`; left out where it is not installed), scikit-learn's
# 8x8 scans with 17 grey levels, and MNIST made harder by `tlw.shifts`: an elastic distortion,
# blur, random colours (read in grey by the model) and inversion. One test image of each digit 0
# to 7 per row.

# %%
domains = sorted({*dm.SOURCES, *(t for ts in targets.values() for t in ts)},
                 key=lambda d: (d not in dm.SOURCES, d))
plots.plot_domain_pairs(dm.domain_samples(domains, profile=prof, seed=seed), n=8);

# %% [markdown]
# ## The whole experiment in one call
#
# `run_domain_mismatch` measures the shift of every target, checks that no source model trained
# on a target's test images, and runs every remedy on three pairs over the profile's seeds (three
# in the quick profile, five in the full one). The protocol of the label-based arms: each seed
# draws 10 labelled target images per class and holds a fifth of each class out for validation;
# fine-tuning and scratch each try every learning rate of `tlw.training.LR_GRID` on the first
# seed's validation split, and the other seeds reuse the rate chosen; the epoch is the best
# validation epoch of each run; the chosen run (trained on the training part only, no refit on
# train + validation) is scored on the target's test images. Both arms train for the same 100
# steps in batches of 16, and scratch is trained again for twice the steps to see whether it had
# stopped improving.

# %%
result = dm.run_domain_mismatch(profile=prof.name, seed=seed, targets=targets)

# %% [markdown]
# ## Measuring the shift, and what it costs
#
# Each source model reads its own test set and every target's. The shift is measured on its
# features (the 64 pooled values before the head), without a single target label: MMD² with a
# permutation test (does the target look like a sample of the source?) and the proxy A-distance
# (how well a linear classifier tells the two domains apart: 0 not at all, 2 perfectly). Each
# accuracy drop carries its 95% interval over the test images drawn.

# %%
result.shift.round(3)

# %% tags=["key_figure"]
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, (source, part) in zip(axes, result.shift.groupby("source", sort=False)):
    plots.plot_shift(part, x="mmd2", y="accuracy_drop", ax=ax)
    ax.set_title(f"source model: {source}")

# %% [markdown]
# Rank correlation between each measure and the accuracy drop, per source model, with the number
# of targets it rests on and exact p-values (every ordering of the targets counted):

# %%
result.correlation.round(3)

# %% [markdown]
# A rank correlation over a handful of hand-picked targets (`n_targets`) is a ranking of that
# many points: a perfect one has an exact p-value of 2/720 = 0.003 for six targets, and says that
# the order held on these targets, not how closely a shift measure predicts the cost elsewhere. MMD²
# measures how differently the features are spread, not whether each digit still lands where the
# head expects it. The proxy A-distance sits near its ceiling of 2 on most targets, so it ranks
# only the near ones. And every target is told apart from its source by the permutation test:
# with a few hundred images a test finds *some* shift; its size is what goes with the cost.
#
# No source model trained on a target's test images: each target test image is compared with
# every source training image, exactly and after resizing to a common size (within 4 grey levels
# of root-mean-square difference counts as a copy redrawn at another size). OpenCV's digits (where
# installed) are the MNIST digits redrawn at 20 px, but the two sets are split alike, so the
# original of every OpenCV test digit sits in MNIST's *test* split: `mnist -> opencv_digits`
# changes resolution and framing on digits the MNIST model has not seen.

# %%
result.overlap.round(3)

# %% [markdown]
# What a shift looks like inside a model: the MNIST model's features of 500 MNIST test digits and
# the same 500 digits blurred (PCA), before and after AdaBN (below) re-estimates its BatchNorm
# statistics on blurred training images.

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 5), layout="constrained")
for ax, adapted in zip(axes, (False, True)):
    emb = dm.domain_embedding("mnist", "mnist+blur0.5", model=models["mnist"], adapted=adapted, profile=prof,
                              seed=seed)
    plots.plot_embedding(emb["features"], emb["labels"], domains=emb["domains"], classes=emb["classes"],
                         ax=ax)
    ax.set_title("after AdaBN on blurred digits" if adapted else "MNIST model as trained")

# %% [markdown]
# ## A few target labels: the mismatched source against a random start
#
# The font model has never seen handwriting. Fine-tuned on a few labelled MNIST digits (its digit
# head kept), does it beat the same small CNN trained from scratch on the same images, each with
# its own learning rate chosen on validation? This is the design's "cat model used for dogs".
# Labels per class 3, 10 and 30 (validation included), over the seeds.

# %%
efficiency = result.labels[(result.labels["source"] == "font_digits") & (result.labels["target"] == "mnist")]
ax = plots.plot_data_efficiency(efficiency)
untouched = result.shift.set_index(["source", "target"]).loc[("font_digits", "mnist"), "accuracy"]
ax.axhline(untouched, color="grey", linestyle=":", label="font model, no label")
ax.set_ylabel("accuracy on mnist")
ax.legend(title="strategy");

# %% [markdown]
# The learning rates each arm tried, scored on its validation split (the chosen one marked):

# %%
result.choices.pivot_table(index=["source", "target", "per_class", "lr"], columns="strategy",
                           values="val_score", sort=False).round(3)

# %% [markdown]
# ## Remedies compared
#
# On three pairs, against the source model as it is:
#
# * **AdaBN**: keep every weight, re-estimate the BatchNorm statistics on 1,000 unlabelled target
#   images (one forward pass, no label);
# * **Deep CORAL** (Sun & Saenko, 2016): train on for one pass over the same unlabelled target
#   images with the source labels, adding the distance between the source and target feature
#   covariances to the loss; beside it the same training with the CORAL term switched off
#   ("CORAL weight 0"), to separate what the term adds from what BatchNorm gains by seeing
#   target batches during training. Neither reads a target label, so nothing of theirs is tuned
#   on one: the CORAL weight follows the paper's rule;
# * **fine-tuning on 10 target labels per class** from the source model, and **scratch** on the
#   same 100 images, as above.
#
# Each seed draws its own unlabelled sample, labelled sample and training order; the source model
# has no random part and scores the same on every seed.

# %%
result.summary

# %%
gains = result.gains
table = gains.pivot_table(index=["source", "target"], columns="method", values="gain (points)", sort=False)
errors = gains.assign(half=(gains["high"] - gains["low"]) / 2).pivot_table(
    index=["source", "target"], columns="method", values="half", sort=False)
table.index = errors.index = [f"{source} → {target}" for source, target in table.index]
methods = [m for m in dm.METHODS if m in table.columns]
ax = table[methods].plot.barh(xerr=errors[methods], figsize=(9, 5.5), capsize=2)
ax.axvline(0, color="black", linewidth=0.8)
ax.set_xlabel("gain over the source model (points), mean and 95% t-interval over seeds")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small");

# %% [markdown]
# ## Every comparison, named
#
# Each row pairs two arms seed by seed: the mean gain in points, its 95% t-interval, n (seeds)
# and the verdict, "inconclusive" when the interval covers 0. With three seeds a t-interval is
# wide and leans on the differences being roughly normal; the full profile runs five. The row
# `fine-tune, lr 0.001 vs scratch` holds fine-tuning at a rate that was not chosen on validation,
# against scratch at its chosen rate, on the same seeds and labels: what an untuned arm does to a
# comparison.

# %% tags=["summary"]
result.comparisons[["comparison", "pair", "per_class", "n", "gain (points)", "low", "high", "verdict"]].round(1)

# %% [markdown]
# How to read it. A remedy helps on a pair when its interval lies wholly above 0, whatever the
# height of its bar. AdaBN changes only BatchNorm statistics: it can undo a shift that moves the
# intensity statistics the first layers see, not a change of shape. The "CORAL weight 0" row
# tells what Deep CORAL gains from BatchNorm seeing target batches before its own term counts,
# and "Deep CORAL vs CORAL weight 0" what the term adds. "fine-tune vs scratch" asks whether the
# mismatched source is a better start than a random one (a worse one would be negative
# transfer, the subject of notebook 04), with both arms tuned alike. The conclusion below is
# written from these rows.
#
# The source models are tiny (24k parameters) and were trained without augmentation, which is
# why a blur costs them so much. The intervals cover the randomness of the labelled sample, the
# unlabelled sample and training, on one test set of each target; the interval beside each
# accuracy drop covers the test images drawn.

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
from tlworkbench.experiments.domain_mismatch import exercises as dm_exercises

sheet = exercise_sheet(dm_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · AdaBN on inverted digits
#
# The printed-digit model reads dark digits on a light ground badly. Re-estimate its BatchNorm
# statistics on the target's unlabelled images (AdaBN): how much comes back?

# %%
before = dm_exercises.adabn_accuracy("mnist+invert1", adapt=False)
after = dm_exercises.adabn_accuracy("mnist+invert1")
sheet.check("adabn_inverted", after)

# %% [markdown]
# ### Exercise 2 · Which shift is larger?
#
# Real handwriting, or the same handwriting in random colours: which lies farther from printed
# digits in the source model's features? Predict, then measure MMD² on 300 images of each.

# %%
mmd = dm_exercises.shift_pair("mnist", "mnist+colour1")
sheet.check("farther_shift", max(mmd, key=mmd.get))
