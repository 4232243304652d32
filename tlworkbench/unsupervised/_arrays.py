"""Checks and projections of the embeddings the unsupervised methods take."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validate import param_error
from ..errors import DataError

__all__: list[str] = []


class _Shown(str):
    """A description of a received value, printed as it is by an error message."""

    __repr__ = str.__str__


def _matrix(x: Any, name: str, func: str, *, min_rows: int = 2) -> np.ndarray:
    """``x`` as a finite float64 array of shape (n, d) with at least ``min_rows`` rows."""
    arr = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or arr.ndim != 2:
        raise param_error(name, func, "a numeric 2-D array (examples x dimensions)",
                          _Shown(f"an array of shape {arr.shape} and dtype {arr.dtype}"))
    if len(arr) < min_rows or arr.shape[1] < 1:
        raise DataError(f"The {name!r} parameter of {func} must hold at least {min_rows} rows and one column; "
                        f"got shape {arr.shape}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise DataError(f"The {name!r} parameter of {func} holds NaN or infinite values; remove those rows.")
    return arr


def _vector(y: Any, name: str, func: str, n: int) -> np.ndarray:
    arr = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if arr.ndim != 1 or len(arr) != n:
        raise param_error(name, func, f"a 1-D array with one entry per row ({n})",
                          _Shown(f"an array of shape {arr.shape}"))
    return arr


def _unit_rows(x: np.ndarray, name: str, func: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise DataError(f"The {name!r} parameter of {func} has all-zero rows, which have no direction to "
                        "normalize; remove them or pass normalize=False.")
    return x / norms


def _project(fit_on: np.ndarray, n_components: int, seed: int, *also: np.ndarray) -> list[np.ndarray]:
    """Centre on ``fit_on`` and keep its first principal components; apply the same to ``also``."""
    from sklearn.decomposition import PCA

    k = min(n_components, fit_on.shape[1], len(fit_on) - 1)
    if k >= fit_on.shape[1]:  # already narrow: centring is all the projection would do
        mean = fit_on.mean(axis=0)
        return [a - mean for a in (fit_on, *also)]
    pca = PCA(n_components=k, random_state=seed).fit(fit_on)
    return [pca.transform(a) for a in (fit_on, *also)]
