"""Backbone features, computed once and kept: the cache behind linear probes and comparisons.

A frozen backbone gives the same features every epoch, so a linear probe needs one forward pass
over the data, not one per epoch. :func:`extract_features` computes them in eval mode and keeps
them in a :class:`FeatureCache` under a key made of four things: the model (its name and a
fingerprint of the backbone's weights and buffers), the data (name, length, a hash of the
targets and of the pixels or texts), the transform the data is read through, and the depth.
Change any of them and the key changes, so a cached tensor is never served for other inputs.

The cache lives in memory and, when a folder is given (``cache_dir=`` or ``TLW_FEATURE_CACHE``),
on disk as well, each file written atomically with its checksum inside; opening the folder clears
the temporary files that killed writes left there. In memory, features of a model whose backbone
has since changed are dropped when that model's new features arrive: no other model can ask for
them, and repeated fine-tuning of one model would otherwise fill the memory budget.

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
