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
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** When does starting from a pretrained source make the target task *worse*, worse
# than what, and can one tell before training on the target?
#
# The guide's example: features learned on dog breeds fail on medical scans. Here the sources are
# controlled. The workbench pretrains one small CNN per source (offline, cached after the first
# run), and the target is MNIST handwritten digits:
#
# - `font_digits`: the same ten digits, printed in many typefaces (related task, other domain);
# - an unrelated source: `fashion_mnist`, clothes (unrelated classes and images), or, where the
#   Debian package of Fashion-MNIST is not installed, `animal_mnist`, animal silhouettes (the
#   settings below say which, and why).
#
# (The full profile adds animal silhouettes and printed digits with shuffled labels, more budgets
# and every freezing depth.)
#
# Each source model is transferred at two label budgets and two freezing depths (`tlw.freeze_to`:
# 0 fine-tunes everything, 3 trains only a new head on the frozen features). The
# **negative-transfer gap** (Wang et al., 2019) is
#
# $$\mathrm{NTG} = \mathrm{error}(\text{with the source}) - \mathrm{error}(\text{baseline}),$$
#
# positive when the source hurt. *Which baseline* decides what the number means, so every arm is
# compared with two:
#
# 1. **the no-source twin**: the same arm without the source, the same layers frozen on randomly
#    initialised weights (Wang et al.'s "same algorithm without source data"). This isolates what
#    the source did.
# 2. **the tuned scratch network**: every layer trained from a random start. This asks whether
#    the transfer arm was worth choosing. A frozen arm against scratch also pays for the freezing
#    itself, whatever the source.
#
# At depth 0 both baselines are the same network.

# %% [markdown]
# ## Protocol
#
# - **Seeds.** 5 seeds; a seed draws the labelled examples (the same for every arm), the new
#   head and the random layers. Every comparison is paired seed by seed, with a 95% paired
#   t-interval and n printed beside it; a gap whose interval covers 0 is called *inconclusive*.
# - **Validation.** Each seed's label budget (10 or 30 per class) is split 80/20 into `train` and
#   `val` (`tlw.data.validation_split`). Every arm trains on `train` only, makes every choice on
#   `val`, and the chosen run (not refitted on train + val) is tested on 1,000 MNIST test images.
# - **Tuning, the same for every arm.** Arms that train convolutions (scratch, the fine-tuned
#   sources) choose their learning rate from one grid (1e-3, 3e-3, 1e-2; AdamW, one-cycle, 120
#   steps of 32 and at least 20 epochs) and keep their best-validation epoch. Head-only arms fit a
#   converged L-BFGS probe and choose its penalty from (1e-4, 1e-3, 1e-2). The choices are made on
#   seed 0's validation split and reused for the other seeds.
# - **No leak.** No source model saw a target image: checked below by exact image digests.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE

# %%
import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import negative_transfer as nt

prof = tlw.get_profile(profile)
settings = nt.grid_settings(prof)
note = nt.source_note(prof)  # a source whose data set is not installed, and what stands in for it
if note:
    print(note)
settings

# %% [markdown]
# ## The target and the sources
#
# One example per class of each data set: the target (MNIST) first, then the images each source
# model was trained on.

# %%
names = [settings["target"]] + list(dict.fromkeys(s.partition(":")[0] for s in settings["sources"]))
plots.plot_domain_pairs({n: tlw.subsample(tlw.load_dataset(n, split="test"), per_class=1).images
                         for n in names}, n=10);

# %% [markdown]
# ## The whole experiment
#
# One call runs everything below: the image check, the measures taken before training, and
# every arm at every budget, depth and seed (the first run also pretrains any source model that
# is not in the cache yet).

# %%
result = nt.run_negative_transfer(profile=prof.name, progress=True)

# %% [markdown]
# **No source saw the target.** The number of distinct MNIST training and test images that also
# occur in each source's data (its training split, and the test split its best epoch was chosen
# on):

