"""Keep an experiment's result on disk, so that a notebook and its test share one run.

When ``TLW_EXPERIMENT_CACHE`` names a folder, a function decorated with :func:`memoized` stores
its result there (through :class:`joblib.Memory`), keyed by its arguments and the run profile;
a second call with the same arguments reads it back instead of training again. Without the
variable nothing is stored: a notebook computes what it shows. The test session sets the
variable to a fresh folder for itself (tests/conftest.py), so the tests of the effects and the
notebooks nbval runs after them share each experiment's one run, and nothing outlives the
session. Arguments that only change what is printed (``progress``) are not part of the key.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..config import get_profile

__all__ = ["CACHE_VARIABLE", "memoized"]

#: The environment variable that names the folder of stored results.
CACHE_VARIABLE = "TLW_EXPERIMENT_CACHE"

F = TypeVar("F", bound=Callable[..., Any])


_ABSENT = "<absent>"


def _call(wrapper: Callable[..., Any], profile: str, args: tuple[Any, ...], kwargs: dict[str, Any],
          progress: Any) -> Any:
    """Call the function ``wrapper`` decorates; joblib keys on every argument but ``progress``."""
    return wrapper.__wrapped__(*args, **kwargs, **({} if progress == _ABSENT else {"progress": progress}))


def memoized(func: F) -> F:
    """Store ``func``'s result in ``TLW_EXPERIMENT_CACHE`` when that variable is set."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        location = os.environ.get(CACHE_VARIABLE, "").strip()
        if not location:
            return func(*args, **kwargs)
        import joblib

        progress = kwargs.pop("progress", _ABSENT)
        profile = get_profile(kwargs.get("profile")).name
        cached = joblib.Memory(location, verbose=0).cache(_call, ignore=["progress"])
        return cached(wrapper, profile, args, kwargs, progress)

    return wrapper  # type: ignore[return-value]
