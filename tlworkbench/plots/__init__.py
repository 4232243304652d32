"""Plots over the workbench's arrays, tidy tables and training histories.

Every function here is a view: it takes numpy arrays (or torch tensors), pandas DataFrames or a
History-like object, draws, and returns what it drew on. Plain functions take ``ax=None``, make a
figure only when no Axes is given, and return the Axes. Displays follow scikit-learn's pattern:
a display holds what was computed, ``.plot(ax=None)`` draws it, sets ``ax_`` (or ``axes_``) and
``figure_`` and returns the display; a function that returns one has computed and drawn it. The
confusion matrix is scikit-learn's own ``ConfusionMatrixDisplay`` (``from_predictions``).
Nothing here calls ``plt.show()`` or touches rcParams, and matplotlib is imported only when
something is drawn.

Modules, by family: ``history`` (learning curves), ``classification`` (confusion matrix,
per-class accuracy), ``curves`` (scores over label budgets), ``embedding``, ``images`` (image
grids), ``layers`` (transferred depth, freezing), ``lr_find`` (the learning-rate range test) and
``shift`` (accuracy drop against shift).

Example:
    >>> import tlworkbench as tlw
    >>> ax = tlw.plots.plot_history({"fine-tune": h1, "linear probe": h2}, metric="accuracy")
    >>> disp = tlw.plots.plot_confusion(y_true, y_pred, classes=names, normalize="true")
"""

from .classification import plot_confusion, plot_per_class
from .curves import plot_data_efficiency, plot_gap_panels, plot_transfer_gap
from .embedding import plot_embedding
from .history import plot_history
from .images import SampleGridDisplay, plot_domain_pairs, plot_samples, plot_worst
from .layers import plot_frozen_fraction, plot_layer_transfer, plot_trainable
from .lr_find import plot_lr_find
from .shift import plot_shift
from .speech import plot_condition_scores, plot_spectrogram
from .unsupervised import plot_anomaly_scores, plot_cluster_scores, plot_ranked_images
from .few_shot import plot_shot_accuracy, plot_zero_shot

__all__ = [
    "plot_shot_accuracy",
    "plot_zero_shot",
    "plot_spectrogram",
    "plot_condition_scores",
    "plot_history",
    "plot_lr_find",
    "plot_confusion",
    "plot_per_class",
    "plot_data_efficiency",
    "plot_transfer_gap",
    "plot_gap_panels",
    "plot_embedding",
    "SampleGridDisplay",
    "plot_samples",
    "plot_worst",
    "plot_domain_pairs",
    "plot_layer_transfer",
    "plot_trainable",
    "plot_frozen_fraction",
    "plot_shift",
    "plot_cluster_scores",
    "plot_anomaly_scores",
    "plot_ranked_images",
]
