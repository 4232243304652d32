"""BatchNorm statistics during training: each epoch's running statistics are that epoch's average.

PyTorch's BatchNorm keeps an exponential moving average of the batch statistics for eval mode,
``running = (1 - momentum) * running + momentum * batch``. Models ported from TensorFlow, such as
EfficientNet-Lite, use ``momentum=0.01``: after the few dozen steps of a fine-tune on 1,000
images the running statistics are still mostly ImageNet's, while the weights have learnt to read
the target's batch statistics, and the model that is evaluated is not the one that was trained.
On EfficientNet-Lite0 (64 px, ``animal_mnist``, 100 labels per class, two_stage 1 + 2 epochs) the
test accuracy was .436 with the moving average and .890 once the statistics were recomputed over
the training images ("precise BatchNorm", Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021).

:func:`epoch_statistics` gets that at no extra cost: at the start of an epoch it resets the
statistics of the BatchNorm layers in train mode and switches them to a cumulative average
(``momentum=None``), so at the end of the epoch they hold the mean of the epoch's batch
statistics; the momentum is restored afterwards. Layers in eval mode (frozen under the
``"frozen"`` policy) are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

__all__ = ["BN_STATS", "training_batchnorms", "epoch_statistics"]

#: How BatchNorm layers that train keep their running statistics: ``"epoch"`` (the average of
#: each epoch's batches) or ``"running"`` (PyTorch's moving average with each layer's momentum).
BN_STATS = ("epoch", "running")


def training_batchnorms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``model`` that are in train mode and track running statistics."""
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats]


@contextmanager
def epoch_statistics(model: nn.Module, enabled: bool = True) -> Iterator[int]:
    """Within the block, the BatchNorm layers in train mode average their batch statistics afresh.

    Yields:
        How many layers are averaging.
    """
    layers = training_batchnorms(model) if enabled else []
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
    try:
        yield len(layers)
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
