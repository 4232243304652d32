"""Transfer without target labels: clustering, anomaly scores and an autoencoder.

The methods behind notebook 07, usable on any embedding (raw pixels, frozen features, codes):

* :func:`cluster_scores`: k-means or agglomerative (Ward) clusters of an embedding, scored
  against the true classes with NMI and ARI (scikit-learn);
* :class:`EmbeddingAnomalyScorer`: fitted on the embeddings of "normal" examples, it scores new
  ones by their mean distance to the ``k`` nearest normal ones, or by an isolation forest;
* :func:`auroc` and :func:`auroc_interval`: the area under the ROC curve of such scores, with a
  bootstrap interval over the scored examples;
* :class:`ConvAutoencoder`, :func:`train_autoencoder`, :func:`encode_images`: a small
  convolutional autoencoder trained on unlabelled images, its learning rate and epoch chosen on
  the reconstruction loss of held-out images.

Every embedding is centred and projected on its first ``n_components`` principal components
before it is clustered or scored, so that representations of different widths (784 pixels, 1,280
features, 32 codes) pass through one pipeline.

Example:
    >>> from tlworkbench.unsupervised import auroc
    >>> auroc([0.1, 0.2, 0.9], [False, False, True])
    1.0
"""

from .autoencoder import AutoencoderFit, ConvAutoencoder, encode_images, train_autoencoder
from .embedding import (ANOMALY_METHODS, CLUSTER_METHODS, AurocInterval, EmbeddingAnomalyScorer, auroc, auroc_interval,
                        cluster_scores)

__all__ = [
    "CLUSTER_METHODS", "ANOMALY_METHODS", "cluster_scores", "EmbeddingAnomalyScorer", "auroc",
    "AurocInterval", "auroc_interval", "ConvAutoencoder", "AutoencoderFit", "train_autoencoder",
    "encode_images",
]
