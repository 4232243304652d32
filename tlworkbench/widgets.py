"""Notebook widgets: views over the package's plain functions.

:class:`FreezePanel` shows which layer groups of a :class:`~tlworkbench.zoo.TransferModel` train,
and changes that through :mod:`tlworkbench.freezing`. The model's ``requires_grad`` flags, its
``bn_policy`` and its ``lr_mult`` are the only state; the panel is redrawn from them by
:meth:`FreezePanel.refresh`, so changes made in code show up as soon as the panel refreshes.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W
import pandas as pd
from torch import nn

from . import freezing
from ._validate import check_bool, check_choice, check_type
from .zoo import TransferModel

__all__ = ["FreezePanel"]

_FROZEN_COLOUR = "#5b7db1"
_TRAIN_COLOUR = "#e9eef5"
_ERROR_COLOUR = "#b00020"


def _fmt(n: int) -> str:
    return f"{n:,}"


def _counts(module: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts of one module."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def _state(trainable: int, total: int) -> str:
    if total == 0:
        return "no parameters"
    return "trainable" if trainable == total else "frozen" if trainable == 0 else "partial"


class _GroupRow:
    """The widgets of one layer group: expand toggle, trainable checkbox, counts, lr multiplier."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.expand = W.ToggleButton(value=False, icon="chevron-right", tooltip=f"Show the submodules of {name}",
                                     layout=W.Layout(width="32px", padding="0"))
        self.trainable = W.Checkbox(value=True, description=name, indent=False,
                                    tooltip=f"Checked: the parameters of {name} train; unchecked: frozen",
                                    layout=W.Layout(width="150px"))
        self.info = W.HTML(layout=W.Layout(width="260px"))
        self.lr_mult = W.FloatText(value=1.0, step=0.1, tooltip=f"Learning-rate multiplier of {name}",
                                   layout=W.Layout(width="80px"))
        self.details = W.HTML(layout=W.Layout(display="none", margin="0 0 4px 40px"))
        self.trainable.add_class("tlw-group-trainable")
        self.lr_mult.add_class("tlw-group-lr")
        self.box = W.VBox([W.HBox([self.expand, self.trainable, self.info, self.lr_mult]), self.details])
        self.box.add_class("tlw-group")
        self.box.add_class(f"tlw-group-{name}")

    @property
    def widgets(self) -> list[W.Widget]:
        return [self.expand, self.trainable, self.info, self.lr_mult, self.details]


