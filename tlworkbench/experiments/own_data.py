"""Notebook 10, your own data: the whole path from a folder of images (or a CSV of texts) to a saved model.

The steps a practitioner takes, each through the package:

1. look at the data (:func:`audit_data`): files per class and split, files that cannot be read,
   exact duplicates (within a split, and test files that copy a training file);
2. split (:func:`load_own_data`): a folder with ``train/`` and ``test/`` (or ``val/``) keeps its
   split; otherwise a stratified 80/20 split; a validation split is carved from training;
3. pick a backbone by its transferability scores on the training data
   (:func:`~tlworkbench.selection.rank_models`, LogME first), never looking at test;
4. a linear probe, its penalty chosen on validation; then a fine-tune, its learning rate from the
   range test (:func:`~tlworkbench.training.lr_find`, Smith 2017), training batches augmented
   (``fit(augment=True)``), the best epoch on validation;
5. evaluate both on test; the model kept is the one better on validation.

Files named ``<item>_<n>.<ext>`` count as views of one item (the emoji set, the default, draws
each emoji in several styles): the interval of the difference between the two arms is paired over
the test items, so that views of one item are not counted as independent evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._validate import check_int, check_type
from ..config import Profile, get_profile, resolve_progress
from ..data import image_keys, load_image_folder, load_text_csv, split_indices, validation_split
from ..diagnostics import PairedDifference, paired_difference
from ..errors import DataError
from ..evaluation import Evaluation, evaluate
from ..selection import Candidate, candidate_image_size, rank_models
from ..training import WEIGHT_DECAY_GRID, choose_on_validation, fit, lr_find
from ..zoo import get_spec, load_model
from ._memo import memoized
from .own_data_sets import _presplit, audit_data, default_data, item_of

__all__ = ["IMAGE_CANDIDATES", "TEXT_CANDIDATES", "TEST_FRACTION", "VAL_FRACTION", "LOAD_SIZE", "OwnDataResult",
           "audit_data", "load_own_data", "split_by_item", "FINE_TUNE_FROM", "MAX_LR", "image_size_for", "item_of",
           "conclude", "default_data", "run_own_data"]

IMAGE_CANDIDATES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
TEXT_CANDIDATES = ("minilm", "minilm_sre")
TEST_FRACTION = 0.2
VAL_FRACTION = 0.2
#: The side images are read at (each model's transform then resizes them to its own input size).
LOAD_SIZE = {"quick": 96, "full": 260}
#: Steps of the learning-rate range test, and its batch size.
LR_FIND_STEPS = {"quick": 24, "full": 100}
_LR_FIND_BATCH = 32
#: The group the fine-tune trains from: the top stages on a CPU (the stem and early stages, whose large
#: feature maps make most of the backward pass, stay frozen), every group in the full profile.
FINE_TUNE_FROM = {"quick": "stage6", "full": None}
#: The range test's suggestion is capped here: fine-tuning every group of EfficientNet-Lite1 at 64 px
#: on the emoji set at lr 1e-2 (a suggestion of 1.5e-2, capped at 1e-2) sent the validation loss to 24.
MAX_LR = 3e-3


def image_size_for(name: str, profile: str | Profile | None = None) -> int:
    """A candidate's input side: the profile's in the quick profile (64 px), the card's native one in full."""
    prof = get_profile(profile)
    spec = get_spec(name)
    if spec.modality != "image" or prof.name == "full":
        return int(spec.input_size)
    return candidate_image_size(name, profile=prof)


