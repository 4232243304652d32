"""Scoring every candidate model against fine-tuning every candidate model, on the CPU.

Both sides see the same candidates (notebook 05's, after its leakage check) and the same
labelled ``mnist`` images (50 per class: 40 to train, 10 to validate):

- **scoring**: ``rank_models`` with an empty feature cache: one feature extraction per
  candidate, then LogME, H-score, LEEP, NCE and a linear probe;
- **fine-tuning**: what choosing a model by training needs: notebook 05's ground truth, a
  converged linear probe then every layer fine-tuned at each learning rate of a grid
  (``--lrs``, default the whole ``LR_GRID``) for ``--epochs`` epochs (ImageNet backbones) and
  ``--small-epochs`` (small CNNs), learning rate and epoch chosen on validation.

Prints, per candidate and in total, the CPU seconds of each side and their ratio (target:
scoring at least 20x faster than the tuned fine-tunes), and Kendall's tau of each score with its
bootstrap interval. Exits with status 1 when the target is missed.

Run it from the repository root with ``python -m bench.bench_model_selection`` (several minutes
on 2 idle cores); ``--threads`` sets the torch threads (default 1, so CPU seconds add up).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from tlworkbench.experiments.model_selection import TuningPlan, plan_for, run_model_selection
from tlworkbench.training import LR_GRID

TARGET_SPEEDUP = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="mnist")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", default="quick")
    default = plan_for("quick")
    parser.add_argument("--epochs", type=int, default=default.epochs, help="epochs of an ImageNet backbone")
    parser.add_argument("--small-epochs", type=int, default=default.small_epochs, help="epochs of a small CNN")
    parser.add_argument("--lrs", type=float, nargs="+", default=list(LR_GRID),
                        help="the learning-rate grid every arm is fine-tuned at")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.small_epochs < 1 or any(lr <= 0 for lr in args.lrs):
        parser.error("--epochs and --small-epochs must be at least 1 and every --lrs value positive")
    torch.set_num_threads(args.threads)

    plan = TuningPlan(lrs=tuple(args.lrs), epochs=args.epochs, small_epochs=args.small_epochs)
    t0 = time.perf_counter()
    result = run_model_selection(profile=args.profile, target=args.target, per_class=args.per_class, seed=args.seed,
                                 plan=plan, progress=False)
    wall = time.perf_counter() - t0
    scores = result.scores.set_index("label")
    table = result.table.set_index("label")
    print(f"model selection on {args.target}, {args.per_class} labels per class, {result.n_test} test images, "
          f"profile {args.profile}, {torch.get_num_threads()} torch thread(s)")
    print(f"fine-tuning: {plan.describe()}")
    print()
    print(f"{'candidate':38s} {'scoring s':>10s} {'fine-tune s':>12s} {'ratio':>7s} {'best lr':>8s} {'accuracy':>9s}")
    for label in table.index:
        s = float(scores.loc[label, "score_seconds"])
        f = float(table.loc[label, "seconds"])
        print(f"{label:38s} {s:10.2f} {f:12.2f} {f / s:6.1f}x {table.loc[label, 'lr']:8g} "
              f"{table.loc[label, 'accuracy']:9.3f}")
    timing = result.timing.set_index("what")["seconds"]
    ratio = float(timing["fine-tuning"] / timing["scoring"])
    print(f"all {len(table)} candidates: scoring {timing['scoring']:.1f} CPU s, fine-tuning "
          f"{timing['fine-tuning']:.1f} CPU s, ratio {ratio:.1f}x; target >= {TARGET_SPEEDUP:.0f}x")
    print(f"small CNN from scratch (same grid): {result.scratch['accuracy']:.3f}")
    print("Kendall's tau with the tuned accuracies: " + ", ".join(
        f"{row.score} {row.kendall_tau:.2f} [{row.tau_low:.2f}, {row.tau_high:.2f}]"
        for row in result.ranking.itertuples()))
    print(f"wall time {wall:.1f} s")
    if ratio < TARGET_SPEEDUP:
        print(f"MISSED: scoring is {ratio:.1f}x faster than fine-tuning, below the {TARGET_SPEEDUP:.0f}x target.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
