"""The zero-shot half of notebook 06: classes recognised from a one-sentence description.

The classes are Fashion-MNIST's, or, where its files are absent, animal_mnist's ten animals
(:data:`ANIMAL_DESCRIPTIONS`); :func:`descriptions_for` gives each set's sentences.

Images are EfficientNet-Lite0's frozen ImageNet features; each class's description is embedded by
the MiniLM sentence encoder (zoo model ``minilm``). Over several splits of the ten classes into
seven seen and three unseen, a ridge map from features to description embeddings
(:class:`~tlworkbench.few_shot.ZeroShotHead`) is trained on the training images of the seen
classes only; the test images of the unseen classes are then classified among the three unseen
descriptions. Its penalty is chosen on the seen classes alone: in each of :data:`VAL_FOLDS` folds,
three seen classes play the unseen ones and the map trains on the other four.

Controls: chance (one in three), and the same protocol with the descriptions shuffled among the
classes (:data:`N_SHUFFLES` draws per split), which keeps every sentence but breaks its link to the
images. Generalised zero-shot: every test image, seen or unseen, is classified among all ten
descriptions; the seen and unseen accuracies (mean per class) are summarised by their harmonic
mean (Xian et al. 2018), as they are and with calibrated stacking (Chao et al., "An empirical study
and analysis of generalized zero-shot learning", 2016): a constant is taken off the scores of the
seen classes, chosen on the same validation folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..._validate import check_choice
from ...config import Profile, get_profile
from ...data import TextDataset, load_dataset
from ...features import extract_features
from ...few_shot import ZeroShotHead, harmonic_mean, per_class_accuracy
from ...training import choose_on_validation
from ...zoo import load_model
from ..feature_extraction import BACKBONE, feature_cache

__all__ = ["DESCRIPTIONS", "ANIMAL_DESCRIPTIONS", "descriptions_for", "TEXT_MODEL", "N_SPLITS", "N_UNSEEN", "VAL_FOLDS", "N_SHUFFLES", "ALPHA_GRID",
           "CALIBRATION_GRID", "N_MAP_TRAIN", "zero_shot_data", "zero_shot_splits", "choose_alpha", "zero_shot_runs"]

#: One sentence per Fashion-MNIST class, written from what the garment is, not from the images.
DESCRIPTIONS = {
    "T-shirt/top": "A short-sleeved casual top of thin cotton, pulled over the head and worn on the upper body.",
    "Trouser": "Long trousers with two legs that cover the body from the waist down to the ankles.",
    "Pullover": "A warm knitted sweater with long sleeves, pulled on over the head.",
    "Dress": "A one-piece garment for women that covers the body and hangs down over the legs.",
    "Coat": "A heavy outer garment with long sleeves and buttons down the front, worn outdoors in cold weather.",
    "Sandal": "An open summer shoe made of a sole held to the foot by thin straps.",
    "Shirt": "A buttoned top with a collar and sleeves, worn on the upper body.",
    "Sneaker": "A low sports shoe with a rubber sole and laces, worn for running.",
    "Bag": "A handbag or purse with handles, used to carry things.",
    "Ankle boot": "A sturdy shoe that covers the foot and rises just above the ankle.",
}
#: One sentence per animal_mnist class, written from what the animal is, not from the silhouettes.
ANIMAL_DESCRIPTIONS = {
    "bear": "A large heavy wild animal with thick fur, a short tail and strong legs, that walks on the soles "
            "of its feet.",
    "bird": "A small animal with feathers, two wings, two thin legs and a beak, that can fly.",
    "cat": "A small furry pet with pointed ears, whiskers and a long tail, that hunts mice.",
    "cow": "A large farm animal with a heavy body on four legs and small horns, kept for its milk.",
    "dog": "A loyal pet with four legs, a wagging tail and a keen nose, that barks.",
    "elephant": "A huge grey animal with a long trunk, large flapping ears and tusks.",
    "giraffe": "A very tall animal with a very long neck and long legs, that eats leaves from the tops of trees.",
    "horse": "A large strong animal with a long face, a mane and hooves, that people ride.",
    "sheep": "A farm animal with a thick woolly coat, kept for its wool.",
    "zebra": "A wild African animal like a horse, with black and white stripes.",
}
_DESCRIPTIONS = {"fashion_mnist": DESCRIPTIONS, "animal_mnist": ANIMAL_DESCRIPTIONS}
TEXT_MODEL = "minilm"
N_SPLITS = 8
N_UNSEEN = 3
VAL_FOLDS = 2
N_SHUFFLES = 20
#: Ridge penalties (on standardised features); the map's targets are unit-scale sentence embeddings.
ALPHA_GRID = (10.0, 100.0, 1000.0, 10000.0)
#: Constants taken off the seen classes' cosines in calibrated stacking.
CALIBRATION_GRID = tuple(np.round(np.arange(0.0, 0.51, 0.05), 2))
#: Training images of the map: a stratified subset of the training split.
N_MAP_TRAIN = 1500
_SEED = 0


def descriptions_for(name: str) -> dict[str, str]:
    """The class descriptions of the zero-shot set ``name`` (``"fashion_mnist"`` or ``"animal_mnist"``)."""
    return dict(_DESCRIPTIONS[check_choice(name, "name", "descriptions_for", tuple(_DESCRIPTIONS))])


def zero_shot_data(profile: str | Profile | None = None, *, name: str = "fashion_mnist",
                   progress: bool | None = None) -> dict[str, Any]:
    """ImageNet features of the set ``name`` (training subset and test) and the MiniLM embeddings
    of its class descriptions (:func:`descriptions_for`)."""
    prof = get_profile(profile)
    described = descriptions_for(name)
    model = load_model(BACKBONE, num_classes=len(described), image_size=prof.image_size)
    train = load_dataset(name, split="train", transform=model, profile=prof,
                         max_size=N_MAP_TRAIN if prof.name == "quick" else None)
    test = load_dataset(name, split="test", transform=model, profile=prof)
    xtr, ytr = extract_features(model, train, cache=feature_cache(), progress=progress)
    xte, yte = extract_features(model, test, cache=feature_cache(), progress=progress)
    text = load_model(TEXT_MODEL)
    names = list(train.classes)
    sentences = TextDataset([described[c] for c in names], np.arange(len(names)), names, name="descriptions")
    emb, _ = extract_features(text, sentences, cache=False, progress=False)
    return {"x_train": xtr.numpy(), "y_train": ytr.numpy(), "x_test": xte.numpy(), "y_test": yte.numpy(),
            "embeddings": emb.numpy(), "classes": names}


def zero_shot_splits(n_classes: int = 10, *, n_splits: int = N_SPLITS, n_unseen: int = N_UNSEEN,
                     seed: int = _SEED) -> list[np.ndarray]:
    """Distinct sets of unseen classes, drawn at random (sorted)."""
    rng = np.random.default_rng(seed)
    found: list[np.ndarray] = []
    while len(found) < n_splits:
        pick = np.sort(rng.choice(n_classes, n_unseen, replace=False))
        if not any(np.array_equal(pick, f) for f in found):
            found.append(pick)
    return found


def _unseen_accuracy(head: ZeroShotHead, x: np.ndarray, y: np.ndarray, unseen: np.ndarray,
                     emb: np.ndarray) -> float:
    mask = np.isin(y, unseen)
    return per_class_accuracy(y[mask], unseen[head.predict(x[mask], emb[unseen])])


def _gzsl(head: ZeroShotHead, x: np.ndarray, y: np.ndarray, seen: np.ndarray, candidates: np.ndarray,
          emb: np.ndarray, gamma: float) -> tuple[float, float, float]:
    """Seen accuracy, unseen accuracy and harmonic mean among ``candidates``, ``gamma`` off the seen."""
    keep = np.isin(y, candidates)
    scores = head.scores(x[keep], emb[candidates]) - gamma * np.isin(candidates, seen)
    pred, truth = candidates[scores.argmax(1)], y[keep]
    is_seen = np.isin(truth, seen)
    s, u = per_class_accuracy(truth[is_seen], pred[is_seen]), per_class_accuracy(truth[~is_seen], pred[~is_seen])
    return s, u, harmonic_mean(s, u)


def choose_alpha(data: dict[str, Any], seen: np.ndarray, *, seed: int = _SEED) -> tuple[Any, float]:
    """The ridge penalty and the calibration constant chosen on the seen classes alone.

    In each of :data:`VAL_FOLDS` folds, :data:`N_UNSEEN` seen classes are held out as pseudo-unseen
    classes; the map trains on the training images of the others and is scored on the training
    images of the pseudo-unseen classes, which it never saw, so that no test image and no unseen
    class is read. The penalty maximises the mean pseudo-unseen accuracy; the calibration
    constant, at that penalty, the mean harmonic mean of the folds.

    Returns:
        ``(choice, gamma)``: the :class:`~tlworkbench.training.GridChoice` of the penalty, and the constant.
    """
    rng = np.random.default_rng(seed)
    x, y, emb = data["x_train"], data["y_train"], data["embeddings"]
    folds = [np.sort(rng.choice(seen, N_UNSEEN, replace=False)) for _ in range(VAL_FOLDS)]
    heads: dict[float, list[ZeroShotHead]] = {}

    def run(alpha: float) -> float:
        heads[alpha] = [ZeroShotHead(alpha).fit(x[np.isin(y, np.setdiff1d(seen, f))],
                                                y[np.isin(y, np.setdiff1d(seen, f))], emb) for f in folds]
        return float(np.mean([_unseen_accuracy(h, x, y, f, emb) for h, f in zip(heads[alpha], folds)]))

    choice = choose_on_validation(run, ALPHA_GRID, name="alpha", progress=False)
    # calibrated stacking: the seen part of each fold is its training classes, scored on their own
    # training images (optimistic, as the seen classes are at test time too, which is the point)
    h_by_gamma = [np.mean([_gzsl(h, x, y, np.setdiff1d(seen, f), seen, emb, g)[2]
                           for h, f in zip(heads[choice.best], folds)]) for g in CALIBRATION_GRID]
    return choice, float(CALIBRATION_GRID[int(np.argmax(h_by_gamma))])


def zero_shot_runs(data: dict[str, Any], *, splits: Sequence[np.ndarray] | None = None,
                   n_shuffles: int = N_SHUFFLES) -> pd.DataFrame:
    """Zero-shot and generalised zero-shot accuracy per split, with the shuffled-description control.

    Returns:
        One row per split: ``split``, ``unseen`` (class names), ``alpha``, ``gamma``, ``chance``,
        ``unseen_accuracy``, ``shuffled_accuracy`` (mean over the shuffles), ``seen_gzsl``,
        ``unseen_gzsl``, ``h``, ``seen_calibrated``, ``unseen_calibrated``, ``h_calibrated``.
    """
    splits = zero_shot_splits(len(data["classes"])) if splits is None else splits
    x, y, emb = data["x_train"], data["y_train"], data["embeddings"]
    xt, yt = data["x_test"], data["y_test"]
    everyone = np.arange(len(data["classes"]))
    rows = []
    for i, unseen in enumerate(splits):
        seen = np.setdiff1d(everyone, unseen)
        choice, gamma = choose_alpha(data, seen, seed=i)
        head = ZeroShotHead(choice.best).fit(x[np.isin(y, seen)], y[np.isin(y, seen)], emb)
        rng = np.random.default_rng(1000 + i)
        shuffled = []
        for _ in range(n_shuffles):
            perm = rng.permutation(len(emb))  # class c is described by sentence perm[c], in training and test
            shuffled.append(_unseen_accuracy(head.with_embeddings(emb[perm]), xt, yt, unseen, emb[perm]))
        s, u, h = _gzsl(head, xt, yt, seen, everyone, emb, 0.0)
        sc, uc, hc = _gzsl(head, xt, yt, seen, everyone, emb, gamma)
        rows.append({"split": i, "unseen": ", ".join(data["classes"][c] for c in unseen), "alpha": choice.best,
                     "gamma": gamma, "chance": 1.0 / len(unseen),
                     "unseen_accuracy": _unseen_accuracy(head, xt, yt, unseen, emb),
                     "shuffled_accuracy": float(np.mean(shuffled)), "seen_gzsl": s, "unseen_gzsl": u, "h": h,
                     "seen_calibrated": sc, "unseen_calibrated": uc, "h_calibrated": hc})
    return pd.DataFrame(rows)
