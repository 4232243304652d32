"""Backbones as named stages, the units of freezing.

Every image backbone is a :class:`StagedBackbone`: an ordered ``ModuleDict`` of stages from the
input to the last feature map, then a global pooling that gives one vector per image. The stages
of pretrained networks reuse the modules that torchvision or ``efficientnet-lite-pytorch`` build,
so their state dicts load as published; only the grouping is ours. Text backbones wrap a
transformers encoder and expose its layers as groups in the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import torch
from torch import nn

from .._validate import check_choice
from ..errors import UnknownModelError

__all__ = [
    "StagedBackbone",
    "TextBackbone",
    "SmallCNN",
    "small_cnn",
    "small_resnet",
    "efficientnet_lite",
    "torchvision_backbone",
]


def _global_pool(x: torch.Tensor) -> torch.Tensor:
    """One vector per example: spatial mean of a feature map, or the first token of a sequence."""
    if x.ndim == 4:
        return x.mean(dim=(2, 3))
    if x.ndim == 3:
        return x[:, 0]
    return x.flatten(1)


class StagedBackbone(nn.Module):
    """A backbone that runs named stages in order and pools the result.

    Args:
        stages: ``(name, module)`` pairs from input to output.
        pool: module applied after the last stage, giving ``(N, feature_dim)``; global average
            pooling when ``None``.
        feature_dim: size of the pooled feature vector.
    """

    def __init__(self, stages: Mapping[str, nn.Module] | list[tuple[str, nn.Module]],
                 feature_dim: int, pool: nn.Module | None = None) -> None:
        super().__init__()
        self.stages = nn.ModuleDict(OrderedDict(stages))
        self.pool = pool if pool is not None else nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.feature_dim = int(feature_dim)

    def group_modules(self) -> OrderedDict[str, nn.Module]:
        """The stages that hold parameters, in order (pool layers with parameters included)."""
        groups = OrderedDict((name, m) for name, m in self.stages.items())
        if any(True for _ in self.pool.parameters()):
            groups["pool"] = self.pool
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages.values():
            x = stage(x)
        return self.pool(x)

    def forward_to(self, x: torch.Tensor, depth: str) -> torch.Tensor:
        """Run the stages up to and including ``depth`` and pool that output globally."""
        if depth == "pool" and "pool" not in self.stages:
            return self.forward(x)
        check_choice(depth, "depth", "features", [*self.stages, "pool"])
        for name, stage in self.stages.items():
            x = stage(x)
            if name == depth:
                break
        if depth == list(self.stages)[-1]:
            return self.pool(x)
        return _global_pool(x)


class TextBackbone(nn.Module):
    """A transformers encoder with mean pooling over the attention mask.

    Args:
        encoder: a BERT-like ``transformers`` model (``embeddings`` and ``encoder.layer``).
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.feature_dim = int(encoder.config.hidden_size)

    def group_modules(self) -> OrderedDict[str, nn.Module]:
        groups: OrderedDict[str, nn.Module] = OrderedDict(embeddings=self.encoder.embeddings)
        for i, layer in enumerate(self.encoder.encoder.layer, start=1):
            groups[f"layer{i}"] = layer
        return groups

    @staticmethod
    def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = self.encoder(**batch)
        return self._mean_pool(out.last_hidden_state, batch["attention_mask"])

    def forward_to(self, batch: Mapping[str, torch.Tensor], depth: str) -> torch.Tensor:
        names = list(self.group_modules())
        check_choice(depth, "depth", "features", names)
        out = self.encoder(**batch, output_hidden_states=True)
        return self._mean_pool(out.hidden_states[names.index(depth)], batch["attention_mask"])


# --- small networks for from-scratch baselines and workbench-pretrained sources -------------


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2))


class SmallCNN(StagedBackbone):
    """Three convolution blocks (conv, BatchNorm, ReLU, max-pool) of ``width``, 2x and 4x channels."""

    def __init__(self, in_channels: int = 1, width: int = 16) -> None:
        w = width
        super().__init__([("conv1", _conv_block(in_channels, w)), ("conv2", _conv_block(w, 2 * w)),
                          ("conv3", _conv_block(2 * w, 4 * w))], feature_dim=4 * w)


def small_cnn(in_channels: int = 1) -> StagedBackbone:
    """The from-scratch baseline and source model of the workbench: 16, 32 and 64 channels,
    about 24k parameters, small enough to train in seconds on a laptop CPU."""
    return SmallCNN(in_channels)


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def small_resnet(in_channels: int = 1, width: int = 16) -> StagedBackbone:
    """A small ResNet: a stem and three stages of one basic block each (16, 32, 64 channels)."""
    w = width
    stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True))
    return StagedBackbone([("stem", stem), ("stage1", _BasicBlock(w, w, 1)),
                           ("stage2", _BasicBlock(w, 2 * w, 2)), ("stage3", _BasicBlock(2 * w, 4 * w, 2))],
                          feature_dim=4 * w)


# --- pretrained ImageNet backbones ------------------------------------------------------------


