"""What the EfficientNet-Lite0 benchmarks share: their command line and a fresh model."""

from __future__ import annotations

import argparse

from tlworkbench.zoo import TransferModel, load_model


def lite0_parser(doc: str, *, epochs: int, lr: float) -> argparse.ArgumentParser:
    """The options every Lite0 benchmark takes; each script adds its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=epochs, help="epochs per run")
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    return parser


def fresh_lite0(seed: int = 0, *, num_classes: int = 10, image_size: int = 64) -> TransferModel:
    """EfficientNet-Lite0 with ImageNet weights and a new head, initialised from ``seed``."""
    return load_model("efficientnet_lite0", num_classes=num_classes, image_size=image_size, seed=seed)
