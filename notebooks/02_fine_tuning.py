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
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** When does it pay to let the pretrained layers themselves learn, rather than only a
# new head on frozen features, and does either beat a small network trained from scratch?
#
# Two words that are often mixed up:
# - **transfer learning** changes the *architecture*: the source head (1,000 ImageNet classes) is
#   replaced by a new head for the target's classes;
# - **fine-tuning** changes the *parameters* of the pretrained layers, a little, on the target.
#
# The recipes differ in what trains: a linear probe (nothing of the backbone), fine-tuning
# EfficientNet-Lite0 from its group `stage7` up, and a small CNN trained from scratch. The full
# profile adds fine-tuning everything with lower learning rates for the lower groups
# (discriminative learning rates), gradual unfreezing, the BatchNorm policy and a learning rate
# far too high. Target: animal silhouettes, at a small and a larger label budget, over seeds.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
per_class = (10, 50)  # label budgets: labelled examples per class
seed = 0  # the seed of the FreezePanel's model and the learning-rate range test

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
# groups from `stage7` up train, with a lower rate for `stage7`.

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
# ## The protocol: every recipe gets the same care
#
# For each seed, a label budget is drawn and split into a training part and a validation part (a
# fifth of each class, `tlw.validation_split`). Every recipe trains on the training part only;
# every choice is made on the validation part:
#
# - the **linear probe** trains to convergence (L-BFGS, `fit`'s defaults); its penalty comes from
#   `WEIGHT_DECAY_GRID`;
# - every other recipe takes its **learning rate** from one grid, the same for all of them, and
#   keeps the weights of its **best validation epoch**;
# - fine-tuning starts from the linear probe of the same seed and budget (LP-FT), so a random
#   head never sends large gradients into the pretrained layers;
# - the **small CNN from scratch** trains for as many steps as its validation accuracy needs to
#   level off (checked in the conclusion).
#
# Hyper-parameters are chosen on the first seed's split at each budget and reused for the other
# seeds. The chosen run (trained on the training part, not refitted on training + validation)
# is evaluated once on the test images. Comparisons are paired on the seed (the same labelled
# images for every recipe), with a t-interval over the seeds; a difference whose interval covers
# 0 is inconclusive.

# %%
recipes = ftx.recipes_for(prof)
[(r.name, r.strategy, ftx.grid_for(r, prof), dict(r.fit_kwargs), r.bn_policy) for r in recipes]

# %%
result = ftx.run_fine_tuning(profile=prof.name, per_class=per_class)

# %% [markdown]
# ## Test accuracy of every recipe
#
# Bars: the mean over seeds; dots: each seed; dashed: the linear probe's mean.

# %%
table = result.table
budgets = sorted(table["per_class"].unique())
fig, axes = plt.subplots(1, len(budgets), figsize=(6 * len(budgets), 3.8), sharex=True, squeeze=False)
for ax, b in zip(axes[0], budgets):
    sub = table[table["per_class"] == b]
    means = sub.groupby("recipe")["accuracy"].mean().sort_values()
    ax.barh(means.index, means.values, color="tab:blue", alpha=0.6)
    ax.scatter(sub["accuracy"], sub["recipe"], color="k", s=12, zorder=3)
    ax.axvline(means[ftx.PROBE], color="k", ls="--", lw=1)
    ax.set_title(f"{b} labels per class ({sub['seed'].nunique()} seeds)")
    ax.set_xlabel("test accuracy")
fig.tight_layout()

# %% [markdown]
# ## What validation chose
#
# Every value tried on the first seed's validation split, and the one kept (`chosen`).

# %%
result.choices.pivot_table(index=["recipe", "knob", "value"], columns="per_class", values="val_score")

# %% [markdown]
# ## The comparisons, paired on the seed
#
# `gain` is the mean over seeds of the arm's test accuracy minus the baseline's, in points;
# `low` and `high` bound its 95% t-interval; `wins` counts the seeds on which the arm did better.

# %%
result.gains.round(2)

# %% [markdown]
# ## Learning curves
#
# Validation accuracy per epoch of the first seed's chosen runs at the larger budget (the probe
# trains on its own and is scored once). The small CNN's curve shows whether it had levelled off.

# %% tags=["key_figure"]
big = max(budgets)
plots.plot_history({k.split(" @ ")[0]: h for k, h in result.histories.items()
                    if k.endswith(f"@ {big}") and not k.startswith(ftx.PROBE)}, metric="accuracy");

# %% [markdown]
# ## How fast: the learning-rate range test
#
# `tlw.lr_find` (Smith 2017) trains the groups chosen above for a few dozen steps while the
# learning rate grows exponentially, then puts the model back as it was. The loss falls fastest
# near a good rate and explodes past the largest one that still trains; the dot marks the
# steepest descent. It runs on the training part of the first seed's larger budget; below, its
# suggestion is printed beside the rate that validation chose for "fine-tune from stage7".

# %%
lr_train, _ = tlw.validation_split(
    tlw.subsample(tlw.load_dataset("animal_mnist", transform=model, profile=prof), per_class=big, seed=seed),
    fraction=ftx.VAL_FRACTION, seed=seed)