def efficientnet_lite(variant: int) -> tuple[StagedBackbone, nn.Module, nn.Module]:
    """EfficientNet-Lite``variant`` as stages.

    Returns:
        ``(backbone, head, original)``: the staged backbone, the ImageNet head (dropout and the
        1000-way linear layer), and the original network whose ``state_dict`` keys match the
        published weight file (its modules are shared with the first two).
    """
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(f"efficientnet-lite{variant}", num_classes=1000)
    stages: list[tuple[str, nn.Module]] = [("stem", nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6()))]
    current: list[nn.Module] = []
    for block in net._blocks:
        args = block._block_args
        if current and args.input_filters != args.output_filters:
            stages.append((f"stage{len(stages)}", nn.Sequential(*current)))
            current = []
        current.append(block)
    stages.append((f"stage{len(stages)}", nn.Sequential(*current)))
    stages.append(("top", nn.Sequential(net._conv_head, net._bn1, nn.ReLU6())))
    backbone = StagedBackbone(stages, feature_dim=net._fc.in_features)
    head = nn.Sequential(nn.Dropout(net._global_params.dropout_rate), net._fc)
    return backbone, head, net


def _split_by_resolution(modules: list[nn.Module], size: int = 64) -> list[list[nn.Module]]:
    """Group consecutive modules into stages that end where the spatial size shrinks."""
    x = torch.zeros(1, 3, size, size)
    groups: list[list[nn.Module]] = [[]]
    with torch.no_grad():
        for m in modules:
            was = m.training
            m.eval()
            y = m(x)
            m.train(was)
            if groups[-1] and y.shape[-1] < x.shape[-1]:
                groups.append([])
            groups[-1].append(m)
            x = y
    return groups


class _ViTEmbed(nn.Module):
    """Patch projection, class token and position embedding of a torchvision ViT."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = [vit]  # a plain list: the parameters are registered below, not twice
        self.conv_proj = vit.conv_proj
        self.class_token = vit.class_token
        self.pos_embedding = vit.encoder.pos_embedding
        self.dropout = vit.encoder.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.vit[0]._process_input(x)
        cls = self.class_token.expand(x.shape[0], -1, -1)
        return self.dropout(torch.cat([cls, x], dim=1) + self.pos_embedding)


class _ClsPool(nn.Module):
    """Final layer norm of a ViT, then its class token: one vector per image."""

    def __init__(self, ln: nn.Module) -> None:
        super().__init__()
        self.ln = ln

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(x)[:, 0]


def torchvision_backbone(name: str) -> tuple[StagedBackbone, nn.Module, nn.Module]:
    """A torchvision ImageNet classifier split into stages.

    Returns:
        ``(backbone, head, original)`` as :func:`efficientnet_lite` does; ``original`` has the
        state-dict keys of torchvision's weight file.
    """
    import torchvision

    net = torchvision.models.get_model(name, weights=None)
    if name.startswith("resnet"):
        stages = [("stem", nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)),
                  ("layer1", net.layer1), ("layer2", net.layer2), ("layer3", net.layer3), ("layer4", net.layer4)]
        return StagedBackbone(stages, net.fc.in_features), net.fc, net
    if name.startswith("mobilenet_v3"):
        feats = list(net.features)
        groups = _split_by_resolution(feats)
        stages = [("stem", nn.Sequential(*groups[0]))]
        stages += [(f"stage{i}", nn.Sequential(*g)) for i, g in enumerate(groups[1:], start=1)]
        pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), *list(net.classifier)[:-1])
        return StagedBackbone(stages, net.classifier[-1].in_features, pool=pool), net.classifier[-1], net
    if name.startswith("efficientnet_"):
        feats = list(net.features)
        stages = [("stem", feats[0])] + [(f"stage{i}", m) for i, m in enumerate(feats[1:-1], start=1)]
        stages.append(("top", feats[-1]))
        head = nn.Sequential(*list(net.classifier))
        return StagedBackbone(stages, net.classifier[-1].in_features), head, net
    if name.startswith("convnext"):
        f = net.features
        stages = [("stem", f[0]), ("stage1", f[1]), ("stage2", nn.Sequential(f[2], f[3])),
                  ("stage3", nn.Sequential(f[4], f[5])), ("stage4", nn.Sequential(f[6], f[7]))]
        pool = nn.Sequential(net.avgpool, net.classifier[0], nn.Flatten(1))
        return StagedBackbone(stages, net.classifier[-1].in_features, pool=pool), net.classifier[-1], net
    if name.startswith("vit_"):
        stages: list[tuple[str, nn.Module]] = [("embed", _ViTEmbed(net))]
        stages += [(f"block{i}", layer) for i, layer in enumerate(net.encoder.layers, start=1)]
        head = net.heads.head
        return StagedBackbone(stages, head.in_features, pool=_ClsPool(net.encoder.ln)), head, net
    raise UnknownModelError(f"No stage layout is defined for torchvision model {name!r}; the zoo splits "
                            "ResNets, MobileNetV3s, EfficientNets, ConvNeXts and ViTs into stages.")