def load_own_data(path: str | Path, *, profile: str | Profile | None = None,
                  seed: int = 0) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """``(train, test, train_items, test_items)`` of one's own data, with the item of each example.

    A folder with ``train/`` and ``test/`` keeps its split; a flat folder or a CSV is split 80/20,
    stratified, by ``seed`` (a test copy of a training example is dropped). Images are read at
    :data:`LOAD_SIZE` of the profile, in colour when any image has colour.
    """
    prof = get_profile(profile)
    root = Path(path).expanduser()
    audit = audit_data(root)["files"]
    ok = audit[audit["readable"]]
    if root.is_file():
        data = load_text_csv(root, split="all", name=root.stem)
        items = ok["item"].to_numpy()
    elif _presplit(root):
        size = LOAD_SIZE[prof.name]
        parts = [load_image_folder(root, size=size, split=s, name=root.name) for s in ("train", "test")]
        items = [ok[ok["split"] == s]["item"].to_numpy() for s in ("train", "test")]
        return parts[0], parts[1], items[0], items[1]
    else:
        data = load_image_folder(root, size=LOAD_SIZE[prof.name], split="all", name=root.name)
        items = ok["item"].to_numpy()
    if len(items) != len(data):  # a loader that dropped rows the audit kept: each example is its own item
        items = np.arange(len(data)).astype(str)
    labels = data.targets.numpy()
    keys = data.texts if root.is_file() else image_keys(data.images.numpy())
    idx = {s: split_indices(labels, s, test_fraction=TEST_FRACTION, seed=seed, keys=keys) for s in ("train", "test")}
    return (data.subset(idx["train"], name=f"{data.domain}:train"),
            data.subset(idx["test"], name=f"{data.domain}:test"),
            items[idx["train"]], items[idx["test"]])


def split_by_item(dataset: Any, items: np.ndarray, *, fraction: float = VAL_FRACTION, seed: int = 0) -> tuple[Any, Any]:
    """``(train, val)`` carved from a training set with every view of an item on one side.

    Where each example is its own item this is :func:`~tlworkbench.data.validation_split`. Where
    items have several views (an emoji in several styles), a view in validation whose item trains
    would flatter validation; so, as ``validation_split`` does with examples, each class gives
    ``round(fraction * items)`` of its items (at least one, keeping one) to validation.

    Raises:
        DataError: a class with fewer than 2 items.
    """
    items = np.asarray(items)
    if len(items) != len(dataset):
        raise DataError(f"split_by_item got {len(items)} items for {len(dataset)} examples.")
    if len(np.unique(items)) == len(items):
        return validation_split(dataset, fraction=fraction, seed=seed)
    labels = dataset.targets.numpy()
    rng = np.random.default_rng(seed)
    val_items = []
    for c in np.unique(labels):
        own = np.unique(items[labels == c])
        if len(own) < 2:
            raise DataError(f"Class {dataset.classes[c]!r} has {len(own)} item; a validation split needs 2.")
        k = min(max(int(round(fraction * len(own))), 1), len(own) - 1)
        val_items.extend(rng.permutation(own)[:k])
    in_val = np.isin(items, val_items)
    return (dataset.subset(np.flatnonzero(~in_val), name=f"{dataset.name}:train"),
            dataset.subset(np.flatnonzero(in_val), name=f"{dataset.name}:val"))


