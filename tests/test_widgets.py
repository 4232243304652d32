"""FreezePanel driven headlessly: set widget values, check the model, and the other way round."""

from __future__ import annotations

import html
import re

import ipywidgets
import pytest

import tlworkbench as tlw
from tlworkbench.errors import UnknownNameError
from tlworkbench.widgets import FreezePanel


@pytest.fixture
def model() -> tlw.TransferModel:
    return tlw.load_model("small_cnn", num_classes=10)


@pytest.fixture
def panel(model: tlw.TransferModel) -> FreezePanel:
    return FreezePanel(model)


def row(panel: FreezePanel, group: str):
    return next(r for r in panel.rows if r.name == group)


def requires_grad(model: tlw.TransferModel, group: str) -> set[bool]:
    return {p.requires_grad for p in model.groups[group].parameters()}


def shown_counts(panel: FreezePanel) -> tuple[int, int, float]:
    """(trainable, total, percent) as the counts label shows them."""
    text = re.sub(r"<[^>]+>", "", panel.counts.value)
    match = re.search(r"Trainable: ([\d,]+) of ([\d,]+) parameters \(([\d.]+)%\)", text)
    assert match, text
    return int(match[1].replace(",", "")), int(match[2].replace(",", "")), float(match[3])


def status_text(panel: FreezePanel) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", panel.status.value))


def is_error(panel: FreezePanel) -> bool:
    return "tlw-error" in panel.status.value


def test_rows_follow_the_groups_from_input_to_output(panel: FreezePanel, model: tlw.TransferModel) -> None:
    assert [r.name for r in panel.rows] == list(model.groups) == ["conv1", "conv2", "conv3", "head"]
    assert all(r.trainable.value for r in panel.rows)
    assert panel.slider.min == 0 and panel.slider.max == 4 and panel.slider.value == 0
    assert panel.bn_policy.value == "frozen"
    total = sum(p.numel() for p in model.parameters())
    assert shown_counts(panel) == (total, total, 100.0)
    assert panel.trainable == panel.total == total
    assert not is_error(panel)
    assert isinstance(panel.widget, ipywidgets.VBox)


def test_unchecking_a_group_freezes_it_and_updates_the_counts(panel: FreezePanel,
                                                              model: tlw.TransferModel) -> None:
    total = panel.total
    conv2 = sum(p.numel() for p in model.groups["conv2"].parameters())
    row(panel, "conv2").trainable.value = False
    assert requires_grad(model, "conv2") == {False}
    assert requires_grad(model, "conv1") == requires_grad(model, "conv3") == {True}
    trainable, shown_total, percent = shown_counts(panel)
    assert (trainable, shown_total) == (total - conv2, total) == (panel.trainable, panel.total)
    assert percent == pytest.approx(100 * trainable / total, abs=0.05)
    assert "conv2 frozen" in status_text(panel)
    assert "width:22px" in panel.depth_bar.value and "height:100.0%" in panel.depth_bar.value

    row(panel, "conv2").trainable.value = True
    assert requires_grad(model, "conv2") == {True}
    assert shown_counts(panel)[:2] == (total, total)


def test_slider_freezes_up_to_a_group(panel: FreezePanel, model: tlw.TransferModel) -> None:
    panel.slider.value = 2
    assert requires_grad(model, "conv1") == requires_grad(model, "conv2") == {False}
    assert requires_grad(model, "conv3") == requires_grad(model, "head") == {True}
    assert [r.trainable.value for r in panel.rows] == [False, False, True, True]
    assert "training from conv3" in panel.slider_label.value
    assert shown_counts(panel)[0] == panel.trainable == tlw.count_parameters(model)[0]

    panel.slider.value = 0
    assert all(p.requires_grad for p in model.parameters())
    assert all(r.trainable.value for r in panel.rows)