class FreezePanel:
    """A widget to freeze and unfreeze a model's layer groups and set their learning rates.

    One row per group, from input to output: a checkbox (checked means the group trains), its
    parameter counts, its learning-rate multiplier, and a toggle that lists its submodules. Above
    them: a "freeze up to" slider (:func:`~tlworkbench.freezing.freeze_to`), the BatchNorm
    policy, the trainable share of parameters and a bar of the frozen fraction by depth; below, a
    status line that shows what the last action did, or why it failed.

    Every action is also a method, and each method refreshes the view. The model is the truth:
    after changing it in code (``tlw.freeze(model, ...)``), call :meth:`refresh`. Methods raise on
    bad input; the widgets' callbacks show the error in the status line instead.

    Args:
        model: a model from :func:`tlworkbench.load_model`.

    Raises:
        InvalidParameterError: when ``model`` is not a :class:`~tlworkbench.zoo.TransferModel`.

    Example:
        >>> panel = FreezePanel(model)                          # doctest: +SKIP
        >>> panel                                               # shows it in a notebook  # doctest: +SKIP
        >>> panel.freeze_to(3); panel.set_lr_mult("head", 10)   # doctest: +SKIP
        >>> fit(model, train, lr_mult=panel.lr_mult)            # doctest: +SKIP
    """

    def __init__(self, model: TransferModel) -> None:
        self.model = check_type(model, "model", "FreezePanel", TransferModel, "a TransferModel from tlw.load_model")
        self._updating = False
        names = freezing.group_names(model)

        self.title = W.HTML()
        self.counts = W.HTML()
        self.counts.add_class("tlw-counts")
        self.depth_bar = W.HTML()
        self.depth_bar.add_class("tlw-depth-bar")
        self.slider = W.IntSlider(value=0, min=0, max=len(names), step=1, description="Freeze up to",
                                  continuous_update=False, style={"description_width": "90px"},
                                  layout=W.Layout(width="360px"))
        self.slider.add_class("tlw-freeze-to")
        self.slider_label = W.HTML()
        self.bn_policy = W.Dropdown(options=[("frozen: keep statistics", "frozen"),
                                             ("train: update statistics", "train")],
                                    value=model.bn_policy, description="BatchNorm",
                                    style={"description_width": "90px"}, layout=W.Layout(width="300px"))
        self.bn_policy.add_class("tlw-bn-policy")
        self.refresh_button = W.Button(description="Refresh", icon="refresh",
                                       tooltip="Redraw from the model (after changes made in code)",
                                       layout=W.Layout(width="100px"))
        self.status = W.HTML()
        self.status.add_class("tlw-status")
        header = W.HTML(
            "<div style='display:flex;font-size:12px;color:#555;border-bottom:1px solid #ccc'>"
            "<span style='width:36px'></span><span style='width:154px'>&#9745; trains</span>"
            "<span style='width:264px'>trainable / parameters</span><span style='width:84px'>lr &times;</span>"
            "</div>")
        self.rows: list[_GroupRow] = []
        self.rows_box = W.VBox()
        self._build_rows(names)

        self.slider.observe(self._guard(self._on_slider), names="value")
        self.bn_policy.observe(self._guard(self._on_bn_policy), names="value")
        self.refresh_button.on_click(lambda _button: self._run(self._on_refresh_click))

        self.widget = W.VBox([
            self.title,
            W.HBox([self.counts, self.refresh_button], layout=W.Layout(justify_content="space-between")),
            self.depth_bar,
            W.HBox([self.slider, self.slider_label]),
            self.bn_policy,
            header,
            self.rows_box,
            self.status,
        ], layout=W.Layout(width="620px", padding="4px"))
        self.widget.add_class("tlw-freeze-panel")
        self.refresh()
        self._set_status("Ready. Checked groups train; unchecked groups are frozen.")

    # -- public actions -------------------------------------------------------------------------

    def set_frozen(self, group: str, frozen: bool) -> None:
        """Freeze (``frozen=True``) or unfreeze one group.

        Args:
            group: a group name from ``model.groups``.
            frozen: whether the group's parameters stop training.

        Raises:
            UnknownNameError: when ``group`` is not a group of the model.
            InvalidParameterError: when ``frozen`` is not a bool.
        """
        check_choice(group, "group", "set_frozen", self.model.groups)
        frozen = check_bool(frozen, "frozen", "set_frozen")
        (freezing.freeze if frozen else freezing.unfreeze)(self.model, [group])
        self.refresh()
        self._set_status(f"{group} {'frozen' if frozen else 'trains'}.")

    def freeze_to(self, n: int) -> None:
        """Freeze the first ``n`` groups and unfreeze the rest (see :func:`tlworkbench.freeze_to`)."""
        freezing.freeze_to(self.model, n)
        self.refresh()
        self._set_status(f"freeze_to({n}): {self._describe_prefix(n % len(self.rows) if n < 0 else n)}.")

    def set_bn_policy(self, policy: str) -> None:
        """Set the BatchNorm policy, ``"frozen"`` or ``"train"`` (see :func:`tlworkbench.set_bn_policy`)."""
        freezing.set_bn_policy(self.model, policy)
        self.refresh()
        self._set_status(f"BatchNorm policy: {policy}.")

    def set_lr_mult(self, group: str, mult: float) -> None:
        """Set one group's learning-rate multiplier (see :func:`tlworkbench.set_lr_mult`).

        Raises:
            UnknownNameError: when ``group`` is not a group of the model.
            InvalidParameterError: when ``mult`` is negative or not a number.
        """
        freezing.set_lr_mult(self.model, group, mult)
        self.refresh()
        self._set_status(f"Learning-rate multiplier of {group}: {float(mult):g}.")

    def refresh(self) -> None:
        """Redraw every widget from the model's ``requires_grad``, ``bn_policy`` and ``lr_mult``."""
        names = freezing.group_names(self.model)
        if names != [row.name for row in self.rows]:
            self._build_rows(names)
        groups = self.model.groups
        stats = [_counts(module) for module in groups.values()]
        with self._quiet():
            for row, (name, module), (trainable, total) in zip(self.rows, groups.items(), stats, strict=True):
                state = _state(trainable, total)
                row.trainable.value = state == "trainable"
                row.trainable.disabled = total == 0
                row.info.value = self._row_info(trainable, total, state)
                row.lr_mult.value = self.lr_mult[name]
                row.expand.icon = "chevron-down" if row.expand.value else "chevron-right"
                row.details.layout.display = "" if row.expand.value else "none"
                if row.expand.value:
                    row.details.value = self._details(module)
            if self.slider.max != len(names):
                self.slider.max = len(names)
            self.slider.value = self._slider_position(stats)
            self.slider_label.value = (f"<span style='font-size:12px;color:#555'>"
                                       f"{html.escape(self._describe_prefix(self.slider.value))}</span>")
            self.bn_policy.value = self.model.bn_policy
            trainable, total = self.trainable, self.total
            share = 100.0 * trainable / total if total else 0.0
            self.title.value = (f"<b>Freezing</b> &middot; {html.escape(self.model.name)} "
                                f"&middot; {len(names)} groups, input &rarr; output")
            self.counts.value = (f"<span class='tlw-counts-text'>Trainable: <b>{_fmt(trainable)}</b> of "
                                 f"{_fmt(total)} parameters ({share:.1f}%)</span>")
            self.depth_bar.value = self._depth_bar(names, stats)

    # -- read-only views ------------------------------------------------------------------------

    @property
    def lr_mult(self) -> dict[str, float]:
        """Learning-rate multiplier per group (1.0 where unset), for ``fit(..., lr_mult=...)``."""
        return {name: float(self.model.lr_mult.get(name, 1.0)) for name in self.model.groups}

    @property
    def trainable(self) -> int:
        """Number of parameters that train."""
        return freezing.count_parameters(self.model)[0]

    @property
    def total(self) -> int:
        """Number of parameters of the model."""
        return freezing.count_parameters(self.model)[1]

    def table(self) -> pd.DataFrame:
        """The groups as a table (:func:`tlworkbench.trainable_table`)."""
        return freezing.trainable_table(self.model)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self.refresh()
        display(self.widget)

    def __repr__(self) -> str:
        return f"FreezePanel({self.model.name!r}, trainable={self.trainable:,} of {self.total:,})"

    # -- callbacks ------------------------------------------------------------------------------

    def _guard(self, handler: Callable[[Any], None]) -> Callable[[dict[str, Any]], None]:
        """Wrap an observer: ignore changes the panel makes itself, report errors in the status."""

        def observer(change: dict[str, Any]) -> None:
            if self._updating:
                return
            self._run(lambda: handler(change["new"]))

        return observer

    def _run(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as err:  # a callback has no caller to raise to: show the error instead
            self._show_error(err)

    def _show_error(self, err: Exception) -> None:
        try:
            self.refresh()
        except Exception as refresh_err:
            err = refresh_err
        self._set_status(f"{type(err).__name__}: {err}", error=True)

    def _on_slider(self, n: int) -> None:
        self.freeze_to(int(n))

    def _on_bn_policy(self, policy: str) -> None:
        self.set_bn_policy(policy)

    def _on_refresh_click(self) -> None:
        self.refresh()
        self._set_status("Refreshed from the model.")

    def _on_toggle(self, row: _GroupRow, expanded: bool) -> None:
        self.refresh()
        self._set_status(f"{'Showing' if expanded else 'Hid'} the submodules of {row.name}.")

    def _build_rows(self, names: list[str]) -> None:
        self.rows = [_GroupRow(name) for name in names]
        for row in self.rows:
            row.trainable.observe(self._guard(lambda value, g=row.name: self.set_frozen(g, not value)),
                                  names="value")
            row.lr_mult.observe(self._guard(lambda value, g=row.name: self.set_lr_mult(g, value)),
                                names="value")
            row.expand.observe(self._guard(lambda value, r=row: self._on_toggle(r, value)), names="value")
        self.rows_box.children = [row.box for row in self.rows]

    # -- helpers --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Batch the widget updates of a redraw and keep observers from reacting to them."""
        widgets: list[W.Widget] = [self.title, self.counts, self.depth_bar, self.slider, self.slider_label,
                                   self.bn_policy]
        for row in self.rows:
            widgets.extend(row.widgets)
        previous, self._updating = self._updating, True
        try:
            with contextlib.ExitStack() as stack:
                for widget in widgets:
                    stack.enter_context(widget.hold_sync())
                yield
        finally:
            self._updating = previous

    def _set_status(self, text: str, *, error: bool = False) -> None:
        colour = _ERROR_COLOUR if error else "#555"
        mark = "&#9888; " if error else ""
        kind = "tlw-status-text tlw-error" if error else "tlw-status-text"
        self.status.value = (f"<div class='{kind}' style='font-size:12px;color:{colour};"
                             f"border-top:1px solid #ccc;padding-top:2px'>{mark}{html.escape(text)}</div>")

    def _describe_prefix(self, n: int) -> str:
        names = list(self.model.groups)
        if n <= 0:
            return "slide right to freeze the first groups"
        if n >= len(names):
            return "every group frozen"
        return f"{names[0]} \u2026 {names[n - 1]} frozen, training from {names[n]}"

    def _slider_position(self, stats: list[tuple[int, int]]) -> int:
        """Where the slider stands: its own value if the model matches ``freeze_to(value)``, else
        the number of leading groups that have nothing to train."""

        def matches(n: int) -> bool:
            return (all(t == 0 for t, _ in stats[:n]) and all(t == total for t, total in stats[n:]))

        if 0 <= self.slider.value <= len(stats) and matches(self.slider.value):
            return self.slider.value
        n = 0
        while n < len(stats) and stats[n][0] == 0:
            n += 1
        return n

    @staticmethod
    def _row_info(trainable: int, total: int, state: str) -> str:
        frozen = 1.0 - trainable / total if total else 0.0
        bar = (f"<span style='display:inline-block;width:60px;height:8px;margin-right:6px;"
               f"background:linear-gradient(to right,{_FROZEN_COLOUR} {100 * frozen:.1f}%,"
               f"{_TRAIN_COLOUR} {100 * frozen:.1f}%);border:1px solid #aab'></span>")
        return (f"<span style='font-size:12px' title='{state}'>{bar}{_fmt(trainable)} / {_fmt(total)} "
                f"<i style='color:#777'>{state}</i></span>")

    @staticmethod
    def _depth_bar(names: list[str], stats: list[tuple[int, int]]) -> str:
        """A small column chart: the frozen fraction of each group, input on the left."""
        columns = []
        for name, (trainable, total) in zip(names, stats, strict=True):
            frozen = 1.0 - trainable / total if total else 0.0
            columns.append(
                f"<div title='{html.escape(name)}: {100 * frozen:.0f}% frozen' style='display:flex;"
                f"flex-direction:column;align-items:center;width:52px'>"
                f"<div style='height:28px;width:22px;background:{_TRAIN_COLOUR};border:1px solid #aab;"
                f"display:flex;flex-direction:column;justify-content:flex-end'>"
                f"<div style='height:{100 * frozen:.1f}%;background:{_FROZEN_COLOUR}'></div></div>"
                f"<div style='font-size:10px;color:#555;overflow:hidden;white-space:nowrap;max-width:50px'>"
                f"{html.escape(name)}</div></div>")
        return ("<div style='font-size:11px;color:#555'>frozen fraction by depth "
                f"(<span style='color:{_FROZEN_COLOUR}'>&#9632;</span> frozen)</div>"
                f"<div style='display:flex;flex-wrap:wrap;gap:2px'>{''.join(columns)}</div>")

    @staticmethod
    def _details(module: nn.Module) -> str:
        """A table of a group's submodules (or, for a single layer, its parameters)."""
        rows = []
        children = list(module.named_children())
        if children:
            for name, child in children:
                trainable, total = _counts(child)
                rows.append((name, type(child).__name__, total, _state(trainable, total) if total else ""))
        else:
            for name, p in module.named_parameters():
                shape = "\u00d7".join(str(s) for s in p.shape)
                rows.append((name, f"{type(module).__name__} [{shape}]", p.numel(),
                             "trainable" if p.requires_grad else "frozen"))
        cells = "".join(
            f"<tr><td style='padding:0 8px 0 0'>{html.escape(n)}</td><td style='padding:0 8px 0 0'>"
            f"{html.escape(kind)}</td><td style='text-align:right;padding:0 8px 0 0'>{_fmt(count)}</td>"
            f"<td style='color:#777'>{state}</td></tr>" for n, kind, count, state in rows)
        return f"<table class='tlw-submodules' style='font-size:11px;line-height:16px'>{cells}</table>"