@dataclass
class OwnDataResult:
    """What notebook 10 shows.

    Attributes:
        data: the folder or CSV read.
        modality: ``"image"`` or ``"text"``.
        audit: :func:`audit_data`'s tables.
        classes: the class names.
        sizes: examples in ``train``, ``val``, ``test``, and test ``items``.
        ranking: :func:`~tlworkbench.selection.rank_models`'s table (training data only).
        chosen: the backbone picked (best LogME).
        image_size: its input side.
        lr_find: the range test's ``lrs``, ``losses``, ``suggestion``.
        probe_choice: validation accuracy per probe penalty.
        history: the fine-tune's history frame.
        table: one row per arm: ``arm``, ``setting``, ``val_accuracy``, ``test_accuracy``,
            ``n_test``, ``seconds``.
        difference: fine-tuned minus probe test accuracy, paired over the test items.
        evaluations: test :class:`~tlworkbench.evaluation.Evaluation` per arm.
        kept: the arm kept (better on validation).
        state: the kept model's weights (CPU tensors); :meth:`model` rebuilds it.
        test_images: the test images (uint8 ``(N, C, H, W)``, images only) for the plots.
        augment: the augmentation the fine-tune used.
        seconds: the experiment's wall time.
    """

    data: str
    modality: str
    audit: dict[str, pd.DataFrame]
    classes: list[str]
    sizes: dict[str, int]
    ranking: pd.DataFrame
    chosen: str
    image_size: int
    lr_find: dict[str, Any]
    probe_choice: pd.DataFrame
    history: pd.DataFrame
    table: pd.DataFrame
    difference: PairedDifference
    evaluations: dict[str, Evaluation]
    kept: str
    state: dict[str, torch.Tensor] = field(repr=False)
    test_images: Any = field(repr=False, default=None)
    augment: str = "none"
    seconds: float = 0.0

    @property
    def conclusion(self) -> str:
        """:func:`conclude` of this result."""
        return conclude(self)

    @property
    def summary(self) -> pd.DataFrame:
        """The headline table: one row per arm."""
        return self.table

    def model(self) -> Any:
        """The kept model, rebuilt from its zoo card with its weights, classes and transforms."""
        model = load_model(self.chosen, num_classes=len(self.classes), classes=self.classes,
                           image_size=self.image_size if self.modality == "image" else None, weights=None)
        model.load_state_dict(self.state)
        model.metrics = {"test_accuracy": float(self.table.set_index("arm").at[self.kept, "test_accuracy"]),
                         "n_test": int(self.sizes["test"]), "arm": self.kept}
        return model.eval()


def conclude(result: OwnDataResult) -> str:
    """The notebook's conclusion, computed from the result's table and interval."""
    t = result.table.set_index("arm")
    d = result.difference
    verdict = {"a better": "the fine-tune is better on test",
               "b better": "the probe is better on test"}.get(d.verdict, "the difference on test is inconclusive")
    return (f"{result.chosen} ranked first by LogME among {len(result.ranking)} candidates. On "
            f"{result.sizes['test']} test examples ({result.sizes['items']} items) the linear probe reached "
            f"{t.at['linear probe', 'test_accuracy']:.3f} and the fine-tune"
            f"{' with augmentation' if result.augment != 'none' else ''} "
            f"{t.at['fine-tune', 'test_accuracy']:.3f}: difference {d}, so {verdict}. The model kept is the "
            f"{result.kept}, better on validation ({t.at[result.kept, 'val_accuracy']:.3f}).")


def _candidates(modality: str, profile: Profile) -> list[Candidate]:
    names = IMAGE_CANDIDATES if modality == "image" else TEXT_CANDIDATES
    return [Candidate(n, n, "default", image_size_for(n, profile) if modality == "image" else None) for n in names]


def run_own_data(*, profile: str | Profile | None = None, seed: int = 0, data: str | Path | None = None,
                 progress: bool | None = None) -> OwnDataResult:
    """Run notebook 10's path on ``data`` (default: :func:`~.own_data_sets.default_data`, the emoji
    set written as a folder, or animal-mnist's where the emoji font is absent).

    Args:
        profile: run profile (quick: 64 px, a 24-step range test; full: native sizes).
        seed: seeds the split, the heads and training.
        data: a folder (one sub-folder per class) or a CSV of texts; ``None``: the default folder.
        progress: progress bars (``None``: in Jupyter only).

    Raises:
        MissingAssetError: ``data`` does not exist, or (``data=None``) no default set is installed.
        DataError: fewer than two classes, or classes too small to split.
    """
    prof = get_profile(profile)
    seed = check_int(seed, "seed", "run_own_data")
    if data is None:
        data = default_data(profile=prof, seed=seed).path
    check_type(data, "data", "run_own_data", (str, Path), "a folder or a CSV file")
    # the folder resolved is the key of the stored result: the emoji set and its fallback never share one
    return _run(profile=prof.name, seed=seed, data=str(data), progress=progress)