def test_methods_act_like_the_widgets(panel: FreezePanel, model: tlw.TransferModel) -> None:
    panel.freeze_to(-1)
    assert panel.slider.value == 3
    assert [r.trainable.value for r in panel.rows] == [False, False, False, True]
    panel.set_frozen("head", True)
    assert panel.trainable == 0 and shown_counts(panel)[0] == 0
    assert panel.slider.value == 4
    panel.set_frozen("conv1", False)
    assert requires_grad(model, "conv1") == {True}
    assert row(panel, "conv1").trainable.value
    assert panel.slider.value == 0  # no longer a prefix

    with pytest.raises(UnknownNameError, match="Did you mean 'conv2'"):
        panel.set_frozen("conv22", True)
    with pytest.raises(TypeError, match="'frozen'"):
        panel.set_frozen("conv1", "yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="freeze_to"):
        panel.freeze_to(9)
    with pytest.raises(TypeError, match="TransferModel"):
        FreezePanel(object())  # type: ignore[arg-type]


def test_code_side_changes_show_after_refresh(panel: FreezePanel, model: tlw.TransferModel) -> None:
    tlw.freeze(model, ["conv1", "conv3"])
    tlw.set_lr_mult(model, "head", 10)
    tlw.set_bn_policy(model, "train")
    assert row(panel, "conv3").trainable.value  # the view is stale until refreshed
    panel.refresh()
    assert [r.trainable.value for r in panel.rows] == [False, True, False, True]
    assert row(panel, "head").lr_mult.value == 10.0
    assert panel.bn_policy.value == "train"
    assert shown_counts(panel)[0] == tlw.count_parameters(model)[0]
    assert panel.slider.value == 1

    tlw.unfreeze(model)
    panel.refresh_button.click()
    assert all(r.trainable.value for r in panel.rows)
    assert "Refreshed" in status_text(panel)


def test_refresh_does_not_act_on_the_model(panel: FreezePanel, model: tlw.TransferModel,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tlw.freeze_to(model, 2)
    tlw.set_lr_mult(model, "conv3", 0.5)
    tlw.set_bn_policy(model, "train")
    calls: list[str] = []
    for name in ("freeze", "unfreeze", "freeze_to", "set_bn_policy", "set_lr_mult"):
        monkeypatch.setattr(tlw.freezing, name, lambda *args, _name=name, **kwargs: calls.append(_name))
    panel.refresh()
    assert calls == []
    assert panel.slider.value == 2 and panel.bn_policy.value == "train"
    assert row(panel, "conv3").lr_mult.value == 0.5 and not is_error(panel)


def test_partially_frozen_group_is_unchecked_and_labelled(panel: FreezePanel, model: tlw.TransferModel) -> None:
    model.groups["conv2"][0].weight.requires_grad_(False)
    panel.refresh()
    assert not row(panel, "conv2").trainable.value
    assert "partial" in row(panel, "conv2").info.value
    row(panel, "conv2").trainable.value = True
    assert requires_grad(model, "conv2") == {True}


def test_lr_multipliers_and_bn_policy(panel: FreezePanel, model: tlw.TransferModel) -> None:
    row(panel, "head").lr_mult.value = 10.0
    row(panel, "conv1").lr_mult.value = 0.1
    assert model.lr_mult == {"head": 10.0, "conv1": 0.1}
    assert panel.lr_mult == {"conv1": 0.1, "conv2": 1.0, "conv3": 1.0, "head": 10.0}
    panel.set_lr_mult("conv2", 0.5)
    assert row(panel, "conv2").lr_mult.value == 0.5
    assert panel.table().set_index("group")["lr_mult"].to_dict() == panel.lr_mult

    panel.bn_policy.value = "train"
    assert model.bn_policy == "train"
    panel.set_bn_policy("frozen")
    assert model.bn_policy == "frozen" and panel.bn_policy.value == "frozen"


def test_bad_values_show_an_error_and_leave_the_model_unchanged(panel: FreezePanel,
                                                               model: tlw.TransferModel) -> None:
    panel.set_lr_mult("head", 10)
    state = {n: p.requires_grad for n, p in model.named_parameters()}

    row(panel, "head").lr_mult.value = -1.0
    assert is_error(panel)
    assert "InvalidParameterError" in status_text(panel) and "'mult'" in status_text(panel)
    assert model.lr_mult == {"head": 10.0}
    assert row(panel, "head").lr_mult.value == 10.0  # the field shows the model again
    assert {n: p.requires_grad for n, p in model.named_parameters()} == state

    with pytest.raises(ValueError, match="'mult'"):
        panel.set_lr_mult("head", -1)

    row(panel, "conv1").lr_mult.value = 2.0  # the next good value clears the error
    assert not is_error(panel) and model.lr_mult == {"head": 10.0, "conv1": 2.0}


def test_a_failing_library_call_is_shown(panel: FreezePanel, model: tlw.TransferModel,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tlw.freezing, "freeze_to", broken)
    panel.slider.value = 2
    assert is_error(panel) and "RuntimeError: disk on fire" in status_text(panel)
    assert panel.slider.value == 0  # redrawn from the unchanged model
    assert all(p.requires_grad for p in model.parameters())


def test_expanding_a_group_lists_its_submodules(panel: FreezePanel, model: tlw.TransferModel) -> None:
    conv2 = row(panel, "conv2")
    assert conv2.details.layout.display == "none"
    conv2.expand.value = True
    assert conv2.details.layout.display == ""
    weights = model.groups["conv2"][0].weight.numel()
    assert "Conv2d" in conv2.details.value and f"{weights:,}" in conv2.details.value
    assert "BatchNorm2d" in conv2.details.value
    panel.set_frozen("conv2", True)
    assert "frozen" in conv2.details.value and "trainable" not in conv2.details.value
    head = row(panel, "head")
    head.expand.value = True
    assert "weight" in head.details.value and f"10×{model.feature_dim}" in head.details.value
    conv2.expand.value = False
    assert conv2.details.layout.display == "none"


def test_display_refreshes_from_the_model(panel: FreezePanel, model: tlw.TransferModel,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    tlw.freeze(model, "conv1")
    panel._ipython_display_()
    assert shown == [panel.widget]
    assert not row(panel, "conv1").trainable.value
    assert "FreezePanel('small_cnn'" in repr(panel)


def test_efficientnet_lite0_groups() -> None:
    model = tlw.load_model("efficientnet_lite0", num_classes=10)
    panel = FreezePanel(model)
    names = list(model.groups)
    assert [r.name for r in panel.rows] == names and names[-1] == "head" and len(names) == 10
    assert panel.slider.max == len(names)

    panel.slider.value = len(names) - 1  # linear probe: only the head trains
    head = sum(p.numel() for p in model.head.parameters())
    assert panel.trainable == head == shown_counts(panel)[0]
    assert [r.trainable.value for r in panel.rows] == [False] * (len(names) - 1) + [True]

    row(panel, "top").trainable.value = True
    assert requires_grad(model, "top") == {True}
    assert panel.slider.value == len(names) - 2
    top = row(panel, "top")
    top.expand.value = True
    assert "BatchNorm2d" in top.details.value

    row(panel, "stage6").lr_mult.value = 0.25
    assert panel.lr_mult["stage6"] == 0.25 and panel.lr_mult["stem"] == 1.0
    table = panel.table()
    assert list(table["group"]) == names
    assert table.set_index("group").loc["top", "state"] == "trainable"
