"""Exception types of the workbench.

Every error the package raises on purpose derives from :class:`TLWError` and from the built-in
type a caller would expect (``ValueError`` for a bad argument, ``FileNotFoundError`` for a missing
asset), so ``except ValueError`` keeps working as it does with scikit-learn or skorch.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "TLWError",
    "InvalidParameterError",
    "UnknownNameError",
    "UnknownModelError",
    "UnknownDatasetError",
    "UnknownStrategyError",
    "MissingAssetError",
    "CorruptFileError",
    "IncompatibleWeightsError",
    "NoWeightsError",
    "DataError",
    "TrainingDivergedError",
    "did_you_mean",
]


class TLWError(Exception):
    """Base class of every error raised by tlworkbench."""


class InvalidParameterError(TLWError, ValueError, TypeError):
    """An argument of the wrong type or out of range; both ``except ValueError`` and ``except TypeError`` catch it."""


class UnknownNameError(TLWError, ValueError):
    """A name (model, data set, strategy, group) that the registry does not know."""


class UnknownModelError(UnknownNameError):
    """``load_model`` was given a name that is not in the zoo."""


class UnknownDatasetError(UnknownNameError):
    """``load_dataset`` was given a name that is not registered."""


class UnknownStrategyError(UnknownNameError):
    """``fit`` or ``compare`` was given a strategy it does not implement."""


class MissingAssetError(TLWError, FileNotFoundError):
    """A weight file, data file or offline package is not installed; the message says how to get it."""


class CorruptFileError(TLWError, OSError):
    """A file exists but cannot be read, or its sha256 differs from the recorded one."""


class IncompatibleWeightsError(TLWError, ValueError):
    """A state dict whose keys or shapes do not fit the architecture."""


class NoWeightsError(TLWError, ValueError):
    """Pretrained weights were asked for a model that has none."""


class DataError(TLWError, ValueError):
    """A data set that cannot be used as given (empty, too few classes, labels out of range...)."""


class TrainingDivergedError(TLWError, FloatingPointError):
    """The loss became NaN or infinite during training."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return a ``" Did you mean 'x'?"`` suffix, or an empty string when nothing is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
