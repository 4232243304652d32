"""Freezing layer groups, the BatchNorm policy and per-group learning-rate multipliers.

The model's ``requires_grad`` flags are the only state of what is frozen; everything here reads
or writes them, so code, the :class:`~tlworkbench.widgets.FreezePanel` and ``fit`` always agree.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

import pandas as pd
from torch import nn

from ._validate import check_choice, check_float, check_int, check_type, param_error
from .errors import UnknownNameError
from .zoo import TransferModel

__all__ = [
    "freeze",
    "unfreeze",
    "freeze_to",
    "set_bn_policy",
    "set_lr_mult",
    "group_names",
    "group_of_parameters",
    "trainable_table",
    "count_parameters",
]

BN_POLICIES = ("frozen", "train")


def _check_model(model: object, func: str) -> TransferModel:
    return check_type(model, "model", func, TransferModel, "a TransferModel from tlw.load_model")


def group_names(model: TransferModel) -> list[str]:
    """The model's group names from input to output (the last is ``"head"``)."""
    return list(_check_model(model, "group_names").groups)


def _select(model: TransferModel, groups: str | Iterable[str] | None, default: str,
            func: str) -> list[nn.Parameter]:
    names = list(_check_model(model, func).groups)
    if groups is None:
        groups = names[:-1] if default == "backbone" else names
    elif isinstance(groups, str):
        groups = [groups]
    params: list[nn.Parameter] = []
    named = dict(model.named_parameters())
    for g in groups:
        if g in names:
            params.extend(model.groups[g].parameters())
        elif g == "backbone":
            params.extend(model.backbone.parameters())
        elif any(ch in g for ch in "*?["):
            hits = [p for n, p in named.items() if fnmatch.fnmatchcase(n, g)]
            if not hits:
                raise param_error("groups", func, f"a group of {model.name!r}, 'backbone' or a pattern that "
                                  "matches parameter names", g, error=UnknownNameError)
            params.extend(hits)
        else:
            check_choice(g, "groups", func, [*names, "backbone"])
    return params


def freeze(model: TransferModel, groups: str | Iterable[str] | None = None) -> TransferModel:
    """Stop gradients for ``groups``: group names, ``"backbone"``, or parameter-name patterns.

    Args:
        model: the model.
        groups: ``None`` freezes every group but the head.

    Returns:
        The model, so calls chain.

    Example:
        >>> freeze(model, ["stem", "stage1"])                  # doctest: +SKIP
        >>> freeze(model, "backbone.stages.stage2.*")         # doctest: +SKIP
    """
    for p in _select(model, groups, "backbone", "freeze"):
        p.requires_grad_(False)
    model.train(model.training)  # re-apply the BatchNorm policy
    return model


def unfreeze(model: TransferModel, groups: str | Iterable[str] | None = None) -> TransferModel:
    """Let gradients flow into ``groups`` again (``None``: every group)."""
    for p in _select(model, groups, "all", "unfreeze"):
        p.requires_grad_(True)
    model.train(model.training)
    return model


def freeze_to(model: TransferModel, n: int) -> TransferModel:
    """Freeze the first ``n`` groups and unfreeze the rest (fastai's ``freeze_to``).

    Negative ``n`` counts from the end: ``freeze_to(model, -1)`` trains only the head.
    """
    names = list(_check_model(model, "freeze_to").groups)
    n = check_int(n, "n", "freeze_to", minimum=-len(names), maximum=len(names))
    n = n % len(names) if n < 0 else n
    unfreeze(model, names)
    if n:
        freeze(model, names[:n])
    return model


def set_bn_policy(model: TransferModel, policy: str) -> TransferModel:
    """Set how frozen BatchNorm layers behave in train mode.

    ``"frozen"`` (a new model's policy): BatchNorm layers whose parameters are frozen stay in
    eval mode and keep their running statistics, even after ``model.train()``; ``"train"``: they
    keep updating them (as fastai's ``train_bn``). Layers that train are in train mode under
    either policy; see :func:`~tlworkbench.training.fit` (``bn_stats``) for their statistics and
    the measurements behind the default.
    """
    check_choice(policy, "policy", "set_bn_policy", BN_POLICIES)
    _check_model(model, "set_bn_policy").bn_policy = policy
    model.train(model.training)
    return model


def set_lr_mult(model: TransferModel, group: str, mult: float) -> TransferModel:
    """Set the learning-rate multiplier of one group (discriminative learning rates)."""
    check_choice(group, "group", "set_lr_mult", _check_model(model, "set_lr_mult").groups)
    model.lr_mult[group] = check_float(mult, "mult", "set_lr_mult", minimum=0.0)
    return model


def group_of_parameters(model: TransferModel) -> dict[int, str]:
    """Map ``id(parameter)`` to its group name."""
    return {id(p): g for g, m in _check_model(model, "group_of_parameters").groups.items() for p in m.parameters()}


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def trainable_table(model: TransferModel) -> pd.DataFrame:
    """One row per group: parameters, trainable parameters, state, BatchNorm mode, lr multiplier.

    Columns: ``group``, ``params``, ``trainable`` (count), ``state`` (``"trainable"``,
    ``"frozen"``, ``"partial"``, or ``"no parameters"``), ``batchnorm`` (``"train"``, ``"eval"``,
    ``"mixed"`` or ``""``), ``lr_mult``.
    """
    rows = []
    for name, module in _check_model(model, "trainable_table").groups.items():
        params = list(module.parameters())
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        state = ("no parameters" if total == 0 else "trainable" if trainable == total
                 else "frozen" if trainable == 0 else "partial")
        bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        modes = {"train" if m.training else "eval" for m in bns}
        bn = "" if not bns else modes.pop() if len(modes) == 1 else "mixed"
        rows.append({"group": name, "params": total, "trainable": trainable, "state": state,
                     "batchnorm": bn, "lr_mult": model.lr_mult.get(name, 1.0)})
    return pd.DataFrame(rows)
