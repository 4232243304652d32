"""Notebook 06, few-shot and zero-shot learning: classes learned from a few examples, or from words.

* :mod:`.episodes`: 5-way 1- and 5-shot episodes on kana glyphs (a script no model of the
  workbench saw), support and queries in different fonts; prototypes on pixels, on ImageNet
  features and on a letters CNN's features, a probe, fine-tuning and a CNN from scratch, every
  setting chosen on hiragana episodes and scored on katakana ones;
* :mod:`.zero_shot`: a DeViSE-style ridge map from ImageNet features to MiniLM embeddings of
  class descriptions, trained on seen Fashion-MNIST classes and tested on unseen ones, against
  chance and shuffled descriptions, and in the generalised setting;
* :mod:`.targets`: :func:`choose_targets`, the sets of both halves: kana and Fashion-MNIST, or,
  where their Debian packages are absent, animal_mnist (settings chosen on five of its classes,
  episodes on the other five; ten animals described in words);
* :mod:`.result`: :class:`FewShotResult`, :func:`conclude`, :func:`run_few_shot_zero_shot`.
"""

from .episodes import (ARMS, FEATURE_ARMS, LR_CHOICES, N_EPISODES, N_QUERY, N_TRAIN_EPISODES, N_VAL_EPISODES,
                       N_VAL_TRAIN_EPISODES, N_WAY, SHOTS, SMALL_MODEL, SOURCE, STEP_CHOICES, TRAIN_ARMS,
                       choose_feature_settings, choose_train_settings, embed_kana, episode_runs, feature_method,
                       train_method)
from .targets import (ANIMAL_VAL_CLASSES, FALLBACK, FEW_SHOT_SETS, ZERO_SHOT_SETS, Targets, choose_targets,
                      embed_animals, embed_few_shot, few_shot_examples)
from .result import (FEATURE_COMPARISONS, LABELS, TARGET_WORDS, TRAIN_COMPARISONS, FewShotResult, accuracy_table,
                     conclude, few_shot_gains, run_few_shot_zero_shot, zero_shot_gains)
from .zero_shot import (ALPHA_GRID, ANIMAL_DESCRIPTIONS, CALIBRATION_GRID, DESCRIPTIONS, N_SHUFFLES, N_SPLITS,
                        N_UNSEEN, TEXT_MODEL, VAL_FOLDS, choose_alpha, descriptions_for, zero_shot_data,
                        zero_shot_runs, zero_shot_splits)

__all__ = [
    "N_WAY", "SHOTS", "N_QUERY", "N_EPISODES", "N_TRAIN_EPISODES", "N_VAL_EPISODES", "N_VAL_TRAIN_EPISODES",
    "SOURCE", "SMALL_MODEL", "FEATURE_ARMS", "TRAIN_ARMS", "ARMS", "LR_CHOICES", "STEP_CHOICES", "embed_kana",
    "choose_feature_settings", "choose_train_settings", "feature_method", "train_method", "episode_runs",
    "FEW_SHOT_SETS", "ZERO_SHOT_SETS", "FALLBACK", "ANIMAL_VAL_CLASSES", "Targets", "choose_targets",
    "embed_animals", "embed_few_shot", "few_shot_examples", "TARGET_WORDS",
    "DESCRIPTIONS", "ANIMAL_DESCRIPTIONS", "descriptions_for", "TEXT_MODEL", "N_SPLITS", "N_UNSEEN", "VAL_FOLDS",
    "N_SHUFFLES", "ALPHA_GRID",
    "CALIBRATION_GRID", "zero_shot_data", "zero_shot_splits", "choose_alpha", "zero_shot_runs",
    "LABELS", "FEATURE_COMPARISONS", "TRAIN_COMPARISONS", "FewShotResult", "accuracy_table", "few_shot_gains",
    "zero_shot_gains", "conclude", "run_few_shot_zero_shot",
]
