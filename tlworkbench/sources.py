"""Source models that the workbench pretrains itself: ``weights="tlw:<source>"``.

A small CNN trained on an offline source data set (rendered fonts, MNIST, Fashion-MNIST, animal
silhouettes, or a set with its labels shuffled) is the controlled "pretrained model" of the
negative-transfer and domain-mismatch notebooks: its source is known exactly, so how related the
source is to the target is something one can vary. The first ``load_model(...,
weights="tlw:<source>")`` trains it and caches the weights under
``TLW_DATA/sources`` with a sha256 and a card (source, epochs, seed, source accuracy); later calls
load the file. On the CPU, training runs on one torch thread: the sums of a convolution are split
differently over two threads than over one, and after four epochs the weights differ enough to
change a lesson downstream (a fine-tune from the font_digits model went from "inconclusive" to
"positive transfer" at 10 labels per class with weights trained on two threads instead of one).
With one thread, a given seed gives the same file on a machine whatever the caller's thread count,
so a deleted file is rebuilt the same there (another CPU may still round differently). The file name carries
:data:`RECIPE`, so a file trained by an older recipe is not read back.

Source keys: a data set name (``"font_digits"``), or ``"<name>:random"`` for the same images with
labels shuffled by the seed (a source that teaches nothing transferable).

:func:`provide_weights` is the ``"tlw"`` entry of the zoo's table of weights providers
(:data:`tlworkbench.zoo.WEIGHTS_PROVIDERS`); the zoo imports this module when such weights are
first asked for, and importing it registers nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ._validate import check_bool, check_int, check_optional, check_type
from .config import Profile, data_home, get_device, get_profile, limit_threads, resolve_progress
from .data import load_dataset
from .errors import UnknownDatasetError
from .evaluation import evaluate
from .training import fit
from .zoo import ModelSpec, get_spec, load_model
from .zoo.weights import read_card, save_state_dict

__all__ = ["pretrain_source", "provide_weights", "source_path", "SOURCE_EPOCHS", "RECIPE"]

SOURCE_EPOCHS = {"quick": 4, "full": 15}
#: The training recipe's version, part of every file name (2: trained on one thread on the CPU).
RECIPE = 2


def source_path(arch: str, source: str, *, seed: int = 0, epochs: int, profile: str | Profile | None = None) -> Path:
    """Where the weights of a workbench source model live in the cache."""
    prof = get_profile(profile)
    safe = source.replace(":", "-")
    return data_home() / "sources" / f"{arch}-{_layout(arch)}-{safe}-{prof.name}-e{epochs}-s{seed}-r{RECIPE}.pt"


def _layout(arch: str) -> str:
    """A short digest of the architecture's parameter shapes: a changed architecture gets a new
    cache file instead of an incompatible old one."""
    with torch.device("meta"):
        model = load_model(arch, num_classes=2, weights=None)
    shapes = ";".join(f"{k}:{tuple(v.shape)}" for k, v in model.backbone.state_dict().items())
    return hashlib.sha256(shapes.encode()).hexdigest()[:8]


def pretrain_source(arch: str, source: str, *, seed: int = 0, epochs: int | None = None,
                    profile: str | Profile | None = None, progress: bool | None = None,
                    force: bool = False) -> Path:
    """Train (or find in the cache) a source model and return the path of its weights.

    Args:
        arch: a zoo architecture without published weights (``"small_cnn"``, ``"small_resnet"``).
        source: a data set name, or ``"<name>:random"`` for shuffled labels.
        seed: initialisation, shuffling and (for ``:random``) label seed.
        epochs: training epochs (default: 4 in the quick profile, 15 in the full one).
        profile: run profile (decides the source's size).
        progress: show a progress bar; ``None``: in Jupyter only.
        force: retrain even when the file exists.

    Raises:
        InvalidParameterError: an argument of the wrong type or range.
        UnknownModelError: ``arch`` is not in the zoo.
        UnknownDatasetError: the source is not a registered data set.
        CorruptFileError: the card beside a cached file is not valid JSON.
    """
    func = "pretrain_source"
    get_spec(check_type(arch, "arch", func, str, "a zoo model name (a str)"))
    check_type(source, "source", func, str, "a data set name or '<name>:random'")
    seed = check_int(seed, "seed", func, minimum=0)
    epochs = check_optional(epochs, check_int, "epochs", func, minimum=1)
    progress = resolve_progress(progress)
    force = check_bool(force, "force", func)
    prof = get_profile(profile)
    epochs = epochs or SOURCE_EPOCHS[prof.name]
    path = source_path(arch, source, seed=seed, epochs=epochs, profile=prof)
    if path.exists() and not force and read_card(path).get("source") == source:
        return path
    name, _, variant = source.partition(":")
    if variant not in ("", "random"):
        raise UnknownDatasetError(f"Unknown source variant {variant!r} in {source!r}: use '<name>' or '<name>:random'.")
    model = load_model(arch, num_classes=2, weights=None, seed=seed)
    train = load_dataset(name, split="train", transform=model, profile=prof)
    test = load_dataset(name, split="test", transform=model, profile=prof)
    if variant == "random":
        rng = np.random.default_rng(seed)
        train.targets = torch.as_tensor(rng.permutation(train.targets.numpy()))
        test.targets = torch.as_tensor(rng.permutation(test.targets.numpy()))
    model = load_model(arch, num_classes=len(train.classes), weights=None, seed=seed)
    with limit_threads(1 if get_device().type == "cpu" else None):  # the same weights whatever the caller's threads
        history = fit(model, train, test, strategy="scratch", epochs=epochs, lr=3e-3, seed=seed, progress=progress)
        acc = evaluate(model, test).accuracy
    save_state_dict(model.state_dict(), path, card={
        "arch": arch, "source": source, "dataset": name, "labels": "shuffled" if variant else "true",
        "epochs": epochs, "seed": seed, "profile": prof.name, "num_classes": len(train.classes),
        "classes": list(train.classes), "train_size": len(train), "source_accuracy": round(float(acc), 4),
        "best_epoch": getattr(history, "best_epoch", None),
    })
    return path


def provide_weights(spec: ModelSpec, key: str, *, profile: str | Profile | None = None,
                    epochs: int | None = None, progress: bool | None = None) -> Path:
    """The weight file of ``load_model(spec.name, weights="tlw:<key>")``: :func:`pretrain_source`."""
    return pretrain_source(spec.name, key, epochs=epochs, profile=profile, progress=progress)
