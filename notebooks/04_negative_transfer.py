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
# # 04 · Negative transfer
#
# **Question.** When does starting from a pretrained model make the target task *worse* than
# training the same network from scratch, and can one tell before training on the target?
#
# The guide's example: features learned on dog breeds fail on medical scans. Here the sources are
# controlled. The workbench pretrains one small CNN per source (offline, cached after the first
# run), and the target is MNIST handwritten digits:
#
# - `font_digits`: the same ten digits, printed in many typefaces (related task, other domain);
# - `fashion_mnist`: clothes (unrelated classes and images);
# - `mnist:random`: the target's own images with their labels shuffled (a source that teaches
#   nothing transferable about digits, though its images are the target's).
#
# Each source model is transferred at two label budgets and three freezing depths
# (`tlw.freeze_to`: 0 fine-tunes everything, 2 freezes the first two convolution blocks, 3 trains
# only a new head), against the same network trained from scratch on the same examples. The
# **negative-transfer gap** (Wang et al., 2019) is
#
# $$\mathrm{NTG} = \mathrm{error}(\text{transfer}) - \mathrm{error}(\text{scratch}),$$
#
# positive when transfer hurt, with a 95% bootstrap interval over seeds (paired: one seed draws
# the same labelled examples for every arm).

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE

# %%
import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import negative_transfer as nt

prof = tlw.get_profile(profile)
settings = nt.grid_settings(prof)
settings

# %% [markdown]
# ## The target and the sources
#
# One example per class of each data set: the target (MNIST) first, then the images each source
# model was trained on. The `mnist:random` source saw MNIST's own images, so it shares the
# target's row.

# %%
names = [settings["target"]] + [s.partition(":")[0] for s in settings["sources"]
                                if s.partition(":")[0] != settings["target"]]
plots.plot_domain_pairs({n: tlw.subsample(tlw.load_dataset(n, split="test"), per_class=1).images
                         for n in names}, n=10);

# %% [markdown]
# ## Before any training on the target
#
# What can be measured with the source model and a few labelled target examples, without
# training anything: **LEEP** (how well the source head's predictions explain the target labels),
# **LogME** and **H-score** (how well the frozen features separate the target classes), and a
# **domain distance** between the source's and the target's pixels (the proxy A-distance:
# 0 when a linear classifier cannot tell them apart, 2 when it always can). `source_accuracy` is
# what each source model reached on its own task; the shuffled source learned nothing (chance).
# These are computed on the largest budget's examples (seed 0).

# %%
scores = nt.pre_training_scores(settings["target"], profile=prof)
scores.round(3)

# %% [markdown]
# ## The grid: sources × budgets × freezing depths × seeds, against scratch
#
# Every arm that trains convolutions uses the same recipe (AdamW, one-cycle, learning rate 1e-2,
# 240 steps of 32 examples and at least 12 epochs, where training from scratch stops improving). With the
# whole backbone frozen, the head is a convex problem and is fitted to convergence (L-BFGS on the
# cached features, with a small L2 penalty), so the head-only arm is not handicapped by too few
# steps. The first run also pretrains any source model that is not in the cache yet.

# %%
grid = nt.transfer_grid(settings["target"], profile=prof, progress=True)
grid.pivot_table(index=["source", "frozen"], columns="per_class", values="accuracy", aggfunc="mean",
                 sort=False).round(3)

# %% [markdown]
# ## The negative-transfer gap
#
# Each panel is one freezing depth; each line a source: accuracy of transfer minus accuracy from
# scratch against the labels per class, paired seed by seed (the band is one standard deviation
# over seeds). Below zero (shaded) is negative transfer: NTG is this gap with its sign turned.
#
# What to look for: with everything fine-tuned, every source ends up close to scratch, and only the
# related source helps, most at the smallest budget. Each group that stays frozen keeps more of the
# source, and the unrelated sources then cost more and more; frozen whole, even the printed-digit
# features lose to a small network trained on the target alone, because they were never shaped by
# handwriting. More labels shrink the related source's advantage; they do not rescue frozen
# features that do not fit.

# %%
plots.plot_gap_panels(grid, panel="depth", hue="source", titles="frozen");

# %% [markdown]
# The same gaps as numbers, with their 95% bootstrap intervals (`*`: the interval excludes 0).
# With three seeds in the quick profile the interval is about the range of the three paired
# differences: a coarse interval, which the full profile (five seeds) narrows.

# %%
gaps = nt.gaps(grid)
ranking = nt.source_ranking(gaps, scores)
result = nt.NegativeTransferResult(grid=grid, gaps=gaps, scores=scores, ranking=ranking)

# %% tags=["summary"]
result.summary

# %% [markdown]
# ## Did the pre-training measures see it coming?
#
# Sources from least to most harmful (mean NTG over the whole grid), next to the measures taken
# before training (`*_rank`: 1 is the most promising).
#
# - **LEEP** reads the source model's *head*: a head trained on shuffled labels predicts nothing
#   about digits, so LEEP sits at its floor, about log(1/10), below every other source.
# - **LogME** and **H-score** read only the frozen *features*. Both put the related source first
#   but do not put the shuffled source last: its features, pretrained briefly on the target's own
#   images, still separate the digits better than Fashion-MNIST's do.
# - The **domain distance** reads only the *images*, and the shuffled source has the target's
#   own: it is the nearest "domain" of all while being one of the two most harmful sources. A
#   small domain distance does not make a source safe.
#
# Be careful with "the most harmful": `fashion_mnist` and `mnist:random` are close on average and
# trade places with depth and budget (the shuffled source is worse with two blocks frozen; frozen
# whole the order depends on the budget and the seeds). The conclusion prints their margin. What
# is solid is the split between the related source and the two harmful ones, and every measure
# here except the domain distance gets that split right.

# %%
ranking.round(3)

# %% [markdown]
# ## Conclusion

# %%
print(result.conclusion)
