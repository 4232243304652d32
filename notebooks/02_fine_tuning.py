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
# # 02 · Fine-tuning
#
# **Question.** When does it pay to let the pretrained layers themselves learn, rather than only a
# new head on frozen features, and how should they learn?
#
# Two words that are often mixed up:
# - **transfer learning** changes the *architecture*: the source head (1,000 ImageNet classes) is
#   replaced by a new head for the target's classes;
# - **fine-tuning** changes the *parameters* of the pretrained layers, a little, on the target.
#
# The recipes below differ only in what trains and how fast: a linear probe (nothing of the
# backbone), fine-tuning from a group up, fine-tuning everything with lower learning rates for the
# lower groups (discriminative learning rates), gradual unfreezing, the BatchNorm policy, a
# learning rate far too high, and a small CNN from scratch. Target: animal silhouettes, at a small
# and a larger label budget.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
per_class = [10, 50]  # label budgets: labelled examples per class
seed = 0

# %%
import matplotlib.pyplot as plt

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import fine_tuning as ftx

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
prof

# %% [markdown]
# ## Choosing what trains: the FreezePanel
#
# The panel is a live view of the model's `requires_grad` flags: tick a group to let it train,
# slide "freeze up to" to freeze the lower groups, set a learning-rate multiplier per group.
# Everything it does is also a method, so the choices can be written down in code, as here: the
# recipe "fine-tune from stage7" with lower rates for the groups just below the top.

# %%
model = tlw.load_model("efficientnet_lite0", num_classes=10, image_size=prof.image_size, seed=seed)
panel = tlw.FreezePanel(model)
panel.freeze_to(list(model.groups).index("stage7"))
panel.set_lr_mult("stage7", 0.3)
panel

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5), layout="constrained")
plots.plot_trainable(panel.table(), ax=axes[0])
plots.plot_frozen_fraction(panel.table(), ax=axes[1])
panel.table()

# %% [markdown]
# ## How fast: the learning-rate range test
#
# `tlw.lr_find` (Smith 2017) trains the groups chosen above for a few dozen steps while the
# learning rate grows exponentially, then puts the model back as it was. The loss falls fastest
# near a good rate and explodes past the largest one that still trains; the dot marks the
# steepest descent. The recipes below keep their fixed rates, so that this suggestion can be
# read against the rate of "fine-tune from stage7".

# %%
lr_train = tlw.subsample(tlw.load_dataset("animal_mnist", transform=model, profile=prof),
                         per_class=max(per_class), seed=seed)
finder = tlw.lr_find(model, lr_train, num_steps=60, batch_size=32, seed=seed)
plots.plot_lr_find(finder.lrs, finder.losses, suggestion=finder.suggestion)
stage7 = next(r for r in ftx.recipes_for(prof) if r.name == "fine-tune from stage7")
print(f"suggested rate {finder.suggestion:.1e} (a tenth of the minimum's: {finder.lr_min:.1e}); "
      f"the recipe uses {stage7.lr:.0e}")

# %% [markdown]
# ## The recipes
#
# Every recipe but the probe and gradual unfreezing first trains the new head alone on cached
# features, then fine-tunes (LP-FT): a random head would otherwise send large, meaningless
# gradients into the pretrained layers in the first steps.
#
# In the full profile the torchvision ImageNet backbones whose weights are in the torch hub cache
# join with a linear probe and a full fine-tune each.

# %%
[(r.name, r.strategy, r.lr, dict(r.fit_kwargs), r.bn_policy) for r in ftx.recipes_for(prof)]

# %%
table, histories, models = ftx.run_recipes(per_class=per_class, seed=seed, profile=prof)

# %%
fig, axes = plt.subplots(1, len(per_class), figsize=(6 * len(per_class), 3.8), sharex=True)
for ax, b in zip(axes, per_class):
    sub = table[table["per_class"] == b].sort_values("accuracy")
    ax.barh(sub["recipe"], sub["accuracy"], color="tab:blue")
    ax.axvline(sub.loc[sub["recipe"] == "linear probe", "accuracy"].iloc[0], color="k", ls="--", lw=1)
    ax.set_title(f"{b} labels per class (dashed: linear probe)")
    ax.set_xlabel("test accuracy")
fig.tight_layout()

# %% [markdown]
# ## Learning curves
#
# Training loss per epoch of the main phase of each recipe at the larger budget.

# %%
big = max(per_class)
plots.plot_history({k.split(" @ ")[0]: h for k, h in histories.items() if k.endswith(f"@ {big}")},
                   metric="loss");

# %% [markdown]
# ## What fine-tuning changed
#
# The relative distance of each group's weights from the ImageNet weights after fine-tuning
# everything: the lower groups (learning-rate multiplier 0.1) moved least. The head has no
# ImageNet counterpart: transfer learning replaced it.

# %%
change = ftx.weight_change(models[f"fine-tune all, discriminative lr @ {big}"])
ax = plt.figure(figsize=(7, 3)).gca()
ax.bar(change["group"][:-1], change["relative change"][:-1])
ax.set_ylabel("||w - w0|| / ||w0||")
ax.tick_params(axis="x", rotation=45)
change

# %% tags=["summary"]
summary = table.pivot(index="recipe", columns="per_class", values="accuracy")
summary.columns = [f"accuracy @ {b}/class" for b in summary.columns]
summary["seconds (all budgets)"] = table.groupby("recipe")["seconds"].sum()
summary.sort_values(summary.columns[-2], ascending=False)

# %%
print(ftx.conclude(table))
