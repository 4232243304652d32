"""The few-shot half of notebook 06: N-way K-shot episodes on kana glyphs, six methods.

Every image is embedded once; an episode is a set of indices (:func:`~tlworkbench.few_shot.episode_indices`),
its support drawn from half the fonts and its queries from the other half. Choices are made on
validation episodes of the hiragana (``kana`` train split) and scored on test episodes of the
katakana (``kana`` test split): with one example per class there is nothing to carve a validation
set from, so every hyper-parameter is fixed once per shot count on classes that are never tested
(meta-validation).

Methods (``ARMS``):

* ``pixels``: prototypes on raw pixels (the floor a representation must beat);
* ``imagenet``: prototypes on EfficientNet-Lite0's frozen ImageNet features;
* ``letters``: prototypes on the frozen features of the workbench's small CNN pretrained on Latin
  capital letters rendered from matplotlib's fonts (``tlw:font_letters``);
* ``probe``: a logistic regression on the support's ImageNet features;
* ``fine_tune``: the letters CNN with a fresh head, every layer trained on the support;
* ``scratch``: the same small CNN from a random initialisation, trained on the support.

The last two train a network per episode and run on the first :data:`N_TRAIN_EPISODES` of the
same test episodes; the others on all :data:`N_EPISODES`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...config import Profile, get_profile
from ...data.kana import load_kana
from ...data import load_dataset, shared_images
from ...features import extract_features
from ...few_shot import METRICS, Episode, PrototypeClassifier, episode_accuracies, episode_indices, train_on_support
from ...sources import pretrain_source
from ...training import WEIGHT_DECAY_GRID, choose_on_validation, fit_probe
from ...zoo import load_model
from ..feature_extraction import BACKBONE, feature_cache

__all__ = ["N_WAY", "SHOTS", "N_QUERY", "N_EPISODES", "N_TRAIN_EPISODES", "N_VAL_EPISODES", "N_VAL_PROBE_EPISODES",
           "N_VAL_TRAIN_EPISODES",
           "SOURCE", "SMALL_MODEL", "SMALL_SIZE", "FEATURE_ARMS", "TRAIN_ARMS", "ARMS", "LR_CHOICES", "STEP_CHOICES",
           "embed_kana", "choose_feature_settings", "choose_train_settings", "feature_method", "train_method",
           "episode_runs"]

N_WAY = 5
SHOTS = (1, 5)
N_QUERY = 10
#: Test episodes per shot count for the methods that run on features.
N_EPISODES = 100
#: Of those, the first ones on which the networks are trained (a network per episode is costly).
N_TRAIN_EPISODES = 20
#: Validation episodes (hiragana) per shot count for the choices on features, and for the networks.
N_VAL_EPISODES = 100
#: Fewer for the probe (a fit per episode and penalty): on 100 hiragana episodes the three penalties
#: of the grid scored within 0.05 points of one another at 1 and at 5 shots.
N_VAL_PROBE_EPISODES = 30
N_VAL_TRAIN_EPISODES = 3
#: The source of the pretrained small CNN: Latin capitals rendered from matplotlib's fonts.
SOURCE = "font_letters"
SMALL_MODEL = "small_cnn"
SMALL_SIZE = 28  # the glyphs' own size: no upsampling for the small CNN
FEATURE_ARMS = ("pixels", "imagenet", "letters", "probe")
TRAIN_ARMS = ("fine_tune", "scratch")
ARMS = FEATURE_ARMS + TRAIN_ARMS
#: Learning rates each network chooses from on validation episodes: two neighbours of the
#: :data:`~tlworkbench.training.LR_GRID` per arm. On three hiragana episodes per shot count, 200
#: steps, the pretrained CNN reached .70 (1-shot) and .91 (5-shot) at 1e-3 and only .31 and .67
#: at 1e-2; the CNN from scratch .65/.91 at 1e-3 and .68/.91 at 1e-2.
LR_CHOICES = {"fine_tune": (1e-3, 3e-3), "scratch": (3e-3, 1e-2)}
#: Steps each network chooses from (query accuracy read after each, in one run per rate).
STEP_CHOICES = (25, 50, 100)
_SEED_VAL, _SEED_TEST = 1, 2


def embed_kana(profile: str | Profile | None = None, *, progress: bool | None = None) -> dict[str, Any]:
    """Both kana splits as pixels, ImageNet features, letters-CNN features and small-CNN inputs.

    Returns:
        ``{split: {"labels", "fonts", "pixels", "imagenet", "letters", "inputs", "images", "classes"}}`` for
        ``"val"`` (hiragana) and ``"test"`` (katakana), plus ``"font_names"`` and ``"shared"`` (source
        images that are copies of kana images: 0 expected).
    """
    prof = get_profile(profile)
    inet = load_model(BACKBONE, num_classes=len(load_kana("train", prof, 0).classes), image_size=prof.image_size)
    pretrain_source(SMALL_MODEL, SOURCE, profile=prof, progress=progress)
    letters = load_model(SMALL_MODEL, weights=f"tlw:{SOURCE}", num_classes=46, image_size=SMALL_SIZE, profile=prof)
    source_images = load_dataset(SOURCE, split="train", profile=prof).images.numpy()
    out: dict[str, Any] = {"shared": 0}
    for key, split in (("val", "train"), ("test", "test")):
        data, fonts, names = load_kana(split, prof, 0, with_fonts=True)
        out["shared"] += int(shared_images(source_images, data.images.numpy())["shared"])
        feats, _ = extract_features(inet, data.with_transform(inet), cache=feature_cache(), progress=progress)
        small = data.with_transform(letters)
        lfeats, _ = extract_features(letters, small, cache=False, progress=progress)
        out[key] = {"labels": data.targets.numpy(), "fonts": fonts, "pixels": data.images.flatten(1).numpy() / 255.0,
                    "imagenet": feats.numpy(), "letters": lfeats.numpy(),
                    "inputs": small.get_batch(torch.arange(len(small)))[0], "images": data.images.numpy(),
                    "classes": list(data.classes)}
        out["font_names"] = names
    return out


def _episodes(split: dict[str, Any], k_shot: int, n: int, seed: int) -> list[Episode]:
    return episode_indices(split["labels"], n_way=N_WAY, k_shot=k_shot, n_query=N_QUERY, n_episodes=n, seed=seed,
                           groups=split["fonts"])


def feature_method(arm: str, x: np.ndarray, setting: Any) -> Any:
    """The function ``episode -> predictions`` of a method on features ``x`` with its setting
    (a metric for prototypes, a penalty for the probe)."""
    if arm == "probe":
        def probe(e: Episode) -> np.ndarray:
            lin = fit_probe(torch.as_tensor(x[e.support], dtype=torch.float32), torch.as_tensor(e.support_y),
                            num_classes=N_WAY, weight_decay=setting)
            with torch.no_grad():
                return lin(torch.as_tensor(x[e.query], dtype=torch.float32)).argmax(1).numpy()
        return probe
    return lambda e: PrototypeClassifier(setting).fit(x[e.support], e.support_y).predict(x[e.query])


_FEATURES = {"pixels": "pixels", "imagenet": "imagenet", "letters": "letters", "probe": "imagenet"}


def choose_feature_settings(val: dict[str, Any], k_shot: int) -> pd.DataFrame:
    """Each feature method's setting chosen on validation episodes of the hiragana.

    Prototypes choose their metric from :data:`~tlworkbench.few_shot.METRICS` on
    :data:`N_VAL_EPISODES` episodes, the probe its penalty from
    :data:`~tlworkbench.training.WEIGHT_DECAY_GRID` on the first :data:`N_VAL_PROBE_EPISODES` of them.

    Returns:
        One row per method and candidate: ``arm``, ``k_shot``, ``setting``, ``val_accuracy``, ``chosen``.
    """
    episodes = _episodes(val, k_shot, N_VAL_EPISODES, _SEED_VAL)
    rows = []
    for arm in FEATURE_ARMS:
        x = val[_FEATURES[arm]]
        some = episodes[:N_VAL_PROBE_EPISODES] if arm == "probe" else episodes
        grid = WEIGHT_DECAY_GRID if arm == "probe" else METRICS
        choice = choose_on_validation(lambda s: float(episode_accuracies(feature_method(arm, x, s), some).mean()),
                                      tuple(grid), name="setting", progress=False)
        for _, r in choice.table.iterrows():
            rows.append({"arm": arm, "k_shot": k_shot, "setting": r["setting"], "val_accuracy": r["val_score"],
                         "chosen": bool(r["chosen"])})
    return pd.DataFrame(rows)


def _network(arm: str, seed: int, prof: Profile, base: torch.nn.Module | None) -> torch.nn.Module:
    if base is None:  # from scratch: a fresh random initialisation per episode
        model = load_model(SMALL_MODEL, weights=None, num_classes=N_WAY, image_size=SMALL_SIZE, seed=seed)
    else:  # the pretrained body, read once, with a fresh head per episode
        model = copy.deepcopy(base)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model.replace_head(N_WAY)
    # channels-last convolutions trained this network 1.4x faster on the CPU (notebook 01)
    return model.to(memory_format=torch.channels_last)


def train_method(arm: str, inputs: torch.Tensor, *, lr: float, steps: int, prof: Profile,
                 eval_at: Sequence[int] = ()) -> Any:
    """The function ``episode -> predictions`` (or, with ``eval_at``, ``-> {step: accuracy}``) of a network
    trained on the support: the letters CNN fine-tuned (its BatchNorm statistics kept) or the CNN from
    scratch (BatchNorm on the support batch)."""
    base = (load_model(SMALL_MODEL, weights=f"tlw:{SOURCE}", image_size=SMALL_SIZE, profile=prof)
            if arm == "fine_tune" else None)

    def run(e: Episode, index: int = 0) -> Any:
        model = _network(arm, index, prof, base)
        sx, sy = inputs[e.support], torch.as_tensor(e.support_y)
        qx, qy = inputs[e.query], torch.as_tensor(e.query_y)
        scores = train_on_support(model, sx, sy, lr=lr, steps=steps, seed=index, train_bn=arm == "scratch",
                                  queries=(qx, qy) if eval_at else None, eval_at=eval_at)
        if eval_at:
            return scores
        with torch.no_grad():
            return model(qx).argmax(1).numpy()
    return run


def choose_train_settings(val: dict[str, Any], k_shot: int, prof: Profile) -> pd.DataFrame:
    """Each network's learning rate and step count chosen on validation episodes of the hiragana.

    Returns:
        One row per arm, rate and step count: ``arm``, ``k_shot``, ``lr``, ``steps``, ``val_accuracy``, ``chosen``.
    """
    episodes = _episodes(val, k_shot, N_VAL_TRAIN_EPISODES, _SEED_VAL)
    rows = []
    for arm in TRAIN_ARMS:
        for lr in LR_CHOICES[arm]:
            run = train_method(arm, val["inputs"], lr=lr, steps=max(STEP_CHOICES), prof=prof, eval_at=STEP_CHOICES)
            curves = [run(e, i) for i, e in enumerate(episodes)]
            for steps in STEP_CHOICES:
                rows.append({"arm": arm, "k_shot": k_shot, "lr": lr, "steps": steps,
                             "val_accuracy": float(np.mean([c[steps] for c in curves]))})
    table = pd.DataFrame(rows)
    table["chosen"] = False
    for arm, part in table.groupby("arm", sort=False):
        # ties go to the fewer steps and the smaller rate (the table's order)
        table.loc[part["val_accuracy"].idxmax(), "chosen"] = True
    return table


def episode_runs(data: dict[str, Any], *, prof: Profile, shots: Sequence[int] = SHOTS,
                 n_episodes: int = N_EPISODES, n_train_episodes: int = N_TRAIN_EPISODES,
                 progress: bool | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every method on the katakana test episodes, with the settings chosen on the hiragana.

    Returns:
        ``(runs, choices)``: one row per shot count, episode and method (``k_shot``, ``episode``,
        ``arm``, ``accuracy``, ``setting``); and the validation tables of every choice.
    """
    from tqdm.auto import tqdm

    rows, choices = [], []
    for k in shots:
        feat = choose_feature_settings(data["val"], k)
        net = choose_train_settings(data["val"], k, prof)
        choices += [feat.assign(lr=np.nan, steps=np.nan), net.assign(setting=None)]
        episodes = _episodes(data["test"], k, n_episodes, _SEED_TEST)
        for arm in FEATURE_ARMS:
            setting = feat[(feat["arm"] == arm) & feat["chosen"]]["setting"].iloc[0]
            acc = episode_accuracies(feature_method(arm, data["test"][_FEATURES[arm]], setting), episodes)
            rows += [{"k_shot": k, "episode": i, "arm": arm, "accuracy": a, "setting": str(setting)}
                     for i, a in enumerate(acc)]
        for arm in TRAIN_ARMS:
            best = net[(net["arm"] == arm) & net["chosen"]].iloc[0]
            run = train_method(arm, data["test"]["inputs"], lr=float(best["lr"]), steps=int(best["steps"]), prof=prof)
            for i, e in enumerate(tqdm(episodes[:n_train_episodes], desc=f"{arm} {k}-shot", leave=False,
                                       disable=not progress)):
                rows.append({"k_shot": k, "episode": i, "arm": arm,
                             "accuracy": float(np.mean(run(e, i) == e.query_y)),
                             "setting": f"lr {best['lr']:g}, {int(best['steps'])} steps"})
    return pd.DataFrame(rows), pd.concat(choices, ignore_index=True)
