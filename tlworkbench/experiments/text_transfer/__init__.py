"""Notebook 08, text transfer: what a pretrained sentence encoder gives a text classifier.

Three questions, on texts that install with Debian (nothing is downloaded):

* Transfer against the classic baseline (the text counterpart of notebooks 01 and 02): on
  fortunes of five harmless categories, TF-IDF with logistic regression, a linear probe on
  frozen MiniLM embeddings and MiniLM fine-tuned (the probe as its head, then its top two layers
  with the head), at 10, 50 and all labels per class, over seeds.
* Domain-specific pretraining: the generic MiniLM against the same model further trained on
  site-reliability text, on a technical task (Debian package synopses by section) and on the
  general one (fortunes).
* A text domain shift: a classifier trained on package synopses and tested on long
  descriptions; the shift measured on each encoder's embeddings (MMD², proxy A-distance) beside
  the accuracy drop, as in notebook 03.

Where fortunes are not installed (:func:`text_tasks`), the general task is left out and the
rest runs on the package descriptions.

Every arm chooses its hyper-parameters on a validation split carved from its label budget; every
difference is paired on the seed with :func:`~tlworkbench.diagnostics.paired_difference`.

* :mod:`.data`: the texts and their embeddings, computed once per encoder;
* :mod:`.runs`: the arms over seeds and budgets, the shift measures, the paired gains;
* :mod:`.result`: :class:`TextTransferResult`, :func:`conclude` and :func:`run_text_transfer`.
"""

from .data import (DOMAIN, ENCODERS, GENERAL, N_TEST, N_TOP, QUICK_POOL_PER_CLASS, duplicates, fortunes_data,
                   packages_data, task_note, text_tasks)
from .result import ARM_NAMES, TextTransferResult, conclude, run_text_transfer
from .runs import (BUDGETS, DOMAIN_BUDGETS, FIELDS, FINE_TUNE_BUDGET, FINE_TUNE_EPOCHS, FINE_TUNE_SEEDS, SEEDS,
                   budget_runs, domain_runs, package_split, paired_gains, split_budget)

__all__ = ["DOMAIN", "ENCODERS", "GENERAL", "N_TEST", "N_TOP", "QUICK_POOL_PER_CLASS", "duplicates", "fortunes_data",
           "packages_data", "task_note", "text_tasks", "ARM_NAMES", "TextTransferResult", "conclude", "run_text_transfer", "BUDGETS",
           "DOMAIN_BUDGETS", "FIELDS", "FINE_TUNE_BUDGET", "FINE_TUNE_EPOCHS", "FINE_TUNE_SEEDS", "SEEDS",
           "budget_runs", "domain_runs", "package_split", "paired_gains", "split_budget"]
