"""The two arms of notebook 01 (and of the tour's comparison), and the data they share.

* The probe: :func:`~tlworkbench.training.fit_probe` on frozen ImageNet features, its penalty
  chosen from :data:`~tlworkbench.training.WEIGHT_DECAY_GRID` on the validation part of its label
  budget (:func:`tune_probe`).
* Scratch: the workbench's small CNN trained from a random initialisation at the targets' own
  28 px, its learning rate chosen on the same validation part and its epoch too (``fit`` keeps
  the weights of the best validation epoch), for :func:`scratch_steps` optimiser steps
  (:func:`tune_scratch`).

Both arms read one pool of training images and one test set per target, decoded once
(:func:`target_data`); a label budget is a set of pool indices (:func:`budget_indices`), so the
probe indexes its rows out of the pool's features, computed once and cached on disk, and the
small CNN trains on a view of the same tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..._validate import check_int
from ...config import Profile, data_home, get_profile
from ...data import ImageDataset, load_dataset, missing_datasets, stratified_split, subsample, validation_split
from ...features import FeatureCache
from ...training import LR_GRID, WEIGHT_DECAY_GRID, GridChoice, choose_on_validation, epochs_for_steps, fit
from ...training import fit_probe, probe_accuracy
from ...training.probe import WEIGHT_DECAY
from ...zoo import TransferModel, load_model

__all__ = [
    "BACKBONE",
    "TARGETS",
    "PER_CLASS",
    "QUICK_TARGETS",
    "QUICK_PER_CLASS",
    "QUICK_LR_GRID",
    "SCRATCH_MIN_EPOCHS",
    "VAL_FRACTION",
    "N_TEST",
    "SCRATCH_MODEL",
    "SCRATCH_BATCH",
    "SCRATCH_IMAGE_SIZE",
    "targets_for",
    "missing_sets",
    "missing_line",
    "missing_targets",
    "budgets_for",
    "lr_grid_for",
    "feature_cache",
    "scratch_steps",
    "scratch_epochs",
    "target_data",
    "budget_indices",
    "tune_probe",
    "fixed_probe",
    "train_scratch",
    "tune_scratch",
    "PROBE",
    "SCRATCH",
    "FALLBACK",
    "pool_size",
]

BACKBONE = "efficientnet_lite0"
#: The targets of the full profile.
TARGETS = ("animal_mnist", "fashion_mnist", "mnist")
#: The targets of the quick profile: the nearest to ImageNet and the farthest, as their 5-NN
#: accuracy on frozen features against raw pixels ranks them (:func:`target_distance`).
QUICK_TARGETS = ("animal_mnist", "mnist")
#: The label budgets of the full profile, in labelled examples per class.
PER_CLASS = (1, 5, 10, 50, 100)
#: The label budgets of the quick profile: one per decade.
QUICK_PER_CLASS = (1, 10, 100)
#: The learning rates the small CNN chooses from in the quick profile (the full profile uses all
#: of :data:`~tlworkbench.training.LR_GRID`). On the three targets at 10 and 100 labels per class
#: (seed 0), the best validation accuracy over ``LR_GRID`` was always reached by 3e-3 or 1e-2
#: (1e-3 tied with 3e-3 twice at 10 labels per class; 3e-4 was never the best).
QUICK_LR_GRID = (3e-3, 1e-2)
#: The fewest epochs the small CNN trains. At 100 labels per class (800 training images, seed 0,
#: lr 1e-2), 450 steps (18 epochs) left test accuracy 1.2 (animal_mnist) and 2.8 points
#: (fashion_mnist) below 900 steps (36 epochs); 1,350 steps changed it by +0.6, -1.2 and -0.4 points
#: on the three targets. At 1 and 10 labels per class the steps of :func:`scratch_steps` are
#: 80 epochs or more already (doubling them changed test accuracy by -2 to +4 points, validation
#: accuracy not at all).
SCRATCH_MIN_EPOCHS = 36
#: The validation share of every label budget (:func:`~tlworkbench.data.validation_split`).
VAL_FRACTION = 0.2
#: Test images per target: a stratified subset, the same for every arm, budget and seed.
N_TEST = 500

SCRATCH_MODEL = "small_cnn"
SCRATCH_BATCH = 32
SCRATCH_IMAGE_SIZE = 28  # the targets' own resolution: no upsampling for the small CNN

#: The strategy names of the two arms in the tables.
PROBE = "linear_probe"
SCRATCH = "scratch"
#: What a budget without a validation part uses when no larger budget was run either.
FALLBACK = {"weight_decay": WEIGHT_DECAY, "lr": 3e-3}


def pool_size(per_class: Sequence[int], num_classes: int = 10) -> int:
    """Training images the label budgets are drawn from: one and a half times the largest budget."""
    return int(max(per_class) * num_classes * 1.5)


def missing_sets(names: Sequence[str]) -> dict[str, str]:
    """The sets among ``names`` that cannot be loaded here, each with the command that installs it.

    A shifted domain (``"mnist+blur0.5"``) counts as its data set; availability is
    :func:`~tlworkbench.data.missing_datasets` (the Debian data packages, for
    one, may be absent on a machine without root).
    """
    sets = {name: name.partition("+")[0] for name in names}
    missing = missing_datasets(sets.values())
    return {name: missing[base] for name, base in sets.items() if base in missing}


def missing_line(missing: dict[str, str]) -> str:
    """One sentence that names the sets left out and how to install them (empty when none is)."""
    if not missing:
        return ""
    first = next(iter(missing)).partition("+")[0]
    return ("Left out, not installed here: " + "; ".join(f"{name} ({install})" for name, install in missing.items())
            + f". Without root, tlw.load_dataset({first!r}) says where to copy the files.")


def missing_targets(profile: str | Profile | None = None) -> dict[str, str]:
    """The profile's targets that are not installed here, with their install commands."""
    return missing_sets(QUICK_TARGETS if get_profile(profile).name == "quick" else TARGETS)


