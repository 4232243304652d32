"""Strategies as plans of phases, and re-initialisation for training from scratch.

A strategy is a plan of *phases*: runs of epochs that train the same set of parameters.
``linear_probe`` is one phase that trains the head; ``fine_tune`` and ``scratch`` one phase that
trains the chosen groups; ``two_stage`` a head phase of ``head_epochs`` then a phase over all
chosen groups (fastai's ``fine_tune``; ``epochs`` here counts both phases, ``fit`` adds them up);
``gradual_unfreeze`` adds one group per epoch from the top (ULMFiT).

While only the head trains, the backbone's output does not change, so such a phase may train the
head on features computed once rather than running the backbone every epoch.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._validate import check_choice, check_int, param_error
from ..freezing import group_of_parameters
from ..zoo import TransferModel

__all__ = ["STRATEGIES", "Phase", "plan", "resumed_plan", "group_index", "set_trainable", "reinitialize"]

#: The strategies :func:`~tlworkbench.training.fit` implements.
STRATEGIES = ("linear_probe", "fine_tune", "gradual_unfreeze", "two_stage", "scratch")


@dataclass(frozen=True)
class Phase:
    """Epochs ``first..last`` (from 1) that train the parameters ``names``.

    ``features``: the head trains on cached backbone features instead of running the backbone.
    """

    first: int
    last: int
    names: frozenset[str]
    features: bool

    def to_state(self) -> dict[str, Any]:
        """A plain dict for a checkpoint."""
        return {"first": self.first, "last": self.last, "names": sorted(self.names), "features": self.features}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Phase:
        """The phase that :meth:`to_state` wrote."""
        return cls(state["first"], state["last"], frozenset(state["names"]), state["features"])


def group_index(model: TransferModel, from_group: int | str, func: str = "fit") -> int:
    """The index of a layer group given by name or by (possibly negative) index."""
    names = list(model.groups)
    if isinstance(from_group, str):
        return names.index(check_choice(from_group, "from_group", func, names))
    n = len(names)
    if isinstance(from_group, bool) or not isinstance(from_group, numbers.Integral) or not -n <= from_group < n:
        raise param_error("from_group", func, f"a group name or an index in [{-n}, {n - 1}]", from_group,
                          hint=f"Groups of {model.name!r}: {names}.")
    return int(from_group) % n


def plan(model: TransferModel, strategy: str, epochs: int, *, from_group: int | str | None,
         head_epochs: int, features: bool = True) -> tuple[list[Phase], str | None]:
    """The phases of a strategy, and a warning when every parameter was frozen.

    Args:
        model: the model to train.
        strategy: one of :data:`STRATEGIES`.
        epochs: epochs in all.
        from_group: train this group and every group above it (``None``: what is trainable now).
        head_epochs: epochs of the head phase of ``two_stage``.
        features: whether head-only phases may train on cached features (the plain
            cross-entropy can; a loss that reads the backbone cannot).

    Raises:
        InvalidParameterError: the head has no parameters, or a bad ``from_group``.
    """
    named = dict(model.named_parameters())
    head = frozenset(f"head.{n}" for n, _ in model.head.named_parameters())
    if not head:
        raise param_error("model", "fit", "a model whose head has parameters (every strategy trains the head)",
                          model.name, hint="Give the model a head: model.replace_head(num_classes).")
    group_of = group_of_parameters(model)
    by_group: dict[str, list[str]] = {g: [] for g in model.groups}
    for n, p in named.items():
        by_group.setdefault(group_of.get(id(p), "other"), []).append(n)
    note = None
    if strategy == "linear_probe":
        target = head
    elif from_group is not None:
        keep = list(model.groups)[group_index(model, from_group):]
        target = frozenset(n for g in keep for n in by_group[g])
    else:
        target = frozenset(n for n, p in named.items() if p.requires_grad)
        if not target:
            note = (f"Every parameter of {model.name!r} is frozen, so the {strategy!r} strategy, which trains the "
                    "backbone, would train nothing; it trains the head only. Unfreeze groups first "
                    "(tlw.unfreeze(model)) or pass from_group=0 to train every group.")
            target = head
    # the backbone's output stays fixed while only the head trains, unless BatchNorm is told to adapt
    bn_adapts = getattr(model, "bn_policy", "frozen") == "train"

    def phase(first: int, last: int, names: frozenset[str]) -> Phase:
        feats = features and (strategy == "linear_probe" or (names <= head and not bn_adapts))
        return Phase(first, last, names, feats)

    if strategy == "two_stage":
        return [phase(1, head_epochs, head), phase(head_epochs + 1, epochs, target)], note
    if strategy == "gradual_unfreeze":
        # from the head down; parameters outside every group (an unused pooler) come last
        ranked = list(reversed(list(model.groups))) + [g for g in by_group if g not in model.groups]
        order = [g for g in ranked if any(n in target for n in by_group[g])]
        phases: list[Phase] = []
        active: set[str] = set()
        for epoch in range(1, epochs + 1):
            if order:
                active |= {n for n in by_group[order.pop(0)] if n in target}
            if phases and phases[-1].names == active:
                phases[-1] = phase(phases[-1].first, epoch, frozenset(active))
            else:
                phases.append(phase(epoch, epoch, frozenset(active)))
        return phases, note
    return [phase(1, epochs, target)], note


def resumed_plan(done_phases: list[Phase], new_phases: list[Phase], done: int) -> list[Phase]:
    """The plan of a run resumed after ``done`` epochs with another number of epochs.

    The epochs already trained keep the phases they were trained in; the rest follow the new
    plan (a phase cut at ``done`` continues as a new phase, with a fresh schedule).

    Args:
        done_phases: the plan the checkpoint was written with.
        new_phases: the plan for the new number of epochs.
        done: epochs completed.
    """
    kept = [Phase(p.first, min(p.last, done), p.names, p.features) for p in done_phases if p.first <= done]
    rest = [Phase(max(p.first, done + 1), p.last, p.names, p.features) for p in new_phases if p.last > done]
    return kept + rest


def set_trainable(model: nn.Module, names: frozenset[str]) -> int:
    """Let exactly the parameters ``names`` train; returns how many numbers they hold."""
    count = 0
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
        count += p.numel() if n in names else 0
    return count


def reinitialize(model: nn.Module, *, seed: int | None = None) -> nn.Module:
    """Re-initialise every parameter (and BatchNorm statistics) of ``model`` in place.

    Each submodule's own ``reset_parameters`` is used (PyTorch's default initialisation);
    parameters that no submodule resets (class tokens, position embeddings) are drawn from a
    truncated normal with std 0.02, biases set to zero.

    Args:
        model: the module.
        seed: seeds the draw (the global RNG is left as it was); ``None`` uses the global RNG.

    Returns:
        The model.
    """
    if seed is not None:
        seed = check_int(seed, "seed", "reinitialize")
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        covered: set[int] = set()
        for m in model.modules():
            reset = getattr(m, "reset_parameters", None) or getattr(m, "_reset_parameters", None)
            own = list(m.parameters(recurse=False))
            if callable(reset) and (own or hasattr(m, "reset_running_stats")):
                reset()
                covered.update(id(p) for p in own)
            elif hasattr(m, "reset_running_stats"):
                m.reset_running_stats()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if id(p) in covered:
                    continue
                if name.endswith("bias"):
                    p.zero_()
                else:
                    nn.init.trunc_normal_(p, std=0.02)
    return model
