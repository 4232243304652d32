"""Linear probes: a multinomial logistic regression on frozen features, trained full-batch by L-BFGS.

The one probe of the workbench: ``fit(strategy="linear_probe")`` trains a model's head with it
(one L-BFGS step per epoch), :func:`fit_probe` trains a fresh linear layer, and
:func:`probe_accuracy` scores one on held-out features (the probe column of
:func:`~tlworkbench.selection.rank_models`, the per-depth probes of notebook 01).

The optimiser sees the features divided by one number, the root of their mean variance, and
the fitted layer is mapped back so that it reads the raw features. The penalty
``weight_decay / 2 * (|W|^2 + |b|^2)`` is added to the mean cross-entropy in those coordinates
(close to scikit-learn's ``LogisticRegression(C=1 / (n * weight_decay))`` on the same scaled
features, which leaves the bias alone). Without the scaling the penalty depends on the backbone:
the features of a randomly initialised small CNN are about 0.01, a penalty of 1e-3 then outweighs
the data and the probe stays near chance. One scale for every feature keeps their relative sizes:
standardising each feature alone lifts nearly constant ones to the weight of informative ones and
cost 1 to 2.5 points on EfficientNet-Lite0's ImageNet features of 200 to 1,000 ``animal_mnist``
images, whose scale is about 1 already (there the probe is what it was without scaling).

Hand-written rather than scikit-learn's ``LogisticRegression``: the probe trains the model's own
head in place, epoch by epoch inside ``fit``, on the device the features live on; its test
accuracy matches scikit-learn's (tests/test_training.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_float, check_int, param_error
from ..errors import DataError

__all__ = ["WEIGHT_DECAY", "FeatureScaling", "probe_linear", "probe_step", "fit_probe", "probe_accuracy"]

#: The default penalty: ``weight_decay / 2 * (|W|^2 + |b|^2)`` on the scaled features.
WEIGHT_DECAY = 1e-3

# modules that leave a head's input as it is in eval mode
_PASS_THROUGH = (nn.Dropout, nn.Identity, nn.Flatten)


class FeatureScaling:
    """Divide features by one number: the root of their mean variance.

    Args:
        features: ``(n, d)`` training features; the scale is theirs.
    """

    def __init__(self, features: torch.Tensor) -> None:
        scale = features.var(0, unbiased=False).mean().sqrt()
        # constant features: nothing to scale
        self.scale = scale if bool(scale > 0) and bool(torch.isfinite(scale)) else torch.ones_like(scale)

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """The features in the probe's coordinates."""
        return features / self.scale

    @torch.no_grad()
    def to_scaled(self, linear: nn.Linear) -> None:
        """Rewrite ``linear`` in place to read scaled features: the same outputs as before."""
        linear.weight.mul_(self.scale)

    @torch.no_grad()
    def to_raw(self, linear: nn.Linear) -> None:
        """Rewrite ``linear`` in place to read raw features (the inverse of :meth:`to_scaled`)."""
        linear.weight.div_(self.scale)


def probe_linear(head: nn.Module) -> nn.Linear | None:
    """The linear layer a head amounts to in eval mode, or ``None`` when it is more than that.

    A plain ``nn.Linear``, or a ``Sequential`` of one ``nn.Linear`` with dropout (the zoo's heads).
    """
    if isinstance(head, nn.Linear):
        return head if head.bias is not None else None
    if not isinstance(head, nn.Sequential):
        return None
    linears = [m for m in head if isinstance(m, nn.Linear)]
    others = [m for m in head if not isinstance(m, nn.Linear)]
    if len(linears) != 1 or linears[0].bias is None or not all(isinstance(m, _PASS_THROUGH) for m in others):
        return None
    return linears[0]


def probe_step(linear: nn.Linear, optimizer: torch.optim.LBFGS, features: torch.Tensor, labels: torch.Tensor,
               scaling: FeatureScaling, *, weight_decay: float, label_smoothing: float = 0.0) -> None:
    """One L-BFGS step of the probe on ``linear``, which reads raw features before and after.

    ``optimizer`` holds ``linear``'s weight and bias; its history lives in the scaled
    coordinates, so successive steps continue one another.
    """
    z = scaling(features)
    scaling.to_scaled(linear)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(linear(z), labels, label_smoothing=label_smoothing)
        if weight_decay:
            loss = loss + 0.5 * weight_decay * ((linear.weight ** 2).sum() + (linear.bias ** 2).sum())
        loss.backward()
        return loss

    try:
        optimizer.step(closure)
    finally:
        scaling.to_raw(linear)


def _check_data(features: torch.Tensor, labels: torch.Tensor, func: str) -> None:
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise param_error("features", func, "a 2-D tensor (examples x features)", features)
    if not isinstance(labels, torch.Tensor) or labels.shape != features.shape[:1]:
        raise param_error("labels", func, f"a 1-D tensor of {len(features)} class indices", labels)
    if len(labels) == 0:
        raise DataError(f"{func} needs at least one example; got none.")


def fit_probe(features: torch.Tensor, labels: torch.Tensor, *, num_classes: int | None = None,
              weight_decay: float = WEIGHT_DECAY, max_iter: int = 500, seed: int = 0) -> nn.Linear:
    """Train a linear probe on features: a multinomial logistic regression.

    Args:
        features: ``(n, d)`` features (on any device).
        labels: ``(n,)`` class indices.
        num_classes: outputs of the probe (default: the largest label plus one).
        weight_decay: the penalty on the weights and biases, over the mean cross-entropy of the
            scaled features (about ``1 / (n * C)`` in scikit-learn's terms).
        max_iter: L-BFGS iterations at most (fewer when it converges).
        seed: seeds the initial weights.

    Returns:
        An ``nn.Linear(d, num_classes)`` in eval mode that reads the raw features.

    Raises:
        InvalidParameterError: a bad number, or features and labels that do not match.
        DataError: no examples.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [4.0], [5.0]]); y = torch.tensor([0, 0, 1, 1])
        >>> probe_accuracy(fit_probe(x, y), x, y)
        1.0
    """
    func = "fit_probe"
    _check_data(features, labels, func)
    labels = labels.long()
    num_classes = check_int(int(labels.max()) + 1 if num_classes is None else num_classes, "num_classes", func,
                            minimum=int(labels.max()) + 1)
    weight_decay = check_float(weight_decay, "weight_decay", func, minimum=0.0)
    max_iter = check_int(max_iter, "max_iter", func, minimum=1)
    seed = check_int(seed, "seed", func)
    features = features.float()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        linear = nn.Linear(features.shape[1], num_classes)
    linear.to(features.device)
    labels = labels.to(features.device)
    # the settings of fit's L-BFGS (training.optim), with all the iterations in one step
    optimizer = torch.optim.LBFGS(list(linear.parameters()), lr=1.0, max_iter=max_iter, history_size=10,
                                  line_search_fn="strong_wolfe")
    probe_step(linear, optimizer, features, labels, FeatureScaling(features), weight_decay=weight_decay)
    return linear.eval().requires_grad_(False)


@torch.no_grad()
def probe_accuracy(probe: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    """The accuracy of a probe (:func:`fit_probe`'s layer, or a model's head) on ``features``."""
    _check_data(features, labels, "probe_accuracy")
    device = next(probe.parameters()).device
    logits = probe(features.float().to(device))
    return float((logits.argmax(1).cpu() == labels.cpu()).float().mean())
