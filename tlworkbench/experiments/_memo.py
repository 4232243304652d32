"""Keep an experiment's result on disk, so that a notebook and its test share one run.

When ``TLW_EXPERIMENT_CACHE`` names a folder, a function decorated with :func:`memoized` stores
its result there (through :class:`joblib.Memory`), keyed by its arguments, the run profile, a
digest of the package's source (so a result computed by other code is never read back) and the
registered data sets that are installed (an experiment whose defaults fall back to another set
when one is absent is another result once it is installed); a second call with the same
arguments reads it back instead of training again. Without the variable nothing is stored: a
notebook computes what it shows. The test session sets the variable to a fresh folder for itself
(tests/conftest.py), so the tests of the effects and the notebooks nbval runs after them share
each experiment's one run, and nothing outlives the session. Arguments that change how a result is computed but not the result (``progress``, the
``executor`` that runs a grid's cells, the ``folder`` that keeps them) are not part of the key.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

from ..config import get_profile

__all__ = ["CACHE_VARIABLE", "UNKEYED", "installed_datasets", "memoized"]

#: The environment variable that names the folder of stored results.
CACHE_VARIABLE = "TLW_EXPERIMENT_CACHE"

F = TypeVar("F", bound=Callable[..., Any])


#: Keyword arguments left out of the key: they change how a result is computed, not the result.
UNKEYED = ("progress", "executor", "folder")


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """A digest of every Python file of the package, read once per process."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def installed_datasets() -> tuple[str, ...]:
    """The names of the registered data sets that can be loaded here, in order (under a second)."""
    from ..data.registry import _registry, missing_datasets

    names = tuple(_registry())
    missing = missing_datasets(names)
    return tuple(n for n in names if n not in missing)


def _call(wrapper: Callable[..., Any], profile: str, source: str, installed: tuple[str, ...], args: tuple[Any, ...],
          kwargs: dict[str, Any], unkeyed: dict[str, Any]) -> Any:
    """Call the function ``wrapper`` decorates; joblib keys on every argument but ``unkeyed``."""
    return wrapper.__wrapped__(*args, **kwargs, **unkeyed)


def memoized(func: F) -> F:
    """Store ``func``'s result in ``TLW_EXPERIMENT_CACHE`` when that variable is set."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        location = os.environ.get(CACHE_VARIABLE, "").strip()
        if not location:
            return func(*args, **kwargs)
        import joblib

        unkeyed = {name: kwargs.pop(name) for name in UNKEYED if name in kwargs}
        profile = get_profile(kwargs.get("profile")).name
        cached = joblib.Memory(location, verbose=0).cache(_call, ignore=["unkeyed"])
        return cached(wrapper, profile, source_digest(), installed_datasets(), args, kwargs, unkeyed)

    return wrapper  # type: ignore[return-value]
