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
# # 10 · Your own data, end to end
#
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** You have a folder of images, one sub-folder per class (or a spreadsheet of
# texts with a label column). How do you go from it to a model you can trust, save, reload,
# use on new files and hand to someone who does not use this workbench?
#
# This notebook walks the whole path on any such folder. Set `data` in the parameters cell to
# your folder (`data/<class>/<image>`, or `data/train/<class>/...` with `data/test/<class>/...`)
# or to a CSV file with `text` and `label` columns. By default it runs on a real colour image set
# that installs offline: the **Noto Color Emoji** glyphs of six Unicode subgroups (mammals,
# birds, bugs, fruit, vegetables, ground transport), each drawn in several styles. The test emoji
# are emoji never seen in training: the question is whether a model recognises an unseen mammal
# as a mammal. Where the emoji font is not installed (it comes with Debian's
# `fonts-noto-color-emoji` and `unicode-data`), the default is the animal-mnist silhouettes
# (installed with pip), written as a folder in the same layout; one line says so.
#
# The steps: **look** at the data (counts, broken files, duplicates), **split** it
# (train / validation / test), **pick a backbone** by its transferability scores, find a
# **learning rate**, train a **linear probe** and then a **fine-tune** with **data
# augmentation**, **evaluate** both on test, **save**, **reload**, **predict** new files and
# **export**.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
seed = 0
data = None  # a folder with one sub-folder per class, or a CSV of texts; None: the emoji set (or its fallback)

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.data.emoji import has_emoji
from tlworkbench.experiments import own_data as own

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
default = own.default_data(profile=prof, seed=seed) if data is None else None
if default is not None and default.note:
    print(default.note)
source = data if data is not None else default.path
emoji_set = default is not None and default.name == "emoji"  # the exercises are written for it
print(prof)
print("data:", source)

# %% [markdown]
# ## 1 · Look at the data
#
# Before any training: how many examples each class has on each side, which files cannot be
# read (they would be skipped silently by many loaders), and which files are **exact
# duplicates** of another. A test file that copies a training file makes the test easier than
# the world will be; it is dropped when the workbench splits a flat folder.

# %%
audit = own.audit_data(source)
audit["counts"]

# %%
print(f"{len(audit['files'])} files, {len(audit['broken'])} unreadable, {len(audit['duplicates'])} exact "
      f"duplicates ({int(audit['duplicates']['across_splits'].sum()) if len(audit['duplicates']) else 0} "
      "across train and test)")
audit["broken"].head(10)

# %%
audit["duplicates"].head(10)

# %% [markdown]
# ## 2 · Split, and a first look
#
# A folder with `train/` and `test/` keeps its split; a flat folder is split 80/20, stratified by
# class. A **validation split** is then carved from training, 20% of each class; every choice
# below (the probe's penalty, the fine-tune's best epoch, the model kept) is made on it, never on
# test. Files named `<item>_<n>` are views of one item (the emoji set draws each emoji several
# times): validation takes whole items, so that it does not flatter a model that memorised one.
# Where each file is its own item (the animal-mnist folder), this is a plain stratified split.
# Images are read at 96 px in the quick profile and resized to each model's input size, 64 px
# there (the backbone's native size, 224-260 px, in the full profile); colour is kept where
# there is any.

# %%
train_all, test, train_items, test_items = own.load_own_data(source, profile=prof, seed=seed)
print(train_all, test, sep="\n")
print(f"{len(set(train_items))} training items for {len(train_items)} images, {len(set(test_items))} test items "
      f"for {len(test_items)} images")
if train_all.modality == "image":
    pick = np.random.default_rng(seed).choice(len(train_all), size=min(24, len(train_all)), replace=False)
    plots.plot_samples(train_all.images[pick], labels=train_all.targets[pick].numpy(), classes=train_all.classes,
                       ncols=8)
    plt.show()
else:
    for i in range(min(5, len(train_all))):
        print(train_all.classes[int(train_all.targets[i])], "|", train_all.texts[i][:100])

# %% [markdown]
# ## 3 · The experiment: pick a backbone, find a learning rate, probe, fine-tune, evaluate
#
# `run_own_data` does each step through the package:
#
# * `tlw.rank_models` scores each candidate (EfficientNet-Lite0/1/2 with ImageNet weights) on
#   the training images alone, before any training: **LogME** (You et al., 2021), H-score, LEEP
#   and NCE. The best by LogME is used.
# * `tlw.lr_find` runs the **learning-rate range test** (Smith, 2017): the rate grows each step
#   and the loss is watched; the rate where it falls fastest is the suggestion.
# * A **linear probe** (the backbone frozen, a logistic regression on its features), its weight
#   decay chosen on validation; then a **fine-tune** (`strategy="two_stage"`: the head first, then
#   the top stages too, at the range test's rate) with **augmentation** (`fit(augment=...)`:
#   random crops and flips of each training batch; cached features and the test images are never
#   augmented). The best epoch is chosen on validation.

# %%
result = own.run_own_data(profile=profile, seed=seed, data=data)
print(f"{result.sizes}; {result.seconds:.0f} s")
result.ranking[["rank", "model", "image_size", "logme", "h_score", "leep", "nce", "score_seconds"]]

# %%
ax = plots.plot_lr_find(result.lr_find["lrs"], result.lr_find["losses"], suggestion=result.lr_find["suggestion"])
ax.set_title(f"range test on {result.chosen}: suggestion {result.lr_find['suggestion']:.2g}, "
             f"used {result.lr_find['lr']:.2g}")
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
plots.plot_history(result.history, metric="loss", ax=axes[0], label="fine-tune")
plots.plot_history(result.history, metric="accuracy", ax=axes[1], label="fine-tune")
plt.show()
result.probe_choice

# %% [markdown]
# ## 4 · Evaluate
#
# Both arms on the test set. The difference is paired over the test items (an emoji's styles
# count once; a file that is its own item counts once anyway), with a 95% t-interval; an
# interval that covers 0 is called inconclusive.

# %% tags=["summary"]
result.summary

# %%
print(result.difference)
print(result.conclusion)

# %% tags=["key_figure"]
ev = result.evaluations[result.kept]
plots.plot_confusion(ev.y_true, ev.y_pred, classes=ev.classes, xticks_rotation=45)
plt.show()
ev.per_class

# %% [markdown]
# The examples the kept model gets most confidently wrong: a wrong label in the data shows up
# here, and so does what the model has not learned.

# %%
if result.modality == "image":
    plots.plot_worst(ev, result.test_images, k=16, ncols=8)
    plt.show()
ev.worst(8)

# %% [markdown]
# ## 5 · Save, reload, predict new files
#
# `tlw.save_model` writes one file: the weights, the name of the architecture's card, the class
# names, the transforms (image size and normalisation) and the metrics, sealed with its sha256.
# `tlw.load_model(path)` checks the digest and reads it with `torch.load(weights_only=True)`, so
# a file from elsewhere cannot run code. (`torch.save(model)` would pickle the whole module.)

# %%
out = tlw.data_home() / "own_data"
model = result.model()
path = tlw.save_model(model, out / "model.pt")
reloaded = tlw.load_model(path)
print(path, f"{path.stat().st_size / 1e6:.1f} MB", reloaded.classes, reloaded.metrics, sep="\n")

# %% [markdown]
# `model.predict` reads what a user has: file paths, PIL images, numpy arrays or tensors (texts
# for a text model), resizes and normalises them as in training, and returns the class and its
# probability. Here: test files, never used in training, through the reloaded model.

# %%
files = audit["files"]
new = files[files["readable"] & files["split"].isin(["test", "all"])].groupby("class").head(2)
inputs = [str(Path(source) / f) for f in new["file"]] if result.modality == "image" else test.texts[:8]
predicted = reloaded.predict(inputs)
if result.modality == "image":
    predicted.insert(0, "true", new["class"].to_numpy())
same = np.abs(reloaded.predict_proba(inputs).to_numpy() - model.predict_proba(inputs).to_numpy()).max()
print(f"saved and reloaded models agree to {same:.1e}")
predicted

# %% [markdown]
# ## 6 · Export
#
# For use without this workbench: **ONNX** (onnxruntime, most serving stacks) or
# **torch.export** (`torch.export.load`). The graph takes normalised images (what the model reads
# after its transforms) with any batch size, and returns logits; the class names and the
# preprocessing travel in the file's metadata. The check: the exported model gives the same
# outputs as the model in memory.

# %%
import torch

x = tlw.saving.export_inputs(reloaded, batch=4)
with torch.no_grad():
    expected = reloaded(x[0] if len(x) == 1 else {"input_ids": x[0], "attention_mask": x[1]}).numpy()
program = torch.export.load(tlw.export(reloaded, out / "model.pt2", format="torch_export"))
print("torch.export: max |difference|", float(np.abs(program.module()(*x).detach().numpy() - expected).max()))
try:
    import onnxruntime
except ImportError:
    print("onnxruntime is not installed: pip install 'tlworkbench[export]'")
else:
    session = onnxruntime.InferenceSession(str(tlw.export(reloaded, out / "model.onnx", format="onnx")))
    names = [i.name for i in session.get_inputs()]
    got = session.run(None, {n: t.numpy() for n, t in zip(names, x)})[0]
    print("ONNX:         max |difference|", float(np.abs(got - expected).max()),
          "| metadata:", sorted(session.get_modelmeta().custom_metadata_map))

# %% [markdown]
# ## What to take away
#
# * The same dozen calls work on any folder of images: `tlw.load_image_folder`,
#   `tlw.rank_models`, `tlw.lr_find`, `tlw.fit(..., augment=True, val_fraction=0.2)`,
#   `tlw.evaluate`, `tlw.save_model`, `tlw.load_model(path)`, `model.predict`, `tlw.export`.
# * Decide on validation, report on test, and read the interval before the point estimate: with
#   a few dozen test items, differences of several points are often inconclusive.
# * Where files are views of items, an unseen item of a known class (a new emoji) is harder than
#   a new view of a seen one; a validation split that keeps items whole says so before the test
#   does.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to change one thing, predict what happens, and run it. Write your
# prediction down before you run a cell. The last line of each cell checks the result:
# `sheet.check(key, answer)` says "Right:" and why, or "Not yet:" and where to look. The
# exercises are written for the emoji set (`data = None` with the emoji font installed); on
# other data the cells print the measurement without checking it.

# %%
from tlworkbench.exercises import exercise_sheet
from tlworkbench.experiments import exercises_own_data as own_exercises

sheet = exercise_sheet(own_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · A stronger recipe
#
# The fine-tune used the quick profile's `"light"` recipe. Does the full profile's `"standard"`
# recipe change a training batch more or less?

# %%
if has_emoji():  # batch_change measures batches of the emoji set
    change = {recipe: own_exercises.batch_change(recipe) for recipe in ("light", "standard")}
    answer = "more" if change["standard"] > change["light"] else "less"  # your answer: "more" or "less"
else:
    change = "batch_change measures batches of the emoji set, which is not installed here"
sheet.check("standard_augmentation", answer) if emoji_set else change

# %% [markdown]
# ### Exercise 2 · Emoji never recognised
#
# How many test emoji does the kept model get wrong in every one of their styles? (On other data:
# how many test items it gets wrong in every view.)

# %%
test_files = files[files["readable"] & (files["split"] == "test")]
right = ev.y_pred == ev.y_true
never = sum(not right[(test_files["item"] == item).to_numpy()].any() for item in test_files["item"].unique())
sheet.check("never_right", int(never)) if emoji_set else never
