"""Backbone features, computed once and kept: the cache behind linear probes and comparisons.

:mod:`.cache` holds :class:`FeatureCache` and the fingerprints that key it (what a key is made
of, where the cache lives, when entries are dropped); :mod:`.extract` computes the features.

The package also holds the checks that a data set fits a model (:func:`check_data`) and the rule
by which a data set is read through a model (:func:`prepare_data`), shared by training.

* :mod:`.cache`: :class:`FeatureCache` and the fingerprints of models and data;
* :mod:`.checks`: :func:`prepare_data` and :func:`check_data`;
* :mod:`.extract`: :func:`extract_features`.
"""

from .cache import FeatureCache, _resolve_cache, default_cache, fingerprint_data, fingerprint_model
from .checks import check_data, prepare_data
from .extract import extract_features, inference_batch_size, to_model_input

__all__ = [
    "FeatureCache",
    "default_cache",
    "extract_features",
    "fingerprint_model",
    "fingerprint_data",
    "prepare_data",
    "check_data",
    "to_model_input",
    "inference_batch_size",
]
