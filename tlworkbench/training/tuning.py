"""Choices made on validation data: one small grid per hyper-parameter, the same for every arm.

A comparison is only as fair as its weakest arm: a learning rate tuned for one method and guessed
for another decides the result. :func:`choose_on_validation` is the one protocol the notebooks
use: every value of a grid is run, scored on a validation set carved from the training budget
(:func:`~tlworkbench.data.validation_split`), and the best is kept, together with its trained
output (so the chosen run is not trained twice) and a table of every value's score to show.

:data:`LR_GRID` is the learning-rate grid for Adam(W) runs (fine-tuning, scratch); probes choose
their penalty from :data:`WEIGHT_DECAY_GRID` the same way. Ties go to the earlier value of the
grid. scikit-learn's ``GridSearchCV`` does this for estimators; a training run here is a function
of a value (it may load a model, fit it and score it), which that class does not take.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._validate import check_bool, check_sequence, check_type, param_error
from ..config import resolve_progress
from ..errors import DataError

__all__ = ["LR_GRID", "WEIGHT_DECAY_GRID", "GridChoice", "choose_on_validation"]

#: Learning rates tried for every Adam(W) arm: one decade either side of fit's default 2e-3 is
#: covered in half-decade steps.
LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2)

#: Penalties tried for a linear probe (:func:`~tlworkbench.training.fit_probe`'s ``weight_decay``).
WEIGHT_DECAY_GRID = (1e-4, 1e-3, 1e-2)


@dataclass(frozen=True)
class GridChoice:
    """Outcome of :func:`choose_on_validation`.

    Attributes:
        name: the hyper-parameter (``"lr"``).
        best: the chosen value.
        score: its validation score.
        table: one row per value: ``name``, ``val_score`` and ``chosen``.
        output: what the run of the chosen value returned besides its score (a trained model).
    """

    name: str
    best: Any
    score: float
    table: pd.DataFrame = field(repr=False)
    output: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        tried = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in self.table[self.name])
        return f"{self.name} = {self.best:g} (validation {self.score:.3f}; tried {tried})" \
            if isinstance(self.best, float) else f"{self.name} = {self.best} (validation {self.score:.3f})"


def choose_on_validation(run: Callable[[Any], Any], grid: Sequence[Any], *, name: str = "lr",
                         higher_is_better: bool = True, progress: bool | None = None) -> GridChoice:
    """Run every value of ``grid`` and keep the one with the best validation score.

    Args:
        run: ``run(value)`` trains with that value and returns its validation score, or a pair
            ``(score, output)`` whose output (a model, a History) is kept for the chosen value.
        grid: the values, in order of preference for ties.
        name: the hyper-parameter's name, for the table.
        higher_is_better: whether a larger score is better (accuracy) or worse (a loss).
        progress: a progress bar over the grid (``None``: in Jupyter only).

    Returns:
        A :class:`GridChoice`.

    Raises:
        InvalidParameterError: an empty grid, or a ``run`` that is not callable.
        DataError: every value scored NaN (each run failed to learn anything measurable).

    Example:
        >>> choice = choose_on_validation(lambda lr: -abs(lr - 1e-3), (1e-4, 1e-3, 1e-2))
        >>> choice.best
        0.001
    """
    func = "choose_on_validation"
    if not callable(run):
        raise param_error("run", func, "a function of one value that returns a score or (score, output)", run)
    grid = check_sequence(grid, "grid", func)
    name = check_type(name, "name", func, str, "a string")
    higher_is_better = check_bool(higher_is_better, "higher_is_better", func)
    from tqdm.auto import tqdm

    scores, outputs = [], []
    for value in tqdm(grid, desc=f"choosing {name}", disable=not resolve_progress(progress), leave=False):
        result = run(value)
        score, output = result if isinstance(result, tuple) else (result, None)
        scores.append(float(score))
        outputs.append(output)
    finite = [i for i, s in enumerate(scores) if not math.isnan(s)]
    if not finite:
        raise DataError(f"{func} got a NaN validation score for every value of {name} in {list(grid)}.")
    sign = 1.0 if higher_is_better else -1.0
    best = max(finite, key=lambda i: (sign * scores[i], -i))
    table = pd.DataFrame({name: list(grid), "val_score": scores, "chosen": [i == best for i in range(len(grid))]})
    return GridChoice(name=name, best=grid[best], score=scores[best], table=table, output=outputs[best])