@memoized
def _run(*, profile: str, seed: int, data: str, progress: bool | None = None) -> OwnDataResult:
    t0 = time.perf_counter()
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    audit = audit_data(data)
    train_all, test, train_items, test_items = load_own_data(data, profile=prof, seed=seed)
    modality = train_all.modality
    train, val = split_by_item(train_all, train_items, fraction=VAL_FRACTION, seed=seed)
    ranking = rank_models(_candidates(modality, prof), train, sort_by="logme",
                          seed=seed, profile=prof, progress=progress)
    chosen = str(ranking.iloc[0]["model"])
    size = int(ranking.iloc[0]["image_size"]) if modality == "image" else None
    classes = list(train.classes)

    def fresh() -> Any:
        return load_model(chosen, num_classes=len(classes), classes=classes, image_size=size, seed=seed)

    # the probe: its penalty chosen on validation
    t = time.perf_counter()

    def probe(wd: float) -> tuple[float, Any]:
        m = fresh()
        h = fit(m, train, val, strategy="linear_probe", weight_decay=wd, seed=seed, profile=prof, progress=progress)
        return float(h.best_accuracy), m

    choice = choose_on_validation(probe, WEIGHT_DECAY_GRID, name="weight_decay", progress=progress)
    probe_model, probe_seconds = choice.output, time.perf_counter() - t
    # the fine-tune: the range test's rate, augmented batches, the best epoch on validation
    t = time.perf_counter()
    model = fresh()
    top = FINE_TUNE_FROM[prof.name] if modality == "image" else None
    found = lr_find(model, train, num_steps=LR_FIND_STEPS[prof.name], batch_size=_LR_FIND_BATCH, end_lr=1.0,
                    from_group=top, seed=seed, profile=prof, progress=progress)
    lr = float(np.clip(found.suggestion, 1e-5, MAX_LR))
    augment = "none" if modality == "text" else ("light" if prof.name == "quick" else "standard")
    history = fit(model, train, val, strategy="two_stage", epochs=prof.epochs, head_epochs=1, lr=lr, seed=seed,
                  from_group=top,
                  augment=None if augment == "none" else augment, profile=prof, progress=progress)
    tune_seconds = time.perf_counter() - t
    evaluations = {"linear probe": evaluate(probe_model, test), "fine-tune": evaluate(model, test)}
    val_acc = {"linear probe": float(choice.score), "fine-tune": float(history.best_accuracy)}
    table = pd.DataFrame([
        {"arm": "linear probe", "setting": f"weight decay {choice.best:g} (on validation)",
         "val_accuracy": val_acc["linear probe"], "test_accuracy": evaluations["linear probe"].accuracy,
         "n_test": len(test), "seconds": probe_seconds},
        {"arm": "fine-tune", "setting": f"two-stage, lr {lr:.2g} (range test), augment {augment}, "
                                        f"best epoch {history.best_epoch} (on validation)",
         "val_accuracy": val_acc["fine-tune"], "test_accuracy": evaluations["fine-tune"].accuracy,
         "n_test": len(test), "seconds": tune_seconds},
    ])
    per_item = pd.DataFrame({"item": test_items,
                             "tune": evaluations["fine-tune"].y_pred == evaluations["fine-tune"].y_true,
                             "probe": evaluations["linear probe"].y_pred == evaluations["linear probe"].y_true})
    per_item = per_item.groupby("item")[["tune", "probe"]].mean()
    difference = paired_difference(per_item["tune"].to_numpy(), per_item["probe"].to_numpy(), unit="",
                                   names=("fine-tune", "probe"))
    kept = "fine-tune" if val_acc["fine-tune"] > val_acc["linear probe"] else "linear probe"
    keep = model if kept == "fine-tune" else probe_model
    return OwnDataResult(
        data=str(data), modality=modality, audit=audit, classes=classes,
        sizes={"train": len(train), "val": len(val), "test": len(test), "items": len(per_item)},
        ranking=ranking, chosen=chosen, image_size=size or 0,
        lr_find={"lrs": found.lrs, "losses": found.losses, "suggestion": found.suggestion, "lr": lr},
        probe_choice=choice.table,
        history=history.frame, table=table, difference=difference, evaluations=evaluations, kept=kept,
        state={k: v.detach().cpu().clone() for k, v in keep.state_dict().items()},
        test_images=test.images if modality == "image" else None, augment=augment,
        seconds=time.perf_counter() - t0)

