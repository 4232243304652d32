"""Argument checks and drawing steps shared by the plot families.

The plots take numpy arrays or torch tensors, pandas DataFrames and histories. These functions
turn arrays into numpy and check what only plots are given (an Axes, a frame and the columns it
must have), with the generated messages of :mod:`tlworkbench._validate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validate import check_choice, check_type, param_error
from ..errors import InvalidParameterError, did_you_mean

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "Described",
    "check_ax",
    "check_column",
    "check_frame",
    "check_xy",
    "class_name",
    "label_rows",
    "require_column",
    "to_numpy",
    "to_vector",
]


class Described(str):
    """A description of a received value that an error message prints as it is.

    Example:
        >>> repr(Described("shape (4, 4)"))
        'shape (4, 4)'
    """

    def __repr__(self) -> str:
        return str(self)


def check_ax(ax: Any, func: str) -> Axes:
    """Return ``ax``, or the Axes of a new figure when ``ax`` is None."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        return plt.subplots()[1]
    return check_type(ax, "ax", func, Axes, "a matplotlib Axes or None")


def check_frame(frame: Any, param: str, func: str) -> pd.DataFrame:
    """Return ``frame`` when it is a non-empty DataFrame."""
    check_type(frame, param, func, pd.DataFrame, "a pandas DataFrame")
    if frame.empty:
        raise param_error(param, func, "a non-empty pandas DataFrame", Described("an empty one"))
    return frame


def _check_numeric(frame: pd.DataFrame, column: Any, param: str, func: str, expected: str) -> None:
    if not pd.api.types.is_numeric_dtype(frame[column]):
        raise param_error(param, func, expected, column,
                          hint=f"The column {column!r} has dtype {frame[column].dtype}.")


def check_column(frame: pd.DataFrame, column: Any, param: str, func: str, *,
                 numeric: bool = False) -> None:
    """The argument ``param`` names a column of ``frame`` (numeric, when asked)."""
    check_choice(column, param, func, list(frame.columns), error=InvalidParameterError,
                 what="a column of the frame, one of")
    if numeric:
        _check_numeric(frame, column, param, func, "the name of a numeric column")


def require_column(frame: pd.DataFrame, column: str, param: str, func: str, *,
                   numeric: bool = False) -> None:
    """The frame given as ``param`` has the column ``column``, whose name is part of the contract."""
    columns = list(frame.columns)
    if column not in columns:
        close = did_you_mean(column, columns).strip()
        raise param_error(param, func, f"a DataFrame with a column {column!r}",
                          Described(f"the columns {columns}"),
                          hint=f"{close} Rename it to {column!r}." if close else "")
    if numeric:
        _check_numeric(frame, column, param, func, f"a DataFrame whose column {column!r} is numeric")


def check_xy(frame: Any, func: str, *, x: Any, y: Any, hue: Any = None,
             numeric_x: bool = True) -> pd.DataFrame:
    """Check a tidy ``frame`` and the columns ``x``, ``y`` (numeric) and ``hue`` chosen from it."""
    frame = check_frame(frame, "frame", func)
    check_column(frame, x, "x", func, numeric=numeric_x)
    check_column(frame, y, "y", func, numeric=True)
    if hue is not None:
        check_column(frame, hue, "hue", func)
    return frame


def to_numpy(x: Any) -> np.ndarray:
    """Convert an array-like or a torch tensor (on any device) to a numpy array."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        try:
            return x.numpy()
        except TypeError:  # bfloat16 and friends have no numpy dtype
            return x.float().numpy()
    return np.asarray(x)


def to_vector(x: Any, param: str, func: str) -> np.ndarray:
    """Convert ``x`` to a non-empty 1-D numpy array."""
    arr = to_numpy(x)
    if arr.ndim != 1 or arr.size == 0:
        raise param_error(param, func, "a non-empty 1-D array", Described(f"shape {arr.shape}"))
    return arr


def class_name(label: Any, classes: Sequence[str] | None, param: str, func: str) -> str:
    """The name of ``label``: ``classes[label]`` for an integer class index, else ``str(label)``."""
    if classes is None:
        return str(label)
    expected = f"integer class indices in 0..{len(classes) - 1} to index 'classes'"
    try:
        index = int(label)
    except (TypeError, ValueError) as err:
        raise param_error(param, func, expected, label) from err
    if not 0 <= index < len(classes):
        raise param_error(param, func, expected, index)
    return str(classes[index])


def label_rows(ax: Axes, names: Sequence[str]) -> None:
    """Name the rows ``0..len(names)-1`` of a horizontal bar chart, the first row on top."""
    ax.set_yticks(np.arange(len(names)), names)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
