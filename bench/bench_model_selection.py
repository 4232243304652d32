"""Scoring every candidate model against fine-tuning every candidate model, on the CPU.

Both sides see the same candidates (notebook 05's nine: EfficientNet-Lite0/1/2 with ImageNet
weights at the profile's image size, six small CNNs) and the same 50 labelled ``mnist`` images
per class:

- **scoring**: ``rank_models`` with an empty feature cache: one feature extraction per
  candidate, then LogME, H-score, LEEP and NCE;
- **fine-tuning**: notebook 05's recipe (``default_recipe``: a linear probe, then a fine-tune of
  every layer but BatchNorm), then the test accuracy, for every candidate.

Loading the models is timed in neither (the ``tlw:`` sources are trained and cached before the
clock starts). Prints, per candidate and in total, the seconds of each side and the ratio
(target: scoring at least 50x faster than fine-tuning), the ratio without the test evaluation,
and Kendall's tau of each score against the accuracies reached. Exits with status 1 when the
target is missed.

Run it from the repository root with ``python -m bench.bench_model_selection``. The machine's
cores are shared with other work, so seconds vary from run to run; both sides run in the same
process, one after the other, with ``--threads`` torch threads (default 2).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from tlworkbench.experiments.model_selection import CANDIDATES, run_model_selection

TARGET_SPEEDUP = 50.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="mnist")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    result = run_model_selection(args.profile, target=args.target, per_class=args.per_class, seed=args.seed,
                                 progress=False)
    wall = time.perf_counter() - t0

    scores = result.scores.set_index("label")
    transfer = result.transfer.set_index("label")
    print(f"model selection on {args.target}, {args.per_class} labels per class, {result.n_test} test images, "
          f"profile {args.profile}, {torch.get_num_threads()} torch thread(s)")
    print(f"fine-tuning recipe: {result.recipe.describe()}")
    print()
    print(f"{'candidate':32s} {'scoring s':>10s} {'fine-tune s':>12s} {'(fit s)':>9s} {'ratio':>7s} {'accuracy':>9s}")
    for c in CANDIDATES:
        s = float(scores.loc[c.label, "score_seconds"])
        f = float(transfer.loc[c.label, "seconds"])
        fit_s = float(transfer.loc[c.label, "fit_seconds"])
        print(f"{c.label:32s} {s:10.2f} {f:12.2f} {fit_s:9.2f} {f / s:6.1f}x {transfer.loc[c.label, 'accuracy']:9.3f}")
    score_s = float(scores["score_seconds"].sum())
    tune_s = float(transfer["seconds"].sum())
    fit_s = float(transfer["fit_seconds"].sum())
    print(f"{'all ' + str(len(CANDIDATES)) + ' candidates':32s} {score_s:10.2f} {tune_s:12.2f} {fit_s:9.2f} "
          f"{tune_s / score_s:6.1f}x")
    print()
    print(f"scoring all candidates:                {score_s:8.2f} s "
          f"(features {scores['features_seconds'].sum():.2f} s, scores "
          f"{score_s - scores['features_seconds'].sum():.2f} s)")
    print(f"fine-tuning and evaluating all of them: {tune_s:8.2f} s (training {fit_s:.2f} s, test passes "
          f"{tune_s - fit_s:.2f} s)")
    print(f"ratio: {result.speedup:.1f}x (training only: {fit_s / score_s:.1f}x); target >= {TARGET_SPEEDUP:.0f}x")
    print("Kendall's tau against the accuracies: " + ", ".join(
        f"{row.score} {row.kendall_tau:.2f}" for row in result.correlation.itertuples()))
    print(f"wall time {wall:.1f} s")
    if result.speedup < TARGET_SPEEDUP:
        print(f"MISSED: scoring is {result.speedup:.1f}x faster than fine-tuning, below the {TARGET_SPEEDUP:.0f}x "
              "target.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
