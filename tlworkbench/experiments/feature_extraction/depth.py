"""Which depth transfers best: the probe on the pooled output of each group, chosen on validation.

The labelled images and their split are those of one budget and seed of the main comparison.
Every group's features come from one pass through the backbone (each group's output pooled on the
way), the probe's penalty is chosen per group on the validation part, and the group with the best
validation accuracy is chosen. Only the chosen group's probe is scored on test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from ...config import Profile, get_profile, resolve_progress
from ...features import FeatureCache, extract_features, prepare_data, to_model_input
from ...training import choose_on_validation, probe_accuracy
from ...zoo import TransferModel, load_model
from .arms import BACKBONE, N_TEST, budget_indices, budgets_for, feature_cache, target_data, tune_probe
from .efficiency import pool_size

__all__ = ["depth_features", "layer_probe"]


@torch.no_grad()
def depth_features(model: TransferModel, data: Any, depths: Sequence[str], *, cache: FeatureCache | None = None,
                   batch_size: int = 64) -> dict[str, torch.Tensor]:
    """The pooled output of each group in ``depths``, from one pass through the backbone.

    The same features as ``extract_features(model, data, depth=group)`` for every group (the
    last group pooled by the backbone's own pooling, the others averaged over space), at the
    cost of the deepest group's pass alone. With ``cache``, each group's features are looked up
    and stored under the key ``extract_features`` uses.

    Returns:
        ``{group: (N, dim) features}``, in the order of ``depths``.
    """
    data = prepare_data(model, data)
    names = list(model.backbone.stages)
    last = names[-1]
    keys = {d: cache.key(model, data, depth=d) for d in depths} if cache is not None else {}
    found = {d: cache.get(k) for d, k in keys.items()} if cache is not None else {}
    if found and all(v is not None for v in found.values()):
        return {d: found[d][0] for d in depths}
    wanted = set(depths)
    deepest = max(names.index(d) for d in depths)
    chunks: dict[str, list[torch.Tensor]] = {d: [] for d in depths}
    was_training = model.training
    model.eval()
    try:
        for x, _ in data.loader(batch_size, shuffle=False):
            x = to_model_input(x, channels_last=True)
            for i, (name, stage) in enumerate(model.backbone.stages.items()):
                x = stage(x)
                if name in wanted:
                    chunks[name].append((model.backbone.pool(x) if name == last else x.mean(dim=(2, 3))).float())
                if i == deepest:
                    break
    finally:
        model.train(was_training)
    out = {d: torch.cat(chunks[d]) for d in depths}
    if cache is not None:
        labels = torch.as_tensor(data.targets).clone()
        for d in depths:
            cache.put(keys[d], out[d], labels)
    return out


def layer_probe(target: str = "animal_mnist", *, per_class: int | None = None, seed: int = 0,
                profile: str | Profile | None = None, pool: int | None = None, n_test: int = N_TEST,
                progress: bool | None = None) -> pd.DataFrame:
    """The probe on each group's pooled features, the depth chosen on validation.

    Args:
        target: the target data set.
        per_class: the label budget (default: the profile's largest).
        seed: the seed of the budget's draw and its validation split.
        profile: run profile.
        pool: training images the budget is drawn from (default: as in :func:`data_efficiency`,
            so that the labelled images are those of its run at this budget and seed).
        n_test: test images.
        progress: progress bar of the test features (``None``: in Jupyter only).

    Returns:
        One row per group (1 = first): ``depth``, ``group``, ``dim``, the chosen penalty
        ``weight_decay``, ``val_accuracy``, ``chosen`` (the depth with the best validation
        accuracy; ties go to the shallower) and ``test_accuracy`` (the chosen depth's only;
        NaN elsewhere), with ``n_train``, ``n_val`` and ``n_test``.
    """
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    per_class = max(budgets_for(prof)) if per_class is None else per_class
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    data, test = target_data(target, model, pool=pool or pool_size([per_class]), n_test=n_test, profile=prof)
    train_idx, val_idx = budget_indices(data.targets.numpy(), data.classes, per_class=per_class, seed=seed)
    depths = list(model.groups)[:-1]  # every group but the head
    store = feature_cache()
    train = depth_features(model, data.subset(train_idx, name=f"{data.name}:train"), depths, cache=store)
    val = depth_features(model, data.subset(val_idx, name=f"{data.name}:val"), depths, cache=store)
    ytr, yva = data.targets[train_idx], data.targets[val_idx]
    choices = {d: tune_probe((train[d], ytr), (val[d], yva), num_classes=len(data.classes), seed=seed)
               for d in depths}
    best = choose_on_validation(lambda d: choices[d].score, depths, name="group", progress=False).best
    test_x, test_y = extract_features(model, test, depth=best, cache=store, progress=progress)
    rows = [{"depth": i, "group": d, "dim": int(train[d].shape[1]), "weight_decay": choices[d].best,
             "val_accuracy": choices[d].score, "chosen": d == best,
             "test_accuracy": probe_accuracy(choices[d].output, test_x, test_y) if d == best else float("nan")}
            for i, d in enumerate(depths, start=1)]
    return pd.DataFrame(rows).assign(n_train=len(train_idx), n_val=len(val_idx), n_test=len(test))
