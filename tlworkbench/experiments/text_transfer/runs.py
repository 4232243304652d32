"""The arms of notebook 08 over seeds and label budgets, each tuned on a validation split.

* ``tfidf``: TF-IDF and logistic regression, ``C`` chosen on validation;
* ``probe:<encoder>``: a linear probe on the frozen embeddings, its penalty chosen on validation;
* ``fine_tune``: the generic probe as the head, then the head and MiniLM's top two layers trained
  together, learning rate and epoch chosen on validation (the smallest budget and the first three
  seeds only: on a CPU it is the expensive arm).

A budget of ``k`` texts per class draws them with the seed (nested across budgets) and sets a
fifth aside for validation (:func:`~tlworkbench.experiments.feature_extraction.arms.budget_indices`);
the budget "all" takes the whole pool, a fifth of each class for validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ...config import resolve_progress
from ...data import validation_split
from ...diagnostics import mmd2, paired_difference, proxy_a_distance
from ...text import FINE_TUNE_LR_GRID, tune_fine_tune, tune_tfidf
from ...training import probe_accuracy
from ..feature_extraction.arms import VAL_FRACTION, _Indices, budget_indices, tune_probe
from .data import ENCODERS, N_TOP, features

__all__ = ["SEEDS", "BUDGETS", "DOMAIN_BUDGETS", "FINE_TUNE_BUDGET", "FINE_TUNE_EPOCHS", "TEST_FRACTION",
           "FIELDS", "FINE_TUNE_SEEDS", "SHORT_NAMES", "split_budget", "budget_runs", "package_split", "domain_runs", "paired_gains"]

SEEDS = (0, 1, 2, 3, 4)
#: Labels per class of fortunes; ``None`` is the whole pool.
BUDGETS = (10, 50, None)
#: Labels per class of the package descriptions (the pool is small).
DOMAIN_BUDGETS = (10, None)
FINE_TUNE_BUDGET = 10
#: Seeds of the fine-tuned arm: the first three (it costs about ten probes' worth of CPU each).
FINE_TUNE_SEEDS = SEEDS[:3]
FINE_TUNE_EPOCHS = 4
#: The package fields: trained on synopses, tested on synopses and on long descriptions.
FIELDS = ("synopsis", "long")
#: The package descriptions' test share, drawn again for every seed (stratified by section).
TEST_FRACTION = 0.4


def split_budget(labels: np.ndarray, classes: Sequence[str], per_class: int | None, seed: int) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
    """Indices of a budget's training and validation parts (``per_class=None``: the whole pool).

    Example:
        >>> tr, val = split_budget(np.repeat([0, 1], 10), ["a", "b"], None, 0)
        >>> len(tr), len(val)
        (16, 4)
    """
    if per_class is not None:
        return budget_indices(labels, classes, per_class=per_class, seed=seed)
    tr, val = validation_split(_Indices(np.asarray(labels), classes), fraction=VAL_FRACTION, seed=seed)
    return tr, val


def _label(per_class: int | None) -> str:
    return "all" if per_class is None else str(per_class)


def _probe(data: dict[str, Any], encoder: str, part: str, y: np.ndarray, tr: np.ndarray, val: np.ndarray,
           test_part: str, y_test: np.ndarray, seed: int, n_classes: int) -> tuple[float, Any]:
    x = features(data, encoder, part)
    yt = torch.as_tensor(y)
    choice = tune_probe((x[tr], yt[tr]), (x[val], yt[val]), num_classes=n_classes, seed=seed)
    acc = probe_accuracy(choice.output, features(data, encoder, test_part), torch.as_tensor(y_test))
    return acc, choice


def budget_runs(data: dict[str, Any], *, seeds: Sequence[int] = SEEDS, budgets: Sequence[int | None] = BUDGETS,
                fine_tune: bool = True, progress: bool | None = None) -> pd.DataFrame:
    """Every arm on fortunes at every budget and seed.

    Returns:
        One row per seed, budget and arm: ``seed``, ``budget`` ("10", "all"), ``per_class``
        (texts per class drawn, the pool's mean for "all"), ``arm``, ``accuracy``, ``chosen``
        (the hyper-parameters picked), ``n_train``, ``n_val``.
    """
    y, y_test, classes = data["y"]["pool"], data["y"]["test"], data["classes"]
    texts = data["texts"]
    rows = []
    jobs = [(s, b) for s in seeds for b in budgets]
    for seed, per_class in tqdm(jobs, desc="fortunes runs", disable=not resolve_progress(progress), leave=False):
        tr, val = split_budget(y, classes, per_class, seed)
        common = {"seed": seed, "budget": _label(per_class),
                  "per_class": per_class or round(len(y) / len(classes)), "n_train": len(tr), "n_val": len(val)}
        tf = tune_tfidf(([texts["pool"][i] for i in tr], y[tr]), ([texts["pool"][i] for i in val], y[val]))
        rows.append({**common, "arm": "tfidf", "accuracy": float(tf.output.score(texts["test"], y_test)),
                     "chosen": f"C={tf.best:g}"})
        for encoder in ENCODERS:
            acc, choice = _probe(data, encoder, "pool", y, tr, val, "test", y_test, seed, len(classes))
            rows.append({**common, "arm": f"probe:{encoder}", "accuracy": acc, "chosen": f"wd={choice.best:g}"})
            if encoder == ENCODERS[0]:
                head = choice.output
        if fine_tune and per_class == FINE_TUNE_BUDGET and seed in seeds[:len(FINE_TUNE_SEEDS)]:
            hidden = data["emb"][ENCODERS[0]]["pool"].hidden
            ft = tune_fine_tune(data["model"], head, ([hidden[i] for i in tr], y[tr]), ([hidden[i] for i in val], y[val]),
                                grid=FINE_TUNE_LR_GRID, n_top=N_TOP, epochs=FINE_TUNE_EPOCHS, seed=seed)
            acc = ft.output.score(data["emb"][ENCODERS[0]]["test"].hidden, y_test)[0]
            rows.append({**common, "arm": "fine_tune", "accuracy": acc, "chosen": f"lr={ft.best:g}"})
    return pd.DataFrame(rows)


def package_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pool and test indices of the package descriptions for ``seed`` (stratified by section)."""
    from sklearn.model_selection import train_test_split

    pool, test = train_test_split(np.arange(len(y)), test_size=TEST_FRACTION, stratify=y, random_state=seed)
    return np.sort(pool), np.sort(test)


def domain_runs(data: dict[str, Any], *, seeds: Sequence[int] = SEEDS,
                budgets: Sequence[int | None] = DOMAIN_BUDGETS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """TF-IDF and both probes trained on package synopses, per seed (which redraws the test
    packages too) and budget, each tested on the test packages' synopses (the domain task) and
    on their long descriptions (a shift of field: longer texts, other words).

    The shift is measured on each encoder's embeddings, from the pool's synopses to each test
    field: MMD² (RBF kernel, median bandwidth) and the proxy A-distance.

    Returns:
        ``(runs, shift)``: ``runs`` has the columns of :func:`budget_runs` and ``test``
        ("synopsis", "long"); ``shift`` one row per seed, encoder and test field: ``mmd2``,
        ``a_distance``.
    """
    y_all, classes, texts = data["y"], data["classes"], data["texts"]
    rows, shift = [], []
    for seed in seeds:
        pool, test = package_split(y_all, seed)
        y, y_test = y_all[pool], y_all[test]
        for encoder in ENCODERS:
            x = features(data, encoder, "synopsis")[pool].numpy()
            for field in FIELDS:
                xt = features(data, encoder, field)[test].numpy()
                shift.append({"seed": seed, "encoder": encoder, "test": field, "mmd2": mmd2(x, xt),
                              "a_distance": proxy_a_distance(x, xt, seed=seed)})
        for per_class in budgets:
            tr, val = split_budget(y, classes, per_class, seed)
            common = {"seed": seed, "budget": _label(per_class), "per_class": per_class or round(len(y) / len(classes)),
                      "n_train": len(tr), "n_val": len(val), "n_test": len(test)}
            synopses = texts["synopsis"]
            tf = tune_tfidf(([synopses[i] for i in pool[tr]], y[tr]), ([synopses[i] for i in pool[val]], y[val]))
            for field in FIELDS:
                rows.append({**common, "arm": "tfidf", "test": field, "chosen": f"C={tf.best:g}", "accuracy": float(
                    tf.output.score([texts[field][i] for i in test], y_test))})
            for encoder in ENCODERS:
                x = features(data, encoder, "synopsis")[pool]
                yt = torch.as_tensor(y)
                choice = tune_probe((x[tr], yt[tr]), (x[val], yt[val]), num_classes=len(classes), seed=seed)
                for field in FIELDS:
                    acc = probe_accuracy(choice.output, features(data, encoder, field)[test], torch.as_tensor(y_test))
                    rows.append({**common, "arm": f"probe:{encoder}", "test": field, "chosen": f"wd={choice.best:g}",
                                 "accuracy": acc})
    return pd.DataFrame(rows), pd.DataFrame(shift)


#: What the printed intervals call each arm and field.
SHORT_NAMES = {"tfidf": "TF-IDF", "probe:minilm": "MiniLM probe", "probe:minilm_sre": "SRE MiniLM probe",
               "fine_tune": "fine-tuned MiniLM", "synopsis": "synopses", "long": "long descriptions"}


def paired_gains(runs: pd.DataFrame, comparisons: Sequence[tuple[str, str]], *, by: Sequence[str] = ("budget",),
                 column: str = "arm", value: str = "accuracy") -> pd.DataFrame:
    """Paired differences (in points) between arms, per group of ``by``, paired on the seed.

    Returns:
        One row per group and comparison: the ``by`` columns, ``comparison`` ("a - b"), ``mean``,
        ``low``, ``high``, ``n``, ``verdict``, ``interval`` (the printed difference).

    Example:
        >>> runs = pd.DataFrame({"seed": [0, 1, 0, 1], "budget": "10", "arm": ["a", "a", "b", "b"],
        ...                      "accuracy": [0.5, 0.6, 0.4, 0.45]})
        >>> paired_gains(runs, [("a", "b")])["n"].tolist()
        [2]
    """
    by = list(by)
    rows = []
    for group, part in runs.groupby(by, sort=False):
        wide = part.pivot(index="seed", columns=column, values=value)
        for a, b in comparisons:
            if a not in wide or b not in wide:
                continue
            pair = wide[[a, b]].dropna()
            d = paired_difference(100 * pair[a], 100 * pair[b], unit="points",
                                  names=(SHORT_NAMES.get(a, a), SHORT_NAMES.get(b, b)))
            rows.append({**dict(zip(by, group if isinstance(group, tuple) else (group,))), "comparison": f"{a} - {b}",
                         "mean": d.mean, "low": d.low, "high": d.high, "n": d.n, "verdict": d.verdict,
                         "interval": str(d)})
    return pd.DataFrame(rows)
