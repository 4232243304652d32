"""Array arguments of the diagnostics: features, labels, probabilities and per-seed values.

Each function returns a clean numpy array or raises :class:`~tlworkbench.errors.DataError` with a
message that names the parameter, the function, what was received and how to fix it. Scalar
arguments (counts, levels, bandwidths) go through :mod:`tlworkbench._validate` instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["as_features", "as_labels", "as_per_seed", "as_probs", "check_same_dim"]


def _shape_of(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"an array of shape {tuple(shape)}" if shape is not None else type(x).__name__


def _as_float(x: Any, name: str, func: str, expected: str) -> np.ndarray:
    """``x`` as a float64 array, or a DataError saying it must be ``expected``."""
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"The {name!r} parameter of {func} must be {expected}; got {_shape_of(x)} that cannot "
            "be converted to float."
        ) from err


def as_features(x: Any, name: str, func: str, *, min_samples: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float64 ``(n, d)`` array with ``n >= min_samples``.

    Raises:
        DataError: not numeric, not 2-D, no columns, too few rows or a NaN/infinite value.
    """
    arr = _as_float(x, name, func, "a numeric (n, d) array of features")
    if arr.ndim != 2:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 2-D (n, d) array; got shape "
            f"{arr.shape}. Reshape it, e.g. x.reshape(len(x), -1)."
        )
    if arr.shape[1] == 0:
        raise DataError(
            f"The {name!r} parameter of {func} must have at least one feature column; got "
            f"shape {arr.shape}."
        )
    if arr.shape[0] < min_samples:
        raise DataError(
            f"The {name!r} parameter of {func} must have at least {min_samples} samples (rows); "
            f"got {arr.shape[0]}. Pass more samples."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"The {name!r} parameter of {func} must contain only finite values; got "
            f"{int(bad.sum())} NaN or infinite value(s), the first at row {row}, column {col}. "
            "Drop or impute those samples first."
        )
    return arr


def as_labels(y: Any, name: str, func: str, *, n: int, min_classes: int = 2) -> np.ndarray:
    """Return ``y`` recoded as ``0..K-1`` integers, checked for length and number of classes.

    Raises:
        DataError: not 1-D, not ``n`` long, not integer-valued or fewer than ``min_classes``.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 1-D array of class labels; got shape "
            f"{arr.shape}. For one-hot labels pass labels.argmax(1)."
        )
    if arr.shape[0] != n:
        raise DataError(
            f"The {name!r} parameter of {func} must have one label per sample ({n}); got "
            f"{arr.shape[0]} labels. Pass features and labels of the same length."
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise DataError(
                f"The {name!r} parameter of {func} must hold integer class labels; got "
                f"non-integer floats such as {arr[arr != np.round(arr)][:3].tolist()}. "
                "Pass integer class indices."
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iubUS":
        raise DataError(
            f"The {name!r} parameter of {func} must hold integer class labels; got dtype "
            f"{arr.dtype}. Pass integer class indices."
        )
    classes, codes = np.unique(arr, return_inverse=True)
    if len(classes) < min_classes:
        raise DataError(
            f"The {name!r} parameter of {func} must contain at least {min_classes} classes; got "
            f"{len(classes)} ({classes.tolist()}). A score needs labels that vary."
        )
    return codes.reshape(-1)


def as_probs(x: Any, name: str, func: str) -> np.ndarray:
    """Return ``x`` as an ``(n, Z)`` array of per-row probability distributions.

    Raises:
        DataError: not a finite 2-D array, a negative entry, or a row that does not sum to 1.
    """
    probs = as_features(x, name, func)
    row_sums = probs.sum(axis=1)
    if np.any(probs < 0) or not np.allclose(row_sums, 1.0, atol=1e-3):
        raise DataError(
            f"The {name!r} parameter of {func} must hold probabilities: non-negative rows that "
            f"sum to 1; got values in [{probs.min():.3g}, {probs.max():.3g}] and row sums in "
            f"[{row_sums.min():.3g}, {row_sums.max():.3g}]. Apply a softmax to logits first."
        )
    return probs


def as_per_seed(x: Any, name: str, func: str, *, min_len: int = 2) -> np.ndarray:
    """Return ``x`` as a finite 1-D float64 array of at least ``min_len`` values, one per seed.

    Raises:
        DataError: not numeric, not 1-D, too short, or a NaN/infinite value.
    """
    arr = _as_float(x, name, func, "a 1-D array of numbers (one per seed)")
    if arr.ndim != 1 or len(arr) < min_len:
        raise DataError(
            f"The {name!r} parameter of {func} must be a 1-D array with at least {min_len} values "
            f"(one per seed); got shape {arr.shape}. Repeat the run over more seeds."
        )
    if not np.all(np.isfinite(arr)):
        raise DataError(
            f"The {name!r} parameter of {func} must contain only finite values; got "
            f"{arr.tolist()}. Drop the runs that diverged."
        )
    return arr


def check_same_dim(source: np.ndarray, target: np.ndarray, func: str) -> None:
    """Raise DataError unless ``source`` and ``target`` have the same number of features."""
    if source.shape[1] != target.shape[1]:
        raise DataError(
            f"The 'source' and 'target' parameters of {func} must have the same number of "
            f"features; got d={source.shape[1]} for source and d={target.shape[1]} for target. "
            "Extract both with the same backbone and layer."
        )