finder = tlw.lr_find(model, lr_train, num_steps=60, batch_size=ftx.BATCH, seed=seed)
plots.plot_lr_find(finder.lrs, finder.losses, suggestion=finder.suggestion)
chosen = result.choices.query("chosen and recipe == 'fine-tune from stage7' and per_class == @big")["value"].item()
print(f"range test: suggested rate {finder.suggestion:.1e} (a tenth of the minimum's: {finder.lr_min:.1e}); "
      f"chosen on validation for fine-tune from stage7 at {big} labels per class: {chosen:g}")

# %% [markdown]
# ## What fine-tuning changed
#
# The relative distance of each group's weights from the ImageNet weights after fine-tuning
# (first seed, larger budget). Groups that did not train stay at 0; the head has no ImageNet
# counterpart: transfer learning replaced it.

# %%
name, change = next(iter(result.weight_changes.items()))
ax = plt.figure(figsize=(7, 3)).gca()
ax.bar(change["group"][:-1], change["relative change"][:-1])
ax.set_title(name)
ax.set_ylabel("||w - w0|| / ||w0||")
ax.tick_params(axis="x", rotation=45)
change

# %% tags=["summary"]
result.summary()

# %% [markdown]
# ## Conclusion
#
# Computed from the tables above: each comparison with its interval and number of seeds.

# %%
print(result.conclusion)

# %% [markdown]
# ## The training loop, by hand
#
# `tlw.fit` hides its loop inside the package. Here is one written in plain PyTorch: a small CNN
# from its seeded random start learns from 20 MNIST digits per class with SGD (momentum 0.9) at a
# constant learning rate, in batches of 32, for ten epochs. Each epoch visits the images in an
# order drawn from a generator seeded with the seed and the epoch, the order `fit`'s loader uses.
#
# Then `fit` trains a copy of the same start with the same recipe: `optimizer="sgd"`,
# `schedule=None` (no one-cycle schedule), `min_steps=0` (no floor on the number of steps) and
# `bn_stats="running"` (PyTorch's moving BatchNorm statistics). "The same" is meant strictly:
# the largest difference between the two models' weights is shown below, and on a CPU it is 0.
# `fit`'s defaults add an AdamW optimiser, the one-cycle schedule, a step floor for small data and
# per-epoch BatchNorm statistics on top of this loop.

# %%
import copy

import pandas as pd
import torch
import torch.nn.functional as F

from tlworkbench.experiments.fine_tuning import exercises as ft_exercises

loop = ft_exercises.LOOP
net = tlw.load_model("small_cnn", num_classes=10, seed=loop["seed"])
twin = copy.deepcopy(net)  # the same start, for fit
loop_train, loop_test = ft_exercises.loop_data(net)
images, labels = net.transforms(loop_train.images), loop_train.targets  # normalised images, labels

# %% tags=["hand_loop"]
lr, epochs, batch_size, seed = loop["lr"], loop["epochs"], loop["batch_size"], loop["seed"]
torch.manual_seed(seed)
optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
net.train()
losses = []
for epoch in range(epochs):
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    total = 0.0
    for first in range(0, len(labels), batch_size):
        batch = order[first:first + batch_size]
        loss = F.cross_entropy(net(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    losses.append(total / len(labels))
net.eval()

# %%
history = ft_exercises.fit_like_the_loop(twin, loop_train, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed)
fit_losses = history.frame.query("split == 'train'")["loss"].tolist()
largest_difference = max((a - b).abs().max().item() for a, b in zip(net.state_dict().values(),
                                                                     twin.state_dict().values())
                         if a.is_floating_point())
pd.DataFrame({"hand-written loop": [tlw.evaluate(net, loop_test).accuracy, losses[-1]],
              "tlw.fit": [tlw.evaluate(twin, loop_test).accuracy, fit_losses[-1]]},
             index=["test accuracy", "last epoch's training loss"]).assign(
    **{"largest weight difference": [largest_difference, largest_difference]})

# %%
ax = plt.figure(figsize=(6, 3)).gca()
ax.plot(range(1, epochs + 1), losses, "o-", label="hand-written loop")
ax.plot(range(1, epochs + 1), fit_losses, "x--", label="tlw.fit")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend();

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to change one thing, predict what happens, and run it. Write your
# prediction down before you run a cell. The last line of each cell checks the result:
# `sheet.check(key, answer)` says "Right:" and why, or "Not yet:" and where to look. Try a wrong
# answer too.

# %%
from tlworkbench.exercises import exercise_sheet

sheet = exercise_sheet(ft_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · freeze_to
#
# `tlw.freeze_to(model, 8)` freezes the first eight groups (stem to stage7). How many parameters
# still train?

# %%
frozen8 = tlw.load_model("efficientnet_lite0", num_classes=10, image_size=prof.image_size)
tlw.freeze_to(frozen8, 8)
sheet.check("freeze_to", tlw.count_parameters(frozen8)[0])

# %% [markdown]
# ### Exercise 2 · A learning rate ten times higher
#
# Change `lr` in the loop above from 0.05 to 0.5 (or run the same recipe through `fit` as below).
# Predict the test accuracy after the same ten epochs.

# %%
accuracy_high = ft_exercises.loop_accuracy(0.5)
sheet.check("rate_too_high", accuracy_high)
