"""How fast the quick-profile loader feeds a model, against the model itself, on the CPU.

Prints, side by side in one run:

- the one-off resize of ``animal_mnist`` (train split, quick profile: 4,000 images) to
  EfficientNet-Lite0's 64 px, 3-channel input;
- the :class:`~tlworkbench.data.BatchLoader`'s images per second over one full epoch
  (batch 64, shuffled, normalisation included; the median of three epochs);
- EfficientNet-Lite0's forward pass at 64 px (eval mode, ``torch.no_grad``, batch 64);

and their ratio. The loader must be at least 3x faster than the model, so that the model, not the
data, sets the pace; the script exits with status 1 when it is not.

Run it from the repository root with ``python -m bench.bench_loader`` (or ``python
bench/bench_loader.py`` where tlworkbench is installed); ``--batches`` sets how many model batches
are timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from tlworkbench.data import load_dataset
from tlworkbench.zoo import load_model

REQUIRED_RATIO = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="model batches to time (after one warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    model = load_model("efficientnet_lite0", image_size=64).eval()
    ds = load_dataset("animal_mnist", split="train", transform=model, profile="quick")

    start = time.perf_counter()
    ds.get_pixels(torch.arange(1))  # the one-off resize of the whole set to 3x64x64
    resize_s = time.perf_counter() - start

    epochs = []
    for _ in range(3):
        loader = ds.loader(args.batch_size, shuffle=True, device="cpu")
        start, n = time.perf_counter(), 0
        for x, _ in loader:
            n += len(x)
        epochs.append(n / (time.perf_counter() - start))
    loader_ips = statistics.median(epochs)

    batches = [x for x, _ in zip(ds.loader(args.batch_size, shuffle=True, seed=1), range(args.batches + 1))]
    with torch.no_grad():
        model(batches[0][0])  # warm-up
        start = time.perf_counter()
        for x, _ in batches[1:]:
            model(x)
        model_ips = sum(len(x) for x, _ in batches[1:]) / (time.perf_counter() - start)

    ratio = loader_ips / model_ips
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; animal_mnist train, quick profile: "
          f"{len(ds)} images -> {tuple(x.shape[1:])} for EfficientNet-Lite0")
    print(f"one-off resize to 64 px:  {resize_s * 1000:8.1f} ms")
    print(f"{'':26}{'images/s':>12}")
    print(f"{'BatchLoader (1 epoch)':26}{loader_ips:12,.0f}   batch {args.batch_size}, incl. normalisation")
    print(f"{'EfficientNet-Lite0 fwd':26}{model_ips:12,.0f}   batch {args.batch_size}, eval, no_grad, 64 px")
    verdict = "OK" if ratio >= REQUIRED_RATIO else "TOO SLOW"
    print(f"loader / model ratio:     {ratio:8.1f}x   (required >= {REQUIRED_RATIO:.0f}x: {verdict})")
    return 0 if ratio >= REQUIRED_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
