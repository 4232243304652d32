"""Tests of tlworkbench.plots: they check the artists drawn (data, labels, colours), not pixels."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import same_color  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from tlworkbench import plots  # noqa: E402
from tlworkbench.errors import InvalidParameterError, TLWError  # noqa: E402


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def history_frame(offset=0.0):
    rows = []
    for epoch in range(1, 4):
        rows.append({"epoch": epoch, "split": "train", "loss": 1.0 / epoch + offset,
                     "accuracy": 0.5 + 0.1 * epoch})
        rows.append({"epoch": epoch, "split": "val", "loss": 1.2 / epoch + offset,
                     "accuracy": 0.4 + 0.1 * epoch})
    return pd.DataFrame(rows)


def budget_frame():
    rows = []
    for strategy, base in (("linear_probe", 0.6), ("scratch", 0.5)):
        for per_class in (1, 5, 50):
            for seed in (0, 1, 2):
                rows.append({"strategy": strategy, "per_class": per_class, "seed": seed,
                             "accuracy": base + 0.001 * per_class + 0.01 * seed})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- plot_history


def test_plot_history_draws_train_and_val(pyplot):
    ax = plots.plot_history(history_frame(), metric="loss")
    train, val = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(train.get_ydata(), [1.0, 0.5, 1 / 3])
    np.testing.assert_allclose(val.get_ydata(), [1.2, 0.6, 0.4])
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert same_color(train.get_color(), val.get_color())
    assert legend_texts(ax) == ["train", "val"]
    assert ax.get_ylabel() == "loss" and ax.get_xlabel() == "epoch"


def test_plot_history_accepts_history_objects_and_dicts(pyplot):
    class History:
        frame = history_frame()

    _, (ax1, ax2) = pyplot.subplots(1, 2)
    assert plots.plot_history(History(), metric="accuracy", ax=ax1, label="ft") is ax1
    assert legend_texts(ax1) == ["ft (train)", "ft (val)"]

    plots.plot_history({"a": History(), "b": history_frame(offset=1.0)}, ax=ax2)
    lines = ax2.get_lines()
    assert legend_texts(ax2) == ["a (train)", "a (val)", "b (train)", "b (val)"]
    assert same_color(lines[0].get_color(), lines[1].get_color())
    assert not same_color(lines[0].get_color(), lines[2].get_color())
    np.testing.assert_allclose(lines[2].get_ydata(), [2.0, 1.5, 4 / 3])


def test_plot_history_averages_repeated_epochs_and_skips_missing_values(pyplot):
    frame = pd.DataFrame({"epoch": [1, 1, 2, 2], "split": ["train"] * 4,
                          "loss": [1.0, 3.0, 1.0, np.nan]})
    (line,) = plots.plot_history(frame).get_lines()
    np.testing.assert_allclose(line.get_ydata(), [2.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"history": [1, 2]}, "'history' parameter of plot_history must be a DataFrame"),
        ({"history": history_frame(), "metric": "los"}, "Did you mean 'loss'"),
        ({"history": {"a": history_frame()}, "label": "x"}, "'label' parameter"),
        ({"history": {}}, "empty dict"),
        ({"history": history_frame(), "ax": "ax"}, "'ax' parameter of plot_history"),
    ],
)
def test_plot_history_rejects_bad_input(pyplot, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_history(**kwargs)


# ---------------------------------------------------------------------------- confusion


Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 2, 1])
Y_PRED = np.array([0, 1, 1, 1, 2, 0, 2, 1])


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_plot_confusion_is_sklearns_display(pyplot, normalize):
    disp = plots.plot_confusion(Y_TRUE, Y_PRED, classes=["cat", "dog", "fox"], normalize=normalize)
    assert isinstance(disp, ConfusionMatrixDisplay)
    expected = confusion_matrix(Y_TRUE, Y_PRED, normalize=normalize)
    np.testing.assert_allclose(disp.im_.get_array(), expected)
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["cat", "dog", "fox"]
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["cat", "dog", "fox"]
    assert disp.figure_ is disp.ax_.figure
    assert disp.text_.shape == (3, 3)
    fmt = "d" if normalize is None else ".2f"
    assert disp.text_[2, 0].get_text() == format(expected[2, 0], fmt)
    assert disp.im_.get_cmap().name == "Blues"


def test_confusion_keeps_classes_that_never_occur(pyplot):
    disp = plots.plot_confusion(Y_TRUE, Y_PRED, classes=["a", "b", "c", "d"], values=False,
                                colorbar=False)
    assert disp.confusion_matrix.shape == (4, 4)
    assert disp.text_ is None
    assert disp.confusion_matrix[3].sum() == 0
    assert len(disp.figure_.axes) == 1  # no colour bar


def test_confusion_accepts_tensors_and_string_labels(pyplot):
    disp = plots.plot_confusion(torch.tensor(Y_TRUE), torch.tensor(Y_PRED))
    np.testing.assert_array_equal(disp.im_.get_array(), confusion_matrix(Y_TRUE, Y_PRED))
    names = np.array(["x", "y", "z"])
    disp = plots.plot_confusion(names[Y_TRUE], names[Y_PRED], normalize="true")
    np.testing.assert_allclose(
        disp.ax_.images[0].get_array(), confusion_matrix(Y_TRUE, Y_PRED, normalize="true")
    )
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["x", "y", "z"]


def test_confusion_draws_on_given_ax_and_rotates_long_names(pyplot):
    _, ax = pyplot.subplots()
    classes = ["airplane", "bird", "cat", "deer", "dog", "frog"]
    y = np.arange(6)
    disp = plots.plot_confusion(y, y, classes=classes, ax=ax, colorbar=False)
    assert disp.ax_ is ax
    ticks = ax.get_xticklabels()
    assert [t.get_text() for t in ticks] == classes
    assert ticks[0].get_rotation() == 45 and ticks[0].get_horizontalalignment() == "right"
    short = plots.plot_confusion(Y_TRUE, Y_PRED, ax=pyplot.subplots()[1])
    assert short.ax_.get_xticklabels()[0].get_rotation() == 0


@pytest.mark.parametrize(
    ("y_pred", "kwargs", "match"),
    [
        (Y_PRED[:-1], {}, "'y_pred' parameter of plot_confusion must be the same length as 'y_true' "
                          r"\(8\). Got length 7"),
        (Y_PRED, {"normalize": "rows"}, "'normalize' parameter"),
        (Y_PRED, {"classes": ["a", "b"]}, "labels in 0..1 to index 'classes'"),
        (Y_PRED, {"labels": [0, 1, 2], "classes": ["a"]}, "one name per label"),
        (Y_PRED, {"ax": "ax"}, "'ax' parameter of plot_confusion"),
    ],
)
def test_confusion_rejects_bad_input(pyplot, y_pred, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        plots.plot_confusion(Y_TRUE, y_pred, **kwargs)


# ---------------------------------------------------------------------------- per class


def test_plot_per_class(pyplot):
    table = pd.DataFrame({"class": ["cat", "dog", "fox"], "accuracy": [0.9, 0.5, 0.7],
                          "support": [10, 20, 30]})
    ax = plots.plot_per_class(table)
    assert len(ax.patches) == 3
    np.testing.assert_allclose([p.get_width() for p in ax.patches], [0.9, 0.5, 0.7])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "fox"]
    assert [t.get_text() for t in ax.texts] == ["n=10", "n=20", "n=30"]
    assert ax.yaxis_inverted()


def test_plot_per_class_rejects_missing_column(pyplot):
    match = "'table' parameter of plot_per_class must be a DataFrame with a column 'accuracy'.*Rename it"
    with pytest.raises(InvalidParameterError, match=match):
        plots.plot_per_class(pd.DataFrame({"class": ["a"], "acuracy": [1.0]}))


# ---------------------------------------------------------------------------- data efficiency


def test_plot_data_efficiency_means_bands_and_log_axis(pyplot):
    ax = plots.plot_data_efficiency(budget_frame())
    probe, scratch = ax.get_lines()
    np.testing.assert_array_equal(probe.get_xdata(), [1, 5, 50])
    np.testing.assert_allclose(probe.get_ydata(), [0.611, 0.615, 0.66])
    np.testing.assert_allclose(scratch.get_ydata(), [0.511, 0.515, 0.56])
    assert len(ax.collections) == 2
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose([band.min(), band.max()], [0.601, 0.67])
    assert legend_texts(ax) == ["linear_probe", "scratch"]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "5", "50"]
    assert ax.get_xlabel() == "labels per class"


def test_plot_data_efficiency_without_band_or_log(pyplot):
    frame = budget_frame()
    frame = frame[frame["per_class"] < 10]
    ax = plots.plot_data_efficiency(frame, band=None)
    assert len(ax.collections) == 0
    assert ax.get_xscale() == "linear"
    ci = plots.plot_data_efficiency(frame, band="ci", ax=pyplot.subplots()[1])
    half = ci.collections[0].get_paths()[0].vertices[:, 1].max() - 0.615
    assert half == pytest.approx(4.303 * 0.01 / np.sqrt(3), rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": "per_clas"}, "Did you mean 'per_class'"),
        ({"band": "iqr"}, "'band' parameter of plot_data_efficiency"),
        ({"y": "strategy"}, "'y' parameter of plot_data_efficiency must be the name of a numeric"),
    ],
)
def test_plot_data_efficiency_rejects_bad_input(pyplot, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_data_efficiency(budget_frame(), **kwargs)


# ---------------------------------------------------------------------------- transfer gap


def test_plot_transfer_gap(pyplot):
    frame = budget_frame()
    frame.loc[(frame["strategy"] == "linear_probe") & (frame["per_class"] == 50), "accuracy"] -= 0.3
    ax = plots.plot_transfer_gap(frame)
    gap = ax.get_lines()[0]
    np.testing.assert_allclose(gap.get_xdata(), [1, 5, 50])
    np.testing.assert_allclose(gap.get_ydata(), [0.1, 0.1, -0.2])
    zero = ax.get_lines()[1]
    np.testing.assert_array_equal(zero.get_ydata(), [0, 0])
    # paired per seed: every seed has the same gap, so the band has no width
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(-0.2) and band.max() == pytest.approx(0.1)
    (region,) = ax.patches
    assert region.get_y() + region.get_height() == pytest.approx(0.0)
    assert region.get_y() <= -0.2
    assert "negative transfer" in [t.get_text() for t in ax.texts]
    assert legend_texts(ax) == ["linear_probe - scratch"]


def test_gap_panels_draw_only_the_arms_each_panel_has_and_name_the_shaded_region(pyplot):
    frame = budget_frame()
    probe = frame[frame["strategy"] == "linear_probe"]
    runs = pd.concat([
        frame[frame["strategy"] == "scratch"].assign(depth=0),
        probe.assign(depth=0),
        probe.assign(depth=3),
        probe.assign(strategy="random twin", depth=3, accuracy=probe["accuracy"] - 0.2),  # only at depth 3
    ], ignore_index=True)
    axes = plots.plot_gap_panels(runs, panel="depth", baseline="scratch", shade_label="below scratch")
    assert [legend_texts(ax) for ax in axes] == [["linear_probe"], ["linear_probe", "random twin"]]
    assert all("below scratch" in [t.get_text() for t in ax.texts] for ax in axes)
    bare = plots.plot_transfer_gap(frame, shade_label=None)
    assert not bare.texts


def test_plot_transfer_gap_without_seeds_and_several_strategies(pyplot):
    frame = budget_frame().drop(columns="seed")
    extra = frame[frame["strategy"] == "scratch"].assign(strategy="fine_tune")
    extra["accuracy"] += 0.2
    ax = plots.plot_transfer_gap(pd.concat([frame, extra]),
                                 transfer=["linear_probe", "fine_tune"], band=None)
    assert len(ax.collections) == 0
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.1] * 3)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.2] * 3)


def test_plot_transfer_gap_rejects_unknown_strategy(pyplot):
    with pytest.raises(ValueError, match="Did you mean 'scratch'"):
        plots.plot_transfer_gap(budget_frame(), baseline="scrach")


# ---------------------------------------------------------------------------- embedding


def embedding_data(n=40):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 3
    features = rng.normal(size=(n, 5)) + labels[:, None] * 3.0
    domains = np.where(np.arange(n) < n // 2, "source", "target")
    return features, labels, domains


def test_plot_embedding_pca_with_domains(pyplot):
    features, labels, domains = embedding_data()
    ax = plots.plot_embedding(torch.tensor(features), labels, domains=domains,
                              classes=["a", "b", "c"])
    assert len(ax.collections) == 2
    assert [len(c.get_offsets()) for c in ax.collections] == [20, 20]
    legends = [a for a in ax.get_children() if isinstance(a, Legend)]
    texts = sorted([t.get_text() for t in leg.get_texts()] for leg in legends)
    assert texts == [["a", "b", "c"], ["source", "target"]]
    assert ax.get_xlabel().startswith("PC 1")
    # one colour per class: points of class 0 share the first colour
    colors = ax.collections[0].get_facecolors()
    assert same_color(colors[0], colors[3]) and not same_color(colors[0], colors[1])


def test_plot_embedding_tsne_subsamples(pyplot):
    features, labels, _ = embedding_data(60)
    # OpenMP threads spinning on a busy machine make even a tiny t-SNE take seconds
    with threadpool_limits(limits=1):
        ax = plots.plot_embedding(features, labels, method="tsne", max_points=30)
    (points,) = ax.collections
    assert len(points.get_offsets()) == 30
    assert ax.get_xlabel() == "t-SNE 1"
    assert legend_texts(ax) == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "umap"}, "'method' parameter"),
        ({"labels": np.zeros(3)}, "one entry per row"),
        ({"features": np.zeros(10)}, r"shaped \(N, D\)"),
        ({"max_points": 0}, "'max_points' parameter of plot_embedding must be an int >= 1"),
    ],
)
def test_plot_embedding_rejects_bad_input(pyplot, kwargs, match):
    features, labels, _ = embedding_data()
    args = {"features": features, "labels": labels, **kwargs}
    with pytest.raises(ValueError, match=match):
        plots.plot_embedding(args.pop("features"), args.pop("labels"), **args)


# ---------------------------------------------------------------------------- image grids


def test_plot_samples_titles_and_colours(pyplot):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 8, 8), dtype=np.uint8)
    disp = plots.plot_samples(images, labels=[0, 1, 2, 0, 1], predictions=[0, 2, 2, 0, 0],
                              classes=["a", "b", "c"], ncols=3)
    assert isinstance(disp, plots.SampleGridDisplay)
    assert disp.axes_.shape == (2, 3)
    assert len(disp.images_) == 5
    titles = [ax.title for ax in disp.axes_.flat[:5]]
    assert [t.get_text() for t in titles] == ["a / a", "b / c", "c / c", "a / a", "b / a"]
    for title, right in zip(titles, [True, False, True, True, False], strict=True):
        assert same_color(title.get_color(), "tab:green" if right else "tab:red")
    np.testing.assert_array_equal(disp.correct, [True, False, True, True, False])
    np.testing.assert_allclose(disp.images_[0].get_array(), images[0] / 255.0)
    assert disp.figure_ is disp.axes_[0, 0].figure


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((2, 1, 6, 7), (6, 7)), ((2, 3, 6, 7), (6, 7, 3)), ((2, 6, 7, 3), (6, 7, 3))],
)
def test_plot_samples_layouts(pyplot, shape, expected):
    images = torch.rand(shape)
    disp = plots.plot_samples(images)
    assert disp.images_[0].get_array().shape == expected
    assert disp.axes_.shape == (1, 2)
    assert disp.axes_[0, 0].get_title() == ""


def test_plot_samples_rescales_normalised_floats(pyplot):
    images = np.stack([np.linspace(-2.0, 3.0, 16).reshape(4, 4), np.full((4, 4), 0.25)])
    disp = plots.plot_samples(images, labels=["x", "y"])
    first, second = (im.get_array() for im in disp.images_)
    assert first.min() == 0.0 and first.max() == 1.0
    np.testing.assert_allclose(second, 0.25)  # already in [0, 1]: left alone
    assert [ax.get_title() for ax in disp.axes_.flat] == ["x", "y"]


def test_plot_samples_on_given_axes(pyplot):
    fig, axes = pyplot.subplots(1, 3)
    disp = plots.plot_samples(np.zeros((2, 4, 4)), ax=axes)
    assert disp.figure_ is fig and len(disp.images_) == 2
    assert disp.bounding_ax_ is None
    with pytest.raises(InvalidParameterError, match="at least 2 of them"):
        plots.plot_samples(np.zeros((2, 4, 4)), ax=[axes[0]])
    with pytest.raises(InvalidParameterError, match="'figure' parameter .* None when 'ax' is given"):
        plots.plot_samples(np.zeros((2, 4, 4)), ax=axes, figure=fig)


def test_plot_samples_divides_a_single_axes_into_the_grid(pyplot):
    fig, (left, right) = pyplot.subplots(1, 2)
    disp = plots.plot_samples(np.zeros((5, 4, 4)), ncols=3, ax=right)
    assert disp.bounding_ax_ is right and not right.axison
    assert disp.axes_.shape == (2, 3) and disp.figure_ is fig
    assert all(cell.get_position().x0 >= right.get_position().x0 - 1e-9 for cell in disp.axes_.flat)
    assert len(left.images) == 0


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((4, 4)), {}, r"Got shape \(4, 4\)"),
        (np.zeros((2, 5, 4, 4)), {}, r"\(N, 3, H, W\)"),
        (np.zeros((2, 4, 4)), {"labels": [1]}, "one entry per image"),
        (np.zeros((2, 4, 4)), {"ncols": 0}, "'ncols' parameter .* must be an int >= 1"),
        (np.zeros((2, 4, 4)), {"labels": [0, 5], "classes": ["a"]},
         "'labels' parameter .* integer class indices in 0..0 to index 'classes'. Got 5"),
    ],
)
def test_plot_samples_rejects_bad_input(pyplot, images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_samples(images, **kwargs)


def test_plot_domain_pairs(pyplot):
    domains = {"mnist": np.zeros((5, 8, 8)), "svhn": np.ones((3, 3, 10, 10))}
    disp = plots.plot_domain_pairs(domains, n=4, labels={"mnist": [1, 2, 3, 4, 5]})
    assert disp.axes_.shape == (2, 4)
    assert [ax.get_ylabel() for ax in disp.axes_[:, 0]] == ["mnist", "svhn"]
    assert len(disp.images_) == 7
    assert [ax.get_title() for ax in disp.axes_[0]] == ["1", "2", "3", "4"]
    assert len(disp.axes_[1, 3].images) == 0
    assert disp.images_[-1].get_array().shape == (10, 10, 3)
    with pytest.raises(ValueError, match="non-empty dict"):
        plots.plot_domain_pairs({})


# ---------------------------------------------------------------------------- layers


def test_plot_layer_transfer_groups_and_seeds(pyplot):
    frame = pd.DataFrame({
        "depth": [0, 0, 1, 1, 2, 2],
        "group": ["none", "none", "stem", "stem", "layer1", "layer1"],
        "seed": [0, 1] * 3,
        "accuracy": [0.5, 0.7, 0.8, 0.8, 0.9, 0.7],
    })
    ax = plots.plot_layer_transfer(frame)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.6, 0.8, 0.8])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "stem", "layer1"]
    assert len(ax.collections) == 1


def test_plot_layer_transfer_hue_and_text_x(pyplot):
    frame = pd.DataFrame({"layer": ["stem", "l1", "stem", "l1"], "accuracy": [0.1, 0.2, 0.3, 0.4],
                          "mode": ["frozen", "frozen", "tuned", "tuned"]})
    ax = plots.plot_layer_transfer(frame, x="layer", hue="mode")
    assert legend_texts(ax) == ["frozen", "tuned"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), [0, 1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["stem", "l1"]
    assert len(ax.collections) == 0  # one row per point: no band


# ---------------------------------------------------------------------------- freezing


def freeze_table():
    return pd.DataFrame({"group": ["stem", "layer1", "head"], "params": [100, 300, 50],
                         "trainable": [0, 150, 50]})


def test_plot_trainable(pyplot):
    ax = plots.plot_trainable(freeze_table())
    assert len(ax.patches) == 6
    trainable, frozen = ax.containers
    np.testing.assert_allclose([p.get_width() for p in trainable], [0, 150, 50])
    np.testing.assert_allclose([p.get_width() for p in frozen], [100, 150, 0])
    np.testing.assert_allclose([p.get_x() for p in frozen], [0, 150, 50])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stem", "layer1", "head"]
    assert legend_texts(ax) == ["trainable", "frozen"]
    assert ax.get_xlabel() == "parameters (trainable 200 of 450)"


def test_plot_trainable_accepts_bool_column(pyplot):
    table = freeze_table().assign(trainable=[False, True, True])
    ax = plots.plot_trainable(table)
    np.testing.assert_allclose([p.get_width() for p in ax.containers[0]], [0, 300, 50])


def test_plot_frozen_fraction(pyplot):
    table = pd.concat([freeze_table(), pd.DataFrame({"group": ["pool"], "params": [0],
                                                     "trainable": [0]})])
    ax = plots.plot_frozen_fraction(table)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [1.0, 0.5, 0.0, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["stem", "layer1", "head", "pool"]
    assert ax.get_ylim() == (0.0, 1.0)


@pytest.mark.parametrize("func", [plots.plot_trainable, plots.plot_frozen_fraction])
def test_freezing_plots_reject_bad_tables(pyplot, func):
    with pytest.raises(ValueError, match="0 <= trainable <= params"):
        func(freeze_table().assign(trainable=[0, 400, 0]))
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        func({"group": ["a"]})


# ---------------------------------------------------------------------------- shift


def test_plot_shift(pyplot):
    frame = pd.DataFrame({"target": ["svhn", "usps"], "shift": [0.8, 0.2],
                          "accuracy_drop": [0.4, 0.05]})
    ax = plots.plot_shift(frame)
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets(), [[0.8, 0.4], [0.2, 0.05]])
    assert [t.get_text() for t in ax.texts] == ["svhn", "usps"]
    assert ax.get_xlabel() == "shift" and ax.get_ylabel() == "accuracy drop"
    ax2 = plots.plot_shift(frame, label=None, ax=pyplot.subplots()[1])
    assert len(ax2.texts) == 0
    with pytest.raises(ValueError, match="'label' parameter of plot_shift"):
        plots.plot_shift(frame, label="domain")


def test_functions_draw_on_the_given_axes_only(pyplot):
    fig, ax = pyplot.subplots()
    assert plots.plot_data_efficiency(budget_frame(), ax=ax) is ax
    assert plots.plot_transfer_gap(budget_frame(), ax=ax) is ax
    assert pyplot.get_fignums() == [fig.number]


def test_plot_worst_shows_the_highest_loss_examples_first(pyplot):
    from tlworkbench.evaluation import evaluation_from_logits

    logits = torch.tensor([[4.0, 0.0], [0.0, 4.0], [3.0, 0.0], [0.0, 0.5]])
    labels = torch.tensor([0, 0, 1, 1])  # 1 and 2 are wrong (2 less confidently), 3 right
    images = np.stack([np.full((4, 4), v, dtype=np.uint8) for v in (10, 20, 30, 40)])
    display = plots.plot_worst(evaluation_from_logits(logits, labels, classes=["cat", "dog"]), images, k=3)
    titles = [ax.get_title() for ax in display.axes_.ravel()[:3]]
    assert [t.split("\n")[0] for t in titles] == ["cat / dog", "dog / cat", "dog / dog"]
    assert all("loss" in t for t in titles)
    losses = [float(t.split("loss ")[1]) for t in titles]
    assert losses == sorted(losses, reverse=True)
    assert list(display.correct) == [False, False, True]
    # the images are those of the examples picked: 20 (index 1), then 30, then 40
    assert [round(float(im.get_array().mean()) * 255) for im in display.images_[:3]] == [20, 30, 40]


def test_plot_worst_rejects_bad_input(pyplot):
    from tlworkbench.evaluation import evaluation_from_logits

    ev = evaluation_from_logits(torch.zeros(3, 2), torch.tensor([0, 1, 0]))
    with pytest.raises(InvalidParameterError, match="Evaluation"):
        plots.plot_worst(np.zeros(3), np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="3 evaluated images"):
        plots.plot_worst(ev, np.zeros((2, 4, 4)))


def test_plot_worst_draws_into_the_given_axes(pyplot):
    from tlworkbench.evaluation import evaluation_from_logits

    ev = evaluation_from_logits(torch.zeros(3, 2), torch.tensor([0, 1, 0]))
    fig, axes = pyplot.subplots(1, 2)
    display = plots.plot_worst(ev, np.zeros((3, 4, 4)), k=2, ax=axes)
    assert display.figure_ is fig and list(display.axes_) == list(axes)
    assert all("loss" in ax.get_title() for ax in axes)


@pytest.mark.parametrize("name", plots.__all__)
def test_every_public_plot_takes_ax(name):
    import inspect

    obj = getattr(plots, name)
    func = obj.plot if inspect.isclass(obj) else obj
    ax = inspect.signature(func).parameters.get("ax")
    assert ax is not None and ax.default is None


def test_errors_are_workbench_errors(pyplot):
    with pytest.raises(TLWError):
        plots.plot_shift(pd.DataFrame({"shift": [1.0]}), y="drop")
    with pytest.raises(TLWError):
        plots.plot_trainable(freeze_table(), ax=object())


def test_plots_import_nothing_else_of_the_package():
    import ast
    from pathlib import Path

    allowed = {"errors", "_validate", "config"}
    for path in Path(plots.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                assert node.module in allowed, f"{path.name} imports ..{node.module}"
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("tlworkbench"), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("tlworkbench") for a in node.names), path.name