# %%
result.overlap

# %% [markdown]
# ## Before any training on the target
#
# What can be measured with the source model and a few labelled target examples, without
# training anything: **LEEP** (how well the source head's predictions explain the target labels),
# **LogME** and **H-score** (how well the frozen features separate the target classes), and a
# **domain distance** between the source's and the target's pixels (the proxy A-distance:
# 0 when a linear classifier cannot tell them apart, 2 when it always can). `source_accuracy` is
# what each source model reached on its own task.

# %%
result.scores.round(3)

# %% [markdown]
# ## The runs
#
# Mean test accuracy of every arm (`none`: random initial layers; `none` with `fine-tune all` is
# the scratch network), with the learning rate or penalty chosen on validation, and the
# validation scores of every value tried on seed 0:

# %%
result.accuracy.round(3)

# %%
result.choices.pivot_table(index=["per_class", "source", "depth"], columns="value", values="val_score",
                           sort=False).round(3)

# %% [markdown]
# With 20 or 60 validation images, two learning rates often tie or differ by one image (ties go
# to the smaller rate), so a verdict that rests on one arm's choice is only as firm as that
# choice: read it next to this table.
#
# ## The gap against each baseline
#
# Each panel is one freezing depth; each line is an arm, its accuracy minus the scratch network's,
# seed by seed (band: one standard deviation over seeds). Below zero (shaded) the arm lost to
# *scratch*, which for a frozen arm is not yet a verdict on the source: the line of the frozen
# *random* layers (no source at all) shows what freezing costs by itself, and a source harms only
# where its line lies below that one.

# %% tags=["key_figure"]
named = result.runs.replace({"arm": {nt.NO_SOURCE: "random layers (no source)"}})
plots.plot_gap_panels(named, panel="depth", hue="arm", baseline="scratch", titles="frozen",
                      shade_label="below scratch");

# %% [markdown]
# The same gaps as numbers: NTG in points of error (positive: the arm with the source erred
# more), the 95% paired t-interval, n (seeds) and the verdict, against the no-source twin and
# against scratch.

# %% tags=["summary"]
result.summary

# %%
print(result.headline)

# %% [markdown]
# ## Did the pre-training measures see it coming?
#
# Sources from least to most harmful, by the mean NTG against the no-source twin over the grid
# (what the source itself did), next to the measures taken before training (`*_rank`: 1 is the
# most promising; for the pixel distance, the nearest).

# %%
result.ranking.round(3)

# %% [markdown]
# ## Conclusion
#
# Every sentence below is computed from the tables above. How to read it: a verdict against the
# no-source twin is about the source; a verdict against scratch is about the choice of method,
# and for frozen arms it mostly reports what freezing costs a network on this target.

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
from tlworkbench.experiments.negative_transfer import exercises as nt_exercises

sheet = exercise_sheet(nt_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · Which source's features?
#
# Freeze the small CNN pretrained on printed digits, or on the unrelated source
# (`nt_exercises.unrelated_source()`, the one of the grid above), and train only a linear probe on
# 10 MNIST labels per class (5 seeds, the same penalty for both). Which gives the lower error?

# %%
unrelated = nt_exercises.unrelated_source()
errors = {source: nt_exercises.frozen_probe_errors(source) for source in ("font_digits", unrelated, "none")}
mean_errors = {source: sum(e) / len(e) for source, e in errors.items()}
sheet.check("better_source", min(["font_digits", unrelated], key=mean_errors.get))

# %% [markdown]
# ### Exercise 2 · The gap, by hand
#
# The negative-transfer gap of the unrelated source against the same layers left random
# (`"none"`), paired on the seed. Positive is negative transfer. Predict its sign, then compute it.

# %%
gap = tlw.diagnostics.negative_transfer_gap(errors[unrelated], errors["none"])
sheet.check("gap_by_hand", round(100 * gap.gap, 1))
