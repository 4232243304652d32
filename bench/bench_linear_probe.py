"""A linear probe on cached features against a fixed-feature-extractor loop, on the CPU.

Both train the same head (EfficientNet-Lite0's fresh 10-way head, ImageNet weights, 64 px) on the
same 1,000 ``animal_mnist`` training images for 10 epochs, with the same optimizer (AdamW), batch
size, batch order and head initialisation (seed 0), and keep the weights of the epoch with the best
accuracy on the test split:

- **plain**: the loop of the PyTorch transfer-learning tutorial (the "ConvNet as fixed feature
  extractor" section), written out below: every epoch runs the frozen backbone over every
  training batch, then over the test split;
- **ours**: ``fit(strategy="linear_probe")``, which runs the backbone once over each set (starting
  from an empty feature cache, so the extraction is timed) and trains the head on the features.

Prints both times, the speed-up (target: at least 10x) and both test accuracies (target: within
1 point), and, for information, the time and accuracy of ``fit``'s default probe (full-batch
L-BFGS). Exits with status 1 when a target is missed.

Run it from the repository root with ``python -m bench.bench_linear_probe``. The machine's cores
are shared with other work; ``--threads`` sets torch's threads (default 1, which keeps both runs
steady when other processes compete for the cores).
"""

from __future__ import annotations

import copy
import sys
import time

import torch
import torch.nn.functional as F

from bench._common import fresh_lite0, lite0_parser
from tlworkbench.data import load_dataset
from tlworkbench.evaluation import evaluate
from tlworkbench.features import FeatureCache
from tlworkbench.training import fit

TARGET_SPEEDUP = 10.0
TARGET_POINTS = 1.0


def plain_loop(model, train, test, *, epochs: int, lr: float, batch_size: int, seed: int) -> float:
    """The tutorial's fixed-feature-extractor training, returning the best test accuracy."""
    for p in model.backbone.parameters():
        p.requires_grad = False
    optimizer = torch.optim.AdamW(model.head.parameters(), lr=lr, weight_decay=0.01)
    best_weights, best_acc = copy.deepcopy(model.state_dict()), 0.0
    loader = train.loader(batch_size, shuffle=True, seed=seed)
    for _ in range(epochs):
        for phase in ("train", "val"):
            # The tutorial calls model.train(), which would also put the frozen BatchNorm layers on
            # batch statistics; the backbone stays in eval mode here, as in fit.
            model.eval()
            if phase == "train":
                model.head.train()
            batches = loader if phase == "train" else test.loader(batch_size)
            running_loss, running_correct, n = 0.0, 0, 0
            for x, y in batches:
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    out = model(x)
                    loss = F.cross_entropy(out, y)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_loss += loss.item() * len(y)
                running_correct += int((out.argmax(1) == y).sum())
                n += len(y)
            if phase == "val" and running_correct / n > best_acc:
                best_acc, best_weights = running_correct / n, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_weights)
    return best_acc


def main(argv: list[str] | None = None) -> int:
    parser = lite0_parser(__doc__, epochs=10, lr=3e-3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seed = 0

    def fresh():
        return fresh_lite0(seed)

    model = fresh()
    train = load_dataset("animal_mnist", max_size=args.train_size, seed=seed, transform=model)
    test = load_dataset("animal_mnist", split="test", transform=model)
    train.get_batch(torch.arange(1))  # the one-off resize to 64 px, outside both timings
    test.get_batch(torch.arange(1))
    print(f"efficientnet_lite0 @ 64 px, {len(train)} animal_mnist training images, {len(test)} test images, "
          f"{args.epochs} epochs, batch {args.batch_size}, AdamW lr {args.lr:g}, {torch.get_num_threads()} thread(s)")

    torch.manual_seed(seed)  # the head's dropout draws from the global generator in the plain loop
    start = time.perf_counter()
    plain_acc = plain_loop(model, train, test, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed)
    plain_s = time.perf_counter() - start

    model = fresh()
    start = time.perf_counter()
    fit(model, train, test, strategy="linear_probe", optimizer="adamw", epochs=args.epochs, lr=args.lr,
        batch_size=args.batch_size, schedule=None, seed=seed, cache=FeatureCache(), progress=False)
    ours_s = time.perf_counter() - start
    ours_acc = evaluate(model, test).accuracy

    # for information: fit's default probe (full-batch L-BFGS), also from an empty cache
    model = fresh()
    start = time.perf_counter()
    fit(model, train, test, strategy="linear_probe", epochs=args.epochs, seed=seed, cache=FeatureCache(),
        progress=False)
    default_s = time.perf_counter() - start
    default_acc = evaluate(model, test).accuracy

    speedup = plain_s / ours_s
    points = abs(ours_acc - plain_acc) * 100
    print(f"plain loop (backbone every epoch): {plain_s:7.1f} s   test accuracy {plain_acc:.4f}")
    print(f"fit(strategy='linear_probe'):     {ours_s:7.1f} s   test accuracy {ours_acc:.4f}  "
          "(AdamW, as the plain loop)")
    print(f"  the default probe (L-BFGS):     {default_s:7.1f} s   test accuracy {default_acc:.4f}  (for information)")
    print(f"speed-up: {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x)   "
          f"accuracy difference: {points:.2f} points (target <= {TARGET_POINTS:g})")
    return 0 if speedup >= TARGET_SPEEDUP and points <= TARGET_POINTS else 1


if __name__ == "__main__":
    sys.exit(main())
