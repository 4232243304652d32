"""How many epochs a label budget needs: one rule, stated in optimiser steps.

A model trained on 100 images sees a handful of batches per epoch; one trained on 10,000 sees
hundreds. Counting epochs therefore under-trains small budgets. Every experiment instead asks for
a number of optimiser steps and converts it here, so "trained as long" means the same thing in
every notebook.
"""

from __future__ import annotations

import math

from .._validate import check_int, check_optional

__all__ = ["DEFAULT_MIN_STEPS", "epochs_for_steps"]

#: The fewest optimiser steps :func:`~tlworkbench.training.fit` takes in the phase that trains the
#: backbone (its ``min_steps``), whatever the number of epochs asked for. Measured on
#: EfficientNet-Lite0 (64 px, ``two_stage`` 1 + 3 epochs, lr 2e-3, batch 64) with 200
#: ``animal_mnist`` images (4 steps an epoch): 12 steps .732 test accuracy, 30 steps .808 in twice
#: the time, 60 steps .815 in four times (a linear probe: .810). With 1,000 images 3 epochs are
#: 48 steps already (.929; 112 steps: .942 in twice the time), so the floor leaves them alone.
DEFAULT_MIN_STEPS = 30


def epochs_for_steps(n_train: int, *, steps: int, batch_size: int, min_epochs: int = 1,
                     max_epochs: int | None = None) -> int:
    """Epochs that give at least ``steps`` optimiser steps over ``n_train`` examples.

    Args:
        n_train: training examples.
        steps: optimiser steps wanted.
        batch_size: examples per step (the last batch of an epoch may be smaller).
        min_epochs: never fewer epochs than this.
        max_epochs: never more epochs than this (``None``: no cap).

    Returns:
        ``ceil(steps / ceil(n_train / batch_size))``, clipped to ``[min_epochs, max_epochs]``.

    Example:
        >>> epochs_for_steps(100, steps=300, batch_size=32)
        75
        >>> epochs_for_steps(4000, steps=300, batch_size=32, min_epochs=2)
        3
    """
    func = "epochs_for_steps"
    n_train = check_int(n_train, "n_train", func, minimum=1)
    steps = check_int(steps, "steps", func, minimum=1)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    min_epochs = check_int(min_epochs, "min_epochs", func, minimum=1)
    max_epochs = check_optional(max_epochs, check_int, "max_epochs", func, minimum=min_epochs)
    epochs = max(min_epochs, math.ceil(steps / math.ceil(n_train / batch_size)))
    return epochs if max_epochs is None else min(epochs, max_epochs)