def targets_for(profile: str | Profile | None = None) -> tuple[str, ...]:
    """The targets of a profile that are installed here: :data:`QUICK_TARGETS` or :data:`TARGETS`,
    less :func:`missing_targets` (``fashion_mnist`` needs a Debian package)."""
    names = QUICK_TARGETS if get_profile(profile).name == "quick" else TARGETS
    missing = missing_sets(names)
    return tuple(n for n in names if n not in missing)


def budgets_for(profile: str | Profile | None = None) -> tuple[int, ...]:
    """The label budgets of a profile: :data:`QUICK_PER_CLASS` or :data:`PER_CLASS`."""
    return QUICK_PER_CLASS if get_profile(profile).name == "quick" else PER_CLASS


def lr_grid_for(profile: str | Profile | None = None) -> tuple[float, ...]:
    """The small CNN's learning rates: :data:`QUICK_LR_GRID` or :data:`~tlworkbench.training.LR_GRID`."""
    return QUICK_LR_GRID if get_profile(profile).name == "quick" else LR_GRID


def feature_cache() -> FeatureCache:
    """One feature cache for the notebooks and their tests, on disk under ``TLW_DATA/features``."""
    return FeatureCache(data_home() / "features")


def scratch_steps(per_class: int) -> int:
    """Optimizer steps for the from-scratch baseline at ``per_class`` labels per class.

    200 steps plus 5 per label per class, at most 450. Measured on ``animal_mnist`` (seed 0,
    32 px): at 10 labels per class a small CNN reaches .65 after 100 steps, .74 after 300 and
    .73 after 600; at 100 labels per class .81, .90 and .93. At 28 px, 450 steps reach .934 and
    600 steps .932. A baseline trained too briefly would flatter the transfer, so the steps
    grow with the budget until the accuracy stops rising; the epochs that give them follow from
    :func:`~tlworkbench.training.epochs_for_steps`.
    """
    return min(450, 200 + 5 * check_int(per_class, "per_class", "scratch_steps", minimum=1))


def scratch_epochs(n_train: int, per_class: int) -> int:
    """Epochs of the small CNN over ``n_train`` images: :func:`scratch_steps` steps and at least
    :data:`SCRATCH_MIN_EPOCHS` epochs, where its accuracy stopped rising."""
    return max(SCRATCH_MIN_EPOCHS, epochs_for_steps(n_train, steps=scratch_steps(per_class), batch_size=SCRATCH_BATCH))


def target_data(target: str, model: TransferModel, *, pool: int, n_test: int = N_TEST,
                profile: str | Profile | None = None) -> tuple[ImageDataset, ImageDataset]:
    """A target's pool of training images (the label budgets are drawn from it) and its test set.

    Both are stratified subsets drawn with seed 0, read through ``model``'s transforms; another
    model reads the same tensors through :meth:`~tlworkbench.data.ImageDataset.with_transform`.
    """
    prof = get_profile(profile)
    train = load_dataset(target, split="train", transform=model, profile=prof)
    test = load_dataset(target, split="test", transform=model, profile=prof)
    if len(train) > pool:
        train = train.subset(stratified_split(train.targets.numpy(), pool, seed=0))
    if len(test) > n_test:
        test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=0))
    return train, test


class _Indices:
    """Stands in for a data set in :func:`subsample` and :func:`validation_split`: a subset is
    the indices it picks."""

    def __init__(self, labels: np.ndarray, classes: Sequence[str]) -> None:
        self.targets = torch.as_tensor(labels)
        self.classes = list(classes)
        self.name = "pool"

    def subset(self, indices: Any, *, name: str | None = None) -> np.ndarray:
        return np.asarray(indices, dtype=np.int64)


def budget_indices(labels: np.ndarray, classes: Sequence[str], *, per_class: int, seed: int,
                   fraction: float = VAL_FRACTION) -> tuple[np.ndarray, np.ndarray | None]:
    """Pool indices of a label budget's training part and validation part.

    ``per_class`` examples of every class are drawn with ``seed`` (:func:`subsample`, nested
    across budgets), and a stratified ``fraction`` of them is set aside for validation
    (:func:`validation_split` with the same seed). One label per class leaves nothing to set
    aside: the validation part is ``None`` and every choice comes from elsewhere.
    """
    labels = np.asarray(labels)
    chosen = subsample(_Indices(labels, classes), per_class=per_class, seed=seed)
    if per_class < 2:
        return chosen, None
    train, val = validation_split(_Indices(labels[chosen], classes), fraction=fraction, seed=seed)
    return chosen[train], chosen[val]


def fixed_probe(features: torch.Tensor, labels: torch.Tensor, *, weight_decay: float, num_classes: int,
                seed: int = 0) -> torch.nn.Linear:
    """The probe with a given penalty (a converged L-BFGS logistic regression)."""
    return fit_probe(features, labels, num_classes=num_classes, weight_decay=weight_decay, seed=seed)


def tune_probe(train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor], *,
               num_classes: int, seed: int = 0, grid: Sequence[float] = WEIGHT_DECAY_GRID) -> GridChoice:
    """The probe's penalty chosen on validation features; the chosen probe is the choice's ``output``."""

    def run(weight_decay: float) -> tuple[float, torch.nn.Linear]:
        probe = fixed_probe(*train, weight_decay=weight_decay, num_classes=num_classes, seed=seed)
        return probe_accuracy(probe, *val), probe

    return choose_on_validation(run, tuple(grid), name="weight_decay", progress=False)


def train_scratch(train: ImageDataset, val: ImageDataset | None, *, per_class: int, lr: float,
                  seed: int) -> tuple[float, TransferModel]:
    """The small CNN from scratch on ``train`` for :func:`scratch_epochs` epochs at ``lr``.

    With ``val``, the weights of the best validation epoch are kept and their validation
    accuracy is returned; without it, the last epoch's weights and NaN.
    """
    model = load_model(SCRATCH_MODEL, num_classes=len(train.classes), image_size=SCRATCH_IMAGE_SIZE, seed=seed)
    # channels-last convolutions trained this network 1.4x faster on the CPU, to the same accuracy
    model.to(memory_format=torch.channels_last)
    history = fit(model, train.with_transform(model), None if val is None else val.with_transform(model),
                  strategy="scratch", epochs=scratch_epochs(len(train), per_class), lr=lr, batch_size=SCRATCH_BATCH,
                  seed=seed, progress=False)
    score = float("nan") if val is None else float(history.best_accuracy)
    return score, model


def tune_scratch(train: ImageDataset, val: ImageDataset, *, per_class: int, seed: int,
                 grid: Sequence[float] = QUICK_LR_GRID) -> GridChoice:
    """The small CNN's learning rate chosen on ``val``; the chosen model is the choice's ``output``."""
    return choose_on_validation(lambda lr: train_scratch(train, val, per_class=per_class, lr=lr, seed=seed),
                                tuple(grid), name="lr", progress=False)
